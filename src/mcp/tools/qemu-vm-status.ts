import { z } from "zod";
import { QfleetError } from "../../errors.js";
import { loadInventory, loadSpecs } from "../../fleet/inventory.js";
import { NAME_RE } from "../../spec/schema.js";
import { probeSshBanner } from "../../state/ssh-probe.js";
import { vmStatus } from "../../fleet/status.js";
import { defineTool } from "../tool.js";

export const qemuVmStatus = defineTool({
  name: "qemu_vm_status",
  title: "Is the VM up?",
  description:
    "Check whether a VM (by name or SSH port) is running and whether its SSH server answers (an SSH banner arrived, not just a TCP " +
    "connect). Changes nothing. Use it to wait for a VM booted with qemu_boot_vm.",
  input: {
    name: z.string().regex(NAME_RE).optional(),
    ssh_port: z.int().min(1).max(65535).optional(),
  },
  output: {
    ssh_port: z.number().nullable(),
    status: z.string(),
    process_running: z.boolean(),
    ssh_accessible: z.boolean(),
    message: z.string(),
    name: z.string().nullable(),
    pid: z.number().nullable(),
    accelerator: z.string().nullable(),
  },
  annotations: { readOnlyHint: true, idempotentHint: true },
  async run(a, _c, ctx) {
    if ((a.name === undefined) === (a.ssh_port === undefined)) throw new QfleetError("BAD_INPUT", "give exactly one of name or ssh_port");
    // by name (or by a port a spec declares): only that VM is looked at; any other port needs the whole fleet
    const byPort = (v: { ssh?: { port: number } }) => v.ssh?.port === a.ssh_port;
    const declared = a.name ?? (await loadSpecs(ctx.dir)).specs.find((s) => byPort(s.spec))?.name;
    const inv = await loadInventory(ctx.dir, declared ? { only: [declared] } : {});
    const name = declared ?? inv.hosts.flatMap((h) => h.vms).find((v) => v.applied && byPort(v.applied.vm))?.name;
    if (name) {
      const st = await vmStatus(inv, name);
      return {
        ssh_port: st.ssh_port ?? null,
        status: st.status,
        process_running: st.process_running,
        ssh_accessible: st.ssh_accessible,
        message: st.message,
        name,
        pid: st.pid ?? null,
        accelerator: st.accelerator ?? null,
      };
    }
    const proc = inv.hosts.flatMap((h) => h.unmanaged).find((p) => p.ports.includes(a.ssh_port!));
    if (!proc) {
      return {
        ssh_port: a.ssh_port!,
        status: "not-running",
        process_running: false,
        ssh_accessible: false,
        message: `No VM found with SSH port ${a.ssh_port}`,
        name: null,
        pid: null,
        accelerator: null,
      };
    }
    const banner = await probeSshBanner(inv.registry.get("local"), a.ssh_port!);
    const message = banner
      ? `VM is running and SSH accessible on port ${a.ssh_port}`
      : `VM is running; SSH on port ${a.ssh_port} does not answer yet`;
    return {
      ssh_port: a.ssh_port!,
      status: "running",
      process_running: true,
      ssh_accessible: Boolean(banner),
      message,
      name: proc.name ?? null,
      pid: proc.pid,
      accelerator: null,
    };
  },
});
