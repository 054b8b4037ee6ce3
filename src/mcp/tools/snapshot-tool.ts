import * as z from "zod";
import { loadInventory } from "../../fleet/inventory.js";
import { snapshotVm } from "../../fleet/snapshot.js";
import { snapshotTarget } from "../../fleet/snapshot-target.js";
import { defineTool, vmNameArg } from "../tool.js";

const snapshotEntry = z.object({
  tag: z.string(),
  date: z.string().describe("when it was taken (ISO 8601)"),
  vm_state_size: z.number().describe("bytes of saved RAM and device state; 0: disks only"),
  vm_state_size_human: z.string(),
  ram: z.boolean().describe("RAM was saved: it can be reverted while the VM runs"),
  disks: z.array(z.number()).describe("indexes of the disks holding it"),
  complete: z.boolean().describe("on every disk of the VM (only a complete one can be reverted)"),
  vmstate_disk: z.number().optional(),
});

/**
 * vm_snapshot: the MCP face of fleet/snapshot.ts. Revert and delete lose something, so the
 * person confirms them (elicitation, or `confirm: true` from a client that cannot ask) before
 * anything is touched; the VM-level refusals (not this fleet's, raw or shared disks) come first.
 */
export const vmSnapshot = defineTool({
  name: "vm_snapshot",
  title: "Snapshots of a VM",
  description:
    "Internal qcow2 snapshots of a VM: create, list, revert or delete one by tag. While the VM runs a snapshot holds its disks and RAM, " +
    "and revert resumes it where it was; while it is stopped a snapshot holds its disks only, and such a one is reverted with the VM stopped. " +
    "Every writable disk must be qcow2 (an overlay counts) and the VM's own. Revert discards everything since the snapshot; delete cannot be undone.",
  input: {
    name: vmNameArg.describe("the VM"),
    action: z.enum(["create", "list", "revert", "delete"]),
    tag: z.string().optional().describe("the snapshot's tag, for create, revert and delete: letters, digits, . _ -, not all digits"),
    confirm: z.boolean().optional().describe("for revert and delete, only after the person agreed (when the client cannot ask them itself)"),
  },
  output: {
    success: z.boolean(),
    message: z.string(),
    action: z.string(),
    live: z.boolean().describe("the VM was running (snapshots with RAM)"),
    snapshots: z.array(snapshotEntry).optional().describe("the VM's snapshots after the action"),
  },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
  async run(a, call, ctx) {
    const inv = await loadInventory(ctx.dir, { only: [a.name] });
    if (a.action === "revert" || a.action === "delete") {
      snapshotTarget(inv, a.name); // refusals that need no question come first
      const lost =
        a.action === "revert"
          ? `Reverting VM ${a.name} to snapshot ${a.tag} discards everything since it was taken.`
          : `Deleting snapshot ${a.tag} of VM ${a.name} cannot be undone.`;
      await call.confirm(lost, a.confirm);
    }
    let step = 0;
    const progress = (msg: string) => void call.progress(++step, undefined, msg);
    const r = await snapshotVm(inv, a.name, a.action, a.tag, { progress });
    return { success: r.success, message: r.message, action: r.action, live: r.live, snapshots: r.snapshots };
  },
});
