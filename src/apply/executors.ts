import type { Host } from "../hosts/host.js";
import { withQmp } from "../qemu/qmp.js";
import type { Action } from "../plan/types.js";
import { instancePaths } from "../state/paths.js";
import { readApplied, writeApplied } from "./applied.js";
import { ensureDisks } from "./disks.js";
import { launchVm, prepareInstance } from "./launch.js";
import { applyLive } from "./live.js";
import { qemuPidFor } from "./process.js";
import { stopQemu, type StopMethod } from "./stop.js";

export interface ExecContext {
  host: Host;
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
 * twice, or after another process already did it, ends in the same state.
 */
export async function execute(a: Action, ctx: ExecContext): Promise<ExecOutcome> {
  switch (a.kind) {
    case "create": return create(a, ctx);
    case "start": return start(a, ctx);
    case "stop": return stop(a, ctx, true);
    case "update-live": return updateLive(a, ctx);
    case "update-restart": return restart(a, ctx);
    case "update-offline": return offline(a, ctx);
    case "replace": return replace(a, ctx);
    case "delete": return remove(a, ctx);
    default: return { steps: [] };
  }
}

const currentPid = (ctx: ExecContext, instanceDir: string) => qemuPidFor(ctx.host, instancePaths(instanceDir).qmp);

async function create(a: Action, ctx: ExecContext): Promise<ExecOutcome> {
  const { vm, accel } = a.desired!;
  ctx.progress("preparing instance directory and disks");
  const steps = await prepareInstance(ctx.host, vm);
  const previous = await readApplied(ctx.host, vm.instanceDir);
  if (a.finalState !== "running") {
    await writeApplied(ctx.host, vm, accel, { previous });
    return { steps: [...steps, "created (stopped)"] };
  }
  return launch(a, ctx, steps);
}

async function launch(a: Action, ctx: ExecContext, steps: string[]): Promise<ExecOutcome> {
  const { vm, accel } = a.desired!;
  const running = await currentPid(ctx, vm.instanceDir);
  if (running) return { steps: [...steps, "already running"], pid: running };
  ctx.progress(`launching QEMU (${accel.accel})`);
  const { pid } = await launchVm(ctx.host, vm, accel, await readApplied(ctx.host, vm.instanceDir));
  return { steps: [...steps, `started, pid ${pid}`], pid };
}

async function start(a: Action, ctx: ExecContext): Promise<ExecOutcome> {
  const vm = a.desired!.vm;
  const pid = await currentPid(ctx, vm.instanceDir);
  if (pid) {
    await withQmp(ctx.host, instancePaths(vm.instanceDir).qmp, (q) => q.execute("cont"));
    return { steps: ["resumed"], pid };
  }
  ctx.progress("preparing disks");
  const steps = await prepareInstance(ctx.host, vm);
  return launch(a, ctx, steps);
}

async function stop(a: Action, ctx: ExecContext, graceful: boolean): Promise<ExecOutcome> {
  const dir = a.actual!.instanceDir;
  ctx.progress(graceful ? "shutting down (ACPI powerdown)" : "stopping");
  const method = await stopQemu(ctx.host, dir, await currentPid(ctx, dir), { graceful, timeoutMs: ctx.stopTimeoutMs });
  const steps = [method === "not-running" ? "was not running" : `stopped (${method})`];
  if (a.desired && a.changes.length) steps.push(...(await applyOffline(a, ctx)));
  return { steps, stopMethod: method };
}

/** Applies the spec's configuration to a stopped instance: disks, then applied.json. */
async function applyOffline(a: Action, ctx: ExecContext): Promise<string[]> {
  const { vm, accel } = a.desired!;
  const steps = await ensureDisks(ctx.host, vm);
  await writeApplied(ctx.host, vm, accel, { previous: await readApplied(ctx.host, vm.instanceDir) });
  return [...steps, "configuration recorded"];
}

async function offline(a: Action, ctx: ExecContext): Promise<ExecOutcome> {
  return { steps: await applyOffline(a, ctx) };
}

async function updateLive(a: Action, ctx: ExecContext): Promise<ExecOutcome> {
  const { vm, accel } = a.desired!;
  const previous = await readApplied(ctx.host, vm.instanceDir);
  ctx.progress("applying live changes through QMP");
  const steps = previous ? await applyLive(ctx.host, previous.vm, vm) : [];
  await writeApplied(ctx.host, vm, accel, { previous });
  return { steps: [...steps, "configuration recorded"], pid: a.actual?.pid };
}

async function restart(a: Action, ctx: ExecContext): Promise<ExecOutcome> {
  const stopped = await stop(a, ctx, a.actual?.power !== "broken");
  const started = await start(a, ctx);
  return { steps: [...stopped.steps, ...started.steps], pid: started.pid, stopMethod: stopped.stopMethod };
}

async function remove(a: Action, ctx: ExecContext): Promise<ExecOutcome> {
  const dir = a.actual!.instanceDir;
  const method = await stopQemu(ctx.host, dir, await currentPid(ctx, dir), { graceful: false, timeoutMs: 0 });
  const applied = await readApplied(ctx.host, dir);
  const kept = (applied?.vm.disks ?? []).filter((d) => !d.path.startsWith(dir + "/")).map((d) => d.path);
  ctx.progress("removing instance directory");
  await ctx.host.remove(dir, { recursive: true });
  const steps = [method === "not-running" ? "was not running" : `stopped (${method})`, `removed ${dir}`];
  if (kept.length) steps.push(`kept disks outside the instance directory: ${kept.join(", ")}`);
  return { steps, stopMethod: method };
}

async function replace(a: Action, ctx: ExecContext): Promise<ExecOutcome> {
  const removed = await remove(a, ctx);
  const created = await create(a, ctx);
  return { steps: [...removed.steps, ...created.steps], pid: created.pid };
}
