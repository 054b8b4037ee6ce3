import { execa } from "execa";
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stubSpec } from "../helpers/fleet.js";
import { makeLab, type Lab } from "../helpers/sshd-lab.js";

/** Two hosts.yaml names for one machine and vm_dir: one run must not lock itself out. */
describe("two names for one remote host (real sshd)", () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await makeLab("a");
    lab.writeHosts({ r1: lab.entry("r1"), r1b: lab.entry("r1") });
  });
  afterAll(() => lab?.teardown());

  it("reconciles VMs on both names in one run", async () => {
    lab.f.spec("x1", stubSpec("host: r1\n"));
    lab.f.spec("x2", stubSpec("host: r1b\n"));
    const r = await lab.cli(["reconcile"]);
    expect(r.exitCode, r.stderr).toBe(0);
    for (const vm of ["x1", "x2"]) expect(Number(readFileSync(path.join(lab.vmDirs.r1, vm, "qemu.pid"), "utf8"))).toBeGreaterThan(1);
  });

  it("still stops a run while another process holds that lock", async () => {
    lab.f.spec("x3", stubSpec("host: r1b\n"));
    const holder = execa("flock", [path.join(lab.vmDirs.r1, ".qfleet.lock"), "sleep", "3"]);
    await new Promise((r) => setTimeout(r, 300));
    const r = await lab.cli(["reconcile"]);
    await holder;
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/on r1 is locked by another process/);
  });
});
