import { QfleetError } from "../errors.js";
import type { Host } from "../hosts/host.js";
import { ensureImage } from "../images/ensure.js";
import { progressLine, throttle } from "../images/progress.js";
import type { ResolvedVm } from "../spec/defaults.js";
import { humanSize } from "../units.js";

/**
 * Puts the images a VM's disks are made from (`image:` URLs) into its host's image cache, each
 * verified against its digest (see ensureImage), reporting progress as lines at most once a
 * second. Returns a line per image this call fetched; a cache hit adds none.
 */
export async function ensureVmImages(host: Host, vm: ResolvedVm, progress?: (message: string) => void): Promise<string[]> {
  const steps: string[] = [];
  const seen = new Set<string>();
  for (const d of vm.disks) {
    if (!d.image || seen.has(d.image.cached)) continue;
    seen.add(d.image.cached);
    const r = await ensureImage(host, d.image, { onProgress: throttle((p) => progress?.(progressLine(p))) });
    if (r.path !== d.image.cached)
      throw new QfleetError("BAD_INPUT", `disk ${d.index}: the image cache on ${host.name} is ${r.path}, not ${d.image.cached} as planned`, {
        hint: "XDG_CACHE_HOME or HOME changed since the plan was made: run again",
      });
    if (r.via === "cache") continue;
    const how = r.via === "waited" ? "fetched by another run" : `${r.via}, ${(r.durationMs / 1000).toFixed(1)} s`;
    steps.push(`disk ${d.index}: image ${d.image.url} cached as ${r.path} (${humanSize(r.size)}, ${d.image.algo} ok, ${how})`);
  }
  return steps;
}
