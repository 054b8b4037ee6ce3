import type { Command } from "commander";
import { QfleetError } from "../errors.js";
import { defaultStopTimeoutMs } from "../fleet/reconcile.js";
import { DEFAULT_RESYNC_S, watchFleet, type WatchEvent } from "../watch/watch.js";
import { positiveInt, seconds } from "./options.js";
import { action } from "./output.js";

interface Flags {
  dir: string;
  resync: string;
  json?: boolean;
  prune?: boolean;
  stopTimeout: string;
  parallel: string;
}

export function registerWatch(program: Command): void {
  program
    .command("watch")
    .description("reconcile now, then again whenever a spec in vms/ (or hosts.yaml) is saved, and resync periodically")
    .option("-C, --dir <dir>", "folder holding vms/ and hosts.yaml", ".")
    .option("--resync <seconds>", "compare every VM with its spec this often (restarts crashed VMs)", String(DEFAULT_RESYNC_S))
    .option("--prune", "delete instances whose spec was removed (never protected ones)")
    .option("--stop-timeout <seconds>", "how long a graceful shutdown may take before QMP quit", String(defaultStopTimeoutMs() / 1000))
    .option("--parallel <n>", "actions at once per host", "4")
    .option("--json", "one JSON object per event per line")
    .addHelpText(
      "after",
      `
Each event is one line on stdout: a time, then what happened (--json also lists each
resync). A spec saved with a mistake prints its problems as FILE:LINE:COL and leaves that VM
exactly as it runs; a removed spec makes an orphan (kept unless --prune). Ctrl-C (or SIGTERM)
finishes the actions in flight and exits 0, leaving the VMs running.
Examples:
  qfleet watch
  qfleet watch -C fleet/ --resync 10 --json`,
    )
    .action(action(run));
}

async function run(f: Flags): Promise<number> {
  const resync = seconds(f.resync, "--resync"),
    stopTimeout = seconds(f.stopTimeout, "--stop-timeout"),
    parallel = positiveInt(f.parallel, "--parallel");
  if (resync < 1) throw new QfleetError("BAD_INPUT", `--resync must be at least 1 second, not ${f.resync}`);

  const stop = new AbortController();
  const onSignal = () => (stop.signal.aborted ? process.exit(130) : stop.abort());
  process.on("SIGINT", onSignal).on("SIGTERM", onSignal);
  // routine resyncs are JSON-only: a line every few seconds would bury the events that matter
  const print = (e: WatchEvent) => {
    if (f.json) process.stdout.write(JSON.stringify(e) + "\n");
    else if (e.event !== "resync") process.stdout.write(`${e.at} ${e.message}${e.hint ? ` (hint: ${e.hint})` : ""}\n`);
  };
  try {
    await watchFleet({
      dir: f.dir,
      resyncMs: resync * 1000,
      prune: f.prune,
      stopTimeoutMs: stopTimeout * 1000,
      parallel,
      signal: stop.signal,
      onEvent: print,
    });
    return 0;
  } finally {
    process.off("SIGINT", onSignal).off("SIGTERM", onSignal);
  }
}
