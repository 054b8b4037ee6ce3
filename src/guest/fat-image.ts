import { createHash } from "node:crypto";
import { QfleetError } from "../errors.js";
import { assignShortNames, ENTRY, entryCount, lfnEntries, SHORT_OK, shortEntry } from "./fat-layout.js";

/**
 * A small FAT filesystem image built in memory (a cloud-init NoCloud seed), with no partition
 * table: the image is the filesystem, as `mkfs.fat IMG` makes it.
 *
 * Why FAT12: a seed holds a few kilobytes, and FAT12 is what mkfs.fat itself picks for images
 * this small. The FAT type is not written anywhere authoritative: every reader (Linux vfat,
 * fsck.fat, blkid, mtools, firmware) derives it from the cluster count, and below 4085 clusters
 * it is FAT12. So we keep the count at most 4084 and grow the cluster (512 B up to 32 KiB)
 * instead; FAT16 would only be needed past ~127 MiB of content, far beyond a seed.
 *
 * Layout (512-byte sectors): sector 0 boot sector | 2 FATs | root directory | data clusters,
 * cluster N (N >= 2) at sector dataStart + (N - 2) * sectorsPerCluster. Each file is stored
 * in consecutive clusters, in the order given; an empty file has cluster 0 and no chain.
 *
 * Boot sector (BPB + FAT12/16 extended BPB), little-endian: 0x00 jump EB 3C 90, 0x03 OEM
 * name[8], 0x0B bytes/sector u16, 0x0D sectors/cluster u8, 0x0E reserved sectors u16,
 * 0x10 FAT count u8, 0x11 root entries u16, 0x13 total sectors u16 (0 when >= 65536),
 * 0x15 media u8, 0x16 sectors/FAT u16, 0x18 sectors/track u16, 0x1A heads u16, 0x1C hidden
 * sectors u32, 0x20 total sectors u32, 0x24 drive number, 0x26 signature 0x29, 0x27 volume
 * serial u32, 0x2B label[11], 0x36 type "FAT12   ", 0x3E boot code, 0x1FE 55 AA.
 * FAT12: entry N is 12 bits at byte N*3/2 (low nibble-aligned when N is even, high when odd);
 * FAT[0] = 0xF00 | media, FAT[1] = 0xFFF, 0xFFF ends a chain, 0 is free.
 */

export interface FatFile {
  name: string;
  data: Buffer;
}

export interface FatImageOptions {
  /** The image is at least this big (default 1 MiB); it grows past it to fit the files. */
  minBytes?: number;
  /** Volume serial; default: derived from a hash of the label, names and contents. */
  volumeId?: number;
}

const SECTOR = 512;
const MEDIA = 0xf8; // fixed disk
const MAX_FAT12_CLUSTERS = 4084;
const MAX_SECTORS_PER_CLUSTER = 64; // 32 KiB clusters
/** The largest total file size any FAT12 layout here can hold (per-file cluster rounding aside). */
export const FAT12_MAX_BYTES = MAX_FAT12_CLUSTERS * MAX_SECTORS_PER_CLUSTER * SECTOR;
/** x86 boot code: int 0x18 ("no bootable disk, try the next one"), then halt forever. */
const BOOT_CODE = [0xcd, 0x18, 0xf4, 0xeb, 0xfd];

const ceilDiv = (a: number, b: number) => Math.ceil(a / b);

function checkLabel(label: string): Buffer {
  const up = label.toUpperCase();
  if (up.length < 1 || up.length > 11 || up.startsWith(" ") || ![...up].every((c) => c === " " || SHORT_OK.test(c)))
    throw new QfleetError(
      "BAD_INPUT",
      `cannot use ${JSON.stringify(label)} as a FAT volume label: use 1 to 11 letters, digits, inner spaces or - _ ! # $ % & ' ( ) @ ^ \` { } ~`,
    );
  return Buffer.from(up.padEnd(11, " "), "latin1");
}

interface Geometry {
  spc: number;
  clusters: number;
  fatSectors: number;
  rootEntries: number;
  dataStart: number;
  totalSectors: number;
}

/** The smallest cluster size whose layout holds `sizes` in at most 4084 clusters. */
function geometry(sizes: number[], rootEntries: number, minSectors: number): Geometry {
  const rootSectors = (rootEntries * ENTRY) / SECTOR;
  for (let spc = 1; spc <= MAX_SECTORS_PER_CLUSTER; spc *= 2) {
    const need = sizes.reduce((n, s) => n + ceilDiv(s, spc * SECTOR), 0);
    const layout = (clusters: number) => {
      const fatSectors = ceilDiv(ceilDiv((clusters + 2) * 3, 2), SECTOR);
      const dataStart = 1 + 2 * fatSectors + rootSectors;
      return { spc, clusters, fatSectors, rootEntries, dataStart, totalSectors: dataStart + clusters * spc };
    };
    let g = layout(Math.max(need, 1));
    while (g.totalSectors < minSectors && g.clusters <= MAX_FAT12_CLUSTERS) g = layout(g.clusters + 1);
    if (g.clusters <= MAX_FAT12_CLUSTERS) return g;
  }
  const total = sizes.reduce((a, b) => a + b, 0);
  throw new QfleetError(
    "BAD_INPUT",
    `content too large for a FAT12 image: ${total} bytes in ${sizes.length} file(s); the limit is ` +
      `${MAX_FAT12_CLUSTERS} clusters of 32 KiB (${FAT12_MAX_BYTES} bytes, about 127 MiB, each file rounded up to whole clusters)`,
  );
}

function setFat12(fat: Buffer, n: number, value: number): void {
  const off = Math.floor((n * 3) / 2);
  if (n % 2 === 0) {
    fat[off] = value & 0xff;
    fat[off + 1] = (fat[off + 1] & 0xf0) | (value >> 8);
  } else {
    fat[off] = (fat[off] & 0x0f) | ((value & 0x0f) << 4);
    fat[off + 1] = value >> 4;
  }
}

function defaultVolumeId(label: Buffer, files: FatFile[]): number {
  const h = createHash("sha256").update(label);
  for (const f of files) h.update(`${f.name}\0${f.data.length}\0`).update(f.data);
  return h.digest().readUInt32LE(0);
}

/** A FAT12 image holding `files` in its root directory, labelled `label` (stored upper case). */
export function makeFatImage(label: string, files: FatFile[], opts: FatImageOptions = {}): Buffer {
  const labelBytes = checkLabel(label);
  const dir = assignShortNames(files.map((f) => f.name));
  const used = 1 + dir.reduce((n, f) => n + entryCount(f), 0);
  const rootEntries = Math.max(512, ceilDiv(used, 16) * 16);
  if (rootEntries > 0xfff0) throw new QfleetError("BAD_INPUT", `too many files for a FAT root directory: ${used} entries needed, at most ${0xfff0}`);
  const minBytes = opts.minBytes ?? 2 ** 20;
  if (!Number.isSafeInteger(minBytes) || minBytes < 0 || minBytes > 64 * 2 ** 20)
    throw new QfleetError("BAD_INPUT", `minBytes must be a whole number of bytes from 0 to 64 MiB, not ${minBytes}`);
  const g = geometry(
    files.map((f) => f.data.length),
    rootEntries,
    ceilDiv(minBytes, SECTOR),
  );
  const img = Buffer.alloc(g.totalSectors * SECTOR);

  const boot = img.subarray(0, SECTOR);
  boot.set([0xeb, 0x3c, 0x90], 0);
  boot.write("QFLEET  ", 0x03, "latin1");
  boot.writeUInt16LE(SECTOR, 0x0b);
  boot[0x0d] = g.spc;
  boot.writeUInt16LE(1, 0x0e);
  boot[0x10] = 2;
  boot.writeUInt16LE(g.rootEntries, 0x11);
  boot.writeUInt16LE(g.totalSectors < 0x10000 ? g.totalSectors : 0, 0x13);
  boot[0x15] = MEDIA;
  boot.writeUInt16LE(g.fatSectors, 0x16);
  boot.writeUInt16LE(32, 0x18);
  boot.writeUInt16LE(64, 0x1a);
  boot.writeUInt32LE(g.totalSectors < 0x10000 ? 0 : g.totalSectors, 0x20);
  boot[0x24] = 0x80;
  boot[0x26] = 0x29;
  boot.writeUInt32LE((opts.volumeId ?? defaultVolumeId(labelBytes, files)) >>> 0, 0x27);
  labelBytes.copy(boot, 0x2b);
  boot.write("FAT12   ", 0x36, "latin1");
  boot.set(BOOT_CODE, 0x3e);
  boot.set([0x55, 0xaa], 0x1fe);

  const fat = Buffer.alloc(g.fatSectors * SECTOR);
  setFat12(fat, 0, 0xf00 | MEDIA);
  setFat12(fat, 1, 0xfff);
  const entries: Buffer[] = [shortEntry(labelBytes, 0x08, 0, 0)];
  let next = 2;
  files.forEach((f, i) => {
    const n = ceilDiv(f.data.length, g.spc * SECTOR);
    const first = n ? next : 0;
    for (let k = 0; k < n; k++) setFat12(fat, next + k, k === n - 1 ? 0xfff : next + k + 1);
    if (n) f.data.copy(img, (g.dataStart + (next - 2) * g.spc) * SECTOR);
    next += n;
    entries.push(...lfnEntries(dir[i]), shortEntry(dir[i].short, 0x20, first, f.data.length));
  });
  fat.copy(img, SECTOR);
  fat.copy(img, SECTOR * (1 + g.fatSectors));
  Buffer.concat(entries).copy(img, SECTOR * (1 + 2 * g.fatSectors));
  return img;
}
