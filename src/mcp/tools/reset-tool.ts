import * as z from "zod";
import { resetVm } from "../../fleet/reset.js";
import { defineTool, vmNameArg } from "../tool.js";

export const vmReset = defineTool({
  name: "vm_reset",
  title: "Reset a VM to its golden image",
  description:
    "Back to golden: discard everything written to a VM's overlay disks since they were made (new, empty overlays on the same base " +
    "images) and start it again. Other disks keep their data. Destructive: the person is asked first.",
  input: {
    name: vmNameArg,
    confirm: z.boolean().optional().describe("only after the person agreed (when the client cannot ask them itself)"),
  },
  output: { success: z.boolean(), message: z.string(), reset: z.array(z.string()), kept: z.array(z.string()), steps: z.array(z.string()) },
  annotations: { readOnlyHint: false, destructiveHint: true },
  async run(a, call, ctx) {
    await call.confirm(`Resetting VM ${a.name} discards everything written to its overlay disks since they were made.`, a.confirm);
    let n = 0;
    const r = await resetVm(ctx.dir, a.name, { onEvent: (m) => void call.progress(++n, undefined, m) });
    const o = r.run.outcome;
    return { success: o.ok, message: o.ok ? `${a.name} is back to its base image(s)` : o.message, reset: r.reset, kept: r.kept, steps: r.steps };
  },
});
