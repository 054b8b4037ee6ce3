import { LOCAL } from "../hosts/local.js";
import { CHANGING_KINDS, type Plan } from "../plan/types.js";
import { FLEET_FILE } from "../spec/fleet-id.js";
import { PRIVATE_DIR } from "../spec/store.js";
import { ensureFleetIdentity } from "../spec/write.js";
import { ensureFleetKey } from "./fleet-key.js";
import type { Inventory } from "./inventory.js";
import { withSeed } from "./seed.js";

/**
 * What a fleet makes for itself on first need, before its first change: its identity
 * (fleet.yaml, recorded as the owner of what it creates) and, when a VM with a cloud-init seed
 * is about to change, its SSH key (.qfleet/, listed in .gitignore). Updates `inv` in place (the
 * identity, the seeds that now carry the key) and returns a note per file made, for the person
 * to commit or keep. Returns true in `changed` when the plan must be made again.
 */
export async function prepareFleetFiles(inv: Inventory, plan: Plan): Promise<{ notes: string[]; changed: boolean }> {
  const changing = plan.actions.filter((a) => CHANGING_KINDS.has(a.kind));
  const notes: string[] = [];
  let changed = false;
  if (inv.self.id === null && changing.length) {
    const made = await ensureFleetIdentity(LOCAL, inv.fleet.dir);
    inv.self.id = made.identity.id;
    changed = true;
    if (made.created)
      notes.push(`created ${FLEET_FILE}: this fleet's identity (id ${made.identity.id}), recorded as the owner of its VMs; commit it to git`);
  }
  if (changing.some((a) => a.desired?.seed && !a.desired.seed.withFleetKey)) {
    const key = await ensureFleetKey(inv.fleet.dir);
    if (key.created) notes.push(`created ${PRIVATE_DIR}/id_ed25519: this fleet's SSH key for its guests (kept out of git by .gitignore)`);
    for (const d of inv.desired.filter((x) => x.seed)) {
      const { vm, seed } = await withSeed(inv.fleet.dir, d.vm);
      Object.assign(d, { vm, seed });
    }
    changed = true;
  }
  return { notes, changed };
}
