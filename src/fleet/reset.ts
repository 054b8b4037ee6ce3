import path from "node:path";
import { acquireLock } from "../apply/lock.js";
import { qemuPidFor } from "../apply/process.js";
import { refuseSymlinks } from "../apply/instance.js";
import { stopQemu } from "../apply/stop.js";
import { QfleetError } from "../errors.js";
import { instancePaths, ownedFiles } from "../state/paths.js";
import { forgetHostKeys } from "./guest-keys.js";
import { loadInventory } from "./inventory.js";
import { reconcile, type ReconcileResult } from "./reconcile.js";

export interface ResetOutcome {
  /** The overlays discarded (made again, empty, on the same bases at the start). */
  reset: string[];
  /** Disks that are not overlays: kept as they are. */
  kept: string[];
  steps: string[];
  /** The reconcile that started it again (its outcome says whether it did). */
  run: ReconcileResult;
}

/**
 * Back to golden: discards everything written to a VM's overlays since they were made, and
 * starts the VM again. Under the VM's vm_dir lock: its QEMU is stopped (quit: what it would
 * write is discarded anyway) and its overlay files removed; then the VM is reconciled, which
 * makes new, empty overlays on the same bases (grown to the spec's size) and starts it when its
 * spec says running. Only overlays qemu-fleet made are touched; other disks keep their data and
 * are named in `kept`. REFUSED for a VM with no overlay (nothing to go back to) or another fleet's.
 */
export async function resetVm(
  dir: string,
  name: string,
  opts: { stopTimeoutMs?: number; onEvent?: (m: string) => void } = {},
): Promise<ResetOutcome> {
  const inv = await loadInventory(dir, { only: [name] });
  const a = inv.hosts.flatMap((h) => h.vms).find((v) => v.name === name && (!v.applied?.owner || v.applied.owner.id === inv.self.id));
  if (!a?.applied) throw new QfleetError("NOT_FOUND", `no VM named ${name} in this fleet`, { hint: "qfleet list shows the VMs there are" });
  const owned = ownedFiles(a.applied);
  const overlays = a.applied.vm.disks.filter((d) => d.base && d.managed && owned.has(path.posix.basename(d.path)));
  const kept = a.applied.vm.disks.filter((d) => !overlays.includes(d)).map((d) => d.path);
  if (!overlays.length)
    throw new QfleetError("REFUSED", `VM ${name} has no overlay disk: there is no golden image to go back to`, {
      hint: "give a disk `overlay: true` on a base image, or use snapshots (qfleet snapshot)",
    });
  const host = inv.registry.get(a.host);
  const lock = await acquireLock(host, a.vmDir, `reset ${name}`, { waitSeconds: 120 });
  const steps: string[] = [];
  try {
    await refuseSymlinks(
      host,
      a.instanceDir,
      overlays.map((d) => path.posix.basename(d.path)),
    );
    const method = await stopQemu(host, a.instanceDir, await qemuPidFor(host, instancePaths(a.instanceDir).qmp), { graceful: false, timeoutMs: 0 });
    steps.push(method === "not-running" ? "was not running" : `stopped (${method})`);
    for (const d of overlays) await host.remove(d.path);
    await forgetHostKeys(inv.fleet.dir, name); // the base image makes new host keys on its first boot
    steps.push(`discarded ${overlays.map((d) => path.posix.basename(d.path)).join(", ")}`);
  } finally {
    await lock.release();
  }
  const run = await reconcile({ dir, only: [name], waitSeconds: 120, stopTimeoutMs: opts.stopTimeoutMs, onEvent: (e) => opts.onEvent?.(e.message) });
  steps.push(...(run.results[0]?.steps ?? ["left stopped, as its spec says: new overlays are made at its next start"]));
  return { reset: overlays.map((d) => d.path), kept, steps, run };
}
