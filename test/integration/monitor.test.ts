import { execa, type ResultPromise } from "execa";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalHost } from "../../src/hosts/local.js";
import { monitorVmStatus } from "../../src/fleet/monitor-vm.js";
import { monitorVm, type MonitorOptions, type VmSample } from "../../src/monitor/index.js";
import { CLI, freePort, makeFleet, stubSpec, type TestFleet } from "../helpers/fleet.js";
import { ensureGuest, sshRun, waitForSsh, type GuestManifest } from "../helpers/guest.js";
import { qmpQuery } from "../helpers/qmp.js";
import { makeLab, type Lab } from "../helpers/sshd-lab.js";

const MiB = 2 ** 20;

/** The monitor against the tiny guest booted by qfleet, loaded through SSH; QEMU checked through raw QMP. */
describe("monitor: the tiny guest under load (real QEMU, TCG)", () => {
  let f: TestFleet;
  let guest: GuestManifest;
  let port: number;
  const children = new Set<ResultPromise>();
  const inst = () => `${f.vmDir}/gm`;
  const target = () => ({ name: "gm", instanceDir: inst(), pid: Number(readFileSync(`${inst()}/qemu.pid`, "utf8").trim()) });
  const monitor = (opts: MonitorOptions) => monitorVm(new LocalHost(), target(), opts);
  const dumpObjects = async () =>
    (await qmpQuery<{ name: string; type: string }[]>(`${inst()}/qmp.sock`, "qom-list", { path: "/objects" })).filter(
      (o) => o.type === "child<filter-dump>",
    );
  const infoNetwork = () => qmpQuery<string>(`${inst()}/qmp.sock`, "human-monitor-command", { "command-line": "info network" });
  const pcapFiles = () => readdirSync(inst()).filter((n) => n.endsWith(".pcap"));
  /** Processes reading this VM's dump files (the monitor's tail -f followers). */
  const followers = () =>
    readdirSync("/proc").filter(
      (p) =>
        /^\d+$/.test(p) &&
        (() => {
          try {
            return readFileSync(`/proc/${p}/cmdline`, "utf8").includes(`${inst()}/qfmon-`);
          } catch {
            return false;
          }
        })(),
    );
  const cli = (args: string[]) => {
    const p = execa("node", [CLI, "monitor", ...args, "-C", f.dir], { env: f.env, reject: false, stdin: "ignore", buffer: true });
    children.add(p);
    return p;
  };

  beforeAll(async () => {
    f = makeFleet();
    process.env.QFLEET_VM_DIR = f.vmDir; // for the in-process API (monitorVmStatus loads the inventory)
    [guest, port] = await Promise.all([ensureGuest("x86_64"), freePort()]);
    f.spec(
      "gm",
      `arch: x86_64\nvcpus: 1\nmemory: 256M\naccel: tcg\ndisks:\n  - path: ${guest.disk}\n    overlay: true\n  - size: 64M\nssh: { port: ${port} }\n`,
    );
    f.spec("off", stubSpec("state: stopped\n"));
    f.spec("crash", stubSpec());
    const r = await f.qfleet(["reconcile"]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    await waitForSsh(port, guest, 150_000);
  });
  afterAll(async () => {
    for (const c of children) c.kill("SIGKILL");
    delete process.env.QFLEET_VM_DIR;
    await f.cleanup();
  });

  it("memory figures match the spec, in the reference result shape (the MCP tool's API)", async () => {
    const progress: number[] = [];
    const r = await monitorVmStatus({ dir: f.dir, name: "gm", metrics: "memory", interval: 1, count: 2, onProgress: (done) => progress.push(done) });
    expect(r).toMatchObject({ success: true, data: { host: "local", vm_name: "gm" } });
    expect(r.data.timestamp).toHaveLength(2);
    expect(progress).toEqual([1, 2]);
    const mem = r.data.metrics_data.memory!;
    expect(mem.configured_bytes).toEqual([256 * MiB, 256 * MiB]);
    expect(mem.balloon_bytes).toEqual([256 * MiB, 256 * MiB]); // nothing inflates the balloon
    for (const rss of mem.rss_bytes) expect(rss).toBeGreaterThan(8 * MiB);
    expect(Object.keys(r.data.metrics_data)).toEqual(["interval_s", "memory"]);
  });

  it("CPU under a busy loop in the guest is clearly above idle", async () => {
    const avg = (s: VmSample[]) => s.reduce((a, x) => a + x.cpu!.percent, 0) / s.length;
    const idle = await monitor({ metrics: ["cpu"], intervalMs: 1000, count: 3 });
    const busyLoop = sshRun(port, "(while :; do :; done) & p=$!; sleep 9; kill $p", guest, { timeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 2000)); // let the loop start
    const busy = await monitor({ metrics: ["cpu"], intervalMs: 1000, count: 3 });
    expect((await busyLoop).exitCode).toBe(0);
    expect(avg(busy), `idle ${avg(idle)}%, busy ${avg(busy)}%`).toBeGreaterThan(avg(idle) + 30);
    expect(busy[0].cpu!.vcpus).toHaveLength(1);
    expect(busy.every((s) => s.cpu!.vcpus[0].percent! > avg(idle))).toBe(true);
  });

  it("disk bytes read and written grow after a dd in the guest, and the rates add up to them", async () => {
    const samples: VmSample[] = [];
    const stop = new AbortController();
    const run = monitor({ metrics: ["disk"], intervalMs: 1000, count: 0, signal: stop.signal, onSample: (s) => samples.push(s) });
    await until(() => samples.length >= 1);
    const before = samples[0].disk!.disk1;
    expect(before).toMatchObject({ virtual_size_bytes: 64 * MiB });
    const dd = await sshRun(
      port,
      "dd if=/dev/zero of=/dev/vdb bs=1M count=16 conv=fsync && echo 3 > /proc/sys/vm/drop_caches && dd if=/dev/vdb of=/dev/null bs=1M count=16",
      guest,
    );
    expect(dd.exitCode, dd.stderr).toBe(0);
    const n = samples.length;
    await until(() => samples.length >= n + 1);
    stop.abort();
    await run;
    const after = samples.at(-1)!.disk!.disk1;
    const written = after.write_bytes_total - before.write_bytes_total;
    const read = after.read_bytes_total - before.read_bytes_total;
    expect(written).toBeGreaterThanOrEqual(16 * MiB);
    expect(read).toBeGreaterThanOrEqual(16 * MiB);
    const integral = samples.slice(1).reduce((a, s) => a + s.disk!.disk1.write_bytes_per_s * s.interval_s, 0);
    expect(Math.abs(integral - written) / written).toBeLessThan(0.02);
    expect(Math.max(...samples.map((s) => s.disk!.disk1.write_iops))).toBeGreaterThan(0);
  });

  it("network bytes received are within 10% of a file copied into the guest; the dump filters are gone afterwards", async () => {
    const data = randomBytes(6 * MiB).toString("base64"); // 8 MiB of ASCII
    const samples: VmSample[] = [];
    const stop = new AbortController();
    const run = monitor({ metrics: ["network"], intervalMs: 1000, count: 0, signal: stop.signal, onSample: (s) => samples.push(s) });
    await until(() => samples.length >= 1);
    expect((await dumpObjects()).length).toBe(2); // one filter-dump per direction while sampling
    expect(followers().length).toBeGreaterThan(0);
    const copy = await sshRun(port, "cat > /dev/null", guest, { input: data, timeoutMs: 120_000 });
    expect(copy.exitCode, copy.stderr).toBe(0);
    const n = samples.length;
    await until(() => samples.length >= n + 1);
    stop.abort();
    await run;
    const rx = samples.reduce((a, s) => a + s.network!.nic0.rx_bytes, 0);
    const tx = samples.reduce((a, s) => a + s.network!.nic0.tx_bytes, 0);
    expect(samples[0].network!.nic0).toMatchObject({ netdev: "net0", type: "user" });
    expect(Math.abs(rx - data.length) / data.length, `rx ${rx} for ${data.length} bytes`).toBeLessThan(0.1);
    expect(tx).toBeLessThan(rx / 5);
    expect(await dumpObjects()).toEqual([]);
    expect(await infoNetwork()).not.toContain("filter-dump");
    expect(pcapFiles()).toEqual([]);
    await until(() => followers().length === 0);
  });

  it("Ctrl-C ends `qfleet monitor --count 0` of two VMs cleanly: JSON lines, exit 0, nothing left in the VMs", async () => {
    const p = cli(["gm", "crash", "--interval", "1", "--count", "0"]);
    const lines: string[] = [];
    p.stdout!.on("data", (b: Buffer) => lines.push(...b.toString().split("\n").filter(Boolean)));
    await until(() => lines.length >= 4);
    expect((await dumpObjects()).length).toBe(2);
    p.kill("SIGINT");
    const r = await p;
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const parsed = lines.map((l) => JSON.parse(l));
    expect(new Set(parsed.map((x) => x.vm))).toEqual(new Set(["gm", "crash"]));
    const first = parsed.find((x) => x.vm === "gm");
    expect(first).toMatchObject({
      host: "local",
      cpu: expect.any(Object),
      memory: expect.any(Object),
      disk: expect.any(Object),
      network: expect.any(Object),
    });
    expect(Date.parse(first.timestamp)).toBeGreaterThan(0);
    expect(await dumpObjects()).toEqual([]);
    expect(pcapFiles()).toEqual([]);
    expect(readdirSync(`${f.vmDir}/crash`).filter((n) => n.endsWith(".pcap"))).toEqual([]);
  });

  it("what a killed monitor left behind is removed by the next one", async () => {
    const p = cli(["gm", "--interval", "1", "--count", "0", "--metrics", "network"]);
    let out = "";
    p.stdout!.on("data", (b: Buffer) => (out += b.toString()));
    await until(() => out.includes("\n"));
    p.kill("SIGKILL");
    await p;
    expect((await dumpObjects()).length).toBe(2);
    expect(pcapFiles().length).toBe(2);
    await until(() => followers().length === 0); // the file readers die with the monitor
    const r = await cli(["gm", "--interval", "1", "--count", "1", "--metrics", "network"]);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(await dumpObjects()).toEqual([]);
    expect(pcapFiles()).toEqual([]);
  });

  it("a VM that dies while monitored ends with a clear error and its dump files removed", async () => {
    const dir = `${f.vmDir}/crash`;
    const pid = Number(readFileSync(`${dir}/qemu.pid`, "utf8").trim());
    const samples: VmSample[] = [];
    const run = monitorVm(
      new LocalHost(),
      { name: "crash", instanceDir: dir, pid },
      { intervalMs: 1000, count: 0, onSample: (s) => samples.push(s) },
    );
    await until(() => samples.length >= 1);
    expect(readdirSync(dir).filter((n) => n.endsWith(".pcap"))).toHaveLength(2);
    process.kill(pid, "SIGKILL");
    await expect(run).rejects.toThrow(/VM crash is not running \(its QEMU, pid \d+, is gone\)/);
    expect(readdirSync(dir).filter((n) => n.endsWith(".pcap"))).toEqual([]);
  });

  it("a VM that is not running, or does not exist, is a clear error", async () => {
    const off = await cli(["off", "--count", "1", "--interval", "1"]);
    expect(off.exitCode).toBe(1);
    expect(off.stderr).toContain("error: VM off is not running (stopped): only a running VM can be monitored");
    expect(off.stderr).toContain("hint: start it with qfleet start off");
    const none = await cli(["nope"]);
    expect(none.exitCode).toBe(1);
    expect(none.stderr).toContain("no VM named nope");
    await expect(monitorVmStatus({ dir: f.dir, name: "gm", count: 0 })).rejects.toThrow(/cannot work inside one tool call/);
  });
});

/** The same monitor through the SSH Host: /proc, QMP and the dump readers on the remote side. */
describe("monitor: a VM on an SSH host (real sshd, real QEMU)", () => {
  let lab: Lab;
  const inst = () => `${lab.vmDirs.r1}/a1`;

  beforeAll(async () => {
    lab = await makeLab("mon");
    lab.writeHosts({ r1: lab.entry("r1") });
    lab.f.spec("a1", stubSpec("host: r1\n"));
    const r = await lab.cli(["reconcile", "--stop-timeout", "1"]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
  });
  afterAll(() => lab?.teardown());

  it("samples every metric over SSH and leaves nothing behind on the host", async () => {
    const r = await lab.cli(["monitor", "a1", "--interval", "1", "--count", "2", "--json"]);
    expect(r.exitCode, r.stderr).toBe(0);
    const lines = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    for (const s of lines) {
      expect(s).toMatchObject({
        vm: "a1",
        host: "r1",
        memory: { configured_bytes: 32 * MiB, balloon_bytes: 32 * MiB },
        network: { nic0: { netdev: "net0", type: "user" } },
      });
      expect(s.cpu.percent).toEqual(expect.any(Number));
      expect(s.cpu.vcpus).toHaveLength(1);
      expect(s.memory.rss_bytes).toBeGreaterThan(MiB);
    }
    const objects = await qmpQuery<{ type: string }[]>(`${inst()}/qmp.sock`, "qom-list", { path: "/objects" });
    expect(objects.filter((o) => o.type === "child<filter-dump>")).toEqual([]);
    expect(readdirSync(inst()).filter((n) => n.endsWith(".pcap"))).toEqual([]);
  });
});

async function until(cond: () => boolean, timeoutMs = 60_000): Promise<void> {
  for (const end = Date.now() + timeoutMs; !cond();) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}
