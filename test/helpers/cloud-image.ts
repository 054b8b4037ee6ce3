import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";

/**
 * A stock-like Debian 12 (bookworm) amd64 cloud image built by scripts/build-cloud-image.sh:
 * systemd, cloud-init, OpenSSH, qemu-guest-agent, Debian's cloud kernel, extlinux on one MBR
 * partition. Like a vendor image it has no usable login until cloud-init runs with a datasource:
 * give it a NoCloud seed (a vfat volume labelled `cidata` holding `meta-data` and `user-data`)
 * attached as a second virtio disk (the cloud kernel has no AHCI, so no q35 CD-ROM).
 *
 *   const img = await ensureCloudImage();
 *   // qemu-img create -f qcow2 -b img.path -F qcow2 overlay.qcow2   (never boot img.path itself)
 *   // qemu-system-x86_64 -machine q35 -accel tcg -m 1024 -smp 2
 *   //   -drive file=overlay.qcow2,if=virtio,format=qcow2 -drive file=seed.img,if=virtio,format=raw
 *
 * Built once per machine (about a minute, a ~100 MB .deb download the first time) and cached
 * outside the clone in ${QFLEET_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/qemu-fleet}/cloud-image/
 * <recipe>/, where <recipe> is the first 16 hex digits of the builder's sha256. Needs root.
 */
export interface CloudImage {
  /** Absolute path of the qcow2 image (3 GiB virtual, uncompressed); use it as a backing file. */
  path: string;
  /** Absolute path of manifest.json. */
  manifest: string;
  /** Folder holding both. */
  dir: string;
  /** First 16 hex digits of scripts/build-cloud-image.sh's sha256. */
  recipe: string;
  distribution: "debian";
  release: string;
  suite: string;
  arch: "x86_64";
  debian_arch: "amd64";
  /** e.g. "6.1.0-56-cloud-amd64" */
  kernel_version: string;
  /** The extlinux kernel command line (root=UUID=... ro console=tty0 console=ttyS0,115200). */
  append: string;
  root_fs_uuid: string;
  /**
   * cloud-init's default user ("debian"). No account exists in the image: cloud-init creates it
   * on first boot only when the user-data keeps the `default` entry in `users:` (or has none).
   */
  default_user: string | null;
  /** Virtual disk size in bytes (3 GiB). */
  virtual_size: number;
  /** Size of the qcow2 file in bytes. */
  image_bytes: number;
  root_fs_used_bytes: number;
  built_at: string;
  build_seconds: number;
}

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BUILDER = path.join(REPO_ROOT, "scripts", "build-cloud-image.sh");
let building: Promise<CloudImage> | undefined;

/**
 * Builds the cloud image if this recipe has no complete build yet and returns it. Once per
 * process; across processes the builder's flock makes concurrent callers build once.
 */
export function ensureCloudImage(): Promise<CloudImage> {
  if (!building) {
    building = buildAndRead();
    building.catch(() => {
      building = undefined; // a failed build may be retried
    });
  }
  return building;
}

async function buildAndRead(): Promise<CloudImage> {
  const r = await execa("bash", [BUILDER], {
    cwd: REPO_ROOT,
    reject: false,
    stdin: "ignore",
    timeout: 20 * 60_000,
    // the builder unmounts and detaches its loop device on TERM; give it time before a KILL
    forceKillAfterDelay: 60_000,
  });
  if (r.exitCode !== 0) {
    throw new Error(`bash scripts/build-cloud-image.sh failed (exit ${r.exitCode ?? r.signal}):\n${tail(String(r.stderr ?? ""))}`);
  }
  const manifestPath = String(r.stdout ?? "")
    .trim()
    .split("\n")
    .filter(Boolean)
    .pop();
  if (!manifestPath) throw new Error("scripts/build-cloud-image.sh printed no manifest path");
  return readCloudImageManifest(manifestPath);
}

/** Reads a manifest.json written by the builder and makes its paths absolute. */
export async function readCloudImageManifest(manifestPath: string): Promise<CloudImage> {
  const raw = JSON.parse(await readFile(manifestPath, "utf8")) as Record<string, unknown>;
  const dir = path.dirname(path.resolve(manifestPath));
  if (typeof raw.image !== "string" || raw.image === "") throw new Error(`${manifestPath}: "image" is missing`);
  const { image, paths_relative_to: _rel, format: _format, ...fields } = raw;
  return {
    ...(fields as unknown as Omit<CloudImage, "path" | "manifest" | "dir">),
    path: path.resolve(dir, image),
    manifest: path.resolve(manifestPath),
    dir,
  };
}

function tail(text: string, lines = 30): string {
  return text.trim().split("\n").slice(-lines).join("\n");
}
