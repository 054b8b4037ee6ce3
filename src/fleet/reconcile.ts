import { acquireLock, newRunToken, type HeldLock } from "../apply/lock.js";
import { applyPlan, type ActionResult, type ApplyEvent } from "../apply/run.js";
import { loadInventory, type Inventory } from "./inventory.js";
import { planChanges } from "../plan/diff.js";
import { CHANGING_KINDS, FAILED_KINDS, type Plan } from "../plan/types.js";
import { LOCAL } from "../hosts/local.js";
import { FLEET_FILE } from "../spec/fleet-id.js";
import type { SpecIssue } from "../spec/load.js";
import { ensureFleetIdentity } from "../spec/write.js";

export interface ReconcileOptions {
  dir: string;
  dryRun?: boolean;
  /** Plan only; the exit code says whether anything is pending. */
  check?: boolean;
  prune?: boolean;
  allowReplace?: boolean;
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
  issues: SpecIssue[];
  applied: boolean;
  /** 0 converged, 1 a failure or refusal, 2 changes pending (--check), 3 invalid specs. */
  exitCode: number;
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
 * The one use case behind `qfleet reconcile`, watch mode and the MCP tools:
 * load specs -> (lock) -> discover -> plan -> apply. Invalid specs never stop the valid ones;
 * their VMs are left untouched and the run ends with exit code 3. When applying, the host
 * locks are taken before discovery, so two reconciles never plan against the same state.
 */
export async function reconcile(opts: ReconcileOptions): Promise<ReconcileResult> {
  const applying = !opts.dryRun && !opts.check;
  const locks: HeldLock[] = [];
  let inv: Inventory | undefined;
  try {
    inv = await loadInventory(opts.dir, {
      beforeDiscover: applying ? (i) => lockAll(i, locks, opts.waitSeconds) : undefined,
      passwords: opts.passwords,
    });
    const notes: string[] = [];
    let plan = planChanges(inv.desired, inv.hosts, inv.fleet.invalid, { ...opts, self: inv.self });
    if (applying && inv.self.id === null && plan.actions.some((a) => CHANGING_KINDS.has(a.kind))) {
      // the first change this fleet makes needs its identity: made now, the plan made again with it
      const made = await ensureFleetIdentity(LOCAL, inv.fleet.dir);
      inv.self.id = made.identity.id;
      if (made.created) notes.push(`created ${FLEET_FILE}: this fleet's identity (id ${made.identity.id}), recorded as the owner of its VMs; commit it to git`);
      plan = planChanges(inv.desired, inv.hosts, inv.fleet.invalid, { ...opts, self: inv.self });
    }
    opts.onPlan?.(plan, inv);
    const issues = inv.fleet.issues;
    const results = applying
      ? await applyPlan(plan, {
          hostFor: (n) => inv!.registry.get(n),
          owner: { id: inv.self.id!, dir: inv.self.dir, machine: inv.self.machine },
          parallel: opts.parallel ?? 4,
          stopTimeoutMs: opts.stopTimeoutMs ?? defaultStopTimeoutMs(),
          onEvent: opts.onEvent,
        })
      : [];
    return { plan, results, issues, applied: applying, exitCode: exitCode(plan, results, issues, opts), inventory: inv, notes };
  } finally {
    await Promise.all(locks.map((l) => l.release().catch(() => undefined)));
    if (opts.passwords) await inv?.registry.closeAll(); // a password's connection lives for this call only
  }
}

async function lockAll(inv: Inventory, locks: HeldLock[], waitSeconds?: number): Promise<void> {
  const action = `reconcile ${inv.fleet.dir}`;
  const runToken = newRunToken();
  for (const [hostName, dirs] of [...inv.vmDirs.entries()].sort()) {
    let host;
    try {
      host = inv.registry.get(hostName);
    } catch {
      continue; // an unusable host is reported by discovery, its VMs stay unknown
    }
    const used = new Set(inv.desired.filter((d) => d.vm.host === hostName).map((d) => d.vm.vmDir));
    for (const d of dirs) {
      // a default vm_dir no spec uses is locked only if it exists (it may hold orphans): never created for it
      if (!used.has(d) && !(await host.stat(d))) continue;
      locks.push(await acquireLock(host, d, action, { waitSeconds, runToken }));
    }
  }
}

function exitCode(plan: Plan, results: ActionResult[], issues: SpecIssue[], opts: ReconcileOptions): number {
  if (issues.length) return 3;
  if (opts.check) return hasPendingWork(plan) ? 2 : 0;
  if (opts.dryRun) return 0;
  const failed = results.some((r) => !r.ok) || plan.actions.some((a) => FAILED_KINDS.has(a.kind));
  return failed ? 1 : 0;
}

/** Pending work that --check reports: changes, refusals, orphans and unknowns. */
export function hasPendingWork(plan: Plan): boolean {
  return plan.actions.some((a) => CHANGING_KINDS.has(a.kind) || FAILED_KINDS.has(a.kind) || a.kind === "orphan");
}
