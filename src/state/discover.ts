import path from "node:path";
import { toQfleetError } from "../errors.js";
import type { Host } from "../hosts/host.js";
import { withQmp } from "../qemu/qmp.js";
import { instancePaths } from "./paths.js";
import { listQemuProcesses, type QemuProcess } from "./processes.js";
import type { ActualVm, AppliedRecord, HostState, Power } from "./types.js";

/**
 * What exists on one host under the given vm dirs. Contract: never throws for one broken VM
 * (it is reported `broken` with reasons); a process counts as a VM's QEMU only when it is a
 * qemu-system process whose command line names that instance's QMP socket, so a stale pidfile
 * or a reused PID is never mistaken for the VM; QMP query-status is the authority on power.
 * Throws only when the host itself cannot be inspected.
 */
export async function discoverHost(host: Host, vmDirs: string[]): Promise<HostState> {
  const procs = await listQemuProcesses(host);
  const bySocket = new Map(procs.filter((p) => p.qmpSocket).map((p) => [p.qmpSocket!, p]));
  const vms: ActualVm[] = [];
  for (const vmDir of [...new Set(vmDirs)]) {
    for (const name of await instanceNames(host, vmDir)) {
      vms.push(await inspectInstance(host, vmDir, name, bySocket));
    }
  }
  const claimed = new Set(vms.map((v) => v.pid).filter((p) => p !== undefined));
  const unmanaged = procs.filter((p) => !claimed.has(p.pid));
  return { host: host.name, vms, unmanaged };
}

async function instanceNames(host: Host, vmDir: string): Promise<string[]> {
  const st = await host.stat(vmDir);
  if (!st || st.kind !== "dir") return [];
  const names: string[] = [];
  for (const entry of (await host.list(vmDir)).sort()) {
    if (entry.startsWith(".")) continue;
    const p = instancePaths(path.posix.join(vmDir, entry));
    const [applied, pid, qmp] = await Promise.all([host.stat(p.applied), host.stat(p.pidfile), host.stat(p.qmp)]);
    if (applied || pid || qmp) names.push(entry);
  }
  return names;
}

export async function inspectInstance(
  host: Host,
  vmDir: string,
  name: string,
  bySocket: Map<string, QemuProcess>,
): Promise<ActualVm> {
  const p = instancePaths(path.posix.join(vmDir, name));
  const vm: ActualVm = { name, host: host.name, vmDir, instanceDir: p.dir, applied: null, power: "stopped", reasons: [] };
  try {
    vm.applied = JSON.parse(await host.readFile(p.applied)) as AppliedRecord;
  } catch (e) {
    vm.reasons.push((await host.stat(p.applied)) ? `applied.json is unreadable: ${toQfleetError(e).message}` : "no applied.json");
  }
  const pidText = await host.readFile(p.pidfile).catch(() => null);
  const pidInFile = pidText === null ? undefined : Number(pidText.trim());
  const proc = bySocket.get(p.qmp);
  if (!proc) {
    if (pidInFile !== undefined) vm.reasons.push(`stale pidfile: pid ${pidInFile} is not this VM's QEMU`);
    if (!vm.applied) vm.power = "broken";
    return vm;
  }
  vm.pid = proc.pid;
  if (pidInFile !== undefined && pidInFile !== proc.pid) vm.reasons.push(`pidfile says ${pidInFile}, QEMU runs as ${proc.pid}`);
  try {
    const st = await withQmp(host, p.qmp, (q) => q.execute<{ status: string }>("query-status"), 3000);
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
