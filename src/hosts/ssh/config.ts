import { readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { hostFieldMatches } from "./known-hosts.js";

/**
 * The part of ~/.ssh/config qemu-fleet honours for a host alias: HostName, Port, User and
 * IdentityFile, read as ssh(1) does (the first value found wins; IdentityFile accumulates;
 * `Host` patterns with `*`, `?` and `!`; `Include` of plain or globbed files in ~/.ssh).
 * `Match` blocks are skipped (their conditions are not evaluated), so nothing they set
 * applies. `~` and the tokens %d %h %u %r %% are expanded in IdentityFile.
 */
export interface SshConfigEntry {
  hostName?: string;
  port?: number;
  user?: string;
  identityFiles: string[];
}

export function lookupSshConfig(alias: string, file = path.join(os.homedir(), ".ssh", "config")): SshConfigEntry {
  const out: SshConfigEntry = { identityFiles: [] };
  applyFile(file, alias.toLowerCase(), out, 0);
  const home = os.homedir();
  const tokens: Record<string, string> = {
    d: home,
    h: out.hostName ?? alias,
    u: os.userInfo().username,
    r: out.user ?? os.userInfo().username,
    "%": "%",
  };
  out.identityFiles = out.identityFiles.map((f) => f.replace(/^~(?=\/|$)/, home).replace(/%([dhur%])/g, (_, t: string) => tokens[t]));
  return out;
}

function applyFile(file: string, alias: string, out: SshConfigEntry, depth: number): void {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return; // no config file: nothing to apply
  }
  let active = true;
  for (const raw of text.split("\n")) {
    const m = /^\s*(\w+)\s*(?:=\s*|\s+)(.*?)\s*$/.exec(raw);
    if (!m || raw.trim().startsWith("#")) continue;
    const key = m[1].toLowerCase();
    const values = words(m[2]);
    if (key === "host") active = hostFieldMatches(values.join(","), alias);
    else if (key === "match") active = false;
    else if (!active) continue;
    else if (key === "include" && depth < 8) for (const f of values.flatMap((v) => expandInclude(v))) applyFile(f, alias, out, depth + 1);
    else if (key === "hostname") out.hostName ??= values[0];
    else if (key === "port") out.port ??= Number(values[0]) || undefined;
    else if (key === "user") out.user ??= values[0];
    else if (key === "identityfile" && values[0] && values[0].toLowerCase() !== "none") out.identityFiles.push(values[0]);
  }
}

/** Whitespace-separated words; "double quotes" group. */
function words(s: string): string[] {
  return [...s.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]);
}

function expandInclude(pattern: string): string[] {
  const p = pattern.replace(/^~(?=\/)/, os.homedir());
  const abs = path.isAbsolute(p) ? p : path.join(os.homedir(), ".ssh", p);
  if (!/[*?]/.test(path.basename(abs))) return [abs];
  try {
    const dir = path.dirname(abs);
    const re = new RegExp(
      `^${path
        .basename(abs)
        .replace(/[.+^${}()|[\]\\]/g, "\\$&")
        .replaceAll("*", ".*")
        .replaceAll("?", ".")}$`,
    );
    return readdirSync(dir)
      .filter((n) => re.test(n))
      .sort()
      .map((n) => path.join(dir, n));
  } catch {
    return [];
  }
}
