import path from "node:path";
import { toQfleetError } from "../errors.js";
import type { Host } from "../hosts/host.js";
import type { MetadataReads } from "./live.js";
import { Limiter } from "../hosts/limiter.js";
import { withQmp } from "../qemu/qmp.js";
import { instancePaths, RECORD_FILE } from "./paths.js";
import { listQemuProcesses, type QemuProcess } from "./processes.js";
import type { DiscoveryCache } from "./live.js";
import type { ActualVm, AppliedRecord, HostState, Obstacle, Power } from "./types.js";

/** Instances inspected at once per host: QMP answers are mostly waiting, so this overlaps the waits. */
const INSPECT_AT_ONCE = 8;
/** With kept connections an inspection is a few file checks: more at once. */
const INSPECT_AT_ONCE_CACHED = 64;

/**
 * What exists on one host under the given vm dirs (only the instances named in `scope`, when
 * given). Contract: never throws for one broken VM (it is reported `broken` with reasons); a
 * process counts as a VM's QEMU only when it is a qemu-system process whose command line names
 * that instance's QMP socket, so a stale pidfile or a reused PID is never mistaken for the VM;
 * QMP query-status is the authority on power. A scoped look lists as unmanaged only QEMUs whose
 * socket is outside the scanned vm_dirs (the others belong to instances it did not inspect).
 * Throws only when the host itself cannot be inspected.
 */
export async function discoverHost(host: Host, vmDirs: string[], scope?: string[], cache?: DiscoveryCache): Promise<HostState> {
  const dirs = [...new Set(vmDirs)];
  const limit = new Limiter(cache ? INSPECT_AT_ONCE_CACHED : INSPECT_AT_ONCE);
  const reads = cache?.reads ?? host;
  const [procs, scans] = await Promise.all([listQemuProcesses(host), Promise.all(dirs.map((d) => scanVmDir(reads, d, limit, scope)))]);
  const bySocket = new Map(procs.filter((p) => p.qmpSocket).map((p) => [p.qmpSocket!, p]));
  await cache?.monitors.settle();
  const vms = await Promise.all(
    scans.flatMap((found, i) => found.instances.map((name) => limit.run(() => inspectInstance(host, dirs[i], name, bySocket, cache)))),
  );
  const claimed = new Set(vms.map((v) => v.pid).filter((p) => p !== undefined));
  const scanned = (p: QemuProcess) => Boolean(scope && p.qmpSocket && dirs.some((d) => p.qmpSocket!.startsWith(`${d}/`)));
  const unmanaged = procs.filter((p) => !claimed.has(p.pid) && !scanned(p));
  return { host: host.name, vms, unmanaged, obstacles: scans.flatMap((f) => f.obstacles), processes: procs };
}

/**
 * Sorts a vm_dir's entries (or only the `scope` names): a folder holding a record
 * (applied.json, a plain file) is an instance; a non-empty folder without one, a file or a
 * symbolic link is an obstacle (named, never adopted or followed); empty folders are neither.
 * A folder whose only trace is a pidfile or a QMP socket is an obstacle too: its QEMU, if any,
 * is listed as unmanaged.
 */
async function scanVmDir(
  host: MetadataReads,
  vmDir: string,
  limit: Limiter,
  scope?: string[],
): Promise<{ instances: string[]; obstacles: Obstacle[] }> {
  const out = { instances: [] as string[], obstacles: [] as Obstacle[] };
  const st = await host.stat(vmDir);
  if (!st || st.kind !== "dir") return out;
  const entries = (scope ?? (await host.list(vmDir))).filter((e) => !e.startsWith(".")).sort();
  const sorted = await Promise.all(entries.map((entry) => limit.run(() => sortEntry(host, vmDir, entry))));
  for (const [i, r] of sorted.entries()) {
    if (r === "instance") out.instances.push(entries[i]);
    else if (r) out.obstacles.push({ name: entries[i], vmDir, what: r });
  }
  return out;
}

/** "instance", what makes the entry an obstacle, or null (missing, or an empty folder). */
async function sortEntry(host: MetadataReads, vmDir: string, entry: string): Promise<"instance" | string | null> {
  const dir = path.posix.join(vmDir, entry);
  const kind = (await host.lstat(dir))?.kind;
  if (!kind) return null;
  if (kind !== "dir") return kind === "symlink" ? "a symbolic link (never followed)" : `a ${kind === "file" ? "file" : "special file"}, not a folder`;
  const record = (await host.lstat(instancePaths(dir).applied))?.kind;
  if (record === "file") return "instance";
  if (record) return `a folder whose ${RECORD_FILE} is a ${record === "symlink" ? "symbolic link (never followed)" : "special file"}`;
  const inside = (await host.list(dir).catch(() => null)) ?? ["(unreadable)"];
  return inside.length ? `a folder qemu-fleet did not make (no ${RECORD_FILE}), holding ${listSome(inside)}` : null;
}

const listSome = (names: string[]) => names.sort().slice(0, 5).join(", ") + (names.length > 5 ? ` and ${names.length - 5} more` : "");

export async function inspectInstance(
  host: Host,
  vmDir: string,
  name: string,
  bySocket: Map<string, QemuProcess>,
  cache?: DiscoveryCache,
): Promise<ActualVm> {
  const p = instancePaths(path.posix.join(vmDir, name));
  const vm: ActualVm = { name, host: host.name, vmDir, instanceDir: p.dir, applied: null, power: "stopped", reasons: [] };
  try {
    vm.applied = cache ? await cache.record(p.applied) : (JSON.parse(await host.readFile(p.applied)) as AppliedRecord);
  } catch (e) {
    vm.reasons.push((await host.stat(p.applied)) ? `applied.json is unreadable: ${toQfleetError(e).message}` : "no applied.json");
  }
  const proc = bySocket.get(p.qmp);
  // the pidfile only explains things (a stale one, a mismatch); with a cache it is read only when no QEMU serves the socket
  const pidText = !proc || !cache ? await host.readFile(p.pidfile).catch(() => null) : null;
  const pidInFile = pidText === null ? undefined : Number(pidText.trim());
  if (!proc) {
    if (pidInFile !== undefined) vm.reasons.push(`stale pidfile: pid ${pidInFile} is not this VM's QEMU`);
    if (!vm.applied) vm.power = "broken";
    return vm;
  }
  vm.pid = proc.pid;
  if (pidInFile !== undefined && pidInFile !== proc.pid) vm.reasons.push(`pidfile says ${pidInFile}, QEMU runs as ${proc.pid}`);
  if (proc.state === "T" || proc.state === "t") {
    vm.power = "broken";
    vm.reasons.push(`QEMU (pid ${proc.pid}) is stopped by a signal or a debugger and cannot answer QMP: kill -CONT ${proc.pid} resumes it`);
    return vm;
  }
  try {
    const held = cache && (await cache.monitors.status(p.qmpHeld, proc.pid, proc.state === "D"));
    const st = held ? { status: held } : await withQmp(host, p.qmp, (q) => q.execute<{ status: string }>("query-status"), 3000);
    vm.qmpStatus = st.status;
    vm.power = powerOf(st.status);
    if (vm.power === "broken") vm.reasons.push(`QEMU reports ${st.status}`);
  } catch (e) {
    vm.power = "broken";
    vm.reasons.push(`QEMU runs (pid ${proc.pid}) but QMP does not answer: ${toQfleetError(e).message}`);
  }
  if (!vm.applied && vm.power !== "broken") {
    vm.power = "broken";
  }
  return vm;
}

export function powerOf(qmpStatus: string): Power {
  if (qmpStatus === "running") return "running";
  if (["paused", "suspended", "prelaunch", "inmigrate", "postmigrate", "finish-migrate", "save-vm", "restore-vm", "debug"].includes(qmpStatus))
    return "paused";
  return "broken";
}
