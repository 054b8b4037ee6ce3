import * as z from "zod";
import { QfleetError } from "../../errors.js";
import { LOCAL } from "../../hosts/local.js";
import { loadSpecs } from "../../fleet/inventory.js";
import { setPowerState } from "../../fleet/power.js";
import { writeSpec } from "../../spec/write.js";
import { deleteVm, deletionQuestion } from "../../fleet/delete.js";
import { defineTool, vmNameArg } from "../tool.js";
import { assertApplied, hostFromArgs, reconcileFor } from "../vm-common.js";
import { remoteArgs } from "./remote-args.js";

const ACTIONS = ["create", "start", "stop", "delete", "modify"] as const;

export const manageVm = defineTool({
  name: "manage_vm",
  title: "Create, start, stop, modify or delete a VM",
  description:
    "Full lifecycle of a VM, the declarative way: create writes vms/NAME.yaml and reconciles it; modify changes the given fields in the spec " +
    "(comments kept) and says whether the VM restarts; start/stop set state; delete removes the VM, the disks qemu-fleet created for it and its " +
    'spec (after the person confirms). Fields: memory 2G/4096M, disk "path=/data/vm/disk.qcow2,size=20G" or "size=20G", vcpus, iso, arch.',
  input: {
    name: vmNameArg.describe("VM name (unique per host)"),
    action: z.enum(ACTIONS),
    arch: z.enum(["x86_64", "aarch64", "arm64"]).optional().describe("for create (default: this host's arch)"),
    memory: z.string().optional().describe("e.g. 2G or 4096M (default 2G)"),
    disk: z.string().optional().describe('"path=/data/vm/disk.qcow2,size=20G" (or just "size=20G": created in the VM\'s folder)'),
    iso: z.string().optional().describe("installer or live ISO attached as a CD-ROM; empty string on modify ejects it"),
    vcpus: z.int().min(1).max(512).optional().describe("vCPUs (default 2)"),
    vm_dir: z.string().optional().describe("where the VM's folder lives (default /var/lib/qemu, or $QFLEET_VM_DIR)"),
    cloud_init: z
      .boolean()
      .default(true)
      .describe("for create: a cloud-init seed, so a stock cloud image gets user qfleet with sudo and the fleet's SSH key (default true)"),
    confirm: z.boolean().optional().describe("for delete, only after the person agreed (when the client cannot ask them itself)"),
    ...remoteArgs,
  },
  output: {
    success: z.boolean(),
    message: z.string(),
    data: z.object({ host: z.string(), vm_name: z.string(), action: z.string(), details: z.record(z.string(), z.unknown()) }),
  },
  annotations: { readOnlyHint: false, destructiveHint: true },
  async run(a, call, ctx) {
    const target = await hostFromArgs(ctx, a);
    const passwords = target.passwords;
    const fleet = await loadSpecs(ctx.dir);
    const spec = fleet.specs.find((s) => s.name === a.name);
    const exists = Boolean(spec) || fleet.invalid.includes(a.name);
    if (spec && a.host !== undefined && spec.spec.host !== target.name) {
      throw new QfleetError("BAD_INPUT", `VM ${a.name} lives on host ${spec.spec.host}, not ${target.name}`, {
        hint: "leave host out to act on the VM where its spec puts it",
      });
    }
    const out = (message: string, details: Record<string, unknown>) => ({
      success: true,
      message,
      data: { host: target.label, vm_name: a.name, action: a.action, details },
    });
    const fields = {
      ...(a.arch && { arch: a.arch }),
      ...(a.memory && { memory: a.memory }),
      ...(a.vcpus && { vcpus: a.vcpus }),
      ...(a.disk !== undefined && { disk: a.disk, disks: undefined }),
      ...(a.iso !== undefined && { iso: a.iso === "" ? undefined : a.iso }),
      ...(a.vm_dir && { vm_dir: a.vm_dir }),
    };
    if (a.action !== "create" && !exists)
      throw new QfleetError("NOT_FOUND", `VM ${a.name} does not exist`, { hint: "list_vms shows the VMs; create it first" });

    if (a.action === "create") {
      if (exists) throw new QfleetError("EXISTS", `VM already exists: ${a.name}`, { hint: "delete it first or use a different name" });
      const { file } = await writeSpec(LOCAL, ctx.dir, a.name, {
        ...(target.name !== "local" && { host: target.name }),
        ...fields,
        cloud_init: a.cloud_init,
        state: "running",
      });
      const r = await reconcileFor(ctx, call, [a.name], { passwords });
      return out(`VM ${a.name} created successfully`, { spec_file: file, steps: r.results[0]?.steps ?? [], pid: r.results[0]?.pid ?? null });
    }
    if (a.action === "start" || a.action === "stop") {
      const r = await setPowerState([a.name], a.action === "start" ? "running" : "stopped", { dir: ctx.dir, waitSeconds: 120, passwords });
      assertApplied(r);
      const res = r.results[0];
      return out(`VM ${a.name} ${a.action === "start" ? "started" : "stopped"} successfully`, {
        steps: res?.steps ?? ["nothing to do"],
        ...(res?.stopMethod && { stop_method: res.stopMethod }),
      });
    }
    if (a.action === "delete") {
      await call.confirm(deletionQuestion(a.name, spec), a.confirm);
      const done = await deleteVm(ctx.dir, a.name, (names) => reconcileFor(ctx, call, names, { passwords }));
      return out(`VM ${a.name} deleted successfully`, done);
    }
    if (Object.keys(fields).length === 0) throw new QfleetError("BAD_INPUT", "modify needs at least one of memory, vcpus, disk, iso, arch, vm_dir");
    const before = spec
      ? { memory: spec.spec.memory, vcpus: spec.spec.vcpus, disks: spec.spec.disks, iso: spec.spec.iso ?? null, arch: spec.spec.arch ?? null }
      : {};
    const { text } = await writeSpec(LOCAL, ctx.dir, a.name, fields);
    const r = await reconcileFor(ctx, call, [a.name], { passwords });
    const act = r.plan.actions.find((x) => x.vm === a.name);
    return out(`VM ${a.name} modified successfully`, {
      before,
      changes: act?.changes ?? [],
      restarted: act?.kind === "update-restart" || act?.kind === "replace",
      applied: act?.kind === "update-offline" ? "while stopped" : act?.kind === "update-live" ? "live" : (act?.kind ?? "nothing to do"),
      spec: text,
    });
  },
});
