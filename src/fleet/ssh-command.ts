import type { SshJump } from "../hosts/registry.js";
import { privatePaths } from "../spec/store.js";

/** How to log into a guest from this machine: who, where, and (for cloud-init guests) with which key and host-key entry. */
export interface LoginSpec {
  via: SshJump;
  port: number;
  user: string;
  /** The fleet folder, when the guest takes the fleet's key (cloud_init). */
  fleetDir?: string;
  /** The guest's HostKeyAlias in the fleet's known_hosts (see guest-keys.ts). */
  alias?: string;
}

/**
 * The exact ssh argv that logs in from this machine: with the fleet's key and known_hosts
 * (HostKeyAlias, so two VMs that used one port never clash) for a cloud-init guest; a
 * two-hop `-J` through the VM's host for a remote VM (its forward is bound to 127.0.0.1 there).
 */
export function sshArgv(l: LoginSpec, command: string[] = []): string[] {
  const argv = ["ssh"];
  if (l.via !== "local") {
    const addr = l.via.address.includes(":") ? `[${l.via.address}]` : l.via.address;
    const hop = l.via.port !== 22 || l.via.address.includes(":") ? `${addr}:${l.via.port}` : l.via.address;
    argv.push("-J", `${l.via.user ? `${l.via.user}@` : ""}${hop}`);
  }
  if (l.fleetDir) {
    const p = privatePaths(l.fleetDir);
    argv.push("-i", p.key, "-o", "IdentitiesOnly=yes", "-o", `UserKnownHostsFile=${p.knownHosts}`, "-o", "StrictHostKeyChecking=accept-new");
    if (l.alias) argv.push("-o", `HostKeyAlias=${l.alias}`);
  }
  argv.push("-p", String(l.port), `${l.user}@localhost`, ...command);
  return argv;
}

/** The argv as one line a person can paste into a POSIX shell. */
export function sshCommandLine(argv: string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9@%+=:,./_-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(" ");
}
