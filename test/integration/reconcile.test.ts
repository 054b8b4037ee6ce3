import { execa } from "execa";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, makeFleet, stubSpec, waitGone, type TestFleet } from "../helpers/fleet.js";
import { qmpQuery } from "../helpers/qmp.js";

/** The lifecycle of stub VMs through the real CLI, checked through /proc and QMP. */
describe("reconcile: stub VM lifecycle (real QEMU, TCG)", () => {
  let f: TestFleet;
  let port: number;
  const inst = () => `${f.vmDir}/s1`;
  const qmp = <T>(cmd: string, args?: Record<string, unknown>) => qmpQuery<T>(`${inst()}/qmp.sock`, cmd, args);
  const pid = () => Number(readFileSync(`${inst()}/qemu.pid`, "utf8").trim());
  const cmdline = (p: number) => readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0").slice(0, -1);

  beforeAll(async () => {
    f = makeFleet();
    port = await freePort();
  });
  afterAll(() => f.cleanup());

  it("plans a create, then creates and starts the VM", async () => {
    f.spec("s1", stubSpec(`# keep this comment\ndisks:\n  - size: 64M\nssh: { port: ${port} }\n`));
    const plan = await f.qfleet(["plan"]);
    expect(plan.exitCode).toBe(0);
    expect(plan.stdout).toContain("+ create s1");
    expect(plan.stdout).toContain("Plan: 1 to create.");
    expect(f.qemuPids()).toEqual([]);

    const r = await f.qfleet(["reconcile", "--stop-timeout", "1"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(statSync(inst()).mode & 0o777).toBe(0o700);
    const argv = cmdline(pid());
    expect(argv[0]).toBe("qemu-system-x86_64");
    expect(argv).toContain(`unix:${inst()}/qmp.sock,server=on,wait=off`);
    expect(await qmp("query-status")).toMatchObject({ status: "running" });
    const mem = await qmp<{ "base-memory": number }>("query-memory-size-summary");
    expect(mem["base-memory"]).toBe(32 * 2 ** 20);
    const applied = JSON.parse(readFileSync(`${inst()}/applied.json`, "utf8"));
    expect(applied.accel).toBe("tcg");
    expect(applied.argv).toEqual(argv);
  });

  it("plans nothing right after, and --check exits 0", async () => {
    const again = await f.qfleet(["reconcile"]);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain("Plan: nothing to change");
    expect((await f.qfleet(["reconcile", "--check"])).exitCode).toBe(0);
  });

  it("--check exits 2 on drift and applies nothing", async () => {
    const before = pid();
    f.spec("s1", stubSpec(`disks:\n  - size: 64M\nssh: { port: ${port} }\nmemory: 48M\n`).replace("memory: 32M\n", ""));
    const r = await f.qfleet(["reconcile", "--check"]);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toContain("~ memory: 32.0 MB -> 48.0 MB  [restart]");
    expect(pid()).toBe(before);
  });

  it("restarts for a memory change, and the new size is what QEMU runs", async () => {
    const before = pid();
    const r = await f.qfleet(["reconcile", "--stop-timeout", "1"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(pid()).not.toBe(before);
    expect(await waitGone(before)).toBe(true);
    const mem = await qmp<{ "base-memory": number }>("query-memory-size-summary");
    expect(mem["base-memory"]).toBe(48 * 2 ** 20);
  });

  it("inserts and ejects an ISO live, without a restart", async () => {
    const iso = `${f.dir}/media.iso`;
    writeFileSync(iso, Buffer.alloc(2 * 1024 * 1024, 1));
    const before = pid();
    f.spec("s1", stubSpec(`disks:\n  - size: 64M\nssh: { port: ${port} }\niso: ${iso}\n`).replace("memory: 32M\n", "memory: 48M\n"));
    const r = await f.qfleet(["reconcile"]);
    expect(r.stdout).toContain("~ update (live) s1");
    expect(r.exitCode, r.stderr).toBe(0);
    expect(pid()).toBe(before);
    const blocks = await qmp<{ device: string; qdev?: string; inserted?: { file: string } }[]>("query-block");
    const cd = blocks.find((b) => b.device === "cd0");
    expect(cd?.inserted?.file).toBe(iso);

    f.spec("s1", stubSpec(`disks:\n  - size: 64M\nssh: { port: ${port} }\n`).replace("memory: 32M\n", "memory: 48M\n"));
    expect((await f.qfleet(["reconcile"])).exitCode).toBe(0);
    const after = await qmp<{ device: string; inserted?: unknown }[]>("query-block");
    expect(after.find((b) => b.device === "cd0")?.inserted).toBeUndefined();
    expect(pid()).toBe(before);
  });

  it("grows a disk while stopped and refuses to shrink it", async () => {
    f.spec("s1", stubSpec(`disks:\n  - size: 96M\nssh: { port: ${port} }\n`).replace("memory: 32M\n", "memory: 48M\n"));
    const r = await f.qfleet(["reconcile", "--stop-timeout", "1"]);
    expect(r.exitCode, r.stderr).toBe(0);
    const info = JSON.parse((await execa("qemu-img", ["info", "-U", "--output=json", `${inst()}/disk0.qcow2`])).stdout);
    expect(info["virtual-size"]).toBe(96 * 2 ** 20);

    f.spec("s1", stubSpec(`disks:\n  - size: 64M\nssh: { port: ${port} }\n`).replace("memory: 32M\n", "memory: 48M\n"));
    const shrink = await f.qfleet(["reconcile"]);
    expect(shrink.exitCode).toBe(1);
    expect(shrink.stdout).toContain("! refused s1");
    const still = JSON.parse((await execa("qemu-img", ["info", "-U", "--output=json", `${inst()}/disk0.qcow2`])).stdout);
    expect(still["virtual-size"]).toBe(96 * 2 ** 20);
    f.spec("s1", stubSpec(`# keep this comment\ndisks:\n  - size: 96M\nssh: { port: ${port} }\n`).replace("memory: 32M\n", "memory: 48M\n"));
  });

  it("qfleet stop writes state: stopped into the spec, keeps its comments, and stops QEMU", async () => {
    const before = pid();
    const r = await f.qfleet(["stop", "s1", "--stop-timeout", "1"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain("stopped (quit)"); // a stub has no OS to act on ACPI powerdown: the fallback kicks in
    const text = readFileSync(`${f.dir}/vms/s1.yaml`, "utf8");
    expect(text).toContain("# keep this comment");
    expect(text).toMatch(/^state: stopped$/m);
    expect(await waitGone(before)).toBe(true);
    expect(f.qemuPids()).toEqual([]);

    const start = await f.qfleet(["start", "s1"]);
    expect(start.exitCode, start.stderr).toBe(0);
    expect(readFileSync(`${f.dir}/vms/s1.yaml`, "utf8")).toMatch(/^state: running$/m);
    expect(await qmp("query-status")).toMatchObject({ status: "running" });
  });

  it("status and list report the real state", async () => {
    const st = JSON.parse((await f.qfleet(["status", "s1", "--json"])).stdout);
    expect(st).toMatchObject({ name: "s1", status: "running", process_running: true, pid: pid(), accelerator: "tcg", ssh_port: port, in_sync: true });
    expect(st.accelerator_reason).toBeTruthy();
    expect(st.ssh_accessible).toBe(false); // a stub has no OS: the forward accepts, but no banner comes
    const list = JSON.parse((await f.qfleet(["list", "--json"])).stdout);
    expect(list.vms).toEqual([expect.objectContaining({ name: "s1", status: "running", arch: "x86_64", vcpus: 1 })]);
  });

  it("deletes the VM and its instance directory on state: absent", async () => {
    const before = pid();
    f.spec("s1", stubSpec("state: absent\n"));
    const r = await f.qfleet(["reconcile"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain("- delete s1");
    expect(existsSync(inst())).toBe(false);
    expect(await waitGone(before)).toBe(true);
  });
});
