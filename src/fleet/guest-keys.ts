import { createHash } from "node:crypto";
import { LOCAL } from "../hosts/local.js";
import { privatePaths } from "../spec/store.js";
import type { AppliedRecord } from "../state/types.js";

/**
 * The guests' SSH host keys, recorded on first login and verified on every later one, in
 * `.qfleet/known_hosts` (OpenSSH's format, so the printed ssh_command uses the same file).
 * Each entry is named by a HostKeyAlias `qfleet-<vm>-<instance>`: <instance> changes when the
 * VM is re-created or gets a new cloud-init seed (cloud-init then makes new host keys), so a
 * new instance is a first login, while a changed key on the same instance is refused.
 */
export function hostKeyAlias(name: string, rec: Pick<AppliedRecord, "createdAt" | "vm">): string {
  const instance = createHash("sha256")
    .update(`${rec.createdAt}\0${rec.vm.cloudInit?.instanceId ?? ""}`)
    .digest("hex")
    .slice(0, 10);
  return `qfleet-${name}-${instance}`;
}

/** The recorded key ("type base64") for an alias, or undefined. */
export async function recordedHostKey(dir: string, alias: string): Promise<string | undefined> {
  const line = (await lines(dir)).find((l) => l.split(/\s+/)[0] === alias);
  return line?.split(/\s+/).slice(1, 3).join(" ");
}

/** Records a first-seen key for an alias, dropping the entries of the same VM's older instances. */
export async function recordHostKey(dir: string, alias: string, key: string): Promise<void> {
  await writeLines(dir, [...(await othersThan(dir, alias.replace(/-[0-9a-f]{10}$/, ""))), `${alias} ${key}`]);
}

/** Forgets a VM's recorded host keys: its disks went back to an image that makes new ones on first boot (reset). */
export async function forgetHostKeys(dir: string, name: string): Promise<void> {
  await writeLines(dir, await othersThan(dir, `qfleet-${name}`));
}

const othersThan = async (dir: string, vmAlias: string) => (await lines(dir)).filter((l) => !l.split(/\s+/)[0].startsWith(`${vmAlias}-`));

async function writeLines(dir: string, entries: string[]): Promise<void> {
  const p = privatePaths(dir);
  await LOCAL.mkdir(p.dir, { mode: 0o700 });
  await LOCAL.writeFile(p.knownHosts, entries.length ? entries.join("\n") + "\n" : "", { mode: 0o600 });
}

async function lines(dir: string): Promise<string[]> {
  const text = await LOCAL.readFile(privatePaths(dir).knownHosts).catch(() => "");
  return text.split("\n").filter((l) => l.trim() && !l.startsWith("#"));
}
