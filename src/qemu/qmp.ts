import type { Duplex } from "node:stream";
import { QfleetError } from "../errors.js";
import type { Host } from "../hosts/host.js";

/**
 * A minimal QMP client over any byte stream (a local unix socket, or an SSH stream-local
 * forward). Contract: connect() completes the greeting and `qmp_capabilities`; execute()
 * resolves with the command's `return` value or rejects with a QfleetError naming the QMP
 * error class; commands are serialised (one in flight), events are collected, not answered.
 * Every wait is bounded by the timeout.
 */
export class QmpClient {
  private buf = "";
  private waiting: { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void } | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private closedError: Error | null = null;
  readonly events: { event: string; data?: unknown }[] = [];

  private constructor(
    private readonly stream: Duplex,
    private readonly label: string,
    private readonly timeoutMs: number,
  ) {
    stream.setEncoding?.("utf8");
    stream.on("data", (chunk: string) => this.onData(chunk));
    const onEnd = (e?: Error) => {
      this.closedError = new QfleetError("CONNECTION", `QMP connection to ${label} closed${e ? `: ${e.message}` : ""}`);
      this.waiting?.reject(this.closedError);
      this.waiting = null;
    };
    stream.on("error", onEnd);
    stream.on("close", () => onEnd());
  }

  static async connect(host: Host, socketPath: string, timeoutMs = 5000): Promise<QmpClient> {
    const stream = await host.connectUnix(socketPath);
    const c = new QmpClient(stream, socketPath, timeoutMs);
    try {
      const greeting = await c.next();
      if (!("QMP" in greeting)) throw new QfleetError("CONNECTION", `${socketPath} is not a QMP socket`);
      await c.execute("qmp_capabilities");
      return c;
    } catch (e) {
      c.close();
      throw e;
    }
  }

  /** Runs one QMP command; serialised with any command already in flight. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    const run = async (): Promise<T> => {
      if (this.closedError) throw this.closedError;
      this.stream.write(JSON.stringify(args ? { execute: command, arguments: args } : { execute: command }) + "\n");
      const msg = await this.next();
      if ("error" in msg) {
        const err = msg.error as { class?: string; desc?: string };
        throw new QfleetError("COMMAND_FAILED", `QMP ${command} failed: ${err.desc ?? "unknown error"} (${err.class ?? "?"})`);
      }
      return msg.return as T;
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  /** Runs an HMP command through QMP (hostfwd_add and friends have no QMP equivalent). */
  async hmp(commandLine: string): Promise<string> {
    const out = await this.execute<string>("human-monitor-command", { "command-line": commandLine });
    return out ?? "";
  }

  close(): void {
    this.stream.destroy();
  }

  /** The next non-event message, within the timeout. */
  private next(): Promise<Record<string, unknown>> {
    const line = this.takeMessage();
    if (line) return Promise.resolve(line);
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = null;
        reject(new QfleetError("TIMEOUT", `QMP on ${this.label} did not answer within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.waiting = {
        resolve: (v) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      };
    });
  }

  private onData(chunk: string): void {
    this.buf += chunk;
    if (!this.waiting) return;
    const msg = this.takeMessage();
    if (msg) {
      const w = this.waiting;
      this.waiting = null;
      w.resolve(msg);
    }
  }

  private takeMessage(): Record<string, unknown> | null {
    for (;;) {
      const nl = this.buf.indexOf("\n");
      if (nl < 0) return null;
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (!line) continue;
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line);
      } catch {
        continue;
      }
      if ("event" in msg) {
        this.events.push({ event: String(msg.event), data: msg.data });
        continue;
      }
      return msg;
    }
  }
}

/** Connects, runs fn, always closes. */
export async function withQmp<T>(host: Host, socketPath: string, fn: (q: QmpClient) => Promise<T>, timeoutMs?: number): Promise<T> {
  const q = await QmpClient.connect(host, socketPath, timeoutMs);
  try {
    return await fn(q);
  } finally {
    q.close();
  }
}
