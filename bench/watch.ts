import { execa } from "execa";
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { WATCH_DEBOUNCE_MS, WRITE_SETTLE_MS } from "../src/watch/watch.js";
import { benchFleet, CLI, median, type BenchFleet, type Row } from "./lib.js";

const RUNS = 5;
const SPEC = "vcpus: 1\nmemory: 16M\naccel: tcg\n";
const fmt = (ms: number) => `${Math.round(ms)} ms`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * From writing a new spec file while `qfleet watch` runs to its QEMU's pidfile existing (QEMU
 * launched), minus the deliberate waits (write-settle time + debounce). Baseline: a fresh
 * `qfleet reconcile --only NAME` creating the same kind of VM (Node start included).
 */
export async function watchLatency(): Promise<Row> {
  const f = benchFleet();
  const w = execa("node", [CLI, "watch", "-C", f.dir, "--json", "--resync", "3600"], { env: f.env, reject: false, stdin: "ignore" });
  try {
    let out = "";
    w.stdout!.on("data", (b: Buffer) => (out += b.toString()));
    while (!out.includes('"event":"watching"')) await sleep(20);
    await sleep(1000); // the initial reconcile of an empty fleet
    const waits = WATCH_DEBOUNCE_MS + WRITE_SETTLE_MS;
    let i = 0;
    const latency = await median(RUNS, async () => {
      const name = `w${i++}`;
      const t0 = performance.now();
      writeFileSync(path.join(f.dir, "vms", `${name}.yaml`), SPEC);
      await untilExists(path.join(f.vmDir, name, "qemu.pid"));
      const ms = performance.now() - t0 - waits;
      await sleep(500); // let the run finish before the next save
      return ms;
    });
    const cli = await cliCreate();
    return {
      name: "watch: spec saved -> QEMU launched",
      value: `${fmt(latency)} (+${waits} ms waits)`,
      baseline: `reconcile --only ${fmt(cli)}`,
      ratio: `${(latency / cli).toFixed(2)}x`,
      goal: "< 300 ms",
      ok: latency < 300,
    };
  } finally {
    w.kill("SIGTERM");
    await w;
    f.cleanup();
  }
}

/** Median time of `qfleet reconcile --only NAME` creating and starting one new stub VM. */
async function cliCreate(): Promise<number> {
  const f: BenchFleet = benchFleet();
  try {
    let i = 0;
    return await median(3, async () => {
      const name = `c${i++}`;
      writeFileSync(path.join(f.dir, "vms", `${name}.yaml`), SPEC);
      return f.cli(["reconcile", "--only", name]);
    });
  } finally {
    f.cleanup();
  }
}

async function untilExists(file: string): Promise<void> {
  for (const end = performance.now() + 30_000; !existsSync(file); await sleep(2))
    if (performance.now() > end) throw new Error(`${file} did not appear: watch did not launch the VM`);
}
