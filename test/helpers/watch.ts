import { execa, type ResultPromise } from "execa";
import type { WatchEvent } from "../../src/watch/watch.js";
import { CLI, type TestFleet } from "./fleet.js";

/** `qfleet watch --json` on a test fleet in a child process: its events as they come, and a way to wait for one. */
export interface WatchProcess {
  readonly process: ResultPromise;
  readonly events: WatchEvent[];
  /** What it wrote on stderr so far. */
  stderr(): string;
  /** The first event at index `from` or later that matches; waits up to 60 s, then throws with every event and stderr. */
  next(pred: (e: WatchEvent) => boolean, what: string, from?: number): Promise<WatchEvent>;
  /** SIGKILL, and the process reaped. */
  stop(): Promise<void>;
}

export function startWatch(f: TestFleet, args: string[]): WatchProcess {
  const events: WatchEvent[] = [];
  let stderr = "";
  const child = execa("node", [CLI, "watch", "-C", f.dir, "--json", ...args], { env: f.env, reject: false, stdin: "ignore" });
  let buf = "";
  child.stdout!.on("data", (b: Buffer) => {
    buf += b.toString();
    for (let nl; (nl = buf.indexOf("\n")) >= 0; buf = buf.slice(nl + 1)) events.push(JSON.parse(buf.slice(0, nl)));
  });
  child.stderr!.on("data", (b: Buffer) => (stderr += b.toString()));
  return {
    process: child,
    events,
    stderr: () => stderr,
    async next(pred, what, from = 0) {
      for (const end = Date.now() + 60_000; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {
        const e = events.slice(from).find(pred);
        if (e) return e;
      }
      throw new Error(`no ${what} event; got:\n${events.map((e) => e.message).join("\n")}\nstderr: ${stderr}`);
    },
    async stop() {
      child.kill("SIGKILL");
      await child;
    },
  };
}
