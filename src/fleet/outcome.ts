import type { ActionResult } from "../apply/run.js";
import { CHANGING_KINDS, FAILED_KINDS, type Plan } from "../plan/types.js";
import { formatIssue, type SpecIssue } from "../spec/issues.js";
import { PROFILES_DIR, VMS_DIR, vmNameOf } from "../spec/store.js";

/**
 * Whether a run made the specs true, and if not, why: the one rule behind CLI exit codes, MCP
 * `success` and watch lines. Exit codes: 0 converged (or nothing pending with `check`), 1 an
 * action failed or was refused or a VM is unknown, 2 changes pending (`check`), 3 a spec in
 * scope is invalid. A dry run exits 0 (the plan was made) but is not `ok` when it holds a
 * refusal or an unknown VM. A run scoped to some VMs (`scope`) is failed only by their spec files and
 * the fleet-wide ones (hosts.yaml, fleet.yaml), never by another VM's broken spec.
 */
export interface Outcome {
  ok: boolean;
  exitCode: 0 | 1 | 2 | 3;
  /** One line per reason it is not ok ("web1: QEMU did not start: ...", "db1: refused: ..."). */
  failures: string[];
  /** The spec problems that count for this run. */
  problems: SpecIssue[];
  /** A sentence for a person: what happened, or the first reasons it failed. */
  message: string;
}

export interface OutcomeMode {
  dryRun?: boolean;
  check?: boolean;
  scope?: string[];
}

/** The spec problems a run about `scope` answers for: its VMs' files, the profiles they use, and the fleet-wide ones. */
export const problemsInScope = (issues: SpecIssue[], scope?: string[]): SpecIssue[] => issues.filter((i) => !scope || isAbout(i, scope));

/** Whether a problem concerns one of `names`: in its spec, in a profile it uses, or fleet-wide (hosts.yaml, fleet.yaml). */
export function isAbout(i: SpecIssue, names: string[]): boolean {
  if (i.usedBy?.length) return i.usedBy.some((f) => names.includes(vmNameOf(f)));
  if (i.file.startsWith(`${VMS_DIR}/`)) return names.includes(vmNameOf(i.file));
  return !i.file.startsWith(`${PROFILES_DIR}/`); // a profile no spec uses concerns no VM
}

export function outcomeOf(plan: Plan, results: ActionResult[], issues: SpecIssue[], mode: OutcomeMode): Outcome {
  const problems = problemsInScope(issues, mode.scope);
  const failures = [
    ...results.filter((r) => !r.ok).map((r) => `${r.vm}: ${r.error?.message ?? "failed"}`),
    ...plan.actions.filter((a) => FAILED_KINDS.has(a.kind)).map((a) => `${a.vm}: ${a.kind}: ${a.reason}`),
    ...problems.map(formatIssue),
  ];
  const pending = plan.actions.some((a) => CHANGING_KINDS.has(a.kind) || FAILED_KINDS.has(a.kind) || a.kind === "orphan");
  const exitCode = problems.length ? 3 : mode.check ? (pending ? 2 : 0) : mode.dryRun ? 0 : failures.length ? 1 : 0;
  const ok = exitCode === 0 && failures.length === 0;
  const applied = results.filter((r) => r.ok).length;
  const message = ok
    ? mode.check || mode.dryRun
      ? "nothing pending"
      : `${applied} action(s) applied; everything matches the specs`
    : exitCode === 2
      ? "changes are pending"
      : `${failures.slice(0, 3).join("; ")}${failures.length > 3 ? ` (and ${failures.length - 3} more)` : ""}`;
  return { ok, exitCode, failures, problems, message };
}
