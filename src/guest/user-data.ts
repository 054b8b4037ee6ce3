import { createHash } from "node:crypto";
import { Document, isMap, isNode, isScalar, isSeq, parseDocument, type YAMLMap, type YAMLSeq } from "yaml";
import { QfleetError } from "../errors.js";

/**
 * The user's own cloud-init user-data combined with qfleet's: a #cloud-config is merged as
 * YAML; any other format cloud-init reads goes in a MIME multipart container, after qfleet's
 * own #cloud-config part.
 *
 * cloud-init picks a part's handler from its Content-Type, or for a plain text from how it
 * starts (longest matching prefix wins: "#cloud-config-archive" before "#cloud-config",
 * "#include-once" before "#include"). A whole user-data is read as MIME when its first 4096
 * bytes contain "MIME-Version:"; parts of a multipart/mixed may themselves be multipart
 * (cloud-init walks them all), which is how a user's own MIME message is nested unchanged.
 */

const PREFIX_TYPES: [string, string][] = (
  [
    ["#cloud-config", "text/cloud-config"],
    ["#cloud-config-archive", "text/cloud-config-archive"],
    ["#cloud-config-jsonp", "text/cloud-config-jsonp"],
    ["#cloud-boothook", "text/cloud-boothook"],
    ["#include", "text/x-include-url"],
    ["#include-once", "text/x-include-once-url"],
    ["#part-handler", "text/part-handler"],
    ["## template: jinja", "text/jinja2"],
    ["#!", "text/x-shellscript"],
  ] as [string, string][]
).sort((a, b) => b[0].length - a[0].length);

export type UserDataKind = { kind: "cloud-config" } | { kind: "part"; contentType: string } | { kind: "mime" };

/** Header block of an RFC 822 message: header lines up to the first blank line. */
const HEADERS = /^(?:[A-Za-z][A-Za-z0-9-]*:[^\n]*\n(?:[ \t][^\n]*\n)*)+\r?\n/;

/** What the user's user_data is, or a BAD_INPUT error naming the formats accepted. */
export function classifyUserData(text: string): UserDataKind {
  const hit = PREFIX_TYPES.find(([prefix]) => text.startsWith(prefix));
  if (hit) return hit[1] === "text/cloud-config" ? { kind: "cloud-config" } : { kind: "part", contentType: hit[1] };
  const head = HEADERS.exec(text.replace(/\r\n/g, "\n"))?.[0];
  if (head && /^content-type:/im.test(head)) return { kind: "mime" };
  const first = JSON.stringify(text.split("\n", 1)[0].slice(0, 40));
  throw new QfleetError("BAD_INPUT", `user_data starts with ${first}, which is no user-data format cloud-init accepts`, {
    hint:
      `start it with ${PREFIX_TYPES.map(([p]) => JSON.stringify(p)).join(", ")}, ` +
      `or give a MIME message (headers with Content-Type, a blank line, then the body)`,
  });
}

export interface MimePart {
  /** Content type of a text part; undefined: `body` is a whole MIME message (headers included). */
  contentType?: string;
  filename?: string;
  body: string;
}

const isAscii = (s: string) => /^[\x00-\x7f]*$/.test(s);

function renderPart(p: MimePart): string {
  if (p.contentType === undefined) return p.body;
  const ascii = isAscii(p.body);
  const body = ascii
    ? p.body
    : (
        Buffer.from(p.body, "utf8")
          .toString("base64")
          .match(/.{1,76}/g) ?? []
      ).join("\n");
  return [
    `Content-Type: ${p.contentType}; charset="utf-8"`,
    "MIME-Version: 1.0",
    `Content-Transfer-Encoding: ${ascii ? "7bit" : "base64"}`,
    ...(p.filename ? [`Content-Disposition: attachment; filename="${p.filename}"`] : []),
    "",
    body,
  ].join("\n");
}

/**
 * A multipart/mixed message of `parts`, in order. The boundary is derived from the content
 * (same input, same bytes) and checked to occur in no part. The line break in front of each
 * delimiter belongs to the delimiter, so every part's text comes back exactly as given.
 */
export function multipartMixed(parts: MimePart[]): string {
  const bodies = parts.map(renderPart);
  const digest = createHash("sha256").update(bodies.join("\0")).digest("hex");
  let boundary = `==qfleet-${digest.slice(0, 32)}==`;
  for (let n = 1; bodies.some((b) => b.includes(boundary)); n++) boundary = `==qfleet-${digest.slice(0, 32)}-${n}==`;
  const out = [`Content-Type: multipart/mixed; boundary="${boundary}"`, "MIME-Version: 1.0", ""];
  for (const b of bodies) out.push(`--${boundary}`, b);
  out.push(`--${boundary}--`, "");
  return out.join("\n");
}

const bad = (message: string) => new QfleetError("BAD_INPUT", message);

/** The name of a cloud-config `users` entry: "name" or { name: ... }. */
const entryName = (u: unknown) => (typeof u === "string" ? u.trim() : u && typeof u === "object" ? (u as { name?: unknown }).name : undefined);

/**
 * Our `users` entry as a block-style node, its sudo rule double-quoted: a plain
 * `ALL=(ALL) NOPASSWD:ALL` is fine in block context, but old PyYAML (before 5.1) rejects a
 * ':' inside a plain scalar in flow context.
 */
export function userNode(doc: Document, ours: Record<string, unknown>): YAMLMap {
  const node = doc.createNode(ours) as YAMLMap;
  node.flow = false;
  const sudo = node.get("sudo", true);
  if (isScalar(sudo)) sudo.type = "QUOTE_DOUBLE";
  return node;
}

/** Parses the user's #cloud-config and adds qfleet's user and hostname to it. */
export function mergeCloudConfig(text: string, hostname: string, ours: Record<string, unknown>): string {
  const doc: Document = parseDocument(text, { version: "1.1" });
  const err = doc.errors[0];
  if (err) {
    const pos = err.linePos?.[0];
    const where = pos ? `line ${pos.line}, column ${pos.col}` : "unknown position";
    throw bad(`user_data (#cloud-config) is not valid YAML at ${where}: ${err.message.split(/ at line \d+|\n/)[0]}`);
  }
  try {
    doc.toJS({ maxAliasCount: 100 }); // unresolved or runaway aliases only show here
  } catch (e) {
    throw bad(`user_data (#cloud-config) is not valid YAML: ${(e as Error).message}`);
  }
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) doc.contents = doc.createNode({});
  if (!isMap(doc.contents)) throw bad("user_data (#cloud-config) must be a YAML mapping (key: value lines) at the top level");

  doc.contents.flow = false; // our entries are written in block style (see userNode)
  const users = doc.get("users", true);
  const keep = (u: unknown) => entryName(u) !== ours.name;
  if (isSeq(users)) {
    // edited in place, so the user's comments and layout stay
    const js = users.toJS(doc) as unknown[];
    users.items = users.items.filter((_, i) => keep(js[i]));
    users.items.push(userNode(doc, ours));
    users.flow = false;
  } else {
    const value = isNode(users) ? users.toJS(doc) : users;
    let listed: unknown[];
    if (value === undefined || value === null) listed = [];
    else if (typeof value === "string")
      listed = value
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
    else if (Array.isArray(value)) listed = value;
    else throw bad("user_data (#cloud-config): `users` must be a list (or a comma-separated string)");
    doc.set("users", doc.createNode(listed.filter(keep)));
    (doc.get("users") as YAMLSeq).items.push(userNode(doc, ours));
  }
  doc.set("hostname", hostname);
  if (!doc.has("ssh_pwauth")) doc.set("ssh_pwauth", false);
  const out = doc.toString({ lineWidth: 0 });
  return out.startsWith("#cloud-config") ? out : `#cloud-config\n${out}`;
}
