import { QfleetError } from "../errors.js";
import type { Host } from "../hosts/host.js";

/**
 * /proc figures of QEMU processes, read through a Host (so they work on remote hosts too).
 * The parsers are pure.
 */
export interface ProcStat {
  /** utime + stime, in clock ticks. */
  ticks: number;
  /** Start time after boot, in ticks: with the pid, it names one process (pids are reused). */
  startTime: number;
  /** Field 3: R, S, D, ... Z (zombie: exited, not reaped yet), X (dead). */
  state: string;
}

/**
 * /proc/PID/stat or /proc/PID/task/TID/stat. The command name (field 2) may hold spaces and
 * parentheses, so the fields are split after the LAST ')': field 3 (state) is then index 0,
 * utime (14) index 11, stime (15) index 12, starttime (22) index 19.
 */
export function parseProcStat(text: string): ProcStat {
  const close = text.lastIndexOf(")");
  const f =
    close < 0
      ? []
      : text
          .slice(close + 1)
          .trim()
          .split(/\s+/);
  const utime = Number(f[11]),
    stime = Number(f[12]),
    start = Number(f[19]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime) || !Number.isFinite(start))
    throw new QfleetError("COMMAND_FAILED", `unexpected /proc stat line: ${text.slice(0, 80)}`);
  return { ticks: utime + stime, startTime: start, state: f[0] };
}

/** VmRSS from /proc/PID/status, in bytes (the kernel writes kB). */
export function parseVmRss(text: string): number {
  const m = /^VmRSS:\s+(\d+)\s*kB/m.exec(text);
  if (!m) throw new QfleetError("COMMAND_FAILED", "no VmRSS line in /proc status");
  return Number(m[1]) * 1024;
}

const clkTck = new WeakMap<Host, Promise<number>>();

/** Clock ticks per second of a host (`getconf CLK_TCK`), asked once per Host. */
export function clockTicks(host: Host): Promise<number> {
  let p = clkTck.get(host);
  if (!p) {
    p = host.run(["getconf", "CLK_TCK"], { timeoutMs: 10_000 }).then((r) => {
      const n = Number(r.stdout.trim());
      if (!(n > 0)) throw new QfleetError("COMMAND_FAILED", `getconf CLK_TCK on ${host.name} printed ${JSON.stringify(r.stdout)}`);
      return n;
    });
    clkTck.set(host, p);
    p.catch(() => clkTck.delete(host));
  }
  return p;
}

export const statPath = (pid: number, tid?: number) => (tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`);

/** Reads /proc/PID/stat; null when the process is gone. */
export async function readProcStat(host: Host, pid: number, tid?: number): Promise<ProcStat | null> {
  const text = await host.readFile(statPath(pid, tid)).catch(() => null);
  return text === null ? null : parseProcStat(text);
}

/** Pure: `head -v` output -> text per file name (trailing newlines trimmed). */
export function parseHeadOutput(out: string): Map<string, string> {
  const files = new Map<string, string>();
  const headers = [...out.matchAll(/^==> (.+) <==$/gm)];
  headers.forEach((h, i) => {
    const from = h.index! + h[0].length + 1;
    const to = i + 1 < headers.length ? headers[i + 1].index! : out.length;
    files.set(h[1], out.slice(from, to).replace(/\n+$/, ""));
  });
  return files;
}
