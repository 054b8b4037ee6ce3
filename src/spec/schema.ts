import * as z from "zod";
import { DiskSchema, DiskShorthand } from "./disk.js";
import { Accel, Arch, Name, Path, Port, Size } from "./fields.js";
import { humanSize } from "../units.js";

export { NAME_RE, type Arch, type Accel } from "./fields.js";
export { HostsFileSchema, type HostsFile, type HostEntry, type LocalHostEntry } from "./hosts-schema.js";
export type { DiskSpec } from "./disk.js";

/**
 * The schema of one `vms/NAME.yaml`. Contract of a parsed VmSpec (z.output): sizes are bytes,
 * `arch` is never "arm64", the `disk:` shorthand is folded into `disks` (always an array),
 * and host ports are unique within the spec. Defaults that depend on the machine (arch,
 * firmware, vm_dir) are left unset here and filled by resolveVm (defaults.ts).
 */
const MIN_MEMORY = 16 * 2 ** 20;
const MAX_MEMORY = 16 * 2 ** 40;

const Memory = Size.refine((n) => n >= MIN_MEMORY, { error: "must be at least 16M" })
  .refine((n) => n <= MAX_MEMORY, { error: (iss) => `${humanSize(Number(iss.input))} is more than 16T: is the unit right?` })
  .prefault("2G")
  .describe("guest RAM; default 2G (512M, 2G, 2GiB, 4096M or bytes)");

const Boot = z
  .strictObject({
    kernel: Path.describe("kernel image for direct kernel boot; relative to the spec file"),
    initrd: Path.optional().describe("initial ramdisk"),
    append: z
      .string()
      .regex(/^[^\u0000\n\r]*$/, { error: "must be one line" })
      .optional()
      .describe("kernel command line"),
  })
  .describe("direct kernel boot (skips the firmware's boot menu)");

const Forward = z.strictObject({
  host: Port.describe("port on the host, bound to 127.0.0.1"),
  guest: Port.describe("port in the guest"),
  proto: z.enum(["tcp", "udp"]).default("tcp"),
});

/** An authorized_keys line (a public key), never a private key. */
const PublicKey = z
  .string()
  .regex(/^(?:[^\n]*\s)?(?:ssh-[a-z0-9-]+|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9-]+@openssh\.com)\s+AAAA[A-Za-z0-9+/]+=*(?:\s[^\n]*)?$/, {
    error: (iss) =>
      /PRIVATE KEY/.test(String(iss.input))
        ? "this is a private key: give the public one (the .pub file's line)"
        : "expected an SSH public key such as ssh-ed25519 AAAA... user@host",
  });

const CloudInit = z
  .union([
    z.boolean(),
    z.strictObject({
      user: z
        .string()
        .regex(/^[a-z_][a-z0-9_-]{0,31}$/, { error: "expected a Linux user name: lowercase letters, digits, '_' and '-'" })
        .default("qfleet")
        .describe("the login user cloud-init creates, with sudo and the fleet's SSH key; default qfleet"),
      ssh_authorized_keys: z.array(PublicKey).default([]).describe("more public keys for that user (the fleet's own key is always added)"),
      user_data: Path.optional().describe("a cloud-init user-data file merged in (#cloud-config, a script, ...); relative to the spec file"),
    }),
  ])
  .describe("a cloud-init NoCloud seed for stock cloud images: true, or { user, ssh_authorized_keys, user_data }; false or absent: none");

const VmObject = z
  .strictObject({
    name: Name.optional().describe("optional; must equal the file's name when given"),
    profile: z
      .union([Name, z.array(Name).min(1)])
      .optional()
      .describe("profiles/NAME.yaml to start from: one name, or a list applied in order; this file's own fields win"),
    host: Name.default("local").describe("'local' (default) or a host from hosts.yaml"),
    arch: Arch.optional(),
    vcpus: z.int().min(1).max(512).default(2).describe("virtual CPUs, 1..512; default 2"),
    memory: Memory,
    state: z.enum(["running", "stopped", "absent"]).default("running").describe("absent deletes the VM and its disks"),
    disks: z.array(DiskSchema).optional().describe("disks in boot order: {size}, {path} or {path, overlay: true}"),
    disk: DiskShorthand.optional(),
    iso: Path.optional().describe("an ISO image attached as a CD-ROM; relative to the spec file"),
    boot: Boot.optional(),
    firmware: z.enum(["bios", "uefi"]).optional().describe("default bios on x86_64, uefi on aarch64"),
    accel: Accel.default("auto"),
    ssh: z
      .strictObject({ port: Port.describe("host port forwarded to the guest's 22") })
      .optional()
      .describe("SSH into the guest through 127.0.0.1:port"),
    forwards: z.array(Forward).default([]).describe("host ports forwarded to guest ports"),
    protected: z.boolean().default(false).describe("refuse to delete this VM"),
    cloud_init: CloudInit.optional(),
    display: z
      .enum(["none", "vnc"])
      .default("none")
      .describe("none (default), or vnc: a graphics card and a VNC server on a unix socket in the instance folder, for screenshots and keys"),
    vm_dir: Path.optional().describe("where instance folders live; default: the host's vm_dir, $QFLEET_VM_DIR, /var/lib/qemu"),
  })
  .meta({ title: "qemu-fleet VM spec", description: "One VM of a qemu-fleet: vms/NAME.yaml" });

export interface PortClaim {
  port: number;
  proto: "tcp" | "udp";
  path: (string | number)[];
}

/** Every host port a spec binds. Tolerates half-valid input (it also runs on raw values). */
export function portClaims(spec: { ssh?: unknown; forwards?: unknown }): PortClaim[] {
  const claims: PortClaim[] = [];
  const ssh = spec.ssh as { port?: unknown } | undefined;
  if (ssh && typeof ssh.port === "number") claims.push({ port: ssh.port, proto: "tcp", path: ["ssh", "port"] });
  if (Array.isArray(spec.forwards))
    spec.forwards.forEach((f: { host?: unknown; proto?: unknown } | null, i) => {
      if (f && typeof f.host === "number") claims.push({ port: f.host, proto: f.proto === "udp" ? "udp" : "tcp", path: ["forwards", i, "host"] });
    });
  return claims;
}

export const describeClaim = (c: PortClaim) => c.path.join(".");

export const VmSpecSchema = VmObject.superRefine(
  (v, ctx) => {
    if (v.disk !== undefined && v.disks !== undefined)
      ctx.addIssue({ code: "custom", path: ["disk"], message: "give either disk (one-line form) or disks (a list), not both" });
    const seen = new Map<string, PortClaim>();
    for (const c of portClaims(v)) {
      const other = seen.get(`${c.port}/${c.proto}`);
      if (other) ctx.addIssue({ code: "custom", path: c.path, message: `host port ${c.port}/${c.proto} is also used by ${describeClaim(other)}` });
      else seen.set(`${c.port}/${c.proto}`, c);
    }
  },
  { when: (p) => typeof p.value === "object" && p.value !== null },
).transform(({ disk, disks, ...rest }) => ({ ...rest, disks: disk ? [disk] : (disks ?? []) }));

export type VmSpec = z.output<typeof VmSpecSchema>;
/** The object schema before folding `disk:` into `disks` (its shape is the set of known keys). */
export const VmObjectSchema = VmObject;
