import type { Duplex } from "node:stream";
import { QfleetError } from "../errors.js";
import type { Host } from "../hosts/host.js";

/**
 * A minimal QMP client over any byte stream (a local unix socket, or an SSH stream-local
 * forward). Contract: connect() completes the greeting and `qmp_capabilities`; execute()
 * resolves with the command's `return` value or rejects with a QfleetError naming the QMP
 * error class; commands are serialised (one in flight); events go to onEvent, never answer a command.
 * Every wait is bounded by the timeout.
 */
export class QmpClient {
  private buf = "";
  /** Replies that arrived while nobody waited, in order. */
  private replies: Record<string, unknown>[] = [];
  private waiting: { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void } | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private closedError: Error | null = null;
  /** Called for each event QEMU sends, as it arrives; nothing else sees events. */
  onEvent: ((event: string) => void) | null = null;
  /** Called once when the connection ends (QEMU exited, or close()). */
  onClose: (() => void) | null = null;

  private constructor(
    private readonly stream: Duplex,
    private readonly label: string,
    private readonly timeoutMs: number,
  ) {
    stream.setEncoding?.("utf8");
    stream.on("data", (chunk: string) => this.onData(chunk));
    const onEnd = (e?: Error) => {
      if (this.closedError) return;
      this.closedError = new QfleetError("CONNECTION", `QMP connection to ${label} closed${e ? `: ${e.message}` : ""}`);
      this.waiting?.reject(this.closedError);
      this.waiting = null;
      this.onClose?.();
    };
    stream.on("error", onEnd);
    stream.on("end", () => onEnd()); // EOF: QEMU is gone (read in the poll phase, before "close")
    stream.on("close", () => onEnd());
  }

  /** Whether everything received was a whole message, the connection still open: nothing is on its way in. */
  get settled(): boolean {
    return this.closedError === null && this.buf === "";
  }

  /** `signal` ends a connect still waiting (for the greeting: QEMU greets one client at a time). */
  static async connect(host: Host, socketPath: string, timeoutMs = 5000, signal?: AbortSignal): Promise<QmpClient> {
    const stream = await host.connectUnix(socketPath);
    const c = new QmpClient(stream, socketPath, timeoutMs);
    const abort = () => c.close();
    if (signal?.aborted) abort();
    signal?.addEventListener("abort", abort, { once: true });
    try {
      const greeting = await c.next();
      if (!("QMP" in greeting)) throw new QfleetError("CONNECTION", `${socketPath} is not a QMP socket`);
      await c.execute("qmp_capabilities");
      return c;
    } catch (e) {
      c.close();
      throw e;
    } finally {
      signal?.removeEventListener("abort", abort);
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
    const reply = this.replies.shift();
    if (reply) return Promise.resolve(reply);
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
    for (let nl = this.buf.indexOf("\n"); nl >= 0; nl = this.buf.indexOf("\n")) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      const msg = parseLine(line);
      if (!msg) continue;
      if ("event" in msg) {
        this.onEvent?.(String(msg.event));
      } else if (this.waiting) {
        const w = this.waiting;
        this.waiting = null;
        w.resolve(msg);
      } else this.replies.push(msg);
    }
  }
}

/** A QMP message (a JSON object), or null for anything else. */
function parseLine(line: string): Record<string, unknown> | null {
  if (!line) return null;
  try {
    const msg: unknown = JSON.parse(line);
    return msg !== null && typeof msg === "object" && !Array.isArray(msg) ? (msg as Record<string, unknown>) : null;
  } catch {
    return null;
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
