import type { Command } from "commander";
import { posix } from "node:path";
import { validateFleet } from "../fleet/validate.js";
import { formatIssue, type Fleet } from "../spec/load.js";
import { action, printJson } from "./output.js";

/**
 * `qfleet validate`: every problem of every spec at once, as FILE:LINE:COL: FIELD: message.
 * Exit 0 when all specs are valid, 3 when any problem was found, 1 when it could not run.
 */
interface Opts {
  dir: string;
  json?: boolean;
  checkPaths: boolean;
}

export function registerValidate(program: Command): void {
  program
    .command("validate")
    .description("check every vms/*.yaml (and hosts.yaml) and report all problems with file, line and column")
    .option("-C, --dir <DIR>", "the fleet folder: it holds vms/ and hosts.yaml", ".")
    .option("--no-check-paths", "do not check that ISO, kernel and base image files exist")
    .option("--json", "print { valid, specs, invalid, problems } as JSON")
    .addHelpText(
      "after",
      `
Examples:
  qfleet validate                  check ./vms/*.yaml and ./hosts.yaml
  qfleet validate -C ~/fleet       check another fleet folder
  qfleet validate --json | jq .problems

Each problem is printed as FILE:LINE:COL: FIELD: message, e.g.
  vms/web1.yaml:4:9: memory: expected a size such as 512M, 2G, 2GiB, 4096M or a plain number of bytes
Exit codes: 0 all valid, 3 problems found, 1 could not run (e.g. no vms/ folder).`,
    )
    .action(action(async (opts: Opts) => report(await validateFleet(opts.dir, { checkPaths: opts.checkPaths }), Boolean(opts.json))));
}

function report(fleet: Fleet, json: boolean): number {
  const ok = fleet.issues.length === 0;
  if (json) {
    printJson({
      valid: ok,
      specs: fleet.specs.map((s) => ({ name: s.name, file: posix.relative(fleet.dir, s.file) })),
      invalid: fleet.invalid,
      problems: fleet.issues,
    });
    return ok ? 0 : 3;
  }
  const out = (line: string) => process.stdout.write(line + "\n");
  if (ok) {
    const names = fleet.specs.map((s) => s.name);
    out(`ok: ${names.length} VM spec${names.length === 1 ? "" : "s"} valid${names.length ? ` (${names.join(", ")})` : ""}`);
    return 0;
  }
  for (const i of fleet.issues) out(formatIssue(i));
  out(summary(fleet));
  return 3;
}

/** "2 problems in 1 of 3 specs", "1 problem in hosts.yaml", "3 problems in 1 of 2 specs and profiles/base.yaml". */
export function summary(fleet: Fleet): string {
  const n = fleet.issues.length;
  const total = fleet.specs.length + fleet.invalid.length;
  const where: string[] = [];
  if (fleet.invalid.length > 0) where.push(`${fleet.invalid.length} of ${total} spec${total === 1 ? "" : "s"}`);
  for (const file of new Set(fleet.issues.filter((i) => !i.file.startsWith("vms/")).map((i) => i.file))) where.push(file); // hosts.yaml, profiles/*
  return `${n} problem${n === 1 ? "" : "s"} in ${where.join(" and ")}`;
}
