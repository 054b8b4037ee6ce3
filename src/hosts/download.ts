import { createReadStream, createWriteStream, promises as fs, type WriteStream } from "node:fs";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { QfleetError, toQfleetError } from "../errors.js";

/** Called with the bytes the part holds so far and the whole size when known. */
export type OnBytes = (done: number, total: number | undefined) => void;

export interface DownloadReport {
  /** The part's size at the end. */
  bytes: number;
  /** What the part already held when the first request went out (0: a fresh download). */
  resumedFrom: number;
  /** GET requests made (or file reads for file://). */
  requests: number;
}

const ATTEMPTS = 5;

/**
 * Fetches `url` (http, https or file://) into `part` on this machine, keeping the bytes `part`
 * already holds: a non-empty part is continued with `Range: bytes=N-`; a server that answers
 * 200 instead sends it all again and the part starts over. Redirects are followed. A transfer
 * cut off half-way is continued from where it stopped, up to 5 tries in all; after that the
 * part stays for the next run to resume. Never checks the bytes: the caller verifies the digest.
 */
export async function downloadToPart(url: string, part: string, opts: { onBytes?: OnBytes; signal?: AbortSignal } = {}): Promise<DownloadReport> {
  const resumedFrom = await sizeOf(part);
  for (let i = 1; ; i++) {
    try {
      const got = url.startsWith("file:") ? await copyFileUrl(url, part, opts.onBytes) : await getOnce(url, part, opts);
      if (!got.short) return { bytes: got.bytes, resumedFrom, requests: i };
      if (i >= ATTEMPTS) throw interrupted(url, got.bytes, got.total);
    } catch (e) {
      if (!(e instanceof Retry) || opts.signal?.aborted) throw e;
      if (i >= ATTEMPTS) throw interrupted(url, await sizeOf(part), undefined, e.message);
    }
    await new Promise((r) => setTimeout(r, 200 * i));
  }
}

/** A failure worth another try (the connection broke): the part keeps what arrived. */
class Retry extends Error {}

const sizeOf = async (p: string) => (await fs.stat(p).catch(() => null))?.size ?? 0;

const interrupted = (url: string, bytes: number, total?: number, why?: string) =>
  new QfleetError(
    "CONNECTION",
    `the download of ${url} broke off at ${bytes}${total ? ` of ${total}` : ""} bytes after ${ATTEMPTS} tries${why ? `: ${why}` : ""}`,
    {
      hint: "run again: it resumes from the bytes already there",
    },
  );

async function getOnce(url: string, part: string, opts: { onBytes?: OnBytes; signal?: AbortSignal }) {
  const have = await sizeOf(part);
  const headers: Record<string, string> = { "accept-encoding": "identity", ...(have > 0 && { range: `bytes=${have}-` }) };
  const res = await fetch(url, { headers, redirect: "follow", signal: opts.signal }).catch((e) => {
    const code = (e as { cause?: { code?: string } }).cause?.code;
    if (code === "ECONNRESET" || code === "UND_ERR_SOCKET") throw new Retry(code);
    throw new QfleetError("CONNECTION", `cannot download ${url}: ${(e as { cause?: Error }).cause?.message ?? (e as Error).message}`, {
      hint: "check the URL and this machine's network (an HTTP proxy is not used)",
    });
  });
  const range = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers.get("content-range") ?? "");
  if (res.status === 416 && have > 0) {
    await res.body?.cancel();
    const total = /\/(\d+)$/.exec(res.headers.get("content-range") ?? "")?.[1];
    if (Number(total) === have) return { bytes: have, total: have, short: false }; // the part was complete already
    await fs.truncate(part, 0);
    throw new Retry("the server refused to resume: starting over");
  }
  if (!res.ok) {
    await res.body?.cancel();
    const err = new QfleetError("CONNECTION", `cannot download ${url}: HTTP ${res.status} ${res.statusText}`, {
      hint: res.status === 404 ? "the URL names nothing on that server: check it" : "check the URL, or try again later",
    });
    if (res.status >= 500) throw new Retry(err.message);
    throw err;
  }
  const resume = res.status === 206 && range !== null && Number(range[1]) === have;
  if (res.status === 206 && !resume) {
    await res.body?.cancel();
    await fs.truncate(part, 0);
    throw new Retry("the server sent another range than asked for: starting over");
  }
  const length = Number(res.headers.get("content-length") ?? NaN);
  const total = resume ? (range![2] === "*" ? undefined : Number(range![2])) : Number.isFinite(length) ? length : undefined;
  opts.onBytes?.(resume ? have : 0, total);
  const r = await pump(res.body ?? (async function* () {})(), part, resume ? have : 0, total, opts.onBytes).catch((e) => {
    if (e instanceof QfleetError || opts.signal?.aborted) throw toQfleetError(e);
    throw new Retry(((e as { cause?: Error }).cause ?? (e as Error)).message);
  });
  return { bytes: r, total, short: total !== undefined && r < total };
}

/** A file:// URL: the file is copied, continuing a part that holds its first bytes. */
async function copyFileUrl(url: string, part: string, onBytes?: OnBytes) {
  const src = fileURLToPath(url);
  const st = await fs.stat(src).catch((e) => {
    const err = toQfleetError(e);
    throw new QfleetError(err.code, `cannot read ${url}: ${err.message}`, { hint: "a file:// URL names a file on the machine qfleet runs on" });
  });
  const have = await sizeOf(part);
  const start = have <= st.size ? have : 0;
  const bytes = await pump(createReadStream(src, { start }), part, start, st.size, onBytes);
  return { bytes, total: st.size, short: false };
}

/**
 * Appends `source` to `part` from byte `start` (0: the part is started over), with backpressure.
 * Returns the part's size. A write failure (a full disk) rejects as a QfleetError naming the
 * part; a source failure rejects as it is, after the bytes that arrived are written.
 */
async function pump(source: AsyncIterable<unknown>, part: string, start: number, total: number | undefined, onBytes?: OnBytes): Promise<number> {
  const out = createWriteStream(part, { flags: start ? "a" : "w" });
  let failed: unknown;
  out.on("error", (e) => (failed = e));
  let done = start;
  try {
    for await (const chunk of source) {
      if (failed) break;
      done += (chunk as Uint8Array).length;
      if (!out.write(chunk)) await once(out, "drain");
      onBytes?.(done, total);
    }
  } finally {
    if (!out.destroyed) await new Promise<void>((resolve) => out.end(() => resolve()));
    if (failed) throw toQfleetError(failed);
  }
  return done;
}
