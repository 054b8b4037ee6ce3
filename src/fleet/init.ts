import { posix } from "node:path";
import { QfleetError } from "../errors.js";
import type { Host } from "../hosts/host.js";
import { LOCAL } from "../hosts/local.js";
import { FLEET_FILE } from "../spec/fleet-id.js";
import { generateSchemas, SCHEMAS_DIR, writeSchemaFiles, type SchemaFileChange } from "../spec/json-schemas.js";
import { listSpecFiles, PROFILES_DIR, VMS_DIR } from "../spec/store.js";
import { ensureFleetIdentity } from "../spec/write.js";
import { EXAMPLE_PROFILE, EXAMPLE_SPEC, GITIGNORE_LINES, HOSTS_FILE, mcpJson } from "./init-files.js";

export interface InitResult {
  dir: string;
  fleetId: string;
  /** Files written, relative to `dir`. */
  written: string[];
  /** What was added to an existing .gitignore (empty when it was written new or already had them). */
  gitignoreAdded: string[];
}

/**
 * `qfleet init [DIR]`: a new fleet repository in DIR (made if missing). Contracts: nothing
 * that exists is overwritten. When DIR already holds a fleet (fleet.yaml or a spec in vms/) or
 * any file init would write, it throws EXISTS naming them and writes nothing; an existing
 * .gitignore is only appended to (the lines that keep the fleet's private key out of git).
 */
export async function initFleet(dir: string, host: Host = LOCAL): Promise<InitResult> {
  const root = posix.resolve(dir);
  const files: Record<string, string> = {
    [`${VMS_DIR}/example.yaml`]: EXAMPLE_SPEC,
    [`${PROFILES_DIR}/small.yaml`]: EXAMPLE_PROFILE,
    "hosts.yaml": HOSTS_FILE,
    ".mcp.json": mcpJson(),
  };
  const schemas = Object.keys(generateSchemas()).map((f) => `${SCHEMAS_DIR}/${f}`);
  const present = [];
  for (const f of [FLEET_FILE, ...Object.keys(files), ...schemas]) if (await host.lstat(posix.join(root, f))) present.push(f);
  if ((await host.stat(posix.join(root, VMS_DIR)))?.kind === "dir") present.push(...(await listSpecFiles(host, root)).map((n) => `${VMS_DIR}/${n}`));
  if (present.length)
    throw new QfleetError("EXISTS", `${root} already holds ${[...new Set(present)].join(", ")}: qfleet init writes nothing over existing files`, {
      hint: "run it in an empty folder (qfleet init DIR); qfleet schema refreshes an existing fleet's schemas/",
    });

  for (const d of [VMS_DIR, PROFILES_DIR]) await host.mkdir(posix.join(root, d));
  for (const [f, text] of Object.entries(files)) await host.writeFile(posix.join(root, f), text);
  await writeSchemaFiles(host, root, { replace: false });
  const { identity } = await ensureFleetIdentity(host, root);
  const gitignoreAdded = await extendGitignore(host, posix.join(root, ".gitignore"));
  const written = [...Object.keys(files), ...schemas, FLEET_FILE, ...(gitignoreAdded === "new" ? [".gitignore"] : [])];
  return { dir: root, fleetId: identity.id, written, gitignoreAdded: gitignoreAdded === "new" ? [] : gitignoreAdded };
}

/** Writes .gitignore, or appends the lines it lacks; "new" when it wrote the file. */
async function extendGitignore(host: Host, file: string): Promise<string[] | "new"> {
  if (!(await host.lstat(file))) {
    await host.writeFile(file, GITIGNORE_LINES.join("\n") + "\n");
    return "new";
  }
  const text = await host.readFile(file);
  const have = new Set(text.split("\n").map((l) => l.trim()));
  const missing = GITIGNORE_LINES.filter((l) => !l.startsWith("#") && !have.has(l) && !have.has(l.replace(/\/$/, "")));
  if (missing.length)
    await host.writeFile(file, `${text}${text.endsWith("\n") || text === "" ? "" : "\n"}${[GITIGNORE_LINES[0], ...missing].join("\n")}\n`);
  return missing;
}

/**
 * `qfleet schema [DIR]`: writes this qfleet's JSON schemas into DIR/schemas/ (where the specs'
 * modelines point), replacing older ones: after an upgrade, editors check against the new fields.
 */
export async function refreshSchemas(dir: string, host: Host = LOCAL): Promise<{ dir: string; files: SchemaFileChange[] }> {
  const root = posix.resolve(dir);
  if ((await host.stat(root))?.kind !== "dir")
    throw new QfleetError("NOT_FOUND", `no folder ${root}`, { hint: "name the fleet folder: qfleet schema DIR" });
  return { dir: root, files: await writeSchemaFiles(host, root, { replace: true }) };
}
