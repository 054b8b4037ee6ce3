import type { Command } from "commander";
import { loadInventory } from "../fleet/inventory.js";
import { vmStatus, type VmStatus } from "../fleet/status.js";
import { humanDuration } from "./format.js";
import { seconds } from "./options.js";
import { action, printJson } from "./output.js";

export function registerStatus(program: Command): void {
  program
    .command("status <name>")
    .description("show one VM: process, QMP state, accelerator, SSH reachability, uptime, pending changes")
    .option("-C, --dir <dir>", "folder holding vms/ and hosts.yaml", ".")
    .option("--wait-ssh <seconds>", "wait until SSH answers (exit 1 if it does not in time)")
    .option("--host <name>", "look for the VM on this host only (an instance without spec on one of several hosts)")
    .option("--json", "print the status as JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  qfleet status demo\n  qfleet status demo --wait-ssh 60 && ssh -p 2222 root@localhost\n  qfleet status web1 --host lab1 --json",
    )
    .action(
      action(async (name: string, f: { dir: string; waitSsh?: string; host?: string; json?: boolean }) => {
        const wait = f.waitSsh === undefined ? undefined : seconds(f.waitSsh, "--wait-ssh");
        const st = await vmStatus(await loadInventory(f.dir, { only: [name], ...(f.host && { alsoHosts: [f.host] }) }), name, {
          waitSshMs: wait === undefined ? undefined : wait * 1000,
          host: f.host,
        });
        if (f.json) printJson(st);
        else process.stdout.write(renderStatus(st) + "\n");
        return wait !== undefined && !st.ssh_accessible ? 1 : 0;
      }),
    );
}

export function renderStatus(s: VmStatus): string {
  const rows: [string, string | undefined][] = [
    ["status", s.qmp_status && s.qmp_status !== s.status ? `${s.status} (QMP: ${s.qmp_status})` : s.status],
    ["host", s.host],
    ["pid", s.pid?.toString()],
    ["accelerator", s.accelerator && `${s.accelerator}: ${s.accelerator_reason}`],
    ["uptime", s.uptime_seconds !== undefined ? humanDuration(s.uptime_seconds) : undefined],
    [
      "ssh",
      s.ssh_port
        ? `${s.ssh_accessible ? "accessible" : "not answering"} on ${s.host === "local" ? "" : `${s.host}'s `}127.0.0.1:${s.ssh_port}`
        : undefined,
    ],
    ["login", s.ssh_command],
    ["spec", s.in_sync ? `in sync (${s.running_hash})` : s.pending ? `${s.pending.kind} pending: ${s.pending.reason}` : undefined],
    ...(s.pending?.changes ?? []).map(
      (c) => ["", `  ${c.field}: ${JSON.stringify(c.from)} -> ${JSON.stringify(c.to)} [${c.class}]`] as [string, string],
    ),
    ["instance", s.instance_dir],
    ...s.reasons.map((r) => ["note", r] as [string, string]),
  ];
  return [`${s.name}: ${s.message}`, ...rows.filter(([, v]) => v !== undefined).map(([k, v]) => `  ${k.padEnd(12)}${v}`)].join("\n");
}
