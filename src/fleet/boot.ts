import path from "node:path";
import { portHolder } from "../apply/launch.js";
import { QfleetError } from "../errors.js";
import { LOCAL } from "../hosts/local.js";
import { imageWant } from "../images/want.js";
import { imageInfo } from "../qemu/img.js";
import { specLabel } from "../spec/store.js";
import { listQemuProcesses } from "../state/processes.js";
import { writeSpec } from "../spec/write.js";
import { loadSpecs } from "./inventory.js";

/**
 * What `qemu_boot_vm` asks for: an image to boot on this machine (a file, or a URL with its
 * digest: exactly one of the two), and the VM's few settings.
 */
export interface BootRequest {
  image?: string;
  imageUrl?: string;
  sha256?: string;
  sha512?: string;
  name?: string;
  sshPort?: number;
  memory?: string;
  cpus?: number;
  arch?: "x86_64" | "aarch64" | "arm64";
  firmware?: "bios" | "uefi";
  /** Boot a copy-on-write overlay (the image is never written). */
  overlay: boolean;
  /** Grow the VM's disk to this size (the overlay, or the image itself without one); growpart grows the root filesystem. */
  diskSize?: string;
  /** "vnc": a screen for screenshots and keys. */
  display?: "none" | "vnc";
  /** The spec's cloud_init (true, false, or a block). */
  cloudInit: boolean | { ssh_authorized_keys?: string[]; user?: string };
}

/** The first SSH port tried when none is asked for. */
export const FIRST_SSH_PORT = 2222;

/** A VM name from an image file name: safe characters only, at most 63. */
export function nameFromImage(image: string): string {
  const base = path
    .basename(image)
    .replace(/\.[^.]*$/, "")
    .replace(/[^A-Za-z0-9._-]+/g, "-")
    .replace(/^[^A-Za-z0-9]+/, "");
  return (base || "vm").slice(0, 63);
}

/** Who holds a TCP port on this machine's 127.0.0.1 ("pid 12 (nginx)", "another process"), or null when it is free. */
async function portBusy(port: number): Promise<string | null> {
  const open = await LOCAL.connectTcp(port).then(
    (s) => (s.destroy(), true),
    () => false,
  );
  if (!open) return null;
  return (await portHolder(LOCAL, port)) ?? "another process";
}

/**
 * Declares a VM that boots an existing image: checks the image, picks the name and a free SSH
 * port (none that a spec claims, a QEMU on this machine forwards, as the plan checks, or a
 * process holds, from FIRST_SSH_PORT up) and writes its
 * spec, changing nothing else. The caller reconciles it. Refuses a name that already has a
 * spec and an asked-for port that is taken, saying by whom.
 */
export async function declareBootVm(dir: string, r: BootRequest): Promise<{ name: string; file: string; port: number }> {
  const disk = await diskOf(dir, r);
  const name = r.name ?? nameFromImage(disk.image !== undefined ? new URL(disk.image).pathname : disk.path!);
  const fleet = await loadSpecs(dir);
  if (fleet.specs.some((s) => s.name === name) || fleet.invalid.includes(name)) {
    throw new QfleetError("EXISTS", `VM ${name} already exists (${specLabel(name)})`, { hint: "pass another name, or use manage_vm to change it" });
  }
  const claimed = new Set(fleet.specs.flatMap((s) => [s.spec.ssh?.port, ...s.spec.forwards.map((f) => f.host)]));
  // a QEMU's forward counts even where a connect finds the port free (a QEMU in another network namespace): the plan would refuse it
  const forwarded = new Map(
    (await listQemuProcesses(LOCAL)).flatMap((p) => p.ports.map((n) => [n, `QEMU pid ${p.pid}${p.name ? ` (${p.name})` : ""}`])),
  );
  let port = r.sshPort;
  if (port === undefined) {
    for (port = FIRST_SSH_PORT; claimed.has(port) || forwarded.has(port) || (await portBusy(port)); port++);
  } else {
    const holder = claimed.has(port) ? "another VM's spec" : (forwarded.get(port) ?? (await portBusy(port)));
    if (holder)
      throw new QfleetError("BUSY", `port ${port} on 127.0.0.1 is already in use by ${holder}`, {
        hint: "pass another ssh_port, or leave it out to pick a free one",
      });
  }
  const { file } = await writeSpec(LOCAL, dir, name, {
    ...(r.arch && { arch: r.arch }),
    ...(r.cpus && { vcpus: r.cpus }),
    ...(r.memory && { memory: r.memory }),
    ...(r.firmware && { firmware: r.firmware }),
    disks: [{ ...disk, ...(r.diskSize && { size: r.diskSize }) }],
    ssh: { port },
    cloud_init: r.cloudInit,
    ...(r.display === "vnc" && { display: "vnc" }),
    state: "running",
  });
  return { name, file, port };
}

/**
 * The spec's disk for the image asked for: a URL with its digest is downloaded at the reconcile
 * (into the image cache, checked); a file is checked here (its format must be bootable without
 * an overlay).
 */
async function diskOf(
  dir: string,
  r: BootRequest,
): Promise<{ path?: string; image?: string; overlay?: true; format?: string; [digest: string]: unknown }> {
  if ((r.image === undefined) === (r.imageUrl === undefined))
    throw new QfleetError("BAD_INPUT", "give image_path (a file on this machine) or image_url (with sha256 or sha512), exactly one");
  if (r.imageUrl !== undefined) {
    const want = imageWant(r.imageUrl, r);
    return { image: want.url, [want.algo]: want.digest, ...(r.overlay && { overlay: true as const }) };
  }
  const image = path.resolve(dir, r.image!);
  const info = await imageInfo(LOCAL, image);
  if (!r.overlay && info.format !== "qcow2" && info.format !== "raw") {
    throw new QfleetError("BAD_INPUT", `${image} is ${info.format}: boot it with overlay: true, or convert it to qcow2 first (qemu_image_convert)`);
  }
  return { path: image, ...(r.overlay ? { overlay: true as const } : { format: info.format }) };
}
