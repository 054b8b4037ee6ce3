import type { Command } from "commander";
import { guestTarget, sshArgvFor } from "../fleet/guest.js";
import { loadInventory } from "../fleet/inventory.js";
import { QfleetError } from "../errors.js";
import { runAttached } from "../hosts/local-run.js";
import { sshCommandLine } from "../fleet/ssh-command.js";
import { action } from "./output.js";

export function registerSsh(program: Command): void {
  program
    .command("ssh <name> [command...]")
    .description("log into a running VM's guest (interactive), or run one command there: the VM's exact ssh_command, with the fleet's key")
    .option("-C, --dir <dir>", "folder holding vms/ and hosts.yaml", ".")
    .option("--print", "print the ssh command instead of running it")
    .addHelpText(
      "after",
      `
A cloud-init guest (cloud_init in its spec) is reached as its user (qfleet by default) with the
fleet's key in .qfleet/; its host key is recorded there on the first login and checked after.
A VM on a remote host is reached in two hops (ssh -J through that host).
Examples:
  qfleet ssh web1
  qfleet ssh web1 -- uname -a
  qfleet ssh web1 --print`,
    )
    .action(
      action(async (name: string, command: string[], f: { dir: string; print?: boolean }) => {
        const argv = sshArgvFor(guestTarget(await loadInventory(f.dir, { only: [name] }), name), command);
        if (!argv) throw new QfleetError("BAD_INPUT", `VM ${name} forwards no SSH port`, { hint: "give its spec ssh: { port: ... }" });
        if (f.print) {
          process.stdout.write(sshCommandLine(argv) + "\n");
          return 0;
        }
        return runAttached(argv);
      }),
    );
}
