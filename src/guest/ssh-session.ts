import type { Duplex, Readable, Writable } from "node:stream";
import { GuestFiles } from "./ssh-copy.js";
import { runExec, type ExecOptions, type ExecResult } from "./ssh-exec.js";
import { loginGuest, type GuestLogin } from "./ssh-login.js";

export type { ExecResult } from "./ssh-exec.js";
export type { GuestLogin } from "./ssh-login.js";
export { hostKeyFingerprint } from "./ssh-hostkey.js";

/**
 * An SSH session into a VM's guest, over a byte stream the caller opened to the guest's SSH
 * port (host.connectTcp(port): a TCP socket for a local VM, an SSH forwardOut channel through
 * the VM's host for a remote one); this module never opens sockets itself. The session owns
 * the stream: it is destroyed when the login fails and by close().
 */
export interface GuestSession {
  /** The host key the guest presented, "type base64" (record it after a first login). */
  hostKey: string;
  /**
   * Runs a command under /bin/sh -c in the guest (see runExec): output bounded by maxBytes
   * (default 1 MiB each), stdin ended, ended for real at timeoutMs (timedOut, exitCode null).
   */
  exec(command: string, opts: ExecOptions): Promise<ExecResult>;
  /** Upload from a readable stream to guestPath; refuses (EXISTS) an existing guestPath unless overwrite. Returns bytes written. */
  upload(src: Readable, guestPath: string, opts?: { overwrite?: boolean; mode?: number }): Promise<number>;
  /** Download guestPath into a writable stream; returns bytes. NOT_FOUND for a missing file, BAD_INPUT for a folder. */
  download(guestPath: string, dst: Writable): Promise<number>;
  /** stat in the guest (null when missing) */
  stat(guestPath: string): Promise<{ kind: "file" | "dir" | "other"; size: number } | null>;
  /** Ends the session (running commands are cut off); resolves once the connection closed. Idempotent. */
  close(): Promise<void>;
}

/** How long close() waits for the guest to acknowledge before it drops the connection. */
const CLOSE_WAIT_MS = 2000;

/**
 * Logs in and returns the session. Rejects with REFUSED when knownHostKey is given and the guest
 * presents another key, CONNECTION when the login fails (see loginGuest), BAD_INPUT for an
 * unusable private key or knownHostKey. readyTimeoutMs bounds the login (default 20 s); label
 * names the guest in messages (default "the guest"), e.g. "vm web1".
 */
export async function openGuestSession(
  sock: Duplex,
  login: GuestLogin,
  opts: { readyTimeoutMs?: number; label?: string } = {},
): Promise<GuestSession> {
  const where = opts.label ?? "the guest";
  const { client, hostKey } = await loginGuest(sock, login, { readyTimeoutMs: opts.readyTimeoutMs, where });
  let open = true;
  const closed = new Promise<void>((resolve) => client.once("close", () => ((open = false), resolve())));
  const files = new GuestFiles(client, where);
  return {
    hostKey,
    exec: (command, o) => runExec(client, where, command, o),
    upload: (src, guestPath, o) => files.upload(src, guestPath, o),
    download: (guestPath, dst) => files.download(guestPath, dst),
    stat: (guestPath) => files.stat(guestPath),
    async close() {
      if (open) client.end();
      const timer = setTimeout(() => client.destroy(), CLOSE_WAIT_MS);
      await closed;
      clearTimeout(timer);
    },
  };
}
