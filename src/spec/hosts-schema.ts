import * as z from "zod";
import { Accel, AbsPath, EnvName, NAME_HELP, NAME_RE, Path, Port } from "./fields.js";

/**
 * hosts.yaml: the machines VMs can run on, and how to reach them. It holds NO secrets: a
 * password or key passphrase lives in an environment variable that the entry names.
 * Contract of a parsed HostsFile: `hosts` holds the remote hosts only (every one has an
 * address, a port and a host-key policy); the optional `local:` entry, which may only set
 * vm_dir and accel, is returned separately as `local` (always present, maybe empty).
 */
const RemoteHost = z
  .strictObject({
    address: z
      .string()
      .regex(/^[^\s]+$/, { error: "expected a host name or IP address" })
      .describe("host name or IP address"),
    port: Port.default(22).describe("SSH port; default 22"),
    user: z
      .string()
      .regex(/^[^\s:@]+$/, { error: "expected a user name" })
      .optional()
      .describe("SSH user; default: yours"),
    identity_file: Path.optional().describe("private key file; relative to hosts.yaml"),
    passphrase_env: EnvName.optional().describe("environment variable holding the key's passphrase"),
    password_env: EnvName.optional().describe("environment variable holding the SSH password"),
    vm_dir: AbsPath.optional().describe("where instance folders live on that host; default /var/lib/qemu"),
    host_key_policy: z
      .enum(["strict", "accept-new"])
      .default("strict")
      .describe("strict: the key must already be in known_hosts; accept-new: record a first-seen key"),
    known_hosts: Path.optional().describe("known_hosts file; default ~/.ssh/known_hosts"),
    accel: Accel.optional(),
  })
  .describe("a remote host reached over SSH");

const LocalEntry = z
  .strictObject({
    vm_dir: Path.optional().describe("where instance folders live on this machine; relative to hosts.yaml"),
    accel: Accel.optional(),
  })
  .describe("settings for this machine (no SSH)");

const Hosts = z
  .object({ local: LocalEntry.optional() })
  .catchall(RemoteHost)
  .superRefine(
    (hosts, ctx) => {
      for (const name of Object.keys(hosts))
        if (!NAME_RE.test(name))
          ctx.addIssue({ code: "custom", path: [name], params: { atKey: true }, message: `'${name}' is not a valid host name: use ${NAME_HELP}` });
    },
    { when: (p) => typeof p.value === "object" && p.value !== null },
  )
  .meta({ propertyNames: { pattern: NAME_RE.source } });

export const HostsFileSchema = z
  .strictObject({ hosts: Hosts.prefault({}).describe("host name -> how to reach it; 'local' may set vm_dir and accel") })
  .meta({ title: "qemu-fleet hosts", description: "hosts.yaml: remote hosts for a qemu-fleet (no secrets)" })
  .transform(({ hosts: { local, ...remote } }) => ({ hosts: remote as Record<string, HostEntry>, local: local ?? {} }));

export type HostEntry = z.output<typeof RemoteHost>;
export type LocalHostEntry = z.output<typeof LocalEntry>;
export type HostsFile = z.output<typeof HostsFileSchema>;

/** Keys that would hold a secret, and the key to use instead. */
export const SECRET_KEYS: Record<string, string> = { password: "password_env", passphrase: "passphrase_env" };
