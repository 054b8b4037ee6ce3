import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeFleet, stubSpec, waitGone, type TestFleet } from "../helpers/fleet.js";

/** qfleet start / stop with several names, against real stub VMs: all of them, or none when a name is wrong. */
describe("qfleet start and stop with several names (real QEMU, TCG)", () => {
  let f: TestFleet;
  const spec = (name: string) => readFileSync(`${f.dir}/vms/${name}.yaml`, "utf8");
  const status = async (name: string) => JSON.parse((await f.qfleet(["status", name, "--json"])).stdout) as { status: string; pid?: number };

  beforeAll(async () => {
    f = makeFleet();
    f.spec("p1", stubSpec("state: stopped\n"));
    f.spec("p2", stubSpec("state: stopped\n"));
    expect((await f.qfleet(["reconcile"])).exitCode).toBe(0);
  });
  afterAll(async () => {
    await f?.cleanup();
  });

  it("starts every VM named, one line each", async () => {
    const r = await f.qfleet(["start", "p1", "p2"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^p1: .*started, pid \d+$/m);
    expect(r.stdout).toMatch(/^p2: .*started, pid \d+$/m);
    expect((await status("p1")).status).toBe("running");
    expect((await status("p2")).status).toBe("running");
  });

  it("says which VMs were already so, starts the others and says why the plan refused one", async () => {
    f.spec("p3", stubSpec("state: stopped\ndisks: [{ size: 64M }]\n"));
    expect((await f.qfleet(["reconcile", "--only", "p3"])).exitCode).toBe(0);
    f.spec("p3", stubSpec("state: stopped\ndisks: [{ size: 32M }]\n")); // shrinking a disk is refused
    f.spec("p4", stubSpec("state: stopped\n"));
    const r = await f.qfleet(["start", "p1", "p3", "p4", "p1"]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/^p1 is already running\np4: .*started, pid \d+$/); // p1 named twice, said once
    expect(r.stderr).toMatch(/^error: p3: refused: a change would lose data/m);
    expect((await status("p3")).status).not.toBe("running");
  });

  it("changes nothing when one name has no spec", async () => {
    const before = spec("p1");
    const r = await f.qfleet(["stop", "p1", "nosuch"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/no spec vms\/nosuch\.yaml/);
    expect(spec("p1")).toBe(before);
    expect((await status("p1")).status).toBe("running");
  });

  it("refuses names together with --pid", async () => {
    const r = await f.qfleet(["stop", "p1", "--pid", "1"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/not both/);
    expect((await status("p1")).status).toBe("running");
  });

  it("stops them all, with a JSON result per VM", async () => {
    const pids = [(await status("p1")).pid!, (await status("p2")).pid!];
    const r = await f.qfleet(["stop", "p1", "p2", "--stop-timeout", "1", "--json"]);
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { vms: string[]; results: { vm: string; ok: boolean }[]; vm: string };
    expect(out.vms).toEqual(["p1", "p2"]);
    expect(out.vm).toBe("p1");
    expect(out.results.map((x) => [x.vm, x.ok]).sort()).toEqual([
      ["p1", true],
      ["p2", true],
    ]);
    for (const pid of pids) expect(await waitGone(pid)).toBe(true);
    expect(spec("p2")).toMatch(/^state: stopped$/m);
  });
});
