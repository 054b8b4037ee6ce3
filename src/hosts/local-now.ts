import { closeSync, lstatSync, openSync, readdirSync, readSync, statSync, type Stats } from "node:fs";
import { toQfleetError } from "../errors.js";
import type { FileStat, Host } from "./host.js";

/**
 * Synchronous reads of this machine, for what must be cheap on every call of a long-lived
 * process: each costs microseconds, where an async read is several thread-pool hops.
 */

/** "mtime:size:inode" of each path ("-" when missing): whether files kept parsed changed. */
export function fingerprintNow(paths: string[]): string {
  return paths
    .map((p) => {
      const s = statSync(p, { throwIfNoEntry: false });
      return s ? `${s.mtimeMs}:${s.size}:${s.ino}` : "-";
    })
    .join("|");
}

/** A folder's entries, sorted; [] when it is missing or unreadable. */
export function listNow(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/**
 * The processes whose program name starts with `prefix`, with their argv, from /proc: it never
 * waits on a disk (measured: async reads here were most of a warm MCP status).
 */
export function processesNow(prefix: string): { pid: number; argv: string[]; state?: string }[] {
  const found: { pid: number; argv: string[]; state?: string }[] = [];
  for (const pid of listNow("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    const text = readProcFile(`/proc/${pid}/cmdline`);
    const end = text.indexOf("\0"); // argv entries each end with NUL; a kernel thread has none
    const program = text.slice(text.lastIndexOf("/", end) + 1, end);
    if (end > 0 && program.startsWith(prefix)) found.push({ pid: Number(pid), argv: text.split("\0").slice(0, -1), ...stateOf(pid) });
  }
  return found;
}

/** The state letter of /proc/PID/stat ("pid (comm) S ..."; comm may hold spaces and parentheses). */
function stateOf(pid: string): { state?: string } {
  const stat = readProcFile(`/proc/${pid}/stat`);
  const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  return state ? { state } : {};
}

/** Reused by readProcFile: one read call per file fills it (QEMU command lines are a few KB). */
const procBuf = Buffer.alloc(64 * 1024);

/**
 * A /proc file's text, or "" when the process is gone or it cannot be read. open + read +
 * close into one buffer: readFileSync's extra fstat and EOF read made the scan 1.3-2x slower.
 * A read shorter than the buffer is the end: /proc/PID/cmdline and stat hand out all that is
 * left (up to the count asked) on every read.
 */
function readProcFile(file: string): string {
  let fd = -1;
  try {
    fd = openSync(file, "r");
    const parts: Buffer[] = [];
    for (let n = readSync(fd, procBuf); n > 0; n = n < procBuf.length ? 0 : readSync(fd, procBuf)) parts.push(Buffer.from(procBuf.subarray(0, n)));
    return Buffer.concat(parts).toString("utf8");
  } catch {
    return "";
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/** What a Host says of a file, from Node's stats. */
export function toFileStat(s: Stats): FileStat {
  const kind = s.isFile() ? "file" : s.isDirectory() ? "dir" : s.isSocket() ? "socket" : s.isSymbolicLink() ? "symlink" : "other";
  return { kind, size: s.size, mode: s.mode & 0o7777, mtimeMs: s.mtimeMs };
}

/** A path that does not exist (ENOENT, ENOTDIR): Host.stat answers null, not an error. */
export const isMissing = (e: unknown) => ["ENOENT", "ENOTDIR"].includes((e as NodeJS.ErrnoException).code ?? "");

function statNow(read: (p: string) => Stats, p: string): FileStat | null {
  try {
    return toFileStat(read(p));
  } catch (e) {
    if (isMissing(e)) return null;
    throw toQfleetError(e);
  }
}

/**
 * This machine's metadata reads with Host's contracts, answered synchronously underneath:
 * for a long-lived process's discovery, where each is microseconds on a local disk.
 */
export const LOCAL_READS_NOW: Pick<Host, "stat" | "lstat" | "list"> = {
  stat: async (p) => statNow(statSync, p),
  lstat: async (p) => statNow(lstatSync, p),
  list: async (dir) => {
    try {
      return readdirSync(dir);
    } catch (e) {
      throw toQfleetError(e);
    }
  },
};
