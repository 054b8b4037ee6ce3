import { QfleetError } from "../errors.js";
import type { Host } from "../hosts/host.js";
import { openGuestSession, type GuestSession } from "../guest/ssh-session.js";
import { instancePaths } from "../state/paths.js";
import type { AppliedRecord } from "../state/types.js";
import { readFleetPrivateKey } from "./fleet-key.js";
import { hostKeyAlias, recordedHostKey, recordHostKey } from "./guest-keys.js";
import type { Inventory } from "./inventory.js";
import { sshArgv, type LoginSpec } from "./ssh-command.js";

/** A running VM's guest as this fleet reaches it. */
export interface GuestTarget {
  name: string;
  host: Host;
  record: AppliedRecord;
  /** The guest agent's socket on the VM's host. */
  qga: string;
  /** The VM's QMP socket on its host. */
  qmp: string;
  /** How to log in over SSH; absent when the VM forwards no SSH port. */
  login?: LoginSpec;
}

/**
 * The guest of a VM of this fleet that runs now: its host, its record (the configuration that
 * runs, not the spec's, since the spec may have changed), and how to log in. The fleet's key is
 * used when the VM has a cloud-init seed; otherwise the login is `root` with the user's own
 * keys (ssh_command only: qemu-fleet cannot log in there itself). NOT_FOUND or REFUSED otherwise.
 */
export function guestTarget(inv: Inventory, name: string): GuestTarget {
  const hostErr = inv.hosts.find((h) => inv.desired.some((d) => d.vm.name === name && d.vm.host === h.host) && h.error)?.error;
  if (hostErr) throw new QfleetError("CONNECTION", `the host of ${name} could not be reached: ${hostErr}`);
  // this fleet's instance, or one made before owners were recorded (a spec of this fleet names it)
  const actual = inv.hosts.flatMap((h) => h.vms).find((v) => v.name === name && (!v.applied?.owner || v.applied.owner.id === inv.self.id));
  if (!actual?.applied) throw new QfleetError("NOT_FOUND", `no VM named ${name} in this fleet`, { hint: "qfleet list shows the VMs there are" });
  if (actual.pid === undefined || actual.power !== "running") {
    throw new QfleetError("REFUSED", `VM ${name} is ${actual.power}: its guest can only be reached while it runs`, {
      hint: `start it: qfleet start ${name}`,
    });
  }
  const rec = actual.applied;
  const port = rec.vm.ssh?.port;
  const cloud = rec.vm.cloudInit;
  const login: LoginSpec | undefined = port
    ? {
        via: inv.registry.sshJump(actual.host),
        port,
        user: cloud?.user ?? "root",
        ...(cloud && { fleetDir: inv.fleet.dir, alias: hostKeyAlias(name, rec) }),
      }
    : undefined;
  return {
    name,
    host: inv.registry.get(actual.host),
    record: rec,
    qga: instancePaths(actual.instanceDir).qga,
    qmp: instancePaths(actual.instanceDir).qmp,
    ...(login && { login }),
  };
}

/** The exact command a person runs to log in (or run `command`), or undefined without an SSH port. */
export const sshArgvFor = (t: GuestTarget, command: string[] = []): string[] | undefined => (t.login ? sshArgv(t.login, command) : undefined);

/**
 * Logs into the guest as the fleet: the fleet's key, the guest's host key verified against the
 * one recorded for this instance, or recorded on this first login. Only for cloud-init guests
 * (REFUSED otherwise: qemu-fleet holds no key of theirs). The caller closes the session.
 */
export async function openGuest(t: GuestTarget, opts: { readyTimeoutMs?: number } = {}): Promise<GuestSession> {
  const l = t.login;
  if (!l?.fleetDir || !l.alias) {
    throw new QfleetError(
      "REFUSED",
      `VM ${t.name} has no cloud-init seed, so it does not take the fleet's key${l ? "" : " (and forwards no SSH port)"}`,
      {
        hint: "give its spec cloud_init: true (a restart), or log in with your own key; the guest agent still answers vm_exec",
      },
    );
  }
  const known = await recordedHostKey(l.fleetDir, l.alias);
  const sock = await t.host.connectTcp(l.port);
  const session = await openGuestSession(
    sock,
    { user: l.user, privateKey: await readFleetPrivateKey(l.fleetDir), knownHostKey: known },
    {
      readyTimeoutMs: opts.readyTimeoutMs,
      label: `VM ${t.name}`,
    },
  );
  if (!known) await recordHostKey(l.fleetDir, l.alias, session.hostKey);
  return session;
}

/** Runs fn in a fresh guest session and always closes it. */
export async function withGuest<T>(t: GuestTarget, fn: (s: GuestSession) => Promise<T>, opts: { readyTimeoutMs?: number } = {}): Promise<T> {
  const s = await openGuest(t, opts);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}
