import { specHash } from "../apply/applied.js";
import { QfleetError } from "../errors.js";
import type { SshJump } from "../hosts/registry.js";
import type { Inventory } from "./inventory.js";
import { planChanges } from "../plan/diff.js";
import type { FieldChange } from "../plan/types.js";
import { probeSshBanner } from "../state/ssh-probe.js";
import type { ActualVm } from "../state/types.js";

/** What `qfleet status NAME` and the MCP status tools report about one declared VM. */
export interface VmStatus {
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
  ssh_banner?: string;
  ssh_command?: string;
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
 * Status of a declared VM (or an instance without spec). `waitSshMs` keeps probing until the
 * SSH banner arrives or the time is up; `host` limits the search to one host. Throws NOT_FOUND
 * when neither a spec nor an instance of that name exists (there).
 */
export async function vmStatus(inv: Inventory, name: string, opts: { waitSshMs?: number; host?: string } = {}): Promise<VmStatus> {
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
  const host = hostError === undefined ? inv.registry.get(hostName) : null;
  const action = planChanges(d ? [d] : [], inv.hosts, inv.fleet.invalid, { only: [name], self: inv.self }).actions[0];
  const running = actual?.pid !== undefined;
  const port = d?.vm.ssh?.port ?? actual?.applied?.vm.ssh?.port;
  const banner = host && running && port ? await probeSshBanner(host, port, { timeoutMs: opts.waitSshMs ?? 1500 }) : null;
  const st: VmStatus = {
    name,
    host: hostName,
    status: hostError === undefined ? statusWord(actual, d?.vm.state) : "unknown",
    ...(actual?.qmpStatus && { qmp_status: actual.qmpStatus }),
    process_running: running,
    ...(actual?.pid !== undefined && { pid: actual.pid }),
    ...(actual?.applied && { accelerator: actual.applied.accel, accelerator_reason: actual.applied.accelReason }),
    ...(!actual?.applied && d && { accelerator: d.accel.accel, accelerator_reason: d.accel.reason }),
    ...(port && { ssh_port: port }),
    ssh_accessible: Boolean(banner),
    ...(banner && { ssh_banner: banner }),
    ...(port && { ssh_command: sshCommand(inv.registry.sshJump(hostName), port) }),
    ...(running &&
      actual?.applied?.startedAt && { uptime_seconds: Math.max(0, Math.round((Date.now() - Date.parse(actual.applied.startedAt)) / 1000)) }),
    ...(d && { spec_hash: specHash(d.vm) }),
    ...(actual?.applied && { running_hash: actual.applied.hash }),
    in_sync: action?.kind === "noop",
    ...(action && action.kind !== "noop" && { pending: { kind: action.kind, reason: action.reason, changes: action.changes } }),
    ...(actual && { instance_dir: actual.instanceDir }),
    reasons: hostError === undefined ? (actual?.reasons ?? []) : [`host ${hostName} could not be inspected: ${hostError}`],
    message: "",
  };
  st.message = message(st);
  return st;
}

/**
 * The login command that works from this machine: direct for a local VM; for a remote one a
 * two-hop `ssh -J` through the VM's host (its forward is bound to 127.0.0.1 there).
 */
export function sshCommand(via: SshJump, port: number, user = "root"): string {
  if (via === "local") return `ssh -p ${port} ${user}@localhost`;
  const addr = via.address.includes(":") ? `[${via.address}]` : via.address;
  const jump = `${via.user ? `${via.user}@` : ""}${via.port !== 22 || via.address.includes(":") ? `${addr}:${via.port}` : via.address}`;
  return `ssh -J ${jump} -p ${port} ${user}@localhost`;
}

function statusWord(a: ActualVm | undefined, wanted?: string): string {
  if (!a) return wanted === "absent" ? "absent" : "not-created";
  return a.power;
}

function message(s: VmStatus): string {
  if (s.status === "running" && s.ssh_port) {
    return s.ssh_accessible
      ? `VM is running and SSH accessible on port ${s.ssh_port}`
      : `VM is running; SSH on port ${s.ssh_port} does not answer yet`;
  }
  if (s.status === "running") return "VM is running";
  if (s.status === "broken") return `VM is broken: ${s.reasons.join("; ")}`;
  if (s.status === "not-created") return "VM is declared but not created yet (run qfleet reconcile)";
  if (s.status === "unknown") return `VM state is unknown: ${s.reasons.join("; ")}`;
  return `VM is ${s.status}`;
}
