import { createHash, createHmac } from "node:crypto";

/**
 * OpenSSH known_hosts, read the way ssh(1) reads it (pure: text in, verdicts out).
 * - A host is looked up as `address` on port 22 and as `[address]:port` on any other port.
 * - A line's host field is a comma-separated pattern list (`*`, `?`, `!negation`) or one
 *   hashed entry `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`.
 * - `@revoked` keys are refused wherever they appear; `@cert-authority` lines are ignored
 *   (host certificates are not supported, so they never vouch for a key).
 * Fingerprints are printed as OpenSSH does: `SHA256:` + unpadded base64 of the key blob's hash.
 */
export interface KnownKey {
  /** Key type as written, e.g. ssh-ed25519. */
  type: string;
  blob: Buffer;
  file: string;
  line: number;
  revoked: boolean;
}

export type HostKeyVerdict =
  { kind: "known"; entry: KnownKey } | { kind: "unknown" } | { kind: "changed"; expected: KnownKey[] } | { kind: "revoked"; entry: KnownKey };

/** The name a host has in known_hosts. */
export function knownHostsName(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

/** Every key listed for `name` in one known_hosts text (revoked ones included, flagged). */
export function keysFor(text: string, file: string, hostName: string): KnownKey[] {
  const name = hostName.toLowerCase(); // ssh(1) lowercases names before matching and hashing
  const out: KnownKey[] = [];
  text.split("\n").forEach((raw, i) => {
    const fields = raw.trim().split(/\s+/);
    if (!fields[0] || fields[0].startsWith("#")) return;
    const marker = fields[0].startsWith("@") ? fields.shift() : undefined;
    if (marker === "@cert-authority" || fields.length < 3) return;
    const [hosts, type, b64] = fields;
    if (!hostFieldMatches(hosts, name)) return;
    const blob = Buffer.from(b64, "base64");
    if (blob.length === 0) return;
    out.push({ type, blob, file, line: i + 1, revoked: marker === "@revoked" });
  });
  return out;
}

export function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith("|1|")) return hashedMatches(field, name);
  let matched = false;
  for (const pat of field.split(",")) {
    const negated = pat.startsWith("!");
    if (!globMatches(negated ? pat.slice(1) : pat, name)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

function hashedMatches(field: string, name: string): boolean {
  const [, , salt, hash] = field.split("|");
  if (!salt || !hash) return false;
  return createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64") === hash;
}

function globMatches(pattern: string, name: string): boolean {
  const re = pattern
    .toLowerCase()
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replaceAll("*", ".*")
    .replaceAll("?", ".");
  return new RegExp(`^${re}$`).test(name);
}

/** What to make of the key a server presented, given the keys known for its name. */
export function judgeHostKey(known: KnownKey[], presented: Buffer): HostKeyVerdict {
  const revoked = known.find((k) => k.revoked && k.blob.equals(presented));
  if (revoked) return { kind: "revoked", entry: revoked };
  const valid = known.filter((k) => !k.revoked);
  const match = valid.find((k) => k.blob.equals(presented));
  if (match) return { kind: "known", entry: match };
  // A host with known keys that presents any other key (of any type) is treated as changed:
  // the connection prefers the known key types, so a different one is never just "new".
  return valid.length ? { kind: "changed", expected: valid } : { kind: "unknown" };
}

/** `SHA256:...` as ssh-keygen -l and ssh print it. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** The key type named inside an SSH public key blob (its first length-prefixed string). */
export function keyType(blob: Buffer): string {
  if (blob.length < 4) return "unknown";
  const len = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + len).toString("latin1");
}

/** A known_hosts line for a key (plain host name, as `ssh -o HashKnownHosts=no` writes it). */
export function knownHostsLine(name: string, blob: Buffer): string {
  return `${name} ${keyType(blob)} ${blob.toString("base64")}`;
}

/** Host key algorithms a known key type can be negotiated with (RSA keys sign with SHA-2 too). */
export function algorithmsForKeyType(type: string): string[] {
  return type === "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : [type];
}
