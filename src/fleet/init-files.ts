import { SCHEMA_COMMENT } from "../spec/write.js";

/**
 * The files `qfleet init` writes into a new fleet repository (besides fleet.yaml and the
 * schemas). Contract: the example spec and profile validate as they are, and the example VM
 * says state: stopped, so nothing boots by accident.
 */
export const EXAMPLE_SPEC = `${SCHEMA_COMMENT}
#
# An example VM. The file name is the VM's name; every field is optional (the README's "VM
# spec reference" lists them). \`qfleet validate\` checks this file, \`qfleet plan\` shows what
# \`qfleet reconcile\` would do. It says state: stopped, so a reconcile makes its disk and
# starts nothing: give it something to boot (an iso, or a disk with path:), then set
# state: running or run \`qfleet start example\`.
profile: small                  # profiles/small.yaml: settings VMs share; the fields below win
disks:
  - size: 10G                   # disk0.qcow2 in the instance folder; raising it grows it, never shrinks
# iso: /data/iso/debian-12.iso  # an installer on the CD-ROM (relative paths: from this folder)
ssh: { port: 2201 }             # host 127.0.0.1:2201 -> the guest's port 22
state: stopped
`;

export const EXAMPLE_PROFILE = `# yaml-language-server: $schema=../schemas/profile.schema.json
#
# A profile: VM settings that specs share. A spec says \`profile: small\` (or a list such as
# \`profile: [small, lab]\`, applied in order) and its own fields win: mappings merge key by
# key, lists (disks, forwards) are replaced whole, never concatenated. Any spec field but name
# can be here; relative paths are relative to this folder. Editing a profile re-plans every VM
# that uses it.
vcpus: 2
memory: 2G
accel: auto                     # kvm (or hvf) when usable, else tcg
`;

export const HOSTS_FILE = `# yaml-language-server: $schema=./schemas/hosts.schema.json
#
# The machines VMs run on besides this one (a spec says host: NAME), reached over SSH.
# No secrets here: a password or key passphrase lives in an environment variable named below.
#
# hosts:
#   local:                      # this machine
#     vm_dir: /srv/qemu         # where instance folders live (default /var/lib/qemu, or $QFLEET_VM_DIR)
#   lab1:
#     address: 10.0.0.5         # or an alias from ~/.ssh/config
#     user: ops
#     identity_file: keys/lab   # relative to this file; optional with ssh-agent
#     vm_dir: /srv/qemu
`;

/** The lines a fleet's .gitignore needs (appended to an existing one that lacks them). */
export const GITIGNORE_LINES = ["# qemu-fleet: the fleet's SSH key and the guests' host keys (never in git)", ".qfleet/", "# caches", ".cache/"];

/**
 * .mcp.json for Claude Code: the installed qfleet (on PATH) serving the fleet it is started in
 * (Claude Code starts it in the project's root; qfleet mcp finds the fleet from there upward).
 * No path in it, so the file works in every checkout of the repository.
 */
export function mcpJson(): string {
  return JSON.stringify({ mcpServers: { qemu: { type: "stdio", command: "qfleet", args: ["mcp"] } } }, null, 2) + "\n";
}
