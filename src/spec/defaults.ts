import { posix } from "node:path";
import { cachedImageName, type DigestAlgo } from "./disk.js";
import type { Accel, Arch } from "./fields.js";
import type { VmSpec } from "./schema.js";

/** The login user cloud-init creates when the spec names none. */
export const DEFAULT_CLOUD_USER = "qfleet";

/** Where instance folders live when neither the spec, the host nor $QFLEET_VM_DIR says. */
export const DEFAULT_VM_DIR = "/var/lib/qemu";

/**
 * One disk as QEMU will see it. Contracts:
 * - `managed: true` means qemu-fleet owns the file (inside instanceDir; deleted with the VM);
 *   `managed: false` is the user's own image, used in place and never deleted.
 * - `base` is set only for overlays: `path` is a qcow2 overlay backed by `base`, which is
 *   never opened for writing.
 * - `size` (bytes) creates the image when missing and grows it, never shrinks.
 * - `image` is set for a disk made from a URL: `image.cached` is where the verified image lies in
 *   the image cache ON THE VM'S HOST (named by its digest, never written). With an overlay,
 *   `base` is that path; without one, `path` is the VM's own copy, made from it when missing.
 */
export interface ResolvedDisk {
  index: number;
  path: string;
  format: "qcow2" | "raw";
  size?: number;
  base?: string;
  managed: boolean;
  image?: ResolvedImage;
}

/** An image a disk is made from: its URL, its digest (lower-case hex) and its path in the VM host's image cache. */
export interface ResolvedImage {
  url: string;
  algo: DigestAlgo;
  digest: string;
  cached: string;
}

/** The image cache folder named in plans of hosts that could not be asked for theirs. */
export const IMAGE_CACHE_PLACEHOLDER = "~/.cache/qemu-fleet/images";

/** A spec with every default filled in: what `create`/`start` run and plan compares. */
export interface ResolvedVm {
  name: string;
  host: string;
  arch: Arch;
  vcpus: number;
  memory: number;
  state: "running" | "stopped" | "absent";
  disks: ResolvedDisk[];
  iso?: string;
  boot?: { kernel: string; initrd?: string; append?: string };
  /**
   * "uefi": UEFI pflash firmware (+ a per-VM variable store). "bios": no pflash — SeaBIOS on
   * x86_64; on aarch64 it means direct kernel boot with no firmware at all (the resolved
   * value for aarch64 specs with `boot` and no explicit firmware).
   */
  firmware: "bios" | "uefi";
  accel: Accel;
  ssh?: { port: number };
  forwards: { host: number; guest: number; proto: "tcp" | "udp" }[];
  protected: boolean;
  /**
   * The cloud-init seed qemu-fleet makes (absent: none). `instanceId` names the seed's content
   * (user, keys, user_data, the fleet's key): it changes exactly when the seed must be made again.
   */
  cloudInit?: { user: string; keys: string[]; userData?: string; instanceId?: string };
  /** "vnc": a graphics card and a VNC server on a unix socket (never TCP); absent means none. */
  display?: "vnc";
  vmDir: string;
  instanceDir: string;
  file?: string;
}

export interface ResolveContext {
  /** The arch of the machine the VM runs on (the default guest arch). */
  hostArch: Arch;
  /** hosts.yaml `vm_dir` of the VM's host. */
  hostVmDir?: string;
  /** $QFLEET_VM_DIR, read by the caller (this module reads no environment). */
  envVmDir?: string;
  /** The spec file, carried along for messages. */
  file?: string;
  /** The image cache folder on the VM's host (absolute), for disks given by `image:`. */
  imageCache?: string;
}

/**
 * Pure: fills the machine-dependent defaults of a parsed spec (from loadFleet, so its paths
 * are absolute and `name` is set). vm_dir: spec > host > env > DEFAULT_VM_DIR.
 */
export function resolveVm(spec: VmSpec, ctx: ResolveContext): ResolvedVm {
  if (!spec.name) throw new Error("resolveVm: spec.name is unset (specs from loadFleet always have it)");
  const arch = spec.arch ?? ctx.hostArch;
  const vmDir = spec.vm_dir || ctx.hostVmDir || ctx.envVmDir || DEFAULT_VM_DIR;
  const instanceDir = posix.join(vmDir, spec.name);
  const firmware = spec.firmware ?? (arch === "aarch64" && !spec.boot ? "uefi" : "bios");
  return {
    name: spec.name,
    host: spec.host,
    arch,
    vcpus: spec.vcpus,
    memory: spec.memory,
    state: spec.state,
    disks: spec.disks.map((d, index) => resolveDisk(d, index, instanceDir, ctx.imageCache ?? IMAGE_CACHE_PLACEHOLDER)),
    ...(spec.iso !== undefined && { iso: spec.iso }),
    ...(spec.boot && { boot: { ...spec.boot } }),
    firmware,
    accel: spec.accel,
    ...(spec.ssh && { ssh: { port: spec.ssh.port } }),
    forwards: spec.forwards.map((f) => ({ host: f.host, guest: f.guest, proto: f.proto })),
    protected: spec.protected,
    ...(spec.cloud_init && { cloudInit: cloudInitOf(spec.cloud_init) }),
    ...(spec.display === "vnc" && { display: "vnc" as const }),
    vmDir,
    instanceDir,
    ...(ctx.file !== undefined && { file: ctx.file }),
  };
}

function cloudInitOf(c: NonNullable<VmSpec["cloud_init"]>): NonNullable<ResolvedVm["cloudInit"]> {
  if (c === true) return { user: DEFAULT_CLOUD_USER, keys: [] };
  if (c === false) throw new Error("cloudInitOf: false means no seed");
  return { user: c.user, keys: [...c.ssh_authorized_keys], ...(c.user_data !== undefined && { userData: c.user_data }) };
}

function resolveDisk(d: VmSpec["disks"][number], index: number, instanceDir: string, imageCache: string): ResolvedDisk {
  const size = d.size !== undefined ? { size: d.size } : {};
  if (d.image !== undefined) {
    const [algo, digest] = d.sha512 !== undefined ? (["sha512", d.sha512] as const) : (["sha256", d.sha256!] as const);
    const image: ResolvedImage = { url: d.image, algo, digest, cached: posix.join(imageCache, cachedImageName(algo, digest)) };
    if (d.overlay)
      return {
        index,
        path: posix.join(instanceDir, `disk${index}-overlay.qcow2`),
        format: "qcow2",
        ...size,
        base: image.cached,
        managed: true,
        image,
      };
    return { index, path: posix.join(instanceDir, `disk${index}.${d.format}`), format: d.format, ...size, managed: true, image };
  }
  if (d.overlay && d.path !== undefined)
    return { index, path: posix.join(instanceDir, `disk${index}-overlay.qcow2`), format: "qcow2", ...size, base: d.path, managed: true };
  if (d.path !== undefined) return { index, path: d.path, format: d.format, ...size, managed: false };
  return { index, path: posix.join(instanceDir, `disk${index}.${d.format}`), format: d.format, ...size, managed: true };
}
