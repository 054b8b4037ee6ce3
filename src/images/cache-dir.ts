import path from "node:path";
import { cacheHome } from "../hosts/cache-home.js";
import type { Host } from "../hosts/host.js";
import { cachedImageName, type DigestAlgo } from "../spec/disk.js";

/** An image as a spec or a command asks for it: where it comes from and the digest it must have (lower-case hex). */
export interface ImageWant {
  url: string;
  algo: DigestAlgo;
  digest: string;
}

/** The files of one image in a cache folder: the image, its metadata, the download in progress and its lock. */
export interface CacheFiles {
  image: string;
  meta: string;
  part: string;
  lock: string;
}

/** What `<image>.json` records beside a cached image (for `qfleet image cache list`). */
export interface CacheMeta {
  url: string;
  algo: DigestAlgo;
  digest: string;
  size: number;
  fetched_at: string;
  /** How it got there: http (this machine), curl or wget (the host itself), upload (over SFTP), file. */
  via: string;
}

/** The image cache on a host: `<cache home>/qemu-fleet/images` (see cacheHome: $XDG_CACHE_HOME or ~/.cache there). */
export async function imageCacheDir(host: Host): Promise<string> {
  return path.posix.join(await cacheHome(host), "qemu-fleet", "images");
}

/** Locks live in a hidden folder beside the images, so the cache folder itself holds only images and their metadata. */
export const LOCK_DIR = ".locks";

export function cacheFiles(dir: string, algo: DigestAlgo, digest: string): CacheFiles {
  const image = path.posix.join(dir, cachedImageName(algo, digest));
  const stem = image.replace(/\.img$/, "");
  return { image, meta: `${stem}.json`, part: `${image}.part`, lock: path.posix.join(dir, LOCK_DIR, `${algo}-${digest}.lock`) };
}

/** The digest named by a cache file name (`sha256-<hex>.img`, `.json`, `.img.part`), or null for anything else. */
export function digestOfName(name: string): { algo: DigestAlgo; digest: string; kind: "image" | "meta" | "part" } | null {
  const m = /^(sha256|sha512)-([0-9a-f]+)\.(img|json|img\.part)$/.exec(name);
  if (!m || m[2].length !== (m[1] === "sha256" ? 64 : 128)) return null;
  const kind = m[3] === "img" ? "image" : m[3] === "json" ? "meta" : "part";
  return { algo: m[1] as DigestAlgo, digest: m[2], kind };
}
