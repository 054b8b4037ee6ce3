import { describeOwner } from "../spec/fleet-id.js";
import type { ActualVm, HostState } from "../state/types.js";
import { actualOf, ownershipOf, planOne, refused } from "./instance.js";
import { refusePortConflicts } from "./ports.js";
import type { Action, ActionKind, DesiredVm, FleetSelf, Plan } from "./types.js";

export interface PlanOptions {
  /** The time the plan is made at (ms), for notes such as "started 5 s ago". */
  now?: number;
  /** The fleet planning: it changes only its own instances (and adopts those without owner). */
  self: FleetSelf;
  prune?: boolean;
  allowReplace?: boolean;
  /** Only these VM names (empty or absent: all). */
  only?: string[];
}

export { ownershipOf } from "./instance.js";

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
