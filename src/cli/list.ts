import type { Command } from "commander";
import { QfleetError } from "../errors.js";
import { loadInventory } from "../fleet/inventory.js";
import { listVms, type ListFilter } from "../fleet/list.js";
import { table } from "./format.js";
import { action, printJson } from "./output.js";

export function registerList(program: Command): void {
  program
    .command("list")
    .alias("ls")
    .description("list declared VMs with their real status, and QEMU processes qemu-fleet did not start")
    .option("-C, --dir <dir>", "folder holding vms/ and hosts.yaml", ".")
    .option("--status <status>", "running | stopped | all", "all")
    .option("--arch <arch>", "x86_64 | aarch64 (arm64)")
    .option("--name <text>", "only names containing this text")
    .option("--host <name>", "only VMs on this host")
    .option("--json", "print as JSON")
    .addHelpText("after", "\nExamples:\n  qfleet list --status running\n  qfleet list --name web --json")
    .action(
      action(async (f: ListFilter & { dir: string; json?: boolean }) => {
        if (f.status && !["running", "stopped", "all"].includes(f.status))
          throw new QfleetError("BAD_INPUT", `--status must be running, stopped or all, not ${f.status}`);
        const inv = await loadInventory(f.dir);
        const { vms, unmanaged } = listVms(inv, f);
        if (f.json) {
          printJson({ vm_count: vms.length, vms, unmanaged });
          return 0;
        }
        if (!vms.length) process.stdout.write("no VMs match\n");
        else
          process.stdout.write(
            table([
              ["NAME", "HOST", "ARCH", "VCPUS", "MEMORY", "STATUS", "SSH", "DISKS", ...(vms.some((v) => v.owner) ? ["OWNER"] : [])],
              ...vms.map((v) => [
                v.name,
                v.host,
                v.arch,
                String(v.vcpus),
                v.memory,
                v.status,
                v.ssh_port ? String(v.ssh_port) : "-",
                v.disk || "-",
                ...(vms.some((x) => x.owner) ? [v.owner ?? "this fleet"] : []),
              ]),
            ]) + "\n",
          );
        if (unmanaged.length) {
          process.stdout.write("\nQEMU processes not managed by qemu-fleet (never touched by reconcile):\n");
          process.stdout.write(
            table([
              ["PID", "NAME", "HOST", "ARCH", "PORTS"],
              ...unmanaged.map((p) => [String(p.pid), p.name ?? "-", p.host, p.arch ?? "?", p.ports.join(",") || "-"]),
            ]) + "\n",
          );
        }
        return 0;
      }),
    );
}
