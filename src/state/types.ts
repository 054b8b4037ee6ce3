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

export interface HostState {
  host: string;
  vms: ActualVm[];
  /** QEMU processes that no instance directory of ours accounts for: listed, never touched. */
  unmanaged: QemuProcess[];
  /** Set when the host could not be inspected at all: its VMs are unknown, not orphans. */
  error?: string;
}
