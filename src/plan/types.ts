import type { AccelChoice } from "../qemu/accel.js";
import type { ResolvedVm } from "../spec/defaults.js";
import type { Power } from "../state/types.js";

/**
 * A plan is plain serialisable data: one action per VM, with the fields that change and why.
 * It is computed by a pure function and printed, snapshotted or applied as it is.
 */
export type ActionKind =
  | "create"
  | "start"
  | "stop"
  | "update-live"
  | "update-restart"
  | "update-offline"
  | "replace"
  | "delete"
  | "orphan"
  | "refused"
  | "unknown"
  | "noop";

/** How a field change reaches a VM: live through QMP, by a stop/apply/start, or not at all. */
export type ChangeClass = "live" | "restart" | "offline" | "replace" | "refused";

export interface FieldChange {
  field: string;
  from: unknown;
  to: unknown;
  class: ChangeClass;
  note?: string;
}

/** A VM the specs ask for, with the accelerator chosen for it on its host. */
export interface DesiredVm {
  vm: ResolvedVm;
  accel: AccelChoice;
  /** Why QEMU could not launch it as specified on its host (too long a socket path, too many vCPUs): refused before any change. */
  launchProblems?: LaunchProblem[];
  /**
   * The cloud-init seed to write into the instance folder (vm.cloudInit set). `image` makes the
   * bytes when needed: a function, so a plan printed as JSON carries no seed content.
   */
  seed?: { instanceId: string; withFleetKey: boolean; image: () => Buffer };
}

/** Why QEMU would refuse a VM as specified, with the spec field to blame (validate locates it there). */
export interface LaunchProblem {
  field: "vcpus" | "vm_dir" | "cloud_init";
  message: string;
}

/** The fleet a plan is made for: its id (null before its fleet.yaml exists), folder and machine. */
export interface FleetSelf {
  id: string | null;
  dir: string;
  machine: string;
}

export interface Action {
  vm: string;
  host: string;
  kind: ActionKind;
  reason: string;
  changes: FieldChange[];
  desired?: DesiredVm;
  /** What was found: enough for executors and for the rendered plan. */
  actual?: { power: Power; pid?: number; instanceDir: string; protected: boolean; hash?: string; owned?: boolean };
  /** For update-offline/stop/start: the power state the VM ends in. */
  finalState?: "running" | "stopped";
}

export interface Plan {
  actions: Action[];
  /** Count of actions per kind, noop included. */
  summary: Partial<Record<ActionKind, number>>;
}

/** A VM started less than this long ago may still be in firmware or early boot, where ACPI is ignored. */
export const BOOT_WINDOW_MS = 180_000;

/** Kinds that mean the spec cannot be made true now: a run with one of them has failed. */
export const FAILED_KINDS: ReadonlySet<ActionKind> = new Set(["refused", "unknown"]);

/** Kinds that change something when applied. */
export const CHANGING_KINDS: ReadonlySet<ActionKind> = new Set([
  "create",
  "start",
  "stop",
  "update-live",
  "update-restart",
  "update-offline",
  "replace",
  "delete",
]);
