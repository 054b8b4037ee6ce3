import { posix } from "node:path";
import { QfleetError, toQfleetError } from "../errors.js";
import type { Host } from "../hosts/host.js";
import { checkHostKnown, checkPaths, checkPortClashes, type CheckedSpec } from "./checks.js";
import { FLEET_FILE, parseFleetFile, type FleetIdentity } from "./fleet-id.js";
import { attributeTo, mergeSameIssues, sortIssues, type SpecIssue } from "./issues.js";
import { loadProfiles, profilesKey, type ProfileSet } from "./profiles.js";
import type { HostsFile, VmSpec } from "./schema.js";
import { listSpecFiles, specLabel, vmNameOf, vmsDirOf } from "./store.js";
import { validateHostsText, validateVmText } from "./validate-doc.js";

export { formatIssue, suggestKey, type SpecIssue } from "./issues.js";

export interface LoadedSpec {
  name: string;
  /** Absolute path of the spec file. */
  file: string;
  /** Validated and merged with its profiles; relative paths already absolute; `name` always set. */
  spec: VmSpec;
  text: string;
}

/**
 * A fleet folder read in one go. Contracts: every problem of every file is in `issues`
 * (sorted by file, line, column); `specs` holds only valid specs; `invalid` names every VM
 * whose spec has a problem, so reconcile leaves those VMs untouched (never deletes them).
 */
export interface Fleet {
  /** Absolute fleet folder (holds vms/ and hosts.yaml). */
  dir: string;
  specs: LoadedSpec[];
  invalid: string[];
  hosts: HostsFile;
  /** fleet.yaml's identity; null until the first run that creates something writes it. */
  identity: FleetIdentity | null;
  /** Profile name -> the VMs whose specs name it (valid or not, and whether the profile exists). */
  profileUsers: Record<string, string[]>;
  issues: SpecIssue[];
}

export interface LoadOptions {
  /** stat the files local VMs need (ISO, kernel, base images); default true. */
  checkPaths?: boolean;
}

const EMPTY_HOSTS: HostsFile = { hosts: {}, local: {} };
export { isSpecFileName } from "./store.js";

/** hosts.yaml beside vms/ (optional). `names` lists the host names even when it is invalid. */
export async function loadHosts(host: Host, dir: string): Promise<{ hosts: HostsFile; names: string[]; issues: SpecIssue[] }> {
  const file = posix.join(dir, "hosts.yaml");
  if (!(await host.stat(file))) return { hosts: EMPTY_HOSTS, names: [], issues: [] };
  const r = validateHostsText(await host.readFile(file), "hosts.yaml", file);
  return { hosts: r.hosts ?? EMPTY_HOSTS, names: r.names, issues: r.issues };
}

export async function loadFleet(host: Host, dir: string, opts: LoadOptions = {}): Promise<Fleet> {
  const root = posix.resolve(dir);
  const st = await host.stat(vmsDirOf(root));
  if (st?.kind !== "dir")
    throw new QfleetError("NOT_FOUND", `no vms/ folder in ${root}`, {
      hint: "run qfleet in the folder that holds vms/ (and hosts.yaml), or point at it with -C DIR",
    });
  const hosts = await loadHosts(host, root);
  const identity = await loadIdentity(host, root);
  const profiles = await loadProfiles(host, root);
  const files = await readSpecFiles(host, root, profiles);

  const byName = new Map<string, typeof files>();
  for (const f of files) byName.set(f.name, [...(byName.get(f.name) ?? []), f]);
  for (const same of byName.values())
    if (same.length > 1)
      for (const f of same) {
        const others = same
          .filter((o) => o !== f)
          .map((o) => o.file)
          .join(", ");
        f.issues.push({ file: f.file, line: 1, col: 1, field: "", message: `VM '${f.name}' is also defined in ${others}: keep one file per VM` });
      }

  for (const f of files) f.issues.push(...checkHostKnown(f, hosts.names));
  if (opts.checkPaths ?? true) for (const f of files.filter((f) => f.spec?.host === "local")) f.issues.push(...(await checkPaths(host, f)));
  for (const [f, issues] of checkPortClashes(files.filter((f) => f.spec))) f.issues.push(...issues);

  const bad = files.filter((f) => f.issues.length > 0);
  const profileUsers: Record<string, string[]> = {};
  for (const f of files) for (const p of f.profiles) profileUsers[p] = [...new Set([...(profileUsers[p] ?? []), f.name])];
  return {
    dir: root,
    specs: files.filter((f) => f.issues.length === 0 && f.spec).map((f) => ({ name: f.name, file: f.absFile, spec: f.spec!, text: f.text })),
    invalid: [...new Set(bad.map((f) => f.name))],
    hosts: hosts.hosts,
    identity: identity.identity ?? null,
    profileUsers,
    // a profile's problems are listed once, naming the specs that use it (an unused profile's too)
    issues: sortIssues(
      mergeSameIssues([
        ...identity.issues,
        ...hosts.issues,
        ...[...profiles.values()].flatMap((p) => p.issues),
        ...files.flatMap((f) => attributeTo(f.issues, f.file)),
      ]),
    ),
  };
}

/** fleet.yaml beside vms/ (optional until something is created). */
export async function loadIdentity(host: Host, dir: string): Promise<{ identity?: FleetIdentity; issues: SpecIssue[] }> {
  const file = posix.join(dir, FLEET_FILE);
  if (!(await host.stat(file))) return { issues: [] };
  return parseFleetFile(await host.readFile(file));
}

/** Every vms/*.yaml|yml (sorted), each validated on its own with its profiles (no cross-file checks yet). */
export async function readSpecFiles(host: Host, root: string, profiles?: ProfileSet): Promise<SpecFile[]> {
  const set = profiles ?? (await loadProfiles(host, root));
  const key = profilesKey(set);
  return Promise.all((await listSpecFiles(host, root)).map((n) => readSpec(host, vmsDirOf(root), n, set, key)));
}

export interface SpecFile extends CheckedSpec {
  absFile: string;
  text: string;
  issues: SpecIssue[];
  /** The profiles the spec names. */
  profiles: string[];
}

/**
 * Each file's validation, by its path, kept while its text stays the same: a long-lived process
 * (the MCP server, watch) reads every spec on every call but validates only what changed. Keyed
 * by the text itself (and, for a spec naming profiles, every profile's), so a stale result is
 * never served; each caller gets its own issue list.
 */
const validated = new Map<string, { text: string; profiles: string; result: ReturnType<typeof validateVmText> }>();

function validateCached(text: string, file: string, absFile: string, profiles: ProfileSet, key: string): ReturnType<typeof validateVmText> {
  const hit = validated.get(absFile);
  const fresh = hit && hit.text === text && (hit.result.profiles.length === 0 || hit.profiles === key);
  const result = fresh ? hit.result : validateVmText(text, file, absFile, profiles);
  if (hit?.result !== result) validated.set(absFile, { text, profiles: key, result });
  return { ...result, issues: [...result.issues] };
}

async function readSpec(host: Host, vmsDir: string, n: string, profiles: ProfileSet, key: string): Promise<SpecFile> {
  const absFile = posix.join(vmsDir, n);
  const file = specLabel(n);
  try {
    const text = await host.readFile(absFile);
    return { ...validateCached(text, file, absFile, profiles, key), file, absFile, text };
  } catch (e) {
    const name = vmNameOf(n);
    const message = `cannot read: ${toQfleetError(e).message}`;
    const issues = [{ file, line: 1, col: 1, field: "", message }];
    return { name, file, absFile, text: "", issues, locate: () => ({ line: 1, col: 1 }), profiles: [] };
  }
}
