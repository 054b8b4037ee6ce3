import * as z from "zod";
import { QfleetError } from "../../errors.js";
import { LOCAL } from "../../hosts/local.js";
import { locateQemu, setPowerState, stopUnmanaged } from "../../fleet/power.js";
import { NAME_RE } from "../../spec/schema.js";
import { defineTool } from "../tool.js";
import { assertApplied } from "../vm-common.js";

export const qemuStopVm = defineTool({
  name: "qemu_stop_vm",
  title: "Stop a VM",
  description:
    "Stop a VM by name, PID or SSH port. A VM managed by qemu-fleet gets state: stopped in its spec and is shut down gracefully (its disks " +
    "are kept). A QEMU process qemu-fleet did not start is only stopped after checking it is qemu-system, and only with the person's confirmation.",
  input: {
    name: z.string().regex(NAME_RE).optional().describe("a VM declared in vms/"),
    pid: z.int().min(2).optional().describe("a QEMU process id"),
    ssh_port: z.int().min(1).max(65535).optional().describe("the host port forwarded to the VM's SSH"),
    confirm: z.boolean().optional().describe("only for unmanaged processes, after the person agreed"),
  },
  output: {
    success: z.boolean(),
    name: z.string().nullable(),
    pid: z.number().nullable(),
    managed: z.boolean(),
    method: z.string(),
    message: z.string(),
  },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true },
  async run(a, call, ctx) {
    const given = [a.name, a.pid, a.ssh_port].filter((x) => x !== undefined).length;
    if (given !== 1) throw new QfleetError("BAD_INPUT", "give exactly one of name, pid or ssh_port");
    let name = a.name ?? null;
    if (!name) {
      const found = await locateQemu(ctx.dir, a.pid !== undefined ? { pid: a.pid } : { sshPort: a.ssh_port });
      name = found.managed;
      if (!name) {
        const p = found.proc;
        await call.confirm(
          `QEMU process ${p.pid}${p.name ? ` (${p.name})` : ""} is not managed by qemu-fleet: stopping it ends whatever runs in it.`,
          a.confirm,
        );
        const method = await stopUnmanaged(LOCAL, p);
        return {
          success: true,
          name: p.name ?? null,
          pid: p.pid,
          managed: false,
          method,
          message: `stopped QEMU process ${p.pid} (${method === "term" ? "SIGTERM" : "SIGKILL"})`,
        };
      }
    }
    const r = await setPowerState([name], "stopped", { dir: ctx.dir, waitSeconds: 120 });
    assertApplied(r);
    const res = r.results[0];
    return {
      success: true,
      name,
      pid: r.plan.actions[0]?.actual?.pid ?? null,
      managed: true,
      method: res?.stopMethod ?? "not-running",
      message: res ? `VM ${name} stopped (${res.stopMethod}); its spec says state: stopped` : `VM ${name} was already stopped`,
    };
  },
});
