import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isAlive, makeFleet, stubSpec, type TestFleet } from "../helpers/fleet.js";
import { qmpQuery } from "../helpers/qmp.js";
import { startWatch } from "../helpers/watch.js";

const MiB = 2 ** 20;

/** Profiles against real stub VMs: what plan shows, what a broken profile blocks, what watch re-plans. */
describe("profiles: shared settings, planned and watched (real QEMU, TCG)", () => {
  let f: TestFleet;
  const profile = (text: string) => writeFileSync(path.join(f.dir, "profiles", "stub.yaml"), text);
  const pid = (vm: string) => Number(readFileSync(`${f.vmDir}/${vm}/qemu.pid`, "utf8").trim());
  const memory = async (vm: string) =>
    (await qmpQuery<{ "base-memory": number }>(`${f.vmDir}/${vm}/qmp.sock`, "query-memory-size-summary"))["base-memory"];

  beforeAll(async () => {
    f = makeFleet();
    mkdirSync(path.join(f.dir, "profiles"));
    profile("# the stub VMs' settings\nvcpus: 1\nmemory: 32M\naccel: tcg\n");
    f.spec("a", "profile: stub\n");
    f.spec("b", "profile: [stub]\nmemory: 48M   # its own value wins\n");
    f.spec("c", stubSpec());
    const r = await f.qfleet(["reconcile"]);
    expect(r.exitCode, r.stderr + r.stdout).toBe(0);
  });
  afterAll(() => f.cleanup());

  it("runs each VM with its profile's values, its own winning", async () => {
    expect(await memory("a")).toBe(32 * MiB);
    expect(await memory("b")).toBe(48 * MiB);
    const st = JSON.parse((await f.qfleet(["status", "a", "--json"])).stdout);
    expect(st).toMatchObject({ status: "running", in_sync: true });
  });

  it("a profile edit is a field change in the plan of every VM using it, and of no other", async () => {
    profile("vcpus: 1\nmemory: 40M\naccel: tcg\n");
    const plan = await f.qfleet(["plan"]);
    expect(plan.exitCode, plan.stderr).toBe(0);
    expect(plan.stdout).toContain("~ update (restart) a:");
    expect(plan.stdout).toContain("~ memory: 32.0 MB -> 40.0 MB  [restart]");
    expect(plan.stdout).not.toMatch(/ b:| c:/);
    expect(plan.stdout).toContain("Plan: 1 to update; 2 unchanged.");
    profile("vcpus: 1\nmemory: 32M\naccel: tcg\n");
    expect((await f.qfleet(["plan"])).stdout).toContain("Plan: nothing to change");
  });

  it("a broken profile is located in it, names its specs, and leaves only their VMs alone", async () => {
    const pids = [pid("a"), pid("b")];
    profile("vcpus: 1\nmemory: 2X\naccel: tcg\n");
    const v = await f.qfleet(["validate"]);
    expect(v.exitCode).toBe(3);
    expect(v.stdout.trim().split("\n")).toEqual([
      "profiles/stub.yaml:2:9: memory: expected a size such as 512M, 2G, 2GiB, 4096M or a plain number of bytes (used by vms/a.yaml, vms/b.yaml)",
      "1 problem in 2 of 3 specs and profiles/stub.yaml",
    ]);
    expect((await f.qfleet(["reconcile", "--only", "c"])).exitCode).toBe(0); // not c's profile
    expect((await f.qfleet(["reconcile"])).exitCode).toBe(3);
    expect(pids.every(isAlive)).toBe(true);
    f.spec("c", "profile: stubb\n");
    expect((await f.qfleet(["validate"])).stdout).toContain(
      "vms/c.yaml:1:10: profile: unknown profile 'stubb': there is no profiles/stubb.yaml (did you mean 'stub'?)",
    );
    f.spec("c", stubSpec());
    profile("vcpus: 1\nmemory: 32M\naccel: tcg\n");
  });

  it("watch re-plans the VMs naming a profile when it is saved", async () => {
    const w = startWatch(f, ["--resync", "600", "--stop-timeout", "1"]);
    const { events, next } = w;
    try {
      await next((e) => e.event === "watching", "watching");
      expect(events.find((e) => e.event === "watching")!.message).toContain("profiles/");
      await new Promise((r) => setTimeout(r, 1000)); // the first full run is done (nothing to change)
      profile("vcpus: 1\nmemory: 40M\naccel: tcg\n");
      await next((e) => e.event === "change" && e.file === "profiles/stub.yaml", "change");
      await next((e) => e.event === "action" && e.vm === "a" && e.kind === "update-restart" && e.phase === "done", "a restarted");
      await next((e) => e.event === "in-sync" && e.vm === "b", "b in sync");
      expect(events.filter((e) => e.vm === "c")).toEqual([]);
      expect(await memory("a")).toBe(40 * MiB);
    } finally {
      await w.stop();
    }
  });
});
