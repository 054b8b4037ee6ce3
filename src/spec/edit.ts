import { isMap, isScalar, isSeq, LineCounter, parseDocument, stringify, type Node, type Pair, type YAMLMap } from "yaml";

/**
 * Applies `changes` ({"state": "stopped", "ssh.port": 2223, "iso": null}) to YAML text.
 * Contract: comments, key order and the formatting of untouched parts survive. Common edits
 * (replace a scalar, add a key to a block mapping, delete a key on its own lines) are done
 * as exact text splices; anything else falls back to the yaml Document API, which keeps
 * comments and order but may re-indent. A splice is only used when re-parsing it gives the
 * same data as the Document API result. `undefined` or `null` deletes a key.
 */
export type Changes = Record<string, unknown>;

export function applyChanges(text: string, changes: Changes): string {
  const viaDoc = applyWithDocument(text, changes);
  try {
    const precise = Object.entries(changes).reduce((t, [k, v]) => spliceOne(t, k, v), text);
    if (canonical(precise) === canonical(viaDoc)) return precise;
  } catch {
    // not a shape the splicer handles: the Document API result stands
  }
  return viaDoc;
}

/** "disks.0.size" -> ["disks", 0, "size"] (digits are list indexes). */
export const splitKey = (key: string): (string | number)[] => key.split(".").map((s) => (/^\d+$/.test(s) ? Number(s) : s));
const isDelete = (v: unknown) => v === undefined || v === null;

function applyWithDocument(text: string, changes: Changes): string {
  const doc = parseDocument(text);
  for (const [k, v] of Object.entries(changes)) {
    if (isDelete(v)) doc.deleteIn(splitKey(k));
    else doc.setIn(splitKey(k), v);
  }
  return doc.toString();
}

function canonical(text: string): string {
  const doc = parseDocument(text);
  if (doc.errors.length) throw new Error("splice broke the YAML");
  const sort = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sort)
      : v && typeof v === "object"
        ? Object.fromEntries(
            Object.entries(v)
              .sort(([a], [b]) => (a < b ? -1 : 1))
              .map(([k, x]) => [k, sort(x)]),
          )
        : v;
  return JSON.stringify(sort(doc.toJS()));
}

/** Offset just past the line holding `pos - 1` (or `pos` when it already starts a line). */
function lineEnd(text: string, pos: number): number {
  if (pos > 0 && text[pos - 1] === "\n") return pos;
  const i = text.indexOf("\n", pos);
  return i === -1 ? text.length : i + 1;
}

function spliceOne(text: string, key: string, value: unknown): string {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc });
  if (doc.errors.length) throw new Error("broken YAML");
  const path = splitKey(key);
  let map: YAMLMap | undefined;
  let node: unknown = doc.contents;
  let depth = 0;
  let pair: Pair | undefined;
  for (; depth < path.length; depth++) {
    const seg = path[depth];
    if (isSeq(node) && typeof seg === "number" && node.items[seg] !== undefined) {
      [node, map, pair] = [node.items[seg], undefined, undefined];
      continue;
    }
    if (!isMap(node)) break;
    map = node;
    pair = map.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
    if (!pair) break;
    node = pair.value;
  }
  const found = depth === path.length;
  if (isDelete(value)) {
    if (!found) return text;
    if (!pair) throw new Error("list items are removed by the Document API");
    const start = (pair!.key as Node).range![0];
    const lineStart = text.lastIndexOf("\n", start - 1) + 1;
    if (map!.flow || text.slice(lineStart, start).trim() !== "") throw new Error("not on its own line");
    return text.slice(0, lineStart) + text.slice(lineEnd(text, ((pair!.value ?? pair!.key) as Node).range![1]));
  }
  if (found) {
    if (!isScalar(node) || !node.range || (typeof value === "object" && value !== null)) throw new Error("not a scalar");
    const rendered =
      typeof value === "string" && node.type === "QUOTE_DOUBLE"
        ? JSON.stringify(value)
        : typeof value === "string" && node.type === "QUOTE_SINGLE"
          ? `'${value.replace(/'/g, "''")}'`
          : stringify(value).trimEnd();
    if (rendered.includes("\n")) throw new Error("multi-line value");
    return text.slice(0, node.range[0]) + rendered + text.slice(node.range[1]);
  }
  if (!map || node !== map || map.flow || map.items.length === 0) throw new Error("no block mapping to add to");
  const indent = " ".repeat(lc.linePos((map.items[0].key as Node).range![0]).col - 1);
  const nested = path.slice(depth + 1).reduceRight<unknown>((v, seg) => ({ [seg]: v }), value);
  const lines =
    stringify({ [path[depth]]: nested })
      .trimEnd()
      .split("\n")
      .map((l) => indent + l)
      .join("\n") + "\n";
  const last = map.items[map.items.length - 1];
  const at = lineEnd(text, ((last.value ?? last.key) as Node).range![1]);
  return text.slice(0, at) + (at > 0 && text[at - 1] !== "\n" ? "\n" : "") + lines + text.slice(at);
}
