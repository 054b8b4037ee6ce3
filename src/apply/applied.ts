import { createHash } from "node:crypto";
import type { Host } from "../hosts/host.js";
import type { AccelChoice } from "../qemu/accel.js";
import type { ResolvedVm } from "../spec/defaults.js";
import { instancePaths } from "../state/paths.js";
import type { AppliedRecord } from "../state/types.js";

/** sha256 (first 12 hex) of the canonical JSON of a resolved VM: the spec version that runs. */
export function specHash(vm: ResolvedVm): string {
  return createHash("sha256").update(canonical(vm)).digest("hex").slice(0, 12);
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).filter((k) => o[k] !== undefined && k !== "file").sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

/** Writes applied.json atomically (mode 0600), keeping createdAt from an earlier record. */
export async function writeApplied(
  host: Host,
  vm: ResolvedVm,
  accel: AccelChoice,
  fields: { argv?: string[]; startedAt?: string; previous?: AppliedRecord | null },
): Promise<AppliedRecord> {
  const now = new Date().toISOString();
  const rec: AppliedRecord = {
    version: 1,
    vm,
    hash: specHash(vm),
    argv: fields.argv ?? fields.previous?.argv ?? [],
    accel: accel.accel,
    accelReason: accel.reason,
    createdAt: fields.previous?.createdAt ?? now,
    appliedAt: now,
    ...(fields.startedAt ? { startedAt: fields.startedAt } : fields.previous?.startedAt ? { startedAt: fields.previous.startedAt } : {}),
  };
  await host.writeFile(instancePaths(vm.instanceDir).applied, JSON.stringify(rec, null, 2) + "\n", { mode: 0o600 });
  return rec;
}

export async function readApplied(host: Host, instanceDir: string): Promise<AppliedRecord | null> {
  try {
    return JSON.parse(await host.readFile(instancePaths(instanceDir).applied)) as AppliedRecord;
  } catch {
    return null;
  }
}
