import type { z } from "zod";
import { didYouMean } from "./issues.js";

/**
 * Turns zod issues into short messages a person can act on ("expected a whole number, got
 * 1.5"), and finds the keys a schema knows at a path (for did-you-mean suggestions).
 * Messages set on the schemas themselves (sizes, names, paths, cross-field rules) win.
 */
type Issue = z.core.$ZodIssue;

const NOUNS: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  object: "a mapping (key: value)",
  array: "a list",
};

export function show(value: unknown): string {
  if (value === null || value === undefined) return "nothing";
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return String(value);
}

export function messageFor(issue: Issue, value: unknown): string {
  switch (issue.code) {
    case "invalid_type":
      if (value === undefined) return "required";
      return `expected ${NOUNS[issue.expected] ?? issue.expected}, got ${show(value)}`;
    case "invalid_value": {
      const values = issue.values.map(String);
      const got = `got ${show(value)}${typeof value === "string" ? didYouMean(value, values) : ""}`;
      return values.length === 1 ? `expected ${values[0]}, ${got}` : `expected one of ${values.join(", ")}; ${got}`;
    }
    case "too_small":
      if (issue.origin === "string") return "must not be empty";
      if (issue.origin === "array") return `needs at least ${issue.minimum} item(s)`;
      return `must be ${issue.inclusive === false ? "more than" : "at least"} ${issue.minimum}, got ${show(value)}`;
    case "too_big":
      if (issue.origin === "array") return `takes at most ${issue.maximum} item(s)`;
      return `must be ${issue.inclusive === false ? "less than" : "at most"} ${issue.maximum}, got ${show(value)}`;
    case "invalid_union":
      return issue.message.startsWith("Invalid input") ? `has the wrong type: got ${show(value)}` : issue.message;
    default:
      return issue.message;
  }
}

/** The value at `path` in plain data, or undefined. */
export function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let v = data;
  for (const seg of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return v;
}

// zod 4 keeps a schema's definition in `_zod.def`; this is its documented introspection surface.
type Def = { type: string; [k: string]: any };
const defOf = (s: unknown): Def | undefined => (s as { _zod?: { def?: Def } } | undefined)?._zod?.def;
const WRAPPERS = new Set(["optional", "nullable", "default", "prefault", "readonly", "catch", "nonoptional"]);
const CONTAINERS = new Set(["object", "array", "record"]);

function unwrap(s: unknown): unknown {
  for (let i = 0; i < 20; i++) {
    const def = defOf(s);
    if (!def) return s;
    if (WRAPPERS.has(def.type)) s = def.innerType;
    else if (def.type === "pipe") s = CONTAINERS.has(defOf(unwrap(def.in))?.type ?? "") ? def.in : def.out;
    else if (def.type === "lazy") s = def.getter();
    else return s;
  }
  return s;
}

/** Keys the object schema at `path` accepts ([] when there is none). */
export function knownKeysAt(schema: unknown, path: readonly PropertyKey[]): string[] {
  let s = unwrap(schema);
  for (const seg of path) {
    const def = defOf(s);
    if (def?.type === "object") s = def.shape[seg as string] ?? def.catchall;
    else if (def?.type === "array") s = def.element;
    else if (def?.type === "record") s = def.valueType;
    else return [];
    s = unwrap(s);
  }
  const def = defOf(s);
  return def?.type === "object" ? Object.keys(def.shape) : [];
}
