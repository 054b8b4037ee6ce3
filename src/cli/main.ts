#!/usr/bin/env node
import { Command } from "commander";
import { createRequire } from "node:module";
import { registerImage } from "./image.js";
import { registerList } from "./list.js";
import { registerPower } from "./power.js";
import { registerReconcile } from "./reconcile.js";
import { registerStatus } from "./status.js";
import { registerValidate } from "./validate.js";

const { version } = createRequire(import.meta.url)("../../package.json") as { version: string };

const program = new Command("qfleet")
  .description("Declarative QEMU virtual machines: VMs as YAML files under vms/, reconciled into running QEMU processes.")
  .version(version)
  .showHelpAfterError("(run with --help for usage)")
  .addHelpText(
    "after",
    `
Examples:
  qfleet plan                     what reconcile would change
  qfleet reconcile                make the VMs match vms/*.yaml
  qfleet status demo --wait-ssh 60
  qfleet validate                 check every vms/*.yaml in this folder
  qfleet image info disk.qcow2    show an image's format and sizes
  qfleet image convert d.vmdk --format qcow2

Exit codes: 0 ok, 1 failure, 2 changes pending (reconcile --check), 3 invalid specs.`,
  );

registerReconcile(program);
registerStatus(program);
registerList(program);
registerPower(program);
registerValidate(program);
registerImage(program);

await program.parseAsync(process.argv);
