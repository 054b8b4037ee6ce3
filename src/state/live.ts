import type { Host } from "../hosts/host.js";
import { parseQemuArgv, type QemuProcess } from "./processes.js";
import type { AppliedRecord } from "./types.js";

/**
 * What discovery learns, kept between calls by a long-lived process (the MCP server, watch)
 * for the hosts it looks at again and again. Every cache here is checked against the truth on
 * each use, never trusted blindly:
 * - processes: the PID list is read every time; a PID's command line is read once, when the
 *   PID first appears (a reused PID is a new PID: it disappears from /proc in between);
 * - records: applied.json is parsed again when its size or mtime changed.
 * QMP status is asked afresh each time: a QEMU serves one QMP client at a time, so a kept
 * connection would lock every other qfleet process out of it. One DiscoveryCache serves one Host.
 */
export class DiscoveryCache {
  private readonly cmdlines = new Map<number, QemuProcess | null>();
  private readonly records = new Map<string, { size: number; mtimeMs: number; rec: AppliedRecord }>();

  constructor(readonly host: Host) {}

  /** The qemu-system processes now, reading only the command lines of PIDs not seen before. */
  async processes(): Promise<QemuProcess[]> {
    const pids = (await this.host.list("/proc").catch(() => [] as string[])).filter((e) => /^\d+$/.test(e)).map(Number);
    const now = new Set(pids);
    for (const pid of this.cmdlines.keys()) if (!now.has(pid)) this.cmdlines.delete(pid);
    const fresh = pids.filter((p) => !this.cmdlines.has(p));
    await Promise.all(
      fresh.map(async (pid) => {
        const raw = await this.host.readFile(`/proc/${pid}/cmdline`).catch(() => "");
        const argv = raw.split("\0").slice(0, -1);
        const qemu = argv.length > 0 && (argv[0].split("/").pop() ?? "").startsWith("qemu-system-");
        this.cmdlines.set(pid, qemu ? { pid, ...parseQemuArgv(argv) } : null);
      }),
    );
    return pids.map((p) => this.cmdlines.get(p)).filter((p): p is QemuProcess => Boolean(p));
  }

  /** applied.json, parsed again only when it changed; throws like readFile when unreadable. */
  async record(file: string): Promise<AppliedRecord> {
    const st = await this.host.stat(file);
    const hit = this.records.get(file);
    if (st && hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs) return hit.rec;
    const rec = JSON.parse(await this.host.readFile(file)) as AppliedRecord;
    if (st) this.records.set(file, { size: st.size, mtimeMs: st.mtimeMs, rec });
    return rec;
  }
}
