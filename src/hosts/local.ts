import { spawn } from "node:child_process";
import { promises as fs } from "node:fs";
import net from "node:net";
import { hostname } from "node:os";
import path from "node:path";
import type { Duplex } from "node:stream";
import { QfleetError, toQfleetError } from "../errors.js";
import type { FileStat, Host, HostChild, RunOptions, RunResult } from "./host.js";

const DEFAULT_TIMEOUT_MS = 60_000;

/** This machine's name, as instance owners and lock holders record it. */
export const thisMachine = (): string => hostname();

/** The machine qfleet runs on. */
export class LocalHost implements Host {
  readonly name = "local";

  /* node:child_process rather than execa: execa costs ~70 ms of import on every CLI start
     (measured with bench/), and this is all the process handling the Host contract needs. */
  run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
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

  async readFile(p: string): Promise<string> {
    return wrap(() => fs.readFile(p, "utf8"));
  }

  async writeFile(p: string, data: string, opts: { mode?: number } = {}): Promise<void> {
    const tmp = path.join(path.dirname(p), `.${path.basename(p)}.${process.pid}.${Date.now()}.tmp`);
    await wrap(async () => {
      try {
        await fs.writeFile(tmp, data, { mode: opts.mode ?? 0o644 });
        await fs.rename(tmp, p);
      } catch (e) {
        await fs.rm(tmp, { force: true });
        throw e;
      }
    });
  }

  async rename(from: string, to: string): Promise<void> {
    return wrap(() => fs.rename(from, to));
  }

  async remove(p: string, opts: { recursive?: boolean } = {}): Promise<void> {
    return wrap(() => fs.rm(p, { force: true, recursive: opts.recursive ?? false }));
  }

  async mkdir(p: string, opts: { mode?: number } = {}): Promise<void> {
    await wrap(() => fs.mkdir(p, { recursive: true, mode: opts.mode }));
  }

  async stat(p: string): Promise<FileStat | null> {
    return statWith(fs.stat, p);
  }

  async lstat(p: string): Promise<FileStat | null> {
    return statWith(fs.lstat, p);
  }

  async rmdir(p: string): Promise<boolean> {
    try {
      await fs.rmdir(p);
      return true;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return true;
      if (code === "ENOTEMPTY" || code === "EEXIST") return false;
      throw toQfleetError(e);
    }
  }

  async list(dir: string): Promise<string[]> {
    return wrap(() => fs.readdir(dir));
  }

  spawn(argv: string[]): HostChild {
    const [file, ...args] = argv;
    // own process group (Ctrl-C reaches only us); it still ends with us: its stdin closes
    const child = spawn(file, args, { stdio: ["pipe", "pipe", "ignore"], detached: true });
    child.on("error", () => undefined); // surfaces through `exited`
    return {
      stdin: child.stdin!,
      stdout: child.stdout!,
      exited: new Promise((resolve) => child.on("close", (code) => resolve(code))),
      kill: () => child.kill("SIGKILL"),
    };
  }

  connectUnix(p: string): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      const sock = net.createConnection({ path: p });
      sock.once("connect", () => {
        sock.off("error", reject);
        resolve(sock);
      });
      sock.once("error", (e: NodeJS.ErrnoException) => reject(new QfleetError("CONNECTION", `cannot connect to ${p}: ${e.code ?? e.message}`)));
    });
  }

  connectTcp(port: number, address = "127.0.0.1"): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      const sock = net.createConnection({ host: address, port });
      sock.once("connect", () => {
        sock.off("error", reject);
        resolve(sock);
      });
      sock.once("error", (e: NodeJS.ErrnoException) =>
        reject(new QfleetError("CONNECTION", `cannot connect to ${address}:${port}: ${e.code ?? e.message}`)),
      );
    });
  }

  async listProcesses(prefix: string): Promise<{ pid: number; argv: string[] }[]> {
    const pids = (await fs.readdir("/proc").catch(() => [] as string[])).filter((e) => /^\d+$/.test(e));
    const found = await Promise.all(
      pids.map(async (pid) => {
        const raw = await fs.readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
        const argv = raw.split("\0").slice(0, -1);
        return argv.length && (argv[0].split("/").pop() ?? "").startsWith(prefix) ? { pid: Number(pid), argv } : null;
      }),
    );
    return found.filter((p) => p !== null);
  }

  async kill(pid: number, signal: NodeJS.Signals | 0): Promise<boolean> {
    try {
      process.kill(pid, signal);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ESRCH") return false;
      throw toQfleetError(e);
    }
  }

  async close(): Promise<void> {}
}

async function statWith(fn: typeof fs.stat | typeof fs.lstat, p: string): Promise<FileStat | null> {
  try {
    const s = await fn(p);
    const kind = s.isFile() ? "file" : s.isDirectory() ? "dir" : s.isSocket() ? "socket" : s.isSymbolicLink() ? "symlink" : "other";
    return { kind, size: s.size, mode: s.mode & 0o7777, mtimeMs: s.mtimeMs };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT" || (e as NodeJS.ErrnoException).code === "ENOTDIR") return null;
    throw toQfleetError(e);
  }
}

function firstLine(s: string): string {
  return (
    s
      .split("\n")
      .map((l) => l.trim())
      .find((l) => l.length > 0) ?? ""
  );
}

async function wrap<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw toQfleetError(e);
  }
}

/** The one Host for this machine, shared by everything in the process (its capability probe is cached per Host). */
export const LOCAL = new LocalHost();
