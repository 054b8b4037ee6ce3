import { StringDecoder } from "node:string_decoder";
import type { Client, ClientChannel } from "ssh2";
import { QfleetError } from "../../errors.js";
import type { RunOptions, RunResult } from "../host.js";

const DEFAULT_TIMEOUT_MS = 60_000;

/** A command that never started (no channel): safe to retry on a new connection. */
export class NotStartedError extends Error {}

/** An open exec channel and, once it arrived, the command's exit status. */
export interface ExecChannel {
  ch: ClientChannel;
  exit?: { code: number | null; signal?: string };
}

/**
 * Opens an exec channel for an already quoted command line. The exit status is recorded from
 * the moment the channel exists (a fast command's status, EOF and close can arrive in the same
 * packet as the open confirmation, before an awaiting caller could listen). A refused channel
 * open is retried a few times (a server's MaxSessions, 10 by default with OpenSSH, may be
 * reached for a moment); a connection that is gone rejects with NotStartedError.
 */
export async function openExec(client: Client, command: string): Promise<ExecChannel> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await new Promise<ExecChannel>((resolve, reject) => {
        try {
          client.exec(command, (err, ch) => {
            if (err) return reject(err);
            const ec: ExecChannel = { ch };
            ch.on("exit", (code: number | null, signal?: string) => (ec.exit = { code, signal }));
            resolve(ec);
          });
        } catch (e) {
          reject(e); // "Not connected"
        }
      });
    } catch (e) {
      const msg = (e as Error).message;
      if (/Channel open failure/.test(msg) && attempt < 5) {
        await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
        continue;
      }
      throw new NotStartedError(msg);
    }
  }
}

/**
 * Runs one command over an exec channel with the Host.run contract: stdin gets `input` or EOF,
 * stdout streams to onStdout, the timeout and the abort signal send the remote process a
 * signal and close the channel; exit 127 with "not found" is MISSING_TOOL (as a missing
 * binary is locally); a connection lost while the command runs is CONNECTION, never retried
 * (the command may have had effects).
 */
export async function execCommand(client: Client, command: string, argv: string[], hostName: string, opts: RunOptions = {}): Promise<RunResult> {
  const file = argv[0];
  if (opts.signal?.aborted) throw new QfleetError("COMMAND_FAILED", `${file} was cancelled`, { command: argv });
  const ec = await openExec(client, command);
  const ch = ec.ch;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise<RunResult>((resolve, reject) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const live = new StringDecoder("utf8");
    let settled = false;
    const finish = (e: QfleetError | null, r?: RunResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
      if (e) reject(e);
      else resolve(r!);
    };
    // A timed-out or cancelled command is signalled and its channel closed; the promise does
    // not wait for the server to confirm (a server that ignores signals would keep it open).
    const stop = (why: "timeout" | "cancelled") => {
      signalChannel(ch, why === "timeout" ? "KILL" : "TERM");
      ch.close();
      const details = { command: argv, stderr: Buffer.concat(err).toString("utf8") };
      finish(
        why === "timeout"
          ? new QfleetError("TIMEOUT", `${file} did not finish within ${Math.round(timeoutMs / 1000)} s on ${hostName}`, details)
          : new QfleetError("COMMAND_FAILED", `${file} was cancelled`, details),
      );
    };
    const timer = timeoutMs > 0 ? setTimeout(() => stop("timeout"), timeoutMs) : undefined;
    const onAbort = () => stop("cancelled");
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    ch.on("data", (b: Buffer) => {
      out.push(b);
      if (opts.onStdout) opts.onStdout(live.write(b));
    });
    ch.stderr.on("data", (b: Buffer) => err.push(b));
    ch.on("close", () => {
      const stdout = Buffer.concat(out).toString("utf8");
      const stderr = Buffer.concat(err).toString("utf8");
      const details = { command: argv, stderr };
      const exit = ec.exit;
      if (!exit)
        return finish(
          new QfleetError("CONNECTION", `the connection to ${hostName} dropped while ${file} ran (it may or may not have finished)`, details),
        );
      if (exit.code === 127 && /not found/i.test(stderr)) {
        return finish(new QfleetError("MISSING_TOOL", `${file}: command not found on ${hostName}`, { ...details, exitCode: 127 }));
      }
      const exitCode = exit.code ?? 128;
      if (exitCode !== 0 && !opts.allowFailure) {
        const why = exit.code === null ? `on signal ${exit.signal}` : String(exit.code);
        return finish(
          new QfleetError("COMMAND_FAILED", `${file} exited ${why} on ${hostName}: ${firstLine(stderr) || firstLine(stdout)}`, {
            ...details,
            exitCode,
          }),
        );
      }
      finish(null, { stdout, stderr, exitCode });
    });
    if (opts.input !== undefined) ch.end(opts.input);
    else ch.end();
  });
}

function firstLine(s: string): string {
  return (
    s
      .split("\n")
      .map((l) => l.trim())
      .find((l) => l.length > 0) ?? ""
  );
}

/**
 * Sends a signal to the command of an open session channel (OpenSSH delivers it to the
 * command's process group). ssh2's Channel.signal() silently does nothing once stdin was
 * ended (it checks `writable`), and our commands get EOF on stdin at once, so the request is
 * sent through the channel's protocol object (ssh2 internals, pinned by the ^1 range).
 */
export function signalChannel(ch: ClientChannel, name: "KILL" | "TERM"): void {
  const c = ch as unknown as { outgoing?: { id: number; state: string }; _client?: { _protocol?: { signal(id: number, sig: string): void } } };
  if (c.outgoing && ["open", "eof"].includes(c.outgoing.state)) c._client?._protocol?.signal(c.outgoing.id, name);
}
