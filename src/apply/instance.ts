import path from "node:path";
import { QfleetError } from "../errors.js";
import type { Host } from "../hosts/host.js";
import { RECORD_FILE } from "../state/paths.js";

/**
 * The guards that keep qemu-fleet inside its own files. Contracts:
 * - an instance folder is made by qemu-fleet (0700) or is one it made before (holds its
 *   record); an existing folder that is not empty and holds no record is refused, never adopted;
 *   a symbolic link in its place is refused, never followed;
 * - no file qemu-fleet writes in an instance folder is a symbolic link: checked (lstat, never
 *   following) before anything is written.
 */
export async function makeInstanceDir(host: Host, vmDir: string, dir: string): Promise<"made" | "existed"> {
  await host.mkdir(vmDir, { mode: 0o755 });
  const st = await host.lstat(dir);
  if (!st) {
    await host.mkdir(dir, { mode: 0o700 });
    return "made";
  }
  if (st.kind === "symlink") throw refusal(`${dir} is a symbolic link: qemu-fleet never follows one in place of an instance folder`);
  if (st.kind !== "dir") throw refusal(`${dir} exists and is not a folder`);
  const inside = await host.list(dir);
  if (inside.length && !inside.includes(RECORD_FILE)) {
    const shown = inside.sort().slice(0, 5).join(", ") + (inside.length > 5 ? ` and ${inside.length - 5} more` : "");
    throw refusal(`${dir} already exists and holds ${shown}, but no ${RECORD_FILE}: it is not an instance qemu-fleet made, so it is not used`);
  }
  return "existed";
}

/** Throws REFUSED when any of `names` in `dir` is a symbolic link. */
export async function refuseSymlinks(host: Host, dir: string, names: string[]): Promise<void> {
  const kinds = await Promise.all(names.map(async (n) => [n, (await host.lstat(path.posix.join(dir, n)))?.kind] as const));
  const links = kinds.filter(([, k]) => k === "symlink").map(([n]) => n);
  if (links.length)
    throw new QfleetError(
      "REFUSED",
      `${links.join(", ")} in ${dir} ${links.length > 1 ? "are symbolic links" : "is a symbolic link"}: qemu-fleet never follows a link in an instance folder, so nothing was written`,
      {
        hint: "remove the link; if it points at an image you want this VM to use, give that image as a disk path: instead",
      },
    );
}

const refusal = (message: string) => new QfleetError("REFUSED", message, { hint: "move it away, or give the VM another name or vm_dir" });
