import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { isQfleetError } from "../../src/errors.js";
import { FAT12_MAX_BYTES, makeFatImage, type FatFile } from "../../src/guest/fat-image.js";
import { useTmpDir } from "../helpers/tmp.js";

/**
 * The in-memory FAT12 image, checked by tools that share no code with it: mtools reads the
 * directory and the files (long names only show when their LFN checksums match), fsck.fat
 * checks the whole filesystem, blkid finds the label and type as udev (and so cloud-init)
 * will, and, where the kernel allows, Linux's vfat driver mounts it.
 */
const tmp = useTmpDir("qfleet-fat-");

const run = (cmd: string, args: string[]) => {
  const r = spawnSync(cmd, args, { encoding: "utf8", env: { ...process.env, LC_ALL: "C.UTF-8" } });
  return { code: r.status, out: `${r.stdout ?? ""}${r.stderr ?? ""}`, stdout: r.stdout ?? "" };
};

function writeImage(img: Buffer): string {
  const file = tmp.path("seed.img");
  writeFileSync(file, img);
  return file;
}

/** fsck.fat -n: read-only, exit 0 only when it found nothing to fix. */
function expectFsckClean(file: string): string {
  const r = run("fsck.fat", ["-n", "-v", file]);
  expect(r.out).not.toMatch(/differ|out of range|assuming|setting|checksum|unchanged|reclaim|invalid|bad /i);
  expect(r.code, r.out).toBe(0);
  return r.out;
}

/** The long names mdir prints (after the date and time); only files stored with LFN entries. */
function mdirNames(file: string): string[] {
  const r = run("mdir", ["-i", file, "::"]);
  expect(r.code, r.out).toBe(0);
  return r.stdout
    .split("\n")
    .map((l) => /\d{4}-\d\d-\d\d\s+\d+:\d\d\s+(\S.*)$/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined);
}

const bytes = (n: number, seed: number) => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 17 + (i >> 9)) & 0xff;
  return b;
};

const SEED: FatFile[] = [
  { name: "meta-data", data: Buffer.from("instance-id: qfleet-web1-0123456789ab\nlocal-hostname: web1\n") },
  { name: "user-data", data: Buffer.from("#cloud-config\nhostname: web1\n") },
  { name: "network-config", data: Buffer.from("version: 2\n") },
];

describe("makeFatImage", () => {
  beforeAll(() => {
    const missing = ["mdir", "mtype", "mcopy", "fsck.fat", "blkid"].filter((t) => spawnSync("sh", ["-c", `command -v ${t}`]).status !== 0);
    if (missing.length) throw new Error(`missing ${missing.join(", ")}: apt-get install -y mtools dosfstools util-linux`);
  });

  it("makes a seed mtools, fsck.fat and blkid all read: label CIDATA, type vfat, long names", () => {
    const img = makeFatImage("cidata", SEED);
    expect(img.length).toBe(2 ** 20);
    const file = writeImage(img);
    expect(run("blkid", ["-p", "-o", "value", "-s", "LABEL", file]).stdout.trim()).toBe("CIDATA");
    expect(run("blkid", ["-p", "-o", "value", "-s", "TYPE", file]).stdout.trim()).toBe("vfat");
    // libblkid reports the boot sector's label apart from the root directory's one
    expect(run("blkid", ["-p", "-o", "value", "-s", "LABEL_FATBOOT", file]).stdout.trim()).toBe("CIDATA");
    expect(run("mdir", ["-i", file, "::"]).stdout).toMatch(/Volume in drive : is CIDATA/);
    expect(mdirNames(file).sort()).toEqual(["meta-data", "network-config", "user-data"]);
    for (const f of SEED) expect(run("mtype", ["-i", file, `::/${f.name}`]).stdout).toBe(f.data.toString());
    const fsck = expectFsckClean(file);
    expect(fsck).toMatch(/12 bit entries/);
    expect(fsck).toMatch(/4 files, 3\/\d+ clusters/); // 3 files + the volume label
  });

  it("stores many files, names of every LFN length, and unicode names", () => {
    const names = Array.from({ length: 120 }, (_, i) => `${"n".repeat(1 + (i % 40))}-${i}.conf`);
    names.push("README.TXT", "x", "a.b.c.d", "ünïcödé ✓ file.txt", "thirteen-char", "twenty-six-characters-nam");
    const files = names.map((name, i) => ({ name, data: bytes(i * 37, i) }));
    const file = writeImage(makeFatImage("cidata", files));
    expectFsckClean(file);
    const out = tmp.path("out");
    mkdirSync(out);
    const r = run("mcopy", ["-n", "-i", file, "::*", out]);
    expect(r.code, r.out).toBe(0);
    expect(readdirSync(out).sort()).toEqual([...names].sort());
    for (const f of files) expect(readFileSync(`${out}/${f.name}`).equals(f.data), f.name).toBe(true);
  });

  it("chains a file over many clusters, and grows the cluster and image for big content", () => {
    const big = bytes(3 * 2 ** 20 + 12345, 7); // more than 4084 one-sector clusters
    const files = [
      { name: "big.bin", data: big },
      { name: "after", data: bytes(5000, 9) },
    ];
    const img = makeFatImage("cidata", files);
    expect(img.length % 512).toBe(0);
    expect(img.readUInt8(0x0d)).toBeGreaterThan(1); // sectors per cluster
    const file = writeImage(img);
    const fsck = expectFsckClean(file);
    expect(fsck).toMatch(/12 bit entries/);
    mkdirSync(tmp.path("out"));
    for (const f of files) {
      execFileSync("mcopy", ["-n", "-i", file, `::/${f.name}`, tmp.path("out", f.name)]);
      expect(readFileSync(tmp.path("out", f.name)).equals(f.data), f.name).toBe(true);
    }
  });

  it("stores an empty file with no cluster", () => {
    const file = writeImage(makeFatImage("cidata", [{ name: "empty-file", data: Buffer.alloc(0) }, ...SEED]));
    expect(mdirNames(file)).toContain("empty-file");
    expect(run("mtype", ["-i", file, "::/empty-file"]).stdout).toBe("");
    expect(expectFsckClean(file)).toMatch(/5 files, 3\/\d+ clusters/);
  });

  it("makes a tiny image when asked, and one with no files", () => {
    const file = writeImage(makeFatImage("cidata", [], { minBytes: 0 }));
    expectFsckClean(file);
    expect(run("blkid", ["-p", "-o", "value", "-s", "LABEL", file]).stdout.trim()).toBe("CIDATA");
  });

  it("gives plain 8.3 names no LFN entries and keeps aliases unique", () => {
    const files = ["USER-D~1", "user-data", "user-data2", "User-Data3", "CONFIG.TXT"].map((name) => ({ name, data: Buffer.from(name) }));
    const file = writeImage(makeFatImage("cidata", files));
    expectFsckClean(file);
    const listing = run("mdir", ["-i", file, "::"]).stdout;
    for (const alias of ["USER-D~1", "USER-D~2", "USER-D~3", "USER-D~4", "CONFIG   TXT"]) expect(listing).toContain(alias);
    for (const f of files) expect(run("mtype", ["-i", file, `::/${f.name}`]).stdout).toBe(f.name);
  });

  it("is deterministic: same input, same bytes; other content, other serial", () => {
    const a = makeFatImage("cidata", SEED);
    expect(makeFatImage("cidata", SEED).equals(a)).toBe(true);
    const b = makeFatImage("cidata", [...SEED.slice(0, 2), { name: "network-config", data: Buffer.from("version: 1\n") }]);
    expect(b.readUInt32LE(0x27)).not.toBe(a.readUInt32LE(0x27));
    expect(makeFatImage("cidata", SEED, { volumeId: 0x12345678 }).readUInt32LE(0x27)).toBe(0x12345678);
    expect(a.subarray(0x2b, 0x36).toString("latin1")).toBe("CIDATA     ");
    expect(a.subarray(0x36, 0x3e).toString("latin1")).toBe("FAT12   ");
  });

  // Linux's own vfat driver reading these images is proven end to end, where it matters: the
  // cloud-image integration tests boot a real cloud-init guest from a seed made here (this
  // machine's kernel cannot loop-mount vfat, so a mount test could only ever be skipped).

  describe("refuses", () => {
    const refuses = (fn: () => unknown, re: RegExp) => {
      let err: unknown;
      try {
        fn();
      } catch (e) {
        err = e;
      }
      expect(isQfleetError(err) && err.code === "BAD_INPUT", String(err)).toBe(true);
      expect((err as Error).message).toMatch(re);
    };

    it("names that FAT cannot store", () => {
      for (const [name, re] of [
        ["", /empty/],
        ["a/b", /not allowed/],
        ["c:d", /not allowed/],
        ["tab\there", /not allowed/],
        ["dot.", /ends with/],
        ["space ", /ends with/],
        ["..", /ends with/],
        ["x".repeat(256), /255/],
        ["\ud800x", /surrogate/],
      ] as const)
        refuses(() => makeFatImage("cidata", [{ name, data: Buffer.alloc(1) }]), re);
      refuses(
        () =>
          makeFatImage("cidata", [
            { name: "User-Data", data: Buffer.alloc(1) },
            { name: "user-data", data: Buffer.alloc(1) },
          ]),
        /same name apart from case/,
      );
    });

    it("labels FAT cannot store", () => {
      for (const label of ["", "TWELVECHARSX", "a/b", "a.b", " lead"]) refuses(() => makeFatImage(label, []), /volume label/);
    });

    it("content too large, saying the limit", () => {
      refuses(() => makeFatImage("cidata", [{ name: "huge", data: Buffer.alloc(FAT12_MAX_BYTES + 1) }]), /too large.*4084 clusters of 32 KiB/);
      refuses(() => makeFatImage("cidata", [], { minBytes: 2 ** 30 }), /minBytes/);
    });
  });
});
