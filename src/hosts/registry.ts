import { QfleetError } from "../errors.js";
import type { HostsFile } from "../spec/schema.js";
import type { Host } from "./host.js";
import { LocalHost } from "./local.js";

/**
 * Hands out one Host per host name for the life of a process, so every operation on a host
 * shares one connection. `local` is this machine; other names come from hosts.yaml.
 */
export class HostRegistry {
  private readonly hosts = new Map<string, Host>();

  constructor(private readonly config: HostsFile) {}

  get(name: string): Host {
    let h = this.hosts.get(name);
    if (h) return h;
    if (name === "local") h = new LocalHost();
    else if (this.config.hosts[name]) {
      throw new QfleetError("UNSUPPORTED", `host ${name}: remote hosts over SSH are not supported yet`, {
        hint: "run the VM on host: local for now",
      });
    } else throw new QfleetError("NOT_FOUND", `unknown host ${name}: not in hosts.yaml`);
    this.hosts.set(name, h);
    return h;
  }

  /** Settings hosts.yaml gives a host (vm_dir, accel), for 'local' too. */
  settings(name: string): { vm_dir?: string; accel?: string } {
    return name === "local" ? this.config.local : (this.config.hosts[name] ?? {});
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.hosts.values()].map((h) => h.close().catch(() => undefined)));
    this.hosts.clear();
  }
}
