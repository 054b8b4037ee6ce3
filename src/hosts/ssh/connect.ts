import type { Client } from "ssh2";
import { QfleetError } from "../../errors.js";
import { authPlan } from "./auth.js";
import { hostKeyCheck } from "./hostkey.js";
import { describeTarget, type SshTarget } from "./target.js";

export const CONNECT_TIMEOUT_MS = 15_000;
/** A connection that answers no keepalive for 3 x 15 s is dead (and closed). */
const KEEPALIVE_MS = 15_000;
const KEEPALIVE_MAX = 3;

/**
 * Opens and authenticates one SSH connection. Contract: resolves with a ready client, or
 * rejects with a one-line QfleetError: CONNECTION for unreachable (address:port and why),
 * timeouts, host keys unknown/changed/revoked, and authentication failures (naming the
 * methods tried and skipped). ssh2 is imported here, on first use, so commands that never
 * reach a remote host do not pay for loading it.
 */
export async function openClient(t: SshTarget, opts: { password?: string; timeoutMs?: number } = {}): Promise<Client> {
  const mod = await import("ssh2");
  const ssh2 = mod.default ?? mod; // CommonJS: its exports are on default
  const keyCheck = hostKeyCheck(t);
  const auth = authPlan(t, ssh2.utils.parseKey, opts.password);
  const timeoutMs = opts.timeoutMs ?? CONNECT_TIMEOUT_MS;
  const client = new ssh2.Client();
  return new Promise<Client>((resolve, reject) => {
    let settled = false;
    const fail = (e: QfleetError) => {
      if (settled) return;
      settled = true;
      client.destroy();
      reject(e);
    };
    client.on("ready", () => {
      settled = true;
      client.setNoDelay(true); // request/response traffic: no Nagle delays
      resolve(client);
    });
    client.on("error", (err: Error & { level?: string; code?: string }) => {
      if (err.level === "agent") return; // an unusable agent: authentication goes on with the next method
      if (settled) return; // errors after ready surface through the operations (and 'close')
      fail(keyCheck.refusal ?? connectError(t, err, auth, timeoutMs));
    });
    client.on("close", () =>
      fail(keyCheck.refusal ?? new QfleetError("CONNECTION", `${t.name} (${describeTarget(t)}) closed the connection during the SSH handshake`)),
    );
    client.connect({
      host: t.address,
      port: t.port,
      username: t.user,
      readyTimeout: timeoutMs,
      keepaliveInterval: KEEPALIVE_MS,
      keepaliveCountMax: KEEPALIVE_MAX,
      algorithms: { serverHostKey: keyCheck.algorithms as never },
      hostVerifier: (key: Buffer) => keyCheck.verify(key),
      authHandler: (methodsLeft, _partial, next) => next(auth.next(methodsLeft) as never),
      ...(process.env.QFLEET_SSH_DEBUG && { debug: (m: string) => process.stderr.write(`ssh ${t.name}: ${m}\n`) }),
    });
  });
}

function connectError(
  t: SshTarget,
  err: Error & { level?: string; code?: string },
  auth: ReturnType<typeof authPlan>,
  timeoutMs: number,
): QfleetError {
  const where = `${t.name} (${describeTarget(t)})`;
  if (err.level === "client-authentication") {
    const tried = auth.tried.length ? auth.tried.join(", ") : "nothing (no ssh-agent in $SSH_AUTH_SOCK, no identity file, no password)";
    const skipped = auth.skipped.length ? `; skipped: ${auth.skipped.join("; ")}` : "";
    return new QfleetError("CONNECTION", `authentication failed for ${where}: tried ${tried}${skipped}`, {
      hint: `check the user, load a key into ssh-agent or set identity_file (with passphrase_env when it is encrypted), or name a password variable in password_env for ${t.name} in hosts.yaml`,
    });
  }
  if (err.level === "client-timeout") {
    return new QfleetError("CONNECTION", `${where} did not complete an SSH connection within ${Math.round(timeoutMs / 1000)} s`, {
      hint: "check the address and port in hosts.yaml and that a firewall lets SSH through",
    });
  }
  const reasons: Record<string, string> = {
    ECONNREFUSED: "connection refused (no SSH server on that port?)",
    EHOSTUNREACH: "no route to host",
    ENETUNREACH: "network unreachable",
    ETIMEDOUT: "timed out",
    ENOTFOUND: "unknown host name",
    EAI_AGAIN: "host name lookup failed",
    ECONNRESET: "connection reset",
  };
  const why = (err.code && reasons[err.code]) ?? err.message;
  return new QfleetError("CONNECTION", `cannot reach ${where}: ${why}`, {
    hint: `check that ${t.address}:${t.port} is right in hosts.yaml and that sshd runs there`,
  });
}
