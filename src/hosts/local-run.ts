import { spawn } from "node:child_process";
import { QfleetError } from "../errors.js";
import type { RunOptions, RunResult } from "./host.js";

const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * Host.run on this machine: an argv (never a shell line) in its own process group, so Ctrl-C
 * on our terminal cannot kill an action in flight; stdout streamed to onStdout; killed after
 * the timeout. node:child_process rather than execa: execa costs ~70 ms of import on every CLI
 * start (measured with bench/), and this is all the process handling the Host contract needs.
 */
export function runLocal(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  if (argv.length === 0) return Promise.reject(new QfleetError("BAD_INPUT", "empty command"));
  const [file, ...args] = argv;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      signal: opts.signal,
      detached: true, // own process group: Ctrl-C on our terminal must not kill an action in flight
    });
    let timedOut = false;
    // our own timer (not spawn's `timeout`, which keeps the process alive when spawning failed)
    const timer = timeoutMs > 0 ? setTimeout(() => ((timedOut = true), child.kill("SIGKILL")), timeoutMs) : undefined;
    let stdout = "";
    let stderr = "";
    let spawnError: NodeJS.ErrnoException | undefined;
    child.stdout!.setEncoding("utf8").on("data", (c: string) => {
      stdout += c;
      opts.onStdout?.(c);
    });
    child.stderr!.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    child.on("error", (e: NodeJS.ErrnoException) => {
      spawnError = e;
      if (child.pid === undefined) finish(null, null); // never started: no 'close' follows
    });
    child.on("close", (code, signal) => finish(code, signal));
    let settled = false;
    function finish(code: number | null, signal: NodeJS.Signals | null) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (spawnError?.code === "ENOENT") return reject(new QfleetError("MISSING_TOOL", `${file}: command not found`, { command: argv }));
      if (spawnError?.name === "AbortError") return reject(new QfleetError("COMMAND_FAILED", `${file} was cancelled`, { command: argv, stderr }));
      if (spawnError) return reject(new QfleetError("COMMAND_FAILED", `${file} failed: ${spawnError.message}`, { command: argv, stderr }));
      if (timedOut) {
        return reject(new QfleetError("TIMEOUT", `${file} did not finish within ${Math.round(timeoutMs / 1000)} s`, { command: argv, stderr }));
      }
      const exitCode = code ?? 128;
      if (exitCode !== 0 && !opts.allowFailure) {
        return reject(
          new QfleetError("COMMAND_FAILED", `${file} exited ${code ?? `on ${signal}`}: ${firstLine(stderr) || firstLine(stdout)}`, {
            command: argv,
            exitCode,
            stderr,
          }),
        );
      }
      resolve({ stdout, stderr, exitCode });
    }
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
 * Runs a program attached to this terminal (stdin, stdout and stderr inherited) and resolves
 * with its exit code: for `qfleet ssh`, where the person talks to the program directly.
 */
export function runAttached(argv: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: "inherit" });
    child.once("error", (e: NodeJS.ErrnoException) =>
      reject(e.code === "ENOENT" ? new QfleetError("MISSING_TOOL", `${argv[0]}: command not found`, { command: argv }) : e),
    );
    child.once("close", (code, signal) => resolve(code ?? (signal ? 128 + 15 : 1)));
  });
}
