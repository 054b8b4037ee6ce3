import { isQemuProcess, waitUntilGone } from "../apply/process.js";
import { QfleetError } from "../errors.js";
import type { Host } from "../hosts/host.js";
import { LOCAL } from "../hosts/local.js";
import { loadInventory, loadSpecs } from "./inventory.js";
import { reconcile, type ReconcileOptions, type ReconcileResult } from "./reconcile.js";
import { specLabel } from "../spec/store.js";
import { writeSpec } from "../spec/write.js";
import { listQemuProcesses, type QemuProcess } from "../state/processes.js";
import type { ActualVm } from "../state/types.js";

/**
 * Start or stop declared VMs the declarative way: write `state:` into each spec (comments
 * kept), then reconcile those VMs only. The spec in git stays the truth. Every name is checked
 * before any spec is written: one unknown or invalid name changes nothing.
 */
export async function setPowerState(names: string[], state: "running" | "stopped", opts: Omit<ReconcileOptions, "only">): Promise<ReconcileResult> {
  if (!names.length) throw new QfleetError("BAD_INPUT", "name at least one VM"); // an empty scope would mean the whole fleet
  const fleet = await loadSpecs(opts.dir);
  for (const name of names) {
    if (fleet.specs.some((s) => s.name === name)) continue;
    const invalid = fleet.invalid.includes(name);
    throw new QfleetError(invalid ? "INVALID_SPEC" : "NOT_FOUND", invalid ? `the spec of ${name} is invalid` : `no spec ${specLabel(name)}`, {
      hint: invalid ? "run qfleet validate" : "qfleet list shows the declared VMs",
    });
  }
  for (const name of new Set(names)) await writeSpec(LOCAL, opts.dir, name, { state });
  return reconcile({ ...opts, only: [...new Set(names)] });
}

/**
 * Finds a running QEMU on this machine by PID or forwarded host port: a managed VM (matched
 * through its instance, whose live forwards may differ from the command line) or a process
 * qemu-fleet did not start. Refuses anything that is not a qemu-system process, so a PID from
 * a stale file can never hit an unrelated program.
 */
export async function locateQemu(dir: string, by: { pid?: number; sshPort?: number }): Promise<{ managed: string | null; proc: QemuProcess }> {
  const inv = await loadInventory(dir);
  const host = inv.registry.get("local");
  const local = inv.hosts.find((h) => h.host === "local");
  const ports = (vm: NonNullable<ActualVm["applied"]>["vm"]) => [vm.ssh?.port, ...vm.forwards.map((x) => x.host)];
  const vm = local?.vms.find(
    (v) => v.pid !== undefined && (by.pid !== undefined ? v.pid === by.pid : v.applied && ports(v.applied.vm).includes(by.sshPort)),
  );
  const procs = await listQemuProcesses(host);
  const proc = vm
    ? procs.find((p) => p.pid === vm.pid)
    : procs.find((p) => (by.pid !== undefined ? p.pid === by.pid : p.ports.includes(by.sshPort!)));
  if (!proc || !(await isQemuProcess(host, proc.pid))) {
    const what = by.pid !== undefined ? `pid ${by.pid}` : `host port ${by.sshPort}`;
    throw new QfleetError("NOT_FOUND", `no qemu-system process with ${what}`, { hint: "qfleet list shows the QEMU processes there are" });
  }
  return { managed: vm && inv.fleet.specs.some((s) => s.name === vm.name) ? vm.name : null, proc };
}

/**
 * Stops a QEMU process qemu-fleet does not manage: SIGTERM (QEMU exits cleanly on it), then
 * SIGKILL; each signal only after re-checking that the PID is still a qemu-system process.
 */
export async function stopUnmanaged(host: Host, p: QemuProcess, timeoutMs = 10_000): Promise<"term" | "kill"> {
  const alive = () => isQemuProcess(host, p.pid);
  if (await alive()) await host.kill(p.pid, "SIGTERM");
  if (await waitUntilGone(alive, timeoutMs)) return "term";
  if (await alive()) await host.kill(p.pid, "SIGKILL");
  await waitUntilGone(alive, 5000);
  return "kill";
}
