import type { Accel } from "../qemu/accel.js";
import type { ResolvedVm } from "../spec/defaults.js";
import type { QemuProcess } from "./processes.js";

/**
 * applied.json: what an instance was last launched (or updated offline) with. The plan diffs
 * the spec against `vm`, so a change is only "pending" until it has been applied.
 */
export interface AppliedRecord {
  version: 1;
  vm: ResolvedVm;
  /** sha256 of the canonical JSON of `vm`: the "spec version" that runs. */
  hash: string;
  argv: string[];
  accel: Accel;
  accelReason: string;
  createdAt: string;
  appliedAt: string;
  startedAt?: string;
  /** Host ports the running process really forwards (live updates change them). */
  liveForwards?: string[];
  /** The fleet that owns this instance; absent in records made before ownership existed. */
  owner?: InstanceOwner;
  /**
   * Names (relative to the instance folder) of the files qemu-fleet made there: the only ones
   * a delete removes. Listed BEFORE each is made, so a crash never leaves one of ours unlisted.
   * Absent in older records: see ownedFiles.
   */
  files?: string[];
}

/** Who owns an instance: a fleet id, and where that fleet was last seen (for messages). */
export interface InstanceOwner {
  id: string;
  /** The fleet folder, as last seen. */
  dir: string;
  /** The machine that fleet folder was on (os.hostname()). */
  machine: string;
}

export type Power = "running" | "paused" | "stopped" | "broken";

/** One instance directory on one host, as it really is. */
export interface ActualVm {
  name: string;
  host: string;
  vmDir: string;
  instanceDir: string;
  applied: AppliedRecord | null;
  power: Power;
  /** QMP query-status `status`, when QMP answered. */
  qmpStatus?: string;
  pid?: number;
  /** Why the VM is broken, or notes such as a stale pidfile. */
  reasons: string[];
}

/** Something in a vm_dir at a VM's name that is not an instance: never adopted, never removed. */
export interface Obstacle {
  name: string;
  vmDir: string;
  /** What is in the way, for the refusal: "a folder holding notes.txt, data.raw", "a symbolic link". */
  what: string;
}

export interface HostState {
  host: string;
  vms: ActualVm[];
  /** Entries of the scanned vm_dirs that are not instances (foreign folders, files, symlinks). */
  obstacles?: Obstacle[];
  /** QEMU processes that no instance directory of ours accounts for: listed, never touched. */
  unmanaged: QemuProcess[];
  /** Every QEMU process on the host (for the ports they hold), inspected or not. */
  processes?: QemuProcess[];
  /** Set when the host could not be inspected at all: its VMs are unknown, not orphans. */
  error?: string;
}
