import * as z from "zod";
import { loadInventory } from "../../fleet/inventory.js";
import { listVms } from "../../fleet/list.js";
import { defineTool } from "../tool.js";

export const qemuListVms = defineTool({
  name: "qemu_list_vms",
  title: "List QEMU processes",
  description: "List every running QEMU process on this machine, managed by qemu-fleet or not: pid, name, SSH port, arch, status. Changes nothing.",
  input: {},
  output: {
    vms: z.array(
      z.object({
        pid: z.number(),
        name: z.string().nullable(),
        ssh_port: z.number().nullable(),
        ports: z.array(z.number()),
        arch: z.string().nullable(),
        status: z.string(),
        managed: z.boolean(),
        host: z.string(),
      }),
    ),
  },
  annotations: { readOnlyHint: true, idempotentHint: true },
  async run(_a, _c, ctx) {
    const { vms, unmanaged } = listVms(await loadInventory(ctx.dir));
    return {
      vms: [
        ...vms
          .filter((v) => v.pid !== undefined)
          .map((v) => ({
            pid: v.pid!,
            name: v.name,
            ssh_port: v.ssh_port ?? null,
            ports: v.ssh_port ? [v.ssh_port] : [],
            arch: v.arch,
            status: v.status,
            managed: true,
            host: v.host,
          })),
        ...unmanaged.map((p) => ({
          pid: p.pid,
          name: p.name ?? null,
          ssh_port: p.ports[0] ?? null,
          ports: p.ports,
          arch: p.arch ?? null,
          status: p.status,
          managed: false,
          host: p.host,
        })),
      ],
    };
  },
});
