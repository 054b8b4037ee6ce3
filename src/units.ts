/**
 * Sizes, the way QEMU reads them: binary units. "512M", "2G", "2GiB", "4096M", "1.5G", "20GB"
 * and plain byte counts all parse; "2G" is 2 GiB. humanSize prints one decimal with binary
 * multiples labelled B/KB/MB/GB/TB, as the first reference's results do ("100.0 GB").
 */
const MULT: Record<string, number> = { "": 1, B: 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40, P: 2 ** 50 };
const SIZE_RE = /^\s*(\d+(?:\.\d+)?)\s*([KMGTP]?)(i?B)?\s*$/i;

/** Bytes for a size string or number, or null when it is not a size. */
export function parseSize(input: string | number): number | null {
  if (typeof input === "number") return Number.isSafeInteger(input) && input >= 0 ? input : null;
  const m = SIZE_RE.exec(input);
  if (!m) return null;
  const unit = m[2].toUpperCase();
  if (m[3] && /^ib$/i.test(m[3]) && unit === "") return null; // "5iB" is not a size
  const bytes = Number(m[1]) * MULT[unit];
  return Number.isSafeInteger(Math.round(bytes)) ? Math.round(bytes) : null;
}

export const SIZE_FORMAT_HELP = "a size such as 512M, 2G, 2GiB, 4096M or a plain number of bytes";

export function humanSize(bytes: number): string {
  const units = ["B", "KB", "MB", "GB", "TB", "PB"];
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}
