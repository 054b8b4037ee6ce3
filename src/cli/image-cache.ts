import type { Command } from "commander";
import { imageCacheReport, pruneImageCache, type NamedEntry } from "../fleet/image-cache.js";
import { registryFromDir } from "../fleet/registry-from-dir.js";
import { QfleetError } from "../errors.js";
import { LOCAL } from "../hosts/local.js";
import { ensureImage } from "../images/ensure.js";
import { progressLine, type ImageProgress } from "../images/progress.js";
import { imageWant } from "../images/want.js";
import { humanSize } from "../units.js";
import { action, printJson } from "./output.js";
import { progressBar, type Progress } from "./progress.js";

/**
 * `qfleet image pull URL --sha256 X` and `qfleet image cache [list|prune]`: the image cache of this
 * machine, or of a host from hosts.yaml (`--host NAME`, `-C DIR`). Results on stdout (text, or
 * JSON with --json); progress on stderr (a bar on a terminal).
 */
interface Opts {
  host?: string;
  dir: string;
  json?: boolean;
}

export function registerImageCache(image: Command): void {
  image
    .command("pull")
    .description("download an image into the image cache (once: a cached image is used as it is), checked against its digest")
    .argument("<url>", "http://, https:// or file:// URL")
    .option("--sha256 <hex>", "the image's SHA-256")
    .option("--sha512 <hex>", "the image's SHA-512")
    .option("--host <name>", "into this host's cache (from hosts.yaml; it fetches with its own curl or wget, else over SFTP from here)")
    .option("-C, --dir <dir>", "folder holding hosts.yaml (with --host)", ".")
    .option("--json", "print the result as JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  qfleet image pull https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2 --sha512 <128 hex>\n  qfleet image pull https://example.org/golden.qcow2 --sha256 <64 hex> --host lab1",
    )
    .action(
      action(async (url: string, o: Opts & { sha256?: string; sha512?: string }) => {
        const want = imageWant(url, o);
        const host = o.host && o.host !== "local" ? (await registryFromDir(o.dir)).get(o.host) : LOCAL;
        const view = o.json ? undefined : progressView();
        const r = await ensureImage(host, want, { onProgress: view?.onProgress }).finally(() => view?.done());
        if (o.json) return printJson({ success: true, url, host: host.name, ...r });
        const secs = (r.durationMs / 1000).toFixed(r.durationMs < 1000 ? 3 : 1);
        const rate = r.via !== "cache" && r.via !== "waited" && r.durationMs ? `, ${humanSize((r.size * 1000) / r.durationMs)}/s` : "";
        const how = r.via === "cache" ? "already cached" : r.via === "waited" ? "fetched by another run" : `fetched (${r.via}${rate})`;
        process.stdout.write(`${r.path}\n  ${how}: ${humanSize(r.size)}, ${want.algo} ok, ${secs} s\n`);
      }),
    );

  image
    .command("cache")
    .description("list the image cache, or prune the images no spec of this fleet names and no overlay stands on")
    .argument("[action]", "list (default) or prune", "list")
    .option("--dry-run", "prune: only list what would be removed")
    .option("--host <name>", "that host's cache (from hosts.yaml)")
    .option("-C, --dir <dir>", "the fleet folder: vms/, profiles/ and hosts.yaml", ".")
    .option("--json", "print the result as JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  qfleet image cache                 every cached image, and the specs naming it\n  qfleet image cache prune --dry-run\n  qfleet image cache prune --host lab1\n\nPrune keeps every image whose digest a file in vms/ or profiles/ names (an invalid spec too), and every\nimage an overlay of any fleet stands on (the cache is per user: other fleets share it).",
    )
    .action(
      action(async (what: string, o: Opts & { dryRun?: boolean }) => {
        if (what === "list") {
          const r = await imageCacheReport(o.dir, o.host);
          if (o.json) return printJson(r);
          process.stdout.write(`${r.dir} (${r.host}): ${r.entries.length} image(s), ${humanSize(sum(r.entries))}\n${table(r.entries)}`);
          return;
        }
        if (what !== "prune") throw new QfleetError("BAD_INPUT", `unknown action ${JSON.stringify(what)}: use list or prune`);
        const r = await pruneImageCache(o.dir, { host: o.host, dryRun: o.dryRun });
        if (o.json) return printJson({ ...r, dry_run: Boolean(o.dryRun) });
        const verb = o.dryRun ? "would remove" : "removed";
        process.stdout.write(`${r.dir} (${r.host}): ${verb} ${r.removed.length} image(s), ${humanSize(sum(r.removed))}\n${table(r.removed)}`);
        for (const e of r.busy) process.stdout.write(`kept ${e.algo}:${e.digest.slice(0, 12)}: a download of it is running\n`);
        const usedOnly = r.entries.filter((e) => !e.named_by.length && e.used_by.length);
        for (const e of usedOnly) process.stdout.write(`kept ${e.algo}:${e.digest.slice(0, 12)}: the base of ${e.used_by.join(", ")}\n`);
        process.stdout.write(`kept ${r.entries.length - r.removed.length - r.busy.length - usedOnly.length} image(s) named by specs\n`);
      }),
    );
}

const sum = (es: NamedEntry[]) => es.reduce((n, e) => n + e.size, 0);

function table(es: NamedEntry[]): string {
  const rows = es.map((e) => [
    humanSize(e.size),
    `${e.algo}:${e.digest.slice(0, 12)}`,
    `${e.url ?? "(no record)"}${e.partial ? " (unfinished download)" : ""}`,
    e.named_by.join(", ") || "-",
    String(e.used_by.length || "-"),
  ]);
  if (!rows.length) return "";
  const all = [["SIZE", "DIGEST", "URL", "NAMED BY", "OVERLAYS"], ...rows];
  const w = all[0].map((_, i) => Math.max(...all.map((r) => r[i].length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]))).join("  ") + "\n").join("");
}

/** A bar per download or upload on stderr (one line each off a terminal); the wait and the check as lines. */
function progressView() {
  let bar: Progress | undefined;
  let shown = "";
  return {
    onProgress(p: ImageProgress) {
      const label = progressLine({ ...p, total: undefined, rate: undefined }).split(": ")[0];
      if (label !== shown) {
        bar?.done();
        bar = undefined;
        shown = label;
        if (p.phase === "download" || p.phase === "upload") bar = progressBar(label);
        else process.stderr.write(`${label}...\n`);
      }
      if (bar && p.total) bar.update((100 * p.done) / p.total);
    },
    done: () => bar?.done(),
  };
}
