import { QfleetError } from "../errors.js";

/**
 * Directory entries of a FAT root directory with VFAT long file names (pure; used by
 * fat-image.ts). On-disk contracts, all little-endian, 32 bytes per entry:
 *
 * Short (8.3) entry: 0x00 name[8] 0x08 ext[3] (space-padded, upper case), 0x0B attributes
 * (0x08 volume label, 0x20 archive), 0x0C NT case flags, 0x0D create time 10 ms, 0x0E create
 * time, 0x10 create date, 0x12 access date, 0x14 first cluster high (0 on FAT12/16),
 * 0x16 write time, 0x18 write date, 0x1A first cluster low, 0x1C size (u32).
 * Dates are ((year-1980)<<9 | month<<5 | day), times (h<<11 | m<<5 | s/2).
 *
 * LFN entry: 0x00 sequence (1-based, |0x40 on the last one), 0x01 chars 1-5, 0x0B attributes
 * 0x0F, 0x0C type 0, 0x0D checksum of the 11-byte short name, 0x0E chars 6-11, 0x1A 0,
 * 0x1C chars 12-13. Chars are UTF-16LE; a name that does not fill its last entry ends with
 * 0x0000 then 0xFFFF padding. The LFN entries precede their short entry, last one first.
 */

export const ENTRY = 32;
const LFN_CHARS = 13;
const LFN_OFFSETS = [1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30];
/** 2000-01-01 00:00:00: fixed so that the same input gives the same bytes. */
export const FAT_DATE = ((2000 - 1980) << 9) | (1 << 5) | 1;
export const FAT_TIME = 0;

/** Characters Windows and Linux accept in a short name besides A-Z and 0-9. */
export const SHORT_OK = /^[A-Z0-9!#$%&'()\-@^_`{}~]$/;
/** Never allowed in a long name (Linux vfat and Windows agree). */
const LONG_BAD = /[\u0000-\u001f"*/:<>?\\|\u007f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export interface DirFile {
  name: string;
  /** 11 bytes: 8 name + 3 extension, space-padded. */
  short: Buffer;
  /** True when the name is not a plain upper-case 8.3 name and so needs LFN entries. */
  long: boolean;
}

export function lfnChecksum(short: Buffer): number {
  let sum = 0;
  for (let i = 0; i < 11; i++) sum = ((((sum & 1) << 7) | (sum >> 1)) + short[i]) & 0xff;
  return sum;
}

function bad(name: string, why: string): never {
  throw new QfleetError("BAD_INPUT", `cannot store file name ${JSON.stringify(name)} in a FAT image: ${why}`);
}

function checkLongName(name: string): void {
  if (name === "") bad(name, "it is empty");
  if (name.length > 255) bad(name, `it is ${name.length} UTF-16 units long; VFAT allows at most 255`);
  if (LONG_BAD.test(name)) bad(name, 'control characters and " * / : < > ? \\ | are not allowed');
  if (/[. ]$/.test(name)) bad(name, "it ends with '.' or a space, which Linux and Windows strip");
  if (LONE_SURROGATE.test(name)) bad(name, "it has an unpaired UTF-16 surrogate");
}

const pad = (s: string, n: number) => Buffer.from(s.padEnd(n, " "), "latin1");

/** The exact 8.3 form of `name` when it is already one (upper case, valid characters). */
function plainShort(name: string): Buffer | undefined {
  const m = /^([^.]{1,8})(?:\.([^.]{1,3}))?$/.exec(name);
  if (!m || ![...name.replace(".", "")].every((c) => SHORT_OK.test(c))) return undefined;
  return Buffer.concat([pad(m[1], 8), pad(m[2] ?? "", 3)]);
}

/** Windows-style alias basis: upper case, spaces and leading/inner dots dropped, others "_". */
function aliasParts(name: string): [string, string] {
  const clean = (s: string) => [...s.toUpperCase().replace(/[ .]/g, "")].map((c) => (SHORT_OK.test(c) ? c : "_")).join("");
  const stripped = name.replace(/^[. ]+/, "");
  const dot = stripped.lastIndexOf(".");
  const base = clean(dot > 0 ? stripped.slice(0, dot) : stripped) || "_";
  return [base, dot > 0 ? clean(stripped.slice(dot + 1)).slice(0, 3) : ""];
}

/**
 * Names to short entries: plain 8.3 names are kept as they are, every other name gets an
 * alias BASIS~N.EXT with the smallest N not yet taken (plain names are placed first, so an
 * alias never collides with one). Names equal apart from case are refused: FAT compares
 * names without case.
 */
export function assignShortNames(names: string[]): DirFile[] {
  const seen = new Set<string>();
  for (const n of names) {
    checkLongName(n);
    const key = n.toUpperCase();
    if (seen.has(key)) bad(n, "another file has the same name apart from case (FAT ignores case)");
    seen.add(key);
  }
  const taken = new Set<string>();
  const plain = names.map((n) => plainShort(n));
  for (const p of plain) if (p) taken.add(p.toString("latin1"));
  return names.map((name, i) => {
    const p = plain[i];
    if (p) return { name, short: p, long: false };
    const [base, ext] = aliasParts(name);
    for (let n = 1; n <= 999_999; n++) {
      const tail = `~${n}`;
      const short = Buffer.concat([pad(base.slice(0, 8 - tail.length) + tail, 8), pad(ext, 3)]);
      if (!taken.has(short.toString("latin1"))) {
        taken.add(short.toString("latin1"));
        return { name, short, long: true };
      }
    }
    return bad(name, "no free short alias");
  });
}

/** A short entry (file or volume label) with the fixed timestamps. */
export function shortEntry(short: Buffer, attr: number, cluster: number, size: number): Buffer {
  const e = Buffer.alloc(ENTRY);
  short.copy(e, 0, 0, 11);
  e[0x0b] = attr;
  for (const off of [0x10, 0x12, 0x18]) e.writeUInt16LE(FAT_DATE, off);
  for (const off of [0x0e, 0x16]) e.writeUInt16LE(FAT_TIME, off);
  e.writeUInt16LE(cluster, 0x1a);
  e.writeUInt32LE(size, 0x1c);
  return e;
}

/** The LFN entries of `file`, in on-disk order (highest sequence first); none for 8.3 names. */
export function lfnEntries(file: DirFile): Buffer[] {
  if (!file.long) return [];
  const units: number[] = [];
  for (let i = 0; i < file.name.length; i++) units.push(file.name.charCodeAt(i));
  const count = Math.ceil(units.length / LFN_CHARS);
  if (units.length % LFN_CHARS) units.push(0);
  while (units.length < count * LFN_CHARS) units.push(0xffff);
  const sum = lfnChecksum(file.short);
  const out: Buffer[] = [];
  for (let seq = count; seq >= 1; seq--) {
    const e = Buffer.alloc(ENTRY);
    e[0] = seq | (seq === count ? 0x40 : 0);
    e[0x0b] = 0x0f;
    e[0x0d] = sum;
    LFN_OFFSETS.forEach((off, k) => e.writeUInt16LE(units[(seq - 1) * LFN_CHARS + k], off));
    out.push(e);
  }
  return out;
}

/** How many directory entries `file` takes (its LFN entries plus the short one). */
export const entryCount = (f: DirFile) => (f.long ? Math.ceil(f.name.length / LFN_CHARS) : 0) + 1;
