import { execa } from "execa";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, isAlive as alive, makeFleet, qemuPidsMentioning, stubSpec, waitGone, type TestFleet } from "../helpers/fleet.js";
import { qmpQuery } from "../helpers/qmp.js";

const pidOf = (f: TestFleet, name: string) => Number(readFileSync(`${f.vmDir}/${name}/qemu.pid`, "utf8"));

describe("reconcile faults (real QEMU, TCG)", () => {
  let f: TestFleet;
  const others: { kill(): void }[] = [];
  beforeAll(() => {
    f = makeFleet();
  });
  afterAll(async () => {
    others.forEach((o) => o.kill());
    await f.cleanup();
  });

  it("a VM killed with SIGKILL shows as a pending start and the next reconcile restarts it", async () => {
    f.spec("k1", stubSpec());
    expect((await f.qfleet(["reconcile"])).exitCode).toBe(0);
    const first = pidOf(f, "k1");
    process.kill(first, "SIGKILL");
    await waitGone(first);
    const check = await f.qfleet(["reconcile", "--check"]);
    expect(check.exitCode).toBe(2);
    expect(check.stdout).toMatch(/> start k1: state: running, but not running/);
    const r = await f.qfleet(["reconcile"]);
    expect(r.exitCode, r.stderr).toBe(0);
    const second = pidOf(f, "k1");
    expect(second).not.toBe(first);
    expect(await qmpQuery(`${f.vmDir}/k1/qmp.sock`, "query-status")).toMatchObject({ status: "running" });
  });

  it("a stale pidfile naming a live non-QEMU process is not 'running', and that process is never signalled", async () => {
    expect((await f.qfleet(["stop", "k1", "--stop-timeout", "1"])).exitCode).toBe(0);
    const sleeper = spawn("sleep", ["300"], { stdio: "ignore" });
    others.push(sleeper);
    writeFileSync(`${f.vmDir}/k1/qemu.pid`, `${sleeper.pid}\n`);
    const st = JSON.parse((await f.qfleet(["status", "k1", "--json"])).stdout);
    expect(st.status).toBe("stopped");
    expect(st.process_running).toBe(false);
    expect(st.reasons.join()).toMatch(/stale pidfile/);
    // delete the VM: it must not signal the sleeper while "stopping" it
    f.spec("k1", stubSpec("state: absent\n"));
    expect((await f.qfleet(["reconcile"])).exitCode).toBe(0);
    expect(alive(sleeper.pid!)).toBe(true);
    expect(existsSync(`${f.vmDir}/k1`)).toBe(false);
    unlinkSync(`${f.dir}/vms/k1.yaml`);
  });

  it("a running VM whose pidfile was removed is still found by its QMP socket and really stopped", async () => {
    f.spec("n1", stubSpec());
    expect((await f.qfleet(["reconcile"])).exitCode).toBe(0);
    const pid = pidOf(f, "n1");
    unlinkSync(`${f.vmDir}/n1/qemu.pid`);
    const bad = await f.qfleet(["stop", "n1", "--stop-timeout", "soon"]);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toMatch(/--stop-timeout takes a number of seconds, not soon/);
    const r = await f.qfleet(["stop", "n1", "--stop-timeout", "1"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain("stopped (quit)");
    expect(await waitGone(pid)).toBe(true);
    unlinkSync(`${f.dir}/vms/n1.yaml`);
    expect((await f.qfleet(["reconcile", "--prune"])).exitCode).toBe(0);
  });

  it("two reconciles at once end with exactly one QEMU per VM", async () => {
    for (const n of ["c1", "c2", "c3"]) f.spec(n, stubSpec());
    const [a, b] = await Promise.all([f.qfleet(["reconcile", "--wait", "60"]), f.qfleet(["reconcile", "--wait", "60"])]);
    expect(a.exitCode, a.stderr).toBe(0);
    expect(b.exitCode, b.stderr).toBe(0);
    for (const n of ["c1", "c2", "c3"]) expect(qemuPidsMentioning(`${f.vmDir}/${n}/`)).toHaveLength(1);
    // without --wait the loser fails fast and names the holder
    const holder = execa("flock", [`${f.vmDir}/.qfleet.lock`, "sleep", "3"]);
    await new Promise((r) => setTimeout(r, 300));
    const busy = await f.qfleet(["reconcile"]);
    await holder;
    expect(busy.exitCode).toBe(1);
    expect(busy.stderr).toMatch(/is locked by/);
  });

  it("leaves a VM whose spec turns invalid running and untouched, and exits 3", async () => {
    const before = pidOf(f, "c1");
    f.spec("c1", "vcpus: 1\nmemory: lots\naccel: tcg\n");
    const r = await f.qfleet(["reconcile", "--prune"]);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/vms\/c1\.yaml:2:\d+: memory/);
    expect(alive(before)).toBe(true);
    expect(pidOf(f, "c1")).toBe(before);
    f.spec("c1", stubSpec());
  });

  it("keeps an orphan without --prune and deletes it with it", async () => {
    const pid = pidOf(f, "c2");
    unlinkSync(`${f.dir}/vms/c2.yaml`);
    const r = await f.qfleet(["reconcile"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("? orphan c2");
    expect(alive(pid)).toBe(true);
    const pruned = await f.qfleet(["reconcile", "--prune"]);
    expect(pruned.exitCode, pruned.stderr).toBe(0);
    expect(pruned.stdout).toContain("- delete c2");
    await waitGone(pid);
    expect(alive(pid)).toBe(false);
    expect(existsSync(`${f.vmDir}/c2`)).toBe(false);
  });

  it("refuses to delete a protected VM", async () => {
    f.spec("c3", stubSpec("protected: true\n"));
    expect((await f.qfleet(["reconcile"])).exitCode).toBe(0);
    f.spec("c3", stubSpec("protected: true\nstate: absent\n"));
    const r = await f.qfleet(["reconcile"]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain("! refused c3: protected");
    expect(existsSync(`${f.vmDir}/c3/applied.json`)).toBe(true);
    expect(await qmpQuery(`${f.vmDir}/c3/qmp.sock`, "query-status")).toMatchObject({ status: "running" });
  });

  it("a busy host port fails that VM only, with the port named", async () => {
    const port = await freePort();
    const blocker = net.createServer().listen(port, "127.0.0.1");
    others.push({ kill: () => blocker.close() });
    await new Promise((r) => blocker.once("listening", r));
    f.spec("p1", stubSpec(`ssh: { port: ${port} }\n`));
    f.spec("p2", stubSpec());
    const r = await f.qfleet(["reconcile"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`p1: host port ${port} on 127\\.0\\.0\\.1 is already in use by pid ${process.pid}`));
    expect(r.stderr).not.toMatch(/p1: p1:/); // the VM is named once per line
    expect(existsSync(`${f.vmDir}/p1/qemu.pid`)).toBe(false);
    expect(await qmpQuery(`${f.vmDir}/p2/qmp.sock`, "query-status")).toMatchObject({ status: "running" });
  });
});
