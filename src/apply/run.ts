import { toQfleetError } from "../errors.js";
import { Limiter } from "../hosts/limiter.js";
import type { Host } from "../hosts/host.js";
import { CHANGING_KINDS, type Action, type Plan } from "../plan/types.js";
import type { InstanceOwner } from "../state/types.js";
import { execute } from "./executors.js";
import type { StopMethod } from "./stop.js";

export interface ApplyEvent {
  vm: string;
  host: string;
  kind: Action["kind"];
  phase: "begin" | "progress" | "done" | "failed";
  message: string;
  at: string;
}

export interface ActionResult {
  vm: string;
  host: string;
  kind: Action["kind"];
  ok: boolean;
  steps: string[];
  pid?: number;
  stopMethod?: StopMethod;
  error?: ReturnType<ReturnType<typeof toQfleetError>["toJSON"]>;
  durationMs: number;
}

export interface ApplyOptions {
  hostFor: (name: string) => Host;
  /** The fleet applying: executors record it as owner and refuse another fleet's instances. */
  owner: InstanceOwner;
  parallel: number;
  stopTimeoutMs: number;
  onEvent?: (e: ApplyEvent) => void;
}

/**
 * Runs every changing action of a plan with bounded parallelism (`parallel` at once per
 * host). Contract: one VM's failure never stops the others; the result has exactly one
 * entry per changing action, in plan order, ok or with its error.
 */
export async function applyPlan(plan: Plan, opts: ApplyOptions): Promise<ActionResult[]> {
  const limits = new Map<string, Limiter>();
  const limitFor = (h: string) => limits.get(h) ?? limits.set(h, new Limiter(Math.max(1, opts.parallel))).get(h)!;
  const emit = (a: Action, phase: ApplyEvent["phase"], message: string) =>
    opts.onEvent?.({ vm: a.vm, host: a.host, kind: a.kind, phase, message, at: new Date().toISOString() });

  const todo = plan.actions.filter((a) => CHANGING_KINDS.has(a.kind));
  return Promise.all(
    todo.map((a) =>
      limitFor(a.host).run(async (): Promise<ActionResult> => {
        const t0 = Date.now();
        emit(a, "begin", a.reason);
        try {
          const out = await execute(a, {
            host: opts.hostFor(a.host),
            owner: opts.owner,
            stopTimeoutMs: opts.stopTimeoutMs,
            progress: (m) => emit(a, "progress", m),
          });
          emit(a, "done", out.steps.join("; "));
          return { vm: a.vm, host: a.host, kind: a.kind, ok: true, ...out, durationMs: Date.now() - t0 };
        } catch (e) {
          const err = toQfleetError(e);
          emit(a, "failed", err.message);
          return { vm: a.vm, host: a.host, kind: a.kind, ok: false, steps: [], error: err.toJSON(), durationMs: Date.now() - t0 };
        }
      }),
    ),
  );
}
