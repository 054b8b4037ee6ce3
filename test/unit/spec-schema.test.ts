import { describe, expect, it } from "vitest";
import { DEFAULT_VM_DIR, resolveVm } from "../../src/spec/defaults.js";
import { suggestKey } from "../../src/spec/load.js";
import { HostsFileSchema, NAME_RE, VmSpecSchema, type VmSpec } from "../../src/spec/schema.js";

const G = 2 ** 30;
const M = 2 ** 20;
const parse = (input: unknown) => VmSpecSchema.parse(input);
/** The messages zod reports, as "path: message". */
const problems = (input: unknown) => {
  const r = VmSpecSchema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.code}${i.code === "custom" ? ` ${i.message}` : ""}`);
};
const spec = (input: Record<string, unknown>): VmSpec => ({ ...parse(input), name: "web1" });

describe("VmSpecSchema", () => {
  it("fills the defaults the design lists", () => {
    expect(parse({})).toEqual({
      host: "local",
      vcpus: 2,
      memory: 2 * G,
      state: "running",
      accel: "auto",
      forwards: [],
      protected: false,
      display: "none",
      disks: [],
    });
  });

  it("reads sizes in binary units", () => {
    expect(parse({ memory: "512M" }).memory).toBe(512 * M);
    expect(parse({ memory: "2G" }).memory).toBe(2 * G);
    expect(parse({ memory: "2GiB" }).memory).toBe(2 * G);
    expect(parse({ memory: "4096M" }).memory).toBe(4 * G);
    expect(parse({ memory: 1073741824 }).memory).toBe(G);
    expect(parse({ disks: [{ size: "1.5G" }] }).disks[0].size).toBe(1.5 * G);
  });

  it("refuses memory that is not a size, too small or absurd", () => {
    expect(problems({ memory: "2X" })).toEqual(["memory: invalid_format"]);
    expect(problems({ memory: true })).toEqual(["memory: invalid_union"]);
    expect(problems({ memory: "8M" })).toEqual(["memory: custom must be at least 16M"]);
    expect(problems({ memory: "64T" })).toEqual(["memory: custom 64.0 TB is more than 16T: is the unit right?"]);
    expect(problems({ memory: -1 })).toEqual(["memory: too_small"]);
  });

  it("accepts arm64 as an alias of aarch64", () => {
    expect(parse({ arch: "arm64" }).arch).toBe("aarch64");
    expect(parse({ arch: "aarch64" }).arch).toBe("aarch64");
    expect(parse({ arch: "x86_64" }).arch).toBe("x86_64");
    expect(problems({ arch: "amd64" })).toEqual(["arch: invalid_value"]);
  });

  it("folds the disk shorthand into disks", () => {
    expect(parse({ disk: "path=/data/vm/disk.qcow2,size=20G" }).disks).toEqual([
      { path: "/data/vm/disk.qcow2", size: 20 * G, format: "qcow2", overlay: false },
    ]);
    expect(parse({ disk: "path=/a.img, format=raw" }).disks).toEqual([{ path: "/a.img", format: "raw", overlay: false }]);
    expect(parse({ disk: "path=/g.qcow2,overlay=true" }).disks[0].overlay).toBe(true);
    expect(problems({ disk: "path=/a,colour=red" })).toEqual(["disk: unrecognized_keys"]);
    expect(problems({ disk: "size=20G,size=30G" })).toEqual(["disk: custom 'size' is given twice"]);
    expect(problems({ disk: "/data/disk.qcow2" })[0]).toMatch(/^disk: custom '\/data\/disk.qcow2' is not key=value/);
  });

  it("refuses disk and disks together", () => {
    expect(problems({ disk: "size=1G", disks: [{ size: "2G" }] })).toEqual([
      "disk: custom give either disk (one-line form) or disks (a list), not both",
    ]);
  });

  it("needs size or path on a disk, and path on an overlay", () => {
    expect(problems({ disks: [{ format: "raw" }] })).toEqual([
      "disks.0: custom a disk needs size (to create it), path (an existing image), image (a URL), or size with one of them",
    ]);
    expect(problems({ disks: [{ size: "1G", overlay: true }] })).toEqual([
      "disks.0.overlay: custom overlay: true needs path (the base image to put the overlay on) or image (a URL to download it from)",
    ]);
    expect(problems({ disks: [{ path: "/b.img", overlay: true, format: "raw" }] })[0]).toMatch(/^disks.0.format: custom an overlay is always qcow2/);
    expect(problems({ disks: [{ size: 0 }] })).toEqual(["disks.0.size: custom a disk size must be more than 0"]);
  });

  it("refuses bad vcpus", () => {
    expect(problems({ vcpus: 0 })).toEqual(["vcpus: too_small"]);
    expect(problems({ vcpus: -2 })).toEqual(["vcpus: too_small"]);
    expect(problems({ vcpus: 513 })).toEqual(["vcpus: too_big"]);
    expect(problems({ vcpus: 1.5 })).toEqual(["vcpus: invalid_type"]);
    expect(problems({ vcpus: "2" })).toEqual(["vcpus: invalid_type"]);
    expect(parse({ vcpus: 512 }).vcpus).toBe(512);
  });

  it("refuses names that could escape a shell word or a folder", () => {
    for (const bad of ["$(touch /tmp/x)", "a;b", "../x", "a b", ".hidden", "-rf", "a/b", "", "x".repeat(64), "é"]) {
      expect(NAME_RE.test(bad), bad).toBe(false);
      expect(problems({ name: bad }), bad).toEqual(["name: invalid_format"]);
      expect(problems({ host: bad }), bad).toEqual(["host: invalid_format"]);
    }
    for (const good of ["web1", "a", "db-2.prod_x", "9lives", "x".repeat(63)]) expect(parse({ name: good }).name).toBe(good);
  });

  it("refuses paths with NUL, line breaks or a leading ~", () => {
    expect(problems({ iso: "/a\nb.iso" })).toEqual(["iso: invalid_format"]);
    expect(problems({ iso: "/a\u0000b" })).toEqual(["iso: invalid_format"]);
    expect(problems({ iso: "~/x.iso" })).toEqual(["iso: invalid_format"]);
    expect(problems({ iso: "" })).toEqual(["iso: invalid_format"]);
  });

  it("keeps host ports within 1..65535 and unique within a spec", () => {
    expect(problems({ ssh: { port: 0 } })).toEqual(["ssh.port: too_small"]);
    expect(problems({ forwards: [{ host: 65536, guest: 80 }] })).toEqual(["forwards.0.host: too_big"]);
    expect(problems({ ssh: { port: 2222 }, forwards: [{ host: 2222, guest: 80 }] })).toEqual([
      "forwards.0.host: custom host port 2222/tcp is also used by ssh.port",
    ]);
    expect(parse({ ssh: { port: 53 }, forwards: [{ host: 53, guest: 53, proto: "udp" }] }).forwards[0].proto).toBe("udp");
    expect(problems({ ssh: 2222 })).toEqual(["ssh: invalid_type"]);
  });

  it("refuses unknown keys at every level", () => {
    expect(problems({ memroy: "2G" })).toEqual([": unrecognized_keys"]);
    expect(problems({ boot: { kernel: "/k", cmdline: "x" } })).toEqual(["boot: unrecognized_keys"]);
  });
});

describe("suggestKey", () => {
  const keys = ["name", "host", "arch", "vcpus", "memory", "state", "disks", "disk", "iso", "ssh", "forwards", "vm_dir"];
  it("suggests the closest known key for typos", () => {
    expect(suggestKey("memroy", keys)).toBe("memory");
    expect(suggestKey("vcpu", keys)).toBe("vcpus");
    expect(suggestKey("Memory", keys)).toBe("memory");
    expect(suggestKey("forward", keys)).toBe("forwards");
    expect(suggestKey("ssh_port", keys)).toBe("ssh");
    expect(suggestKey("vmdir", keys)).toBe("vm_dir");
  });
  it("suggests nothing for unrelated words", () => {
    expect(suggestKey("colour", keys)).toBeUndefined();
    expect(suggestKey("xy", keys)).toBeUndefined();
  });
});

describe("resolveVm", () => {
  const ctx = { hostArch: "x86_64" as const };

  it("fills arch, firmware and paths from the machine", () => {
    const vm = resolveVm(spec({ disks: [{ size: "20G" }] }), ctx);
    expect(vm).toEqual({
      name: "web1",
      host: "local",
      arch: "x86_64",
      vcpus: 2,
      memory: 2 * G,
      state: "running",
      disks: [{ index: 0, path: "/var/lib/qemu/web1/disk0.qcow2", format: "qcow2", size: 20 * G, managed: true }],
      firmware: "bios",
      accel: "auto",
      forwards: [],
      protected: false,
      vmDir: DEFAULT_VM_DIR,
      instanceDir: "/var/lib/qemu/web1",
    });
  });

  it("takes vm_dir from the spec, then the host, then the environment, then /var/lib/qemu", () => {
    const dirs = { hostVmDir: "/srv/host", envVmDir: "/tmp/env" };
    expect(resolveVm(spec({ vm_dir: "/srv/spec" }), { ...ctx, ...dirs }).vmDir).toBe("/srv/spec");
    expect(resolveVm(spec({}), { ...ctx, ...dirs }).instanceDir).toBe("/srv/host/web1");
    expect(resolveVm(spec({}), { ...ctx, envVmDir: "/tmp/env" }).instanceDir).toBe("/tmp/env/web1");
    expect(resolveVm(spec({}), { ...ctx, envVmDir: "" }).instanceDir).toBe("/var/lib/qemu/web1");
  });

  it("defaults the firmware per arch: uefi on aarch64 unless it boots a kernel directly", () => {
    expect(resolveVm(spec({}), { hostArch: "aarch64" })).toMatchObject({ arch: "aarch64", firmware: "uefi" });
    expect(resolveVm(spec({ arch: "arm64", boot: { kernel: "/k" } }), ctx)).toMatchObject({ arch: "aarch64", firmware: "bios" });
    expect(resolveVm(spec({ arch: "aarch64", firmware: "uefi", boot: { kernel: "/k" } }), ctx).firmware).toBe("uefi");
    expect(resolveVm(spec({ firmware: "uefi" }), ctx).firmware).toBe("uefi");
  });

  it("resolves the three kinds of disk", () => {
    const vm = resolveVm(
      spec({
        vm_dir: "/vms",
        disks: [
          { size: "1G", format: "raw" },
          { path: "/img/golden.qcow2", overlay: true, size: "30G" },
          { path: "/data/own.img", format: "raw" },
        ],
      }),
      ctx,
    );
    expect(vm.disks).toEqual([
      { index: 0, path: "/vms/web1/disk0.raw", format: "raw", size: G, managed: true },
      { index: 1, path: "/vms/web1/disk1-overlay.qcow2", format: "qcow2", size: 30 * G, base: "/img/golden.qcow2", managed: true },
      { index: 2, path: "/data/own.img", format: "raw", managed: false },
    ]);
  });

  it("carries the optional parts through", () => {
    const vm = resolveVm(
      spec({ iso: "/i.iso", boot: { kernel: "/k", append: "console=ttyS0" }, ssh: { port: 2222 }, forwards: [{ host: 8080, guest: 80 }] }),
      { ...ctx, file: "/fleet/vms/web1.yaml" },
    );
    expect(vm).toMatchObject({
      iso: "/i.iso",
      boot: { kernel: "/k", append: "console=ttyS0" },
      ssh: { port: 2222 },
      forwards: [{ host: 8080, guest: 80, proto: "tcp" }],
      file: "/fleet/vms/web1.yaml",
    });
  });
});

describe("HostsFileSchema", () => {
  it("fills defaults and keeps the local entry apart", () => {
    expect(HostsFileSchema.parse({ hosts: { lab: { address: "10.0.0.2" }, local: { vm_dir: "/srv/q" } } })).toEqual({
      hosts: { lab: { address: "10.0.0.2", port: 22, host_key_policy: "strict" } },
      local: { vm_dir: "/srv/q" },
    });
    expect(HostsFileSchema.parse({})).toEqual({ hosts: {}, local: {} });
  });
  it("refuses secrets, bad names and SSH settings on local", () => {
    const paths = (v: unknown) => HostsFileSchema.safeParse(v).error?.issues.map((i) => `${i.path.join(".")}: ${i.code}`);
    expect(paths({ hosts: { lab: { address: "x", password: "hunter2" } } })).toEqual(["hosts.lab: unrecognized_keys"]);
    expect(paths({ hosts: { "a;b": { address: "x" } } })).toEqual(["hosts.a;b: custom"]);
    expect(paths({ hosts: { local: { address: "x" } } })).toEqual(["hosts.local: unrecognized_keys"]);
    expect(paths({ hosts: { lab: { port: 22 } } })).toEqual(["hosts.lab.address: invalid_type"]);
  });
});
