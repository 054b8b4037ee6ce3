import { createHash } from "node:crypto";
import path from "node:path";
import type { Host } from "../hosts/host.js";
import type { DigestAlgo } from "../spec/disk.js";
import { digestOfName } from "./cache-dir.js";

/**
 * Which overlays stand on a cached image, so that `image cache prune` run by any fleet (any
 * checkout, any spec) never removes the base of an overlay that still exists. A user is a small
 * file `<cache>/.users/<algo>-<digest>/<sha256 of the overlay's path>` holding that path, written
 * when the overlay is made; prune reads them back and (unless a dry run) forgets those whose
 * overlay is gone.
 * Overlays made before these files existed have none: their base is kept only while a spec of
 * the pruning fleet names it.
 */
export const USERS_DIR = ".users";

const usersOf = (dir: string, e: { algo: DigestAlgo; digest: string }) => path.posix.join(dir, USERS_DIR, `${e.algo}-${e.digest}`);

/** Records `overlay` as standing on `base` when `base` is an image in a cache folder (absolute paths); otherwise does nothing. */
export async function recordOverlayUser(host: Host, base: string, overlay: string): Promise<void> {
  const d = digestOfName(path.posix.basename(base));
  if (d?.kind !== "image" || !path.posix.isAbsolute(base) || !path.posix.isAbsolute(overlay)) return;
  const folder = usersOf(path.posix.dirname(base), d);
  await host.mkdir(folder, { mode: 0o755 });
  await host.writeFile(path.posix.join(folder, createHash("sha256").update(overlay).digest("hex").slice(0, 32)), `${overlay}\n`);
}

/** The overlays still standing on a cached image; with `tidy`, the records of those that are gone are removed. */
export async function overlayUsers(host: Host, dir: string, e: { algo: DigestAlgo; digest: string }, tidy = false): Promise<string[]> {
  const folder = usersOf(dir, e);
  const names = (await host.stat(folder))?.kind === "dir" ? await host.list(folder) : [];
  const alive: string[] = [];
  for (const name of names) {
    const file = path.posix.join(folder, name);
    const overlay = (await host.readFile(file).catch(() => "")).trim();
    if (overlay && (await host.lstat(overlay))) alive.push(overlay);
    else if (tidy) await host.remove(file);
  }
  return alive.sort();
}

/** Removes the (empty or stale) record folder of an image that leaves the cache. */
export async function forgetUsers(host: Host, dir: string, e: { algo: DigestAlgo; digest: string }): Promise<void> {
  await host.remove(usersOf(dir, e), { recursive: true });
}
