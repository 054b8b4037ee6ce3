import { readdirSync, readFileSync, statSync } from "node:fs";

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
export function processesNow(prefix: string): { pid: number; argv: string[] }[] {
  const found: { pid: number; argv: string[] }[] = [];
  for (const pid of listNow("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    const argv = readProcFile(`/proc/${pid}/cmdline`).split("\0").slice(0, -1);
    if (argv.length && (argv[0].split("/").pop() ?? "").startsWith(prefix)) found.push({ pid: Number(pid), argv });
  }
  return found;
}

/** A /proc file's text, or "" when the process is gone or it cannot be read. */
function readProcFile(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}
