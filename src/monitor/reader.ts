import { QfleetError } from "../errors.js";
import type { Host } from "../hosts/host.js";
import { withQmp } from "../qemu/qmp.js";
import { instancePaths } from "../state/paths.js";
import { NetDumps, sweepStaleDumps } from "./netdump.js";
import { parseInfoNetwork, type NicInfo } from "./nics.js";
import { clockTicks, parseProcStat, parseVmRss, readProcStat, statPath, type ProcStat } from "./proc.js";
import { QmpFigures, type QmpResult } from "./qmp-figures.js";
import type { Metric, MonitorTarget, NicCounters, Reading } from "./types.js";

interface Others {
  qmp: QmpResult;
  taps: Record<string, NicCounters> | null;
}

/**
 * Reads the raw counters of one running VM through its Host: /proc files (listed by
 * procPaths, read by the caller for all VMs of the host in one go), QMP through a connection
 * opened per reading and closed right after (QEMU serves one QMP client at a time: holding it
 * would block reconcile and status), tap counters from sysfs. Contract: after open() resolves,
 * close() MUST be called; it removes everything open() added to the VM, and open() removes
 * it itself when it fails half-way.
 */
export class VmReader {
  private vcpus: { index: number; threadId: number }[] = [];
  private figures: QmpFigures | null = null;
  private nics: NicInfo[] = [];
  private dumps: NetDumps | null = null;
  private startTime = 0;
  clkTck = 100;

  private constructor(
    private readonly host: Host,
    private readonly vm: MonitorTarget,
    private readonly metrics: Set<Metric>,
  ) {}

  private get qmpPath(): string {
    return instancePaths(this.vm.instanceDir).qmp;
  }

  static async open(host: Host, vm: MonitorTarget, metrics: readonly Metric[]): Promise<VmReader> {
    const r = new VmReader(host, vm, new Set(metrics));
    const stat = await readProcStat(host, vm.pid);
    if (!stat || stat.state === "Z" || stat.state === "X") throw notRunning(vm);
    r.startTime = stat.startTime;
    if (r.metrics.has("cpu")) r.clkTck = await clockTicks(host);
    await withQmp(host, r.qmpPath, async (q) => {
      if (r.metrics.has("cpu")) {
        const cpus = await q.execute<{ "cpu-index": number; "thread-id": number }[]>("query-cpus-fast");
        r.vcpus = cpus.map((c) => ({ index: c["cpu-index"], threadId: c["thread-id"] }));
      }
      const balloon =
        r.metrics.has("memory") &&
        (await q.execute("query-balloon").then(
          () => true,
          () => false,
        ));
      r.figures = new QmpFigures({ memory: r.metrics.has("memory"), disk: r.metrics.has("disk"), balloon });
      if (r.metrics.has("network")) {
        await sweepStaleDumps(host, q, vm.instanceDir);
        r.nics = parseInfoNetwork(await q.hmp("info network"));
        r.dumps = await NetDumps.open(host, q, vm.instanceDir, r.nics);
      }
    });
    return r;
  }

  /** The /proc files this VM's next reading needs (read for all VMs of a host at once). */
  procPaths(): string[] {
    const pid = this.vm.pid;
    const paths = [statPath(pid)];
    if (this.metrics.has("cpu")) paths.push(...this.vcpus.map((v) => statPath(pid, v.threadId)));
    if (this.metrics.has("memory")) paths.push(`/proc/${pid}/status`);
    return paths;
  }

  /** The figures of a reading at monotonic time `t` that come from QMP and sysfs. */
  async readOthers(t: number): Promise<Others> {
    const [qmp, taps] = await Promise.all([
      this.figures!.needsQmp(t) ? withQmp(this.host, this.qmpPath, (q) => this.figures!.query(q, t)) : this.figures!.cached(),
      this.metrics.has("network") ? this.readTaps() : null,
    ]);
    return { qmp, taps };
  }

  /** One reading from the /proc files (ProcReader) and readOthers(); throws when the VM is gone. */
  assemble(t: number, wall: string, files: Map<string, string>, others: Others): Reading {
    const pid = this.vm.pid;
    const stat = this.assertAlive(files);
    const status = files.get(`/proc/${pid}/status`);
    if (this.metrics.has("memory") && status === undefined) throw notRunning(this.vm);
    const reading: Reading = { t, wall };
    if (this.metrics.has("cpu")) {
      const vcpus = this.vcpus.map((v) => {
        const vt = files.get(statPath(pid, v.threadId));
        return { ...v, ticks: vt === undefined ? null : parseProcStat(vt).ticks };
      });
      reading.cpu = { ticks: stat.ticks, vcpus };
    }
    if (status !== undefined && others.qmp.memory) reading.memory = { rss_bytes: parseVmRss(status), ...others.qmp.memory };
    if (others.qmp.disk) reading.disk = others.qmp.disk;
    if (others.taps) {
      reading.net = { ...others.taps };
      for (const [nic, c] of Object.entries(this.dumps?.counters() ?? {})) reading.net[nic] = { ...c, type: "user" };
    }
    return reading;
  }

  /** The VM's /proc/PID/stat in `files`; throws when its QEMU is gone, a zombie, or the pid was reused. */
  assertAlive(files: Map<string, string>): ProcStat {
    const text = files.get(statPath(this.vm.pid));
    const stat = text === undefined ? null : parseProcStat(text);
    if (!stat || stat.startTime !== this.startTime || stat.state === "Z" || stat.state === "X") throw notRunning(this.vm);
    return stat;
  }

  async close(): Promise<void> {
    const dumps = this.dumps;
    this.dumps = null;
    if (!dumps) return;
    await withQmp(this.host, this.qmpPath, (q) => dumps.close(q), 3000).catch(() => dumps.close(null));
  }

  /** A tap's rx is the guest's tx: swapped here. */
  private async readTaps(): Promise<Record<string, NicCounters>> {
    const out: Record<string, NicCounters> = {};
    await Promise.all(
      this.nics
        .filter((n) => n.type === "tap")
        .map(async (n) => {
          const read = (f: string) => this.host.readFile(`/sys/class/net/${n.ifname}/statistics/${f}`).then(Number, () => NaN);
          const [rx, tx] = await Promise.all([read("rx_bytes"), read("tx_bytes")]);
          if (Number.isFinite(rx) && Number.isFinite(tx)) out[n.nic] = { netdev: n.netdev, type: "tap", rx: tx, tx: rx };
        }),
    );
    return out;
  }
}

function notRunning(vm: MonitorTarget): QfleetError {
  return new QfleetError("NOT_FOUND", `VM ${vm.name} is not running (its QEMU, pid ${vm.pid}, is gone)`, {
    hint: `qfleet status ${vm.name} shows why; qfleet reconcile starts it again`,
  });
}
