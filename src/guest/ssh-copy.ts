import path from "node:path";
import type { Readable, Writable } from "node:stream";
import type { Client, SFTPWrapper } from "ssh2";
import { QfleetError, toQfleetError } from "../errors.js";
import { endStream, readToStream, sftpCall, writeFromStream } from "./ssh-transfer.js";

/** SFTP status codes (draft-ietf-secsh-filexfer-02) that mean something to a caller. */
const NO_SUCH_FILE = 2;
const PERMISSION_DENIED = 3;

export interface GuestStat {
  kind: "file" | "dir" | "other";
  size: number;
}

/**
 * File copies into and out of a guest over SFTP (one SFTP channel per session, opened on first
 * use and again after it closed). Errors are QfleetErrors naming the guest path: NOT_FOUND,
 * BAD_INPUT (a folder, permission denied), EXISTS, CONNECTION (no SFTP server, session gone).
 */
export class GuestFiles {
  private channel: Promise<SFTPWrapper> | undefined;

  constructor(
    private readonly client: Client,
    private readonly where: string,
  ) {}

  /** null when the path does not exist; symbolic links are followed. */
  async stat(guestPath: string): Promise<GuestStat | null> {
    const sftp = await this.sftp();
    try {
      const s = await sftpCall<{ mode: number; size: number }>((cb) => sftp.stat(guestPath, cb as never));
      const type = s.mode & 0o170000;
      return { kind: type === 0o100000 ? "file" : type === 0o040000 ? "dir" : "other", size: s.size };
    } catch (e) {
      if ((e as { code?: unknown }).code === NO_SUCH_FILE) return null;
      throw this.error(guestPath, e);
    }
  }

  /**
   * Streams src into guestPath; returns the bytes written. Contract: an existing guestPath is
   * refused (EXISTS) unless overwrite, and a folder always (BAD_INPUT); without overwrite the
   * file is created exclusively ("wx"), so a file that appears meanwhile is not overwritten
   * either; with overwrite the bytes go to a temp file beside it, renamed over guestPath once
   * complete, so the old file stays whole until then. A failed upload leaves no partial file.
   * A given mode is set exactly, whatever the guest's umask (default: 0644 less the umask). A
   * symbolic link at guestPath is replaced when overwriting, not written through. src is
   * consumed, or destroyed on failure.
   */
  async upload(src: Readable, guestPath: string, opts: { overwrite?: boolean; mode?: number } = {}): Promise<number> {
    try {
      const sftp = await this.sftp();
      const st = await this.stat(guestPath);
      if (st?.kind === "dir") throw new QfleetError("BAD_INPUT", `${guestPath} in ${this.where} is a folder, not a file`);
      if (st && !opts.overwrite) throw this.exists(guestPath);
      const dir = path.posix.dirname(guestPath);
      const target = opts.overwrite
        ? path.posix.join(dir, `.${path.posix.basename(guestPath)}.qfleet-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}.tmp`)
        : guestPath;
      const handle = await sftpCall<Buffer>((cb) => sftp.open(target, "wx", { mode: opts.mode ?? 0o644 }, cb)).catch(async (e) => {
        if (!opts.overwrite && (await this.stat(guestPath).catch(() => null))) throw this.exists(guestPath); // created meanwhile
        throw this.error(guestPath, e, `the folder ${dir} does not exist in ${this.where}`);
      });
      let bytes: number;
      try {
        if (opts.mode !== undefined) await sftpCall((cb) => sftp.fchmod(handle, opts.mode!, cb)); // exactly, whatever the umask
        bytes = await writeFromStream(sftp, handle, src);
        await sftpCall((cb) => sftp.close(handle, cb));
        if (opts.overwrite) await this.replace(sftp, target, guestPath);
      } catch (e) {
        await sftpCall((cb) => sftp.close(handle, cb)).catch(() => undefined);
        await sftpCall((cb) => sftp.unlink(target, cb)).catch(() => undefined);
        throw this.error(guestPath, e);
      }
      return bytes;
    } catch (e) {
      src.destroy();
      throw e;
    }
  }

  /**
   * Streams guestPath into dst, ends dst and resolves with the byte count once dst has flushed.
   * NOT_FOUND for a missing path, BAD_INPUT for a folder. On failure dst is neither ended nor
   * destroyed: the caller decides (e.g. removes a partial local file).
   */
  async download(guestPath: string, dst: Writable): Promise<number> {
    const sftp = await this.sftp();
    const st = await this.stat(guestPath);
    if (!st) throw new QfleetError("NOT_FOUND", `no such file in ${this.where}: ${guestPath}`);
    if (st.kind === "dir") throw new QfleetError("BAD_INPUT", `${guestPath} in ${this.where} is a folder, not a file`);
    const handle = await sftpCall<Buffer>((cb) => sftp.open(guestPath, "r", cb)).catch((e) => {
      throw this.error(guestPath, e);
    });
    try {
      const bytes = await readToStream(sftp, handle, dst);
      await endStream(dst);
      return bytes;
    } catch (e) {
      throw this.error(guestPath, e);
    } finally {
      await sftpCall((cb) => sftp.close(handle, cb)).catch(() => undefined);
    }
  }

  /** Renames tmp over target: atomically with OpenSSH's posix-rename, else (an old server) remove then rename. */
  private async replace(sftp: SFTPWrapper, tmp: string, target: string): Promise<void> {
    try {
      return await sftpCall((cb) => sftp.ext_openssh_rename(tmp, target, cb));
    } catch (e) {
      if (typeof (e as { code?: unknown }).code === "number") throw e; // the server answered: a real failure
    }
    await sftpCall((cb) => sftp.unlink(target, cb)).catch(() => undefined);
    await sftpCall((cb) => sftp.rename(tmp, target, cb));
  }

  private sftp(): Promise<SFTPWrapper> {
    this.channel ??= new Promise<SFTPWrapper>((resolve, reject) => {
      const opened = (err: Error | undefined, sftp: SFTPWrapper) => {
        if (err) {
          this.channel = undefined;
          const gone = /not connected|no response/i.test(err.message);
          return reject(
            new QfleetError(
              "CONNECTION",
              `${this.where}: ${gone ? "the SSH session to the guest is closed" : `no SFTP in the guest: ${err.message}`}`,
              {
                hint: gone ? "open a new session" : "install an SFTP server in the guest (Debian/Ubuntu: openssh-sftp-server)",
              },
            ),
          );
        }
        sftp.on("close", () => (this.channel = undefined));
        resolve(sftp);
      };
      try {
        this.client.sftp(opened);
      } catch (e) {
        opened(e as Error, undefined as never); // ssh2 throws "Not connected" once the connection is gone
      }
    });
    return this.channel;
  }

  private exists(guestPath: string): QfleetError {
    return new QfleetError("EXISTS", `${guestPath} already exists in ${this.where}`, { hint: "upload with overwrite to replace it" });
  }

  /** An SFTP status error as a QfleetError naming the path; anything else (the session went away, src failed) as it is. */
  private error(guestPath: string, e: unknown, notFound?: string): QfleetError {
    const code = (e as { code?: unknown }).code;
    if (e instanceof QfleetError || typeof code !== "number") {
      if (e instanceof Error && /no response from server|not connected/i.test(e.message)) {
        return new QfleetError("CONNECTION", `${this.where}: the SSH session to the guest closed during the copy of ${guestPath}`);
      }
      return toQfleetError(e);
    }
    if (code === NO_SUCH_FILE) return new QfleetError("NOT_FOUND", notFound ?? `no such file in ${this.where}: ${guestPath}`);
    if (code === PERMISSION_DENIED) return new QfleetError("BAD_INPUT", `permission denied: ${guestPath} in ${this.where}`);
    return new QfleetError("COMMAND_FAILED", `${guestPath} in ${this.where}: ${(e as Error).message}`);
  }
}
