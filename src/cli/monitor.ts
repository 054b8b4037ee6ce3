import type { Command } from "commander";
import { QfleetError, toQfleetError } from "../errors.js";
import { loadInventory } from "../fleet/inventory.js";
import { findRunningVm, type RunningVm } from "../fleet/monitor-vm.js";
import { monitorVms, validateMonitorArgs, type VmSample } from "../monitor/index.js";
import { TABLE_HEAD, tableRow } from "../monitor/render.js";
import { table } from "./format.js";
import { action, printError } from "./output.js";

interface Flags {
  dir: string;
  metrics: string;
  interval: string;
  count: string;
  json?: boolean;
}

export function registerMonitor(program: Command): void {
  program
    .command("monitor <names...>")
    .description("sample CPU, memory, disk and network figures of running VMs (nothing to install on the host)")
    .option("-C, --dir <dir>", "folder holding vms/ and hosts.yaml", ".")
    .option("--metrics <list>", "cpu,memory,disk,network or all", "all")
    .option("--interval <seconds>", "seconds between samples, at least 1", "5")
    .option("--count <n>", "samples to take; 0 samples until Ctrl-C", "1")
    .option("--json", "one JSON object per sample per line (also the default when stdout is not a terminal)")
    .addHelpText(
      "after",
      `
Each sample holds rates since the reading before it: the first comes one interval after the
start. On a terminal a live table; otherwise (or with --json) one JSON line per VM per sample.
Examples:
  qfleet monitor web1                         one sample after 5 s
  qfleet monitor web1 db1 --interval 1 --count 0     live, until Ctrl-C
  qfleet monitor web1 --metrics cpu,network --count 10 --json`,
    )
    .action(action(run));
}

async function run(names: string[], f: Flags): Promise<number> {
  const args = validateMonitorArgs({ metrics: f.metrics, interval: f.interval, count: f.count }, { bounded: false });
  const inv = await loadInventory(f.dir, { only: names });
  const vms = [...new Set(names)].map((n) => findRunningVm(inv, n)); // every VM checked before any sampling starts
  const view =
    f.json || !process.stdout.isTTY
      ? jsonLines()
      : liveTable(
          vms.map((v) => v.target.name),
          args.intervalMs,
          args.count,
        );

  // Ctrl-C / SIGTERM end sampling cleanly (dump filters removed); a second one exits at once.
  const stop = new AbortController();
  const onSignal = () => (stop.signal.aborted ? process.exit(130) : stop.abort());
  process.on("SIGINT", onSignal).on("SIGTERM", onSignal);
  try {
    // the VMs of one host are read together (one /proc read per host per sample)
    const byHost = new Map<string, RunningVm[]>();
    for (const vm of vms) byHost.set(vm.hostName, [...(byHost.get(vm.hostName) ?? []), vm]);
    const errors = new Map<string, unknown>();
    await Promise.all(
      [...byHost.values()].map(async (group) => {
        const onSample = (name: string, s: VmSample) =>
          view.sample(
            group.find((g) => g.target.name === name)!,
            s,
          );
        try {
          const r = await monitorVms(
            group[0].host,
            group.map((g) => g.target),
            { ...args, signal: stop.signal, onSample },
          );
          for (const [name, e] of r.errors) errors.set(name, e);
        } catch (e) {
          for (const g of group) errors.set(g.target.name, e);
        }
      }),
    );
    view.done();
    for (const [name, err] of errors) {
      const e = toQfleetError(err);
      printError(new QfleetError(e.code, `${name}: ${e.message}`, { hint: e.hint }), false);
    }
    return errors.size ? 1 : 0;
  } finally {
    process.off("SIGINT", onSignal).off("SIGTERM", onSignal);
    await inv.registry.closeAll();
  }
}

interface View {
  sample(vm: RunningVm, s: VmSample): void;
  done(): void;
}

function jsonLines(): View {
  return {
    sample: (vm, s) => process.stdout.write(JSON.stringify({ vm: vm.target.name, host: vm.hostName, ...s }) + "\n"),
    done() {},
  };
}

/** Redraws one table in place on each sample. */
function liveTable(names: string[], intervalMs: number, count: number): View {
  const latest = new Map<string, VmSample>();
  let drawn = 0;
  let samples = 0;
  const draw = () => {
    if (drawn) process.stdout.write(`\x1b[${drawn}A\x1b[J`);
    const when = [...latest.values()]
      .map((s) => s.timestamp)
      .sort()
      .at(-1);
    const head = `every ${intervalMs / 1000} s, ${count ? `sample ${Math.ceil(samples / names.length)} of ${count}` : "until Ctrl-C"}${when ? `, last at ${when}` : ", first figures after one interval"}`;
    const text = `${head}\n${table([TABLE_HEAD, ...names.map((n) => tableRow(n, latest.get(n)))])}\n`;
    process.stdout.write(text);
    drawn = text.split("\n").length - 1;
  };
  draw();
  return {
    sample(vm, s) {
      latest.set(vm.target.name, s);
      samples++;
      draw();
    },
    done() {},
  };
}
