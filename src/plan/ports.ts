import { hostForwards } from "../qemu/argv.js";
import { describeOwner } from "../spec/fleet-id.js";
import type { HostState } from "../state/types.js";
import type { Action, FleetSelf } from "./types.js";

/** Actions that launch a QEMU process (a resume of a paused VM does not). */
export const launches = (a: Action): boolean =>
  a.kind === "create" || a.kind === "replace"
    ? a.finalState === "running"
    : a.kind === "update-restart" || (a.kind === "start" && a.actual?.pid === undefined);

/** Actions after which a VM's QEMU no longer holds its ports (a restart frees and takes them again). */
const frees = (a: Action) => a.kind === "stop" || a.kind === "delete" || a.kind === "update-restart" || a.kind === "replace";

const portOf = (rule: string) => Number(rule.split("-")[0].split(":").pop());

/**
 * Pure: refuses every launch whose host ports are held by a QEMU process that stays running
 * on that host: a VM of this fleet or of another, or a QEMU qemu-fleet did not start. Said at
 * plan time, with the holder, instead of QEMU failing at launch. (A port held by any other
 * program is only seen when QEMU starts: launch names it then.)
 */
export function refusePortConflicts(actions: Action[], hosts: HostState[], self: FleetSelf): Action[] {
  const freed = new Set(
    actions
      .filter(frees)
      .map((a) => a.actual?.instanceDir)
      .filter(Boolean),
  );
  type Holder = { instanceDir?: string; who: string };
  const held = new Map<string, Map<number, Holder>>();
  for (const hs of hosts) {
    const ports = new Map<number, Holder>();
    for (const v of hs.vms) {
      if (v.pid === undefined || !v.applied || freed.has(v.instanceDir)) continue;
      const whose = v.applied.owner && v.applied.owner.id !== self.id ? ` of ${describeOwner(v.applied.owner, self.machine)}` : "";
      for (const r of hostForwards(v.applied.vm)) ports.set(portOf(r), { instanceDir: v.instanceDir, who: `VM ${v.name}${whose}` });
    }
    // QEMUs not inspected (not started by qemu-fleet, or another instance a scoped run did not look at): their command line's ports
    const inspected = new Set(hs.vms.map((v) => v.pid));
    const unmanaged = new Set(hs.unmanaged.map((p) => p.pid));
    for (const p of hs.processes ?? hs.unmanaged) {
      if (inspected.has(p.pid)) continue;
      const who = `QEMU pid ${p.pid}${p.name ? ` (${p.name})` : ""}${unmanaged.has(p.pid) ? ", not managed by qemu-fleet" : ""}`;
      for (const port of p.ports) ports.set(port, { instanceDir: p.qmpSocket?.replace(/\/[^/]*$/, ""), who });
    }
    held.set(hs.host, ports);
  }
  return actions.map((a) => {
    if (!a.desired || !launches(a)) return a;
    const mine = a.actual?.instanceDir ?? a.desired.vm.instanceDir;
    const clash = hostForwards(a.desired.vm)
      .map((r) => ({ port: portOf(r), by: held.get(a.host)?.get(portOf(r)) }))
      .filter((c) => c.by && c.by.instanceDir !== mine);
    if (!clash.length) return a;
    const reason = clash.map((c) => `host port ${c.port} is in use by ${c.by!.who}`).join("; ");
    return { ...a, kind: "refused" as const, reason: `${reason}: choose another port in the spec, or stop that VM first` };
  });
}
