import { execa } from "execa";
import { existsSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { benchFleet, interleaved, killQemusUnder, ratioText, stubSpecs, timeMs, type Row } from "./lib.js";

const fmt = (ms: number) => `${Math.round(ms)} ms`;

/** Starting 20 stopped stub VMs with reconcile, against launching the same argv at once from a shell. */
export async function start20(): Promise<Row> {
  const f = benchFleet();
  try {
    const names = stubSpecs(f, 20);
    await f.cli(["reconcile"]);
    const argvs = names.map((n) => JSON.parse(readFileSync(path.join(f.vmDir, n, "applied.json"), "utf8")).argv as string[]);
    const socks = names.map((n) => path.join(f.vmDir, n, "qmp.sock"));
    const stopAll = async () => {
      killQemusUnder(f.vmDir);
      await new Promise((r) => setTimeout(r, 300));
      for (const n of names) for (const x of ["qmp.sock", "qemu.pid"]) rmSync(path.join(f.vmDir, n, x), { force: true });
    };
    const floor = async () => {
      await stopAll();
      const script = argvs.map((a) => a.map((x) => `'${x.replaceAll("'", "'\\''")}'`).join(" ") + " &").join("\n") + "\nwait";
      return timeMs(async () => {
        await execa("sh", ["-c", script]);
        while (!socks.every((s) => existsSync(s))) await new Promise((r) => setTimeout(r, 5));
      });
    };
    const ours = async () => {
      await stopAll();
      return f.cli(["reconcile"]);
    };
    const p = await interleaved(5, floor, ours);
    return {
      name: "start 20 stopped VMs (reconcile)",
      value: fmt(p.value),
      baseline: `shell launch ${fmt(p.base)}`,
      ratio: ratioText(p),
      goal: "<= 1.25x",
      ok: p.ratio <= 1.25,
    };
  } finally {
    f.cleanup();
  }
}

/**
 * Loading and planning 200, 1,000 and 5,000 specs with nothing running, each interleaved with
 * `node -e 0`. The cost of each further spec (the slope between sizes, so the fixed start-up
 * is left out) must stay flat, and a thousand more specs cost at most 2.5 node starts.
 */
export async function planScaling(): Promise<Row[]> {
  const sizes = [200, 1000, 5000];
  const runs: { n: number; value: number; base: number }[] = [];
  for (const n of sizes) {
    const f = benchFleet();
    try {
      stubSpecs(f, n);
      const p = await interleaved(
        5,
        () => timeMs(() => execa("node", ["-e", "0"])),
        () => f.cli(["plan", "--json"]),
      );
      runs.push({ n, value: p.value, base: p.base });
    } finally {
      f.cleanup();
    }
  }
  const base = runs.map((r) => r.base).sort((a, b) => a - b)[1];
  const slopes = runs.slice(1).map((r, i) => ((r.value - runs[i].value) / (r.n - runs[i].n)) * 1000); // ms per 1,000 more specs
  // Linear means the cost of each further spec does not grow: the later slope may not exceed the
  // earlier one by more than 1.5x (a falling slope is the JIT warming up over the first specs).
  // The per-1,000 figure is the steady state, the slope over the larger range.
  const steady = slopes[slopes.length - 1];
  const growth = steady / slopes[0];
  return [
    ...runs.map((r) => ({
      name: `load + plan ${r.n} specs`,
      value: fmt(r.value),
      baseline: `node -e 0 ${fmt(r.base)}`,
      ratio: "-",
      goal: "-",
      ok: true,
    })),
    {
      name: "plan: each 1,000 more specs (200->1,000, 1,000->5,000)",
      value: slopes.map(fmt).join(" / "),
      baseline: `node -e 0 ${fmt(base)}`,
      ratio: `${(steady / base).toFixed(2)}x; later slope ${growth.toFixed(2)}x the earlier`,
      goal: "<= 2.5x, not growing (<= 1.5x)",
      ok: steady / base <= 2.5 && growth <= 1.5,
    },
  ];
}
