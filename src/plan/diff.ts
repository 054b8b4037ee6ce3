import { describeOwner } from "../spec/fleet-id.js";
import type { ActualVm, HostState } from "../state/types.js";
import { diffFields } from "./fields.js";
import { launches, refusePortConflicts } from "./ports.js";
import type { Action, ActionKind, DesiredVm, FleetSelf, Plan } from "./types.js";

export interface PlanOptions {
  /** The fleet planning: it changes only its own instances (and adopts those without owner). */
  self: FleetSelf;
  prune?: boolean;
  allowReplace?: boolean;
  /** Only these VM names (empty or absent: all). */
  only?: string[];
}

type Ownership = "mine" | "unowned" | "foreign";
export const ownershipOf = (a: ActualVm, self: FleetSelf): Ownership =>
  !a.applied?.owner ? "unowned" : a.applied.owner.id === self.id ? "mine" : "foreign";

/**
 * Pure: (desired, actual) -> Plan. One action per VM name per host. Contracts:
 * - an instance owned by another fleet is never changed, pruned or deleted: a spec naming it
 *   is refused (naming the owner); without a spec it is not this fleet's business at all;
 * - an instance without an owner (made before ownership) is adopted by a spec naming it and
 *   never pruned by a fleet without one;
 * - a folder, file or symlink in the way of a new instance is refused, never adopted;
 * - a VM whose spec is invalid (`invalid`) is never touched: reported as unknown;
 * - a VM on a host that could not be inspected is unknown, never created, orphaned or deleted;
 * - an instance without a spec is an orphan, deleted only with `prune`, never when protected;
 * - replace needs `allowReplace`; refused changes block the whole VM's action; an action that
 *   would launch QEMU is refused when QEMU could not take it (launchProblems, busy host ports).
 */
export function planChanges(desired: DesiredVm[], hosts: HostState[], invalid: string[], opts: PlanOptions): Plan {
  const only = opts.only?.length ? new Set(opts.only) : null;
  const invalidSet = new Set(invalid);
  const hostByName = new Map(hosts.map((h) => [h.host, h]));
  const actions: Action[] = [];
  const matched = new Set<string>();
  const owner = (a: ActualVm) => describeOwner(a.applied!.owner!, opts.self.machine);

  for (const d of desired) {
    if (only && !only.has(d.vm.name)) continue;
    const hs = hostByName.get(d.vm.host);
    if (!hs || hs.error) {
      actions.push({
        vm: d.vm.name,
        host: d.vm.host,
        kind: "unknown",
        reason: `host ${d.vm.host} could not be inspected: ${hs?.error ?? "not reached"}`,
        changes: [],
        desired: d,
      });
      continue;
    }
    const here = hs.vms.filter((v) => v.name === d.vm.name);
    const a = here.find((v) => v.instanceDir === d.vm.instanceDir);
    here.forEach((v) => matched.add(`${v.host}\0${v.instanceDir}`));
    if (a && !a.applied) {
      actions.push(refused(d, `the record of ${a.instanceDir} cannot be read (${a.reasons.join("; ")}): fix or move the folder by hand`));
      continue;
    }
    if (a && ownershipOf(a, opts.self) === "foreign") {
      actions.push(
        refused(d, `${a.instanceDir} is owned by ${owner(a)}, not this fleet: it is never changed from here; give this VM another name or vm_dir`),
      );
      continue;
    }
    const elsewhere = here.find((v) => v !== a && ownershipOf(v, opts.self) !== "foreign");
    if (!a && elsewhere) {
      actions.push(
        refused(d, `an instance of ${d.vm.name} exists in ${elsewhere.vmDir}, not in vm_dir ${d.vm.vmDir}: move it by hand or set vm_dir back`),
      );
      continue;
    }
    const obstacle = !a && d.vm.state !== "absent" && hs.obstacles?.find((o) => o.name === d.vm.name && o.vmDir === d.vm.vmDir);
    if (obstacle) {
      actions.push(
        refused(
          d,
          `${d.vm.instanceDir} is ${obstacle.what}: qemu-fleet never adopts or removes it; move it away, or set another vm_dir for ${d.vm.name}`,
        ),
      );
      continue;
    }
    actions.push(planOne(d, a, opts));
  }

  for (const hs of hosts) {
    for (const a of hs.vms) {
      if (matched.has(`${a.host}\0${a.instanceDir}`) || (only && !only.has(a.name))) continue;
      const ownership = ownershipOf(a, opts.self);
      if (ownership === "foreign") continue; // another fleet's VM: listed by `qfleet list`, never planned here
      const actual = actualOf(a, ownership);
      if (invalidSet.has(a.name)) {
        actions.push({ vm: a.name, host: a.host, kind: "unknown", reason: "its spec is invalid: left exactly as it is", changes: [], actual });
      } else if (ownership === "unowned") {
        const reason = "no spec in vms/ and no owner recorded (made before ownership): kept, never pruned; write a spec for it to adopt it";
        actions.push({ vm: a.name, host: a.host, kind: "orphan", reason, changes: [], actual });
      } else if (!opts.prune) {
        actions.push({ vm: a.name, host: a.host, kind: "orphan", reason: "no spec in vms/: kept (delete it with --prune)", changes: [], actual });
      } else if (actual.protected) {
        actions.push({ vm: a.name, host: a.host, kind: "refused", reason: "no spec, but protected: not pruned", changes: [], actual });
      } else {
        actions.push({
          vm: a.name,
          host: a.host,
          kind: "delete",
          reason: "no spec and --prune: the files qemu-fleet made for it are removed",
          changes: [],
          actual,
        });
      }
    }
  }
  const checked = refusePortConflicts(actions, hosts, opts.self);
  const summary: Partial<Record<ActionKind, number>> = {};
  for (const a of checked) summary[a.kind] = (summary[a.kind] ?? 0) + 1;
  return { actions: checked, summary };
}

function refused(d: DesiredVm, reason: string, changes: Action["changes"] = []): Action {
  return { vm: d.vm.name, host: d.vm.host, kind: "refused", reason, changes, desired: d };
}

const actualOf = (a: ActualVm, ownership: Ownership): NonNullable<Action["actual"]> => ({
  power: a.power,
  pid: a.pid,
  instanceDir: a.instanceDir,
  protected: Boolean(a.applied?.vm.protected),
  hash: a.applied?.hash,
  owned: ownership === "mine",
});

function planOne(d: DesiredVm, a: ActualVm | undefined, opts: PlanOptions): Action {
  const action = planInstance(d, a, opts);
  if (d.launchProblems?.length && launches(action))
    return { ...refused(d, d.launchProblems.map((p) => p.message).join("; "), action.changes), ...(action.actual && { actual: action.actual }) };
  return action;
}

function planInstance(d: DesiredVm, a: ActualVm | undefined, opts: PlanOptions): Action {
  const base = { vm: d.vm.name, host: d.vm.host, desired: d };
  if (!a?.applied) {
    if (d.vm.state === "absent") return { ...base, kind: "noop", reason: "absent, as the spec says", changes: [] };
    return { ...base, kind: "create", reason: "no instance yet", changes: [], finalState: d.vm.state === "running" ? "running" : "stopped" };
  }
  const ownership = ownershipOf(a, opts.self);
  const actual = actualOf(a, ownership);
  const withActual = { ...base, actual };
  const live = a.pid !== undefined; // a QEMU process exists (running, paused or broken)

  if (d.vm.state === "absent") {
    if (d.vm.protected || actual.protected)
      return { ...withActual, kind: "refused", reason: "protected: set protected: false first to delete it", changes: [] };
    return { ...withActual, kind: "delete", reason: "state: absent", changes: [] };
  }
  const changes = diffFields(a.applied.vm, a.applied.accel, d.vm, d.accel.accel);
  if (ownership === "unowned")
    changes.push({
      field: "owner",
      from: null,
      to: describeOwner({ id: opts.self.id ?? "(new)", dir: opts.self.dir }),
      class: "live",
      note: "adopted: made before qemu-fleet recorded owners",
    });
  if (changes.some((c) => c.class === "refused")) return { ...withActual, kind: "refused", reason: "a change would lose data", changes };
  if (changes.some((c) => c.class === "replace")) {
    if (!opts.allowReplace)
      return { ...withActual, kind: "refused", reason: "needs replacing (new disks, data not kept): pass --allow-replace", changes };
    if (actual.protected) return { ...withActual, kind: "refused", reason: "protected: a replace would delete its disks", changes };
    return { ...withActual, kind: "replace", reason: "arch, firmware or disk identity changed", changes, finalState: d.vm.state };
  }
  const restart = changes.some((c) => c.class === "restart");
  if (live) {
    if (d.vm.state === "stopped") return { ...withActual, kind: "stop", reason: "state: stopped", changes, finalState: "stopped" };
    if (a.power === "broken")
      return {
        ...withActual,
        kind: "update-restart",
        reason: `QEMU is broken (${a.reasons.join("; ")}): restarting`,
        changes,
        finalState: "running",
      };
    if (restart) return { ...withActual, kind: "update-restart", reason: "these changes need a restart", changes, finalState: "running" };
    if (changes.length) return { ...withActual, kind: "update-live", reason: "applied live through QMP", changes, finalState: "running" };
    if (a.power === "paused") return { ...withActual, kind: "start", reason: `paused (${a.qmpStatus}): resuming`, changes, finalState: "running" };
    return { ...withActual, kind: "noop", reason: "running, as the spec says", changes };
  }
  const offline = changes.map((c) => ({ ...c, class: "offline" as const }));
  if (d.vm.state === "running") {
    const why = a.reasons.some((r) => r.startsWith("stale pidfile")) ? "not running (QEMU exited or was killed)" : "stopped";
    return { ...withActual, kind: "start", reason: `state: running, but ${why}`, changes: offline, finalState: "running" };
  }
  if (changes.length) return { ...withActual, kind: "update-offline", reason: "applied while stopped", changes: offline, finalState: "stopped" };
  return { ...withActual, kind: "noop", reason: "stopped, as the spec says", changes };
}
