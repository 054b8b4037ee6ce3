import { createHash } from "node:crypto";
import { QfleetError } from "../errors.js";

/** A guest's SSH host key: its public key blob and the "type base64" text it is recorded as. */
export interface GuestHostKey {
  type: string;
  blob: Buffer;
  text: string;
}

/** The key type named inside an SSH public key blob (its first length-prefixed string). */
export function blobKeyType(blob: Buffer): string {
  if (blob.length < 4) return "unknown";
  return blob.subarray(4, 4 + blob.readUInt32BE(0)).toString("latin1");
}

/** "SHA256:<base64 without padding>" of a public key blob, as `ssh-keygen -l` prints it. */
export function blobFingerprint(blob: Buffer): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** The host key a guest presented (a raw blob from ssh2's hostVerifier), as recordable text. */
export function hostKeyFromBlob(blob: Buffer): GuestHostKey {
  const type = blobKeyType(blob);
  return { type, blob, text: `${type} ${blob.toString("base64")}` };
}

/**
 * Parses a recorded host key: "type base64" (a trailing comment is allowed, as in a .pub file
 * or a known_hosts line without its host field). Contract: the type must match the one inside
 * the blob; anything else is BAD_INPUT naming what was wrong.
 */
export function parseHostKey(text: string): GuestHostKey {
  const [type, b64] = text.trim().split(/\s+/);
  const blob = b64 && /^[A-Za-z0-9+/]+={0,2}$/.test(b64) ? Buffer.from(b64, "base64") : undefined;
  if (!type || !blob || blobKeyType(blob) !== type) {
    throw new QfleetError("BAD_INPUT", `not an SSH public key: "${text.trim().slice(0, 40)}" (expected "ssh-ed25519 AAAA...")`);
  }
  return { type, blob, text: `${type} ${blob.toString("base64")}` };
}

/** SHA256 fingerprint of a key given as "type base64" text, e.g. "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU". */
export function hostKeyFingerprint(key: string): string {
  return blobFingerprint(parseHostKey(key).blob);
}

/** ssh2's host key algorithms (Node 20), the ones that sign with a key of `type` first. */
export function hostKeyAlgorithms(type: string | undefined): string[] {
  const all = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"];
  const first = type === "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : all.filter((a) => a === type);
  return [...first, ...all.filter((a) => !first.includes(a))];
}
