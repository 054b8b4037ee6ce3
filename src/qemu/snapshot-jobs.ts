import { randomBytes } from "node:crypto";
import { QfleetError } from "../errors.js";
import type { QmpClient } from "./qmp.js";

/**
 * Internal snapshots of a running VM through QMP's job commands (QEMU >= 6.0): snapshot-save,
 * snapshot-load and snapshot-delete. Contracts:
 * - a job's outcome is read from `query-jobs` once it has concluded: its `error` field is a
 *   failure with that text; success is never inferred from a command's reply;
 * - every job this module starts is dismissed (job-dismiss) once read, failed or not;
 * - waits are bounded by `timeoutMs`; a job still running then is a TIMEOUT naming it (QEMU
 *   cannot cancel these jobs, so it is left to finish).
 * In QEMU 7.2 these jobs run in the main loop: the monitor may not answer until a job ends, so
 * the caller's QMP connection needs a command timeout as long as the job's budget.
 */
export type SnapshotJob = "snapshot-save" | "snapshot-load" | "snapshot-delete";

export interface JobOptions {
  timeoutMs: number;
  progress?: (msg: string) => void;
  /** Poll interval of query-jobs (ms). */
  pollMs?: number;
}

interface JobInfo {
  id: string;
  type: string;
  status: string;
  "current-progress": number;
  "total-progress": number;
  error?: string;
}

interface BlockInfo {
  device: string;
  inserted?: { "node-name"?: string; ro: boolean; drv: string; file: string };
}

/**
 * The block node names of the VM's writable disks, by disk index: the format node of drive
 * `disk<N>` (qemu-fleet's -drive ids), which is what snapshot jobs name in `devices` and
 * `vmstate`. Read-only drives (the cloud-init seed, the CD-ROM) are never among them.
 * COMMAND_FAILED when a disk is missing, read-only or not qcow2 in the running QEMU.
 */
export async function diskNodes(q: QmpClient, indexes: number[]): Promise<Map<number, string>> {
  const blocks = await q.execute<BlockInfo[]>("query-block");
  const out = new Map<number, string>();
  for (const i of indexes) {
    const b = blocks.find((x) => x.device === `disk${i}`)?.inserted;
    if (!b?.["node-name"]) throw new QfleetError("COMMAND_FAILED", `the running QEMU has no drive disk${i}`);
    if (b.ro) throw new QfleetError("COMMAND_FAILED", `drive disk${i} (${b.file}) is read-only in the running QEMU`);
    if (b.drv !== "qcow2") throw new QfleetError("COMMAND_FAILED", `drive disk${i} (${b.file}) is ${b.drv} in the running QEMU, not qcow2`);
    out.set(i, b["node-name"]);
  }
  return out;
}

/** Starts one snapshot job, waits for it to conclude, dismisses it; throws with the job's own error text. */
export async function runSnapshotJob(q: QmpClient, kind: SnapshotJob, args: Record<string, unknown>, opts: JobOptions): Promise<void> {
  const id = `qfleet-${kind}-${randomBytes(4).toString("hex")}`;
  const tag = String(args.tag);
  await q.execute(kind, { "job-id": id, ...args });
  opts.progress?.(`${kind} ${tag}: job ${id} started`);
  const end = Date.now() + opts.timeoutMs;
  let lastStatus = "";
  for (;;) {
    const job = (await q.execute<JobInfo[]>("query-jobs")).find((j) => j.id === id);
    if (!job) throw new QfleetError("COMMAND_FAILED", `${kind} ${tag}: job ${id} vanished before it concluded (dismissed by someone else?)`);
    if (job.status !== lastStatus) {
      lastStatus = job.status;
      opts.progress?.(`${kind} ${tag}: ${job.status} (${job["current-progress"]}/${job["total-progress"]})`);
    }
    if (job.status === "concluded") {
      await q.execute("job-dismiss", { id });
      if (job.error !== undefined) throw new QfleetError("COMMAND_FAILED", `${kind} ${tag} failed: ${job.error}`);
      return;
    }
    if (Date.now() >= end) {
      throw new QfleetError("TIMEOUT", `${kind} ${tag}: job ${id} still ${job.status} after ${Math.round(opts.timeoutMs / 1000)} s`, {
        hint: "QEMU goes on with it; look again with qfleet snapshot NAME list",
      });
    }
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 100));
  }
}

/** QMP query-status `status` ("running", "paused", ...). */
export async function runStatus(q: QmpClient): Promise<string> {
  return (await q.execute<{ status: string }>("query-status")).status;
}
