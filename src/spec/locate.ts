import { isMap, isScalar, isSeq, type Document, type LineCounter, type Node, type Pair, type YAMLMap } from "yaml";

/** 1-based line and column in the source text. */
export interface Position {
  line: number;
  col: number;
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
        if (!pair) { resolved = false; break; }
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

export function findPair(map: YAMLMap, key: PropertyKey): Pair | undefined {
  return map.items.find((p) => isScalar(p.key) && String(p.key.value) === String(key));
}

/** The key whose node starts at `offset`, with its path and its map (for duplicate-key errors). */
export function keyAt(doc: Document, offset: number): { path: (string | number)[]; map: YAMLMap; pair: Pair } | undefined {
  const walk = (node: unknown, path: (string | number)[]): ReturnType<typeof keyAt> => {
    if (isMap(node))
      for (const pair of node.items) {
        const k = isScalar(pair.key) ? String(pair.key.value) : "?";
        if ((pair.key as Node | null)?.range?.[0] === offset) return { path: [...path, k], map: node, pair };
        const found = walk(pair.value, [...path, k]);
        if (found) return found;
      }
    if (isSeq(node))
      for (const [i, item] of node.items.entries()) {
        const found = walk(item, [...path, i]);
        if (found) return found;
      }
    return undefined;
  };
  return walk(doc.contents, []);
}
