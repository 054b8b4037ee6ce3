import path from "node:path";
import { QfleetError } from "../errors.js";
import type { Host } from "../hosts/host.js";
import { imgFailure, requireImage, runImg } from "./img-errors.js";
import { classifyImgError, parseInfoJson, type ImageInfo } from "./img-parse.js";

/** Relative paths resolve against this process's working directory. */
export const absPath = (p: string): string => (path.posix.isAbsolute(p) ? path.posix.normalize(p) : path.resolve(p));

/**
 * `qemu-img info --output=json`. When a running VM holds the image's write lock, retries with
 * -U (force-share, read-only) and sets `force_share: true`: sizes may then be changing.
 */
export async function imageInfo(host: Host, image: string): Promise<ImageInfo> {
  const file = absPath(image);
  const st = await requireImage(host, file);
  let r = await runImg(host, ["info", "--output=json", file]);
  let forced = false;
  if (r.exitCode !== 0 && classifyImgError(r.stderr) === "locked") {
    r = await runImg(host, ["info", "-U", "--output=json", file]);
    forced = true;
  }
  if (r.exitCode !== 0) throw imgFailure(["qemu-img", "info", "--output=json", file], r, file);
  const info = parseInfoJson(r.stdout);
  if (forced) info.force_share = true;
  // qemu-img calls any file "raw"; a real raw disk is a whole number of 512-byte sectors
  if (info.format === "raw" && st.kind === "file" && (st.size === 0 || st.size % 512 !== 0)) {
    throw new QfleetError(
      "BAD_INPUT",
      `${file} is not a disk image: ${st.size === 0 ? "it is empty" : `its size (${st.size} bytes) is not a whole number of 512-byte sectors`}`,
    );
  }
  return info;
}
