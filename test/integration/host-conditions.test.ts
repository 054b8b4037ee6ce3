import { execa } from "execa";
import { mkdirSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isAlive, makeFleet, stubSpec, waitGone, type TestFleet } from "../helpers/fleet.js";

/**
 * What the machine does to a run, said as it is: a read-only vm_dir and a full disk name the
 * path and the operation, and a run that filled the disk says truthfully which VMs started.
 * Real tmpfs mounts (the suite runs as root, as CI does) and real QEMU stub VMs.
 */
describe("host conditions", () => {
  let f: TestFleet;
  const mounts: string[] = [];
  const mount = async (dir: string, opts: string) => {
    mkdirSync(dir, { recursive: true });
    await execa("mount", ["-t", "tmpfs", "-o", opts, "tmpfs", dir]);
    mounts.push(dir);
  };

  beforeAll(() => {
    f = makeFleet();
  });
  afterAll(async () => {
    for (const p of f.qemuPids()) {
      process.kill(p, "SIGKILL");
      await waitGone(p);
    }
    // a killed QEMU's files can stay busy for a moment: retry, then detach lazily (never leave a mount behind)
    for (const m of mounts.reverse()) {
      for (let i = 0; i < 25 && (await execa("umount", [m], { reject: false })).exitCode !== 0; i++) await new Promise((r) => setTimeout(r, 200));
      await execa("umount", ["-l", m], { reject: false });
    }
    await f.cleanup();
  });

  it("names a read-only vm_dir as such", async () => {
    const ro = `${f.vmDir}/ro`;
    await mount(ro, "ro,size=1m");
    f.spec("r1", stubSpec(`vm_dir: ${ro}\n`));
    const r = await f.qfleet(["reconcile", "--only", "r1"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`cannot create the lock file ${ro}/.qfleet.lock on local: ${ro} is read-only or not writable by this user`);
    expect(r.stderr).not.toContain("util-linux");
    // r1 stays: the runs below are scoped to their own VMs, so its vm_dir is not even locked
  });

  it("a full disk fails the VM that needed the space, naming the path, and the result says which VMs started (a scoped run never touches r1's read-only vm_dir)", async () => {
    const full = `${f.vmDir}/full`;
    await mount(full, "size=64k");
    f.spec("small", stubSpec(`vm_dir: ${full}\n`));
    f.spec("big", stubSpec(`vm_dir: ${full}\ndisks:\n  - size: 64M\n`));
    const r = await f.qfleet(["reconcile", "--only", "small,big", "--json"]);
    expect(r.exitCode).toBe(1);
    const results = JSON.parse(r.stdout).results as { vm: string; ok: boolean; pid?: number; error?: { message: string } }[];
    const small = results.find((x) => x.vm === "small")!;
    const big = results.find((x) => x.vm === "big")!;
    expect(small.ok).toBe(true);
    expect(isAlive(small.pid!)).toBe(true);
    expect(big.ok).toBe(false);
    expect(big.error!.message).toContain(`${full}/big/disk0.qcow2`);
    expect(big.error!.message).toMatch(
      /qemu-img create .*: no space left on the device holding it \(Could not write qcow2 header: No space left on device\)/,
    );
    expect(f.qemuPids()).toEqual([small.pid]);
  });
});
