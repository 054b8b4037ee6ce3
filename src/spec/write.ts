import { randomBytes } from "node:crypto";
import { posix } from "node:path";
import { parseDocument, stringify } from "yaml";
import { QfleetError } from "../errors.js";
import type { Host } from "../hosts/host.js";
import { checkHostKnown, checkPaths, checkPortClashes, type CheckedSpec } from "./checks.js";
import { applyChanges, splitKey, type Changes } from "./edit.js";
import { NAME_HELP, NAME_RE } from "./fields.js";
import { FLEET_FILE, fleetFileText, type FleetIdentity } from "./fleet-id.js";
import { attributeTo, fieldOf, formatIssue, sortIssues, type SpecIssue } from "./issues.js";
import { writeSchemaFiles } from "./json-schemas.js";
import { loadHosts, loadIdentity, readSpecFiles } from "./load.js";
import { loadProfiles } from "./profiles.js";
import { newSpecFile, readSpecText, removeSpecFiles, specLabel, vmsDirOf } from "./store.js";
import { validateVmText } from "./validate-doc.js";

/** First line of every spec qfleet creates: editors then validate against the schema. */
export const SCHEMA_COMMENT = "# yaml-language-server: $schema=../schemas/vm.schema.json";

/**
 * Changes (or creates) vms/NAME.yaml for `qfleet start/stop` and the MCP tools.
 * Contracts: the result is validated (the file on its own, its host, its port claims against
 * the other specs, and the paths this change sets) BEFORE anything is written; on a problem
 * it throws INVALID_SPEC listing the located problems and the file is left byte-for-byte as
 * it was. Edits keep comments, key order and formatting (see applyChanges). Writes are atomic.
 * `changes` keys may be dotted ("ssh.port"); a value of undefined or null deletes the key.
 * A new spec starts with SCHEMA_COMMENT, and the fleet's schemas/ gets the schema files it
 * lacks, so that modeline resolves (existing schema files are left as they are).
 */
export async function writeSpec(host: Host, dir: string, name: string, changes: Changes): Promise<{ file: string; created: boolean; text: string }> {
  checkName(name);
  const root = posix.resolve(dir);
  const vmsDir = vmsDirOf(root);
  const hasVmsDir = (await host.stat(vmsDir))?.kind === "dir";
  const existing = hasVmsDir ? await readSpecText(host, root, name) : null;
  const file = existing?.file ?? newSpecFile(root, name);
  const rel = specLabel(file);
  const before = existing?.text;

  if (before !== undefined && parseDocument(before, { uniqueKeys: true }).errors.length > 0)
    throw invalid(`${rel} is not valid YAML now; fix it by hand first`, validateVmText(before, rel, file).issues);
  const text = before !== undefined ? applyChanges(before, changes) : newSpecText(name, changes);
  const issues = await problems(host, root, rel, file, text, before === undefined ? () => true : touchedBy(changes));
  if (issues.length) throw invalid(`${rel}: the change would make the spec invalid, so nothing was written`, issues);
  if (!hasVmsDir) await host.mkdir(vmsDir);
  if (text !== before) await host.writeFile(file, text);
  if (before === undefined) await writeSchemaFiles(host, root, { replace: false }); // where its modeline points
  return { file, created: before === undefined, text };
}

/** Deletes vms/NAME.yaml (and .yml); returns the files removed. The VM itself is not touched. */
export async function removeSpec(host: Host, dir: string, name: string): Promise<string[]> {
  checkName(name);
  return removeSpecFiles(host, dir, name);
}

/**
 * The fleet's identity, made on first need: a fleet.yaml with a new random id is written
 * beside vms/ when there is none (the caller tells the person to commit it). An invalid
 * fleet.yaml is never replaced: that would orphan every VM carrying the old id.
 */
export async function ensureFleetIdentity(host: Host, dir: string): Promise<{ identity: FleetIdentity; created: boolean }> {
  const root = posix.resolve(dir);
  const current = await loadIdentity(host, root);
  if (current.identity) return { identity: current.identity, created: false };
  if (current.issues.length) throw invalid(`${FLEET_FILE} is invalid, so this fleet does not know which VMs are its own`, current.issues);
  const identity = { id: randomBytes(8).toString("hex") };
  await host.writeFile(posix.join(root, FLEET_FILE), fleetFileText(identity.id));
  return { identity, created: true };
}

function checkName(name: string): void {
  if (!NAME_RE.test(name)) throw new QfleetError("BAD_INPUT", `'${name}' is not a valid VM name: use ${NAME_HELP}`);
}

function newSpecText(name: string, changes: Changes): string {
  const body: Record<string, unknown> = { name };
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined || v === null) continue;
    const path = splitKey(k).map(String);
    let at = body;
    for (const seg of path.slice(0, -1)) at = (at[seg] ??= {}) as Record<string, unknown>;
    at[path[path.length - 1]] = v;
  }
  return `${SCHEMA_COMMENT}\n${stringify(body)}`;
}

/** A path field is re-checked when the change set it, or a parent or child of it. */
const touchedBy = (changes: Changes) => (field: string) =>
  Object.keys(changes).some((k) => {
    const key = fieldOf(splitKey(k));
    return key === field || field.startsWith(`${key}.`) || key.startsWith(`${field}.`);
  });

async function problems(host: Host, root: string, rel: string, file: string, text: string, pathsToCheck: (f: string) => boolean) {
  const profiles = await loadProfiles(host, root);
  const r = validateVmText(text, rel, file, profiles);
  if (!r.spec) return r.issues;
  const me: CheckedSpec = { name: r.name, file: rel, spec: r.spec, raw: r.raw, locate: r.locate };
  const issues: SpecIssue[] = [...checkHostKnown(me, (await loadHosts(host, root)).names)];
  if (r.spec.host === "local") issues.push(...(await checkPaths(host, me, pathsToCheck)));
  const others = (await host.stat(posix.dirname(file))) ? (await readSpecFiles(host, root, profiles)).filter((f) => f.name !== r.name && f.spec) : [];
  issues.push(...(checkPortClashes<CheckedSpec>([me, ...others]).get(me) ?? []));
  return attributeTo(issues, rel);
}

function invalid(headline: string, issues: SpecIssue[]): QfleetError {
  const lines = sortIssues(issues)
    .map((i) => `  ${formatIssue(i)}`)
    .join("\n");
  return new QfleetError("INVALID_SPEC", `${headline}:\n${lines}`, {
    hint: "fix the values (qfleet validate shows every problem of the fleet)",
  });
}
