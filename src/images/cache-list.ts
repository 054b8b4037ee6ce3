import path from "node:path";
import type { Host } from "../hosts/host.js";
import type { DigestAlgo } from "../spec/disk.js";
import { cacheFiles, digestOfName, imageCacheDir, type CacheMeta } from "./cache-dir.js";
import { forgetUsers } from "./cache-users.js";
import { lockImage } from "./lock.js";

/** One image in a host's cache: complete (`partial: false`) or a download left to resume. */
export interface CacheEntry {
  algo: DigestAlgo;
  digest: string;
  /** The image file, or the .part of an unfinished download. */
  path: string;
  size: number;
  partial: boolean;
  url?: string;
  fetched_at?: string;
  via?: string;
}

/** Every image and unfinished download in the host's cache, sorted by URL then digest; an empty list when there is no cache yet. */
export async function listCache(host: Host): Promise<{ dir: string; entries: CacheEntry[] }> {
  const dir = await imageCacheDir(host);
  const names = (await host.stat(dir))?.kind === "dir" ? await host.list(dir) : [];
  const entries = new Map<string, CacheEntry>();
  for (const name of names) {
    const d = digestOfName(name);
    if (!d || d.kind === "meta") continue;
    const key = `${d.algo}-${d.digest}`;
    const st = await host.stat(path.posix.join(dir, name));
    if (!st || (d.kind === "part" && entries.has(key))) continue;
    entries.set(key, { algo: d.algo, digest: d.digest, path: path.posix.join(dir, name), size: st.size, partial: d.kind === "part" });
  }
  for (const e of entries.values()) {
    const meta = await host
      .readFile(cacheFiles(dir, e.algo, e.digest).meta)
      .then((t) => JSON.parse(t) as Partial<CacheMeta>)
      .catch(() => null);
    if (meta) Object.assign(e, { url: meta.url, fetched_at: meta.fetched_at, via: meta.via });
  }
  const sorted = [...entries.values()].sort((a, b) => (a.url ?? "~").localeCompare(b.url ?? "~") || a.digest.localeCompare(b.digest));
  return { dir, entries: sorted };
}

/**
 * Removes one cached image (its file, metadata and any unfinished download) under its lock, so a
 * download of it in progress is never cut: false (nothing removed) when another run holds it.
 */
export async function removeCached(host: Host, dir: string, e: Pick<CacheEntry, "algo" | "digest">): Promise<boolean> {
  const f = cacheFiles(dir, e.algo, e.digest);
  await host.mkdir(path.posix.dirname(f.lock), { mode: 0o755 });
  const lock = await lockImage(host, f.lock, { wait: false });
  if (!lock) return false;
  try {
    for (const p of [f.image, f.part, f.meta]) await host.remove(p);
    await forgetUsers(host, dir, e);
    return true;
  } finally {
    await lock.release();
  }
}
