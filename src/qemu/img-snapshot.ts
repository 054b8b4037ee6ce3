import type { Host } from "../hosts/host.js";
import { qemuEscape } from "./argv.js";
import { imgFailure, runImg, runImgOk } from "./img-errors.js";
import { parseInfoJson, type SnapshotInfo } from "./img-parse.js";

/**
 * Internal qcow2 snapshots of one image file with qemu-img. Contracts:
 * - `imgSnapshots` reads with force-share (-U), so it works while a VM holds the image (what it
 *   reads is the snapshot table as last written; qemu-fleet changes it only under the VM's lock);
 * - `imgSnapshot` changes the image and needs it unused (a running VM's lock makes it BUSY);
 * - tags are matched by name by the caller; qemu-img also matches IDs, so callers never pass
 *   an all-digit tag.
 */
export async function imgSnapshots(host: Host, path: string): Promise<SnapshotInfo[]> {
  const args = ["info", "-U", "--output=json", path];
  const r = await runImg(host, args);
  if (r.exitCode !== 0) throw imgFailure(["qemu-img", ...args], r, path);
  return parseInfoJson(r.stdout).snapshots ?? [];
}

const FLAG = { create: "-c", apply: "-a", delete: "-d" } as const;

/**
 * `qemu-img snapshot -c|-a|-d TAG` on a qcow2 image. qemu-img snapshot takes no -f: the format
 * is named through --image-opts, so a file is never probed into another format.
 */
export async function imgSnapshot(host: Host, path: string, op: keyof typeof FLAG, tag: string, timeoutMs = 15 * 60_000): Promise<void> {
  await runImgOk(host, ["snapshot", "--image-opts", FLAG[op], tag, `driver=qcow2,file.filename=${qemuEscape(path)}`], path, { timeoutMs });
}
