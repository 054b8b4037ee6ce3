import { crc32, deflateSync } from "node:zlib";
import { QfleetError } from "../errors.js";

/**
 * Screenshots: QMP `screendump` writes a binary PPM (P6, maxval 255; QEMU's ui/console.c ppm_save
 * writes "P6\n<w> <h>\n255\n" then packed RGB rows). This turns one into a PNG a person or a model
 * can look at, scaled down to fit a box. Pure computation: no files, no sockets.
 */
export interface RgbImage {
  width: number;
  height: number;
  /** width * height * 3 bytes, rows top to bottom, R G B per pixel. */
  rgb: Buffer;
}

export const DEFAULT_MAX_WIDTH = 1280;
export const DEFAULT_MAX_HEIGHT = 800;

const bad = (message: string, hint?: string) => new QfleetError("BAD_INPUT", message, hint ? { hint } : {});
const isSpace = (b: number) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0b || b === 0x0c || b === 0x0d;

/**
 * Reads a binary PPM (P6) with maxval 255. The header follows the netpbm spec: whitespace of any
 * kind and `#` comments (to the end of the line) between tokens, then exactly one whitespace byte
 * before the pixels. Bytes after the first image are ignored (the spec allows several images).
 * Anything else (P3/P5, another maxval, a zero size, too few pixel bytes) is BAD_INPUT.
 * The returned `rgb` is a view of `buf`, not a copy.
 */
export function parsePpm(buf: Buffer): RgbImage {
  if (buf.length < 3 || buf[0] !== 0x50 /* P */ || buf[1] !== 0x36 /* 6 */ || !(isSpace(buf[2]!) || buf[2] === 0x23)) {
    const magic = buf
      .subarray(0, 2)
      .toString("latin1")
      .replace(/[^\x20-\x7e]/g, "?");
    throw bad(`not a binary PPM (P6) image: starts with "${magic}"`, "QMP screendump writes P6; ASCII (P3) and greyscale (P5) are not read");
  }
  let pos = 2;
  const number = (what: string): number => {
    for (;;) {
      while (pos < buf.length && isSpace(buf[pos]!)) pos++;
      if (buf[pos] !== 0x23 /* # */) break;
      while (pos < buf.length && buf[pos] !== 0x0a && buf[pos] !== 0x0d) pos++;
    }
    const start = pos;
    while (pos < buf.length && buf[pos]! >= 0x30 && buf[pos]! <= 0x39 && pos - start < 10) pos++;
    if (pos === start) throw bad(`malformed PPM header: expected the ${what} at byte ${start}`);
    const next = buf[pos];
    if (next !== undefined && !isSpace(next) && next !== 0x23)
      throw bad(`malformed PPM header: the ${what} at byte ${start} is not a number (or has more than 10 digits)`);
    return Number(buf.toString("latin1", start, pos));
  };
  const width = number("width");
  const height = number("height");
  const maxval = number("maxval");
  if (width < 1 || height < 1) throw bad(`PPM image has no pixels: ${width}x${height}`);
  if (maxval !== 255) throw bad(`PPM maxval ${maxval} is not supported: only 8-bit samples (maxval 255) are read`);
  // one whitespace byte ends the header; a comment right after maxval ends with its own newline
  if (buf[pos] === 0x23) while (pos < buf.length && buf[pos] !== 0x0a && buf[pos] !== 0x0d) pos++;
  if (pos >= buf.length) throw bad(`PPM image ${width}x${height} has no pixel data`);
  pos++;
  const need = width * height * 3;
  if (buf.length - pos < need) throw bad(`PPM image ${width}x${height} is truncated: ${buf.length - pos} of ${need} pixel bytes`);
  return { width, height, rgb: buf.subarray(pos, pos + need) };
}

function checkImage(img: RgbImage): void {
  const { width, height, rgb } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width > 0x7fffffff || height > 0x7fffffff)
    throw bad(`image size ${width}x${height} is not usable`);
  if (rgb.length !== width * height * 3) throw bad(`image ${width}x${height} needs ${width * height * 3} RGB bytes, got ${rgb.length}`);
}

/** For each target index, the source indices it covers and their share of it (summing to 1). */
function boxWeights(from: number, to: number): { index: number; weight: number }[][] {
  const step = from / to;
  return Array.from({ length: to }, (_, i) => {
    const start = i * step;
    const end = Math.min(from, (i + 1) * step);
    const out: { index: number; weight: number }[] = [];
    for (let j = Math.floor(start); j < end; j++) out.push({ index: j, weight: (Math.min(end, j + 1) - Math.max(start, j)) / step });
    return out;
  });
}

/**
 * Shrinks the image to fit inside maxWidth x maxHeight, keeping the aspect ratio (each side rounded,
 * at least 1 pixel). Never enlarges: an image that already fits is returned as it is. Each target
 * pixel is the area-weighted average of the source pixels under it (a box filter), so thin text
 * strokes become grey rather than vanishing as with nearest-neighbour sampling.
 */
export function scaleDown(img: RgbImage, maxWidth: number, maxHeight: number): RgbImage {
  checkImage(img);
  if (!Number.isInteger(maxWidth) || !Number.isInteger(maxHeight) || maxWidth < 1 || maxHeight < 1)
    throw bad(`cannot scale to ${maxWidth}x${maxHeight}: the limits must be whole numbers of at least 1`);
  const { width: w, height: h, rgb } = img;
  const factor = Math.min(maxWidth / w, maxHeight / h);
  if (factor >= 1) return img;
  const nw = Math.min(maxWidth, Math.max(1, Math.round(w * factor)));
  const nh = Math.min(maxHeight, Math.max(1, Math.round(h * factor)));
  // separable: rows first (w -> nw) into floats, then columns (h -> nh)
  const xs = boxWeights(w, nw);
  const ys = boxWeights(h, nh);
  const mid = new Float32Array(nw * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < nw; x++)
      for (let c = 0; c < 3; c++) {
        let v = 0;
        for (const { index, weight } of xs[x]!) v += rgb[(y * w + index) * 3 + c]! * weight;
        mid[(y * nw + x) * 3 + c] = v;
      }
  const out = Buffer.alloc(nw * nh * 3);
  for (let y = 0; y < nh; y++)
    for (let c = 0; c < nw * 3; c++) {
      let v = 0;
      for (const { index, weight } of ys[y]!) v += mid[index * nw * 3 + c]! * weight;
      out[y * nw * 3 + c] = Math.min(255, Math.max(0, Math.round(v)));
    }
  return { width: nw, height: nh, rgb: out };
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, "latin1");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(data, crc32(head.subarray(4))) >>> 0, 0); // CRC covers type + data, not the length
  return Buffer.concat([head, data, crc]);
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** An 8-bit truecolour (colour type 2), non-interlaced PNG: IHDR, one IDAT (filter 0 on every row), IEND. */
export function encodePng(img: RgbImage): Buffer {
  checkImage(img);
  const { width, height, rgb } = img;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB; bytes 10..12 (compression, filter method, interlace) stay 0
  const stride = width * 3;
  const raw = Buffer.alloc((stride + 1) * height); // each row: filter byte 0, then its pixels
  for (let y = 0; y < height; y++) rgb.copy(raw, y * (stride + 1) + 1, y * stride, (y + 1) * stride);
  return Buffer.concat([PNG_SIGNATURE, chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}

/** True when every pixel has the same colour: a blank screen (or one not drawn yet). */
export function isFlat(img: RgbImage): boolean {
  checkImage(img);
  // all pixels equal <=> the bytes repeat with period 3
  return img.rgb.subarray(3).equals(img.rgb.subarray(0, img.rgb.length - 3));
}

/** A QMP screendump (PPM) as a PNG no larger than maxWidth x maxHeight (default 1280x800). */
export function screenshotPng(
  ppm: Buffer,
  opts: { maxWidth?: number; maxHeight?: number } = {},
): { png: Buffer; width: number; height: number; scaled: boolean; originalWidth: number; originalHeight: number } {
  const original = parsePpm(ppm);
  const img = scaleDown(original, opts.maxWidth ?? DEFAULT_MAX_WIDTH, opts.maxHeight ?? DEFAULT_MAX_HEIGHT);
  return {
    png: encodePng(img),
    width: img.width,
    height: img.height,
    scaled: img !== original,
    originalWidth: original.width,
    originalHeight: original.height,
  };
}
