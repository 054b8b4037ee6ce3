import { QfleetError, toQfleetError } from "../errors.js";
import { imgSnapshot } from "../qemu/img-snapshot.js";
import { withQmp } from "../qemu/qmp.js";
import { diskNodes, runSnapshotJob, runStatus } from "../qemu/snapshot-jobs.js";
import { instancePaths } from "../state/paths.js";
import { diskWords, type SnapshotEntry } from "./snapshot-list.js";
import type { SnapshotTarget } from "./snapshot-target.js";

export type SnapshotAction = "create" | "list" | "revert" | "delete";

export interface SnapshotOptions {
  /** How long to queue behind a reconcile (or another snapshot) holding the VM's lock; default: BUSY at once. */
  waitSeconds?: number;
  /** Budget of one QMP job or qemu-img run (default 15 minutes). */
  timeoutMs?: number;
  progress?: (msg: string) => void;
}

/**
 * Carrying out one checked snapshot action (snapshot.ts refused what it must and holds the
 * VM's lock); each returns the line a person reads. `entry` is the tag's snapshot for revert
 * and delete. Live: one QMP job on the VM's writable disks, RAM saved in / loaded from one of
 * them. Offline: qemu-img on each disk in order; a create that fails part way removes the tag
 * from the disks it reached, a revert or delete that fails part way says which disks it did.
 */
export async function runLive(
  vm: SnapshotTarget,
  action: SnapshotAction,
  tag: string,
  entry: SnapshotEntry | undefined,
  opts: SnapshotOptions,
): Promise<string> {
  const timeoutMs = opts.timeoutMs ?? 15 * 60_000;
  const job = { timeoutMs, progress: opts.progress };
  // QEMU 7.2 runs these jobs in its main loop: the monitor may stay silent until one ends
  return withQmp(
    vm.host,
    instancePaths(vm.actual.instanceDir).qmp,
    async (q) => {
      const nodes = await diskNodes(
        q,
        vm.disks.map((d) => d.index),
      );
      const all = [...nodes.values()];
      if (action === "create") {
        await runSnapshotJob(q, "snapshot-save", { tag, vmstate: nodes.get(vm.disks[0].index), devices: all }, job);
        return `snapshot ${tag} of VM ${vm.name} taken while running: disks and RAM`;
      }
      if (action === "delete") {
        await runSnapshotJob(q, "snapshot-delete", { tag, devices: entry!.disks.map((i) => nodes.get(i)) }, job);
        return `snapshot ${tag} of VM ${vm.name} deleted`;
      }
      await runSnapshotJob(q, "snapshot-load", { tag, vmstate: nodes.get(entry!.vmstate_disk!), devices: all }, job);
      const status = await runStatus(q);
      if (status !== "running") throw new QfleetError("COMMAND_FAILED", `VM ${vm.name} was reverted to ${tag} but QEMU reports it ${status}`);
      return `VM ${vm.name} reverted to snapshot ${tag} (disks and RAM, taken ${entry!.date}): it runs on from there`;
    },
    timeoutMs + 10_000,
  );
}

export async function runOffline(
  vm: SnapshotTarget,
  action: SnapshotAction,
  tag: string,
  entry: SnapshotEntry | undefined,
  opts: SnapshotOptions,
): Promise<string> {
  const done: number[] = [];
  const op = action === "create" ? "create" : action === "revert" ? "apply" : "delete";
  const disks = action === "create" ? vm.disks : vm.disks.filter((d) => entry!.disks.includes(d.index));
  try {
    for (const d of disks) {
      opts.progress?.(`qemu-img snapshot ${op} ${tag} on disk ${d.index}`);
      await imgSnapshot(vm.host, d.path, op, tag, opts.timeoutMs);
      done.push(d.index);
    }
  } catch (e) {
    if (action === "create")
      for (const i of done) await imgSnapshot(vm.host, vm.disks.find((d) => d.index === i)!.path, "delete", tag).catch(() => undefined);
    if (action === "create" || !done.length) throw e;
    const err = toQfleetError(e);
    const already = `${diskWords(done)} already ${action === "revert" ? "reverted" : "deleted"}`;
    throw new QfleetError(err.code, `${err.message} (${already})`, {
      hint: err.hint,
      command: err.command,
      exitCode: err.exitCode,
      stderr: err.stderr,
      cause: e,
    });
  }
  if (action === "create") return `snapshot ${tag} of VM ${vm.name} taken while stopped: disks only`;
  if (action === "delete") return `snapshot ${tag} of VM ${vm.name} deleted`;
  const ramNote = entry!.ram ? " (its saved RAM is used only by a revert while the VM runs)" : "";
  return `VM ${vm.name}'s disks reverted to snapshot ${tag}: it boots from them on its next start${ramNote}`;
}
