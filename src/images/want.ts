import { QfleetError } from "../errors.js";
import { IMAGE_URL_RE } from "../spec/disk.js";
import type { ImageWant } from "./cache-dir.js";

/**
 * An image as a command or tool names it (a URL and one digest), checked as the spec schema
 * checks a disk's `image:`: an http, https or file:// URL and exactly one of sha256 (64 hex
 * digits) or sha512 (128). BAD_INPUT naming what is wrong otherwise.
 */
export function imageWant(url: string, d: { sha256?: string; sha512?: string }): ImageWant {
  if (!IMAGE_URL_RE.test(url))
    throw new QfleetError("BAD_INPUT", `${url} is not an http://, https:// or file:// URL`, { hint: "an image file already on the host is a path" });
  if ((d.sha256 === undefined) === (d.sha512 === undefined))
    throw new QfleetError("BAD_INPUT", `${url}: give its digest, sha256 or sha512 (exactly one): the download is checked against it`, {
      hint: "the publisher lists it (Debian: SHA512SUMS beside the image)",
    });
  const [algo, digest] = d.sha512 !== undefined ? (["sha512", d.sha512] as const) : (["sha256", d.sha256!] as const);
  const n = algo === "sha256" ? 64 : 128;
  if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(digest))
    throw new QfleetError("BAD_INPUT", `${algo} ${JSON.stringify(digest)} is not a ${algo} digest: expected ${n} hex digits`);
  return { url, algo, digest: digest.toLowerCase() };
}
