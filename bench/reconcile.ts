import { execa } from "execa";
import { existsSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { benchFleet, killQemusUnder, median, stubSpecs, timeMs, type Row } from "./lib.js";

const fmt = (ms: number) => `${Math.round(ms)} ms`;

/** Node's own start-up, the floor under any CLI figure. */
export async function nodeStart(): Promise<number> {
  return median(5, () => timeMs(() => execa("node", ["-e", "0"])));
}

/** A no-op `qfleet reconcile` with 50 running stub VMs (whole process, Node start included). */
export async function noopReconcile(base: number): Promise<Row> {
  const f = benchFleet();
  try {
    stubSpecs(f, 50);
    await f.cli(["reconcile", "--parallel", "10"]);
    const ms = await median(5, () => f.cli(["reconcile"]));
    return {
      name: "no-op reconcile, 50 running VMs",
      value: fmt(ms),
      baseline: `node start ${fmt(base)}`,
      ratio: `${(ms / base).toFixed(2)}x`,
      goal: "< 1000 ms",
      ok: ms < 1000,
    };
  } finally {
    f.cleanup();
  }
}

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
    const floors: number[] = [];
    const ours: number[] = [];
    for (let i = 0; i < 3; i++) {
      await stopAll();
      const script = argvs.map((a) => a.map((x) => `'${x.replaceAll("'", "'\\''")}'`).join(" ") + " &").join("\n") + "\nwait";
      floors.push(
        await timeMs(async () => {
          await execa("sh", ["-c", script]);
          while (!socks.every((s) => existsSync(s))) await new Promise((r) => setTimeout(r, 5));
        }),
      );
      await stopAll();
      ours.push(await f.cli(["reconcile"]));
    }
    const floor = floors.sort((a, b) => a - b)[1];
    const mine = ours.sort((a, b) => a - b)[1];
    return {
      name: "start 20 stopped VMs (reconcile)",
      value: fmt(mine),
      baseline: `shell launch ${fmt(floor)}`,
      ratio: `${(mine / floor).toFixed(2)}x`,
      goal: "<= 1.25x",
      ok: mine / floor <= 1.25,
    };
  } finally {
    f.cleanup();
  }
}

/** Loading and planning 1,000 specs with nothing running. */
export async function plan1000(base: number): Promise<Row> {
  const f = benchFleet();
  try {
    stubSpecs(f, 1000);
    const ms = await median(3, () => f.cli(["plan", "--json"]));
    return {
      name: "load + plan 1,000 specs",
      value: fmt(ms),
      baseline: `node start ${fmt(base)}`,
      ratio: `${(ms / base).toFixed(2)}x`,
      goal: "< 1500 ms",
      ok: ms < 1500,
    };
  } finally {
    f.cleanup();
  }
}
