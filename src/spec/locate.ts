import { isMap, isScalar, isSeq, type Document, type LineCounter, type Node, type Pair, type YAMLMap } from "yaml";

/** 1-based line and column in the source text. */
export interface Position {
  line: number;
  col: number;
  /** The file the position is in when it is not the document's own (a merged spec's value from a profile). */
  file?: string;
}

/**
 * Maps a value path (as zod reports it) to a source position. Contract: never throws; when
 * the path does not exist in the document (a missing field) it points at the key of the
 * deepest existing parent (`boot:` for a missing boot.kernel), or 1:1 at the top level.
 * A path into a scalar (the `disk:` one-line form) points at that scalar.
 * With `atKey` it points at the key instead of the value (unknown or badly named keys).
 */
export type Locate = (path: readonly PropertyKey[], opts?: { atKey?: boolean }) => Position;

export function makeLocator(doc: Document, lc: LineCounter): Locate {
  const posOf = (n: Node | null | undefined): Position | undefined => {
    if (!n?.range) return undefined;
    const { line, col } = lc.linePos(n.range[0]);
    return { line, col };
  };
  return (path, opts = {}) => {
    let node = doc.contents as Node | null;
    let key: Node | undefined;
    let resolved = true;
    for (const seg of path) {
      if (isMap(node)) {
        const pair = findPair(node, seg);
        if (!pair) {
          resolved = false;
          break;
        }
        key = pair.key as Node;
        node = pair.value as Node | null;
      } else if (isSeq(node) && node.items[Number(seg)] !== undefined) {
        key = undefined;
        node = node.items[Number(seg)] as Node;
      } else {
        resolved = false;
        break;
      }
    }
    const valueFirst = resolved ? !opts.atKey : isScalar(node);
    const first = valueFirst ? (posOf(node) ?? posOf(key)) : (posOf(key) ?? posOf(node));
    return first ?? { line: 1, col: 1 };
  };
}

const indexes = new WeakMap<YAMLMap, Map<string, Pair>>();

/** The pair of `key` in `map` (the first, for a duplicated key); an index per map keeps lookups O(1). */
export function findPair(map: YAMLMap, key: PropertyKey): Pair | undefined {
  let index = indexes.get(map);
  if (!index) {
    index = new Map();
    for (const p of map.items) if (isScalar(p.key) && !index.has(String(p.key.value))) index.set(String(p.key.value), p);
    indexes.set(map, index);
  }
  return index.get(String(key));
}
