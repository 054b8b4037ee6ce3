import { QfleetError } from "../errors.js";
import type { Host } from "../hosts/host.js";
import type { ResolvedDisk } from "../spec/defaults.js";
import type { ActualVm, AppliedRecord } from "../state/types.js";
import type { Inventory } from "./inventory.js";

/** A VM of this fleet whose disks can all hold internal snapshots. */
export interface SnapshotTarget {
  name: string;
  host: Host;
  actual: ActualVm;
  record: AppliedRecord;
  /** Every writable disk, from the record (the configuration that runs, not the spec's). */
  disks: ResolvedDisk[];
}

/** Letters, digits, . _ -, starting with a letter or digit; never all digits (qemu-img would take it for a snapshot ID). */
const TAG_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function checkTag(tag: string | undefined): string {
  if (!tag) throw new QfleetError("BAD_INPUT", "a snapshot tag is needed for create, revert and delete");
  if (!TAG_RE.test(tag) || /^[0-9]+$/.test(tag)) {
    throw new QfleetError(
      "BAD_INPUT",
      `bad snapshot tag "${tag}": letters, digits, . _ -, at most 64, starting with a letter or digit, not all digits`,
    );
  }
  return tag;
}

/**
 * The VM `name` as snapshots see it, among `vms` (discovered instances): this fleet's (or one
 * with no owner recorded), with a record. REFUSED, before anything changes, when a disk cannot
 * hold internal snapshots (raw) or when a disk given by path is shared: another spec on the same
 * host uses that path (as its disk, or as an overlay's base), so a revert would change it under
 * that VM. An overlay is the VM's own; its base is never touched.
 */
export function snapshotTarget(inv: Inventory, name: string, vms: ActualVm[] = inv.hosts.flatMap((h) => h.vms)): SnapshotTarget {
  const hostErr = inv.hosts.find((h) => inv.desired.some((d) => d.vm.name === name && d.vm.host === h.host) && h.error)?.error;
  if (hostErr) throw new QfleetError("CONNECTION", `the host of ${name} could not be reached: ${hostErr}`);
  const actual = vms.find((v) => v.name === name && (!v.applied?.owner || v.applied.owner.id === inv.self.id));
  if (!actual?.applied) throw new QfleetError("NOT_FOUND", `no VM named ${name} in this fleet`, { hint: "qfleet list shows the VMs there are" });
  const record = actual.applied;
  const disks = record.vm.disks;
  if (!disks.length) throw new QfleetError("REFUSED", `VM ${name} has no disks: there is nothing to snapshot`);
  for (const d of disks) {
    if (d.format !== "qcow2") {
      throw new QfleetError(
        "REFUSED",
        `disk ${d.index} (${d.format}) cannot hold internal snapshots: convert it to qcow2 (qemu_image_convert) or give it overlay: true`,
        { hint: `VM ${name}: ${d.path}` },
      );
    }
    const other = d.managed ? undefined : sharerOf(inv, name, record.vm.host, d.path);
    if (other) {
      throw new QfleetError(
        "REFUSED",
        `disk ${d.index} (${d.path}) is shared with VM ${other}: a snapshot, above all a revert, would change it under that VM`,
        {
          hint: "give the disk overlay: true in each spec, so each VM writes its own overlay and snapshots that",
        },
      );
    }
  }
  return { name, host: inv.registry.get(actual.host), actual, record, disks };
}

/** Another spec on `host` whose disks use `path` (as a disk or as an overlay's base). */
function sharerOf(inv: Inventory, name: string, host: string, path: string): string | undefined {
  return inv.fleet.specs.find((s) => s.name !== name && s.spec.host === host && s.spec.disks.some((d) => d.path === path))?.name;
}
