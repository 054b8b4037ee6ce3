import { execa } from "execa";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** Shared bits of the benchmarks: a throwaway fleet, the built CLI, timing and a report. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const CLI = path.join(ROOT, "dist", "qfleet.mjs");

export interface BenchFleet {
  dir: string;
  vmDir: string;
  env: Record<string, string>;
  /** Runs the CLI on this fleet; resolves with its wall time in ms. Exit codes other than 0 (and `allowExit`) throw. */
  cli(args: string[], opts?: { allowExit?: number[] }): Promise<number>;
  cleanup(): void;
}

export function benchFleet(): BenchFleet {
  const dir = mkdtempSync("/tmp/qfb-");
  const vmDir = path.join(dir, "i");
  mkdirSync(path.join(dir, "vms"));
  const env = { QFLEET_VM_DIR: vmDir };
  return {
    dir,
    vmDir,
    env,
    async cli(args, opts = {}) {
      const t0 = process.hrtime.bigint();
      const r = await execa("node", [CLI, ...args, "-C", dir], { env, reject: false, stdin: "ignore" });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (r.exitCode !== 0 && !opts.allowExit?.includes(r.exitCode ?? -1))
        throw new Error(`qfleet ${args.join(" ")} exited ${r.exitCode}: ${r.stderr}`);
      return ms;
    },
    cleanup() {
      killQemusUnder(vmDir);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function stubSpecs(f: BenchFleet, n: number, prefix = "b"): string[] {
  const names = Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(4, "0")}`);
  for (const name of names) writeFileSync(path.join(f.dir, "vms", `${name}.yaml`), "vcpus: 1\nmemory: 16M\naccel: tcg\n");
  return names;
}

export function killQemusUnder(needle: string): void {
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const argv = readFileSync(`/proc/${e}/cmdline`, "utf8");
      if (argv.startsWith("qemu-system-") && argv.includes(needle)) process.kill(Number(e), "SIGKILL");
    } catch {
      /* gone */
    }
  }
}

/** Median of `runs` timings of fn (ms). */
export async function median(runs: number, fn: () => Promise<number>): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) xs.push(await fn());
  xs.sort((a, b) => a - b);
  return xs[Math.floor(xs.length / 2)];
}

export async function timeMs(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/**
 * A measured command against its baseline, interleaved (A, B, A, B ...) so both see the same
 * machine load: the median of each, and the ratio B/A per pair as median and min-max.
 */
export interface Paired {
  base: number;
  value: number;
  ratio: number;
  min: number;
  max: number;
}
export async function interleaved(pairs: number, baseline: () => Promise<number>, measured: () => Promise<number>): Promise<Paired> {
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < pairs; i++) {
    a.push(await baseline());
    b.push(await measured());
  }
  const ratios = b.map((x, i) => x / a[i]).sort((x, y) => x - y);
  const mid = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  return { base: mid(a), value: mid(b), ratio: mid(ratios), min: ratios[0], max: ratios[ratios.length - 1] };
}

/** "1.84x (1.70-2.02)": a paired ratio as the report prints it. */
export const ratioText = (p: Paired) => `${p.ratio.toFixed(2)}x (${p.min.toFixed(2)}-${p.max.toFixed(2)})`;

export interface Row {
  name: string;
  value: string;
  baseline: string;
  ratio: string;
  goal: string;
  ok: boolean;
}
export function report(rows: Row[]): void {
  const head = ["benchmark", "measured", "baseline", "ratio", "goal", ""];
  const all = [head, ...rows.map((r) => [r.name, r.value, r.baseline, r.ratio, r.goal, r.ok ? "ok" : "MISSED"])];
  const w = head.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  for (const r of all) process.stdout.write(r.map((c, i) => c.padEnd(w[i])).join("  ") + "\n");
}
