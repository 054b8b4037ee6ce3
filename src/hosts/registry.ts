import { QfleetError } from "../errors.js";
import type { HostEntry, HostsFile } from "../spec/schema.js";
import type { Host } from "./host.js";
import { LOCAL } from "./local.js";
import { SshHost } from "./ssh/host.js";
import { lease, release } from "./ssh/pool.js";

/** Where `ssh -J` goes for a VM's two-hop login: this machine, or a hosts.yaml entry. */
export type SshJump = "local" | { address: string; port: number; user?: string };

/**
 * Hands out one Host per host name: `local` is this machine, other names come from hosts.yaml
 * and are reached over SSH. Contracts:
 * - SSH hosts come from a process-wide pool (one connection per host and settings, shared by
 *   every registry); closeAll() returns this registry's leases and the last one closes it;
 * - withPassword(name, pwd) gives that host a one-call password, held only in memory by this
 *   registry's own connection (never pooled, so no later caller rides on it) and dropped by
 *   closeAll(). Call it before get(name);
 * - a host marked failed (it could not be reached or probed while loading) is refused by get()
 *   with that error, so one run never half-uses a host it reported as unknown.
 */
export class HostRegistry {
  private readonly hosts = new Map<string, Host>();
  private readonly passwords = new Map<string, string>();
  private readonly failed = new Map<string, QfleetError>();

  constructor(private readonly config: HostsFile) {}

  get(name: string): Host {
    const err = this.failed.get(name);
    if (err) throw err;
    let h = this.hosts.get(name);
    if (h) return h;
    const entry = this.config.hosts[name];
    if (name === "local") h = LOCAL;
    else if (!entry)
      throw new QfleetError("NOT_FOUND", `unknown host ${name}: not in hosts.yaml`, { hint: "add it to hosts.yaml, or use host: local" });
    else if (this.passwords.has(name)) h = new SshHost(name, entry, { password: this.passwords.get(name) });
    else h = lease(`${name}\0${JSON.stringify(entry)}`, () => new SshHost(name, entry));
    this.hosts.set(name, h);
    return h;
  }

  withPassword(name: string, password: string): this {
    const held = this.hosts.get(name);
    if (held) {
      this.hosts.delete(name);
      void release(held);
    }
    this.passwords.set(name, password);
    return this;
  }

  /** Marks a host this registry must not use any more (see the class contract). */
  markFailed(name: string, err: QfleetError): void {
    this.failed.set(name, err);
  }

  /** Settings hosts.yaml gives a host (vm_dir, accel), for 'local' too. */
  settings(name: string): { vm_dir?: string; accel?: string } {
    return name === "local" ? this.config.local : (this.config.hosts[name] ?? {});
  }

  /** The jump host for a VM's ssh_command: the hosts.yaml address (an ~/.ssh/config alias stays one), port and user. */
  sshJump(name: string): SshJump {
    const e: HostEntry | undefined = this.config.hosts[name];
    return e ? { address: e.address, port: e.port, ...(e.user && { user: e.user }) } : "local";
  }

  async closeAll(): Promise<void> {
    const held = [...this.hosts.values()];
    this.hosts.clear();
    this.passwords.clear();
    await Promise.all(held.map((h) => release(h).catch(() => undefined)));
  }
}
