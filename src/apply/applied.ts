import { createHash } from "node:crypto";
import { QfleetError } from "../errors.js";
import type { Host } from "../hosts/host.js";
import type { AccelChoice } from "../qemu/accel.js";
import type { ResolvedVm } from "../spec/defaults.js";
import { describeOwner } from "../spec/fleet-id.js";
import { instancePaths, ownedFiles } from "../state/paths.js";
import type { AppliedRecord, InstanceOwner } from "../state/types.js";

/** sha256 (first 12 hex) of the canonical JSON of a resolved VM: the spec version that runs. */
export function specHash(vm: ResolvedVm): string {
  return createHash("sha256").update(canonical(vm)).digest("hex").slice(0, 12);
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined && k !== "file")
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

export interface RecordFields {
  /** The fleet acting: recorded as the owner (adopting a record that has none). */
  owner: InstanceOwner;
  argv?: string[];
  startedAt?: string;
  previous?: AppliedRecord | null;
  /** More file names qemu-fleet is about to make in the folder (added to the record's list). */
  claim?: string[];
}

/**
 * Writes applied.json atomically (mode 0600): `vm` as the configuration now applied, keeping
 * createdAt, startedAt and the list of files qemu-fleet made from an earlier record (an older
 * record's list is derived, see ownedFiles), plus `claim`.
 */
export async function writeApplied(host: Host, vm: ResolvedVm, accel: AccelChoice, f: RecordFields): Promise<AppliedRecord> {
  const now = new Date().toISOString();
  const prev = f.previous;
  const files = new Set([...(prev ? ownedFiles(prev) : []), ...(f.claim ?? [])]);
  const startedAt = f.startedAt ?? prev?.startedAt;
  const rec: AppliedRecord = {
    version: 1,
    vm,
    hash: specHash(vm),
    argv: f.argv ?? prev?.argv ?? [],
    accel: accel.accel,
    accelReason: accel.reason,
    createdAt: prev?.createdAt ?? now,
    appliedAt: now,
    ...(startedAt && { startedAt }),
    ...(prev?.liveForwards && { liveForwards: prev.liveForwards }),
    owner: f.owner,
    files: [...files].sort(),
  };
  await host.writeFile(instancePaths(vm.instanceDir).applied, JSON.stringify(rec, null, 2) + "\n", { mode: 0o600 });
  return rec;
}

/**
 * Adds `names` to the record's list of files qemu-fleet made, changing nothing else: called
 * before those files are made, so a crash never leaves one of ours unlisted (and a failed
 * change never looks applied).
 */
export async function claimFiles(host: Host, rec: AppliedRecord, names: string[], owner: InstanceOwner): Promise<AppliedRecord> {
  const have = ownedFiles(rec);
  if (names.every((n) => have.has(n)) && rec.owner?.id === owner.id) return rec;
  const next: AppliedRecord = { ...rec, owner, files: [...new Set([...have, ...names])].sort() };
  await host.writeFile(instancePaths(rec.vm.instanceDir).applied, JSON.stringify(next, null, 2) + "\n", { mode: 0o600 });
  return next;
}

/** The record, or null when there is none (or it cannot be parsed). */
export async function readApplied(host: Host, instanceDir: string): Promise<AppliedRecord | null> {
  try {
    return JSON.parse(await host.readFile(instancePaths(instanceDir).applied)) as AppliedRecord;
  } catch {
    return null;
  }
}

/** Refuses to act on an instance another fleet took meanwhile (the plan was made without it). */
export function assertOwner(rec: AppliedRecord | null, owner: InstanceOwner): void {
  if (rec?.owner && rec.owner.id !== owner.id)
    throw new QfleetError("REFUSED", `${rec.vm.instanceDir} is owned by ${describeOwner(rec.owner, owner.machine)}: not changed`);
}
