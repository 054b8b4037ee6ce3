import type { Duplex } from "node:stream";
import { QfleetError, isQfleetError } from "../errors.js";
import type { Host } from "../hosts/host.js";

type Reply = Record<string, unknown>;
const SENTINEL = 0xff; // never valid in UTF-8: it flushes the agent's JSON parser, and precedes guest-sync-delimited's reply

/**
 * A QEMU guest agent (qemu-ga) client over any byte stream to a VM's `org.qemu.guest_agent.0` socket.
 * Contracts:
 * - the socket accepts connections with no agent behind it (and holds a second client unanswered while
 *   the agent serves the first), so every wait is bounded by a timeout;
 * - the agent may hold stale replies from an earlier client: sync() sends 0xFF + guest-sync-delimited and
 *   discards everything up to the reply's 0xFF and the reply with our id; it runs before the first command
 *   and again after any command that timed out (its late reply must not be taken for the next one's);
 * - execute() resolves with `return`, or rejects with COMMAND_FAILED naming the agent's error class and
 *   desc (also in `cause` as { class, desc }); commands are serialised, one in flight.
 */
export class QgaClient {
  private pending: Buffer[] = []; // bytes of an incomplete line
  private messages: Reply[] = [];
  private discarding = false; // drop bytes until a 0xFF (sync in progress)
  private needSync = true;
  private closed: QfleetError | null = null;
  private wake: (() => void) | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly stream: Duplex,
    readonly label: string,
    readonly timeoutMs: number,
  ) {
    stream.on("data", (chunk: Buffer | string) => this.onData(typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk));
    const onEnd = (e?: Error) => {
      this.closed ??= new QfleetError("CONNECTION", `guest agent connection to ${label} closed${e ? `: ${e.message}` : ""}`);
      this.wake?.();
    };
    stream.on("error", onEnd);
    stream.on("close", () => onEnd());
  }

  /** Brings the stream in step with the agent; rejects with TIMEOUT when no reply comes within timeoutMs. */
  async sync(timeoutMs = this.timeoutMs): Promise<void> {
    const id = Math.floor(Math.random() * 2 ** 31);
    this.messages = [];
    this.pending = [];
    this.discarding = true;
    this.needSync = true;
    const cmd = JSON.stringify({ execute: "guest-sync-delimited", arguments: { id } }) + "\n";
    this.stream.write(Buffer.concat([Buffer.from([SENTINEL]), Buffer.from(cmd, "utf8")]));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const msg = await this.next(deadline - Date.now(), "guest-sync-delimited");
      if (msg.return === id) break; // anything else is an earlier client's
    }
    this.needSync = false;
  }

  /** Runs one agent command (serialised with any in flight); its reply must come within timeoutMs. */
  execute<T = unknown>(command: string, args?: object, timeoutMs = this.timeoutMs): Promise<T> {
    return this.serial(async () => {
      this.send(command, args);
      return unwrap<T>(command, await this.reply(command, timeoutMs));
    }, timeoutMs);
  }

  /**
   * For a command that sends no reply when it succeeds (guest-shutdown): sends it and a guest-sync behind
   * it. Resolves when the sync's reply comes (the command ran and succeeded), nothing comes within timeoutMs
   * or the connection closes (the guest is going down); rejects with COMMAND_FAILED on the command's error.
   */
  executeNoReply(command: string, args?: object, timeoutMs = this.timeoutMs): Promise<void> {
    return this.serial(async () => {
      const id = Math.floor(Math.random() * 2 ** 31);
      this.send(command, args);
      this.send("guest-sync", { id });
      const msg = await this.reply(command, timeoutMs).catch((e) => {
        if (isQfleetError(e) && (e.code === "TIMEOUT" || e.code === "CONNECTION")) return { return: id };
        throw e;
      });
      if (msg.return !== id) unwrap(command, msg);
    }, timeoutMs);
  }

  close(): void {
    this.stream.destroy();
  }

  private serial<T>(run: () => Promise<T>, timeoutMs: number): Promise<T> {
    const step = async () => {
      if (this.needSync) await this.sync(timeoutMs);
      return run();
    };
    const p = this.queue.then(step, step);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private send(command: string, args?: object): void {
    this.stream.write(JSON.stringify(args ? { execute: command, arguments: args } : { execute: command }) + "\n");
  }

  /** The next reply; a timeout leaves the stream out of step, so the next command syncs first. */
  private reply(command: string, timeoutMs: number): Promise<Reply> {
    return this.next(timeoutMs, command).catch((e) => {
      if (isQfleetError(e) && e.code === "TIMEOUT") this.needSync = true;
      throw e;
    });
  }

  private next(timeoutMs: number, what: string): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const done = (settle: () => void) => {
        clearTimeout(timer);
        this.wake = null;
        settle();
      };
      const check = () => {
        const msg = this.messages.shift();
        if (msg) done(() => resolve(msg));
        else if (this.closed) done(() => reject(this.closed));
      };
      const ms = Math.max(timeoutMs, 1);
      const timer = setTimeout(
        () => done(() => reject(new QfleetError("TIMEOUT", `guest agent on ${this.label} did not answer ${what} within ${ms} ms`))),
        ms,
      );
      this.wake = check;
      check();
    });
  }

  private onData(chunk: Buffer): void {
    const ff = chunk.lastIndexOf(SENTINEL);
    if (ff >= 0) {
      this.pending = []; // a 0xFF starts a fresh message: whatever came before it is stale
      this.discarding = false;
      chunk = chunk.subarray(ff + 1);
    } else if (this.discarding) return;
    for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a)) {
      const line = Buffer.concat([...this.pending, chunk.subarray(0, nl)])
        .toString("utf8")
        .trim();
      this.pending = [];
      chunk = chunk.subarray(nl + 1);
      try {
        const msg: unknown = line ? JSON.parse(line) : null;
        if (msg && typeof msg === "object" && !Array.isArray(msg)) this.messages.push(msg as Reply);
      } catch {
        /* not JSON: noise from before the agent started */
      }
    }
    if (chunk.length) this.pending.push(chunk);
    this.wake?.();
  }
}

function unwrap<T>(command: string, msg: Reply): T {
  if ("error" in msg) {
    const err = (msg.error ?? {}) as { class?: string; desc?: string };
    throw new QfleetError("COMMAND_FAILED", `guest agent ${command} failed: ${err.desc ?? "unknown error"} (${err.class ?? "?"})`, {
      cause: { class: err.class, desc: err.desc },
    });
  }
  return msg.return as T;
}

/**
 * Connects to the agent socket, syncs, runs fn, always closes. No answer to the sync within timeoutMs
 * rejects with CONNECTION "no guest agent answers on <path> ..."; a socket that cannot be opened rejects
 * with the host's CONNECTION error.
 */
export async function withQga<T>(host: Host, socketPath: string, fn: (q: QgaClient) => Promise<T>, timeoutMs = 3000): Promise<T> {
  const q = new QgaClient(await connectWithin(host, socketPath, timeoutMs), socketPath, timeoutMs);
  try {
    await q.sync().catch((e) => {
      if (!isQfleetError(e) || (e.code !== "TIMEOUT" && e.code !== "CONNECTION")) throw e;
      throw new QfleetError("CONNECTION", `no guest agent answers on ${socketPath} (is qemu-guest-agent running in the guest?)`, { cause: e });
    });
    return await fn(q);
  } finally {
    q.close();
  }
}

function connectWithin(host: Host, socketPath: string, timeoutMs: number): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      reject(new QfleetError("CONNECTION", `cannot connect to ${socketPath} within ${timeoutMs} ms`));
    }, timeoutMs);
    host.connectUnix(socketPath).then(
      (s) => (clearTimeout(timer), late ? s.destroy() : resolve(s)),
      (e) => (clearTimeout(timer), reject(e)),
    );
  });
}
