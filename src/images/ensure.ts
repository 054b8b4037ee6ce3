import path from "node:path";
import { QfleetError } from "../errors.js";
import { downloadToPart } from "../hosts/download.js";
import { fileDigest } from "../hosts/file-digest.js";
import type { Host } from "../hosts/host.js";
import { LOCAL } from "../hosts/local.js";
import { cacheFiles, imageCacheDir, LOCK_DIR, type CacheFiles, type CacheMeta, type ImageWant } from "./cache-dir.js";
import { lockImage } from "./lock.js";
import type { ImageProgress } from "./progress.js";
import { fetchOnHost, fetchToolOf } from "./remote-fetch.js";

export interface EnsureResult {
  /** The verified image in the host's cache. */
  path: string;
  size: number;
  /** "cache": it was there; "waited": another run fetched it meanwhile; else how this call fetched it. */
  via: "cache" | "waited" | "http" | "file" | "curl" | "wget" | "upload";
  /** Requests this call made (0 for a cache hit). */
  requests: number;
  durationMs: number;
}

type OnProgress = (p: ImageProgress) => void;
const inflight = new WeakMap<Host, Map<string, Promise<EnsureResult>>>();

/**
 * Makes `want` present in the host's image cache and returns its path there. Contracts:
 * - a cached image is used as it is (named by its digest, verified when it was put there);
 * - otherwise it is fetched once, under a per-image lock on that host: a second run (another
 *   process, or another VM of this one) waits, then finds the file and makes no request;
 * - the bytes go to `<image>.part` (continued with a Range request when a part is left over),
 *   are verified against the digest BEFORE anything uses them, and are renamed into place
 *   atomically; a wrong digest removes the part and rejects naming the URL, the expected and the
 *   actual digest, leaving nothing in the cache;
 * - this machine downloads over HTTP itself; another host fetches with its own curl or wget, or,
 *   when it has neither (and for file:// URLs, which name files of this machine), the image is
 *   put in this machine's cache first and uploaded over SFTP.
 */
export function ensureImage(host: Host, want: ImageWant, opts: { onProgress?: OnProgress } = {}): Promise<EnsureResult> {
  const t0 = Date.now();
  const key = `${want.algo}-${want.digest}`;
  const mine = inflight.get(host) ?? inflight.set(host, new Map()).get(host)!;
  const running = mine.get(key);
  if (running) {
    opts.onProgress?.({ phase: "wait", url: want.url, host: host.name, done: 0 });
    return running.then((r) => ({ ...r, via: "waited", requests: 0, durationMs: Date.now() - t0 }));
  }
  const p = ensureOnce(host, want, opts.onProgress, t0).finally(() => mine.delete(key));
  mine.set(key, p);
  return p;
}

async function ensureOnce(host: Host, want: ImageWant, onProgress: OnProgress | undefined, t0: number): Promise<EnsureResult> {
  const dir = await imageCacheDir(host);
  const f = cacheFiles(dir, want.algo, want.digest);
  const done = (size: number, via: EnsureResult["via"], requests: number) => ({ path: f.image, size, via, requests, durationMs: Date.now() - t0 });
  const hit = await host.stat(f.image);
  if (hit?.kind === "file") return done(hit.size, "cache", 0);
  await host.mkdir(path.posix.join(dir, LOCK_DIR), { mode: 0o755 });
  const lock = (await lockImage(host, f.lock, { onWait: () => onProgress?.({ phase: "wait", url: want.url, host: host.name, done: 0 }) }))!;
  try {
    const found = await host.stat(f.image);
    if (found?.kind === "file") return done(found.size, "waited", 0);
    let got = await fetchPart(host, want, f, onProgress);
    let actual = await verify(host, want, f, onProgress);
    if (actual !== want.digest && got.resumedFrom > 0) {
      await host.remove(f.part); // the part left over may have been another file's start: once more from zero
      got = await fetchPart(host, want, f, onProgress);
      actual = await verify(host, want, f, onProgress);
    }
    if (actual !== want.digest) {
      await host.remove(f.part);
      throw new QfleetError("REFUSED", `${want.url}: ${want.algo} mismatch: expected ${want.digest}, got ${actual}; nothing was cached`, {
        hint: `check the ${want.algo} (the publisher's SHA${want.algo.slice(3)}SUMS file) and the URL; a file that changed on the server needs its new digest`,
      });
    }
    const size = (await host.stat(f.part))?.size ?? 0;
    const meta: CacheMeta = { url: want.url, algo: want.algo, digest: want.digest, size, fetched_at: new Date().toISOString(), via: got.via };
    await host.writeFile(f.meta, JSON.stringify(meta, null, 2) + "\n");
    await host.rename(f.part, f.image);
    return done(size, got.via, got.requests);
  } finally {
    await lock.release();
  }
}

async function verify(host: Host, want: ImageWant, f: CacheFiles, onProgress?: OnProgress): Promise<string> {
  onProgress?.({ phase: "verify", url: want.url, host: host.name, done: 0 });
  return fileDigest(host, f.part, want.algo);
}

/** Puts the image's bytes into `f.part` on the host by the first way that host allows. */
async function fetchPart(host: Host, want: ImageWant, f: CacheFiles, onProgress?: OnProgress) {
  const report = (phase: ImageProgress["phase"]) => (done: number, total?: number) =>
    onProgress?.({ phase, url: want.url, host: host.name, done, ...(total !== undefined && { total }) });
  const isFile = want.url.startsWith("file:");
  if (host.name === "local") {
    const r = await downloadToPart(want.url, f.part, { onBytes: report("download") });
    return { via: isFile ? ("file" as const) : ("http" as const), requests: r.requests, resumedFrom: r.resumedFrom };
  }
  const tool = isFile ? null : await fetchToolOf(host);
  if (tool) {
    const resumedFrom = (await host.stat(f.part))?.size ?? 0;
    const r = await fetchOnHost(host, tool, want.url, f.part, report("download"));
    return { via: tool, requests: r.requests, resumedFrom };
  }
  // neither curl nor wget there (or a file of this machine): through this machine's own cache
  const local = await ensureImage(LOCAL, want, { onProgress });
  await host.upload(local.path, f.part, { onBytes: report("upload") });
  return { via: "upload" as const, requests: local.requests, resumedFrom: 0 };
}
