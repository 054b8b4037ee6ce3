import type { Host } from "../hosts/host.js";
import { withQmp } from "../qemu/qmp.js";
import type { Action } from "../plan/types.js";
import { filesFor, instancePaths } from "../state/paths.js";
import type { AppliedRecord, InstanceOwner } from "../state/types.js";
import { assertOwner, readApplied, writeApplied } from "./applied.js";
import { removeInstance } from "./delete.js";
import { makeInstanceDir, refuseSymlinks } from "./instance.js";
import { ensureVmImages } from "./images.js";
import { launchVm, prepareFiles } from "./launch.js";
import { applyLive } from "./live.js";
import { qemuPidFor } from "./process.js";
import { stopQemu, type StopMethod } from "./stop.js";

export interface ExecContext {
  host: Host;
  /** The fleet acting: recorded as the owner; an instance owned by another is refused. */
  owner: InstanceOwner;
  /** How long a graceful (ACPI) stop may take before QMP quit. */
  stopTimeoutMs: number;
  progress: (message: string) => void;
}

export interface ExecOutcome {
  steps: string[];
  pid?: number;
  stopMethod?: StopMethod;
}

/**
 * Runs one planned action. Every executor is idempotent: it re-reads what it needs from the
 * host (applied.json, the process) rather than trusting the plan, so running the same action
 * twice, or after another process already did it, ends in the same state. Every one re-checks
 * the owner in the record before it changes anything.
 */
export async function execute(a: Action, ctx: ExecContext): Promise<ExecOutcome> {
  switch (a.kind) {
    case "create":
      return create(a, ctx);
    case "start":
      return start(a, ctx);
    case "stop":
      return stop(a, ctx, true);
    case "update-live":
      return updateLive(a, ctx);
    case "update-restart":
      return restart(a, ctx);
    case "update-offline":
      return offline(a, ctx);
    case "replace":
      return replace(a, ctx);
    case "delete":
      return remove(a, ctx);
    default:
      return { steps: [] };
  }
}

const currentPid = (ctx: ExecContext, instanceDir: string) => qemuPidFor(ctx.host, instancePaths(instanceDir).qmp);

/** The record of an instance this fleet may act on (refuses another fleet's). */
async function ownRecord(ctx: ExecContext, instanceDir: string): Promise<AppliedRecord | null> {
  const rec = await readApplied(ctx.host, instanceDir);
  assertOwner(rec, ctx.owner);
  return rec;
}

/**
 * Makes the folder (or takes an empty one, or one with our record), then writes the record
 * before any other file: from then on a failure leaves an instance the next run can start
 * again or delete, never debris that blocks it.
 */
async function create(a: Action, ctx: ExecContext): Promise<ExecOutcome> {
  const { vm, accel } = a.desired!;
  // images first: a download that fails or does not match its digest leaves no instance behind
  const fetched = await ensureVmImages(ctx.host, vm, ctx.progress);
  ctx.progress("preparing instance directory and disks");
  await makeInstanceDir(ctx.host, vm.vmDir, vm.instanceDir);
  await refuseSymlinks(ctx.host, vm.instanceDir, filesFor(vm));
  const existing = await ownRecord(ctx, vm.instanceDir);
  const rec = existing ?? (await writeApplied(ctx.host, vm, accel, { owner: ctx.owner, claim: filesFor(vm) }));
  const prepared = await prepareFiles(ctx.host, vm, rec, ctx.owner, a.desired!.seed, ctx.progress);
  const steps = [...fetched, ...prepared.steps];
  if (a.finalState !== "running") return { steps: [...steps, "created (stopped)"] };
  return launch(a, ctx, steps);
}

async function launch(a: Action, ctx: ExecContext, steps: string[]): Promise<ExecOutcome> {
  const { vm, accel } = a.desired!;
  const running = await currentPid(ctx, vm.instanceDir);
  if (running) return { steps: [...steps, "already running"], pid: running };
  ctx.progress(`launching QEMU (${accel.accel})`);
  const { pid } = await launchVm(ctx.host, vm, accel, (await ownRecord(ctx, vm.instanceDir))!, ctx.owner);
  return { steps: [...steps, `started, pid ${pid}`], pid };
}

async function start(a: Action, ctx: ExecContext): Promise<ExecOutcome> {
  const vm = a.desired!.vm;
  const rec = await ownRecord(ctx, vm.instanceDir);
  const pid = await currentPid(ctx, vm.instanceDir);
  if (pid) {
    await withQmp(ctx.host, instancePaths(vm.instanceDir).qmp, (q) => q.execute("cont"));
    return { steps: ["resumed"], pid };
  }
  ctx.progress("preparing disks");
  const { steps } = await prepareFiles(
    ctx.host,
    vm,
    rec ?? (await writeApplied(ctx.host, vm, a.desired!.accel, { owner: ctx.owner })),
    ctx.owner,
    a.desired!.seed,
    ctx.progress,
  );
  return launch(a, ctx, steps);
}

async function stop(a: Action, ctx: ExecContext, graceful: boolean): Promise<ExecOutcome> {
  const dir = a.actual!.instanceDir;
  const rec = await ownRecord(ctx, dir);
  ctx.progress(graceful ? "shutting down (ACPI powerdown, then the guest agent)" : "stopping");
  const stopOpts = { graceful, timeoutMs: ctx.stopTimeoutMs, startedAt: rec?.startedAt, progress: ctx.progress };
  const method = await stopQemu(ctx.host, dir, await currentPid(ctx, dir), stopOpts);
  const steps = [method === "not-running" ? "was not running" : `stopped (${method})`];
  if (a.desired && a.changes.length) steps.push(...(await applyOffline(a, ctx)));
  return { steps, stopMethod: method };
}

/** Applies the spec's configuration to a stopped instance: disks first, then the record says it is applied. */
async function applyOffline(a: Action, ctx: ExecContext): Promise<string[]> {
  const { vm, accel } = a.desired!;
  const rec = (await ownRecord(ctx, vm.instanceDir))!;
  const { steps, record } = await prepareFiles(ctx.host, vm, rec, ctx.owner, a.desired!.seed, ctx.progress);
  await writeApplied(ctx.host, vm, accel, { previous: record, owner: ctx.owner });
  return [...steps, "configuration recorded"];
}

async function offline(a: Action, ctx: ExecContext): Promise<ExecOutcome> {
  return { steps: await applyOffline(a, ctx) };
}

async function updateLive(a: Action, ctx: ExecContext): Promise<ExecOutcome> {
  const { vm, accel } = a.desired!;
  const previous = await ownRecord(ctx, vm.instanceDir);
  ctx.progress("applying live changes through QMP");
  const steps = previous ? await applyLive(ctx.host, previous.vm, vm) : [];
  await writeApplied(ctx.host, vm, accel, { previous, owner: ctx.owner });
  return { steps: [...steps, "configuration recorded"], pid: a.actual?.pid };
}

async function restart(a: Action, ctx: ExecContext): Promise<ExecOutcome> {
  const stopped = await stop(a, ctx, a.actual?.power !== "broken");
  const started = await start(a, ctx);
  return { steps: [...stopped.steps, ...started.steps], pid: started.pid, stopMethod: stopped.stopMethod };
}

async function remove(a: Action, ctx: ExecContext): Promise<ExecOutcome> {
  const dir = a.actual!.instanceDir;
  const rec = await ownRecord(ctx, dir);
  const method = await stopQemu(ctx.host, dir, await currentPid(ctx, dir), { graceful: false, timeoutMs: 0 });
  ctx.progress("removing the files qemu-fleet made");
  const steps = await removeInstance(ctx.host, dir, rec);
  return { steps: [method === "not-running" ? "was not running" : `stopped (${method})`, ...steps], stopMethod: method };
}

async function replace(a: Action, ctx: ExecContext): Promise<ExecOutcome> {
  const removed = await remove(a, ctx);
  const created = await create(a, ctx);
  return { steps: [...removed.steps, ...created.steps], pid: created.pid };
}
