import { createHash } from "node:crypto";
import { Document, stringify, type YAMLSeq } from "yaml";
import { QfleetError } from "../errors.js";
import { classifyUserData, mergeCloudConfig, multipartMixed, userNode } from "./user-data.js";

/**
 * The files of a cloud-init NoCloud seed (pure). The seed is a FAT image labelled "cidata"
 * (see fat-image.ts) holding:
 *   meta-data  YAML: instance-id, local-hostname
 *   user-data  a #cloud-config document, or a MIME multipart/mixed message when the user's
 *              own user_data is a script, include, boothook or MIME message
 * No network-config: cloud-init's fallback (DHCP on the first NIC) is what qfleet VMs use.
 *
 * cloud-init runs its per-instance modules (users, keys, hostname...) again only when the
 * instance-id changes, so the id is a hash of the canonical input (hostname, user, trimmed
 * keys, user_data) and RENDER_VERSION: it changes exactly when one of them does.
 *
 * YAML is read and written as YAML 1.1, the dialect of cloud-init's PyYAML: `0644` stays
 * octal and `yes`/`on` stay booleans, and strings that 1.1 would misread are quoted.
 */

export interface SeedInput {
  /** The VM name; becomes the guest's hostname. */
  hostname: string;
  /** The account qfleet logs in with (default "qfleet"): passwordless sudo, key-only SSH. */
  user?: string;
  /** OpenSSH public keys (authorized_keys lines). Private keys are refused. */
  sshAuthorizedKeys: string[];
  /** The user's own cloud-init user-data, merged with or appended to qfleet's. */
  userData?: string;
}

export interface SeedFile {
  name: string;
  data: Buffer;
}

export interface Seed {
  files: SeedFile[];
  instanceId: string;
}

export const DEFAULT_SEED_USER = "qfleet";
/** Bump when the rendering changes, so that guests pick up the new user-data. */
const RENDER_VERSION = 1;
/** Same rule as VM names (spec/fields.ts NAME_RE). */
const HOSTNAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const USER_RE = /^[a-z_][a-z0-9_-]{0,31}$/;
/** An authorized_keys line: optional options, then a key type and a base64 blob ("AAAA..."). */
const PUBLIC_KEY_RE =
  /(?:^|\s)(?:ssh-[a-z0-9-]+|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9-]+@openssh\.com)(?:-cert-v01@openssh\.com)?\s+AAAA[A-Za-z0-9+/]+=*(?:\s|$)/;

const bad = (message: string, hint?: string) => new QfleetError("BAD_INPUT", message, hint ? { hint } : {});

function checkKeys(keys: string[]): string[] {
  return keys.map((raw, i) => {
    const key = raw.trim();
    const where = `sshAuthorizedKeys[${i}]`;
    if (/PRIVATE KEY|BEGIN OPENSSH/i.test(key))
      throw bad(`${where} looks like a private key; refusing to put it in the VM's user-data`, "give the public key: the one-line .pub file");
    if (/[\r\n]/.test(key)) throw bad(`${where} spans several lines; give one public key per entry`);
    if (!PUBLIC_KEY_RE.test(key)) throw bad(`${where} is not an OpenSSH public key`, 'expected a line like "ssh-ed25519 AAAAC3Nza... user@host"');
    return key;
  });
}

/** meta-data, user-data and the instance-id for one VM. Throws BAD_INPUT on unusable input. */
export function renderSeed(input: SeedInput): Seed {
  const { hostname } = input;
  const user = input.user ?? DEFAULT_SEED_USER;
  if (!HOSTNAME_RE.test(hostname))
    throw bad(
      `cannot use ${JSON.stringify(hostname)} as a hostname: use letters, digits, '.', '_' and '-', starting with a letter or digit, at most 63 characters`,
    );
  if (!USER_RE.test(user))
    throw bad(
      `cannot use ${JSON.stringify(user)} as a user name: use lower-case letters, digits, '_' and '-', starting with a letter or '_', at most 32 characters`,
    );
  const keys = checkKeys(input.sshAuthorizedKeys);
  const userData = input.userData?.trim() ? input.userData : undefined;

  const ours: Record<string, unknown> = {
    name: user,
    sudo: "ALL=(ALL) NOPASSWD:ALL",
    shell: "/bin/bash",
    lock_passwd: true,
    ...(keys.length ? { ssh_authorized_keys: keys } : {}),
  };
  const base = () => {
    const doc = new Document({ hostname, users: [], ssh_pwauth: false }, { version: "1.1" });
    (doc.get("users") as YAMLSeq).items.push(userNode(doc, ours));
    return `#cloud-config\n${doc.toString({ lineWidth: 0 })}`;
  };

  let userDataText: string;
  if (userData === undefined) userDataText = base();
  else {
    const kind = classifyUserData(userData);
    if (kind.kind === "cloud-config") userDataText = mergeCloudConfig(userData, hostname, ours);
    else
      userDataText = multipartMixed([
        { contentType: "text/cloud-config", filename: "qfleet.cfg", body: base() },
        kind.kind === "mime" ? { body: userData } : { contentType: kind.contentType, filename: "user-data", body: userData },
      ]);
  }

  const canonical = JSON.stringify({ v: RENDER_VERSION, hostname, user, keys, userData: userData ?? null });
  const instanceId = `qfleet-${hostname}-${createHash("sha256").update(canonical).digest("hex").slice(0, 12)}`;
  const metaData = stringify({ "instance-id": instanceId, "local-hostname": hostname }, { version: "1.1" });
  return {
    instanceId,
    files: [
      { name: "meta-data", data: Buffer.from(metaData, "utf8") },
      { name: "user-data", data: Buffer.from(userDataText, "utf8") },
    ],
  };
}
