import type { Inventory } from "./inventory.js";
import { ownershipOf } from "../plan/diff.js";
import { describeOwner } from "../spec/fleet-id.js";
import { humanSize } from "../units.js";

export interface ListedVm {
  name: string;
  host: string;
  arch: string;
  vcpus: number;
  memory: string;
  memory_bytes: number;
  disk: string;
  disks: { path: string; format: string; size?: number; base?: string }[];
  /** running | paused | stopped | broken | not-created | invalid-spec | orphan (own, no spec); another fleet's instance shows its power */
  status: string;
  pid?: number;
  ssh_port?: number;
  managed: true;
  /** Set for an instance this fleet did not make: who owns it, or "no owner recorded" (made before ownership). */
  owner?: string;
}

export interface ListedProcess {
  pid: number;
  name?: string;
  host: string;
  arch?: string;
  ports: number[];
  status: "running";
  managed: false;
}

export interface ListFilter {
  status?: "running" | "stopped" | "all";
  arch?: string;
  name?: string;
  host?: string;
}

/** Every declared VM (and orphaned instance) with its real status, plus unmanaged QEMUs. */
export function listVms(inv: Inventory, f: ListFilter = {}): { vms: ListedVm[]; unmanaged: ListedProcess[] } {
  const actual = inv.hosts.flatMap((h) => h.vms);
  const vms: ListedVm[] = [];
  const seen = new Set<string>();
  for (const { vm } of inv.desired) {
    const a = actual.find((x) => x.host === vm.host && x.instanceDir === vm.instanceDir);
    if (a) seen.add(a.instanceDir);
    const hostErr = inv.hosts.find((h) => h.host === vm.host)?.error;
    vms.push(row(vm, hostErr ? "unknown" : a ? a.power : "not-created", a?.pid));
  }
  for (const a of actual) {
    if (seen.has(a.instanceDir) || !a.applied) continue;
    const ownership = ownershipOf(a, inv.self);
    const owner =
      ownership === "foreign" ? describeOwner(a.applied.owner!, inv.self.machine) : ownership === "unowned" ? "no owner recorded" : undefined;
    const status = ownership === "foreign" ? a.power : inv.fleet.invalid.includes(a.name) ? "invalid-spec" : "orphan";
    vms.push({ ...row(a.applied.vm, status, a.pid, a.power), ...(owner && { owner }) });
  }
  const unmanaged = inv.hosts.flatMap((h) =>
    h.unmanaged.map((p): ListedProcess => ({
      pid: p.pid,
      name: p.name,
      host: h.host,
      arch: p.arch,
      ports: p.ports,
      status: "running",
      managed: false,
    })),
  );
  const keep = (s: { status: string; arch?: string; name?: string; host: string }) =>
    (!f.status || f.status === "all" || (f.status === "running" ? s.status === "running" : s.status !== "running")) &&
    (!f.arch || s.arch === (f.arch === "arm64" ? "aarch64" : f.arch)) &&
    (!f.name || (s.name ?? "").toLowerCase().includes(f.name.toLowerCase())) &&
    (!f.host || s.host === f.host);
  return { vms: vms.filter(keep), unmanaged: unmanaged.filter(keep) };
}

function row(vm: Inventory["desired"][number]["vm"], status: string, pid?: number, power?: string): ListedVm {
  const disk = vm.disks.map((d) => `${d.path}${d.size ? ` (${humanSize(d.size)})` : ""}`).join(", ");
  return {
    name: vm.name,
    host: vm.host,
    arch: vm.arch,
    vcpus: vm.vcpus,
    memory: humanSize(vm.memory),
    memory_bytes: vm.memory,
    disk,
    disks: vm.disks.map((d) => ({ path: d.path, format: d.format, ...(d.size && { size: d.size }), ...(d.base && { base: d.base }) })),
    status: power && status === "orphan" ? `orphan (${power})` : status,
    ...(pid !== undefined && { pid }),
    ...(vm.ssh && { ssh_port: vm.ssh.port }),
    managed: true,
  };
}
