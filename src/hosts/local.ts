import { execa } from "execa";
import { promises as fs } from "node:fs";
import net from "node:net";
import path from "node:path";
import type { Duplex } from "node:stream";
import { QfleetError, toQfleetError } from "../errors.js";
import type { FileStat, Host, HostChild, RunOptions, RunResult } from "./host.js";

const DEFAULT_TIMEOUT_MS = 60_000;

/** The machine qfleet runs on. */
export class LocalHost implements Host {
  readonly name = "local";

  async run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
    if (argv.length === 0) throw new QfleetError("BAD_INPUT", "empty command");
    const [file, ...args] = argv;
    const child = execa(file, args, {
      reject: false,
      timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      input: opts.input,
      stdin: opts.input === undefined ? "ignore" : undefined,
      cancelSignal: opts.signal,
      encoding: "utf8",
      stripFinalNewline: false,
    });
    if (opts.onStdout) child.stdout?.on("data", (b: Buffer) => opts.onStdout!(b.toString("utf8")));
    const r = await child;
    const stdout = String(r.stdout ?? "");
    const stderr = String(r.stderr ?? "");
    if (r.failed && (r.exitCode === undefined || r.timedOut || r.isCanceled)) {
      const code = (r.cause as NodeJS.ErrnoException | undefined)?.code;
      if (code === "ENOENT") {
        throw new QfleetError("MISSING_TOOL", `${file}: command not found`, { command: argv });
      }
      if (r.timedOut) {
        throw new QfleetError("TIMEOUT", `${file} did not finish within ${Math.round((opts.timeoutMs ?? DEFAULT_TIMEOUT_MS) / 1000)} s`, {
          command: argv,
          stderr,
        });
      }
      throw new QfleetError("COMMAND_FAILED", `${file} failed: ${r.shortMessage ?? "unknown error"}`, { command: argv, stderr });
    }
    const exitCode = r.exitCode ?? 1;
    if (exitCode !== 0 && !opts.allowFailure) {
      throw new QfleetError("COMMAND_FAILED", `${file} exited ${exitCode}: ${firstLine(stderr) || firstLine(stdout)}`, {
        command: argv,
        exitCode,
        stderr,
      });
    }
    return { stdout, stderr, exitCode };
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
    try {
      const s = await fs.stat(p);
      const kind = s.isFile() ? "file" : s.isDirectory() ? "dir" : s.isSocket() ? "socket" : "other";
      return { kind, size: s.size, mode: s.mode & 0o7777, mtimeMs: s.mtimeMs };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT" || (e as NodeJS.ErrnoException).code === "ENOTDIR") return null;
      throw toQfleetError(e);
    }
  }

  async list(dir: string): Promise<string[]> {
    return wrap(() => fs.readdir(dir));
  }

  spawn(argv: string[]): HostChild {
    const [file, ...args] = argv;
    const child = execa(file, args, { reject: false, stdin: "pipe", stdout: "pipe", stderr: "ignore", encoding: "utf8" });
    return {
      stdin: child.stdin!,
      stdout: child.stdout!,
      exited: child.then((r) => (r.signal ? null : (r.exitCode ?? null)), () => null),
      kill: () => child.kill(),
    };
  }

  connectUnix(p: string): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      const sock = net.createConnection({ path: p });
      sock.once("connect", () => {
        sock.off("error", reject);
        resolve(sock);
      });
      sock.once("error", (e: NodeJS.ErrnoException) =>
        reject(new QfleetError("CONNECTION", `cannot connect to ${p}: ${e.code ?? e.message}`)),
      );
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

function firstLine(s: string): string {
  return s.split("\n").map((l) => l.trim()).find((l) => l.length > 0) ?? "";
}

async function wrap<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw toQfleetError(e);
  }
}
