import { posix } from "node:path";
import { QfleetError, toQfleetError } from "../errors.js";
import { LOCAL } from "../hosts/local.js";
import { PRIVATE_DIR, privatePaths } from "../spec/store.js";

/**
 * The fleet's SSH key: one ed25519 pair per fleet in `.qfleet/` (mode 0600), whose public half
 * cloud-init puts in every guest that has a seed. Made on first need with ssh-keygen; the
 * fleet's .gitignore is made to list `.qfleet/` at the same time, so the private key never
 * reaches git. The private key is read only to log in; it is never written anywhere else.
 */
export async function readFleetPublicKey(dir: string): Promise<string | null> {
  const p = privatePaths(dir);
  if (!(await LOCAL.stat(p.key))) return null;
  return (await LOCAL.readFile(p.publicKey).catch(() => "")).trim() || null;
}

export async function readFleetPrivateKey(dir: string): Promise<string> {
  const p = privatePaths(dir);
  return LOCAL.readFile(p.key).catch((e) => {
    throw new QfleetError("NOT_FOUND", `the fleet's SSH key ${p.key} is missing: ${toQfleetError(e).message}`, {
      hint: "qfleet reconcile makes one when a VM with cloud_init is created; a VM made with another key needs that key back",
    });
  });
}

/** Makes the key pair if there is none; returns the public key and whether it was made now. */
export async function ensureFleetKey(dir: string): Promise<{ publicKey: string; created: boolean }> {
  const existing = await readFleetPublicKey(dir);
  if (existing) return { publicKey: existing, created: false };
  const p = privatePaths(dir);
  await LOCAL.mkdir(p.dir, { mode: 0o700 });
  await ensureIgnored(dir);
  const tmp = `${p.key}.${process.pid}.new`;
  await LOCAL.remove(tmp);
  await LOCAL.remove(`${tmp}.pub`);
  await LOCAL.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", `qemu-fleet ${posix.resolve(dir)}`, "-f", tmp]).catch((e) => {
    const err = toQfleetError(e);
    if (err.code !== "MISSING_TOOL") throw err;
    throw new QfleetError("MISSING_TOOL", "ssh-keygen is not installed: it makes the fleet's SSH key", {
      hint: "Debian/Ubuntu: apt-get install openssh-client",
    });
  });
  await LOCAL.rename(`${tmp}.pub`, p.publicKey);
  await LOCAL.rename(tmp, p.key); // last: its presence means the pair is complete
  return { publicKey: (await LOCAL.readFile(p.publicKey)).trim(), created: true };
}

/** Adds `.qfleet/` to the fleet folder's .gitignore (made if missing) unless a line already covers it. */
async function ensureIgnored(dir: string): Promise<void> {
  const file = posix.join(posix.resolve(dir), ".gitignore");
  const text = (await LOCAL.stat(file)) ? await LOCAL.readFile(file) : "";
  if (text.split("\n").some((l) => [PRIVATE_DIR, `${PRIVATE_DIR}/`, `/${PRIVATE_DIR}`, `/${PRIVATE_DIR}/`].includes(l.trim()))) return;
  const entry = `# qemu-fleet: the fleet's SSH key and the guests' host keys (never commit a private key)\n${PRIVATE_DIR}/\n`;
  await LOCAL.writeFile(file, text && !text.endsWith("\n") ? `${text}\n${entry}` : `${text}${entry}`);
}
