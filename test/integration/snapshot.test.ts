import { execa, execaSync } from "execa";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadInventory } from "../../src/fleet/inventory.js";
import { snapshotVm } from "../../src/fleet/snapshot.js";
import { CLI, makeFleet, stubSpec, type TestFleet } from "../helpers/fleet.js";
import { call, callError, connectMcp } from "../helpers/mcp-client.js";
import { qmpQuery } from "../helpers/qmp.js";

/**
 * Snapshots on stub VMs (SeaBIOS only, no OS): enough for QEMU's snapshot jobs. What the guest
 * "does" is done from outside: HMP qemu-io writes to a disk through the running QEMU's block
 * layer (as a guest write would), and the BIOS tick counter in guest RAM (0x46c, +18.2/s, kept by
 * SeaBIOS's timer interrupt) is a clock that lives only in RAM. Every check is independent of
 * the product: qemu-img / qemu-io on the files, and a raw QMP socket.
 */
const sha = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");
const disk = (f: TestFleet, vm: string, i: number) => `${f.vmDir}/${vm}/disk${i}.qcow2`;
const qmp = (f: TestFleet, vm: string) => `${f.vmDir}/${vm}/qmp.sock`;
const hmp = (f: TestFleet, vm: string, line: string) => qmpQuery<string>(qmp(f, vm), "human-monitor-command", { "command-line": line });
/** Writes `byte` over the first 64 KiB of drive disk<i> through the running QEMU, flushed to the file. */
const guestWrite = async (f: TestFleet, vm: string, i: number, byte: number) => {
  expect(await hmp(f, vm, `qemu-io disk${i} "write -P ${byte} 0 64k"`)).toBe("");
  expect(await hmp(f, vm, `qemu-io disk${i} "flush"`)).toBe("");
};
/** Whether the first 64 KiB of the image file hold `byte` (read-only, force-share: works while QEMU runs). */
const holds = async (file: string, byte: number) => {
  const r = await execa("qemu-io", ["-U", "-r", "-f", "qcow2", "-c", `read -P ${byte} 0 64k`, file], { reject: false });
  return !/Pattern verification failed/.test(r.stdout + r.stderr);
};
const ticks = async (f: TestFleet, vm: string) => parseInt(/: (0x[0-9a-f]+)/.exec(await hmp(f, vm, "xp /1wx 0x46c"))![1], 16);
/** The tags of an image, by `qemu-img snapshot -l` (not the product's JSON reading). */
const imgTags = async (file: string) =>
  (await execa("qemu-img", ["snapshot", "-U", "-l", file])).stdout
    .split("\n")
    .slice(2)
    .map((l) => ({ tag: l.trim().split(/\s+/)[1], vmSize: l.trim().split(/\s+/).slice(2, 4).join(" ") }));

describe("VM snapshots (real QEMU, stub VMs)", () => {
  let f: TestFleet;
  const snap = (...args: string[]) => f.qfleet(["snapshot", ...args]);
  const snapJson = async (...args: string[]) => JSON.parse((await snap(...args, "--json")).stdout);
  beforeAll(async () => {
    f = makeFleet();
    process.env.QFLEET_VM_DIR = f.vmDir; // for the in-process API
    f.spec("live", stubSpec("disks:\n  - size: 64M\n  - size: 32M\n"));
    f.spec("cold", stubSpec("state: stopped\ndisks:\n  - size: 64M\n  - size: 32M\n"));
    f.spec("rawvm", stubSpec("state: stopped\ndisks:\n  - size: 64M\n    format: raw\n"));
    // two VMs naming one image by path (never both running), and one booting an overlay on it
    f.spec("sh1", stubSpec(`state: stopped\ndisks:\n  - path: ${f.dir}/shared.qcow2\n`));
    f.spec("sh2", stubSpec(`state: stopped\ndisks:\n  - path: ${f.dir}/shared.qcow2\n`));
    f.spec("ov", stubSpec(`state: stopped\ndisks:\n  - path: ${f.dir}/base.qcow2\n    overlay: true\n`));
    for (const img of ["shared", "base"]) await execa("qemu-img", ["create", "-f", "qcow2", `${f.dir}/${img}.qcow2`, "64M"]);
    const r = await f.qfleet(["reconcile"]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
  });
  afterAll(async () => {
    delete process.env.QFLEET_VM_DIR;
    await f.cleanup();
  });

  it("a running VM: create with RAM, list shows it, a second create of the tag is refused, revert brings disks and RAM back", async () => {
    await guestWrite(f, "live", 0, 0x11);
    const t0 = await ticks(f, "live");
    const started = Date.now();
    const c = await snap("live", "create", "s1");
    console.log(`live create (CLI, wall): ${Date.now() - started} ms`);
    expect(c.exitCode, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/snapshot s1 of VM live taken while running: disks and RAM/);
    for (const i of [0, 1]) expect((await imgTags(disk(f, "live", i))).map((s) => s.tag)).toEqual(["s1"]);
    expect((await imgTags(disk(f, "live", 0)))[0].vmSize).not.toBe("0 B"); // RAM saved on disk 0

    const list = await snap("live", "list");
    expect(list.stdout).toMatch(/^TAG\s+DATE\s+RAM\s+SIZE\n/);
    expect(list.stdout).toMatch(/^s1\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+yes\s+\d/m);
    const json = await snapJson("live", "list");
    expect(json.snapshots).toEqual([expect.objectContaining({ tag: "s1", ram: true, disks: [0, 1], complete: true, vmstate_disk: 0 })]);

    const again = await snap("live", "create", "s1");
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toMatch(/VM live already has a snapshot s1/);
    expect((await imgTags(disk(f, "live", 0))).length).toBe(1);

    await new Promise((r) => setTimeout(r, 5000));
    await guestWrite(f, "live", 0, 0x22);
    expect(await holds(disk(f, "live", 0), 0x22)).toBe(true); // the write really reached the file
    const t1 = await ticks(f, "live");
    expect(t1 - t0).toBeGreaterThan(50); // ~5 s of 18.2 ticks/s went by in guest RAM
    const rs = Date.now();
    const rv = await snap("live", "revert", "s1");
    console.log(`live revert (CLI, wall): ${Date.now() - rs} ms`);
    expect(rv.exitCode, rv.stderr).toBe(0);
    const t2 = await ticks(f, "live");
    // proof that RAM went back: the counter restarted from its value at the snapshot (~t0 + the
    // create's second or so), far below t1; a revert that did nothing would read >= t1. (The
    // counter counts since midnight of the guest's RTC, UTC: a run across 00:00 UTC would fail.)
    expect(t2).toBeGreaterThanOrEqual(t0);
    expect(t2).toBeLessThan(t1 - 30);
    // and the disk: the bytes written after the snapshot are gone, those before are back
    expect(await holds(disk(f, "live", 0), 0x11)).toBe(true);
    expect(await holds(disk(f, "live", 0), 0x22)).toBe(false);
    expect(await qmpQuery(qmp(f, "live"), "query-status")).toMatchObject({ status: "running" });
    expect((await imgTags(disk(f, "live", 0))).map((s) => s.tag)).toEqual(["s1"]); // a revert keeps the snapshot
  });

  it("refusals say why and change nothing: a raw disk, a shared disk, a paused VM; an overlay's base is fine", async () => {
    const raw = `${f.vmDir}/rawvm/disk0.raw`;
    const before = sha(raw);
    const r = await snap("rawvm", "create", "x");
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("disk 0 (raw) cannot hold internal snapshots: convert it to qcow2 (qemu_image_convert) or give it overlay: true");
    expect(sha(raw)).toBe(before);
    expect(f.qemuPids().length).toBe(1); // only "live" runs: rawvm was not started

    const shared = await snap("sh1", "create", "x");
    expect(shared.stderr).toMatch(/disk 0 \(.*shared\.qcow2\) is shared with VM sh2/);
    expect(await imgTags(`${f.dir}/shared.qcow2`)).toEqual([]);
    expect(await snapJson("ov", "create", "x")).toMatchObject({ success: true, live: false });
    expect(await imgTags(`${f.dir}/base.qcow2`)).toEqual([]); // the overlay holds it, the base is untouched
    expect((await imgTags(`${f.vmDir}/ov/disk0-overlay.qcow2`)).map((s) => s.tag)).toEqual(["x"]);

    await qmpQuery(qmp(f, "live"), "stop");
    const paused = await snap("live", "create", "p");
    await qmpQuery(qmp(f, "live"), "cont");
    expect(paused.stderr).toMatch(/VM live is paused: snapshots are taken of a running or a stopped VM/);
    expect((await imgTags(disk(f, "live", 0))).map((s) => s.tag)).toEqual(["s1"]);
  });

  it("a stopped VM: disk-only create, list, revert and delete with qemu-img; a disk-only one is not reverted while running", async () => {
    const d0 = disk(f, "cold", 0);
    const c = await snapJson("cold", "create", "d1");
    expect(c).toMatchObject({ success: true, live: false, message: expect.stringMatching(/taken while stopped: disks only/) });
    for (const i of [0, 1]) expect(await imgTags(disk(f, "cold", i))).toEqual([{ tag: "d1", vmSize: "0 B" }]);
    expect((await snapJson("cold", "list")).snapshots).toEqual([
      expect.objectContaining({ tag: "d1", ram: false, vm_state_size: 0, complete: true }),
    ]);

    await execa("qemu-io", ["-f", "qcow2", "-c", "write -P 0x55 0 64k", d0]); // changed after the snapshot
    expect(await holds(d0, 0x55)).toBe(true);
    const missing = await snap("cold", "revert", "nope");
    expect(missing.stderr).toMatch(/VM cold has no snapshot nope/);
    const rv = await snapJson("cold", "revert", "d1");
    expect(rv.message).toMatch(/disks reverted to snapshot d1/);
    expect(await holds(d0, 0)).toBe(true); // the disk was empty when d1 was taken

    expect((await snapJson("cold", "create", "d2")).success).toBe(true);
    const start = await f.qfleet(["start", "cold"]);
    expect(start.exitCode, start.stderr).toBe(0);
    const live = await snap("cold", "revert", "d2");
    expect(live.exitCode).toBe(1);
    expect(live.stderr).toMatch(/taken while stopped: revert it with the VM stopped/);
    // a live delete goes through QEMU's snapshot-delete job
    expect(await snapJson("cold", "delete", "d2")).toMatchObject({ success: true, live: true });
    const stop = await f.qfleet(["stop", "cold"]);
    expect(stop.exitCode, stop.stderr).toBe(0);
    expect(await snapJson("cold", "delete", "d1")).toMatchObject({ success: true, live: false, snapshots: [] });
    for (const i of [0, 1]) expect(await imgTags(disk(f, "cold", i))).toEqual([]);
  });

  it("MCP vm_snapshot: list and create work; revert needs confirmation and changes nothing without it", async () => {
    const mcp = await connectMcp(f);
    try {
      expect(await call(mcp.client, "vm_snapshot", { name: "live", action: "list" })).toMatchObject({ success: true, action: "list", live: true });
      await guestWrite(f, "live", 0, 0x33);
      const c = await call<{ snapshots: { tag: string; ram: boolean }[] }>(mcp.client, "vm_snapshot", { name: "live", action: "create", tag: "m1" });
      expect(c.snapshots.map((s) => [s.tag, s.ram])).toEqual([
        ["s1", true],
        ["m1", true],
      ]);
      await guestWrite(f, "live", 0, 0x44);
      const refused = await callError(mcp.client, "vm_snapshot", { name: "live", action: "revert", tag: "m1" });
      expect(refused).toMatch(/needs confirmation: Reverting VM live to snapshot m1 discards everything since it was taken/);
      expect(await holds(disk(f, "live", 0), 0x44)).toBe(true); // nothing changed
      const ok = await call(mcp.client, "vm_snapshot", { name: "live", action: "revert", tag: "m1", confirm: true });
      expect(ok).toMatchObject({ success: true, action: "revert", live: true });
      expect(await holds(disk(f, "live", 0), 0x33)).toBe(true);
    } finally {
      await mcp.close();
    }
  });

  it("while a snapshot holds the VM's lock, qfleet reconcile fails BUSY naming it", async () => {
    const inv = await loadInventory(f.dir, { only: ["live"] });
    let seen = "";
    const started = Date.now();
    const r = await snapshotVm(inv, "live", "create", "lockheld", {
      // called mid-snapshot (the job started, the lock held): a reconcile run now must be refused
      progress: (msg) => {
        if (seen || !/job .* started/.test(msg)) return;
        const rec = execaSync("node", [CLI, "reconcile", "-C", f.dir], { env: f.env, reject: false, stdin: "ignore" });
        seen = `${rec.exitCode}\n${rec.stderr}`;
      },
    });
    expect(r).toMatchObject({ success: true, live: true });
    expect(seen).toMatch(/^1\n/);
    expect(seen).toMatch(/is locked by pid \d+ on .* \(snapshot live, since /);
    const rs = Date.now();
    await snapshotVm(inv, "live", "revert", "lockheld");
    console.log(`in-process: create (incl. a blocked reconcile) ${rs - started} ms, revert ${Date.now() - rs} ms`);
    // and once it is over, reconcile runs again
    const after = await f.qfleet(["reconcile"]);
    expect(after.exitCode, after.stderr).toBe(0);
  });
});
