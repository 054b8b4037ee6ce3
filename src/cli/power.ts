import type { Command } from "commander";
import { QfleetError } from "../errors.js";
import { LOCAL } from "../hosts/local.js";
import { locateQemu, setPowerState, stopUnmanaged } from "../fleet/power.js";
import { defaultStopTimeoutMs } from "../fleet/reconcile.js";
import { eventsView } from "./events-view.js";
import { positiveInt, seconds } from "./options.js";
import { action, printJson } from "./output.js";

interface Flags {
  dir: string;
  json?: boolean;
  stopTimeout?: string;
  pid?: string;
  sshPort?: string;
}

export function registerPower(program: Command): void {
  program
    .command("start <name>")
    .description("set state: running in vms/NAME.yaml (comments kept) and reconcile that VM")
    .option("-C, --dir <dir>", "folder holding vms/ and hosts.yaml", ".")
    .option("--json", "print the result as JSON")
    .action(action(async (name: string, f: Flags) => power(name, "running", f)));

  program
    .command("stop [name]")
    .description("set state: stopped in vms/NAME.yaml and reconcile it; or stop any QEMU by --pid / --ssh-port")
    .option("-C, --dir <dir>", "folder holding vms/ and hosts.yaml", ".")
    .option("--pid <pid>", "stop the QEMU process with this PID (checked to be qemu-system first)")
    .option("--ssh-port <port>", "stop the QEMU process forwarding this host port")
    .option("--stop-timeout <seconds>", "how long a graceful shutdown may take", String(defaultStopTimeoutMs() / 1000))
    .option("--json", "print the result as JSON")
    .addHelpText("after", "\nExamples:\n  qfleet stop web1\n  qfleet stop --ssh-port 2222\n  qfleet stop --pid 12345")
    .action(
      action(async (name: string | undefined, f: Flags) => {
        if (name) return power(name, "stopped", f);
        if (!f.pid && !f.sshPort) throw new QfleetError("BAD_INPUT", "name a VM, or give --pid or --ssh-port");
        const { managed, proc } = await locateQemu(
          f.dir,
          f.pid ? { pid: positiveInt(f.pid, "--pid") } : { sshPort: positiveInt(f.sshPort!, "--ssh-port") },
        );
        if (managed) return power(managed, "stopped", f);
        const method = await stopUnmanaged(LOCAL, proc);
        const res = { success: true, pid: proc.pid, name: proc.name, managed: false, method };
        if (f.json) printJson(res);
        else
          process.stdout.write(
            `stopped unmanaged QEMU pid ${proc.pid}${proc.name ? ` (${proc.name})` : ""} with ${method === "term" ? "SIGTERM" : "SIGKILL"}\n`,
          );
        return 0;
      }),
    );
}

async function power(name: string, state: "running" | "stopped", f: Flags): Promise<number> {
  const view = f.json ? null : eventsView();
  const r = await setPowerState(name, state, {
    dir: f.dir,
    stopTimeoutMs: f.stopTimeout === undefined ? undefined : seconds(f.stopTimeout, "--stop-timeout") * 1000,
    onEvent: view?.onEvent,
  }).finally(() => view?.stop());
  const res = r.results[0];
  const o = r.outcome;
  if (f.json) printJson({ success: o.ok, message: o.message, vm: name, state, result: res ?? null, exitCode: o.exitCode });
  else if (!res && !o.ok) process.stderr.write(`error: ${o.failures.join("\n") || "spec problems: run qfleet validate"}\n`);
  else if (!res) process.stdout.write(`${name} is already ${state}\n`);
  else if (res.ok) process.stdout.write(`${name}: ${res.steps.join("; ")}\n`);
  else process.stderr.write(`error: ${name}: ${res.error?.message}\n`);
  return o.exitCode;
}
