import type { Host } from "../hosts/host.js";
import { imgSnapshots } from "../qemu/img-snapshot.js";
import type { ResolvedDisk } from "../spec/defaults.js";
import { humanSize } from "../units.js";

/** One snapshot tag of a VM, as its disks hold it. */
export interface SnapshotEntry {
  tag: string;
  /** ISO 8601: when it was taken (the earliest date over its disks). */
  date: string;
  /** Bytes of saved RAM and device state; 0 for a disk-only snapshot (taken while stopped). */
  vm_state_size: number;
  vm_state_size_human: string;
  /** Whether RAM was saved with it (vm_state_size > 0): only such a snapshot can be reverted while running. */
  ram: boolean;
  /** Indexes of the disks that hold the tag. */
  disks: number[];
  /** On every disk of the VM: only a complete snapshot can be reverted. */
  complete: boolean;
  /** The disk holding the saved RAM, when there is any. */
  vmstate_disk?: number;
}

/**
 * Every snapshot tag on a VM's disks, merged by tag (sorted by date, then tag). Reads each
 * image with force-share, so it works while the VM runs. Tags are compared by name, never ID.
 */
export async function listSnapshots(host: Host, disks: ResolvedDisk[]): Promise<SnapshotEntry[]> {
  const perDisk = await Promise.all(disks.map(async (d) => ({ index: d.index, snaps: await imgSnapshots(host, d.path) })));
  const byTag = new Map<string, SnapshotEntry>();
  for (const { index, snaps } of perDisk) {
    for (const s of snaps) {
      const e = byTag.get(s.name) ?? { tag: s.name, date: s.date, vm_state_size: 0, vm_state_size_human: "", ram: false, disks: [], complete: false };
      e.disks.push(index);
      if (s.date < e.date) e.date = s.date;
      if (s["vm-state-size"] > e.vm_state_size) {
        e.vm_state_size = s["vm-state-size"];
        e.vmstate_disk = index;
      }
      byTag.set(s.name, e);
    }
  }
  const all = [...byTag.values()].map((e) => ({
    ...e,
    vm_state_size_human: humanSize(e.vm_state_size),
    ram: e.vm_state_size > 0,
    complete: disks.every((d) => e.disks.includes(d.index)),
  }));
  return all.sort((a, b) => a.date.localeCompare(b.date) || a.tag.localeCompare(b.tag));
}

/** "disk 0" / "disks 0, 1": for messages. */
export const diskWords = (indexes: number[]): string => `${indexes.length === 1 ? "disk" : "disks"} ${indexes.join(", ")}`;
