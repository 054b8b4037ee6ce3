import { acquireLock } from "../apply/lock.js";
import { QfleetError } from "../errors.js";
import { discoverHost } from "../state/discover.js";
import type { Inventory } from "./inventory.js";
import { diskWords, listSnapshots, type SnapshotEntry } from "./snapshot-list.js";
import { runLive, runOffline, type SnapshotAction, type SnapshotOptions } from "./snapshot-run.js";
import { checkTag, snapshotTarget, type SnapshotTarget } from "./snapshot-target.js";

export type { SnapshotEntry } from "./snapshot-list.js";
export type { SnapshotAction, SnapshotOptions } from "./snapshot-run.js";

export interface SnapshotResult {
  success: true;
  action: SnapshotAction;
  vm: string;
  tag?: string;
  /** Whether the VM was running: snapshots with RAM through QMP jobs, else disk-only with qemu-img. */
  live: boolean;
  message: string;
  /** The VM's snapshots after the action. */
  snapshots: SnapshotEntry[];
}

/**
 * Internal qcow2 snapshots of a VM of this fleet. Running: disks + RAM through QMP jobs on the
 * VM's writable disks (snapshot-jobs.ts). Stopped: disks only, `qemu-img snapshot` on each.
 * Contracts: every refusal (REFUSED/BAD_INPUT, see snapshotTarget) comes before anything
 * changes; create/revert/delete hold the VM's vm_dir lock (the one reconcile takes) from before
 * the VM's state is read until the result is verified, so no reconcile restarts it halfway
 * (BUSY when held, unless `waitSeconds`); a result is reported only after the disks' snapshot
 * tables (and for a live revert, QEMU's run state) were read back. `list` takes no lock.
 */
export async function snapshotVm(
  inv: Inventory,
  name: string,
  action: SnapshotAction,
  tag?: string,
  opts: SnapshotOptions = {},
): Promise<SnapshotResult> {
  const first = snapshotTarget(inv, name);
  if (action === "list") {
    const snapshots = await listSnapshots(first.host, first.disks);
    const message = `VM ${name} has ${snapshots.length || "no"} snapshot${snapshots.length === 1 ? "" : "s"}`;
    return { success: true, action, vm: name, live: first.actual.power === "running", message, snapshots };
  }
  const t = checkTag(tag);
  opts.progress?.(`taking the lock of ${first.actual.vmDir} on ${first.host.name}`);
  const lock = await acquireLock(first.host, first.actual.vmDir, `snapshot ${name}`, { waitSeconds: opts.waitSeconds });
  try {
    // read again under the lock: the VM may have been restarted or reconfigured while we waited
    const fresh = await discoverHost(first.host, [first.actual.vmDir], [name]);
    const vm = snapshotTarget(inv, name, fresh.vms);
    const live = vm.actual.power === "running" && vm.actual.pid !== undefined;
    if (!live && vm.actual.power !== "stopped") {
      const why = vm.actual.reasons.length ? ` (${vm.actual.reasons.join("; ")})` : "";
      throw new QfleetError("REFUSED", `VM ${name} is ${vm.actual.power}${why}: snapshots are taken of a running or a stopped VM`, {
        hint: `qfleet status ${name} shows why; qfleet reconcile brings it back to its spec`,
      });
    }
    const before = await listSnapshots(vm.host, vm.disks);
    const entry = refuseByTag(vm, action, t, before, live);
    const message = await (live ? runLive(vm, action, t, entry, opts) : runOffline(vm, action, t, entry, opts));
    const snapshots = await listSnapshots(vm.host, vm.disks);
    const after = snapshots.find((s) => s.tag === t);
    if (action === "create" && (!after?.complete || after.ram !== live))
      throw new QfleetError("COMMAND_FAILED", `snapshot ${t} of VM ${name} is not on every disk${live ? " with RAM" : ""} after it was taken`);
    if (action === "delete" && after) throw new QfleetError("COMMAND_FAILED", `snapshot ${t} is still on ${diskWords(after.disks)} of VM ${name}`);
    return { success: true, action, vm: name, tag: t, live, message, snapshots };
  } finally {
    await lock.release();
  }
}

/** The refusals that depend on the tags there are; returns the tag's entry (for revert and delete). */
function refuseByTag(vm: SnapshotTarget, action: SnapshotAction, tag: string, list: SnapshotEntry[], live: boolean): SnapshotEntry | undefined {
  const entry = list.find((s) => s.tag === tag);
  const tags = list.map((s) => s.tag).join(", ") || "none";
  if (action === "create" && entry)
    throw new QfleetError("REFUSED", `VM ${vm.name} already has a snapshot ${tag} (taken ${entry.date})`, {
      hint: "pick another tag, or delete that one first",
    });
  if (action === "create") return undefined;
  if (!entry) throw new QfleetError("REFUSED", `VM ${vm.name} has no snapshot ${tag}`, { hint: `its snapshots: ${tags}` });
  if (action === "revert" && !entry.complete) {
    throw new QfleetError(
      "REFUSED",
      `snapshot ${tag} is only on ${diskWords(entry.disks)} of VM ${vm.name}: reverting would mix disks of different times`,
      { hint: "delete it, and take a new one" },
    );
  }
  if (action === "revert" && live && !entry.ram) {
    throw new QfleetError("REFUSED", `snapshot ${tag} of VM ${vm.name} has no saved RAM: taken while stopped: revert it with the VM stopped`, {
      hint: `qfleet stop ${vm.name}, then revert`,
    });
  }
  return entry;
}
