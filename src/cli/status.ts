import type { Command } from "commander";
import { loadInventory } from "../fleet/inventory.js";
import { isReady, vmStatus, type VmStatus } from "../fleet/status.js";
import { humanDuration } from "./format.js";
import { seconds } from "./options.js";
import { action, printJson } from "./output.js";

export function registerStatus(program: Command): void {
  program
    .command("status <name>")
    .description("show one VM: process, QMP state, accelerator, SSH reachability, uptime, pending changes")
    .option("-C, --dir <dir>", "folder holding vms/ and hosts.yaml", ".")
    .option(
      "--wait-ssh <seconds>",
      "wait until the guest is ready: a login as the fleet works and cloud-init finished (cloud_init), or SSH answers (exit 1 if not in time)",
    )
    .option("--host <name>", "look for the VM on this host only (an instance without spec on one of several hosts)")
    .option("--json", "print the status as JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  qfleet status demo\n  qfleet status web1 --wait-ssh 300 && qfleet ssh web1\n  qfleet status web1 --host lab1 --json",
    )
    .action(
      action(async (name: string, f: { dir: string; waitSsh?: string; host?: string; json?: boolean }) => {
        const wait = f.waitSsh === undefined ? undefined : seconds(f.waitSsh, "--wait-ssh");
        const st = await vmStatus(await loadInventory(f.dir, { only: [name], ...(f.host && { alsoHosts: [f.host] }) }), name, {
          waitMs: wait === undefined ? undefined : wait * 1000,
          host: f.host,
        });
        if (f.json) printJson(st);
        else process.stdout.write(renderStatus(st) + "\n");
        return wait !== undefined && !isReady(st) ? 1 : 0;
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
    [
      "login",
      s.login_ok === undefined
        ? undefined
        : s.login_ok
          ? `ok as ${s.ssh_user} (the fleet's key)`
          : `not yet: ${s.login_error ?? "SSH does not answer"}`,
    ],
    ["cloud-init", s.cloud_init],
    ["guest", s.guest && [s.guest.os, s.guest.hostname, s.guest.addresses.join(", ")].filter(Boolean).join("; ")],
    ["ssh_command", s.ssh_command],
    ["spec", s.in_sync ? `in sync (${s.running_hash})` : s.pending ? `${s.pending.kind} pending: ${s.pending.reason}` : undefined],
    ...(s.pending?.changes ?? []).map(
      (c) => ["", `  ${c.field}: ${JSON.stringify(c.from)} -> ${JSON.stringify(c.to)} [${c.class}]`] as [string, string],
    ),
    ["instance", s.instance_dir],
    ...s.reasons.map((r) => ["note", r] as [string, string]),
    ...(s.console ?? []).map((l, i) => [i === 0 ? "console" : "", l] as [string, string]),
  ];
  return [`${s.name}: ${s.message}`, ...rows.filter(([, v]) => v !== undefined).map(([k, v]) => `  ${k.padEnd(12)}${v}`)].join("\n");
}
