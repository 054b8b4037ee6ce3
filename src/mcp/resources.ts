import { ResourceTemplate, type McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { QfleetError } from "../errors.js";
import { loadInventory, loadSpecs } from "../fleet/inventory.js";
import { consoleTarget, readConsole } from "../fleet/console.js";
import { NAME_RE } from "../spec/schema.js";
import { specLabel } from "../spec/store.js";
import { screenshot } from "../fleet/screen.js";
import { vmStatus } from "../fleet/status.js";
import type { ToolContext } from "./tool.js";

/**
 * Resources a client can read for each declared VM: its spec (YAML), its status (JSON), the
 * tail of its serial console as clean text (what a person looks at when "it boots but SSH does
 * not answer") and its screen (PNG, display: vnc). Names are checked against the VM name rule before any path is built from them.
 */
export function registerResources(server: McpServer, ctx: ToolContext): void {
  const kinds = [
    { kind: "spec", title: "VM spec", mimeType: "application/yaml", description: "vms/NAME.yaml as written, comments included" },
    { kind: "status", title: "VM status", mimeType: "application/json", description: "process, QMP state, accelerator, SSH reachability" },
    { kind: "console", title: "VM serial console", mimeType: "text/plain", description: "the last 200 lines of the serial console, as clean text" },
    { kind: "screen", title: "VM screen", mimeType: "image/png", description: "a PNG of the screen of a running VM with display: vnc" },
  ] as const;
  for (const k of kinds) {
    const template = new ResourceTemplate(`qfleet://vm/{name}/${k.kind}`, {
      list: async () => {
        const fleet = await loadSpecs(ctx.dir);
        return { resources: fleet.specs.map((s) => ({ uri: `qfleet://vm/${s.name}/${k.kind}`, name: `${s.name} ${k.kind}`, mimeType: k.mimeType })) };
      },
    });
    server.registerResource(`vm-${k.kind}`, template, { title: k.title, description: k.description, mimeType: k.mimeType }, async (uri, vars) => {
      const name = String(vars.name);
      if (!NAME_RE.test(name)) throw new QfleetError("BAD_INPUT", `not a VM name: ${name}`);
      if (k.kind === "screen") {
        const png = (await screenshot(await loadInventory(ctx.dir, { only: [name] }), name)).png;
        return { contents: [{ uri: uri.href, mimeType: k.mimeType, blob: png.toString("base64") }] };
      }
      return { contents: [{ uri: uri.href, mimeType: k.mimeType, text: await read(ctx, name, k.kind) }] };
    });
  }
}

async function read(ctx: ToolContext, name: string, kind: "spec" | "status" | "console" | "screen"): Promise<string> {
  if (kind === "spec") {
    const spec = (await loadSpecs(ctx.dir)).specs.find((s) => s.name === name);
    if (!spec) throw new QfleetError("NOT_FOUND", `no valid spec ${specLabel(name)}`);
    return spec.text;
  }
  if (kind === "status") return JSON.stringify(await vmStatus(await loadInventory(ctx.dir, { only: [name] }), name), null, 2);
  const lines = await readConsole(consoleTarget(await loadInventory(ctx.dir, { only: [name] }), name), 200);
  return lines.length ? lines.join("\n") + "\n" : "(no console output yet)";
}
