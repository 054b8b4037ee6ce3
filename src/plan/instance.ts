import { describeOwner } from "../spec/fleet-id.js";
import type { ActualVm } from "../state/types.js";
import { diffFields } from "./fields.js";
import { launches } from "./ports.js";
import { BOOT_WINDOW_MS, type Action, type DesiredVm, type FleetSelf } from "./types.js";

export interface InstanceOptions {
  self: FleetSelf;
  allowReplace?: boolean;
  /** The time the plan is made at (ms), for "started N s ago": a pure plan reads no clock. */
  now?: number;
}

type Ownership = "mine" | "unowned" | "foreign";
/** Whose an instance is, seen from the fleet planning: its own, another fleet's, or nobody's (made before owners were recorded). */
export const ownershipOf = (a: ActualVm, self: FleetSelf): Ownership =>
  !a.applied?.owner ? "unowned" : a.applied.owner.id === self.id ? "mine" : "foreign";

export function refused(d: DesiredVm, reason: string, changes: Action["changes"] = []): Action {
  return { vm: d.vm.name, host: d.vm.host, kind: "refused", reason, changes, desired: d };
}

export const actualOf = (a: ActualVm, ownership: Ownership): NonNullable<Action["actual"]> => ({
  power: a.power,
  pid: a.pid,
  instanceDir: a.instanceDir,
  protected: Boolean(a.applied?.vm.protected),
  hash: a.applied?.hash,
  owned: ownership === "mine",
});

/**
 * Pure: the action for one declared VM whose instance (if any) is this fleet's or nobody's.
 * Contracts: an instance without owner is adopted (an `owner` change, applied live); anything
 * that would lose data is refused; a replace needs allowReplace; an action that would launch
 * QEMU is refused when QEMU could not take the VM (launchProblems).
 */
export function planOne(d: DesiredVm, a: ActualVm | undefined, opts: InstanceOptions): Action {
  const action = withBootNote(planInstance(d, a, opts), a, opts.now);
  if (d.launchProblems?.length && launches(action))
    return { ...refused(d, d.launchProblems.map((p) => p.message).join("; "), action.changes), ...(action.actual && { actual: action.actual }) };
  return action;
}

/** A stop planned for a VM that may still be booting says so: it takes longer than a booted guest's. */
function withBootNote(action: Action, a: ActualVm | undefined, now?: number): Action {
  const started = a?.applied?.startedAt ? Date.parse(a.applied.startedAt) : NaN;
  if (now === undefined || a?.pid === undefined || !["stop", "update-restart"].includes(action.kind)) return action;
  if (!Number.isFinite(started) || now - started >= BOOT_WINDOW_MS) return action;
  const note = `started ${Math.max(0, Math.round((now - started) / 1000))} s ago and may still be booting: the stop asks again while its console shows it booting, and uses the guest agent once it answers`;
  return { ...action, reason: `${action.reason} (${note})` };
}

function planInstance(d: DesiredVm, a: ActualVm | undefined, opts: InstanceOptions): Action {
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
