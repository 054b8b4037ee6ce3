#!/usr/bin/env node
import { VERSION as version } from "../version.js";

// the version alone needs no command module, nor commander: answered before anything is loaded
if (process.argv.length === 3 && ["--version", "-V"].includes(process.argv[2])) {
  process.stdout.write(`${version}\n`);
  process.exit(0);
}

const { Command } = await import("commander");

type Register = (program: import("commander").Command) => void;

/**
 * Command modules by the command names they register. Only the module of the command being
 * run is imported (a CLI start stays cheap as commands and their dependencies grow); help
 * and unknown commands load them all.
 */
const MODULES: [string[], () => Promise<Register>][] = [
  [["reconcile", "plan"], () => import("./reconcile.js").then((m) => m.registerReconcile)],
  [["status"], () => import("./status.js").then((m) => m.registerStatus)],
  [["ssh"], () => import("./ssh.js").then((m) => m.registerSsh)],
  [["console"], () => import("./console.js").then((m) => m.registerConsole)],
  [["reset"], () => import("./reset.js").then((m) => m.registerReset)],
  [["screenshot"], () => import("./screenshot.js").then((m) => m.registerScreenshot)],
  [["snapshot"], () => import("./snapshot.js").then((m) => m.registerSnapshot)],
  [["list", "ls"], () => import("./list.js").then((m) => m.registerList)],
  [["start", "stop"], () => import("./power.js").then((m) => m.registerPower)],
  [["validate"], () => import("./validate.js").then((m) => m.registerValidate)],
  [["image"], () => import("./image.js").then((m) => m.registerImage)],
  [["monitor"], () => import("./monitor.js").then((m) => m.registerMonitor)],
  [["watch"], () => import("./watch.js").then((m) => m.registerWatch)],
  [["mcp"], () => import("./mcp.js").then((m) => m.registerMcp)],
  [["init", "schema"], () => import("./init.js").then((m) => m.registerInit)],
];

const program = new Command("qfleet")
  .description("Declarative QEMU virtual machines: VMs as YAML files under vms/, reconciled into running QEMU processes.")
  .version(version)
  .showHelpAfterError("(run with --help for usage)")
  .addHelpText(
    "after",
    `
Examples:
  qfleet init                     a new fleet repository here (vms/, profiles/, hosts.yaml, ...)
  qfleet plan                     what reconcile would change
  qfleet reconcile                make the VMs match vms/*.yaml
  qfleet status demo --wait-ssh 60
  qfleet validate                 check every vms/*.yaml in this folder
  qfleet image info disk.qcow2    show an image's format and sizes
  qfleet image convert d.vmdk --format qcow2

Exit codes: 0 ok, 1 failure, 2 changes pending (reconcile --check), 3 invalid specs.`,
  );

const wanted = process.argv[2];
const chosen = MODULES.filter(([names]) => names.includes(wanted));
for (const [, load] of chosen.length ? chosen : MODULES) (await load())(program);

await program.parseAsync(process.argv);
