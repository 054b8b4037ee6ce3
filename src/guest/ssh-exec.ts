import { randomBytes } from "node:crypto";
import type { Client, ClientChannel } from "ssh2";
import { QfleetError } from "../errors.js";
import { GUEST_KILL_AFTER_S, withGuestTimeout } from "./shell-wrap.js";
import { sendSignal, sweep } from "./ssh-kill.js";

export interface ExecResult {
  exitCode: number | null;
  signal?: string;
  stdout: string;
  stderr: string;
  truncated: boolean;
  timedOut: boolean;
  durationMs: number;
}

export interface ExecOptions {
  stdin?: string | Buffer;
  timeoutMs: number;
  maxBytes?: number;
}

export const DEFAULT_MAX_BYTES = 1024 * 1024;
/** After the deadline's TERM: how long the command has to end before the channel gets KILL and is closed. */
const KILL_GRACE_MS = GUEST_KILL_AFTER_S * 1000 + 500;
/** After KILL and close: how long to wait for the guest to confirm the close before giving up on it. */
const CLOSE_WAIT_MS = 1000;

/** Collects up to `max` bytes of a stream; the rest is counted as dropped (and the stream still drained). */
class Capture {
  private chunks: Buffer[] = [];
  private kept = 0;
  dropped = false;
  constructor(private readonly max: number) {}
  push = (b: Buffer) => {
    const room = this.max - this.kept;
    if (b.length > room) this.dropped = true;
    if (room <= 0) return;
    const part = b.length > room ? b.subarray(0, room) : b;
    this.chunks.push(part);
    this.kept += part.length;
  };
  text = () => Buffer.concat(this.chunks).toString("utf8");
}

/**
 * Runs `command` under /bin/sh -c in the guest. Contract: stdin (when given) is written, then
 * stdin is always ended; stdout and stderr are each kept up to maxBytes (default 1 MiB), the
 * rest dropped (`truncated`) while still read so the command never blocks on a full pipe;
 * resolves when the guest closes the channel. At timeoutMs: TERM to the channel's process,
 * KILL_GRACE_MS later KILL and close, then a sweep (a second command) ends every process that
 * still carries the command's mark (its children included); the result has timedOut true and
 * exitCode null. The guest's own `timeout`, when it has one, ends the command too.
 * Rejects only when no command could be started (CONNECTION when the session is gone).
 */
export async function runExec(client: Client, where: string, command: string, opts: ExecOptions): Promise<ExecResult> {
  if (!Number.isFinite(opts.timeoutMs) || opts.timeoutMs <= 0)
    throw new QfleetError("BAD_INPUT", `exec timeoutMs must be positive, not ${opts.timeoutMs}`);
  const mark = randomBytes(12).toString("hex");
  const line = withGuestTimeout(command, opts.timeoutMs / 1000, mark);
  const out = new Capture(opts.maxBytes ?? DEFAULT_MAX_BYTES);
  const err = new Capture(opts.maxBytes ?? DEFAULT_MAX_BYTES);
  const start = Date.now();
  return new Promise((resolve, reject) => {
    let channel: ClientChannel | undefined;
    let exitCode: number | null = null;
    let signal: string | undefined;
    let timedOut = false;
    let done = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = (e?: QfleetError) => {
      if (done) return;
      done = true;
      timers.forEach(clearTimeout);
      if (e) return reject(e);
      const result = (): ExecResult => ({
        exitCode: timedOut ? null : exitCode,
        ...(signal && { signal }),
        stdout: out.text(),
        stderr: err.text(),
        truncated: out.dropped || err.dropped,
        timedOut,
        durationMs: Date.now() - start,
      });
      if (!timedOut || !channel) return resolve(result());
      void sweep(client, mark).then(() => resolve(result()));
    };
    timers.push(
      setTimeout(() => {
        timedOut = true;
        if (!channel) return finish(); // the guest never opened the channel: nothing runs yet
        sendSignal(channel, "TERM");
        timers.push(
          setTimeout(() => {
            sendSignal(channel!, "KILL");
            channel!.close();
            timers.push(setTimeout(() => finish(), CLOSE_WAIT_MS));
          }, KILL_GRACE_MS),
        );
      }, opts.timeoutMs),
    );
    const started = (e: Error | undefined, ch: ClientChannel) => {
      if (e) return finish(startError(where, e));
      if (done) {
        // the guest answered after the deadline: the command may have started, so end it all the same
        sendSignal(ch, "KILL");
        ch.close();
        return void sweep(client, mark);
      }
      channel = ch;
      ch.on("data", out.push);
      ch.stderr.on("data", err.push);
      ch.on("error", () => undefined); // a write after the command exited; the close below reports the end
      ch.on("exit", (code: number | null, sig?: string) => {
        exitCode = typeof code === "number" ? code : null;
        signal = sig ?? undefined;
      });
      ch.on("close", () => finish());
      if (opts.stdin !== undefined) ch.end(opts.stdin);
      else ch.end();
    };
    try {
      client.exec(line, started);
    } catch (e) {
      finish(startError(where, e as Error)); // ssh2 throws "Not connected" once the connection is gone
    }
  });
}

function startError(where: string, e: Error): QfleetError {
  if (/not connected|no response from server/i.test(e.message)) {
    return new QfleetError("CONNECTION", `${where}: the SSH session to the guest is closed (${e.message})`, { hint: "open a new session" });
  }
  return new QfleetError("COMMAND_FAILED", `${where}: the guest refused to run a command: ${e.message}`);
}
