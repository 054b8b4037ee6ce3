import type { HeldLock } from "../apply/lock.js";
import { applyPlan, type ActionResult, type ApplyEvent } from "../apply/run.js";
import { planChanges } from "../plan/diff.js";
import type { Plan } from "../plan/types.js";
import type { SpecIssue } from "../spec/load.js";
import { discoverFleet, type Inventory } from "./inventory.js";
import { lockFleet, releaseAll } from "./lock.js";
import { outcomeOf, type Outcome } from "./outcome.js";
import { prepareFleetFiles } from "./prepare.js";
import { resolveFleet } from "./resolve.js";

export interface ReconcileOptions {
  dir: string;
  dryRun?: boolean;
  /** Plan only; the exit code says whether anything is pending. */
  check?: boolean;
  prune?: boolean;
  allowReplace?: boolean;
  /** Only these VMs: only their hosts are probed, their vm_dirs locked and their instances inspected. */
  only?: string[];
  parallel?: number;
  /** Wait this many seconds for another reconcile's lock instead of failing fast. */
  waitSeconds?: number;
  stopTimeoutMs?: number;
  onEvent?: (e: ApplyEvent) => void;
  /** Called with the plan before anything is applied. */
  onPlan?: (plan: Plan, inv: Inventory) => void;
  /** One-call SSH passwords by host name; their connections are closed when the run ends. */
  passwords?: Record<string, string>;
}

export interface ReconcileResult {
  plan: Plan;
  results: ActionResult[];
  /** Every problem in the fleet's specs (outcome.problems: those that count for this run). */
  issues: SpecIssue[];
  applied: boolean;
  outcome: Outcome;
  inventory: Inventory;
  /** Things the person should know that are not actions (a fleet.yaml made for this fleet). */
  notes: string[];
}

export const DEFAULT_STOP_TIMEOUT_MS = 30_000;

/** The graceful-stop limit when a caller gives none: $QFLEET_STOP_TIMEOUT (seconds) or 30 s. */
export function defaultStopTimeoutMs(): number {
  const s = Number(process.env.QFLEET_STOP_TIMEOUT);
  return process.env.QFLEET_STOP_TIMEOUT && s >= 0 ? s * 1000 : DEFAULT_STOP_TIMEOUT_MS;
}

/**
 * The one use case behind `qfleet reconcile`, watch mode and the MCP tools, top to bottom:
 * resolve specs and hosts -> lock (when applying) -> discover -> plan -> apply. The locks are
 * taken before discovery, so two reconciles never plan against the same state. Invalid specs
 * never stop the valid ones: their VMs are left untouched.
 */
export async function reconcile(opts: ReconcileOptions): Promise<ReconcileResult> {
  const applying = !opts.dryRun && !opts.check;
  const resolved = await resolveFleet(opts.dir, { only: opts.only, passwords: opts.passwords });
  let locks: HeldLock[] = [];
  try {
    if (applying) locks = await lockFleet(resolved, opts.waitSeconds);
    const inv: Inventory = { ...resolved, hosts: await discoverFleet(resolved) };
    const planFor = () => planChanges(inv.desired, inv.hosts, inv.fleet.invalid, { ...opts, self: inv.self, now: Date.now() });
    let plan = planFor();
    const prepared = applying ? await prepareFleetFiles(inv, plan) : { notes: [], changed: false };
    if (prepared.changed) plan = planFor(); // with this fleet's identity and key, made just now
    const notes = prepared.notes;
    opts.onPlan?.(plan, inv);
    const results = applying
      ? await applyPlan(plan, {
          hostFor: (n) => inv.registry.get(n),
          owner: { id: inv.self.id!, dir: inv.self.dir, machine: inv.self.machine },
          parallel: opts.parallel ?? 4,
          stopTimeoutMs: opts.stopTimeoutMs ?? defaultStopTimeoutMs(),
          onEvent: opts.onEvent,
        })
      : [];
    const outcome = outcomeOf(plan, results, inv.fleet.issues, { dryRun: opts.dryRun, check: opts.check, scope: inv.scope });
    return { plan, results, issues: inv.fleet.issues, applied: applying, outcome, inventory: inv, notes };
  } finally {
    await releaseAll(locks);
    if (opts.passwords) await resolved.registry.closeAll(); // a password's connection lives for this call only
  }
}
