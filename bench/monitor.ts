import { performance } from "node:perf_hooks";
import { loadInventory } from "../src/fleet/inventory.js";
import { findRunningVm } from "../src/fleet/monitor-vm.js";
import { monitorVms } from "../src/monitor/index.js";
import { benchFleet, stubSpecs, type Row } from "./lib.js";

const SAMPLES = 30;
const IDLE_S = 10;

const percent = (c: NodeJS.CpuUsage, ms: number) => ((c.user + c.system) / 1000 / ms) * 100;

/**
 * The monitor's own CPU (this process: QMP, /proc, pcap parsing) while it samples 20 running
 * stub VMs every second for 30 s with every metric, as `qfleet monitor` with 20 names does
 * (monitorVms), beside this process idling for 10 s in the same run. The figure is the
 * steady state, from the first sample to the last; the whole run (adding the setup and
 * cleanup of the network dump filters, 40 `tail` processes) is shown beside it. Work done by
 * child processes (`tail -f`, the `xargs head` /proc reader) is not in either figure.
 */
export async function monitorCpu(): Promise<Row> {
  const f = benchFleet();
  const env = process.env.QFLEET_VM_DIR;
  try {
    const names = stubSpecs(f, 20, "m");
    await f.cli(["reconcile", "--parallel", "10"]);
    process.env.QFLEET_VM_DIR = f.vmDir;
    const inv = await loadInventory(f.dir);
    const vms = names.map((n) => findRunningVm(inv, n));

    await new Promise((r) => setTimeout(r, 2000)); // let the launches above settle
    let c = process.cpuUsage();
    let t = performance.now();
    await new Promise((r) => setTimeout(r, IDLE_S * 1000));
    const idle = percent(process.cpuUsage(c), performance.now() - t);

    let steady = 0;
    let first: { c: NodeJS.CpuUsage; t: number } | undefined;
    c = process.cpuUsage();
    t = performance.now();
    await monitorVms(
      vms[0].host,
      vms.map((v) => v.target),
      {
        intervalMs: 1000,
        count: SAMPLES,
        onSample: (_vm, _s, i) => {
          if (i === 1 && !first) first = { c: process.cpuUsage(), t: performance.now() };
          if (i === SAMPLES && first && !steady) steady = percent(process.cpuUsage(first.c), performance.now() - first.t);
        },
      },
    );
    const whole = percent(process.cpuUsage(c), performance.now() - t);
    // judged on the raw figure (idle not subtracted): the conservative reading on a noisy machine
    return {
      name: `monitor CPU, 20 VMs x 1/s, ${SAMPLES} s, all metrics`,
      value: `${steady.toFixed(2)}% of a core (whole run ${whole.toFixed(2)}%)`,
      baseline: `idle ${idle.toFixed(2)}%`,
      ratio: `${(steady / Math.max(idle, 0.01)).toFixed(1)}x`,
      goal: "< 2%",
      ok: steady < 2,
    };
  } finally {
    if (env === undefined) delete process.env.QFLEET_VM_DIR;
    else process.env.QFLEET_VM_DIR = env;
    f.cleanup();
  }
}
