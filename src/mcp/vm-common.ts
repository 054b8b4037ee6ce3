import { QfleetError } from "../errors.js";
import type { ActionResult } from "../apply/run.js";
import { reconcile, type ReconcileResult } from "../reconcile.js";
import { KIND_LABEL } from "../plan/render.js";
import type { ToolCall, ToolContext } from "./tool.js";

/**
 * Reconciles the named VMs for a tool call: one progress notification per action event, and
 * a QfleetError carrying the first failure's message when an action failed or was refused
 * (an MCP caller must never read success from a failed run).
 */
export async function reconcileFor(
  ctx: ToolContext,
  call: ToolCall,
  names: string[] | undefined,
  opts: { prune?: boolean; allowReplace?: boolean; dryRun?: boolean; tolerateFailure?: boolean } = {},
): Promise<ReconcileResult> {
  let step = 0;
  const r = await reconcile({
    dir: ctx.dir,
    only: names,
    prune: opts.prune,
    allowReplace: opts.allowReplace,
    dryRun: opts.dryRun,
    waitSeconds: 120,
    onEvent: (e) => void call.progress(++step, undefined, `${KIND_LABEL[e.kind].trim()} ${e.vm}: ${e.message}`),
  });
  if (!opts.tolerateFailure) assertApplied(r);
  return r;
}

/** Throws the first failed or refused action of a run as a QfleetError. */
export function assertApplied(r: ReconcileResult): void {
  const failed = r.results.find((x) => !x.ok);
  if (failed) throw failure(failed);
  const refused = r.plan.actions.find((a) => a.kind === "refused" || a.kind === "unknown");
  if (refused) throw new QfleetError("REFUSED", `${refused.vm}: ${refused.kind}: ${refused.reason}`);
}

function failure(res: ActionResult): QfleetError {
  return new QfleetError((res.error?.code as never) ?? "COMMAND_FAILED", `${res.vm}: ${res.error?.message ?? "failed"}`, { hint: res.error?.hint as string | undefined });
}

/** A password given as a tool argument travels through the model provider: only with the opt-in. */
export function checkPasswordAllowed(ctx: ToolContext, pwd: string | undefined): void {
  if (pwd === undefined || ctx.allowPassword) return;
  throw new QfleetError("REFUSED", "ssh_pwd is refused: a password in a tool call passes through the model provider", {
    hint:
      "use an SSH key (ssh_key), ssh-agent, or password_env in hosts.yaml; or start the server with `qfleet mcp --allow-ssh-password` to accept it anyway",
  });
}

/** Until remote hosts land, a remote host argument is an error, never a silent local action. */
export function requireLocal(host: string | undefined): void {
  if (host === undefined || ["local", "localhost", "127.0.0.1", "::1"].includes(host)) return;
  throw new QfleetError("UNSUPPORTED", `host ${host}: remote hosts over SSH are not supported by this build yet`, {
    hint: "leave host empty to act on this machine",
  });
}
