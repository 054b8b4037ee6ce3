import path from "node:path";
import { QfleetError } from "../errors.js";
import type { Host } from "../hosts/host.js";
import { humanSize } from "../units.js";
import { busy, cleanOnFailure, imgFailure, refuseExisting, requireFolder, requireImage, runImg, runImgOk } from "./img-errors.js";
import { absPath, imageInfo } from "./img-info.js";
import { computeNewSize, withSuffix } from "./img-parse.js";

/**
 * qemu-img operations on any Host: the API the CLI, the reconciler and the MCP tools call.
 * Contracts:
 * - paths are made absolute first (relative ones against this process's working directory;
 *   callers on remote hosts pass absolute paths), so qemu-img never reads a path as an option
 *   and backing references never depend on a working directory;
 * - nothing here overwrites an existing file unless the caller said so (convert's `force`);
 * - every failure is a QfleetError with a code, one line and, where there is one, a next step.
 */
export type { ImageInfo, SnapshotInfo } from "./img-parse.js";

export { absPath, imageInfo } from "./img-info.js";

export interface OverlayResult {
  success: true;
  overlay_path: string;
  backing_file: string;
  backing_format: string;
  virtual_size: number;
  note: string;
}

/**
 * A qcow2 copy-on-write overlay over `base` (absolute backing path, base format given with -F).
 * Default output: `<base-dir>/<base-name>-overlay.qcow2`. Never overwrites (EXISTS); refuses a
 * base that a running VM is writing (BUSY), since the overlay would see it change underneath.
 */
export async function createOverlay(host: Host, opts: { base: string; output?: string }): Promise<OverlayResult> {
  const base = absPath(opts.base);
  const info = await imageInfo(host, base);
  if (info.force_share) throw busy(base);
  const out = opts.output ? absPath(opts.output) : withSuffix(base, "-overlay", ".qcow2");
  if (out === base) throw new QfleetError("BAD_INPUT", `the overlay cannot be its own base (${base})`);
  await refuseExisting(host, out, "choose another --output, or remove that file first");
  await requireFolder(host, out);
  const args = ["create", "-f", "qcow2", "-b", base, "-F", info.format, out];
  await cleanOnFailure(host, out, () => runImgOk(host, args, base));
  return {
    success: true,
    overlay_path: out,
    backing_file: base,
    backing_format: info.format,
    virtual_size: info["virtual-size"],
    note: "Changes to the overlay do not affect the base image",
  };
}

export interface ResizeResult {
  success: true;
  image_path: string;
  /** false when the image already had the requested size (nothing was run). */
  changed: boolean;
  old_size: number;
  new_size: number;
  old_size_human: string;
  new_size_human: string;
}

/**
 * Resizes to `size`: "+10G" grows, "-5G" shrinks, "100G" sets. The new size is computed from
 * the current virtual size first; a shrink without `shrink: true` is REFUSED and the image is
 * not touched. A busy image (a running VM holds it) is BUSY. Same size is a no-op success.
 */
export async function resizeImage(host: Host, opts: { path: string; size: string; shrink?: boolean }): Promise<ResizeResult> {
  const file = absPath(opts.path);
  const info = await imageInfo(host, file);
  if (info.force_share) throw busy(file);
  const oldSize = info["virtual-size"];
  const newSize = computeNewSize(oldSize, opts.size);
  const result = (changed: boolean, size: number): ResizeResult => ({
    success: true,
    image_path: file,
    changed,
    old_size: oldSize,
    new_size: size,
    old_size_human: humanSize(oldSize),
    new_size_human: humanSize(size),
  });
  if (newSize === oldSize) return result(false, oldSize);
  const shrinking = newSize < oldSize;
  if (shrinking && !opts.shrink) {
    throw new QfleetError(
      "REFUSED",
      `shrinking ${file} from ${humanSize(oldSize)} to ${humanSize(newSize)} loses data; pass --shrink if you mean it`,
      { hint: "shrink the filesystem and partitions inside the guest first" },
    );
  }
  const args = ["resize", "-f", info.format, ...(shrinking ? ["--shrink"] : []), file, String(newSize)];
  await runImgOk(host, args, file, { timeoutMs: 10 * 60_000 });
  const after = await imageInfo(host, file);
  return result(true, after["virtual-size"]);
}

export interface CreateDiskResult {
  success: true;
  path: string;
  format: "qcow2" | "raw";
  size: number;
  size_human: string;
}

/** A new empty disk of `size` bytes. Refuses to overwrite (EXISTS); the folder must exist. */
export async function createDisk(host: Host, opts: { path: string; format: "qcow2" | "raw"; size: number }): Promise<CreateDiskResult> {
  const file = absPath(opts.path);
  if (opts.format !== "qcow2" && opts.format !== "raw") {
    throw new QfleetError("BAD_INPUT", `unknown disk format "${String(opts.format)}": use qcow2 or raw`);
  }
  if (!Number.isSafeInteger(opts.size) || opts.size <= 0) {
    throw new QfleetError("BAD_INPUT", `disk size must be a positive number of bytes, got ${opts.size}`);
  }
  await refuseExisting(host, file, "remove it first, or pick another path");
  await requireFolder(host, file);
  await cleanOnFailure(host, file, () => runImgOk(host, ["create", "-f", opts.format, file, String(opts.size)], file));
  return { success: true, path: file, format: opts.format, size: opts.size, size_human: humanSize(opts.size) };
}
