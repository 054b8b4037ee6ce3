import { getCiphers } from "node:crypto";
import type { Duplex } from "node:stream";
import type { Client } from "ssh2";
import { QfleetError } from "../errors.js";
import { blobFingerprint, hostKeyAlgorithms, hostKeyFromBlob, parseHostKey, type GuestHostKey } from "./ssh-hostkey.js";

export interface GuestLogin {
  user: string;
  /** OpenSSH-format private key text (ed25519). */
  privateKey: string;
  /** The guest's host key as "ssh-ed25519 AAAA..." when one was recorded; undefined on first login. */
  knownHostKey?: string;
}

export const DEFAULT_READY_TIMEOUT_MS = 20_000;
/** A session that answers no keepalive for 3 x 15 s is dead (and closed). */
const KEEPALIVE_MS = 15_000;
const KEEPALIVE_MAX = 3;
/**
 * chacha20-poly1305 first, as OpenSSH orders it: ssh2 puts it after AES, and a guest without AES
 * instructions (dropbear, TCG) then gets aes128-ctr + hmac-sha2-256, slower for it (and for us).
 */
const CHACHA = "chacha20-poly1305@openssh.com";
const CIPHERS = getCiphers().includes("chacha20-poly1305") ? { cipher: { remove: [CHACHA], prepend: [CHACHA] } } : {};

/**
 * Logs into a guest over `sock`, a byte stream the caller opened to the guest's SSH port (a
 * TCP socket, or an SSH forwardOut channel through the VM's host); the client owns it from
 * here on and destroys it on failure. Contract: only publickey with login.privateKey is tried
 * (no agent, password or keyboard-interactive); with login.knownHostKey the guest must present
 * exactly that key, else REFUSED with both fingerprints; every other failure is CONNECTION
 * saying how far it got (no SSH banner, handshake, login refused, connection closed), the user
 * and the key tried; the whole login is bounded by readyTimeoutMs.
 */
export async function loginGuest(
  sock: Duplex,
  login: GuestLogin,
  opts: { readyTimeoutMs?: number; where: string },
): Promise<{ client: Client; hostKey: string }> {
  const mod = await import("ssh2");
  const ssh2 = mod.default ?? mod; // CommonJS: its exports are on default
  const parsed = ssh2.utils.parseKey(login.privateKey);
  if (parsed instanceof Error) throw new QfleetError("BAD_INPUT", `the guest login key cannot be used: ${parsed.message}`);
  const ourKey = Array.isArray(parsed) ? parsed[0] : parsed;
  const tried = `publickey as ${login.user} with ${ourKey.type} ${blobFingerprint(ourKey.getPublicSSH())}`;
  const known = login.knownHostKey === undefined ? undefined : parseHostKey(login.knownHostKey);
  const timeoutMs = opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  const where = opts.where;
  const client = new ssh2.Client();
  let banner: string | undefined; // the guest's "SSH-2.0-..." line, once it came
  let received = "";
  let stage: "banner" | "handshake" | "login" = "banner";
  let presented: GuestHostKey | undefined;
  let refusal: QfleetError | undefined;
  let offered: string[] | undefined; // methods the guest still accepted after our key failed
  let keyOffered = false;

  const sawData = (b: Buffer) => {
    received += b.toString("latin1");
    const line = received.split(/\r?\n/).find((l, i, all) => l.startsWith("SSH-") && i < all.length - 1);
    if (line !== undefined || received.length > 8192) {
      banner = line;
      if (line !== undefined && stage === "banner") stage = "handshake";
      sock.off("data", sawData);
    }
  };
  const failure = (err: Error & { level?: string; code?: string }): QfleetError => {
    const secs = Math.round(timeoutMs / 1000);
    const hint = "the guest may still be booting, or its SSH server is not running";
    if (err.level === "client-authentication") {
      const only = offered && !offered.includes("publickey") ? ` (it accepts only ${offered.join(", ") || "nothing"})` : "";
      return new QfleetError("CONNECTION", `${where}: auth refused: the guest refused the key for user ${login.user}${only}; tried ${tried}`, {
        hint: `the key's public half must be in ~${login.user}/.ssh/authorized_keys in the guest; no agent, password or keyboard-interactive is tried`,
      });
    }
    if (err.level === "client-timeout") {
      const what = stage === "banner" ? `no SSH banner from the guest` : `the SSH ${stage} (after the banner "${banner}") did not complete`;
      return new QfleetError("CONNECTION", `${where}: ${what} within ${secs} s; tried ${tried}`, { hint });
    }
    if (err.level === "handshake")
      return new QfleetError("CONNECTION", `${where}: SSH handshake with the guest failed: ${err.message}; tried ${tried}`);
    const why = err.level === "closed" ? "" : `: ${err.code ?? err.message}`;
    if (stage === "banner") {
      return new QfleetError("CONNECTION", `${where}: no SSH banner: the connection closed before the guest sent one${why}; tried ${tried}`, {
        hint,
      });
    }
    return new QfleetError("CONNECTION", `${where}: connection closed during the SSH ${stage}${why}; tried ${tried}`);
  };

  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (e: QfleetError) => {
      if (settled) return;
      settled = true;
      sock.off("data", sawData);
      client.destroy(); // destroys sock too
      reject(e);
    };
    client.on("handshake", () => (stage = "login"));
    client.on("ready", () => {
      settled = true;
      sock.off("data", sawData);
      resolve({ client, hostKey: presented!.text });
    });
    // Stays attached for the session's life: errors after login surface through the operations.
    client.on("error", (err: Error & { level?: string; code?: string }) => {
      fail(refusal ?? failure(err.message === "Connection lost before handshake" ? Object.assign(err, { level: "closed" }) : err));
    });
    client.on("close", () => {
      fail(refusal ?? failure(Object.assign(new Error("closed"), { level: "closed" })));
    });
    client.connect({
      sock: sock as never,
      username: login.user,
      readyTimeout: timeoutMs,
      keepaliveInterval: KEEPALIVE_MS,
      keepaliveCountMax: KEEPALIVE_MAX,
      algorithms: { serverHostKey: hostKeyAlgorithms(known?.type), ...CIPHERS } as never,
      hostVerifier: (blob: Buffer) => {
        presented = hostKeyFromBlob(blob);
        if (!known || known.blob.equals(blob)) return true;
        refusal = new QfleetError(
          "REFUSED",
          `${where}: the guest's host key changed: expected ${blobFingerprint(known.blob)}, got ${blobFingerprint(blob)} (${presented.type}); if the VM was re-created, forget its recorded host key and log in again`,
          { hint: "if the VM was not re-created, another machine may be answering on its SSH port: do not log in" },
        );
        return false;
      },
      authHandler: (methodsLeft, _partial, next) => {
        if (keyOffered) {
          offered = methodsLeft ?? undefined;
          return next(false as never);
        }
        keyOffered = true;
        next({ type: "publickey", username: login.user, key: login.privateKey } as never);
      },
      ...(process.env.QFLEET_SSH_DEBUG && { debug: (m: string) => process.stderr.write(`ssh ${where}: ${m}\n`) }),
    });
    sock.on("data", sawData); // after connect(): ssh2 has paused sock, so this listener does not start the flow early
  });
}
