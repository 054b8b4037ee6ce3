import * as z from "zod";
import { QfleetError } from "../../errors.js";
import { loadInventory } from "../../fleet/inventory.js";
import { listVms } from "../../fleet/list.js";
import { defineTool } from "../tool.js";
import { hostFromArgs } from "../vm-common.js";
import { remoteArgs } from "./remote-args.js";

export const listVmsTool = defineTool({
  name: "list_vms",
  title: "List VMs",
  description:
    "List the VMs declared in vms/ with their real status (running/stopped/...), optionally filtered by status, arch or part of the name. Changes nothing.",
  input: {
    status: z.enum(["running", "stopped", "all"]).default("all"),
    arch: z.enum(["x86_64", "aarch64", "arm64"]).optional(),
    filter_name: z.string().max(63).optional().describe("part of the name, case-insensitive"),
    vm_dir: z.string().optional().describe("only VMs whose folder is under this vm_dir"),
    ...remoteArgs,
  },
  output: {
    success: z.boolean(),
    message: z.string(),
    data: z.object({
      host: z.string(),
      vm_count: z.number(),
      vms: z.array(
        z.object({
          name: z.string(),
          arch: z.string(),
          vcpus: z.number(),
          memory: z.string(),
          disk: z.string(),
          status: z.string(),
          host: z.string(),
          ssh_port: z.number().nullable(),
        }),
      ),
    }),
  },
  annotations: { readOnlyHint: true, idempotentHint: true },
  async run(a, _c, ctx) {
    const target = await hostFromArgs(ctx, a);
    const inv = await loadInventory(ctx.dir, { passwords: target.passwords, alsoHosts: [target.name] });
    if (target.passwords) await inv.registry.closeAll(); // a password's connection serves this call only
    const unreachable = inv.hosts.find((h) => h.host === target.name)?.error;
    if (unreachable) throw new QfleetError("CONNECTION", unreachable);
    const dirOf = new Map(inv.desired.map((d) => [d.vm.name, d.vm.vmDir]));
    const { vms } = listVms(inv, { status: a.status, arch: a.arch, name: a.filter_name, host: target.name });
    const kept = vms.filter((v) => !a.vm_dir || dirOf.get(v.name) === a.vm_dir.replace(/\/+$/, ""));
    const rows = kept.map((v) => ({
      name: v.name,
      arch: v.arch,
      vcpus: v.vcpus,
      memory: v.memory,
      disk: v.disk,
      status: v.status,
      host: v.host,
      ssh_port: v.ssh_port ?? null,
    }));
    const which = a.status === "all" ? "" : `${a.status} `;
    const where = target.name === "local" ? "locally" : `on ${target.label}`;
    return {
      success: true,
      message: `Successfully obtained ${rows.length} ${which}VM${rows.length === 1 ? "" : "s"} ${where}`,
      data: { host: target.label, vm_count: rows.length, vms: rows },
    };
  },
});
