import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { QfleetError } from "../../src/errors.js";
import { LocalHost } from "../../src/hosts/local.js";
import { formatIssue, loadFleet } from "../../src/spec/load.js";
import { useFleetTree } from "../helpers/tmp.js";

const host = new LocalHost();
const tree = useFleetTree("qfleet-spec-");

describe("loadFleet: every problem at once, each located", () => {
  it("reports each kind of problem with file:line:col: field", async () => {
    const dir = await tree({
      "hosts.yaml": "hosts:\n  lab:\n    address: 10.0.0.2\n    password: hunter2\n",
      "vms/syntax.yaml": "memory: 2G\ndisks: [ { size: 1G }\n",
      "vms/dup.yaml": "vcpus: 1\nmemory: 1G\nvcpus: 2\n",
      "vms/list.yaml": "- memory: 1G\n",
      "vms/empty.yaml": "",
      "vms/typo.yaml": "# a comment\nmemroy: 2G\n",
      "vms/type.yaml": "vcpus: two\n",
      "vms/unit.yaml": "memory: 2X\n",
      "vms/mismatch.yaml": "name: other\n",
      "vms/same.yaml": "vcpus: 1\n",
      "vms/same.yml": "vcpus: 2\n",
      "vms/port-a.yaml": "ssh:\n  port: 2222\n",
      "vms/port-b.yaml": "forwards:\n  - host: 2222\n    guest: 22\n",
      "vms/far.yaml": "host: labb\n",
      "vms/remote.yaml": "host: lab\niso: /nowhere/remote.iso\nssh: { port: 2222 }\n",
      "vms/missing.yaml": "vcpus: 1\niso: ../images/none.iso\n",
      "vms/ok.yaml": "memory: 512M\n",
    });
    const fleet = await loadFleet(host, dir);
    expect(fleet.issues.map(formatIssue)).toEqual([
      "hosts.yaml:4:5: hosts.lab.password: hosts.yaml holds no secrets: put the password in an environment variable and name it in password_env",
      "vms/dup.yaml:3:1: vcpus: duplicate key 'vcpus' (first given on line 1)",
      "vms/empty.yaml:1:1: the file is empty: expected a mapping of VM settings such as `memory: 2G`",
      "vms/far.yaml:1:7: host: unknown host 'labb': use 'local' or a host from hosts.yaml (lab) (did you mean 'lab'?)",
      "vms/list.yaml:1:1: expected a mapping of VM settings such as `memory: 2G`, got a list",
      "vms/mismatch.yaml:1:7: name: 'other' differs from the file name 'mismatch': rename the file or the VM",
      `vms/missing.yaml:2:6: iso: no such ISO image: ${dir}/images/none.iso`,
      "vms/port-a.yaml:2:9: ssh.port: host port 2222/tcp is also claimed by vms/port-b.yaml (forwards.0.host) on host local",
      "vms/port-b.yaml:2:11: forwards.0.host: host port 2222/tcp is also claimed by vms/port-a.yaml (ssh.port) on host local",
      "vms/same.yaml:1:1: VM 'same' is also defined in vms/same.yml: keep one file per VM",
      "vms/same.yml:1:1: VM 'same' is also defined in vms/same.yaml: keep one file per VM",
      "vms/syntax.yaml:3:1: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]",
      'vms/type.yaml:1:8: vcpus: expected a number, got "two"',
      "vms/typo.yaml:2:1: memroy: unknown key 'memroy' (did you mean 'memory'?)",
      "vms/unit.yaml:1:9: memory: expected a size such as 512M, 2G, 2GiB, 4096M or a plain number of bytes",
    ]);
    expect(fleet.invalid.sort()).toEqual(
      ["dup", "empty", "far", "list", "mismatch", "missing", "port-a", "port-b", "same", "syntax", "type", "typo", "unit"].sort(),
    );
    // remote VMs get no path checks here, and ports only clash on the same host
    expect(fleet.specs.map((s) => s.name)).toEqual(["ok", "remote"]);
    expect(fleet.hosts).toEqual({ hosts: {}, local: {} });
  });

  it("points at the key of a missing field, and at the value of a bad one in lists", async () => {
    const dir = await tree({
      "vms/web.yaml":
        "boot:\n  initrd: /i\ndisks:\n  - size: 1G\n  - format: raw\n  - size: 2G\n    overlay: true\nforwards:\n  - { host: 80, guest: 70000 }\n",
    });
    const fleet = await loadFleet(host, dir, { checkPaths: false });
    expect(fleet.issues.map(formatIssue)).toEqual([
      "vms/web.yaml:1:1: boot.kernel: required",
      "vms/web.yaml:5:5: disks.1: a disk needs size (to create it), path (an existing image), image (a URL), or size with one of them",
      "vms/web.yaml:7:14: disks.2.overlay: overlay: true needs path (the base image to put the overlay on) or image (a URL to download it from)",
      "vms/web.yaml:9:24: forwards.0.guest: must be at most 65535, got 70000",
    ]);
  });

  it("loads a valid fleet with paths made absolute against each spec's folder", async () => {
    const dir = await tree({
      "images/base.qcow2": "",
      "vms/iso/install.iso": "",
      "vms/kernels/vmlinuz": "",
      "hosts.yaml": "hosts:\n  local:\n    vm_dir: state\n  lab:\n    address: lab.example.net\n    identity_file: keys/id_ed25519\n",
      "vms/web1.yaml":
        "name: web1\nmemory: 1G\niso: iso/install.iso\ndisks:\n  - path: ../images/base.qcow2\n    overlay: true\n  - size: 10G\nssh: { port: 2222 }\n",
      "vms/k.yml": "arch: arm64\nboot: { kernel: kernels/vmlinuz }\nvm_dir: ../vmstate\nssh: { port: 2223 }\n",
      "vms/remote.yaml": "host: lab\ndisk: path=/srv/golden.qcow2,overlay=on\nssh: { port: 2222 }\n",
      "vms/.hidden.yaml": "this: is ignored\n",
      "vms/notes.txt": "not a spec",
    });
    const fleet = await loadFleet(host, dir);
    expect(fleet.issues).toEqual([]);
    expect(fleet.invalid).toEqual([]);
    expect(fleet.dir).toBe(dir);
    expect(fleet.specs.map((s) => [s.name, s.file])).toEqual([
      ["k", `${dir}/vms/k.yml`],
      ["remote", `${dir}/vms/remote.yaml`],
      ["web1", `${dir}/vms/web1.yaml`],
    ]);
    const [k, remote, web1] = fleet.specs.map((s) => s.spec);
    expect(web1.iso).toBe(`${dir}/vms/iso/install.iso`);
    expect(web1.disks).toEqual([
      { path: `${dir}/images/base.qcow2`, overlay: true, format: "qcow2" },
      { size: 10 * 2 ** 30, overlay: false, format: "qcow2" },
    ]);
    expect(k).toMatchObject({ name: "k", arch: "aarch64", boot: { kernel: `${dir}/vms/kernels/vmlinuz` }, vm_dir: `${dir}/vmstate` });
    expect(remote.disks).toEqual([{ path: "/srv/golden.qcow2", overlay: true, format: "qcow2" }]);
    expect(fleet.specs[2].text).toContain("name: web1");
    expect(fleet.hosts).toEqual({
      hosts: { lab: { address: "lab.example.net", port: 22, host_key_policy: "strict", identity_file: `${dir}/keys/id_ed25519` } },
      local: { vm_dir: `${dir}/state` },
    });
  });

  it("skips path checks with checkPaths: false", async () => {
    const dir = await tree({ "vms/a.yaml": "iso: /nowhere/a.iso\ndisks:\n  - path: /nowhere/b.img\n" });
    expect((await loadFleet(host, dir, { checkPaths: false })).issues).toEqual([]);
    expect((await loadFleet(host, dir)).issues.map(formatIssue)).toEqual([
      "vms/a.yaml:1:6: iso: no such ISO image: /nowhere/a.iso",
      "vms/a.yaml:3:11: disks.0.path: no such disk image: /nowhere/b.img (give size: to create it)",
    ]);
  });

  it("says which folder has no vms/ and how to point elsewhere", async () => {
    const dir = await tree({}, { vms: false });
    const err = await loadFleet(host, dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QfleetError);
    expect((err as QfleetError).code).toBe("NOT_FOUND");
    expect((err as QfleetError).message).toBe(`no vms/ folder in ${dir}`);
    expect((err as QfleetError).hint).toMatch(/-C DIR/);
  });

  it("validates the shipped demo and examples", async () => {
    const examples = await loadFleet(host, join(import.meta.dirname, "../../examples"), { checkPaths: false });
    expect(examples.issues.map(formatIssue)).toEqual([]);
    expect(examples.specs.map((s) => s.name)).toEqual(["arm-kernel", "golden", "web"]);
    const main = await loadFleet(host, join(import.meta.dirname, "../.."), { checkPaths: false });
    expect(main.issues.map(formatIssue)).toEqual([]);
    expect(main.specs.map((s) => s.name)).toContain("demo");
  });
});
