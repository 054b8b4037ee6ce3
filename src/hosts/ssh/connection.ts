import type { Client } from "ssh2";
import { QfleetError } from "../../errors.js";
import type { Host } from "../host.js";
import { openClient } from "./connect.js";
import { NotStartedError } from "./exec.js";
import { track } from "./pool.js";
import { SftpFiles } from "./sftp.js";
import type { SshTarget } from "./target.js";

interface Conn {
  client: Client;
  dead: boolean;
  files?: Promise<SftpFiles>;
}

/**
 * The one SSH connection of an SSH host. Contracts:
 * - opened on first use; concurrent first uses share one attempt; every operation is a
 *   channel multiplexed on it (SFTP is one session, opened once and reopened if it closes);
 * - a dropped connection is reopened by the next operation; `use(op)` runs op once more on a
 *   new connection only when op failed because the connection was gone before op started
 *   (NotStartedError, or ssh2's "Not connected"/"No response" with no QfleetError yet):
 *   a command that was already running when it dropped fails and is never re-run;
 * - errors that are not QfleetErrors become CONNECTION errors naming the host;
 * - close() is final: later operations reject with CONNECTION.
 */
export class SshConnection {
  private conn: Promise<Conn> | null = null;
  private current: Conn | null = null;
  private closed = false;

  constructor(
    private readonly owner: Host,
    private readonly target: () => SshTarget,
    private readonly opts: { password?: string; timeoutMs?: number },
  ) {}

  async use<T>(op: (client: Client) => Promise<T>): Promise<T> {
    return this.retrying((c) => op(c.client));
  }

  files<T>(op: (f: SftpFiles) => Promise<T>): Promise<T> {
    return this.retrying(async (c) => op(await (c.files ??= openSftp(c, this.owner.name))));
  }

  async close(): Promise<void> {
    this.closed = true;
    const c = await this.conn?.catch(() => null);
    this.conn = null;
    if (!c || c.dead) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => (c.client.destroy(), resolve()), 2000);
      c.client.once("close", () => (clearTimeout(t), resolve()));
      c.client.end();
    });
  }

  /** The live connection, or a new one when there is none or it died. */
  private connect(): Promise<Conn> {
    if (this.closed) return Promise.reject(new QfleetError("CONNECTION", `the connection to ${this.owner.name} was closed`));
    if (this.conn && !this.current?.dead) return this.conn;
    this.current = null;
    const p = openClient(this.target(), this.opts).then((client): Conn => {
      const c: Conn = { client, dead: false };
      this.current = c;
      track(this.owner, true);
      client.on("error", () => undefined); // after ready, a failure shows as 'close' and failed operations
      client.on("close", () => {
        c.dead = true;
        if (this.current === c) track(this.owner, false);
      });
      return c;
    });
    this.conn = p;
    p.catch(() => (this.conn === p ? (this.conn = null) : null));
    return p;
  }

  private async retrying<T>(op: (c: Conn) => Promise<T>): Promise<T> {
    const c = await this.connect();
    try {
      return await op(c);
    } catch (e) {
      if (e instanceof QfleetError) throw e;
      const gone = c.dead || /Not connected|No response from server/i.test((e as Error).message);
      if (!gone) throw this.lost(e as Error);
      c.dead = true;
      c.client.destroy();
      try {
        return await op(await this.connect());
      } catch (e2) {
        throw e2 instanceof QfleetError ? e2 : this.lost(e2 as Error);
      }
    }
  }

  private lost(e: Error): QfleetError {
    return new QfleetError("CONNECTION", `SSH connection to ${this.owner.name}: ${e.message}`);
  }
}

function openSftp(c: Conn, hostName: string): Promise<SftpFiles> {
  const p = new Promise<SftpFiles>((resolve, reject) => {
    try {
      c.client.sftp((err, sftp) => {
        if (err) return reject(new NotStartedError(err.message));
        sftp.on("close", () => (c.files === p ? (c.files = undefined) : undefined));
        resolve(new SftpFiles(sftp, hostName));
      });
    } catch (e) {
      reject(new NotStartedError((e as Error).message));
    }
  });
  p.catch(() => (c.files === p ? (c.files = undefined) : undefined));
  return p;
}
