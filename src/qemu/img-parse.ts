import { QfleetError } from "../errors.js";
import { humanSize, parseSize, SIZE_FORMAT_HELP } from "../units.js";

/**
 * Pure parsers for qemu-img output: no I/O, fed captured text in unit tests.
 * Field names follow `qemu-img info --output=json` and the reference MCP server's results,
 * so a result can be compared key by key with what qemu-img itself reports.
 */

export interface SnapshotInfo {
  id: string;
  name: string;
  "vm-state-size": number;
  "vm-state-size-human": string;
  /** ISO 8601, from date-sec/date-nsec. */
  date: string;
  /** Guest clock at the snapshot, in seconds. */
  "vm-clock-sec": number;
}

export interface ImageInfo {
  /** As qemu-img reports it (the path it was given). */
  filename: string;
  format: string;
  "virtual-size": number;
  "virtual-size-human": string;
  /** Bytes the image occupies on disk; absent when qemu-img cannot tell (some protocols). */
  "actual-size"?: number;
  "actual-size-human"?: string;
  "backing-filename"?: string;
  /** The backing file resolved against the image's folder (qemu-img's full-backing-filename). */
  "full-backing-filename"?: string;
  "backing-format"?: string;
  "dirty-flag"?: boolean;
  "cluster-size"?: number;
  encrypted?: boolean;
  snapshots?: SnapshotInfo[];
  /** Set when the image was opened with -U because a running process holds it: sizes may be moving. */
  force_share?: true;
}

/** Parses `qemu-img info --output=json` for ONE image (not --backing-chain). Throws COMMAND_FAILED on garbage. */
export function parseInfoJson(stdout: string): ImageInfo {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(stdout) as Record<string, unknown>;
  } catch {
    throw new QfleetError("COMMAND_FAILED", "qemu-img info printed something that is not JSON", { stderr: stdout.slice(0, 500) });
  }
  if (!raw || typeof raw !== "object" || typeof raw.format !== "string" || typeof raw["virtual-size"] !== "number") {
    throw new QfleetError("COMMAND_FAILED", "qemu-img info output lacks format or virtual-size", { stderr: stdout.slice(0, 500) });
  }
  const info: ImageInfo = {
    filename: String(raw.filename ?? ""),
    format: raw.format,
    "virtual-size": raw["virtual-size"],
    "virtual-size-human": humanSize(raw["virtual-size"]),
  };
  if (typeof raw["actual-size"] === "number") {
    info["actual-size"] = raw["actual-size"];
    info["actual-size-human"] = humanSize(raw["actual-size"]);
  }
  if (typeof raw["backing-filename"] === "string") info["backing-filename"] = raw["backing-filename"];
  if (typeof raw["full-backing-filename"] === "string") info["full-backing-filename"] = raw["full-backing-filename"];
  if (typeof raw["backing-filename-format"] === "string") info["backing-format"] = raw["backing-filename-format"];
  if (typeof raw["dirty-flag"] === "boolean") info["dirty-flag"] = raw["dirty-flag"];
  if (typeof raw["cluster-size"] === "number") info["cluster-size"] = raw["cluster-size"];
  if (typeof raw.encrypted === "boolean") info.encrypted = raw.encrypted;
  if (Array.isArray(raw.snapshots)) info.snapshots = raw.snapshots.map(parseSnapshot);
  return info;
}

function parseSnapshot(s: Record<string, unknown>): SnapshotInfo {
  const num = (k: string) => (typeof s[k] === "number" ? (s[k] as number) : 0);
  const state = num("vm-state-size");
  return {
    id: String(s.id ?? ""),
    name: String(s.name ?? ""),
    "vm-state-size": state,
    "vm-state-size-human": humanSize(state),
    date: new Date(num("date-sec") * 1000 + Math.floor(num("date-nsec") / 1e6)).toISOString(),
    "vm-clock-sec": num("vm-clock-sec") + num("vm-clock-nsec") / 1e9,
  };
}

const PROGRESS_RE = /\(\s*(\d+(?:\.\d+)?)\/100%\)/g;

/**
 * Reads `qemu-img convert -p` output, which arrives in arbitrary chunks like "    (45.00/100%)\r".
 * Feed it the text not consumed so far (`rest` of the previous call + the new chunk);
 * returns every complete percentage in order and the unconsumed tail to keep for next time.
 */
export function parseProgress(buffered: string): { percents: number[]; rest: string } {
  const percents: number[] = [];
  let end = 0;
  for (const m of buffered.matchAll(PROGRESS_RE)) {
    percents.push(Math.min(100, Number(m[1])));
    end = m.index + m[0].length;
  }
  // Keep only a tail that could still become a match: text after the last "(".
  const tail = buffered.slice(end);
  const open = tail.lastIndexOf("(");
  return { percents, rest: open === -1 ? "" : tail.slice(open, open + 32) };
}

/** An onStdout callback for `qemu-img convert -p` that reports each new, higher percentage once. */
export function progressReader(onProgress?: (percent: number) => void): ((chunk: string) => void) | undefined {
  if (!onProgress) return undefined;
  let rest = "";
  let last = -1;
  return (chunk) => {
    const parsed = parseProgress(rest + chunk);
    rest = parsed.rest;
    for (const p of parsed.percents) {
      if (p > last) onProgress((last = p));
    }
  };
}

/** The qemu-img failures qfleet turns into specific errors; anything else is "other". */
export type ImgErrorKind =
  | "locked" // another process (a running VM) holds the image's lock
  | "not-found"
  | "backing-missing" // the image opens, its backing file does not
  | "unknown-format" // -f/-O named a format this qemu-img does not know
  | "wrong-format" // -f named a format the file is not in
  | "needs-shrink" // resize to a smaller size without --shrink
  | "bad-size"
  | "not-a-file"
  | "permission"
  | "no-space"
  | "unsupported" // the format driver cannot do this (e.g. resize a vmdk)
  | "other";

const KINDS: Array<[ImgErrorKind, RegExp]> = [
  ["locked", /Failed to get .*lock|Is another process using the image/],
  ["backing-missing", /Could not open backing (file|image)/],
  ["not-found", /No such file or directory/],
  ["unknown-format", /Unknown (file|driver) format|Unknown driver '/],
  ["wrong-format", /Image is not in \S+ format/],
  ["needs-shrink", /Use the --shrink option/],
  ["bad-size", /new size must be|Invalid image size|Image size must be/],
  ["not-a-file", /to be a regular file|Is a directory/],
  ["permission", /Permission denied|Operation not permitted/],
  ["no-space", /No space left on device/],
  ["unsupported", /does not support|not supported/],
];

export function classifyImgError(stderr: string): ImgErrorKind {
  return KINDS.find(([, re]) => re.test(stderr))?.[0] ?? "other";
}

/** The first meaningful stderr line without the "qemu-img: " prefix and warnings, for one-line messages. */
export function firstErrorLine(stderr: string): string {
  const lines = stderr.split(/\r?\n/).map((l) => l.replace(/^qemu-img:\s*/, "").trim());
  return lines.find((l) => l.length > 0 && !/^warning:/i.test(l)) ?? "";
}

/**
 * The size after `qemu-img resize`-style SPEC is applied to `current` bytes: "+10G" grows,
 * "-5G" shrinks, "100G" sets (binary units, see parseSize). BAD_INPUT for anything else and
 * for a result of zero bytes or less.
 */
export function computeNewSize(current: number, spec: string): number {
  const m = /^\s*([+-]?)(.*)$/.exec(spec)!;
  const amount = parseSize(m[2]);
  if (amount === null || m[2].trim() === "") {
    throw new QfleetError("BAD_INPUT", `bad size "${spec}": use +10G to grow, -5G to shrink or 100G to set (${SIZE_FORMAT_HELP})`);
  }
  const size = m[1] === "+" ? current + amount : m[1] === "-" ? current - amount : amount;
  if (size <= 0) {
    throw new QfleetError("BAD_INPUT", `bad size "${spec}": the image (${humanSize(current)}) would end up empty or negative`);
  }
  return size;
}

/** `dir/name.ext` -> `dir/name<suffix><ext>`: the last extension (if any) is replaced. POSIX paths. */
export function withSuffix(file: string, suffix: string, ext: string): string {
  const slash = file.lastIndexOf("/");
  const name = file.slice(slash + 1);
  const dot = name.lastIndexOf(".");
  const stem = dot > 0 ? name.slice(0, dot) : name;
  return `${file.slice(0, slash + 1)}${stem}${suffix}${ext}`;
}
