import { QfleetError } from "../errors.js";
import { LOCAL } from "../hosts/local.js";
import type { LoadedSpec } from "../spec/load.js";
import { removeSpec, writeSpec } from "../spec/write.js";
import { humanSize } from "../units.js";
import type { ReconcileResult } from "./reconcile.js";

/**
 * What deleting a declared VM loses, as the question a person is asked before it happens.
 * Refuses a protected VM outright: lifting protection is a separate, deliberate step.
 */
export function deletionQuestion(name: string, spec: LoadedSpec | undefined): string {
  if (spec?.spec.protected)
    throw new QfleetError("REFUSED", `VM ${name} is protected: it is never deleted`, {
      hint: "set protected: false in its spec first (a person's decision)",
    });
  const disks = spec?.spec.disks ?? [];
  const made = disks
    .filter((d) => !d.path || d.overlay)
    .map((d) => (d.overlay ? `an overlay of ${d.path}` : `a ${humanSize(d.size ?? 0)} ${d.format} disk`));
  const kept = disks.filter((d) => d.path && !d.overlay).map((d) => d.path);
  const lost = made.length ? `its disks (${made.join(", ")}) and everything written to them` : "the files qemu-fleet made for it";
  return `Deleting VM ${name} removes ${lost}.${kept.length ? ` Kept: ${kept.join(", ")}.` : ""}`;
}

/**
 * Deletes a declared VM the declarative way, once the person agreed: writes state: absent,
 * reconciles that VM with `reconcileIt` (the caller's, with its progress and failure rule),
 * then removes the spec file. A failed reconcile throws before the spec is removed, so the
 * spec still says what was asked.
 */
export async function deleteVm(
  dir: string,
  name: string,
  reconcileIt: (names: string[]) => Promise<ReconcileResult>,
): Promise<{ steps: string[]; removed_files: string[] }> {
  await writeSpec(LOCAL, dir, name, { state: "absent" });
  const r = await reconcileIt([name]);
  const removed = await removeSpec(LOCAL, dir, name);
  return { steps: r.results[0]?.steps ?? [], removed_files: removed };
}
