/**
 * A located problem in a spec or hosts.yaml. `line`/`col` are 1-based; `field` is the dotted
 * path of the offending value ("disks.0.size"), "" for the whole document.
 */
export interface SpecIssue {
  /** Path relative to the fleet folder, e.g. "vms/web1.yaml" or "hosts.yaml". */
  file: string;
  line: number;
  col: number;
  field: string;
  message: string;
  /**
   * The specs this problem makes invalid ("vms/web1.yaml") when `file` is not one of them: a
   * profile they use (profiles/base.yaml). Absent for a problem in a spec, hosts.yaml or fleet.yaml.
   */
  usedBy?: string[];
}

/** `FILE:LINE:COL: FIELD: message` (without `FIELD: ` when field is ""), then `(used by vms/a.yaml)` for a profile's problem. */
export function formatIssue(i: SpecIssue): string {
  const users = i.usedBy?.length ? ` (used by ${i.usedBy.join(", ")})` : "";
  return `${i.file}:${i.line}:${i.col}: ${i.field ? `${i.field}: ` : ""}${i.message}${users}`;
}

/** Marks the issues located outside `specFile` (in a profile it uses) as that spec's (usedBy). */
export function attributeTo(issues: SpecIssue[], specFile: string): SpecIssue[] {
  return issues.map((i) => (i.file === specFile || i.usedBy?.includes(specFile) ? i : { ...i, usedBy: [...(i.usedBy ?? []), specFile] }));
}

/** One issue per place and message: a profile's problem found through several specs is listed once, naming them all. */
export function mergeSameIssues(issues: SpecIssue[]): SpecIssue[] {
  const byKey = new Map<string, SpecIssue>();
  for (const i of issues) {
    const key = `${i.file}:${i.line}:${i.col}:${i.field}:${i.message}`;
    const seen = byKey.get(key);
    if (!seen) byKey.set(key, i);
    else if (i.usedBy) byKey.set(key, { ...seen, usedBy: [...new Set([...(seen.usedBy ?? []), ...i.usedBy])].sort() });
  }
  return [...byKey.values()];
}

export const fieldOf = (path: readonly PropertyKey[]): string => path.map(String).join(".");

export function sortIssues(issues: SpecIssue[]): SpecIssue[] {
  return issues.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.col - b.col));
}

/** Optimal-string-alignment distance: insertions, deletions, substitutions and swaps cost 1. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.length][b.length];
}

/**
 * The known key closest to `unknown` (case-insensitive), or undefined when none is a
 * plausible typo: within edit distance 2 (1 for words of 3-4 letters), or one word being a
 * prefix of the other ("ssh_port" -> "ssh").
 */
export function suggestKey(unknown: string, known: readonly string[]): string | undefined {
  const u = unknown.toLowerCase();
  const limit = u.length <= 2 ? 0 : u.length <= 4 ? 1 : 2;
  let best: { key: string; dist: number } | undefined;
  for (const key of known) {
    const dist = editDistance(u, key.toLowerCase());
    if (dist <= limit && (!best || dist < best.dist)) best = { key, dist };
  }
  if (best) return best.key;
  return known.find((k) => Math.min(k.length, u.length) >= 3 && (u.startsWith(k.toLowerCase()) || k.toLowerCase().startsWith(u)));
}

export function didYouMean(unknown: string, known: readonly string[]): string {
  const s = suggestKey(unknown, known);
  return s ? ` (did you mean '${s}'?)` : "";
}
