import type { Command } from "commander";
import { formatIssue } from "../spec/load.js";
import { renderAction, renderPlan } from "../plan/render.js";
import { defaultStopTimeoutMs, reconcile, type ReconcileOptions } from "../fleet/reconcile.js";
import { problemsInScope } from "../fleet/outcome.js";
import { eventsView } from "./events-view.js";
import { positiveInt, seconds } from "./options.js";
import { action, printJson } from "./output.js";

interface Flags {
  dir: string;
  dryRun?: boolean;
  check?: boolean;
  prune?: boolean;
  allowReplace?: boolean;
  only: string[];
  parallel: string;
  wait?: string | boolean;
  stopTimeout: string;
  json?: boolean;
  verbose?: boolean;
}

const collect = (v: string, prev: string[]) => [...prev, ...v.split(",").filter(Boolean)];

export function registerReconcile(program: Command): void {
  const add = (name: string, desc: string, forced: Partial<Flags>) =>
    program
      .command(name)
      .description(desc)
      .option("-C, --dir <dir>", "folder holding vms/ and hosts.yaml", ".")
      .option("--dry-run", "print the plan, change nothing")
      .option("--check", "change nothing; exit 2 when anything is pending (a drift gate for CI)")
      .option("--prune", "delete instances that have no spec (never protected ones)")
      .option("--allow-replace", "allow changes that recreate a VM's disks (arch, firmware, disk identity)")
      .option("--only <name>", "act on this VM only (repeat or comma-separate)", collect, [])
      .option("--parallel <n>", "actions at once per host", "4")
      .option("--wait [seconds]", "wait for another reconcile's lock instead of failing (default 600 s)")
      .option("--stop-timeout <seconds>", "how long a graceful shutdown may take before QMP quit", String(defaultStopTimeoutMs() / 1000))
      .option("-v, --verbose", "also list VMs that need nothing")
      .option("--json", "print the plan and results as JSON")
      .addHelpText(
        "after",
        `
Exit codes: 0 converged (or nothing to do), 1 something failed or was refused,
            2 changes pending (--check), 3 invalid specs (their VMs are left untouched).
Examples:
  qfleet ${name}                       ${forced.dryRun ? "show what reconcile would do" : "make running VMs match vms/*.yaml"}
  qfleet ${name} --only web1 --json
  qfleet reconcile --check             fail CI when VMs drift from the specs`,
      )
      .action(action(async (flags: Flags) => run({ ...flags, ...forced })));
  add("reconcile", "make the VMs on every host match vms/*.yaml: create, start, stop, update, delete", {});
  add("plan", "show what reconcile would do (reconcile --dry-run)", { dryRun: true });
}

async function run(f: Flags): Promise<number> {
  const parallel = positiveInt(f.parallel, "--parallel");
  const stopTimeout = seconds(f.stopTimeout, "--stop-timeout");
  const view = f.json ? null : eventsView();
  const opts: ReconcileOptions = {
    dir: f.dir,
    dryRun: f.dryRun,
    check: f.check,
    prune: f.prune,
    allowReplace: f.allowReplace,
    only: f.only,
    parallel,
    waitSeconds: f.wait === undefined ? undefined : f.wait === true ? 600 : seconds(String(f.wait), "--wait"),
    stopTimeoutMs: stopTimeout * 1000,
    onEvent: view?.onEvent,
    onPlan: (plan, inv) => {
      if (f.json) return;
      for (const i of problemsInScope(inv.fleet.issues, inv.scope)) process.stderr.write(`${formatIssue(i)}\n`);
      process.stdout.write(renderPlan(plan, { verbose: f.verbose }) + "\n");
    },
  };
  const r = await reconcile(opts).finally(() => view?.stop());
  if (f.json) {
    const o = r.outcome;
    printJson({
      success: o.ok,
      message: o.message,
      applied: r.applied,
      plan: r.plan,
      results: r.results,
      problems: r.issues,
      failures: o.failures,
      notes: r.notes,
      exitCode: o.exitCode,
    });
    return o.exitCode;
  }
  for (const res of r.results.filter((x) => !x.ok)) {
    process.stderr.write(`error: ${res.vm}: ${res.error?.message}${res.error?.hint ? `\n  hint: ${res.error.hint}` : ""}\n`);
  }
  for (const n of r.notes) process.stderr.write(`note: ${n}\n`);
  if (r.applied && r.results.length) {
    const ok = r.results.filter((x) => x.ok).length;
    process.stdout.write(`Applied: ${ok} succeeded, ${r.results.length - ok} failed.\n`);
  }
  const n = r.outcome.problems.length;
  if (n) process.stderr.write(`${n} problem(s) in specs: those VMs were left untouched (qfleet validate shows them).\n`);
  for (const a of r.plan.actions.filter((x) => x.kind === "refused" && r.applied)) process.stderr.write(`refused: ${renderAction(a)[0]}\n`);
  return r.outcome.exitCode;
}
