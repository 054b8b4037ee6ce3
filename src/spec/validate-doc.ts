import { posix } from "node:path";
import { NAME_HELP, NAME_RE } from "./fields.js";
import { SECRET_KEYS } from "./hosts-schema.js";
import { fieldOf, type SpecIssue } from "./issues.js";
import type { Locate } from "./locate.js";
import { parseDoc } from "./parse-doc.js";
import { vmNameOf } from "./store.js";
import { HostsFileSchema, VmSpecSchema, type HostsFile, type VmSpec } from "./schema.js";

/**
 * Single-file validation shared by the loader and the writer. Contract: never throws for bad
 * input; `spec`/`hosts` is set only when there are no issues, and then its relative paths are
 * absolute (resolved against the file's folder) and `spec.name` is the file's name.
 */
export interface VmDocResult {
  /** The VM name, from the file name (without .yaml/.yml). */
  name: string;
  spec?: VmSpec;
  issues: SpecIssue[];
  locate: Locate;
  /** Plain data of the document when it could be read (for cross-file checks on bad specs). */
  raw?: unknown;
}

export { vmNameOf } from "./store.js";

/** `file` is shown in issues (relative to the fleet folder); `absFile` anchors relative paths. */
export function validateVmText(text: string, file: string, absFile: string): VmDocResult {
  const name = vmNameOf(absFile);
  const parsed = parseDoc(text, file, VmSpecSchema, { what: "a mapping of VM settings such as `memory: 2G`" });
  const issues = [...parsed.issues];
  if (!NAME_RE.test(name))
    issues.unshift({ file, line: 1, col: 1, field: "", message: `the file name gives the VM name '${name}', which is not valid: use ${NAME_HELP}` });
  const rawName = (parsed.raw as { name?: unknown } | undefined)?.name;
  if (typeof rawName === "string" && NAME_RE.test(rawName) && rawName !== name)
    issues.push({
      file,
      ...parsed.locate(["name"]),
      field: "name",
      message: `'${rawName}' differs from the file name '${name}': rename the file or the VM`,
    });
  const base = { name, issues, locate: parsed.locate, raw: parsed.raw };
  if (issues.length > 0 || !parsed.value) return base;
  return { ...base, spec: absolutize({ ...parsed.value, name }, posix.dirname(absFile)) };
}

function absolutize(spec: VmSpec, dir: string): VmSpec {
  const abs = (p: string) => posix.resolve(dir, p);
  return {
    ...spec,
    ...(spec.iso !== undefined && { iso: abs(spec.iso) }),
    ...(spec.vm_dir !== undefined && { vm_dir: abs(spec.vm_dir) }),
    ...(spec.boot && {
      boot: { ...spec.boot, kernel: abs(spec.boot.kernel), ...(spec.boot.initrd !== undefined && { initrd: abs(spec.boot.initrd) }) },
    }),
    disks: spec.disks.map((d) => (d.path === undefined ? d : { ...d, path: abs(d.path) })),
    ...(typeof spec.cloud_init === "object" &&
      spec.cloud_init.user_data !== undefined && { cloud_init: { ...spec.cloud_init, user_data: abs(spec.cloud_init.user_data) } }),
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
