import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { HostEntry } from "../../spec/hosts-schema.js";
import { knownHostsName } from "./known-hosts.js";
import { lookupSshConfig } from "./config.js";

/**
 * Everything needed to open one SSH connection, resolved from a hosts.yaml entry and
 * ~/.ssh/config. Precedence (as with `ssh -p/-l/-i` over the config file): hosts.yaml user and
 * identity_file win; ~/.ssh/config's HostName always applies to an alias; its Port applies
 * when hosts.yaml leaves the port at the default 22. Secrets are not resolved here: only the
 * names of the environment variables that hold them.
 */
export interface SshTarget {
  /** hosts.yaml name, for messages. */
  name: string;
  /** The address as written in hosts.yaml (an alias stays an alias), for ssh -J. */
  alias: string;
  /** What is really connected to. */
  address: string;
  port: number;
  user: string;
  /** Identity files to offer, in order (configured ones, or the OpenSSH defaults that exist). */
  identityFiles: string[];
  /** True when identityFiles came from hosts.yaml or ~/.ssh/config rather than the defaults. */
  identityConfigured: boolean;
  passphraseEnv?: string;
  passwordEnv?: string;
  policy: "strict" | "accept-new";
  /** known_hosts files read, in order; new keys (accept-new) go to the first. */
  knownHostsFiles: string[];
  /** How this host appears in known_hosts: `address` or `[address]:port`. */
  knownHostsName: string;
}

const DEFAULT_IDENTITIES = ["id_ed25519", "id_ecdsa", "id_rsa"];
export const GLOBAL_KNOWN_HOSTS = "/etc/ssh/ssh_known_hosts";

export function resolveTarget(name: string, entry: HostEntry): SshTarget {
  const home = os.homedir();
  const cfg = lookupSshConfig(entry.address);
  const address = cfg.hostName ?? entry.address;
  const port = entry.port !== 22 ? entry.port : (cfg.port ?? 22);
  const configured = entry.identity_file ? [entry.identity_file] : cfg.identityFiles;
  const identityFiles = configured.length ? configured : DEFAULT_IDENTITIES.map((f) => path.join(home, ".ssh", f)).filter((f) => existsSync(f));
  const userKnown = path.join(home, ".ssh", "known_hosts");
  return {
    name,
    alias: entry.address,
    address,
    port,
    user: entry.user ?? cfg.user ?? os.userInfo().username,
    identityFiles,
    identityConfigured: configured.length > 0,
    passphraseEnv: entry.passphrase_env,
    passwordEnv: entry.password_env,
    policy: entry.host_key_policy,
    knownHostsFiles: [...new Set([...(entry.known_hosts ? [entry.known_hosts] : []), userKnown, GLOBAL_KNOWN_HOSTS])],
    knownHostsName: knownHostsName(address, port),
  };
}

/** `user@address:port` for messages. */
export function describeTarget(t: Pick<SshTarget, "user" | "address" | "port">): string {
  const addr = t.address.includes(":") ? `[${t.address}]` : t.address;
  return `${t.user}@${addr}:${t.port}`;
}
