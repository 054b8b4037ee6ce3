import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { rmSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { QfleetError } from "../../src/errors.js";
import { encodePng, isFlat, parsePpm, scaleDown, screenshotPng, type RgbImage } from "../../src/qemu/screen.js";

/**
 * PNGs are checked by a decoder that shares nothing with the encoder: Python's standard library
 * (struct + zlib) parses the chunks, checks every CRC, inflates the IDATs and undoes all five filters.
 */
const PY_DECODE = `
import sys, struct, zlib, json, hashlib
d = sys.stdin.buffer.read()
assert d[:8] == b"\\x89PNG\\r\\n\\x1a\\n", "signature"
pos, chunks, idat = 8, [], b""
while pos < len(d):
    n, = struct.unpack(">I", d[pos:pos+4]); t = d[pos+4:pos+8]; body = d[pos+8:pos+8+n]
    crc, = struct.unpack(">I", d[pos+8+n:pos+12+n])
    assert zlib.crc32(t + body) == crc, "bad CRC in " + t.decode()
    chunks.append(t.decode()); pos += 12 + n
    if t == b"IHDR": w, h, depth, ctype, comp, filt, inter = struct.unpack(">IIBBBBB", body)
    if t == b"IDAT": idat += body
raw, stride, prev, out = zlib.decompress(idat), w * 3, bytearray(w * 3), bytearray()
for y in range(h):
    f, row = raw[y*(stride+1)], bytearray(raw[y*(stride+1)+1:(y+1)*(stride+1)])
    for i in range(stride if f else 0):
        a = row[i-3] if i >= 3 else 0; b = prev[i]; c = prev[i-3] if i >= 3 else 0
        p = a + b - c; pa, pb, pc = abs(p-a), abs(p-b), abs(p-c)
        pred = [0, a, b, (a+b)//2, a if pa <= pb and pa <= pc else (b if pb <= pc else c)][f]
        row[i] = (row[i] + pred) & 255
    out += row; prev = row
print(json.dumps({"width": w, "height": h, "depth": depth, "ctype": ctype, "interlace": inter, "chunks": chunks,
                  "trailing": len(raw) - h*(stride+1), "sha256": hashlib.sha256(out).hexdigest(), "head": out[:24].hex()}))
`;
function pyDecode(png: Buffer) {
  const r = spawnSync("python3", ["-c", PY_DECODE], { input: png, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`python decoder failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as {
    width: number;
    height: number;
    depth: number;
    ctype: number;
    interlace: number;
    chunks: string[];
    trailing: number;
    sha256: string;
    head: string;
  };
}
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

const ppm = (header: string, rgb: Buffer | number[]) => Buffer.concat([Buffer.from(header, "latin1"), Buffer.from(rgb)]);
function image(width: number, height: number, pixel: (x: number, y: number) => [number, number, number]): RgbImage {
  const rgb = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) rgb.set(pixel(x, y), (y * width + x) * 3);
  return { width, height, rgb };
}
function badInput(f: () => unknown, message: RegExp) {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(QfleetError);
    expect((e as QfleetError).code).toBe("BAD_INPUT");
    expect((e as QfleetError).message).toMatch(message);
    return;
  }
  throw new Error(`expected BAD_INPUT ${message}`);
}

describe("parsePpm", () => {
  it("reads QEMU's header and the pixels after it", () => {
    const img = parsePpm(ppm("P6\n2 1\n255\n", [1, 2, 3, 250, 251, 252]));
    expect(img).toMatchObject({ width: 2, height: 1 });
    expect([...img.rgb]).toEqual([1, 2, 3, 250, 251, 252]);
  });

  it("allows comments and any whitespace between header fields (netpbm spec)", () => {
    const px = [9, 8, 7, 6, 5, 4];
    for (const header of [
      "P6 2 1 255 ",
      "P6#made by hand\n2\t1\r\n# another\n  255\n",
      "P6\n#c\n2 #w\n1\n255#trailing comment\n",
      "P6\r2\r1\r255\r",
    ]) {
      const img = parsePpm(ppm(header, px));
      expect([img.width, img.height, [...img.rgb]], header).toEqual([2, 1, px]);
    }
    // the pixel bytes may look like whitespace or '#': only one byte separates them from maxval
    expect([...parsePpm(ppm("P6\n1 1\n255\n", [0x0a, 0x23, 0x20])).rgb]).toEqual([0x0a, 0x23, 0x20]);
  });

  it("refuses other formats, other maxvals, zero sizes and short data", () => {
    badInput(() => parsePpm(ppm("P3\n1 1\n255\n0 0 0\n", [])), /not a binary PPM \(P6\).*"P3"/);
    badInput(() => parsePpm(ppm("P5\n1 1\n255\n", [0])), /not a binary PPM/);
    badInput(() => parsePpm(Buffer.from("\x89PNG\r\n")), /not a binary PPM/);
    badInput(() => parsePpm(Buffer.alloc(0)), /not a binary PPM/);
    badInput(() => parsePpm(ppm("P61 1 255\n", [0, 0, 0])), /not a binary PPM/);
    badInput(() => parsePpm(ppm("P6\n1 1\n65535\n", [0, 0, 0, 0, 0, 0])), /maxval 65535/);
    badInput(() => parsePpm(ppm("P6\n1 1\n15\n", [0, 0, 0])), /maxval 15/);
    badInput(() => parsePpm(ppm("P6\n0 1\n255\n", [])), /no pixels: 0x1/);
    badInput(() => parsePpm(ppm("P6\n2 2\n255\n", [1, 2, 3])), /truncated: 3 of 12/);
    badInput(() => parsePpm(ppm("P6\n2 2\n255", [])), /no pixel data/);
    badInput(() => parsePpm(ppm("P6\n2 x\n255\n", [])), /expected the height/);
    badInput(() => parsePpm(ppm("P6\n2x 2\n255\n", [])), /width .* is not a number/);
    badInput(() => parsePpm(ppm("P6\n2 -2\n255\n", [])), /expected the height/);
  });
});

describe("encodePng", () => {
  it("writes a PNG an independent decoder reads back pixel for pixel", () => {
    const img = image(7, 5, (x, y) => [x * 36, y * 60, (x * 7 + y * 13) % 256]);
    const png = encodePng(img);
    const d = pyDecode(png);
    expect(d).toMatchObject({ width: 7, height: 5, depth: 8, ctype: 2, interlace: 0, chunks: ["IHDR", "IDAT", "IEND"], trailing: 0 });
    expect(d.sha256).toBe(sha(img.rgb));
    expect(d.head).toBe(img.rgb.subarray(0, 24).toString("hex"));
    const file = spawnSync("file", ["-"], { input: png, encoding: "utf8" });
    if (file.status === 0) expect(file.stdout).toMatch(/PNG image data, 7 x 5, 8-bit\/color RGB, non-interlaced/);
  });

  it("refuses an image whose buffer does not match its size", () => {
    badInput(() => encodePng({ width: 2, height: 2, rgb: Buffer.alloc(11) }), /needs 12 RGB bytes, got 11/);
    badInput(() => encodePng({ width: 0, height: 2, rgb: Buffer.alloc(0) }), /size 0x2/);
  });
});

describe("scaleDown", () => {
  const px = (img: RgbImage, x: number, y: number) => [...img.rgb.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3)];

  it("averages each block: 2x2 blocks of one colour stay that colour, a 2x2 checker becomes grey", () => {
    const colours: [number, number, number][] = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 20, 30]]; // prettier-ignore
    const blocks = scaleDown(
      image(4, 4, (x, y) => colours[(y >> 1) * 2 + (x >> 1)]!),
      2,
      2,
    );
    expect([blocks.width, blocks.height]).toEqual([2, 2]);
    expect([px(blocks, 0, 0), px(blocks, 1, 0), px(blocks, 0, 1), px(blocks, 1, 1)]).toEqual(colours);
    const checker = scaleDown(
      image(2, 2, (x, y) => ((x + y) % 2 ? [255, 255, 255] : [0, 0, 0])),
      1,
      1,
    );
    expect([checker.width, checker.height, px(checker, 0, 0)]).toEqual([1, 1, [128, 128, 128]]); // 127.5 rounds up
  });

  it("weights source pixels by the area they cover when the ratio is not whole", () => {
    const out = scaleDown(
      image(3, 1, (x) => [x * 90, 0, 255]),
      2,
      2,
    );
    expect([out.width, out.height]).toEqual([2, 1]);
    expect([px(out, 0, 0), px(out, 1, 0)]).toEqual([
      [30, 0, 255],
      [150, 0, 255],
    ]); // (0 + 90/2)/1.5, (90/2 + 180)/1.5
  });

  it("keeps the aspect ratio and fits the box", () => {
    const size = (w: number, h: number, mw: number, mh: number) => {
      const out = scaleDown({ width: w, height: h, rgb: Buffer.alloc(w * h * 3) }, mw, mh);
      return [out.width, out.height];
    };
    expect(size(1440, 900, 1280, 800)).toEqual([1280, 800]);
    expect(size(720, 400, 360, 360)).toEqual([360, 200]);
    expect(size(640, 480, 1000, 240)).toEqual([320, 240]);
    expect(size(100, 10, 10, 10)).toEqual([10, 1]);
    expect(size(1000, 1, 10, 10)).toEqual([10, 1]); // never below one pixel
  });

  it("never scales up and refuses unusable limits", () => {
    const img = image(10, 10, (x) => [x, x, x]);
    expect(scaleDown(img, 1000, 1000)).toBe(img);
    expect(scaleDown(img, 10, 10)).toBe(img);
    badInput(() => scaleDown(img, 0, 10), /cannot scale to 0x10/);
    badInput(() => scaleDown(img, 5.5, 10), /cannot scale to 5.5x10/);
  });
});

describe("isFlat", () => {
  it("is true only when every pixel has the same colour", () => {
    expect(isFlat(image(5, 4, () => [1, 2, 3]))).toBe(true);
    expect(isFlat(image(1, 1, () => [9, 9, 9]))).toBe(true);
    expect(isFlat(image(5, 4, (x, y) => (x === 4 && y === 3 ? [1, 2, 4] : [1, 2, 3])))).toBe(false);
    expect(isFlat(image(5, 4, (x, y) => (x === 0 && y === 0 ? [0, 2, 3] : [1, 2, 3])))).toBe(false);
    expect(isFlat(image(3, 1, () => [7, 7, 7]))).toBe(true);
    expect(isFlat({ width: 3, height: 1, rgb: Buffer.from([7, 7, 7, 7, 7, 7, 7, 7, 8]) })).toBe(false);
  });
});

describe("screenshotPng", () => {
  it("scales to 1280x800 by default and reports both sizes", () => {
    const big = image(2560, 1600, (x, y) => [x % 256, y % 256, 0]);
    const r = screenshotPng(ppm("P6\n2560 1600\n255\n", big.rgb));
    expect(r).toMatchObject({ width: 1280, height: 800, scaled: true, originalWidth: 2560, originalHeight: 1600 });
    expect(pyDecode(r.png)).toMatchObject({ width: 1280, height: 800 });
    const small = screenshotPng(ppm("P6\n4 2\n255\n", Buffer.alloc(24, 5)), { maxWidth: 2, maxHeight: 100 });
    expect(small).toMatchObject({ width: 2, height: 1, scaled: true, originalWidth: 4, originalHeight: 2 });
    expect(screenshotPng(ppm("P6\n4 2\n255\n", Buffer.alloc(24, 5)))).toMatchObject({ width: 4, height: 2, scaled: false });
  });
});

// A real QEMU screendump through this code is tested end to end in test/integration/console-screen.test.ts.
