import { performance } from "node:perf_hooks";
import { toQfleetError, type QfleetError } from "../errors.js";
import type { Host } from "../hosts/host.js";
import { MONITOR_DEFAULT_COUNT, MONITOR_DEFAULT_INTERVAL_S } from "./args.js";
import { ProcReader } from "./proc-reader.js";
import { toSample } from "./rates.js";
import { VmReader } from "./reader.js";
import { METRICS, type Metric, type MonitorTarget, type Reading, type VmSample } from "./types.js";

export interface MonitorOptions {
  /** Default: all. */
  metrics?: readonly Metric[];
  /** Default 5000. Callers validate (validateMonitorArgs); this only needs it > 0. */
  intervalMs?: number;
  /** Samples to take; 0 = until `signal` aborts. Default 1. */
  count?: number;
  /** Aborting ends sampling early: the samples taken so far are returned. */
  signal?: AbortSignal;
  /** Called with each sample as it is taken (index from 1). */
  onSample?: (sample: VmSample, index: number) => void;
}

export interface MultiOptions extends Omit<MonitorOptions, "onSample"> {
  onSample?: (vm: string, sample: VmSample, index: number) => void;
}

export interface MultiResult {
  /** Per VM name; empty arrays with count 0 (an endless run keeps nothing in memory). */
  samples: Map<string, VmSample[]>;
  /** VMs that could not be sampled (not running, or stopped meanwhile): the others go on. */
  errors: Map<string, QfleetError>;
}

/**
 * Samples one running VM on `host`: a baseline reading at once, then one reading per interval
 * on a monotonic schedule; each sample holds the rates since the reading before, so `count`
 * samples take `count` intervals. Throws when the VM is not running or stops meanwhile.
 * Contract: everything added to the VM for sampling (network dump filters and their files)
 * is removed before this returns or throws, whether it ends by count, abort or error.
 */
export async function monitorVm(host: Host, vm: MonitorTarget, opts: MonitorOptions = {}): Promise<VmSample[]> {
  const { onSample, ...rest } = opts;
  const r = await monitorVms(host, [vm], { ...rest, onSample: onSample && ((_, s, i) => onSample(s, i)) });
  const err = r.errors.get(vm.name);
  if (err) throw err;
  return r.samples.get(vm.name) ?? [];
}

/**
 * monitorVm for several VMs of one host, read together: every reading of every VM happens at
 * the same instants, and their /proc files are read in one go (ProcReader). Same cleanup
 * contract as monitorVm, per VM; a VM that fails is dropped (in `errors`), the rest go on.
 */
export async function monitorVms(host: Host, vms: MonitorTarget[], opts: MultiOptions = {}): Promise<MultiResult> {
  const intervalMs = opts.intervalMs ?? MONITOR_DEFAULT_INTERVAL_S * 1000;
  const count = opts.count ?? MONITOR_DEFAULT_COUNT;
  const result: MultiResult = { samples: new Map(vms.map((v) => [v.name, []])), errors: new Map() };
  if (opts.signal?.aborted) return result;
  const opened = await Promise.allSettled(vms.map((vm) => VmReader.open(host, vm, opts.metrics ?? METRICS)));
  let active: { vm: MonitorTarget; reader: VmReader; prev?: Reading }[] = [];
  opened.forEach((o, i) =>
    o.status === "fulfilled" ? active.push({ vm: vms[i], reader: o.value }) : result.errors.set(vms[i].name, toQfleetError(o.reason)),
  );
  const drop = async (a: (typeof active)[number], e: unknown) => {
    result.errors.set(a.vm.name, toQfleetError(e));
    active = active.filter((x) => x !== a);
    await a.reader.close();
  };
  const proc = new ProcReader(host);
  try {
    let start = performance.now();
    for (let i = 0; active.length && (count === 0 || i <= count); i++) {
      if (i > 0) {
        let due = start + i * intervalMs;
        const now = performance.now();
        if (due < now - intervalMs) ((start = now - i * intervalMs), (due = now)); // fell behind (a slow host): resume from now
        if (!(await sleepUntil(due, opts.signal))) break;
      }
      const t = performance.now();
      const wall = new Date().toISOString();
      let files: Map<string, string>, others: (Awaited<ReturnType<VmReader["readOthers"]>> | Error)[];
      try {
        [files, others] = await Promise.all([
          proc.read(active.flatMap((a) => a.reader.procPaths())),
          Promise.all(active.map((a) => a.reader.readOthers(t).catch((e: unknown) => e as Error))),
        ]);
      } catch (e) {
        if (opts.signal?.aborted) break; // Ctrl-C reaches the reader's process group too
        throw e;
      }
      for (const [k, a] of [...active].entries()) {
        try {
          if (others[k] instanceof Error) {
            a.reader.assertAlive(files); // "not running" says more than the QMP error it causes
            throw others[k];
          }
          const cur = a.reader.assemble(t, wall, files, others[k] as Exclude<(typeof others)[number], Error>);
          if (a.prev) {
            const sample = toSample(a.prev, cur, a.reader.clkTck);
            if (count > 0) result.samples.get(a.vm.name)!.push(sample);
            opts.onSample?.(a.vm.name, sample, i);
          }
          a.prev = cur;
        } catch (e) {
          await drop(a, e);
        }
      }
      if (i === 0) start = t; // the schedule starts at the baseline
      if (opts.signal?.aborted) break;
    }
    return result;
  } finally {
    proc.close();
    await Promise.all(active.map((a) => a.reader.close()));
  }
}

/** Waits until performance.now() reaches `due`; false when `signal` aborted first. */
export function sleepUntil(due: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      resolve(ok);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), Math.max(0, due - performance.now()));
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
