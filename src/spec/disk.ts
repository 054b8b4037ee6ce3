import { z } from "zod";
import { Path, Size } from "./fields.js";

/**
 * One disk of a VM spec. Contract after parsing: a disk has `size`, `path` or both;
 * `overlay: true` always has `path` (the base image, never written) and format qcow2.
 */
export const DiskSchema = z
  .strictObject({
    size: Size.refine((n) => n > 0, { error: "a disk size must be more than 0" })
      .optional()
      .describe("created with this size if missing; grow-only (e.g. 20G)"),
    format: z.enum(["qcow2", "raw"]).default("qcow2").describe("image format (qcow2 | raw)"),
    path: Path.optional().describe("an existing image, or where to create it; relative to the spec file"),
    overlay: z.boolean().default(false).describe("boot a copy-on-write overlay on top of path; the base is never written"),
  })
  .superRefine((d, ctx) => {
    if (d.size === undefined && d.path === undefined)
      ctx.addIssue({ code: "custom", message: "a disk needs size (to create it), path (an existing image), or both" });
    if (d.overlay && d.path === undefined)
      ctx.addIssue({ code: "custom", path: ["overlay"], message: "overlay: true needs path: the base image to put the overlay on" });
    if (d.overlay && d.format === "raw")
      ctx.addIssue({
        code: "custom",
        path: ["format"],
        message: "an overlay is always qcow2 (the base image's format is detected): drop format: raw",
      });
  })
  .describe("a disk: {size} creates one, {path} uses an image, {path, overlay: true} boots a copy-on-write overlay");
export type DiskSpec = z.output<typeof DiskSchema>;

const BOOL_WORDS: Record<string, boolean> = { true: true, on: true, yes: true, false: false, off: false, no: false };
export const SHORTHAND_HELP = 'key=value pairs separated by commas, such as "path=/data/vm/disk.qcow2,size=20G"';

/**
 * The reference's one-line disk: `disk: "path=/data/vm/disk.qcow2,size=20G"` (also format=,
 * overlay=). Splits into an object, then validates it exactly like an entry of `disks`.
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
