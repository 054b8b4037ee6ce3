/**
 * Pure: the deep merge behind profiles. `layers` are plain YAML data, lowest priority first
 * (the profiles in the order the spec lists them, then the spec). Contracts:
 * - a mapping in a higher layer merges into a mapping below it, key by key, at any depth;
 * - anything else (a list, a scalar, a mapping over a non-mapping) replaces what is below:
 *   lists are never concatenated;
 * - `disk:` and `disks:` are one setting: a layer giving either replaces both below it;
 * - the inputs are never modified.
 */
type Data = Record<string, unknown>;
const DISK_KEYS = ["disk", "disks"];

export const isMapping = (v: unknown): v is Data => v !== null && typeof v === "object" && !Array.isArray(v);

export function mergeLayers(layers: readonly Data[]): Data {
  return layers.reduce<Data>((below, layer) => mergeInto(below, layer, true), {});
}

function mergeInto(below: Data, over: Data, top: boolean): Data {
  const out: Data = { ...below };
  if (top && DISK_KEYS.some((k) => k in over)) for (const k of DISK_KEYS) delete out[k];
  for (const [k, v] of Object.entries(over)) out[k] = isMapping(v) && isMapping(out[k]) ? mergeInto(out[k] as Data, v, false) : v;
  return out;
}

/** The value at `path` in plain data, and whether there is one. */
function at(data: unknown, path: readonly PropertyKey[]): { found: boolean; value: unknown } {
  let v = data;
  for (const seg of path) {
    if (v === null || typeof v !== "object" || !(String(seg) in (v as object))) return { found: false, value: undefined };
    v = (v as Record<string, unknown>)[String(seg)];
  }
  return { found: true, value: v };
}

/**
 * Which layer the merged value at `path` came from (an index into `layers`). For a path the
 * merged data lacks (a missing field), the layer of its deepest existing parent; the top
 * layer (the spec) for the document itself.
 */
export function originOf(layers: readonly Data[], merged: Data, path: readonly PropertyKey[]): number {
  let n = path.length;
  while (n > 0 && !at(merged, path.slice(0, n)).found) n--;
  const prefix = path.slice(0, n);
  for (let i = layers.length - 1; i >= 0 && n > 0; i--) if (at(layers[i], prefix).found) return i;
  return layers.length - 1;
}
