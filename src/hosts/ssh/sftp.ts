import path from "node:path";
import type { SFTPWrapper } from "ssh2";
import { QfleetError } from "../../errors.js";
import type { FileStat } from "../host.js";

/** SFTP status codes (draft-ietf-secsh-filexfer-02) that mean something to a caller. */
const NO_SUCH_FILE = 2;
const PERMISSION_DENIED = 3;

type SftpError = Error & { code?: number | string };
const call = <T>(fn: (cb: (err: SftpError | null | undefined, v?: T) => void) => void): Promise<T> =>
  new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v as T))));

/**
 * The Host file operations over one SFTP session, with the Host contracts: writeFile is atomic
 * (a temp file in the same folder, then posix-rename over the target), stat is null for a
 * missing path, mkdir creates parents and accepts an existing folder, remove ignores a missing
 * path. Errors become QfleetErrors naming the path and the host; an error with no SFTP status
 * (the session or connection went away) is rethrown as is, for the caller to retry.
 */
export class SftpFiles {
  constructor(
    private readonly sftp: SFTPWrapper,
    private readonly hostName: string,
  ) {}

  async readFile(p: string): Promise<string> {
    return this.wrap(p, () => call<string | Buffer>((cb) => this.sftp.readFile(p, "utf8", cb as never)).then(String));
  }

  async readBytes(p: string): Promise<Buffer> {
    return this.wrap(p, () => call<Buffer>((cb) => this.sftp.readFile(p, cb as never)));
  }

  async writeFile(p: string, data: string | Buffer, mode = 0o644): Promise<void> {
    const tmp = path.posix.join(
      path.posix.dirname(p),
      `.${path.posix.basename(p)}.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2, 8)}.tmp`,
    );
    await this.wrap(p, async () => {
      try {
        await call((cb) => this.sftp.writeFile(tmp, data, { mode }, cb));
        await this.renameRaw(tmp, p);
      } catch (e) {
        await call((cb) => this.sftp.unlink(tmp, cb)).catch(() => undefined);
        throw e;
      }
    });
  }

  /** Copies a local file to `p` with SFTP's pipelined transfer (several requests in flight). */
  async put(local: string, p: string, onBytes?: (sent: number, total: number) => void): Promise<void> {
    const step = (sent: number, _chunk: number, total: number) => onBytes?.(sent, total);
    await this.wrap(p, () => call((cb) => this.sftp.fastPut(local, p, { step, mode: 0o644 }, cb)));
  }

  async rename(from: string, to: string): Promise<void> {
    await this.wrap(from, () => this.renameRaw(from, to));
  }

  async stat(p: string, opts: { follow?: boolean } = {}): Promise<FileStat | null> {
    try {
      const s = await call<{ mode: number; size: number; mtime: number }>((cb) =>
        opts.follow === false ? this.sftp.lstat(p, cb as never) : this.sftp.stat(p, cb as never),
      );
      const type = s.mode & 0o170000;
      const kind = type === 0o100000 ? "file" : type === 0o040000 ? "dir" : type === 0o140000 ? "socket" : type === 0o120000 ? "symlink" : "other";
      return { kind, size: s.size, mode: s.mode & 0o7777, mtimeMs: s.mtime * 1000 };
    } catch (e) {
      if ((e as SftpError).code === NO_SUCH_FILE) return null;
      throw this.error(p, e as SftpError);
    }
  }

  async list(dir: string): Promise<string[]> {
    const entries = await this.wrap(dir, () => call<{ filename: string }[]>((cb) => this.sftp.readdir(dir, cb as never)));
    return entries.map((e) => e.filename).filter((n) => n !== "." && n !== "..");
  }

  async unlink(p: string): Promise<void> {
    try {
      await call((cb) => this.sftp.unlink(p, cb));
    } catch (e) {
      if ((e as SftpError).code === NO_SUCH_FILE) return;
      throw this.error(p, e as SftpError);
    }
  }

  /** false when the folder is not empty (SFTP has no distinct status for it: the folder is looked at). */
  async rmdir(p: string): Promise<boolean> {
    try {
      await call((cb) => this.sftp.rmdir(p, cb));
      return true;
    } catch (e) {
      if ((e as SftpError).code === NO_SUCH_FILE) return true;
      const st = await this.stat(p, { follow: false });
      if (st?.kind === "dir" && (await this.list(p)).length > 0) return false;
      throw this.error(p, e as SftpError);
    }
  }

  async mkdir(p: string, mode?: number): Promise<void> {
    const st = await this.stat(p);
    if (st?.kind === "dir") return;
    if (st) throw new QfleetError("EXISTS", `${p} on ${this.hostName} exists and is not a folder`);
    const parent = path.posix.dirname(p);
    if (parent !== p) await this.mkdir(parent, mode);
    try {
      await call((cb) => this.sftp.mkdir(p, mode === undefined ? {} : { mode }, cb));
    } catch (e) {
      if ((await this.stat(p))?.kind === "dir") return; // made meanwhile by a parallel operation
      throw this.error(p, e as SftpError);
    }
  }

  private renameRaw(from: string, to: string): Promise<void> {
    return call((cb) => this.sftp.ext_openssh_rename(from, to, cb));
  }

  private async wrap<T>(p: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw this.error(p, e as SftpError);
    }
  }

  private error(p: string, e: SftpError): Error {
    if (e instanceof QfleetError || typeof e.code !== "number") return e;
    if (e.code === NO_SUCH_FILE) return new QfleetError("NOT_FOUND", `no such file or folder: ${p} on ${this.hostName}`);
    if (e.code === PERMISSION_DENIED) return new QfleetError("BAD_INPUT", `permission denied: ${p} on ${this.hostName}`);
    return new QfleetError("COMMAND_FAILED", `${p} on ${this.hostName}: ${e.message}`);
  }
}
