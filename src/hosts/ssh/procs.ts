/**
 * Listing processes on a remote Linux host with one fixed command (no fork per process):
 * grep picks the /proc/PID/cmdline files that mention the prefix, then one more grep prints
 * every argument of those as `/proc/PID/cmdline:ARG` records, each ended by NUL (-z). The
 * prefix travels as a positional parameter ($1), never inside the script text.
 */
export const LIST_PROCESSES_SCRIPT = `grep -lasZF -- "$1" /proc/[0-9]*/cmdline | xargs -0r grep -asHz ''`;

/** argv for Host.run: the script, then `sh` as $0 and the prefix as $1. */
export function listProcessesArgv(prefix: string): string[] {
  return ["sh", "-c", LIST_PROCESSES_SCRIPT, "sh", prefix];
}

/** Pure: the script's output -> processes whose argv[0] file name starts with `prefix`, by pid. */
export function parseProcessRecords(out: string, prefix: string): { pid: number; argv: string[] }[] {
  const byPid = new Map<number, string[]>();
  for (const rec of out.split("\0")) {
    const m = /^\/proc\/(\d+)\/cmdline:/.exec(rec);
    if (!m) continue;
    const pid = Number(m[1]);
    const argv = byPid.get(pid) ?? byPid.set(pid, []).get(pid)!;
    argv.push(rec.slice(m[0].length));
  }
  return [...byPid.entries()]
    .filter(([, argv]) => (argv[0]?.split("/").pop() ?? "").startsWith(prefix))
    .map(([pid, argv]) => ({ pid, argv }))
    .sort((a, b) => a.pid - b.pid);
}
