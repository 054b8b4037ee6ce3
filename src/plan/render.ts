import { humanSize } from "../units.js";
import type { Action, ActionKind, FieldChange, Plan } from "./types.js";

/** Pure: a plan as the text a person reads (Terraform-like), one block per VM that changes. */
export const KIND_LABEL: Record<ActionKind, string> = {
  create: "+ create",
  start: "> start",
  stop: "< stop",
  "update-live": "~ update (live)",
  "update-restart": "~ update (restart)",
  "update-offline": "~ update (while stopped)",
  replace: "-/+ replace",
  delete: "- delete",
  orphan: "? orphan",
  refused: "! refused",
  unknown: "? unknown",
  noop: "  unchanged",
};

export function renderPlan(plan: Plan, opts: { verbose?: boolean } = {}): string {
  const lines: string[] = [];
  for (const a of plan.actions) {
    if (a.kind === "noop" && !opts.verbose) continue;
    lines.push(...renderAction(a));
  }
  lines.push(summaryLine(plan));
  return lines.join("\n");
}

/** An action as compact data for machines (MCP): what changes and why, without the full desired spec. */
export function actionData(a: Action): Record<string, unknown> {
  return {
    vm: a.vm,
    host: a.host,
    kind: a.kind,
    reason: a.reason,
    changes: a.changes,
    ...(a.desired && { accel: a.desired.accel }),
    ...(a.actual && { actual: a.actual }),
    ...(a.finalState && { final_state: a.finalState }),
  };
}

export function renderAction(a: Action): string[] {
  const where = a.host === "local" ? "" : ` on ${a.host}`;
  const out = [`${KIND_LABEL[a.kind]} ${a.vm}${where}: ${a.reason}`];
  if (a.kind === "create" && a.desired) {
    const v = a.desired.vm;
    out.push(`    ${v.arch}, ${v.vcpus} vCPU, ${humanSize(v.memory)}, firmware ${v.firmware}, then ${a.finalState}`);
    for (const d of v.disks) {
      const from = d.image ? `, ${d.base ? "overlay" : "a copy"} of ${d.image.url}` : d.base ? `, overlay of ${d.base}` : "";
      out.push(`    + disk ${d.index}: ${d.path} (${d.format}${d.size ? `, ${humanSize(d.size)}` : ""}${from})`);
      if (d.image)
        out.push(`      ${d.image.algo} ${d.image.digest.slice(0, 16)}..., cached as ${d.image.cached} (downloaded and checked if missing)`);
    }
    if (v.iso)
      out.push(`    + iso: ${v.iso}${v.arch === "x86_64" ? " (on q35's SATA CD-ROM: installers see it, Debian's cloud kernel does not)" : ""}`);
    if (v.cloudInit)
      out.push(
        `    + cloud-init seed: user ${v.cloudInit.user}, the fleet's SSH key${v.cloudInit.keys.length ? ` and ${v.cloudInit.keys.length} more` : ""}${v.cloudInit.userData ? `, user_data ${v.cloudInit.userData}` : ""}`,
      );
    if (v.ssh) out.push(`    ssh on 127.0.0.1:${v.ssh.port}`);
  }
  if (a.desired && ["create", "start", "update-restart", "replace"].includes(a.kind)) {
    out.push(`    accel ${a.desired.accel.accel}: ${a.desired.accel.reason}`);
  }
  for (const c of a.changes) out.push(`    ${renderChange(c)}`);
  return out;
}

function renderChange(c: FieldChange): string {
  const mark = c.class === "refused" ? "!" : c.class === "replace" ? "-/+" : "~";
  const note = c.note ? `  (${c.note})` : "";
  return `${mark} ${c.field}: ${fmt(c.field, c.from)} -> ${fmt(c.field, c.to)}  [${c.class}]${note}`;
}

function fmt(field: string, v: unknown): string {
  if (v === null || v === undefined) return "(none)";
  if (typeof v === "number" && (field === "memory" || field.endsWith(".size"))) return humanSize(v);
  if (typeof v === "string") return v;
  return JSON.stringify(v);
}

export function summaryLine(plan: Plan): string {
  const n = (k: ActionKind) => plan.summary[k] ?? 0;
  const parts = [
    [n("create"), "to create"],
    [n("start"), "to start"],
    [n("stop"), "to stop"],
    [n("update-live") + n("update-restart") + n("update-offline"), "to update"],
    [n("replace"), "to replace"],
    [n("delete"), "to delete"],
  ] as const;
  const changing = parts.filter(([c]) => c > 0).map(([c, w]) => `${c} ${w}`);
  const extra = [
    n("refused") && `${n("refused")} refused`,
    n("orphan") && `${n("orphan")} orphaned`,
    n("unknown") && `${n("unknown")} unknown`,
    n("noop") && `${n("noop")} unchanged`,
  ].filter(Boolean);
  const head = changing.length ? `Plan: ${changing.join(", ")}` : "Plan: nothing to change";
  return extra.length ? `${head}; ${extra.join(", ")}.` : `${head}.`;
}
