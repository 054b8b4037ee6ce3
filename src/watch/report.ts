import { KIND_LABEL } from "../plan/render.js";
import type { Plan } from "../plan/types.js";
import { formatIssue, type SpecIssue } from "../spec/load.js";
import type { Outcome } from "../fleet/outcome.js";
import type { RunTarget } from "./queue.js";

/** One line of `qfleet watch` output. `message` is the whole human line (without the time). */
export interface WatchEvent {
  at: string;
  event:
    | "watching"
    | "change"
    | "resync"
    | "action"
    | "problem"
    | "valid"
    | "orphan"
    | "refused"
    | "unknown"
    | "in-sync"
    | "converged"
    | "not-converged"
    | "waiting"
    | "error"
    | "stopping"
    | "stopped";
  message: string;
  vm?: string;
  host?: string;
  file?: string;
  /** action: the plan action kind and its phase (begin, progress, done, failed). */
  kind?: string;
  phase?: string;
  hint?: string;
  /** problem: the located spec issue. */
  issue?: SpecIssue;
}

const NOTE_KINDS = new Set(["orphan", "refused", "unknown"]);

/**
 * Turns reconcile runs into watch events without repeating itself: a file's problems are
 * reported when they change (and "valid" when they are gone), an orphan, refusal or unknown
 * VM when its reason changes, so a resync every few seconds stays quiet while nothing changes.
 */
export class WatchReporter {
  private problems = new Map<string, string>();
  private notes = new Map<string, string>();
  private lastOutcome: string | undefined;

  constructor(private readonly out: (e: WatchEvent) => void) {}

  emit(e: Omit<WatchEvent, "at">): void {
    this.out({ at: new Date().toISOString(), ...e });
  }

  /**
   * Called with each run's outcome (the one success rule): a line when the fleet stops or
   * starts matching its specs, or when the reasons it does not change; quiet otherwise.
   */
  finished(o: Outcome): void {
    const key = o.ok ? "ok" : o.failures.join("\n");
    if (key === this.lastOutcome || (o.ok && this.lastOutcome === undefined)) return void (this.lastOutcome = key);
    this.lastOutcome = key;
    if (o.ok) this.emit({ event: "converged", message: "every VM in the run matches its spec" });
    else this.emit({ event: "not-converged", message: `not converged: ${o.message}` });
  }

  /** Called with each run's plan, before it is applied, and every problem in the specs. */
  planned(plan: Plan, issues: SpecIssue[], target: RunTarget): void {
    const byFile = new Map<string, SpecIssue[]>();
    for (const i of issues) byFile.set(i.file, [...(byFile.get(i.file) ?? []), i]);
    for (const [file, list] of byFile) {
      const text = list.map(formatIssue).join("\n");
      if (this.problems.get(file) === text) continue;
      this.problems.set(file, text);
      for (const i of list) this.emit({ event: "problem", file, issue: i, message: formatIssue(i) });
    }
    for (const file of [...this.problems.keys()].filter((f) => !byFile.has(f))) {
      this.problems.delete(file);
      this.emit({ event: "valid", file, message: `${file}: no problems any more` });
    }

    if (target === "all") for (const vm of this.notes.keys()) if (!plan.actions.some((a) => a.vm === vm)) this.notes.delete(vm);
    for (const a of plan.actions) {
      const line = `${KIND_LABEL[a.kind].trim()} ${a.vm}: ${a.reason}`;
      if (NOTE_KINDS.has(a.kind)) {
        if (this.notes.get(a.vm) !== line) this.emit({ event: a.kind as WatchEvent["event"], vm: a.vm, host: a.host, kind: a.kind, message: line });
        this.notes.set(a.vm, line);
        continue;
      }
      this.notes.delete(a.vm);
      if (a.kind === "noop" && target !== "all" && target.includes(a.vm))
        this.emit({ event: "in-sync", vm: a.vm, host: a.host, message: `${a.vm}: ${a.reason}, nothing to do` });
    }
  }
}
