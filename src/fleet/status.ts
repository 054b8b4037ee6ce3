import { specHash } from "../apply/applied.js";
import { QfleetError } from "../errors.js";
import type { Inventory } from "./inventory.js";
import { planChanges } from "../plan/diff.js";
import type { FieldChange } from "../plan/types.js";
import type { ResolvedVm } from "../spec/defaults.js";
import { instancePaths } from "../state/paths.js";
import type { ActualVm } from "../state/types.js";
import { guestTarget, type GuestTarget } from "./guest.js";
import { readiness, type Readiness } from "./readiness.js";
import { sshArgv, sshCommandLine, type LoginSpec } from "./ssh-command.js";

/** What `qfleet status NAME` and the MCP status tools report about one declared VM. */
export interface VmStatus extends Partial<Readiness> {
  name: string;
  host: string;
  /** running | paused | stopped | broken | not-created | absent | unknown (its host could not be reached) */
  status: string;
  qmp_status?: string;
  process_running: boolean;
  pid?: number;
  accelerator?: string;
  accelerator_reason?: string;
  ssh_port?: number;
  ssh_accessible: boolean;
  /** The exact command that logs in from this machine (with the fleet's key for a cloud-init guest). */
  ssh_command?: string;
  ssh_user?: string;
  uptime_seconds?: number;
  spec_hash?: string;
  running_hash?: string;
  in_sync: boolean;
  pending?: { kind: string; reason: string; changes: FieldChange[] };
  instance_dir?: string;
  reasons: string[];
  message: string;
}

/**
 * Status of a declared VM (or an instance without spec). For a running VM of this fleet it
 * also looks inside (see readiness): SSH banner, a real login with the fleet's key for a
 * cloud-init guest, cloud-init's verdict, the guest agent's addresses, the console's last
 * lines when not ready. `waitMs` keeps looking until the guest is ready (see isReady) or
 * the time is up; `host` limits the search to
 * one host. Throws NOT_FOUND when neither a spec nor an instance of that name exists (there).
 */
export async function vmStatus(
  inv: Inventory,
  name: string,
  opts: { waitMs?: number; host?: string; onWait?: (s: VmStatus) => void } = {},
): Promise<VmStatus> {
  const onHost = (h: string) => opts.host === undefined || h === opts.host;
  const d = inv.desired.find((x) => x.vm.name === name && onHost(x.vm.host));
  const actual = inv.hosts.flatMap((h) => h.vms).find((v) => v.name === name && onHost(v.host) && (!d || v.instanceDir === d.vm.instanceDir));
  if (!d && !actual) {
    const invalid = inv.fleet.invalid.includes(name);
    throw new QfleetError(
      "NOT_FOUND",
      invalid ? `the spec of ${name} is invalid` : `no VM named ${name}${opts.host ? ` on host ${opts.host}` : ""}`,
      {
        hint: invalid ? "run qfleet validate to see why" : "qfleet list shows the VMs there are",
      },
    );
  }
  const hostName = d?.vm.host ?? actual!.host;
  const hostError = inv.hosts.find((h) => h.host === hostName)?.error; // unreachable: the VM is unknown
  const action = planChanges(d ? [d] : [], inv.hosts, inv.fleet.invalid, { only: [name], self: inv.self }).actions[0];
  const running = actual?.pid !== undefined && actual.power === "running";
  const target = running && hostError === undefined ? guestTargetOrNull(inv, name) : null;
  const vm = actual?.applied?.vm ?? d?.vm;
  const port = vm?.ssh?.port;
  const login = target?.login ?? (vm && port ? loginFor(inv, hostName, vm, port) : undefined);
  const base: VmStatus = {
    name,
    host: hostName,
    status: hostError === undefined ? statusWord(actual, d?.vm.state) : "unknown",
    ...(actual?.qmpStatus && { qmp_status: actual.qmpStatus }),
    process_running: actual?.pid !== undefined,
    ...(actual?.pid !== undefined && { pid: actual.pid }),
    ...(actual?.applied && { accelerator: actual.applied.accel, accelerator_reason: actual.applied.accelReason }),
    ...(!actual?.applied && d && { accelerator: d.accel.accel, accelerator_reason: d.accel.reason }),
    ...(port && { ssh_port: port }),
    ssh_accessible: false,
    ...(login && { ssh_command: sshCommandLine(sshArgv(login)), ssh_user: login.user }),
    ...(d && { spec_hash: specHash(d.vm) }),
    ...(actual?.applied && { running_hash: actual.applied.hash }),
    in_sync: action?.kind === "noop",
    ...(action && action.kind !== "noop" && { pending: { kind: action.kind, reason: action.reason, changes: action.changes } }),
    ...(actual && { instance_dir: actual.instanceDir }),
    reasons: hostError === undefined ? (actual?.reasons ?? []) : [`host ${hostName} could not be inspected: ${hostError}`],
    message: "",
  };
  const deadline = Date.now() + (opts.waitMs ?? 0);
  for (;;) {
    // while waiting, the banner probe itself waits (up to 10 s, returning as soon as it arrives)
    const bannerWaitMs = Math.min(10_000, Math.max(0, deadline - Date.now()));
    const r = target ? await readiness(target, target.host, instancePaths(actual!.instanceDir).serial, { bannerWaitMs }) : null;
    const started = running && actual?.applied?.startedAt ? Date.parse(actual.applied.startedAt) : NaN;
    const st: VmStatus = {
      ...base,
      ...r,
      ...(Number.isFinite(started) && { uptime_seconds: Math.max(0, Math.round((Date.now() - started) / 1000)) }),
    };
    st.message = message(st);
    // a changed host key does not fix itself by waiting
    if (!target || isReady(st) || Date.now() >= deadline || /host key changed/.test(st.login_error ?? "")) return st;
    opts.onWait?.(st);
    if (st.ssh_accessible) await new Promise((res) => setTimeout(res, 500)); // SSH answers: the login is retried soon
  }
}

/**
 * Ready to use: a login as the fleet worked and cloud-init finished (cloud-init guests), or SSH
 * answers (others). Not before cloud-init finished: its config stage restarts sshd (measured: a
 * login 1-2 s before the restart, then a connection reset) and the user's user_data runs last.
 * A cloud-init that ended in error is ready too: the message says so.
 */
export const isReady = (s: Pick<VmStatus, "login_ok" | "ssh_accessible" | "cloud_init">): boolean =>
  (s.login_ok ?? s.ssh_accessible) && s.cloud_init !== "running";

function guestTargetOrNull(inv: Inventory, name: string): GuestTarget | null {
  try {
    return guestTarget(inv, name);
  } catch {
    return null; // another fleet's VM, or not running after all: looked at from outside only
  }
}

/** How one would log in before the VM runs (no host-key entry yet: the first login records it). */
function loginFor(inv: Inventory, hostName: string, vm: ResolvedVm, port: number): LoginSpec {
  return { via: inv.registry.sshJump(hostName), port, user: vm.cloudInit?.user ?? "root", ...(vm.cloudInit && { fleetDir: inv.fleet.dir }) };
}

function statusWord(a: ActualVm | undefined, wanted?: string): string {
  if (!a) return wanted === "absent" ? "absent" : "not-created";
  return a.power;
}

function message(s: VmStatus): string {
  if (s.status === "running" && s.ssh_port) return runningMessage(s);
  if (s.status === "running") return `VM is running${s.guest ? ` (guest agent: ${s.guest.addresses.join(", ") || "no address yet"})` : ""}`;
  if (s.status === "broken") return `VM is broken: ${s.reasons.join("; ")}`;
  if (s.status === "not-created") return "VM is declared but not created yet (run qfleet reconcile)";
  if (s.status === "unknown") return `VM state is unknown: ${s.reasons.join("; ")}`;
  return `VM is ${s.status}`;
}

/** What a person needs to know about a running VM with SSH: ready, or what the guest shows instead. */
function runningMessage(s: VmStatus): string {
  const seen = s.console?.length ? `; the console shows: "${s.console.at(-1)}"` : "";
  if (!s.ssh_accessible) {
    const prompt = s.console?.some((l) => /login:\s*$/.test(l));
    if (prompt)
      return `VM is running and the guest is at its login prompt, but SSH on port ${s.ssh_port} does not answer: no network yet? (see the console)`;
    return `VM is running; SSH on port ${s.ssh_port} does not answer yet (still booting?)${seen}`;
  }
  if (s.login_ok === false)
    return `VM is running and SSH answers on port ${s.ssh_port}, but the login as ${s.ssh_user} failed: ${s.login_error ?? "not yet"} (cloud-init may still be creating the user)${seen}`;
  if (s.cloud_init === "running") return `VM is running; ${s.ssh_user} can log in on port ${s.ssh_port}, cloud-init is still running${seen}`;
  if (s.cloud_init === "error")
    return `VM is running; ${s.ssh_user} can log in on port ${s.ssh_port}, but cloud-init reported an error (cloud-init status --long in the guest)`;
  return `VM is running and SSH accessible on port ${s.ssh_port}${s.login_ok ? `: ${s.ssh_user} can log in` : ""}`;
}
