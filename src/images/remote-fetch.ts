import { QfleetError } from "../errors.js";
import type { Host } from "../hosts/host.js";

export type FetchTool = "curl" | "wget";
const probed = new WeakMap<Host, Promise<FetchTool | null>>();

/** The download tool a host has (`command -v curl`, then wget), asked once per Host object; null when it has neither. */
export function fetchToolOf(host: Host): Promise<FetchTool | null> {
  let p = probed.get(host);
  if (!p) {
    const script = "for t in curl wget; do if command -v $t >/dev/null 2>&1; then echo $t; exit 0; fi; done";
    p = host.run(["sh", "-c", script], { timeoutMs: 15_000 }).then((r) => (r.stdout.trim() || null) as FetchTool | null);
    probed.set(host, p);
    p.catch(() => probed.delete(host));
  }
  return p;
}

const ATTEMPTS = 5;
/** curl exits that mean the transfer broke and is worth resuming (partial file, timeout or stall, send or receive failure). */
const CURL_RETRY = new Set([16, 18, 28, 52, 55, 56, 92]);
/** wget: 4 is a network failure. */
const WGET_RETRY = new Set([4]);

/**
 * Downloads `url` into `part` on the host with the host's own curl or wget, continuing what the
 * part holds (curl -C -, wget -c); a broken transfer is continued up to 5 tries in all. The
 * response headers go to `part.hdr` on the host, which `onBytes` polling reads the size from.
 * Rejects with the tool's own error line; never checks the bytes (the caller verifies them).
 */
export async function fetchOnHost(
  host: Host,
  tool: FetchTool,
  url: string,
  part: string,
  onBytes?: (done: number, total: number | undefined) => void,
): Promise<{ requests: number }> {
  const hdr = `${part}.hdr`;
  const argv =
    tool === "curl"
      ? ["curl", "-fsSL", "--proto", "=http,https", "--speed-limit", "1024", "--speed-time", "60", "-C", "-", "-D", hdr, "-o", part, url]
      : ["sh", "-c", 'exec wget -c -S -nv -O "$1" "$2" 2>"$3"', "sh", part, url, hdr];
  const poll = setInterval(() => void progressOf(host, part, hdr).then((p) => p && onBytes?.(p.done, p.total)), 1000);
  try {
    for (let i = 1; ; i++) {
      const r = await host.run(argv, { allowFailure: true, timeoutMs: 24 * 3600_000 });
      if (r.exitCode === 0) return { requests: i };
      const retry = (tool === "curl" ? CURL_RETRY : WGET_RETRY).has(r.exitCode);
      if (tool === "curl" && r.exitCode === 33)
        await host.remove(part); // the server cannot resume: start over
      else if (!retry || i >= ATTEMPTS) {
        const why = tool === "curl" ? r.stderr.trim() : (await host.readFile(hdr).catch(() => "")).trim().split("\n").pop();
        throw new QfleetError("CONNECTION", `${tool} on ${host.name} could not download ${url}: ${why || `exit ${r.exitCode}`}`, {
          command: argv,
          exitCode: r.exitCode,
          stderr: r.stderr,
          hint: retry ? "run again: it resumes from the bytes already there" : "check the URL and that host's network",
        });
      }
      await new Promise((res) => setTimeout(res, 200 * i));
    }
  } finally {
    clearInterval(poll);
    const last = await progressOf(host, part, hdr);
    if (last) onBytes?.(last.done, last.total);
    await host.remove(hdr).catch(() => undefined);
  }
}

/** The part's size and, from the last response's headers, the whole size when the server said it. */
async function progressOf(host: Host, part: string, hdr: string): Promise<{ done: number; total?: number } | null> {
  const st = await host.stat(part).catch(() => null);
  if (!st) return null;
  const text = await host.readFile(hdr).catch(() => "");
  const range = [...text.matchAll(/content-range:\s*bytes\s+(\d+)-\d+\/(\d+)/gi)].pop();
  const length = [...text.matchAll(/content-length:\s*(\d+)/gi)].pop();
  const total = range ? Number(range[2]) : length ? Number(length[1]) : undefined;
  return { done: st.size, ...(total !== undefined && total >= st.size && { total }) };
}
