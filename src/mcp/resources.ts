import { ResourceTemplate, type McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { QfleetError } from "../errors.js";
import { loadInventory, loadSpecs } from "../fleet/inventory.js";
import { resolveFleet } from "../fleet/resolve.js";
import { NAME_RE } from "../spec/schema.js";
import { specLabel } from "../spec/store.js";
import { instancePaths } from "../state/paths.js";
import { vmStatus } from "../fleet/status.js";
import type { ToolContext } from "./tool.js";

const CONSOLE_TAIL_BYTES = 16 * 1024;

/**
 * Resources a client can read for each declared VM: its spec (YAML), its status (JSON) and the
 * tail of its serial console, which is what a person looks at when "it boots but SSH does not
 * answer". Names are checked against the VM name rule before any path is built from them.
 */
export function registerResources(server: McpServer, ctx: ToolContext): void {
  const kinds = [
    { kind: "spec", title: "VM spec", mimeType: "application/yaml", description: "vms/NAME.yaml as written, comments included" },
    { kind: "status", title: "VM status", mimeType: "application/json", description: "process, QMP state, accelerator, SSH reachability" },
    { kind: "console", title: "VM serial console", mimeType: "text/plain", description: `the last ${CONSOLE_TAIL_BYTES / 1024} KiB of serial.log` },
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
      return { contents: [{ uri: uri.href, mimeType: k.mimeType, text: await read(ctx, name, k.kind) }] };
    });
  }
}

async function read(ctx: ToolContext, name: string, kind: "spec" | "status" | "console"): Promise<string> {
  if (kind === "spec") {
    const spec = (await loadSpecs(ctx.dir)).specs.find((s) => s.name === name);
    if (!spec) throw new QfleetError("NOT_FOUND", `no valid spec ${specLabel(name)}`);
    return spec.text;
  }
  if (kind === "status") return JSON.stringify(await vmStatus(await loadInventory(ctx.dir, { only: [name] }), name), null, 2);
  const inv = await resolveFleet(ctx.dir, { only: [name] });
  const d = inv.desired.find((x) => x.vm.name === name);
  if (!d) throw new QfleetError("NOT_FOUND", `no VM named ${name}`);
  const host = inv.registry.get(d.vm.host);
  const log = instancePaths(d.vm.instanceDir).serial;
  const r = await host.run(["tail", "-c", String(CONSOLE_TAIL_BYTES), log], { allowFailure: true });
  return r.exitCode === 0 ? r.stdout : `(no console output yet: ${log} does not exist)`;
}
