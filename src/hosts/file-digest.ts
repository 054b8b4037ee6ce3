import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import { QfleetError, toQfleetError } from "../errors.js";
import type { Host } from "./host.js";

/** The digests qemu-fleet checks images against. */
export type FileDigestAlgo = "sha256" | "sha512";

/**
 * The lower-case hex digest of a file on a host: read and hashed here on this machine; on
 * another host by its own `sha256sum`/`sha512sum` (or `shasum -a`), so no byte crosses the network.
 * MISSING_TOOL when the host has neither.
 */
export async function fileDigest(host: Host, file: string, algo: FileDigestAlgo): Promise<string> {
  if (host.name === "local") {
    const hash = createHash(algo);
    await pipeline(createReadStream(file), hash).catch((e) => {
      throw toQfleetError(e);
    });
    return hash.digest("hex");
  }
  const script =
    'if command -v "$1sum" >/dev/null 2>&1; then exec "$1sum" -- "$2"; ' +
    'elif command -v shasum >/dev/null 2>&1; then exec shasum -a "${1#sha}" -- "$2"; ' +
    'else echo "neither $1sum nor shasum found" >&2; exit 127; fi';
  const r = await host.run(["sh", "-c", script, "sh", algo, file], { allowFailure: true, timeoutMs: 30 * 60_000 });
  const hex = /^([0-9a-f]{64,128})\s/.exec(r.stdout)?.[1];
  if (r.exitCode === 127)
    throw new QfleetError("MISSING_TOOL", `cannot check ${file} on ${host.name}: it has neither ${algo}sum nor shasum`, {
      hint: "install coreutils (sha256sum, sha512sum) there",
    });
  if (r.exitCode !== 0 || !hex)
    throw new QfleetError("COMMAND_FAILED", `cannot compute the ${algo} of ${file} on ${host.name}: ${r.stderr.trim() || `exit ${r.exitCode}`}`, {
      stderr: r.stderr,
      exitCode: r.exitCode,
    });
  return hex;
}
