import * as z from "zod";
import { QfleetError } from "../../errors.js";
import { loadInventory } from "../../fleet/inventory.js";
import { monitorVmStatus } from "../../fleet/monitor-vm.js";
import { MONITOR_DEFAULT_INTERVAL_S, MONITOR_MAX_COUNT, MONITOR_MAX_INTERVAL_S } from "../../monitor/index.js";
import { NAME_RE } from "../../spec/schema.js";
import { defineTool } from "../tool.js";
import { hostFromArgs } from "../vm-common.js";
import { remoteArgs } from "./remote-args.js";

const METRIC_LIST = /^(all|(cpu|memory|disk|network)(,(cpu|memory|disk|network))*)$/;

export const monitorVmStatusTool = defineTool({
  name: "monitor_vm_status",
  title: "Monitor a running VM",
  description:
    "Sample a running VM's CPU (whole VM and per vCPU), memory (host RSS, configured, balloon), disk (bytes/s, IOPS, sizes per drive) and " +
    `network (bytes per NIC) every \`interval\` seconds, \`count\` times (at most ${MONITOR_MAX_COUNT}: a tool call must end), with a progress ` +
    "notification after each sample. Needs nothing installed on the host; what it adds to the VM to count network bytes is removed afterwards.",
  input: {
    name: z.string().regex(NAME_RE).describe("a running VM declared in vms/"),
    metrics: z.string().regex(METRIC_LIST, "all, or a comma list of cpu, memory, disk, network").default("all"),
    interval: z
      .int()
      .min(1, "the interval is at least 1 second")
      .max(MONITOR_MAX_INTERVAL_S)
      .default(MONITOR_DEFAULT_INTERVAL_S)
      .describe("seconds between samples (>= 1, default 5)"),
    count: z
      .int()
      .min(
        1,
        `count 0 ("until stopped") cannot work inside one tool call, which must end: give 1..${MONITOR_MAX_COUNT}, or use qfleet monitor --count 0 in a terminal`,
      )
      .max(MONITOR_MAX_COUNT, `at most ${MONITOR_MAX_COUNT} samples per call`)
      .default(1)
      .describe(`number of samples, 1..${MONITOR_MAX_COUNT} (default 1)`),
    ...remoteArgs,
  },
  output: {
    success: z.boolean(),
    message: z.string(),
    data: z.object({ host: z.string(), vm_name: z.string(), timestamp: z.array(z.string()), metrics_data: z.record(z.string(), z.unknown()) }),
  },
  annotations: { readOnlyHint: true, idempotentHint: false },
  async run(a, call, ctx) {
    const target = await hostFromArgs(ctx, a);
    const inventory = await loadInventory(ctx.dir, { only: [a.name], passwords: target.passwords, alsoHosts: [target.name] });
    try {
      const declared = inventory.desired.find((d) => d.vm.name === a.name)?.vm.host;
      if (a.host !== undefined && declared !== undefined && declared !== target.name) {
        throw new QfleetError("BAD_INPUT", `VM ${a.name} lives on host ${declared}, not ${target.name}`, {
          hint: "leave host out to monitor the VM where its spec puts it",
        });
      }
      return (await monitorVmStatus({
        inventory,
        name: a.name,
        metrics: a.metrics,
        interval: a.interval,
        count: a.count,
        signal: call.signal,
        hostLabel: target.label,
        onProgress: (done, total) => void call.progress(done, total, `sample ${done} of ${total}`),
      })) as never;
    } finally {
      await inventory.registry.closeAll();
    }
  },
});
