import { posix } from "node:path";
import { didYouMean, type SpecIssue } from "./issues.js";
import type { Locate } from "./locate.js";
import { isMapping, mergeLayers, originOf } from "./merge.js";
import { checkValue } from "./parse-doc.js";
import { SpecLayerSchema } from "./profile-schema.js";
import type { Profile, ProfileSet } from "./profiles.js";
import { PROFILES_DIR } from "./store.js";

/**
 * Pure: a spec that says `profile: NAME` (or a list) checked as layers: the spec on its own,
 * each profile on its own (loaded before), then the merge of all of them. Contracts:
 * - an unknown profile is a problem at the spec's `profile:` entry, with a did-you-mean;
 * - a profile with problems makes the spec invalid: its problems are returned, located in the
 *   profile, and the merge is not checked;
 * - `merged` is the data VmSpecSchema checks; `locate` maps a path of it to the file and
 *   place its value came from; `dirOf` is the folder relative paths at a path resolve against.
 */
export interface ProfileRef {
  name: string;
  path: (string | number)[];
}

export interface Layered {
  issues: SpecIssue[];
  merged?: Record<string, unknown>;
  locate: Locate;
  dirOf: (path: readonly PropertyKey[]) => string;
}

/** The profiles a spec's plain data names, in order (tolerant of bad input: only strings count). */
export function profileRefs(raw: unknown): ProfileRef[] {
  const p = isMapping(raw) ? raw.profile : undefined;
  if (typeof p === "string") return [{ name: p, path: ["profile"] }];
  if (Array.isArray(p)) return p.flatMap((n, i) => (typeof n === "string" ? [{ name: n, path: ["profile", i] }] : []));
  return [];
}

export function layerSpec(raw: Record<string, unknown>, file: string, absFile: string, locate: Locate, profiles: ProfileSet): Layered {
  const own = { locate, dirOf: () => posix.dirname(absFile) };
  const issues = [...checkValue(raw, file, SpecLayerSchema, locate).issues];
  const used: (Profile & { raw: Record<string, unknown> })[] = [];
  for (const ref of profileRefs(raw)) {
    const p = profiles.get(ref.name);
    if (!p) {
      const known = [...profiles.keys()];
      const hint =
        didYouMean(ref.name, known) || (known.length ? ` (the profiles are ${known.join(", ")})` : ` (there is no profile in ${PROFILES_DIR}/)`);
      const message = `unknown profile '${ref.name}': there is no ${PROFILES_DIR}/${ref.name}.yaml${hint}`;
      issues.push({ file, ...locate(ref.path), field: ref.path.join("."), message });
    } else if (p.raw === undefined) issues.push(...p.issues);
    else used.push({ ...p, raw: p.raw });
  }
  if (issues.length) return { ...own, issues };
  const layers = [...used.map((p) => p.raw), raw];
  const merged = mergeLayers(layers);
  const from = (path: readonly PropertyKey[]) => {
    const i = originOf(layers, merged, path);
    return i < used.length ? used[i] : undefined;
  };
  return {
    issues: [],
    merged,
    locate: (path, opts) => {
      const p = from(path);
      return p ? { ...p.locate(path, opts), file: p.file } : locate(path, opts);
    },
    dirOf: (path) => posix.dirname(from(path)?.absFile ?? absFile),
  };
}
