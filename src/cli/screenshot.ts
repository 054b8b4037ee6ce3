import type { Command } from "commander";
import path from "node:path";
import { loadInventory } from "../fleet/inventory.js";
import { screenshot } from "../fleet/screen.js";
import { LOCAL } from "../hosts/local.js";
import { positiveInt } from "./options.js";
import { action, printJson } from "./output.js";

export function registerScreenshot(program: Command): void {
  program
    .command("screenshot <name>")
    .description("save a PNG of a running VM's screen (a VM with display: vnc)")
    .option("-C, --dir <dir>", "folder holding vms/ and hosts.yaml", ".")
    .option("-o, --output <file>", "where to write the PNG (default NAME.png; never overwritten unless --force)")
    .option("--max-width <px>", "scale down to at most this width", "4096")
    .option("--max-height <px>", "scale down to at most this height", "4096")
    .option("--force", "overwrite the output file")
    .option("--json", "print the result as JSON")
    .addHelpText("after", "\nExamples:\n  qfleet screenshot web1\n  qfleet screenshot web1 -o boot.png --max-width 800")
    .action(
      action(async (name: string, f: { dir: string; output?: string; maxWidth: string; maxHeight: string; force?: boolean; json?: boolean }) => {
        const s = await screenshot(await loadInventory(f.dir, { only: [name] }), name, {
          maxWidth: positiveInt(f.maxWidth, "--max-width"),
          maxHeight: positiveInt(f.maxHeight, "--max-height"),
        });
        const file = path.resolve(f.output ?? `${name}.png`);
        const out = await LOCAL.writeStream(file, { overwrite: f.force });
        await new Promise<void>((resolve, reject) => out.stream.end(s.png, () => resolve()).once("error", reject));
        const result = { success: true, file, width: s.width, height: s.height, scaled: s.scaled };
        if (f.json) printJson(result);
        else process.stdout.write(`${file}: ${s.width}x${s.height}${s.scaled ? ` (scaled from ${s.originalWidth}x${s.originalHeight})` : ""}\n`);
        return 0;
      }),
    );
}
