import * as z from "zod";
import { VmObjectSchema } from "./schema.js";

/**
 * The schemas of the layers a VM is built from: `profiles/NAME.yaml` and a spec that names
 * profiles. Each layer is checked on its own with these (every field optional; a mapping such
 * as `boot:` may be partial, since mappings merge), and the merged result with VmSpecSchema.
 * Lists (disks, forwards) are replaced whole by a higher layer, so their items stay complete.
 */
const shape = VmObjectSchema.shape;
const boot = shape.boot
  .unwrap()
  .partial()
  .optional()
  .describe("direct kernel boot: { kernel, initrd, append }; merged with the spec's boot, key by key");
const ssh = shape.ssh.unwrap().partial().optional().describe("SSH into the guest through 127.0.0.1:port");
const { name: _name, profile: _profile, ...fields } = shape;

export const ProfileSchema = z.strictObject({ ...fields, boot, ssh }).meta({
  title: "qemu-fleet profile",
  description:
    "Shared VM settings: profiles/NAME.yaml, used by specs that say profile: NAME. Every field is optional; a spec's own fields win (mappings merge key by key, lists are replaced).",
});

/** A spec that names profiles, checked before the merge: like ProfileSchema, plus name and profile. */
export const SpecLayerSchema = z.strictObject({ ...shape, boot, ssh });

/** Why a profile cannot hold a key that a spec can (for the "unknown key" message). */
export const NOT_IN_PROFILE: Record<string, string> = {
  name: "a profile cannot set name: a VM's name is its spec's file name",
  profile: "profiles do not name other profiles: list them all in the spec (profile: [base, big])",
};
