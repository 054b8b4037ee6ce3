import { posix } from "node:path";
import { NAME_HELP, NAME_RE } from "./fields.js";
import { SECRET_KEYS } from "./hosts-schema.js";
import { attributeTo, fieldOf, type SpecIssue } from "./issues.js";
import { layerSpec, profileRefs } from "./layers.js";
import type { Locate } from "./locate.js";
import { isMapping } from "./merge.js";
import { capped, checkValue, dedupe, parseDoc, readDoc } from "./parse-doc.js";
import { NO_PROFILES, type ProfileSet } from "./profiles.js";
import { vmNameOf } from "./store.js";
import { HostsFileSchema, VmSpecSchema, type HostsFile, type VmSpec } from "./schema.js";

/**
 * Single-file validation shared by the loader and the writer. Contract: never throws for bad
 * input; `spec`/`hosts` is set only when there are no issues, and then its relative paths are
 * absolute (resolved against the folder of the file that gave them: the spec's, or a
 * profile's) and `spec.name` is the file's name. A spec naming profiles is their merge (see
 * layers.ts); its problems may be located in a profile (then `usedBy` names the spec).
 */
export interface VmDocResult {
  /** The VM name, from the file name (without .yaml/.yml). */
  name: string;
  spec?: VmSpec;
  issues: SpecIssue[];
  locate: Locate;
  /** Plain data of the document when it could be read (merged with its profiles when they are valid). */
  raw?: unknown;
  /** The profiles the spec names, valid or not (so a profile's change can be mapped to its VMs). */
  profiles: string[];
}

export { vmNameOf } from "./store.js";

/**
 * `file` is shown in issues (relative to the fleet folder); `absFile` anchors relative paths.
 * `profiles`: the fleet's profiles (loadProfiles); a spec naming one that is not there is invalid.
 */
export function validateVmText(text: string, file: string, absFile: string, profiles: ProfileSet = NO_PROFILES): VmDocResult {
  const name = vmNameOf(absFile);
  const read = readDoc(text, file, { what: "a mapping of VM settings such as `memory: 2G`" });
  const layered =
    read.mapping && isMapping(read.raw) && "profile" in read.raw ? layerSpec(read.raw, file, absFile, read.locate, profiles) : undefined;
  const locate = layered?.locate ?? read.locate;
  const data = layered ? layered.merged : read.mapping ? read.raw : undefined;
  const checked = data === undefined ? { issues: layered?.issues ?? [] } : checkValue(data, file, VmSpecSchema, locate);
  const issues = capped(dedupe([...read.issues, ...checked.issues]), file);
  if (!NAME_RE.test(name))
    issues.unshift({ file, line: 1, col: 1, field: "", message: `the file name gives the VM name '${name}', which is not valid: use ${NAME_HELP}` });
  const rawName = (read.raw as { name?: unknown } | undefined)?.name;
  if (typeof rawName === "string" && NAME_RE.test(rawName) && rawName !== name)
    issues.push({
      file,
      ...read.locate(["name"]),
      field: "name",
      message: `'${rawName}' differs from the file name '${name}': rename the file or the VM`,
    });
  const raw = data ?? read.raw;
  const base = { name, issues: attributeTo(issues, file), locate, raw, profiles: profileRefs(read.raw).map((r) => r.name) };
  if (issues.length > 0 || !checked.value) return base;
  const dirOf = layered?.dirOf ?? (() => posix.dirname(absFile));
  return { ...base, spec: absolutize({ ...checked.value, name }, dirOf, isMapping(raw) && raw.disk !== undefined) };
}

/** Relative paths made absolute, each against the folder `dirOf` gives for its place in the spec. */
function absolutize(spec: VmSpec, dirOf: (path: readonly PropertyKey[]) => string, shorthand: boolean): VmSpec {
  const abs = (path: PropertyKey[], p: string) => posix.resolve(dirOf(path), p);
  return {
    ...spec,
    ...(spec.iso !== undefined && { iso: abs(["iso"], spec.iso) }),
    ...(spec.vm_dir !== undefined && { vm_dir: abs(["vm_dir"], spec.vm_dir) }),
    ...(spec.boot && {
      boot: {
        ...spec.boot,
        kernel: abs(["boot", "kernel"], spec.boot.kernel),
        ...(spec.boot.initrd !== undefined && { initrd: abs(["boot", "initrd"], spec.boot.initrd) }),
      },
    }),
    disks: spec.disks.map((d, i) => (d.path === undefined ? d : { ...d, path: abs(shorthand ? ["disk"] : ["disks", i, "path"], d.path) })),
    ...(typeof spec.cloud_init === "object" &&
      spec.cloud_init.user_data !== undefined && {
        cloud_init: { ...spec.cloud_init, user_data: abs(["cloud_init", "user_data"], spec.cloud_init.user_data) },
      }),
  };
}

export interface HostsDocResult {
  hosts?: HostsFile;
  issues: SpecIssue[];
  /** Host names as written, even when the file is invalid (so VMs naming them are not blamed). */
  names: string[];
}

const secretMessage = (key: string) => `hosts.yaml holds no secrets: put the ${key} in an environment variable and name it in ${SECRET_KEYS[key]}`;

export function validateHostsText(text: string, file: string, absFile: string): HostsDocResult {
  const parsed = parseDoc(text, file, HostsFileSchema, {
    allowEmpty: true,
    what: "a mapping with a `hosts:` section",
    unknownKey: (path, key) =>
      key in SECRET_KEYS
        ? secretMessage(key)
        : fieldOf(path) === "hosts.local"
          ? `unknown key '${key}': the local host takes only vm_dir and accel`
          : undefined,
  });
  const issues = [...parsed.issues];
  for (const path of secretPaths(parsed.raw, []))
    if (!issues.some((i) => i.field === fieldOf(path)))
      issues.push({ file, ...parsed.locate(path, { atKey: true }), field: fieldOf(path), message: secretMessage(String(path.at(-1))) });
  const rawHosts = (parsed.raw as { hosts?: unknown } | undefined)?.hosts;
  const names = rawHosts && typeof rawHosts === "object" ? Object.keys(rawHosts) : [];
  if (issues.length > 0 || !parsed.value) return { issues, names };
  const abs = (p: string) => posix.resolve(posix.dirname(absFile), p);
  const { hosts, local } = parsed.value;
  for (const h of Object.values(hosts)) {
    if (h.identity_file !== undefined) h.identity_file = abs(h.identity_file);
    if (h.known_hosts !== undefined) h.known_hosts = abs(h.known_hosts);
  }
  if (local.vm_dir !== undefined) local.vm_dir = abs(local.vm_dir);
  return { hosts: parsed.value, issues, names };
}

/** Paths of every `password:`/`passphrase:` key, at any depth. */
function secretPaths(v: unknown, path: (string | number)[]): (string | number)[][] {
  if (!v || typeof v !== "object") return [];
  return Object.entries(v).flatMap(([k, child]) => {
    const p = [...path, Array.isArray(v) ? Number(k) : k];
    return [...(k in SECRET_KEYS && !Array.isArray(v) ? [p] : []), ...secretPaths(child, p)];
  });
}
