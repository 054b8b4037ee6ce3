import type { Duplex } from "node:stream";
import type { Client } from "ssh2";
import { QfleetError } from "../../errors.js";
import { NotStartedError } from "./exec.js";

/**
 * A byte stream to a unix socket (OpenSSH stream-local forward) or a TCP port, opened by the
 * SSH server on the remote side: QMP sockets and the SSH-banner probe work with nothing but
 * sshd on the host (no socat, no nc). Contract: resolves with the channel as a Duplex; a
 * refused open is CONNECTION naming the target and the host (with a hint when the server
 * forbids forwarding); a connection already gone is NotStartedError (the caller retries).
 */
export function openForward(client: Client, to: { socketPath: string } | { address: string; port: number }, hostName: string): Promise<Duplex> {
  const what = "socketPath" in to ? to.socketPath : `${to.address}:${to.port}`;
  return new Promise((resolve, reject) => {
    const done = (err: (Error & { reason?: number }) | undefined, ch: Duplex) => {
      if (!err) return resolve(ch);
      if (/Not connected|No response from server/i.test(err.message)) return reject(new NotStartedError(err.message));
      const prohibited = err.reason === 1; // SSH_OPEN_ADMINISTRATIVELY_PROHIBITED
      const setting = "socketPath" in to ? "AllowStreamLocalForwarding" : "AllowTcpForwarding";
      reject(
        new QfleetError("CONNECTION", `cannot connect to ${what} on ${hostName}: ${err.message.replace(/^\(SSH\) /, "")}`, {
          ...(prohibited && { hint: `the SSH server of ${hostName} forbids forwarding: set ${setting} yes in its sshd_config` }),
        }),
      );
    };
    try {
      if ("socketPath" in to) client.openssh_forwardOutStreamLocal(to.socketPath, done);
      else client.forwardOut("127.0.0.1", 0, to.address, to.port, done);
    } catch (e) {
      reject(new NotStartedError((e as Error).message));
    }
  });
}
