import * as z from "zod";
import { loadInventory } from "../../fleet/inventory.js";
import { planChanges } from "../../plan/diff.js";
import { actionData, renderPlan } from "../../plan/render.js";
import { NAME_RE } from "../../spec/schema.js";
import { formatIssue } from "../../spec/load.js";
import { defineTool } from "../tool.js";
import { reconcileFor } from "../vm-common.js";

const names = z.array(z.string().regex(NAME_RE)).optional().describe("only these VMs (default: all)");
const record = z.record(z.string(), z.unknown());

export const planTool = defineTool({
  name: "plan",
  title: "Plan (dry run)",
  description: "What reconcile would do to make the VMs match vms/*.yaml, as data and as the text `qfleet plan` prints. Changes nothing.",
  input: { names },
  output: { actions: z.array(record), summary: record, text: z.string(), problems: z.array(z.string()) },
  annotations: { readOnlyHint: true, idempotentHint: true },
  async run({ names: only }, _c, ctx) {
    const inv = await loadInventory(ctx.dir, { only });
    const plan = planChanges(inv.desired, inv.hosts, inv.fleet.invalid, { only, self: inv.self, now: Date.now() });
    return { actions: plan.actions.map(actionData), summary: plan.summary, text: renderPlan(plan), problems: inv.fleet.issues.map(formatIssue) };
  },
});

export const reconcileTool = defineTool({
  name: "reconcile",
  title: "Reconcile",
  description:
    "Make the VMs match vms/*.yaml: create, start, stop, update, delete. Sends a progress notification per action. With prune (instances " +
    "without a spec are deleted) or allow_replace (VMs recreated with new disks), or any deletion in the plan, the person is asked first.",
  input: {
    names,
    prune: z.boolean().default(false),
    allow_replace: z.boolean().default(false),
    confirm: z.boolean().optional().describe("only when the plan deletes or replaces, after the person agreed"),
  },
  output: { success: z.boolean(), message: z.string(), results: z.array(record), plan_text: z.string(), problems: z.array(z.string()) },
  annotations: { readOnlyHint: false, destructiveHint: true },
  async run(a, call, ctx) {
    const opts = { prune: a.prune, allowReplace: a.allow_replace };
    const dry = await reconcileFor(ctx, call, a.names, { ...opts, dryRun: true, tolerateFailure: true });
    const lossy = dry.plan.actions.filter((x) => x.kind === "delete" || x.kind === "replace");
    if (lossy.length) await call.confirm(`This deletes the disks of: ${lossy.map((x) => `${x.vm} (${x.kind})`).join(", ")}.`, a.confirm);
    const r = await reconcileFor(ctx, call, a.names, { ...opts, tolerateFailure: true });
    const { ok: success, message } = r.outcome;
    const problems = r.issues.map(formatIssue);
    return { success, message, results: r.results as never, plan_text: renderPlan(r.plan), problems };
  },
});
