import type { Command } from "commander";
import { QfleetError } from "../errors.js";
import { resetVm } from "../fleet/reset.js";
import { defaultStopTimeoutMs } from "../fleet/reconcile.js";
import { action, printJson } from "./output.js";

export function registerReset(program: Command): void {
  program
    .command("reset <name>")
    .description("back to golden: discard everything written to a VM's overlay disks since they were made, and start it again")
    .option("-C, --dir <dir>", "folder holding vms/ and hosts.yaml", ".")
    .option("--yes", "yes, discard the changes (required: they cannot be brought back)")
    .option("--json", "print the result as JSON")
    .addHelpText("after", "\nOnly overlay disks (overlay: true) are reset; other disks keep their data.\nExample:\n  qfleet reset web1 --yes")
    .action(
      action(async (name: string, f: { dir: string; yes?: boolean; json?: boolean }) => {
        if (!f.yes)
          throw new QfleetError("REFUSED", `resetting ${name} discards everything written to its overlays since they were made`, {
            hint: `qfleet reset ${name} --yes`,
          });
        const r = await resetVm(f.dir, name, { stopTimeoutMs: defaultStopTimeoutMs() });
        const o = r.run.outcome;
        if (f.json)
          printJson({
            success: o.ok,
            message: o.ok ? `${name} is back to its base image(s)` : o.message,
            reset: r.reset,
            kept: r.kept,
            steps: r.steps,
          });
        else process.stdout.write(`${name}: ${r.steps.join("; ")}${r.kept.length ? `\nkept (not overlays): ${r.kept.join(", ")}` : ""}\n`);
        if (!o.ok && !f.json) process.stderr.write(`error: ${o.message}\n`);
        return o.exitCode;
      }),
    );
}
