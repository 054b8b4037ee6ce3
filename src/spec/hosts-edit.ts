import path from "node:path";
import { isMap, parseDocument } from "yaml";
import { QfleetError } from "../errors.js";
import { formatIssue } from "./issues.js";
import { NAME_RE } from "./fields.js";
import type { HostEntry } from "./hosts-schema.js";
import { validateHostsText } from "./validate-doc.js";
import type { Host } from "../hosts/host.js";

/** How an MCP tool call names a host directly. `ssh_pwd` is a secret: returned, never stored. */
export interface AdhocHostArgs {
  host: string;
  ssh_port?: number;
  ssh_user?: string;
  ssh_key?: string;
  ssh_pwd?: string;
}

const LOCAL_NAMES = new Set(["local", "localhost", "127.0.0.1", "::1"]);
let writing: Promise<unknown> = Promise.resolve();

/**
 * Turns a tool call's host arguments into a host name specs can refer to. Contracts:
 * - `local` (or localhost / 127.0.0.1 / ::1 with no SSH argument) is this machine;
 * - a hosts.yaml name is used as it is;
 * - otherwise the hosts.yaml entry with the same address and port (and the same user and key,
 *   when given) is reused; if there is none, one is added under a name made from the address
 *   (and port), holding address, port, user and key path only. The file is edited with the
 *   yaml Document API (comments kept), validated, and written atomically;
 * - the password is handed back for this one call (see HostRegistry.withPassword) and is
 *   never written anywhere.
 */
export async function resolveAdhocHost(
  host: Host,
  dir: string,
  a: AdhocHostArgs,
  opts: { add?: boolean } = {},
): Promise<{ name: string; password?: string }> {
  const pw = a.ssh_pwd === undefined ? {} : { password: a.ssh_pwd };
  const sshArgs = a.ssh_port !== undefined || a.ssh_user !== undefined || a.ssh_key !== undefined || a.ssh_pwd !== undefined;
  if (a.host === "local" || (LOCAL_NAMES.has(a.host) && !sshArgs)) return { name: "local" };
  const key = a.ssh_key === undefined ? undefined : await checkKeyPath(host, a.ssh_key);
  const run = writing.then(() => matchOrAdd(host, dir, a, key, opts.add ?? true));
  writing = run.catch(() => undefined); // one hosts.yaml edit at a time in this process
  return { name: await run, ...pw };
}

async function matchOrAdd(host: Host, dir: string, a: AdhocHostArgs, key: string | undefined, add: boolean): Promise<string> {
  const file = path.join(path.resolve(dir), "hosts.yaml");
  const before = (await host.stat(file)) ? await host.readFile(file) : "";
  const current = validateHostsText(before, "hosts.yaml", file);
  if (!current.hosts) throw new QfleetError("INVALID_SPEC", `hosts.yaml is invalid; fix it first: ${current.issues.map(formatIssue).join("; ")}`);
  const hosts: Record<string, HostEntry> = current.hosts.hosts;
  if (hosts[a.host] && a.ssh_port === undefined && a.ssh_user === undefined && key === undefined) return a.host;
  const port = a.ssh_port ?? 22;
  const same = Object.entries(hosts).find(
    ([, e]) =>
      e.address === a.host &&
      e.port === port &&
      (a.ssh_user === undefined || e.user === a.ssh_user) &&
      (key === undefined || e.identity_file === key),
  );
  if (same) return same[0];
  if (!add) {
    throw new QfleetError("NOT_FOUND", `host ${a.host}:${port} is not in hosts.yaml, and this server is read-only`, {
      hint: "add it to hosts.yaml, or call the tool on a server started without --read-only",
    });
  }

  const name = freeName(a.host, port, Object.keys(hosts));
  const doc = parseDocument(before || "hosts: {}\n");
  if (!isMap(doc.get("hosts"))) doc.set("hosts", doc.createNode({}));
  const entry = {
    address: a.host,
    ...(port !== 22 && { port }),
    ...(a.ssh_user !== undefined && { user: a.ssh_user }),
    ...(key !== undefined && { identity_file: key }),
  };
  doc.setIn(["hosts", name], doc.createNode(entry));
  const text = doc.toString();
  const after = validateHostsText(text, "hosts.yaml", file);
  if (!after.hosts) throw new QfleetError("BAD_INPUT", `host ${a.host}: ${after.issues.map((i) => `${i.field}: ${i.message}`).join("; ")}`);
  await host.writeFile(file, text);
  return name;
}

/** A hosts.yaml name for an address: `10-0-0-5`, `build.example.org-2222`, made unique. */
function freeName(address: string, port: number, taken: string[]): string {
  const base = `${
    address
      .replace(/[^A-Za-z0-9._-]+/g, "-")
      .replace(/^[^A-Za-z0-9]+/, "")
      .replaceAll(".", "-") || "host"
  }${port !== 22 ? `-${port}` : ""}`.slice(0, 56);
  for (let i = 1; ; i++) {
    const n = i === 1 ? base : `${base}-${i}`;
    if (n !== "local" && NAME_RE.test(n) && !taken.includes(n)) return n;
  }
}

async function checkKeyPath(host: Host, p: string): Promise<string> {
  if (/-----BEGIN|PRIVATE KEY/.test(p) || p.includes("\n"))
    throw new QfleetError("BAD_INPUT", "ssh_key takes the path of a private key file on this machine, not the key itself");
  const abs = path.resolve(p);
  if (!(await host.stat(abs))) throw new QfleetError("NOT_FOUND", `ssh_key: no such file ${abs}`);
  return abs;
}
