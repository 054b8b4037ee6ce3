import path from "node:path";
import type { ResolvedVm } from "../spec/defaults.js";
import type { AppliedRecord } from "./types.js";

/**
 * The files of one instance directory (`<vm_dir>/<name>/`). Pure: POSIX paths, valid on any
 * host. Unix socket paths are limited to 107 bytes + NUL by the kernel (sun_path is 108).
 */
export interface InstancePaths {
  dir: string;
  applied: string;
  pidfile: string;
  qmp: string;
  /** A second QMP monitor that one long-lived qfleet process holds for events (state/held-qmp.ts). */
  qmpHeld: string;
  serial: string;
  uefiVars: string;
  /** The guest agent's channel (virtio-serial org.qemu.guest_agent.0). */
  qga: string;
  /** The cloud-init NoCloud seed (a small FAT disk labelled cidata). */
  seed: string;
  /** The serial console's socket (one client at a time); everything the guest prints also goes to `serial`. */
  console: string;
  /** The VNC server's socket, for display: vnc (never a TCP port). */
  vnc: string;
}

export const MAX_SOCKET_PATH = 107;

/** The record that makes a folder an instance (and says who owns it and which files are ours). */
export const RECORD_FILE = "applied.json";

export function instancePaths(instanceDir: string): InstancePaths {
  const j = (f: string) => path.posix.join(instanceDir, f);
  return {
    dir: instanceDir,
    applied: j(RECORD_FILE),
    pidfile: j("qemu.pid"),
    qmp: j("qmp.sock"),
    qmpHeld: j("qmp2.sock"),
    serial: j("serial.log"),
    uefiVars: j("uefi-vars.fd"),
    qga: j("qga.sock"),
    seed: j("seed.img"),
    console: j("console.sock"),
    vnc: j("vnc.sock"),
  };
}

/** Files every instance has or may have once QEMU ran: listed as ours when it is created. */
export const BASE_FILES = [RECORD_FILE, "qemu.pid", "qmp.sock", "qmp2.sock", "qga.sock", "console.sock", "serial.log"];

/** Names of every file qemu-fleet makes for `vm` in its instance folder (claimed before made). */
export function filesFor(vm: Pick<ResolvedVm, "firmware" | "disks" | "instanceDir" | "cloudInit" | "display">): string[] {
  const p = instancePaths(vm.instanceDir);
  return [
    ...BASE_FILES,
    ...(vm.firmware === "uefi" ? [path.posix.basename(p.uefiVars)] : []),
    ...(vm.cloudInit ? [path.posix.basename(p.seed)] : []),
    ...(vm.display === "vnc" ? [path.posix.basename(p.vnc)] : []),
    ...vm.disks.filter((d) => d.managed && path.posix.dirname(d.path) === vm.instanceDir).map((d) => path.posix.basename(d.path)),
  ];
}

/**
 * Scratch files qemu-fleet makes while it works, under names only it generates: the record's
 * atomic-write temp files, the monitor's packet dumps (`qfmon-<machine>-<pid>-...pcap`) and
 * screenshots on their way out (`.qfleet-screen-<random>.ppm`).
 * Ours whether or not the record lists them; everything else in the folder is ours only if listed.
 */
const SCRATCH_RE = /^(\.applied\.json\.[0-9]+\.[0-9]+\.tmp|qfmon-[0-9a-f]{6}-[0-9]+-[A-Za-z0-9._-]+\.pcap|\.qfleet-screen-[0-9a-f]{12}\.ppm)$/;
export const isScratchFile = (name: string) => SCRATCH_RE.test(name);

/**
 * Names of the files qemu-fleet made in an instance folder, from its record: the list itself,
 * or for a record written before the list existed, what qemu-fleet always made (the base
 * files, the UEFI variable store, the disks it created there). Never a disk given by `path:`.
 */
export function ownedFiles(rec: Pick<AppliedRecord, "vm" | "files">): Set<string> {
  const dir = rec.vm.instanceDir;
  const userDisks = new Set(rec.vm.disks.filter((d) => !d.managed).map((d) => d.path));
  return new Set((rec.files ?? filesFor(rec.vm)).filter((n) => !userDisks.has(path.posix.join(dir, n))));
}

/** A message when the QMP socket path is too long for the OS, else null. */
export function socketPathProblem(p: InstancePaths): string | null {
  const longest = [p.qmp, p.qmpHeld, p.qga, p.console, p.vnc].sort((a, b) => Buffer.byteLength(b) - Buffer.byteLength(a))[0];
  const len = Buffer.byteLength(longest);
  if (len <= MAX_SOCKET_PATH) return null;
  return `the socket path ${longest} is ${len} bytes; unix sockets allow at most ${MAX_SOCKET_PATH}. Use a shorter vm_dir (spec vm_dir, hosts.yaml vm_dir or QFLEET_VM_DIR)`;
}
