import { posix } from "node:path";
import type { Host } from "../hosts/host.js";
import { FLEET_FILE } from "./fleet-id.js";

/**
 * Where a fleet's specs live, in one place: `vms/NAME.yaml` (or `.yml`) beside `hosts.yaml`,
 * `fleet.yaml` and `profiles/NAME.yaml` (settings specs share). The file name is the VM's (or
 * the profile's) name. Everything that maps names to files or files to names goes through here.
 */
export const VMS_DIR = "vms";
export const PROFILES_DIR = "profiles";
/** The fleet's private files (its SSH key, the guests' host keys): never in git. */
export const PRIVATE_DIR = ".qfleet";

/** Where the fleet's private things live: `.qfleet/` beside vms/ (the fleet's .gitignore lists it). */
export const privatePaths = (dir: string) => {
  const p = posix.join(posix.resolve(dir), PRIVATE_DIR);
  return { dir: p, key: posix.join(p, "id_ed25519"), publicKey: posix.join(p, "id_ed25519.pub"), knownHosts: posix.join(p, "known_hosts") };
};
const EXTS = [".yaml", ".yml"];

/** A spec file name: ends in .yaml or .yml and is not hidden (editor temp files are). */
export const isSpecFileName = (n: string): boolean => EXTS.some((e) => n.endsWith(e)) && !n.startsWith(".");

/** The VM name of a spec file (any path): its base name without .yaml/.yml. */
export const vmNameOf = (file: string): string => posix.basename(file).replace(/\.ya?ml$/, "");

/** How a spec file is shown in messages and issues: "vms/web1.yaml". */
export const specLabel = (fileOrName: string): string =>
  `${VMS_DIR}/${isSpecFileName(posix.basename(fileOrName)) ? posix.basename(fileOrName) : `${fileOrName}.yaml`}`;

export const vmsDirOf = (dir: string): string => posix.join(posix.resolve(dir), VMS_DIR);

/** The file a new spec of `name` is written to. */
export const newSpecFile = (dir: string, name: string): string => posix.join(vmsDirOf(dir), `${name}${EXTS[0]}`);

/** The existing spec files of `name` (normally one; two means the fleet is invalid). */
export async function specFilesOf(host: Host, dir: string, name: string): Promise<string[]> {
  const found: string[] = [];
  for (const ext of EXTS) {
    const f = posix.join(vmsDirOf(dir), name + ext);
    if ((await host.stat(f))?.kind === "file") found.push(f);
  }
  return found;
}

/** The spec file of `name` and its text as written (valid or not), or null when there is none. */
export async function readSpecText(host: Host, dir: string, name: string): Promise<{ file: string; text: string } | null> {
  const [file] = await specFilesOf(host, dir, name);
  return file ? { file, text: await host.readFile(file) } : null;
}

/** Deletes the spec files of `name`; returns the files removed. The VM itself is not touched. */
export async function removeSpecFiles(host: Host, dir: string, name: string): Promise<string[]> {
  const files = await specFilesOf(host, dir, name);
  for (const f of files) await host.remove(f);
  return files;
}

/** Every spec file name in vms/, sorted. */
export async function listSpecFiles(host: Host, dir: string): Promise<string[]> {
  return (await host.list(vmsDirOf(dir))).filter(isSpecFileName).sort();
}

export const profilesDirOf = (dir: string): string => posix.join(posix.resolve(dir), PROFILES_DIR);

/** How a profile file is shown in messages and issues: "profiles/base.yaml". */
export const profileLabel = (fileName: string): string => `${PROFILES_DIR}/${fileName}`;

/** Every profile file name in profiles/ (none when there is no such folder), sorted. */
export async function listProfileFiles(host: Host, dir: string): Promise<string[]> {
  if ((await host.stat(profilesDirOf(dir)))?.kind !== "dir") return [];
  return (await host.list(profilesDirOf(dir))).filter(isSpecFileName).sort();
}

/**
 * The fleet folder holding `from`: the nearest of `from` and its parents with a vms/ folder or a
 * fleet.yaml (the way git finds its repository), or `from` itself when there is none.
 */
export async function fleetDirFrom(host: Host, from: string): Promise<string> {
  for (let d = posix.resolve(from); ; d = posix.dirname(d)) {
    if ((await host.stat(posix.join(d, VMS_DIR)))?.kind === "dir" || (await host.stat(posix.join(d, FLEET_FILE)))?.kind === "file") return d;
    if (d === posix.dirname(d)) return posix.resolve(from);
  }
}
