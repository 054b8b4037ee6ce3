import * as z from "zod";
import { isQfleetError } from "../../errors.js";
import { LOCAL } from "../../hosts/local.js";
import { convertImage, OUTPUT_FORMATS } from "../../qemu/img-convert.js";
import { createOverlay, imageInfo, resizeImage } from "../../qemu/img.js";
import { recordOverlayUser } from "../../images/cache-users.js";
import { defineTool } from "../tool.js";

/** The first reference's image tools, on this machine, through the same code as `qfleet image`. */
const path = (what: string) =>
  z
    .string()
    .min(1)
    .regex(/^[^\0\n]+$/, "one line, no NUL")
    .describe(what);

export const qemuImageInfo = defineTool({
  name: "qemu_image_info",
  title: "Disk image info",
  description:
    "Show a disk image's format, virtual and on-disk size, backing file and snapshots (qemu-img info). Changes nothing; works while a VM holds the image.",
  input: { image_path: path("the image file, absolute or relative to the server's folder") },
  output: {
    filename: z.string(),
    format: z.string(),
    "virtual-size": z.number(),
    "virtual-size-human": z.string(),
    "actual-size": z.number().optional(),
    "actual-size-human": z.string().optional(),
    "backing-filename": z.string().optional(),
    "full-backing-filename": z.string().optional(),
    "backing-format": z.string().optional(),
    "dirty-flag": z.boolean().optional(),
    "cluster-size": z.number().optional(),
    encrypted: z.boolean().optional(),
    snapshots: z.array(z.record(z.string(), z.unknown())).optional(),
    force_share: z.boolean().optional().describe("true when a running VM holds the image (read with -U): sizes may be moving"),
  },
  annotations: { readOnlyHint: true, idempotentHint: true },
  run: async ({ image_path }) => ({ ...(await imageInfo(LOCAL, image_path)) }) as never,
});

export const qemuImageConvert = defineTool({
  name: "qemu_image_convert",
  title: "Convert a disk image",
  description:
    "Convert an image to raw, qcow2, vmdk, vdi or vhdx (qemu-img convert). The input is never changed; the output must not exist yet " +
    "(default: beside the input with the new extension). Sends progress notifications while converting.",
  input: {
    image_path: path("the image to convert"),
    output_format: z.enum(OUTPUT_FORMATS).describe("the format to write"),
    output_path: path("where to write (default: beside the input, new extension); must not exist").optional(),
  },
  output: {
    success: z.boolean(),
    output_path: z.string(),
    output_format: z.string(),
    output_size: z.string(),
    output_virtual_size: z.number(),
    output_actual_size: z.number().optional(),
  },
  annotations: { readOnlyHint: false, destructiveHint: false },
  async run({ image_path, output_format, output_path }, call) {
    let last = -1;
    const r = await convertImage(LOCAL, {
      input: image_path,
      format: output_format,
      output: output_path,
      signal: call.signal,
      onProgress: (pct) => {
        if (Math.floor(pct) > last) void call.progress((last = Math.floor(pct)), 100, `converting: ${last}%`);
      },
    });
    const { input_path: _i, input_format: _f, ...out } = r;
    return out;
  },
});

export const qemuCreateOverlay = defineTool({
  name: "qemu_create_overlay",
  title: "Create a copy-on-write overlay",
  description:
    "Create a qcow2 overlay backed by an image, so you can experiment without changing the original: writes go to the overlay. " +
    "Never overwrites an existing file.",
  input: {
    base_image: path("the image to protect"),
    overlay_path: path("the overlay file to create (default: <base>-overlay.qcow2 beside it)").optional(),
  },
  output: { success: z.boolean(), overlay_path: z.string(), backing_file: z.string(), backing_format: z.string(), note: z.string() },
  annotations: { readOnlyHint: false, destructiveHint: false },
  async run({ base_image, overlay_path }) {
    const { virtual_size: _v, ...r } = await createOverlay(LOCAL, { base: base_image, output: overlay_path });
    await recordOverlayUser(LOCAL, r.backing_file, r.overlay_path); // an overlay on a cached image keeps it from prune
    return r;
  },
});

export const qemuImageResize = defineTool({
  name: "qemu_image_resize",
  title: "Resize a disk image",
  description:
    "Change an image's virtual size: '+10G' grows, '-5G' shrinks, '100G' sets. Growing just works. Shrinking loses the data past " +
    "the new end, so the person is asked first (or, without elicitation support, the call needs confirm: true after asking them).",
  input: {
    image_path: path("the image to resize (not in use by a running VM)"),
    size: z
      .string()
      .regex(/^[+-]?\d+(\.\d+)?\s*([KMGTP](i?B)?)?$/i, "like +10G, -5G or 100G")
      .describe("+10G, -5G or 100G (binary units)"),
    confirm: z.boolean().optional().describe("only for shrinking, and only after the person agreed"),
  },
  output: {
    success: z.boolean(),
    image_path: z.string(),
    changed: z.boolean(),
    old_size: z.number(),
    new_size: z.number(),
    old_size_human: z.string(),
    new_size_human: z.string(),
  },
  annotations: { readOnlyHint: false, destructiveHint: true },
  async run({ image_path, size, confirm }, call) {
    try {
      return await resizeImage(LOCAL, { path: image_path, size });
    } catch (e) {
      if (!isQfleetError(e) || e.code !== "REFUSED") throw e;
      await call.confirm(e.message.replace(/; pass --shrink.*$/, "."), confirm);
      return resizeImage(LOCAL, { path: image_path, size, shrink: true });
    }
  },
});
