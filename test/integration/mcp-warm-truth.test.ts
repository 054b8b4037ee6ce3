import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeFleet, stubSpec, waitGone, type TestFleet } from "../helpers/fleet.js";
import { call, connectMcp } from "../helpers/mcp-client.js";
import { greetsWithin, qmpQuery } from "../helpers/qmp.js";

/**
 * A warm MCP server keeps what it learned between calls (fleet/live-cache.ts): it must still
 * tell the truth on the very next call after the world changed behind its back. Real QEMU
 * (stub VMs) and a real MCP client; every change below is made by another process or by hand.
 */
describe("a warm MCP server never serves a stale truth", () => {
  let f: TestFleet;
  let mcp: Awaited<ReturnType<typeof connectMcp>>;
  type Listed = { data: { vms: { name: string; status: string; memory: string }[] } };
  const listed = async (name: string) => (await call<Listed>(mcp.client, "list_vms", {})).data.vms.find((v) => v.name === name);

  beforeAll(async () => {
    f = makeFleet();
    f.spec("w1", stubSpec());
    f.spec("w2", stubSpec());
    expect((await f.qfleet(["reconcile"])).exitCode).toBe(0);
    mcp = await connectMcp(f);
    for (let i = 0; i < 3; i++) await call(mcp.client, "list_vms", {}); // warm
  });
  afterAll(async () => {
    await mcp?.close();
    await f?.cleanup();
  });

  it("a VM killed with SIGKILL is reported stopped on the next call", async () => {
    expect(await call(mcp.client, "qemu_vm_status", { name: "w1" })).toMatchObject({ status: "running" });
    const pid = Number(readFileSync(`${f.vmDir}/w1/qemu.pid`, "utf8"));
    process.kill(pid, "SIGKILL");
    expect(await waitGone(pid)).toBe(true);
    expect(await call(mcp.client, "qemu_vm_status", { name: "w1" })).toMatchObject({ status: "stopped", process_running: false });
    expect((await listed("w1"))?.status).toBe("stopped");
  });

  it("a spec edited on disk, and a new one, are seen on the next call", async () => {
    expect((await listed("w2"))?.memory).toBe("32.0 MB");
    f.spec("w2", stubSpec().replace("memory: 32M", "memory: 48M"));
    expect((await listed("w2"))?.memory).toBe("48.0 MB");
    f.spec("w3", stubSpec());
    expect(await listed("w3")).toMatchObject({ status: "not-created" });
  });

  it("a VM started by another process is seen running on the next call", async () => {
    expect((await f.qfleet(["reconcile", "--only", "w3"])).exitCode).toBe(0);
    expect((await listed("w3"))?.status).toBe("running");
  });

  it("holds each running VM's second QMP monitor, leaves the first free, and sees a pause made elsewhere on the next call", async () => {
    const status = async () => ((await call(mcp.client, "qemu_vm_status", { name: "w2" })) as { status: string }).status;
    for (let i = 0; i < 3; i++) expect(await status()).toBe("running"); // the first call attaches, in the background
    const vm = `${f.vmDir}/w2`;
    expect(await greetsWithin(`${vm}/qmp2.sock`, 500)).toBe(false); // the server holds it
    expect(await greetsWithin(`${vm}/qmp.sock`, 2000)).toBe(true); // everyone else uses this one
    await qmpQuery(`${vm}/qmp.sock`, "stop");
    expect(await status()).toBe("paused");
    expect((await listed("w2"))?.status).toBe("paused");
    await qmpQuery(`${vm}/qmp.sock`, "cont");
    expect(await status()).toBe("running");
  });

  it("a QEMU stopped with SIGSTOP is not reported running from what the server kept, and running again after SIGCONT", async () => {
    const st = async () => (await call(mcp.client, "qemu_vm_status", { name: "w2" })) as { status: string; message: string };
    expect((await st()).status).toBe("running");
    const pid = Number(readFileSync(`${f.vmDir}/w2/qemu.pid`, "utf8"));
    process.kill(pid, "SIGSTOP");
    try {
      // the signal is delivered when the kernel next runs the process: wait until /proc says so
      for (let i = 0; i < 200 && !/\) T /.test(readFileSync(`/proc/${pid}/stat`, "utf8")); i++) await new Promise((r) => setTimeout(r, 10));
      const stopped = await st();
      expect(stopped.status).toBe("broken");
      expect(stopped.message).toMatch(/stopped by a signal or a debugger/);
    } finally {
      process.kill(pid, "SIGCONT");
    }
    expect((await st()).status).toBe("running");
  });

  it("a second server on the same fleet, which cannot hold the monitors, still tells the truth", async () => {
    const second = await connectMcp(f);
    try {
      const status = async () => ((await call(second.client, "qemu_vm_status", { name: "w2" })) as { status: string }).status;
      expect(await status()).toBe("running");
      await qmpQuery(`${f.vmDir}/w2/qmp.sock`, "stop");
      expect(await status()).toBe("paused");
      await qmpQuery(`${f.vmDir}/w2/qmp.sock`, "cont");
      expect(await status()).toBe("running");
    } finally {
      await second.close();
    }
  });
});
