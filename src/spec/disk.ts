import * as z from "zod";
import { Path, Size } from "./fields.js";

/** The digests an image URL may be pinned with. */
export type DigestAlgo = "sha256" | "sha512";

/** An image's file name in a host's image cache: named by its digest, so the same bytes are fetched once per host. */
export const cachedImageName = (algo: DigestAlgo, digest: string): string => `${algo}-${digest}.img`;

/** The URL schemes `image:` takes; every one needs a digest. */
export const IMAGE_URL_RE = /^(https?|file):\/\/[^\s]+$/i;

const hex = (n: number, algo: DigestAlgo) =>
  z
    .string()
    .regex(new RegExp(`^[0-9a-fA-F]{${n}}$`), { error: `expected the image's ${algo} digest: ${n} hex digits` })
    .transform((s) => s.toLowerCase());

/**
 * One disk of a VM spec. Contract after parsing: a disk has `size`, `path`, `image` or `size` with
 * one of them (never `path` and `image` together); `overlay: true` always has `path` or `image`
 * (the base, never written) and format qcow2; `image` always has exactly one digest, in lower case.
 */
export const DiskSchema = z
  .strictObject({
    size: Size.refine((n) => n > 0, { error: "a disk size must be more than 0" })
      .optional()
      .describe("created with this size if missing; grow-only (e.g. 20G)"),
    format: z.enum(["qcow2", "raw"]).default("qcow2").describe("image format (qcow2 | raw)"),
    path: Path.optional().describe("an existing image, or where to create it; relative to the spec file"),
    image: z
      .string()
      .regex(IMAGE_URL_RE, { error: "expected an http://, https:// or file:// URL (an image file on the host is path:)" })
      .optional()
      .describe("an image to download (http, https or file:// URL) into the host's image cache, checked against sha256 or sha512"),
    sha256: hex(64, "sha256").optional().describe("the image's SHA-256 (64 hex digits): the download is used only when it matches"),
    sha512: hex(128, "sha512").optional().describe("the image's SHA-512 (128 hex digits): the download is used only when it matches"),
    overlay: z.boolean().default(false).describe("boot a copy-on-write overlay on top of path or image; the base is never written"),
  })
  .superRefine((d, ctx) => {
    if (d.size === undefined && d.path === undefined && d.image === undefined)
      ctx.addIssue({
        code: "custom",
        message: "a disk needs size (to create it), path (an existing image), image (a URL), or size with one of them",
      });
    if (d.path !== undefined && d.image !== undefined)
      ctx.addIssue({
        code: "custom",
        path: ["image"],
        message: "give either path (an image file on the host) or image (a URL to download), not both",
      });
    if (d.image !== undefined && d.sha256 === undefined && d.sha512 === undefined)
      ctx.addIssue({
        code: "custom",
        path: ["image"],
        message: "an image URL needs its digest: add sha256: <64 hex digits> or sha512: <128 hex digits> (the download is checked against it)",
      });
    if (d.sha256 !== undefined && d.sha512 !== undefined)
      ctx.addIssue({ code: "custom", path: ["sha512"], message: "give one digest: sha256 or sha512, not both" });
    if (d.image === undefined && (d.sha256 !== undefined || d.sha512 !== undefined))
      ctx.addIssue({ code: "custom", path: [d.sha256 !== undefined ? "sha256" : "sha512"], message: "a digest belongs to an image URL: add image:" });
    if (d.overlay && d.path === undefined && d.image === undefined)
      ctx.addIssue({
        code: "custom",
        path: ["overlay"],
        message: "overlay: true needs path (the base image to put the overlay on) or image (a URL to download it from)",
      });
    if (d.overlay && d.format === "raw")
      ctx.addIssue({
        code: "custom",
        path: ["format"],
        message: "an overlay is always qcow2 (the base image's format is detected): drop format: raw",
      });
  })
  .describe(
    "a disk: {size} creates one, {path} uses an image, {path or image+sha256, overlay: true} boots a copy-on-write overlay, {image+sha256} a copy",
  );
export type DiskSpec = z.output<typeof DiskSchema>;

const BOOL_WORDS: Record<string, boolean> = { true: true, on: true, yes: true, false: false, off: false, no: false };
export const SHORTHAND_HELP = 'key=value pairs separated by commas, such as "path=/data/vm/disk.qcow2,size=20G"';

/**
 * The reference's one-line disk: `disk: "path=/data/vm/disk.qcow2,size=20G"` (also format=,
 * overlay=, image=, sha256=, sha512=). Splits into an object, then validates it exactly like an entry of `disks`.
 */
export const DiskShorthand = z
  .string()
  .transform((s, ctx) => {
    const out: Record<string, unknown> = {};
    for (const part of s.split(",")) {
      const eq = part.indexOf("=");
      const key = part.slice(0, eq).trim();
      if (eq < 1 || key === "") {
        ctx.issues.push({ code: "custom", message: `'${part.trim()}' is not key=value: expected ${SHORTHAND_HELP}`, input: s });
        return z.NEVER;
      }
      if (key in out) {
        ctx.issues.push({ code: "custom", message: `'${key}' is given twice`, input: s });
        return z.NEVER;
      }
      const value = part.slice(eq + 1).trim();
      out[key] = key === "overlay" && value.toLowerCase() in BOOL_WORDS ? BOOL_WORDS[value.toLowerCase()] : value;
    }
    return out;
  })
  .pipe(DiskSchema)
  .describe(`one disk as ${SHORTHAND_HELP}; cannot be combined with disks`);
