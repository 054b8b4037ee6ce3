import { execa, type ResultPromise } from "execa";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { QfleetError } from "../../src/errors.js";
import { LocalHost } from "../../src/hosts/local.js";
import { convertImage } from "../../src/qemu/img-convert.js";
import { createDisk, createOverlay, imageInfo, resizeImage } from "../../src/qemu/img.js";
import { useTmpDir } from "../helpers/tmp.js";

/** Real qemu-img, qemu-io and the built CLI (dist/): run `npm run build` first. */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CLI = path.join(ROOT, "dist/qfleet.mjs");
const host = new LocalHost();
const tmp = useTmpDir("qfleet-img-");
const M = 2 ** 20;

const qemuImg = async (...args: string[]) => (await execa("qemu-img", args)).stdout;
const qemuInfo = async (file: string) => JSON.parse(await qemuImg("info", "--output=json", file)) as Record<string, unknown>;
const qemuIo = (format: string, file: string, ...cmds: string[]) =>
  execa("qemu-io", ["-f", format, ...cmds.flatMap((c) => ["-c", c]), file], { reject: false });
const sha = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");
const cli = (args: string[], env: Record<string, string> = {}) =>
  execa(process.execPath, [CLI, ...args], { reject: false, env: { ...process.env, ...env }, cwd: tmp.dir });

/** A 4 MiB raw image with two known patterns in it. */
async function patternedRaw(name = "disk.raw"): Promise<string> {
  const file = tmp.path(name);
  await qemuImg("create", "-f", "raw", file, "4M");
  const r = await qemuIo("raw", file, "write -P 0xab 0 1M", "write -P 0x5c 3M 512k");
  expect(r.exitCode, r.stderr).toBe(0);
  return file;
}

async function qcow2(name = "disk.qcow2", size = "4M"): Promise<string> {
  const file = tmp.path(name);
  await qemuImg("create", "-f", "qcow2", file, size);
  return file;
}

async function rejection(p: Promise<unknown>): Promise<QfleetError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(QfleetError);
  return e as QfleetError;
}

// Processes that hold image locks; every one is killed after each test, pass or fail.
const holders: ResultPromise[] = [];
afterEach(async () => {
  for (const h of holders.splice(0)) {
    h.kill("SIGKILL");
    await h.catch(() => undefined);
  }
});

/** Keeps `file` open read-write in qemu-io (as a running VM would) until the test ends. */
async function holdWriteLock(file: string): Promise<void> {
  const h = execa("qemu-io", ["-f", "qcow2", file], { stdin: "pipe", reject: false });
  holders.push(h);
  for (let i = 0; i < 100; i++) {
    const r = await execa("qemu-img", ["info", file], { reject: false });
    if (r.exitCode !== 0 && /lock/.test(r.stderr)) return;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`qemu-io never locked ${file}`);
}

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
});

describe("imageInfo", () => {
  const SAME = ["filename", "format", "virtual-size", "actual-size", "dirty-flag", "cluster-size", "backing-filename", "full-backing-filename"];

  it("reports what qemu-img info reports, for raw, qcow2 and an overlay", async () => {
    const raw = await patternedRaw();
    const q = await qcow2();
    const overlay = (await createOverlay(host, { base: raw })).overlay_path;
    for (const file of [raw, q, overlay]) {
      const [ours, theirs] = [await imageInfo(host, file), await qemuInfo(file)];
      for (const k of SAME) expect(ours[k as keyof typeof ours], `${file} ${k}`).toEqual(theirs[k]);
      expect(ours["backing-format"]).toEqual(theirs["backing-filename-format"]);
      expect(ours["force_share"]).toBeUndefined();
    }
    const ov = await imageInfo(host, overlay);
    expect(ov).toMatchObject({ format: "qcow2", "backing-filename": raw, "backing-format": "raw", "virtual-size-human": "4.0 MB" });
  });

  it("says what is wrong with a missing path, a folder or a file that is not a disk image", async () => {
    expect(await rejection(imageInfo(host, tmp.path("nope.qcow2")))).toMatchObject({
      code: "NOT_FOUND",
      message: `no such file: ${tmp.path("nope.qcow2")}`,
    });
    expect(await rejection(imageInfo(host, tmp.dir))).toMatchObject({ code: "BAD_INPUT", message: `${tmp.dir} is a folder, not an image` });
    writeFileSync(tmp.path("notes.txt"), "not a disk\n");
    expect(await rejection(imageInfo(host, tmp.path("notes.txt")))).toMatchObject({
      code: "BAD_INPUT",
      message: expect.stringMatching(/notes\.txt is not a disk image: its size \(11 bytes\)/),
    });
    writeFileSync(tmp.path("empty.img"), "");
    expect(await rejection(imageInfo(host, tmp.path("empty.img")))).toMatchObject({
      code: "BAD_INPUT",
      message: expect.stringMatching(/is not a disk image: it is empty/),
    });
    writeFileSync(tmp.path("sectors.img"), Buffer.alloc(1024, 7)); // whole sectors: a raw disk as far as anyone can tell
    expect(await imageInfo(host, tmp.path("sectors.img"))).toMatchObject({ format: "raw", "virtual-size": 1024 });
  });
});

describe("convertImage", () => {
  it("keeps the content byte for byte through raw -> qcow2 -> vmdk -> vdi -> vhdx -> raw", async () => {
    const original = await patternedRaw("orig.raw");
    let current = original;
    const seen: number[] = [];
    for (const format of ["qcow2", "vmdk", "vdi", "vhdx", "raw"] as const) {
      const output = tmp.path(`step-${format}.${format}`);
      const r = await convertImage(host, { input: current, format, output, onProgress: (p) => seen.push(p) });
      expect(r).toMatchObject({ success: true, output_path: output, output_format: format, output_size: "4.0 MB", output_virtual_size: 4 * M });
      expect((await qemuInfo(output)).format).toBe(format);
      current = output;
    }
    expect(sha(current)).toBe(sha(original));
    expect(seen).toContain(100);
    expect(readdirSync(tmp.dir).filter((f) => f.startsWith("."))).toEqual([]); // no staging leftovers
  });

  it("writes beside the input by default and never onto the input", async () => {
    const raw = await patternedRaw();
    expect((await convertImage(host, { input: raw, format: "qcow2" })).output_path).toBe(tmp.path("disk.qcow2"));
    expect(await rejection(convertImage(host, { input: raw, format: "raw" }))).toMatchObject({ code: "BAD_INPUT" });
    const bad = await rejection(convertImage(host, { input: raw, format: "qed" }));
    expect(bad.code).toBe("BAD_INPUT");
    expect(bad.message).toContain("raw, qcow2, vmdk, vdi, vhdx");
  });

  it("refuses an existing output without force and replaces it with force", async () => {
    const raw = await patternedRaw();
    const out = tmp.path("out.qcow2");
    writeFileSync(out, "precious");
    const e = await rejection(convertImage(host, { input: raw, format: "qcow2", output: out }));
    expect(e).toMatchObject({ code: "EXISTS", hint: "use --force to overwrite" });
    expect(readFileSync(out, "utf8")).toBe("precious");
    await convertImage(host, { input: raw, format: "qcow2", output: out, force: true });
    expect((await qemuInfo(out)).format).toBe("qcow2");
  });

  it("leaves nothing at the output path when interrupted", async () => {
    const raw = tmp.path("big.raw");
    await qemuImg("create", "-f", "raw", raw, "64M");
    await qemuIo("raw", raw, "write -P 0x11 0 64M");
    const stop = new AbortController();
    const e = await rejection(convertImage(host, { input: raw, format: "vdi", signal: stop.signal, onProgress: () => stop.abort() }));
    expect(e.message).toContain("interrupted");
    expect(readdirSync(tmp.dir)).toEqual(["big.raw"]);
  });
});

describe("createOverlay", () => {
  it("leaves the base unchanged when the overlay is written", async () => {
    const base = await patternedRaw("base.raw");
    const before = sha(base);
    const r = await createOverlay(host, { base });
    expect(r).toEqual({
      success: true,
      overlay_path: tmp.path("base-overlay.qcow2"),
      backing_file: base,
      backing_format: "raw",
      virtual_size: 4 * M,
      note: "Changes to the overlay do not affect the base image",
    });
    expect((await qemuIo("qcow2", r.overlay_path, "write -P 0x77 0 64k")).exitCode).toBe(0);
    expect(sha(base)).toBe(before);
    const back = await qemuIo("qcow2", r.overlay_path, "read -P 0x77 0 64k", "read -P 0xab 64k 64k", "read -P 0x5c 3M 512k");
    expect(back.exitCode, back.stdout).toBe(0);
    expect(back.stdout).not.toContain("verification failed");
    expect(await rejection(createOverlay(host, { base }))).toMatchObject({ code: "EXISTS" });
  });

  it("takes an explicit output and refuses a missing base", async () => {
    const base = await qcow2("golden.qcow2");
    mkdirSync(tmp.path("runs"));
    const r = await createOverlay(host, { base, output: tmp.path("runs", "t1.qcow2") });
    expect((await qemuInfo(r.overlay_path))["backing-filename"]).toBe(base);
    expect(await rejection(createOverlay(host, { base: tmp.path("none.qcow2") }))).toMatchObject({ code: "NOT_FOUND" });
  });
});

describe("resizeImage", () => {
  it("grows by a delta and to an absolute size, and a same size is a no-op", async () => {
    const q = await qcow2();
    expect(await resizeImage(host, { path: q, size: "+4M" })).toMatchObject({
      changed: true,
      old_size: 4 * M,
      new_size: 8 * M,
      new_size_human: "8.0 MB",
    });
    expect(await resizeImage(host, { path: q, size: "16M" })).toMatchObject({ old_size: 8 * M, new_size: 16 * M });
    expect(await resizeImage(host, { path: q, size: "16M" })).toMatchObject({ changed: false, new_size: 16 * M });
    expect((await qemuInfo(q))["virtual-size"]).toBe(16 * M);
  });

  it("refuses to shrink without the flag, leaving the image as it was; shrinks with it", async () => {
    const raw = await patternedRaw();
    const before = sha(raw);
    const e = await rejection(resizeImage(host, { path: raw, size: "-1M" }));
    expect(e.code).toBe("REFUSED");
    expect(e.message).toBe(`shrinking ${raw} from 4.0 MB to 3.0 MB loses data; pass --shrink if you mean it`);
    expect(sha(raw)).toBe(before);
    expect((await qemuInfo(raw))["virtual-size"]).toBe(4 * M);
    expect(await resizeImage(host, { path: raw, size: "-1M", shrink: true })).toMatchObject({ new_size: 3 * M });
    expect((await qemuInfo(raw))["virtual-size"]).toBe(3 * M);
  });

  it("refuses bad sizes", async () => {
    const q = await qcow2();
    for (const size of ["abc", "-8M", "0", "1X"]) expect((await rejection(resizeImage(host, { path: q, size }))).code, size).toBe("BAD_INPUT");
  });
});

describe("an image held by a running process", () => {
  it("info still works (force-share); resize and convert say BUSY", async () => {
    const q = await qcow2();
    await holdWriteLock(q);
    expect(await imageInfo(host, q)).toMatchObject({ format: "qcow2", force_share: true });
    const e = await rejection(resizeImage(host, { path: q, size: "+1M" }));
    expect(e).toMatchObject({ code: "BUSY", message: `${q} is in use by a running VM` });
    expect(e.hint).toMatch(/stop/);
    expect((await rejection(convertImage(host, { input: q, format: "raw" }))).code).toBe("BUSY");
    expect(existsSync(tmp.path("disk.raw"))).toBe(false);
  });
});

describe("createDisk", () => {
  it("creates a disk and refuses to overwrite one", async () => {
    const file = tmp.path("new.qcow2");
    expect(await createDisk(host, { path: file, format: "qcow2", size: 8 * M })).toMatchObject({ success: true, size_human: "8.0 MB" });
    expect(await qemuInfo(file)).toMatchObject({ format: "qcow2", "virtual-size": 8 * M });
    expect((await rejection(createDisk(host, { path: file, format: "raw", size: M }))).code).toBe("EXISTS");
    expect((await rejection(createDisk(host, { path: tmp.path("no", "x.raw"), format: "raw", size: M }))).code).toBe("NOT_FOUND");
  });
});

describe("qfleet image (CLI)", () => {
  const oneLine = (r: { stderr: string; exitCode?: number }) => {
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  };

  it("prints one line and exits 1 for a missing file, a folder, an unknown format", async () => {
    const raw = await patternedRaw();
    const missing = await cli(["image", "info", "/nope"]);
    oneLine(missing);
    expect(missing.stderr).toBe("error: no such file: /nope");
    oneLine(await cli(["image", "info", tmp.dir]));
    const fmt = await cli(["image", "convert", raw, "--format", "qed"]);
    oneLine(fmt);
    expect(fmt.stderr).toContain("raw, qcow2, vmdk, vdi, vhdx");
  });

  it("info as text and JSON", async () => {
    const raw = await patternedRaw();
    const text = await cli(["image", "info", "disk.raw"]);
    expect(text.stdout).toMatch(/^format\s+raw$/m);
    expect(text.stdout).toMatch(/^virtual size\s+4\.0 MB \(4194304 bytes\)$/m);
    const json = await cli(["image", "info", raw, "--json"]);
    expect(JSON.parse(json.stdout)).toEqual(await imageInfo(host, raw));
  });

  it("convert keeps stderr quiet off a terminal and prints the result", async () => {
    await patternedRaw();
    const r = await cli(["image", "convert", "disk.raw", "--format", "qcow2", "--json"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ success: true, output_path: tmp.path("disk.qcow2"), output_format: "qcow2", output_size: "4.0 MB" });
    expect(r.stderr).not.toContain("\r");
    expect(r.stderr.trim().split("\n").length).toBeLessThanOrEqual(1);
  });

  it("resize takes a negative size as a size, not an option", async () => {
    const q = await qcow2("d.qcow2", "8M");
    const refused = await cli(["image", "resize", "d.qcow2", "-2M"]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain("pass --shrink");
    expect(refused.stderr).not.toContain("unknown option");
    const ok = await cli(["image", "resize", "d.qcow2", "-2M", "--shrink"]);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(ok.stdout).toContain("from 8.0 MB to 6.0 MB");
    const json = await cli(["image", "resize", "--shrink", q, "-1M", "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({ old_size: 6 * M, new_size: 5 * M });
    expect((await cli(["image", "resize", q, "--", "+1M"])).exitCode).toBe(0);
    expect((await qemuInfo(q))["virtual-size"]).toBe(6 * M);
  });

  it("overlay via the CLI, and help with examples on every subcommand", async () => {
    await patternedRaw("base.raw");
    const r = await cli(["image", "overlay", "base.raw", "-o", "o.qcow2"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^backing file\s+.*base\.raw \(raw\)$/m);
    const subs = ["info", "convert", "overlay", "resize"];
    const helps = await Promise.all(subs.map((sub) => cli(["image", sub, "--help"])));
    helps.forEach((h, i) => expect(h.stdout, subs[i]).toContain("Examples:"));
  });

  it("names the packages to install when qemu-img is missing", async () => {
    await patternedRaw();
    mkdirSync(tmp.path("empty-bin"));
    const r = await cli(["image", "info", "disk.raw"], { PATH: tmp.path("empty-bin") });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("qemu-img is not installed");
    expect(r.stderr).toMatch(/apt/);
    expect(r.stderr).toMatch(/dnf/);
    expect(r.stderr).toMatch(/brew/);
  });
});
