import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { problemsInScope } from "../../src/fleet/outcome.js";
import { LocalHost } from "../../src/hosts/local.js";
import { formatIssue, loadFleet } from "../../src/spec/load.js";
import { mergeLayers, originOf } from "../../src/spec/merge.js";
import { writeSpec } from "../../src/spec/write.js";
import { useFleetTree } from "../helpers/tmp.js";

const host = new LocalHost();
const tree = useFleetTree("qfleet-profiles-");

describe("mergeLayers", () => {
  it("merges mappings key by key, replaces lists and scalars, and treats disk/disks as one setting", () => {
    const base = { memory: "1G", cloud_init: { user: "ops" }, forwards: [{ host: 80, guest: 80 }], disks: [{ size: "1G" }], boot: { kernel: "k" } };
    const spec = { cloud_init: { ssh_authorized_keys: ["x"] }, forwards: [{ host: 81, guest: 81 }], disk: "size=2G", boot: { append: "quiet" } };
    expect(mergeLayers([base, spec])).toEqual({
      memory: "1G",
      cloud_init: { user: "ops", ssh_authorized_keys: ["x"] },
      forwards: [{ host: 81, guest: 81 }],
      disk: "size=2G",
      boot: { kernel: "k", append: "quiet" },
    });
    expect(mergeLayers([{ cloud_init: { user: "ops" } }, { cloud_init: true }])).toEqual({ cloud_init: true });
    expect(base.cloud_init).toEqual({ user: "ops" }); // inputs untouched
  });

  it("knows which layer each value came from", () => {
    const layers = [
      { memory: "1G", boot: { kernel: "k" }, disks: [{ size: "1G" }, { size: "2G" }] },
      { boot: { append: "a" }, disks: [{ size: "3G" }] },
    ];
    const merged = mergeLayers(layers);
    expect(originOf(layers, merged, ["memory"])).toBe(0);
    expect(originOf(layers, merged, ["boot", "kernel"])).toBe(0);
    expect(originOf(layers, merged, ["boot", "append"])).toBe(1);
    expect(originOf(layers, merged, ["disks", 1, "size"])).toBe(1); // the spec's list replaced the profile's: no disks.1
    expect(originOf(layers, merged, ["vcpus"])).toBe(1); // missing at the top: the spec
  });
});

describe("profiles in a fleet", () => {
  it("merges in order, the spec winning, with relative paths against each file's folder", async () => {
    const dir = await tree({
      "images/base.qcow2": "",
      "vms/iso/a.iso": "",
      "profiles/small.yaml": "vcpus: 1\nmemory: 256M\ndisks:\n  - path: ../images/base.qcow2\n    overlay: true\ncloud_init:\n  user: ops\n",
      "profiles/tcg.yaml": "accel: tcg\nmemory: 512M\n",
      "vms/a.yaml": "profile: [small, tcg]\niso: iso/a.iso\ncloud_init:\n  ssh_authorized_keys: [ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG u@h]\n",
      "vms/b.yaml": "profile: small\nmemory: 1G\n",
    });
    const fleet = await loadFleet(host, dir);
    expect(fleet.issues.map(formatIssue)).toEqual([]);
    const a = fleet.specs.find((s) => s.name === "a")!.spec;
    expect(a).toMatchObject({ vcpus: 1, memory: 512 * 2 ** 20, accel: "tcg", iso: join(dir, "vms/iso/a.iso") });
    expect(a.disks).toEqual([{ path: join(dir, "images/base.qcow2"), overlay: true, format: "qcow2" }]);
    expect(a.cloud_init).toEqual({ user: "ops", ssh_authorized_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG u@h"] });
    expect(fleet.specs.find((s) => s.name === "b")!.spec.memory).toBe(2 ** 30);
    expect(fleet.profileUsers).toEqual({ small: ["a", "b"], tcg: ["a"] });
  });

  it("locates problems in the profile file, names the specs using it, and makes only them invalid", async () => {
    const dir = await tree({
      "profiles/base.yaml": "# shared\nmemory: 2X\nname: web\nprofile: other\nvcpus: 1\n",
      "profiles/ports.yaml": "ssh: { port: 2222 }\n",
      "profiles/unused.yaml": "memroy: 1G\n",
      "vms/a.yaml": "profile: base\n",
      "vms/b.yaml": "profile: [base]\n",
      "vms/c.yaml": "vcpus: 1\nprofile: bsae\n",
      "vms/d.yaml": "profile: ports\n",
      "vms/e.yaml": "profile: ports\n",
      "vms/f.yaml": "profile: nothing-like-it\n",
      "vms/ok.yaml": "vcpus: 1\n",
    });
    const fleet = await loadFleet(host, dir);
    expect(fleet.issues.map(formatIssue)).toEqual([
      "profiles/base.yaml:2:9: memory: expected a size such as 512M, 2G, 2GiB, 4096M or a plain number of bytes (used by vms/a.yaml, vms/b.yaml)",
      "profiles/base.yaml:3:1: name: a profile cannot set name: a VM's name is its spec's file name (used by vms/a.yaml, vms/b.yaml)",
      "profiles/base.yaml:4:1: profile: profiles do not name other profiles: list them all in the spec (profile: [base, big]) (used by vms/a.yaml, vms/b.yaml)",
      "profiles/ports.yaml:1:14: ssh.port: host port 2222/tcp is also claimed by vms/e.yaml (ssh.port) on host local (used by vms/d.yaml)",
      "profiles/ports.yaml:1:14: ssh.port: host port 2222/tcp is also claimed by vms/d.yaml (ssh.port) on host local (used by vms/e.yaml)",
      "profiles/unused.yaml:1:1: memroy: unknown key 'memroy' (did you mean 'memory'?)",
      "vms/c.yaml:2:10: profile: unknown profile 'bsae': there is no profiles/bsae.yaml (did you mean 'base'?)",
      "vms/f.yaml:1:10: profile: unknown profile 'nothing-like-it': there is no profiles/nothing-like-it.yaml (the profiles are base, ports, unused)",
    ]);
    expect(fleet.invalid.sort()).toEqual(["a", "b", "c", "d", "e", "f"]);
    expect(fleet.specs.map((s) => s.name)).toEqual(["ok"]);
    // a run about some VMs answers for the profiles they use, not for the others' nor an unused one's
    expect(problemsInScope(fleet.issues, ["ok"])).toEqual([]);
    expect(problemsInScope(fleet.issues, ["a"]).map((i) => i.file)).toEqual(["profiles/base.yaml", "profiles/base.yaml", "profiles/base.yaml"]);
  });

  it("checks the merge: a field a profile leaves partial, a path from a profile", async () => {
    const dir = await tree({
      "profiles/kernel.yaml": "boot:\n  append: console=ttyS0\niso: ../isos/missing.iso\n",
      "vms/a.yaml": "profile: kernel\n",
      "kernels/vmlinuz": "",
      "vms/b.yaml": "profile: kernel\nboot: { kernel: ../kernels/vmlinuz }\n",
    });
    const fleet = await loadFleet(host, dir);
    expect(fleet.issues.map(formatIssue)).toEqual([
      "profiles/kernel.yaml:1:1: boot.kernel: required (used by vms/a.yaml)",
      `profiles/kernel.yaml:3:6: iso: no such ISO image: ${join(dir, "isos/missing.iso")} (used by vms/b.yaml)`,
    ]);
  });

  it("a spec with a profile is written like any other: validated with its profiles, the file edited in place", async () => {
    const dir = await tree({ "profiles/small.yaml": "vcpus: 1\nmemory: 64M\n", "vms/a.yaml": "# mine\nprofile: small\nstate: running\n" });
    await writeSpec(host, dir, "a", { state: "stopped" });
    expect(await readFile(join(dir, "vms/a.yaml"), "utf8")).toBe("# mine\nprofile: small\nstate: stopped\n");
    await expect(writeSpec(host, dir, "a", { profile: "big" })).rejects.toThrow(/vms\/a.yaml:2:10: profile: unknown profile 'big'/);
    await writeFile(join(dir, "profiles/small.yaml"), "vcpus: 0\n");
    await expect(writeSpec(host, dir, "a", { state: "running" })).rejects.toThrow(/profiles\/small.yaml:1:8: vcpus: .* \(used by vms\/a.yaml\)/);
  });

  it("sees a profile's edit on the next load (validation is cached by the texts it depends on)", async () => {
    const dir = await tree({ "profiles/p.yaml": "memory: 64M\n", "vms/a.yaml": "profile: p\n" });
    expect((await loadFleet(host, dir)).specs[0].spec.memory).toBe(64 * 2 ** 20);
    await writeFile(join(dir, "profiles/p.yaml"), "memory: 96M\n");
    expect((await loadFleet(host, dir)).specs[0].spec.memory).toBe(96 * 2 ** 20);
    await rm(join(dir, "profiles/p.yaml"));
    expect((await loadFleet(host, dir)).invalid).toEqual(["a"]);
  });
});
