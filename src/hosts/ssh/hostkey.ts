import { appendFileSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { QfleetError } from "../../errors.js";
import { algorithmsForKeyType, fingerprint, judgeHostKey, keysFor, keyType, knownHostsLine, type KnownKey } from "./known-hosts.js";
import { describeTarget, type SshTarget } from "./target.js";

/** ssh2's default host key algorithms on Node 20 (ssh-ed25519 first), in its order. */
const DEFAULT_HOST_KEY_ALGORITHMS = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "rsa-sha2-512",
  "rsa-sha2-256",
  "ssh-rsa",
];

/**
 * Host key verification for one connection attempt. Contract: a key is accepted only when a
 * known_hosts file lists it for this host, or (policy accept-new) when no key at all is known
 * for the host, in which case it is first appended to the first known_hosts file. A changed or
 * revoked key is always refused; `refusal` then holds the error to report (with both
 * fingerprints for a changed key). Algorithms put the known key types first, as ssh(1) does,
 * so a host with several keys presents the one we know.
 */
export interface HostKeyCheck {
  algorithms: string[];
  verify(key: Buffer): boolean;
  refusal: QfleetError | null;
}

export function hostKeyCheck(t: SshTarget): HostKeyCheck {
  const known = t.knownHostsFiles.flatMap((file) => keysFor(readText(file), file, t.knownHostsName));
  const preferred = [...new Set(known.filter((k) => !k.revoked).flatMap((k) => algorithmsForKeyType(k.type)))].filter((a) =>
    DEFAULT_HOST_KEY_ALGORITHMS.includes(a),
  );
  const check: HostKeyCheck = {
    algorithms: [...preferred, ...DEFAULT_HOST_KEY_ALGORITHMS.filter((a) => !preferred.includes(a))],
    refusal: null,
    verify(key) {
      const verdict = judgeHostKey(known, key);
      if (verdict.kind === "known") return true;
      if (verdict.kind === "unknown" && t.policy === "accept-new") {
        const file = t.knownHostsFiles[0];
        try {
          mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
          appendFileSync(file, knownHostsLine(t.knownHostsName, key) + "\n", { mode: 0o600 });
          known.push({ type: keyType(key), blob: key, file, line: 0, revoked: false }); // a re-key sees it as known
          return true;
        } catch (e) {
          check.refusal = new QfleetError("CONNECTION", `${t.name}: cannot record its new host key in ${file}: ${(e as Error).message}`);
          return false;
        }
      }
      check.refusal = refusalFor(
        t,
        verdict.kind,
        key,
        verdict.kind === "changed" ? verdict.expected : verdict.kind === "revoked" ? [verdict.entry] : [],
      );
      return false;
    },
  };
  return check;
}

function refusalFor(t: SshTarget, kind: "unknown" | "changed" | "revoked", key: Buffer, entries: KnownKey[]): QfleetError {
  const where = `${t.name} (${describeTarget(t)})`;
  const presented = `${keyType(key)} ${fingerprint(key)}`;
  if (kind === "revoked") {
    return new QfleetError(
      "CONNECTION",
      `host key of ${where} is REVOKED (${entries[0].file}:${entries[0].line}): ${presented}; refusing to connect`,
    );
  }
  if (kind === "changed") {
    const was = entries.map((k) => `${k.type} ${fingerprint(k.blob)} (${k.file}:${k.line})`).join(", ");
    return new QfleetError("CONNECTION", `host key of ${where} has CHANGED: it presents ${presented}, known_hosts has ${was}; refusing to connect`, {
      hint: `if the host was reinstalled, remove the old key (ssh-keygen -R '${t.knownHostsName}' -f ${entries[0].file}) and connect again; otherwise someone may be intercepting the connection`,
    });
  }
  return new QfleetError("CONNECTION", `host key of ${where} is unknown: ${presented} is not in ${t.knownHostsFiles.join(" or ")}`, {
    hint: `check the fingerprint with the host's owner, then add it (ssh-keyscan -p ${t.port} ${t.address} >> ${t.knownHostsFiles[0]}), or set host_key_policy: accept-new for ${t.name} in hosts.yaml`,
  });
}

function readText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return ""; // a missing known_hosts file knows no keys
  }
}
