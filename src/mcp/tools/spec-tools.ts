import { parse } from "yaml";
import * as z from "zod";
import { QfleetError } from "../../errors.js";
import { LOCAL } from "../../hosts/local.js";
import { loadSpecs } from "../../fleet/inventory.js";
import { actionData, renderAction } from "../../plan/render.js";
import { readSpecText, specLabel, VMS_DIR, vmNameOf } from "../../spec/store.js";
import { writeSpec } from "../../spec/write.js";
import { formatIssue } from "../../spec/load.js";
import { defineTool, vmNameArg } from "../tool.js";
import { reconcileFor } from "../vm-common.js";

/** The declarative tools: read and write vms/NAME.yaml, the YAML in git staying the truth. */
const actionShape = z.record(z.string(), z.unknown());

async function specOf(dir: string, name: string) {
  const fleet = await loadSpecs(dir);
  const s = fleet.specs.find((x) => x.name === name);
  const mine = (f: string) => f.startsWith(`${VMS_DIR}/`) && vmNameOf(f) === name; // its spec, or a profile it uses (usedBy)
  const problems = fleet.issues.filter((i) => mine(i.file) || i.usedBy?.some(mine)).map(formatIssue);
  return { s, problems };
}

export const getVmSpec = defineTool({
  name: "get_vm_spec",
  title: "Read a VM spec",
  description: "Return vms/NAME.yaml as text (comments included) and as parsed data, plus its validation problems if any. Changes nothing.",
  input: { name: vmNameArg },
  output: {
    name: z.string(),
    file: z.string(),
    yaml: z.string(),
    spec: z.record(z.string(), z.unknown()).nullable(),
    valid: z.boolean(),
    problems: z.array(z.string()),
  },
  annotations: { readOnlyHint: true, idempotentHint: true },
  async run({ name }, _c, ctx) {
    const { s, problems } = await specOf(ctx.dir, name);
    if (s) return { name, file: s.file, yaml: s.text, spec: s.spec as Record<string, unknown>, valid: true, problems: [] };
    const raw = await readSpecText(LOCAL, ctx.dir, name);
    if (raw) return { name, file: raw.file, yaml: raw.text, spec: null, valid: false, problems };
    throw new QfleetError("NOT_FOUND", `no spec ${specLabel(name)}`, { hint: "list_vm_specs shows the specs there are" });
  },
});

export const listVmSpecs = defineTool({
  name: "list_vm_specs",
  title: "List VM specs",
  description: "List the spec files in vms/ with their main fields and every validation problem (file:line:col: field: message). Changes nothing.",
  input: {},
  output: {
    specs: z.array(
      z.object({
        name: z.string(),
        file: z.string(),
        host: z.string(),
        state: z.string(),
        arch: z.string().nullable(),
        vcpus: z.number(),
        memory: z.number(),
      }),
    ),
    invalid: z.array(z.string()),
    problems: z.array(z.string()),
  },
  annotations: { readOnlyHint: true, idempotentHint: true },
  async run(_a, _c, ctx) {
    const fleet = await loadSpecs(ctx.dir);
    return {
      specs: fleet.specs.map((s) => ({
        name: s.name,
        file: s.file,
        host: s.spec.host,
        state: s.spec.state,
        arch: s.spec.arch ?? null,
        vcpus: s.spec.vcpus,
        memory: s.spec.memory,
      })),
      invalid: fleet.invalid,
      problems: fleet.issues.map(formatIssue),
    };
  },
});

export const applyVmSpec = defineTool({
  name: "apply_vm_spec",
  title: "Write a VM spec and apply it",
  description:
    "Create or change vms/NAME.yaml, keeping its comments: give `spec` (the whole spec; keys left out are removed) or `patch` (only the keys to " +
    'change; null removes a key; dotted keys like "ssh.port" work). The result is validated first (problems with line and field, nothing ' +
    "written). Then, unless reconcile is false, that VM is reconciled. state: absent (deletes the VM and its disks) and lifting protected: true " +
    "are the person's decisions: they are asked first.",
  input: {
    name: vmNameArg,
    spec: z.record(z.string(), z.unknown()).optional().describe("the whole spec"),
    patch: z.record(z.string(), z.unknown()).optional().describe("the keys to change"),
    reconcile: z.boolean().default(true),
    confirm: z.boolean().optional().describe("only for state: absent or lifting protected, after the person agreed"),
  },
  output: {
    success: z.boolean(),
    message: z.string(),
    file: z.string(),
    created: z.boolean(),
    yaml: z.string(),
    plan: z.array(actionShape),
    plan_text: z.string(),
    results: z.array(actionShape),
  },
  annotations: { readOnlyHint: false, destructiveHint: true },
  async run(a, call, ctx) {
    if ((a.spec === undefined) === (a.patch === undefined)) throw new QfleetError("BAD_INPUT", "give exactly one of spec or patch");
    // the file as written, valid or not (an invalid spec has no parsed form): the keys a whole spec drops, and what protects it now
    const raw = await readSpecText(LOCAL, ctx.dir, a.name);
    let old: Record<string, unknown> = {};
    try {
      old = raw ? ((parse(raw.text) ?? {}) as Record<string, unknown>) : {};
    } catch {
      /* not YAML at all: writeSpec refuses it with the located error */
    }
    const changes = a.patch ?? { ...Object.fromEntries(Object.keys(old).map((k) => [k, undefined])), ...a.spec };
    // lifting protection or asking for deletion are a person's decisions, whether or not this call reconciles
    const after = (key: string) => (key in changes ? changes[key] : old[key]);
    if (old.protected === true && after("protected") !== true)
      await call.confirm(`This lifts protected: true from VM ${a.name}: afterwards it can be deleted or replaced.`, a.confirm);
    if (after("state") === "absent" && old.state !== "absent")
      await call.confirm(
        `state: absent deletes VM ${a.name} (now, or at the next reconcile): the files qemu-fleet made for it, its disks included.`,
        a.confirm,
      );
    const w = await writeSpec(LOCAL, ctx.dir, a.name, changes);
    const r = a.reconcile
      ? await reconcileFor(ctx, call, [a.name], { tolerateFailure: true })
      : await reconcileFor(ctx, call, [a.name], { dryRun: true });
    return {
      success: r.outcome.ok,
      message: r.outcome.message,
      file: w.file,
      created: w.created,
      yaml: w.text,
      plan: r.plan.actions.map(actionData),
      plan_text: r.plan.actions.flatMap(renderAction).join("\n"),
      results: r.results as never,
    };
  },
});
