import path from "node:path";
import type { Host } from "../hosts/host.js";
import { isScratchFile, ownedFiles, RECORD_FILE } from "../state/paths.js";
import type { AppliedRecord } from "../state/types.js";

/**
 * Deletes what qemu-fleet made for an instance, and nothing else. Contracts: removes the files
 * the record lists (see ownedFiles: never a disk given by `path:`) and its own scratch files,
 * the record last (a crash half-way leaves an instance a retry finishes); never follows or
 * removes a symbolic link or a folder; removes the instance folder only when it is then empty.
 * Returns a line per outcome, naming every file kept and why.
 */
export async function removeInstance(host: Host, dir: string, rec: AppliedRecord | null): Promise<string[]> {
  const owned = rec ? ownedFiles(rec) : new Set<string>();
  const entries = (await host.list(dir).catch(() => [] as string[])).sort((a, b) => Number(a === RECORD_FILE) - Number(b === RECORD_FILE));
  const kept: string[] = [];
  let removed = 0;
  for (const name of entries) {
    if (!owned.has(name) && !isScratchFile(name)) {
      kept.push(`${name} (not created by qemu-fleet)`);
      continue;
    }
    const kind = (await host.lstat(path.posix.join(dir, name)))?.kind;
    if (kind === "symlink" || kind === "dir") {
      kept.push(`${name} (a ${kind === "dir" ? "folder" : "symbolic link"}: qemu-fleet made a file there)`);
      continue;
    }
    await host.remove(path.posix.join(dir, name));
    removed++;
  }
  const steps = [`removed ${removed} file(s) qemu-fleet made`];
  if (kept.length) steps.push(`kept: ${kept.join(", ")}`);
  steps.push((await host.rmdir(dir)) ? `removed ${dir}` : `kept the folder ${dir}: it still holds what was kept`);
  const userDisks = (rec?.vm.disks ?? []).filter((d) => !d.managed).map((d) => d.path);
  if (userDisks.length) steps.push(`kept the disk(s) given by path: ${userDisks.join(", ")}`);
  return steps;
}
