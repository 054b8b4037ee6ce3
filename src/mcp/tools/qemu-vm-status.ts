import * as z from "zod";
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
    "Check whether a VM (by name or SSH port) is running and ready: its SSH server answers (a banner, not just a TCP connect), a real " +
    "login with the fleet's key works (login_ok, cloud-init guests), cloud-init's state, the guest's addresses from its agent, and, while " +
    "not ready, what its console shows last. With wait_s it waits until ready (progress while it waits). Changes nothing.",
  input: {
    name: z.string().regex(NAME_RE).optional(),
    ssh_port: z.int().min(1).max(65535).optional(),
    wait_s: z.int().min(0).max(900).default(0).describe("wait up to this many seconds until the guest is ready"),
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
    login_ok: z.boolean().optional(),
    cloud_init: z.string().optional(),
    ssh_command: z.string().optional(),
    guest: z.object({ agent: z.boolean(), os: z.string().optional(), hostname: z.string().optional(), addresses: z.array(z.string()) }).optional(),
    console: z.array(z.string()).optional(),
  },
  annotations: { readOnlyHint: true, idempotentHint: true },
  async run(a, call, ctx) {
    if ((a.name === undefined) === (a.ssh_port === undefined)) throw new QfleetError("BAD_INPUT", "give exactly one of name or ssh_port");
    // by name (or by a port a spec declares): only that VM is looked at; any other port needs the whole fleet
    const byPort = (v: { ssh?: { port: number } }) => v.ssh?.port === a.ssh_port;
    const declared = a.name ?? (await loadSpecs(ctx.dir)).specs.find((s) => byPort(s.spec))?.name;
    const inv = await loadInventory(ctx.dir, declared ? { only: [declared] } : {});
    const name = declared ?? inv.hosts.flatMap((h) => h.vms).find((v) => v.applied && byPort(v.applied.vm))?.name;
    if (name) {
      let waited = 0;
      const st = await vmStatus(inv, name, { waitMs: a.wait_s * 1000, onWait: (x) => void call.progress(++waited, undefined, x.message) });
      return {
        ...(st.login_ok !== undefined && { login_ok: st.login_ok }),
        ...(st.cloud_init && { cloud_init: st.cloud_init }),
        ...(st.ssh_command && { ssh_command: st.ssh_command }),
        ...(st.guest && { guest: st.guest }),
        ...(st.console && { console: st.console }),
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
