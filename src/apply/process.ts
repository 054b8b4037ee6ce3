import type { Host } from "../hosts/host.js";
import { listQemuProcesses, parseQemuArgv } from "../state/processes.js";

/**
 * True only when `pid` is a qemu-system process whose command line names `qmpSocket`: the
 * check that must pass before qemu-fleet signals a PID (pidfiles go stale, PIDs get reused).
 */
export async function isQemuFor(host: Host, pid: number, qmpSocket: string): Promise<boolean> {
  const argv = await readCmdline(host, pid);
  return Boolean(argv && isQemuArgv(argv) && parseQemuArgv(argv).qmpSocket === qmpSocket); // the rule discovery uses
}

/**
 * The PID of the QEMU that serves `qmpSocket`, found the way discovery finds it (by command
 * line, not by pidfile: a pidfile can be missing or stale while the VM runs), or undefined.
 */
export async function qemuPidFor(host: Host, qmpSocket: string): Promise<number | undefined> {
  return (await listQemuProcesses(host)).find((p) => p.qmpSocket === qmpSocket)?.pid;
}

/** True when `pid` runs a qemu-system binary (for stopping unmanaged VMs by PID). */
export async function isQemuProcess(host: Host, pid: number): Promise<boolean> {
  const argv = await readCmdline(host, pid);
  return Boolean(argv && isQemuArgv(argv));
}

async function readCmdline(host: Host, pid: number): Promise<string[] | null> {
  if (!Number.isInteger(pid) || pid <= 1) return null;
  const raw = await host.readFile(`/proc/${pid}/cmdline`).catch(() => null);
  if (!raw) return null;
  return raw.split("\0").filter((s, i, all) => !(i === all.length - 1 && s === ""));
}

const isQemuArgv = (argv: string[]) => (argv[0]?.split("/").pop() ?? "").startsWith("qemu-system-");

/** Polls until the check turns false or the time is up; true when it turned false. */
export async function waitUntilGone(check: () => Promise<boolean>, timeoutMs: number, stepMs = 100): Promise<boolean> {
  const end = Date.now() + (Number.isFinite(timeoutMs) ? Math.max(0, timeoutMs) : 0);
  for (;;) {
    if (!(await check())) return true;
    if (Date.now() >= end) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
