import { spawn } from "node:child_process";
import { runLocal } from "./local-run.js";
import { fingerprintNow, isMissing, listNow, processesNow, toFileStat } from "./local-now.js";
import { constants as fsConstants, createReadStream, createWriteStream, promises as fs } from "node:fs";
import net from "node:net";
import { hostname, machine, type } from "node:os";
import path from "node:path";
import type { Duplex, Readable, Writable } from "node:stream";
import { QfleetError, toQfleetError } from "../errors.js";
import type { FileStat, Host, HostChild, RunOptions, RunResult } from "./host.js";

/** This machine's name, as instance owners and lock holders record it. */
export const thisMachine = (): string => hostname();

/** The machine qfleet runs on. */
export class LocalHost implements Host {
  readonly name = "local";

  run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
    return runLocal(argv, opts);
  }

  async readFile(p: string): Promise<string> {
    return wrap(() => fs.readFile(p, "utf8"));
  }

  async readBytes(p: string): Promise<Buffer> {
    return wrap(() => fs.readFile(p));
  }

  async writeFile(p: string, data: string | Buffer, opts: { mode?: number } = {}): Promise<void> {
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

  /** A file on this machine as a stream, with its size (guest copies stream, never load a whole file). */
  async readStream(p: string): Promise<{ stream: Readable; size: number }> {
    const st = await this.stat(p);
    if (!st) throw new QfleetError("NOT_FOUND", `no such file: ${p}`);
    if (st.kind !== "file") throw new QfleetError("BAD_INPUT", `not a file: ${p}`);
    return { stream: createReadStream(p), size: st.size };
  }

  /**
   * A new file on this machine as a stream: refused (EXISTS) when `p` exists unless `overwrite`;
   * opened exclusively, so a file appearing meanwhile is never overwritten either. `discard`
   * removes a partly written file after a failure.
   */
  async writeStream(p: string, opts: { overwrite?: boolean } = {}): Promise<{ stream: Writable; discard(): Promise<void> }> {
    if (!opts.overwrite && (await this.lstat(p)))
      throw new QfleetError("EXISTS", `${p} exists: not overwritten`, { hint: "choose another path, or pass overwrite" });
    const stream = createWriteStream(p, { flags: opts.overwrite ? "w" : "wx", mode: 0o644 });
    await new Promise<void>((resolve, reject) => stream.once("open", () => resolve()).once("error", (e) => reject(toQfleetError(e))));
    return { stream, discard: () => fs.rm(p, { force: true }) };
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

  async upload(localPath: string, p: string, opts: { onBytes?: (sent: number, total: number) => void } = {}): Promise<void> {
    await wrap(() => fs.copyFile(localPath, p));
    const size = (await this.stat(p))?.size ?? 0;
    opts.onBytes?.(size, size);
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

  async listProcesses(prefix: string): Promise<{ pid: number; argv: string[]; state?: string }[]> {
    return processesNow(prefix);
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

  /** See local-now.ts: for the checks a long-lived process makes on every call. */
  fingerprint = fingerprintNow;
  listNow = listNow;

  /** Asked of Node, not of a shell: this runs on every command, and a spawn costs 10-20 ms. */
  async systemFacts(): Promise<{ sys: string; machine: string; kvmRw: boolean }> {
    const kvmRw = await fs.access("/dev/kvm", fsConstants.R_OK | fsConstants.W_OK).then(
      () => true,
      () => false,
    );
    return { sys: type(), machine: machine(), kvmRw };
  }

  async close(): Promise<void> {}
}

async function statWith(fn: typeof fs.stat | typeof fs.lstat, p: string): Promise<FileStat | null> {
  try {
    return toFileStat(await fn(p));
  } catch (e) {
    if (isMissing(e)) return null;
    throw toQfleetError(e);
  }
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
