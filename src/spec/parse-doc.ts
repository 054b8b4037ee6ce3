import { isMap, isScalar, LineCounter, parseDocument, type Document } from "yaml";
import type { z } from "zod";
import { didYouMean, fieldOf, type SpecIssue } from "./issues.js";
import { keyAt, makeLocator, type Locate } from "./locate.js";
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
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const locate = makeLocator(doc, lineCounter);
  const issues: SpecIssue[] = [];
  const add = (pos: { line: number; col: number }, field: string, message: string) => issues.push({ file, ...pos, field, message });

  for (const e of doc.errors) {
    const pos = lineCounter.linePos(e.pos[0]);
    const dup = e.code === "DUPLICATE_KEY" ? keyAt(doc, e.pos[0]) : undefined;
    if (dup) {
      const name = String(dup.path[dup.path.length - 1]);
      const first = dup.map.items.find((p) => isScalar(p.key) && String(p.key.value) === name && p !== dup.pair);
      const where = (first?.key as { range?: number[] } | undefined)?.range;
      add(pos, fieldOf(dup.path), `duplicate key '${name}'${where ? ` (first given on line ${lineCounter.linePos(where[0]).line})` : ""}`);
    } else add(pos, "", `YAML syntax error: ${e.message.split("\n")[0]}`);
  }
  if (doc.errors.some((e) => e.code !== "DUPLICATE_KEY")) return { issues, locate, doc };

  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    add({ line: 1, col: 1 }, "", `cannot read the YAML: ${(e as Error).message}`);
    return { issues, locate, doc };
  }
  if ((raw === null || raw === undefined) && opts.allowEmpty) raw = {};
  if (raw === null || raw === undefined) {
    add({ line: 1, col: 1 }, "", `the file is empty: expected ${opts.what}`);
    return { issues, raw, locate, doc };
  }
  if (doc.contents !== null && !isMap(doc.contents)) {
    add(locate([]), "", `expected ${opts.what}, got ${Array.isArray(raw) ? "a list" : `the single value ${JSON.stringify(raw)}`}`);
    return { issues, raw, locate, doc };
  }

  const r = schema.safeParse(raw);
  if (!r.success)
    for (const iss of r.error.issues) {
      const path = iss.path as PropertyKey[];
      if (iss.code === "unrecognized_keys") {
        for (const key of iss.keys) {
          const message = opts.unknownKey?.(path, key) ?? `unknown key '${key}'${didYouMean(key, knownKeysAt(schema, path))}`;
          add(locate([...path, key], { atKey: true }), fieldOf([...path, key]), message);
        }
        continue;
      }
      const atKey = iss.code === "invalid_key" || (iss.code === "custom" && iss.params?.atKey === true);
      add(locate(path, { atKey }), fieldOf(path), messageFor(iss, valueAt(raw, path)));
    }
  const unique = dedupe(issues);
  return unique.length === 0 && r.success ? { value: r.data, issues: unique, raw, locate, doc } : { issues: unique, raw, locate, doc };
}

function dedupe(issues: SpecIssue[]): SpecIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.line}:${i.col}:${i.field}:${i.message}`;
    return seen.has(k) ? false : (seen.add(k), true);
  });
}
