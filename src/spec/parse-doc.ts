import { Document, isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from "yaml";
import type { z } from "zod";
import { didYouMean, fieldOf, type SpecIssue } from "./issues.js";
import { depthProblem, MAX_ISSUES_PER_FILE, sizeProblem } from "./limits.js";
import { makeLocator, type Locate } from "./locate.js";
import { knownKeysAt, messageFor, valueAt } from "./zod-messages.js";

/**
 * One YAML file checked against one zod schema, with every problem located. Contract: never
 * throws for bad input; `value` is set only when `issues` is empty.
 */
export interface ParsedDoc<T> {
  value?: T;
  issues: SpecIssue[];
  locate: Locate;
  /** The plain data (undefined when the YAML itself is broken). */
  raw?: unknown;
  doc: Document;
}

export interface ParseOptions {
  /** An empty file means `{}` (hosts.yaml) instead of an error (VM specs). */
  allowEmpty?: boolean;
  /** Overrides the "unknown key" message for some keys (e.g. secrets in hosts.yaml). */
  unknownKey?: (path: readonly PropertyKey[], key: string) => string | undefined;
  /** What the document should be, for the "not a mapping" message. */
  what: string;
}

export function parseDoc<T>(text: string, file: string, schema: z.ZodType<T>, opts: ParseOptions): ParsedDoc<T> {
  const { mapping, ...read } = readDoc(text, file, opts);
  if (!mapping) return read;
  const checked = checkValue(read.raw, file, schema, read.locate, opts);
  const issues = capped(dedupe([...read.issues, ...checked.issues]), file);
  return { ...read, issues, ...(issues.length === 0 && checked.value !== undefined && { value: checked.value }) };
}

/**
 * The YAML side of parseDoc: syntax, duplicate keys, size and depth limits, and "a mapping".
 * Contract: `mapping` is true when `raw` is a mapping a schema can check (duplicate keys are
 * problems, but the data is still checked).
 */
export function readDoc(text: string, file: string, opts: Pick<ParseOptions, "allowEmpty" | "what">): ParsedDoc<never> & { mapping: boolean } {
  const issues: SpecIssue[] = [];
  const add = (pos: { line: number; col: number }, field: string, message: string) => issues.push({ file, ...pos, field, message });
  const tooBig = sizeProblem(text) ?? depthProblem(text);
  if (tooBig) {
    const at = typeof tooBig === "string" ? { line: 1, col: 1, message: tooBig } : tooBig;
    add(at, "", at.message);
    return { issues, locate: () => ({ line: 1, col: 1 }), doc: new Document(null), mapping: false };
  }
  const lineCounter = new LineCounter();
  // uniqueKeys off: the library's own check is quadratic in a map's size; duplicateKeys() is linear
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: false });
  const locate = makeLocator(doc, lineCounter);

  for (const e of doc.errors) add(lineCounter.linePos(e.pos[0]), "", `YAML syntax error: ${e.message.split("\n")[0]}`);
  if (doc.errors.length) return { issues, locate, doc, mapping: false };
  for (const d of duplicateKeys(doc.contents, [])) {
    const line = (n: Node) => lineCounter.linePos(n.range![0]);
    add(line(d.key), fieldOf(d.path), `duplicate key '${d.path[d.path.length - 1]}' (first given on line ${line(d.first).line})`);
  }

  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    add({ line: 1, col: 1 }, "", `cannot read the YAML: ${(e as Error).message}`);
    return { issues, locate, doc, mapping: false };
  }
  if ((raw === null || raw === undefined) && opts.allowEmpty) raw = {};
  if (raw === null || raw === undefined) {
    add({ line: 1, col: 1 }, "", `the file is empty: expected ${opts.what}`);
    return { issues, raw, locate, doc, mapping: false };
  }
  if (doc.contents !== null && !isMap(doc.contents)) {
    add(locate([]), "", `expected ${opts.what}, got ${Array.isArray(raw) ? "a list" : `the single value ${JSON.stringify(raw)}`}`);
    return { issues, raw, locate, doc, mapping: false };
  }
  return { issues, raw, locate, doc, mapping: true };
}

/**
 * Plain data checked against `schema`, each problem located with `locate` (which may point
 * into another file: a merged spec's value that came from a profile). Never throws.
 */
export function checkValue<T>(
  raw: unknown,
  file: string,
  schema: z.ZodType<T>,
  locate: Locate,
  opts: Pick<ParseOptions, "unknownKey"> = {},
): { value?: T; issues: SpecIssue[] } {
  const issues: SpecIssue[] = [];
  const add = (pos: { line: number; col: number }, field: string, message: string) => issues.push({ file, ...pos, field, message });
  const r = schema.safeParse(raw);
  if (!r.success)
    for (const iss of r.error.issues) {
      const path = iss.path as PropertyKey[];
      if (iss.code === "unrecognized_keys") {
        const known = knownKeysAt(schema, path);
        for (const key of iss.keys) {
          // suggestions only for problems that will be shown (see capped): they cost an edit distance per known key
          const hint = issues.length < MAX_ISSUES_PER_FILE ? didYouMean(key, known) : "";
          const message = opts.unknownKey?.(path, key) ?? `unknown key '${key}'${hint}`;
          add(locate([...path, key], { atKey: true }), fieldOf([...path, key]), message);
        }
        continue;
      }
      const atKey = iss.code === "invalid_key" || (iss.code === "custom" && iss.params?.atKey === true);
      add(locate(path, { atKey }), fieldOf(path), messageFor(iss, valueAt(raw, path)));
    }
  const unique = dedupe(issues); // the caller caps them (capped) once all of a file's problems are in
  return unique.length === 0 && r.success ? { value: r.data, issues: unique } : { issues: unique };
}

/** Every key given twice in a map, at any depth, with its first occurrence. Linear in the document. */
function duplicateKeys(node: unknown, path: (string | number)[]): { path: (string | number)[]; key: Node; first: Node }[] {
  const out: { path: (string | number)[]; key: Node; first: Node }[] = [];
  if (isMap(node)) {
    const seen = new Map<string, Node>();
    for (const pair of node.items) {
      const name = isScalar(pair.key) ? String(pair.key.value) : undefined;
      if (name !== undefined && pair.key && (pair.key as Node).range) {
        const first = seen.get(name);
        if (first) out.push({ path: [...path, name], key: pair.key as Node, first });
        else seen.set(name, pair.key as Node);
      }
      out.push(...duplicateKeys(pair.value, [...path, name ?? "?"]));
    }
  } else if (isSeq(node)) node.items.forEach((item, i) => out.push(...duplicateKeys(item, [...path, i])));
  return out;
}

/** At most MAX_ISSUES_PER_FILE problems, then one line counting the rest. */
export function capped(issues: SpecIssue[], file: string): SpecIssue[] {
  if (issues.length <= MAX_ISSUES_PER_FILE) return issues;
  const rest = issues.length - MAX_ISSUES_PER_FILE;
  return [...issues.slice(0, MAX_ISSUES_PER_FILE), { file, line: 1, col: 1, field: "", message: `and ${rest} more problem(s) not shown` }];
}

export function dedupe(issues: SpecIssue[]): SpecIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.line}:${i.col}:${i.field}:${i.message}`;
    return seen.has(k) ? false : (seen.add(k), true);
  });
}
