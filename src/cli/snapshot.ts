import type { Command } from "commander";
import { QfleetError } from "../errors.js";
import { loadInventory } from "../fleet/inventory.js";
import { snapshotVm, type SnapshotAction, type SnapshotResult } from "../fleet/snapshot.js";
import { table } from "./format.js";
import { seconds } from "./options.js";
import { action, printJson } from "./output.js";

const ACTIONS: SnapshotAction[] = ["create", "list", "revert", "delete"];

/** `qfleet snapshot NAME create|list|revert|delete [TAG]`: the result on stdout, progress lines on stderr. */
export function registerSnapshot(program: Command): void {
  program
    .command("snapshot <name> <action> [tag]")
    .description("internal qcow2 snapshots of a VM: with RAM while it runs, disks only while it is stopped")
    .option("-C, --dir <dir>", "folder holding vms/ and hosts.yaml", ".")
    .option("--wait [seconds]", "wait for a reconcile holding the VM's lock instead of failing (default 600 s)")
    .option("--json", "print the result as JSON")
    .addHelpText(
      "after",
      `
Actions: create TAG, list, revert TAG, delete TAG. A running VM's snapshot holds its disks and
RAM (revert resumes where it was); a stopped VM's holds its disks only (revert it stopped).
Every writable disk must be qcow2 (an overlay counts) and the VM's own. The VM's lock is held
throughout, so a reconcile waits (or fails BUSY) instead of restarting it halfway.
Examples:
  qfleet snapshot web1 create before-upgrade
  qfleet snapshot web1 list
  qfleet snapshot web1 revert before-upgrade
  qfleet snapshot web1 delete before-upgrade --json`,
    )
    .action(
      action(async (name: string, act: string, tag: string | undefined, f: { dir: string; wait?: string | boolean; json?: boolean }) => {
        if (!ACTIONS.includes(act as SnapshotAction)) throw new QfleetError("BAD_INPUT", `unknown action ${act}: use ${ACTIONS.join(", ")}`);
        const waitSeconds = f.wait === undefined ? undefined : f.wait === true ? 600 : seconds(String(f.wait), "--wait");
        const inv = await loadInventory(f.dir, { only: [name] });
        const progress = f.json ? undefined : (msg: string) => void process.stderr.write(`${msg}\n`);
        const r = await snapshotVm(inv, name, act as SnapshotAction, tag, { waitSeconds, progress });
        if (f.json) printJson(r);
        else if (r.action === "list") printList(r);
        else process.stdout.write(`${r.message}\n`);
        return 0;
      }),
    );
}

function printList(r: SnapshotResult): void {
  if (!r.snapshots.length) {
    process.stdout.write(`${r.message}\n`);
    return;
  }
  const partial = r.snapshots.some((s) => !s.complete);
  const rows = r.snapshots.map((s) => [
    s.tag,
    s.date.replace("T", " ").replace(/\.\d+Z$/, "Z"),
    s.ram ? "yes" : "no",
    s.ram ? s.vm_state_size_human : "-",
    ...(partial ? [s.complete ? "all" : `only ${s.disks.join(", ")}`] : []),
  ]);
  process.stdout.write(table([["TAG", "DATE", "RAM", "SIZE", ...(partial ? ["DISKS"] : [])], ...rows]) + "\n");
}
