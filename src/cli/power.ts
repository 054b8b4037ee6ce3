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
    .command("start <names...>")
    .description("set state: running in vms/NAME.yaml (comments kept) and reconcile those VMs")
    .option("-C, --dir <dir>", "folder holding vms/ and hosts.yaml", ".")
    .option("--json", "print the result as JSON")
    .addHelpText("after", "\nExamples:\n  qfleet start web1\n  qfleet start web1 web2 db")
    .action(action(async (names: string[], f: Flags) => power(names, "running", f)));

  program
    .command("stop [names...]")
    .description("set state: stopped in vms/NAME.yaml and reconcile those VMs; or stop any QEMU by --pid / --ssh-port")
    .option("-C, --dir <dir>", "folder holding vms/ and hosts.yaml", ".")
    .option("--pid <pid>", "stop the QEMU process with this PID (checked to be qemu-system first)")
    .option("--ssh-port <port>", "stop the QEMU process forwarding this host port")
    .option("--stop-timeout <seconds>", "how long a graceful shutdown may take", String(defaultStopTimeoutMs() / 1000))
    .option("--json", "print the result as JSON")
    .addHelpText("after", "\nExamples:\n  qfleet stop web1\n  qfleet stop web1 web2\n  qfleet stop --ssh-port 2222\n  qfleet stop --pid 12345")
    .action(
      action(async (names: string[], f: Flags) => {
        if (names.length && (f.pid || f.sshPort)) throw new QfleetError("BAD_INPUT", "name VMs, or give --pid or --ssh-port: not both");
        if (names.length) return power(names, "stopped", f);
        if (!f.pid && !f.sshPort) throw new QfleetError("BAD_INPUT", "name a VM, or give --pid or --ssh-port");
        const { managed, proc } = await locateQemu(
          f.dir,
          f.pid ? { pid: positiveInt(f.pid, "--pid") } : { sshPort: positiveInt(f.sshPort!, "--ssh-port") },
        );
        if (managed) return power([managed], "stopped", f);
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

/**
 * Prints one line per VM that changed or was already so, then one per reason the run failed
 * (a refusal in the plan, a spec problem, a failed action). JSON: `vms` and `results`
 * (one per VM that needed an action); `vm` and `result` repeat the first, as before several names.
 */
async function power(given: string[], state: "running" | "stopped", f: Flags): Promise<number> {
  const names = [...new Set(given)];
  const view = f.json ? null : eventsView();
  const r = await setPowerState(names, state, {
    dir: f.dir,
    stopTimeoutMs: f.stopTimeout === undefined ? undefined : seconds(f.stopTimeout, "--stop-timeout") * 1000,
    onEvent: view?.onEvent,
  }).finally(() => view?.stop());
  const o = r.outcome;
  if (f.json) {
    const first = { vm: names[0], result: r.results.find((x) => x.vm === names[0]) ?? null };
    printJson({ success: o.ok, message: o.message, ...first, vms: names, results: r.results, state, exitCode: o.exitCode });
    return o.exitCode;
  }
  for (const name of names) {
    const res = r.results.find((x) => x.vm === name);
    if (res?.ok) process.stdout.write(`${name}: ${res.steps.join("; ")}\n`);
    else if (!res && o.exitCode !== 3 && !o.failures.some((l) => l.startsWith(`${name}: `))) process.stdout.write(`${name} is already ${state}\n`);
  }
  // every reason the run failed: a VM's failed action, a refusal in the plan, a spec problem
  for (const line of o.failures) process.stderr.write(`error: ${line}\n`);
  return o.exitCode;
}
