import { QfleetError } from "../errors.js";
import type { Host } from "../hosts/host.js";
import { loadInventory, type Inventory } from "./inventory.js";
import { validateMonitorArgs } from "../monitor/args.js";
import { monitorVm } from "../monitor/monitor.js";
import { toReferenceResult, type ReferenceResult } from "../monitor/reference.js";
import type { MonitorTarget, VmSample } from "../monitor/types.js";

export interface RunningVm {
  hostName: string;
  host: Host;
  target: MonitorTarget;
}

/**
 * The running QEMU of a VM named in an inventory (a declared VM, or an instance without a
 * spec). Throws a one-line QfleetError when there is no such VM, its host could not be
 * inspected, or it is not running (only running VMs can be monitored).
 */
export function findRunningVm(inv: Inventory, name: string): RunningVm {
  const d = inv.desired.find((x) => x.vm.name === name);
  const hostName = d?.vm.host ?? inv.hosts.find((h) => h.vms.some((v) => v.name === name))?.host;
  const hs = inv.hosts.find((h) => h.host === hostName);
  if (hs?.error) throw new QfleetError("CONNECTION", `host ${hostName} of VM ${name} could not be inspected: ${hs.error}`);
  const actual = hs?.vms.find((v) => v.name === name && (!d || v.instanceDir === d.vm.instanceDir));
  if (!d && !actual) {
    const invalid = inv.fleet.invalid.includes(name);
    throw new QfleetError("NOT_FOUND", invalid ? `the spec of ${name} is invalid` : `no VM named ${name}`, {
      hint: invalid ? "run qfleet validate to see why" : "qfleet list shows the VMs there are",
    });
  }
  if (!actual || actual.pid === undefined) {
    const state = actual ? actual.power : "not created yet";
    throw new QfleetError("BAD_INPUT", `VM ${name} is not running (${state}): only a running VM can be monitored`, {
      hint: `start it with qfleet start ${name}`,
    });
  }
  return { hostName: hostName!, host: inv.registry.get(hostName!), target: { name, instanceDir: actual.instanceDir, pid: actual.pid } };
}

export interface MonitorVmStatusRequest {
  /** The fleet folder (holding vms/ and hosts.yaml); or pass `inventory` when one is loaded. */
  dir?: string;
  inventory?: Inventory;
  name: string;
  /** "cpu,memory", ["disk"], "all"; default all. */
  metrics?: string | readonly string[];
  /** Seconds between samples, 1..3600; default 5. */
  interval?: number;
  /** Samples, 1..MONITOR_MAX_COUNT; default 1. 0 is rejected: a tool call must end. */
  count?: number;
  signal?: AbortSignal;
  /** What data.host says (e.g. the address the caller named); default: the VM's host name. */
  hostLabel?: string;
  /** After each sample: for MCP progress notifications. */
  onProgress?: (done: number, total: number, sample: VmSample) => void;
}

/**
 * The use case behind the MCP tool `monitor_vm_status`: checks the arguments (bounded count),
 * finds the running VM, samples it and returns the reference spec's result. Throws QfleetError
 * (BAD_INPUT, NOT_FOUND, CONNECTION) for the tool to turn into an isError result. Cancelling
 * through `signal` ends early with the samples taken so far (and the VM cleaned up). With
 * `inventory` the caller owns its hosts (closes them); with `dir` they are closed here.
 */
export async function monitorVmStatus(req: MonitorVmStatusRequest): Promise<ReferenceResult> {
  const args = validateMonitorArgs(req, { bounded: true });
  if (!req.inventory && !req.dir) throw new QfleetError("BAD_INPUT", "monitorVmStatus needs a fleet folder (dir) or an inventory");
  const inv = req.inventory ?? (await loadInventory(req.dir!, { only: [req.name] }));
  try {
    const vm = findRunningVm(inv, req.name);
    const samples = await monitorVm(vm.host, vm.target, {
      ...args,
      signal: req.signal,
      onSample: (s, i) => req.onProgress?.(i, args.count, s),
    });
    const result = toReferenceResult(req.hostLabel ?? vm.hostName, req.name, samples, args.metrics);
    if (samples.length < args.count) result.message += ` (cancelled after ${samples.length} of ${args.count})`;
    return result;
  } finally {
    if (!req.inventory) await inv.registry.closeAll();
  }
}
