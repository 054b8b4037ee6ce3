import { execa } from "execa";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, isAlive, makeFleet, stubSpec, waitGone, type TestFleet } from "../helpers/fleet.js";

/** QEMU processes qemu-fleet did not start: listed, never touched by reconcile, stoppable by PID/port. */
describe("unmanaged QEMU processes (real QEMU)", () => {
  let f: TestFleet;
  let own: string;
  let pid: number;
  let port: number;

  beforeAll(async () => {
    f = makeFleet();
    own = mkdtempSync("/tmp/qfu-");
    port = await freePort();
    await execa("qemu-system-x86_64", [
      "-name",
      "handmade",
      "-machine",
      "q35",
      "-accel",
      "tcg",
      "-m",
      "32M",
      "-nodefaults",
      "-display",
      "none",
      "-daemonize",
      "-pidfile",
      `${own}/pid`,
      "-netdev",
      `user,id=n0,hostfwd=tcp:127.0.0.1:${port}-:22`,
      "-device",
      "virtio-net-pci,netdev=n0,romfile=",
    ]);
    pid = Number(readFileSync(`${own}/pid`, "utf8"));
  });
  afterAll(async () => {
    if (isAlive(pid)) process.kill(pid, "SIGKILL");
    rmSync(own, { recursive: true, force: true });
    await f.cleanup();
  });

  it("lists it as unmanaged with its name and port, and reconcile --prune never touches it", async () => {
    const list = JSON.parse((await f.qfleet(["list", "--json"])).stdout);
    expect(list.unmanaged).toContainEqual(expect.objectContaining({ pid, name: "handmade", arch: "x86_64", ports: [port], managed: false }));
    f.spec("m1", stubSpec());
    const r = await f.qfleet(["reconcile", "--prune"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).not.toContain("handmade");
    expect(isAlive(pid)).toBe(true);
  });

  it("refuses to stop a PID that is not a qemu-system process", async () => {
    const sleeper = spawn("sleep", ["60"], { stdio: "ignore" });
    try {
      const r = await f.qfleet(["stop", "--pid", String(sleeper.pid)]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/no qemu-system process with pid/);
      expect(isAlive(sleeper.pid!)).toBe(true);
    } finally {
      sleeper.kill();
    }
  });

  it("stops a managed VM found by its port the declarative way", async () => {
    const mport = await freePort();
    f.spec("m1", stubSpec(`ssh: { port: ${mport} }\n`));
    expect((await f.qfleet(["reconcile"])).exitCode).toBe(0);
    const r = await f.qfleet(["stop", "--ssh-port", String(mport), "--stop-timeout", "1"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(readFileSync(`${f.dir}/vms/m1.yaml`, "utf8")).toMatch(/^state: stopped$/m);
  });

  it("stops the unmanaged one by its SSH port", async () => {
    const r = await f.qfleet(["stop", "--ssh-port", String(port), "--json"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ success: true, pid, managed: false });
    expect(await waitGone(pid)).toBe(true);
  });
});
