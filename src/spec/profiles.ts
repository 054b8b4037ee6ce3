import { posix } from "node:path";
import { toQfleetError } from "../errors.js";
import type { Host } from "../hosts/host.js";
import { NAME_HELP, NAME_RE } from "./fields.js";
import type { SpecIssue } from "./issues.js";
import type { Locate } from "./locate.js";
import { parseDoc } from "./parse-doc.js";
import { NOT_IN_PROFILE, ProfileSchema } from "./profile-schema.js";
import { listProfileFiles, profileLabel, profilesDirOf, vmNameOf } from "./store.js";

/**
 * `profiles/NAME.yaml`: VM settings that specs share (`profile: NAME`). Each profile is read
 * and checked on its own, once per load; a spec that uses a profile with a problem is invalid.
 */
export interface Profile {
  name: string;
  /** As shown in issues: "profiles/base.yaml". */
  file: string;
  absFile: string;
  text: string;
  /** The profile's data; set only when it has no problem. */
  raw?: Record<string, unknown>;
  locate: Locate;
  issues: SpecIssue[];
}

export type ProfileSet = ReadonlyMap<string, Profile>;

export const NO_PROFILES: ProfileSet = new Map();

/** Changes whenever a profile is added, removed or edited (a spec's validation depends on them). */
export const profilesKey = (set: ProfileSet): string => [...set.values()].map((p) => `${p.file}\n${p.text}`).join("\0");

/** One profile file checked on its own (every field optional; `name` and `profile` are refused). Never throws. */
export function validateProfileText(text: string, file: string, absFile: string): Profile {
  const name = vmNameOf(absFile);
  const parsed = parseDoc(text, file, ProfileSchema, {
    allowEmpty: true,
    what: "a mapping of VM settings such as `memory: 2G`",
    unknownKey: (path, key) => (path.length === 0 ? NOT_IN_PROFILE[key] : undefined),
  });
  const issues = [...parsed.issues];
  if (!NAME_RE.test(name)) issues.unshift({ file, line: 1, col: 1, field: "", message: `'${name}' is not a valid profile name: use ${NAME_HELP}` });
  const ok = issues.length === 0 && parsed.value !== undefined;
  return { name, file, absFile, text, locate: parsed.locate, issues, ...(ok && { raw: parsed.raw as Record<string, unknown> }) };
}

/** Every profile of the fleet at `root` (none without a profiles/ folder), by name. */
export async function loadProfiles(host: Host, root: string): Promise<ProfileSet> {
  const dir = profilesDirOf(root);
  const loaded = await Promise.all(
    (await listProfileFiles(host, root)).map(async (n): Promise<Profile> => {
      const absFile = posix.join(dir, n);
      const file = profileLabel(n);
      try {
        return validateProfileText(await host.readFile(absFile), file, absFile);
      } catch (e) {
        const message = `cannot read: ${toQfleetError(e).message}`;
        const issues = [{ file, line: 1, col: 1, field: "", message }];
        return { name: vmNameOf(n), file, absFile, text: "", locate: () => ({ line: 1, col: 1 }), issues };
      }
    }),
  );
  const set = new Map<string, Profile>();
  for (const p of loaded) {
    const first = set.get(p.name);
    if (!first) set.set(p.name, p);
    else {
      const message = `profile '${p.name}' is also defined in ${p.file}: keep one file per profile`;
      set.set(p.name, { ...first, raw: undefined, issues: [...first.issues, { file: first.file, line: 1, col: 1, field: "", message }] });
    }
  }
  return set;
}
