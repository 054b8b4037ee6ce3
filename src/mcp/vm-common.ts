import { QfleetError } from "../errors.js";
import { reconcile, type ReconcileResult } from "../fleet/reconcile.js";
import { KIND_LABEL } from "../plan/render.js";
import { LOCAL } from "../hosts/local.js";
import { resolveAdhocHost, type AdhocHostArgs } from "../spec/hosts-edit.js";
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
  opts: { prune?: boolean; allowReplace?: boolean; dryRun?: boolean; tolerateFailure?: boolean; passwords?: Record<string, string> } = {},
): Promise<ReconcileResult> {
  let step = 0;
  const r = await reconcile({
    dir: ctx.dir,
    only: names,
    prune: opts.prune,
    allowReplace: opts.allowReplace,
    dryRun: opts.dryRun,
    passwords: opts.passwords,
    waitSeconds: 120,
    onEvent: (e) => void call.progress(++step, undefined, `${KIND_LABEL[e.kind].trim()} ${e.vm}: ${e.message}`),
  });
  if (!opts.tolerateFailure) assertApplied(r);
  return r;
}

/**
 * Throws when a run did not make the specs true (its outcome, the one rule): the first failed
 * action with its own code and hint, else a refusal, unknown VM or spec problem as REFUSED.
 */
export function assertApplied(r: ReconcileResult): void {
  if (r.outcome.ok) return;
  const failed = r.results.find((x) => !x.ok);
  if (failed)
    throw new QfleetError((failed.error?.code as never) ?? "COMMAND_FAILED", `${failed.vm}: ${failed.error?.message ?? "failed"}`, {
      hint: failed.error?.hint as string | undefined,
    });
  throw new QfleetError(r.outcome.problems.length ? "INVALID_SPEC" : "REFUSED", r.outcome.message);
}

/** A password given as a tool argument travels through the model provider: only with the opt-in. */
export function checkPasswordAllowed(ctx: ToolContext, pwd: string | undefined): void {
  if (pwd === undefined || ctx.allowPassword) return;
  throw new QfleetError("REFUSED", "ssh_pwd is refused: a password in a tool call passes through the model provider", {
    hint: "use an SSH key (ssh_key), ssh-agent, or password_env in hosts.yaml; or start the server with `qfleet mcp --allow-ssh-password` to accept it anyway",
  });
}

/**
 * The host a tool call names (the second reference's host/ssh_* arguments): this machine when
 * none is given, else a hosts.yaml entry, matched or added by resolveAdhocHost (never with a
 * secret in it). A password comes back as a one-call `passwords` map, never stored.
 */
export async function hostFromArgs(ctx: ToolContext, a: RemoteArgs): Promise<{ name: string; label: string; passwords?: Record<string, string> }> {
  checkPasswordAllowed(ctx, a.ssh_pwd);
  if (a.host === undefined) return { name: "local", label: "localhost" };
  const { host, ssh_port, ssh_user, ssh_key, ssh_pwd } = a;
  const r = await resolveAdhocHost(LOCAL, ctx.dir, { host, ssh_port, ssh_user, ssh_key, ssh_pwd }, { add: !ctx.readOnly }); // a read-only server writes nothing, hosts.yaml included
  return { name: r.name, label: r.name === "local" ? "localhost" : a.host, ...(r.password !== undefined && { passwords: { [r.name]: r.password } }) };
}

/** The remote-host arguments as a tool receives them (see remoteArgs): all optional. */
export type RemoteArgs = Partial<AdhocHostArgs>;
