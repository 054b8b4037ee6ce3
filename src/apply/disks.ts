import path from "node:path";
import { QfleetError } from "../errors.js";
import type { Host } from "../hosts/host.js";
import { createDisk, createOverlay, imageInfo, resizeImage } from "../qemu/img.js";
import { convertImage } from "../qemu/img-convert.js";
import { recordOverlayUser } from "../images/cache-users.js";
import type { ResolvedVm } from "../spec/defaults.js";

/**
 * Makes every disk of `vm` exist at least as large as its spec says, while the VM is stopped.
 * Contract: creates missing disks (overlays on their base, a copy of a cached `image:` in the
 * disk's format, new images with their size; images must be in the cache already), grows
 * disks smaller than `size` with qemu-img resize, and never shrinks, overwrites or deletes one.
 * A disk qemu-fleet makes (managed) is touched only when `owned` lists it or it is missing: a
 * file someone else put at its path is refused, and a symbolic link is never followed.
 * Returns a line per thing it did.
 */
export async function ensureDisks(host: Host, vm: ResolvedVm, owned: ReadonlySet<string>): Promise<string[]> {
  const done: string[] = [];
  for (const d of vm.disks) {
    const st = d.managed ? await host.lstat(d.path) : await host.stat(d.path);
    if (d.managed && st && (st.kind === "symlink" || !owned.has(path.posix.basename(d.path)))) {
      const what = st.kind === "symlink" ? "is a symbolic link" : "exists but was not made by qemu-fleet";
      throw new QfleetError("REFUSED", `disk ${d.index}: ${d.path} ${what}: it is neither used nor changed`, {
        hint: "move it away; to use that image, give it as the disk's path: (and overlay: true to keep it unwritten)",
      });
    }
    if (!st) {
      if (d.base) {
        await createOverlay(host, { base: d.base, output: d.path });
        await recordOverlayUser(host, d.base, d.path); // so no fleet's image prune removes the base under it
        done.push(`disk ${d.index}: overlay ${d.path} on ${d.base}`);
      } else if (d.image) {
        await convertImage(host, { input: d.image.cached, format: d.format, output: d.path });
        done.push(`disk ${d.index}: ${d.path} copied from ${d.image.cached}`);
      } else if (d.size !== undefined) {
        await createDisk(host, { path: d.path, format: d.format, size: d.size });
        done.push(`disk ${d.index}: created ${d.path}`);
        continue;
      } else {
        throw new QfleetError("NOT_FOUND", `disk ${d.index}: no such file ${d.path}`, {
          hint: "give the disk a size so it is created, or fix the path",
        });
      }
    } else if (st.kind !== "file") {
      throw new QfleetError("BAD_INPUT", `disk ${d.index}: ${d.path} is not a file`);
    }
    if (d.size === undefined) continue;
    const info = await imageInfo(host, d.path);
    if (info["virtual-size"] < d.size) {
      await resizeImage(host, { path: d.path, size: String(d.size) });
      done.push(`disk ${d.index}: grown to ${d.size} bytes`);
    }
  }
  return done;
}
