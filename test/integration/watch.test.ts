import { readFileSync, rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WatchEvent } from "../../src/watch/watch.js";
import { isAlive, makeFleet, stubSpec, waitGone, type TestFleet } from "../helpers/fleet.js";
import { qmpQuery } from "../helpers/qmp.js";
import { startWatch, type WatchProcess } from "../helpers/watch.js";

const MiB = 2 ** 20;

/** `qfleet watch` in a child process against stub VMs; QEMU's state checked through /proc and raw QMP. */
describe("watch: specs act as soon as they are saved (real QEMU, TCG)", () => {
  let f: TestFleet;
  let w: WatchProcess;
  let events: WatchEvent[] = [];
  const pid = () => Number(readFileSync(`${f.vmDir}/w1/qemu.pid`, "utf8").trim());
  const qmp = <T>(cmd: string) => qmpQuery<T>(`${f.vmDir}/w1/qmp.sock`, cmd);
  const baseMemory = async () => (await qmp<{ "base-memory": number }>("query-memory-size-summary"))["base-memory"];
  /** The first event at index `from` or later that matches; waits for it. */
  const next = (pred: (e: WatchEvent) => boolean, from: number, what: string) => w.next(pred, what, from);
  const action =
    (kind: string, phase = "done") =>
    (e: WatchEvent) =>
      e.event === "action" && e.vm === "w1" && e.kind === kind && e.phase === phase;
  /** Waits until two full resyncs have started after `from`: the first of them has then finished. */
  const afterResync = async (from: number) => {
    const first = await next((e) => e.event === "resync", from, "resync");
    await next((e) => e.event === "resync", events.indexOf(first) + 1, "second resync");
  };

  beforeAll(async () => {
    f = makeFleet();
    w = startWatch(f, ["--resync", "2", "--stop-timeout", "1"]);
    events = w.events;
    await next((e) => e.event === "watching", 0, "watching");
  });
  afterAll(async () => {
    await w?.stop();
    await f.cleanup();
  });

  it("a new spec file becomes a running VM", async () => {
    const mark = events.length;
    f.spec("w1", stubSpec());
    await next((e) => e.event === "change" && e.file === "vms/w1.yaml", mark, "change");
    await next(action("create"), mark, "create done");
    expect(isAlive(pid())).toBe(true);
    expect(await qmp("query-status")).toMatchObject({ status: "running" });
    expect(await baseMemory()).toBe(32 * MiB);
  });

  it("a memory edit restarts it with the new size", async () => {
    const before = pid();
    const mark = events.length;
    f.spec("w1", stubSpec().replace("memory: 32M", "memory: 48M"));
    await next(action("update-restart"), mark, "update-restart done");
    expect(pid()).not.toBe(before);
    expect(await waitGone(before)).toBe(true);
    expect(await baseMemory()).toBe(48 * MiB);
  });

  it("an invalid edit prints file:line and leaves the VM exactly as it runs", async () => {
    const before = pid();
    const mark = events.length;
    f.spec("w1", stubSpec().replace("memory: 32M", "memory: lots"));
    const problem = await next((e) => e.event === "problem", mark, "problem");
    expect(problem.message).toMatch(/^vms\/w1\.yaml:3:9: memory: /);
    expect(problem.issue).toMatchObject({ file: "vms/w1.yaml", line: 3, field: "memory" });
    await afterResync(events.indexOf(problem));
    expect(events.slice(mark).filter((e) => e.event === "action")).toEqual([]);
    expect(events.slice(mark).filter((e) => e.event === "problem")).toHaveLength(1); // reported once, not on every resync
    expect(pid()).toBe(before);
    expect(await qmp("query-status")).toMatchObject({ status: "running" });
    expect(await baseMemory()).toBe(48 * MiB);
  });

  it("a VM killed with SIGKILL is running again after the resync", async () => {
    let mark = events.length;
    f.spec("w1", stubSpec().replace("memory: 32M", "memory: 48M"));
    await next((e) => e.event === "valid" && e.file === "vms/w1.yaml", mark, "valid");
    await next((e) => e.event === "in-sync" && e.vm === "w1", mark, "in-sync");
    const before = pid();
    mark = events.length;
    process.kill(before, "SIGKILL");
    expect(await waitGone(before)).toBe(true);
    const started = await next(action("start"), mark, "start done");
    expect(events.slice(mark, events.indexOf(started)).some((e) => e.event === "resync")).toBe(true);
    expect(pid()).not.toBe(before);
    expect(isAlive(pid())).toBe(true);
    expect(await qmp("query-status")).toMatchObject({ status: "running" });
  });

  it("a deleted spec leaves the VM running, reported as an orphan", async () => {
    const before = pid();
    const mark = events.length;
    rmSync(`${f.dir}/vms/w1.yaml`);
    const orphan = await next((e) => e.event === "orphan" && e.vm === "w1", mark, "orphan");
    expect(orphan.message).toContain("kept");
    await afterResync(events.indexOf(orphan));
    expect(events.slice(mark).filter((e) => e.event === "action")).toEqual([]);
    expect(isAlive(before)).toBe(true);
    expect(await qmp("query-status")).toMatchObject({ status: "running" });
  });

  it("SIGTERM exits 0 and leaves the VMs running", async () => {
    const before = pid();
    w.process.kill("SIGTERM");
    const r = await w.process;
    expect(r.exitCode, w.stderr()).toBe(0);
    expect(events.at(-1)?.event).toBe("stopped");
    expect(isAlive(before)).toBe(true);
    expect(f.qemuPids()).toEqual([before]);
  });
});
