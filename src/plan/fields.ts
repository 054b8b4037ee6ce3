import { hostForwards } from "../qemu/argv.js";
import type { ResolvedVm } from "../spec/defaults.js";
import type { ChangeClass, FieldChange } from "./types.js";

/**
 * Pure: the field-by-field difference between the configuration an instance has (applied)
 * and the one its spec asks for, each change classified by how it can reach the VM.
 * Contract: anything that would lose data is "refused" (disk shrink, dropping a disk's
 * backing image); arch, firmware and disk identity changes are "replace"; what QMP can
 * change on a running VM (ISO media, port forwards, protection) is "live"; the rest needs a
 * stop/apply/start ("restart"). Accelerator changes compare the accelerator actually chosen.
 */
export function diffFields(from: ResolvedVm, fromAccel: string, to: ResolvedVm, toAccel: string): FieldChange[] {
  const out: FieldChange[] = [];
  const cmp = (field: string, a: unknown, b: unknown, cls: ChangeClass, note?: string) => {
    if (JSON.stringify(a) !== JSON.stringify(b)) out.push({ field, from: a, to: b, class: cls, ...(note && { note }) });
  };
  cmp("arch", from.arch, to.arch, "replace");
  cmp("firmware", from.firmware, to.firmware, "replace");
  cmp("vcpus", from.vcpus, to.vcpus, "restart");
  cmp("memory", from.memory, to.memory, "restart");
  cmp("accel", fromAccel, toAccel, "restart");
  cmp("boot", from.boot ?? null, to.boot ?? null, "restart");
  cmp("iso", from.iso ?? null, to.iso ?? null, "live");
  cmp("forwards", hostForwards(from), hostForwards(to), "live");
  cmp("protected", from.protected, to.protected, "live");
  cmp("display", from.display ?? "none", to.display ?? "none", "restart");
  cmp(
    "cloud_init",
    from.cloudInit ?? null,
    to.cloudInit ?? null,
    "restart",
    "a new seed: cloud-init runs its per-instance steps again at the next boot",
  );
  const n = Math.max(from.disks.length, to.disks.length);
  for (let i = 0; i < n; i++) {
    const a = from.disks[i];
    const b = to.disks[i];
    const field = `disks.${i}`;
    if (!a) {
      const note = b.managed
        ? "new disk, created before the next start"
        : b.size !== undefined
          ? "attached at the next start (created if missing)"
          : "attached at the next start";
      cmp(field, null, describeDisk(b), "restart", note);
      continue;
    }
    if (!b) {
      cmp(field, describeDisk(a), null, "restart", a.managed ? "detached; its file stays in the instance directory" : "detached; the file is kept");
      continue;
    }
    const source = (d: typeof a) => (d.image ? `${d.image.algo}:${d.image.digest}` : null);
    if (a.path !== b.path || a.format !== b.format || (a.base ?? null) !== (b.base ?? null) || source(a) !== source(b)) {
      cmp(field, describeDisk(a), describeDisk(b), "replace", "a different disk: the old one's data would not follow");
      continue;
    }
    if (b.size !== undefined && a.size !== undefined && b.size < a.size) {
      cmp(`${field}.size`, a.size, b.size, "refused", "disks are never shrunk: that loses data");
    } else if (b.size !== undefined && b.size !== a.size) {
      cmp(`${field}.size`, a.size ?? null, b.size, "restart", "grown with qemu-img resize while stopped");
    }
  }
  return out;
}

function describeDisk(d: ResolvedVm["disks"][number]): Record<string, unknown> {
  const image = d.image && { image: d.image.url, digest: `${d.image.algo}:${d.image.digest.slice(0, 16)}` };
  return { path: d.path, format: d.format, ...image, ...(d.base && { base: d.base }), ...(d.size !== undefined && { size: d.size }) };
}
