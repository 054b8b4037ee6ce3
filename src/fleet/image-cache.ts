import path from "node:path";
import { QfleetError } from "../errors.js";
import type { Host } from "../hosts/host.js";
import { LOCAL } from "../hosts/local.js";
import { listCache, removeCached, type CacheEntry } from "../images/cache-list.js";
import { overlayUsers } from "../images/cache-users.js";
import { listProfileFiles, listSpecFiles, profilesDirOf, vmsDirOf } from "../spec/store.js";
import { registryFromDir } from "./registry-from-dir.js";

/**
 * A cached image with the spec files of this fleet that name its digest (vms/web1.yaml,
 * profiles/base.yaml) and the overlays, of any fleet, that stand on it (images/cache-users.ts).
 */
export type NamedEntry = CacheEntry & { named_by: string[]; used_by: string[] };

export interface CacheReport {
  host: string;
  dir: string;
  entries: NamedEntry[];
}

/** The host `--host NAME` names from `dir`'s hosts.yaml (this machine without one), and a way to let go of it. */
async function hostOf(dir: string, name = "local"): Promise<{ host: Host; close(): Promise<void> }> {
  if (name === "local") return { host: LOCAL, close: async () => undefined };
  const registry = await registryFromDir(dir);
  return { host: registry.get(name), close: () => registry.closeAll() };
}

/**
 * The image cache of a host, each image with the files of the fleet in `dir` that name its
 * digest. A file names a digest when its text holds it: invalid specs and profiles count too.
 */
export async function imageCacheReport(dir: string, hostName?: string): Promise<CacheReport> {
  const { host, close } = await hostOf(dir, hostName);
  return reportOn(host, dir).finally(close);
}

/** `tidy`: forget the overlay records whose overlay is gone (prune, not a list or a dry run). */
async function reportOn(host: Host, dir: string, tidy = false): Promise<CacheReport> {
  const { dir: cacheDir, entries } = await listCache(host);
  const texts = await fleetTexts(dir);
  const named: NamedEntry[] = [];
  for (const e of entries)
    named.push({
      ...e,
      named_by: texts.filter((t) => t.text.includes(e.digest)).map((t) => t.label),
      used_by: await overlayUsers(host, cacheDir, e, tidy),
    });
  return { host: host.name, dir: cacheDir, entries: named };
}

/**
 * Removes the cached images (and unfinished downloads) that no spec or profile of the fleet in
 * `dir` names and no overlay (of any fleet) stands on. Refused without a vms/ folder there (nothing would be kept). An image whose
 * download another run holds is left alone (`busy`). With dryRun, only says what it would remove.
 */
export async function pruneImageCache(
  dir: string,
  opts: { host?: string; dryRun?: boolean } = {},
): Promise<CacheReport & { removed: NamedEntry[]; busy: NamedEntry[] }> {
  if ((await LOCAL.stat(vmsDirOf(dir)))?.kind !== "dir")
    throw new QfleetError("NOT_FOUND", `no vms/ folder in ${path.resolve(dir)}: prune keeps the images a fleet's specs name`, {
      hint: "run it in the fleet's folder, or point at it with -C DIR",
    });
  const { host, close } = await hostOf(dir, opts.host);
  try {
    const report = await reportOn(host, dir, !opts.dryRun);
    const unused = report.entries.filter((e) => e.named_by.length === 0 && e.used_by.length === 0);
    if (opts.dryRun) return { ...report, removed: unused, busy: [] };
    const removed: NamedEntry[] = [];
    const busy: NamedEntry[] = [];
    for (const e of unused) ((await removeCached(host, report.dir, e)) ? removed : busy).push(e);
    return { ...report, removed, busy };
  } finally {
    await close();
  }
}

/** The lower-cased text of every spec and profile file of the fleet (none without vms/). */
async function fleetTexts(dir: string): Promise<{ label: string; text: string }[]> {
  if ((await LOCAL.stat(vmsDirOf(dir)))?.kind !== "dir") return [];
  const read = (folder: string, names: string[]) =>
    Promise.all(
      names.map(async (n) => ({ label: `${path.basename(folder)}/${n}`, text: (await LOCAL.readFile(path.join(folder, n))).toLowerCase() })),
    );
  return [...(await read(vmsDirOf(dir), await listSpecFiles(LOCAL, dir))), ...(await read(profilesDirOf(dir), await listProfileFiles(LOCAL, dir)))];
}
