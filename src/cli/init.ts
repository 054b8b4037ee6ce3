import type { Command } from "commander";
import { initFleet, refreshSchemas } from "../fleet/init.js";
import { action, printJson } from "./output.js";

/** `qfleet init [DIR]` (a new fleet repository) and `qfleet schema [DIR]` (its JSON schemas, refreshed). */
export function registerInit(program: Command): void {
  program
    .command("init [dir]")
    .description(
      "make a new fleet repository in DIR (default: here): an example VM and profile, hosts.yaml, fleet.yaml, .gitignore, .mcp.json, schemas/",
    )
    .option("--json", "print what was written as JSON")
    .addHelpText(
      "after",
      `
Nothing that exists is overwritten: in a folder that already holds a fleet or any of these files,
init writes nothing and says which ones are in the way (an existing .gitignore is only added to).
Examples:
  qfleet init                    here
  qfleet init ~/fleet && cd ~/fleet && qfleet validate`,
    )
    .action(
      action(async (dir: string | undefined, f: { json?: boolean }) => {
        const r = await initFleet(dir ?? ".");
        if (f.json) return printJson({ success: true, ...r });
        const out = (s: string) => process.stdout.write(s + "\n");
        out(`a new fleet in ${r.dir} (id ${r.fleetId}):`);
        for (const file of r.written) out(`  + ${file}`);
        if (r.gitignoreAdded.length) out(`  ~ .gitignore: added ${r.gitignoreAdded.join(", ")}`);
        out(`
vms/example.yaml says state: stopped: nothing boots until you say so. Next:
  qfleet validate        check the specs
  qfleet plan            what reconcile would do
  qfleet reconcile       do it
Commit everything (fleet.yaml too); .qfleet/ (the fleet's SSH key) stays out of git.
Claude Code in this folder finds the MCP server in .mcp.json (qfleet must be on PATH).`);
      }),
    );

  program
    .command("schema [dir]")
    .description("write this qfleet's JSON schemas into DIR/schemas/ (where the specs' modelines point): after an upgrade")
    .option("--json", "print what changed as JSON")
    .action(
      action(async (dir: string | undefined, f: { json?: boolean }) => {
        const r = await refreshSchemas(dir ?? ".");
        if (f.json) return printJson({ success: true, ...r });
        for (const x of r.files)
          process.stdout.write(`${x.change === "unchanged" ? " " : x.change === "created" ? "+" : "~"} ${x.file} (${x.change})\n`);
      }),
    );
}
