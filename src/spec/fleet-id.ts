import { parseDocument } from "yaml";
import type { SpecIssue } from "./issues.js";

/**
 * The identity of a fleet: `fleet.yaml` beside vms/, tracked in git. Every instance a fleet
 * creates records this id as its owner; a fleet plans, changes, prunes and deletes only the
 * instances that carry its id (and adopts those that carry none). Two checkouts of one
 * repository are one fleet; a copied fleet.yaml makes two folders one fleet, which is why the
 * file says not to copy it.
 */
export const FLEET_FILE = "fleet.yaml";

export interface FleetIdentity {
  id: string;
}

const ID_RE = /^[a-z0-9][a-z0-9-]{7,63}$/;

/** The text of a new fleet.yaml for `id`. */
export function fleetFileText(id: string): string {
  return [
    "# The identity of this qemu-fleet. Every VM instance this fleet creates records the id below",
    "# as its owner, and this fleet changes or deletes only instances that carry it: a second fleet",
    "# sharing a vm_dir (such as /var/lib/qemu) cannot touch them, nor this one theirs.",
    "# Keep this file in git. Do not copy it into another fleet: two fleets with one id are one.",
    `id: ${id}`,
    "",
  ].join("\n");
}

/** Parses fleet.yaml. Never throws: a problem comes back as a located issue. */
export function parseFleetFile(text: string): { identity?: FleetIdentity; issues: SpecIssue[] } {
  const doc = parseDocument(text, { uniqueKeys: true });
  const at = (line = 1, col = 1, field = "", message: string) => ({ issues: [{ file: FLEET_FILE, line, col, field, message }] });
  if (doc.errors.length) return at(1, 1, "", `YAML syntax error: ${doc.errors[0].message.split("\n")[0]}`);
  const id = doc.get("id");
  if (typeof id !== "string" || !ID_RE.test(id))
    return at(
      1,
      1,
      "id",
      `expected id: a fleet id of 8-64 lowercase letters, digits and '-' (got ${JSON.stringify(id ?? null)}); delete the file and let qfleet make a new one only if no VM carries the old id`,
    );
  return { identity: { id }, issues: [] };
}

/**
 * How an owner is named in messages: "the fleet at /srv/ops (id 3f2a9c1e7b4d6a80)", with the
 * machine it was last seen on ("ci-7:/srv/ops") when that is not `thisMachine`.
 */
export function describeOwner(o: { id: string; dir?: string; machine?: string }, thisMachine?: string): string {
  const where = o.dir ? ` at ${o.machine && o.machine !== thisMachine ? `${o.machine}:` : ""}${o.dir}` : "";
  return `the fleet${where} (id ${o.id})`;
}
