import type { Host } from "../hosts/host.js";
import { didYouMean, fieldOf, type SpecIssue } from "./issues.js";
import type { Locate } from "./locate.js";
import { describeClaim, portClaims, type VmSpec } from "./schema.js";

/**
 * Checks that need more than one file: host names against hosts.yaml, paths against a
 * machine, host ports across specs. Each returns located issues and never throws for bad
 * specs (a failing `stat` still rejects: that is the machine's problem, not the spec's).
 */
export interface CheckedSpec {
  /** VM name (from the file name). */
  name: string;
  /** File as shown in issues, e.g. "vms/web1.yaml". */
  file: string;
  spec?: VmSpec;
  raw?: unknown;
  locate: Locate;
}

const issueAt = (c: CheckedSpec, path: (string | number)[], message: string): SpecIssue => ({
  file: c.file,
  ...c.locate(path),
  field: fieldOf(path),
  message,
});

export function checkHostKnown(c: CheckedSpec, hostNames: readonly string[]): SpecIssue[] {
  const h = c.spec?.host;
  if (h === undefined || h === "local" || hostNames.includes(h)) return [];
  const known = hostNames.filter((n) => n !== "local");
  return [
    issueAt(
      c,
      ["host"],
      `unknown host '${h}': use 'local' or a host from hosts.yaml${known.length ? ` (${known.join(", ")})` : " (there is none)"}${didYouMean(h, ["local", ...known])}`,
    ),
  ];
}

/**
 * Files the VM needs that must already exist on `host`: iso, boot.kernel, boot.initrd,
 * overlay bases, and disks given by path without a size to create them from.
 * `only(field)` limits the check to some fields (the writer checks what it changed).
 */
export async function checkPaths(host: Host, c: CheckedSpec, only: (field: string) => boolean = () => true): Promise<SpecIssue[]> {
  const s = c.spec;
  if (!s) return [];
  const shorthand = (c.raw as { disk?: unknown } | undefined)?.disk !== undefined;
  const wanted: { path: (string | number)[]; file: string; what: string; tip?: string }[] = [];
  if (s.iso !== undefined) wanted.push({ path: ["iso"], file: s.iso, what: "ISO image" });
  if (s.boot) wanted.push({ path: ["boot", "kernel"], file: s.boot.kernel, what: "kernel" });
  if (s.boot?.initrd !== undefined) wanted.push({ path: ["boot", "initrd"], file: s.boot.initrd, what: "initrd" });
  if (typeof s.cloud_init === "object" && s.cloud_init.user_data !== undefined)
    wanted.push({ path: ["cloud_init", "user_data"], file: s.cloud_init.user_data, what: "cloud-init user_data file" });
  s.disks.forEach((d, i) => {
    if (d.path === undefined || (!d.overlay && d.size !== undefined)) return;
    const path = shorthand ? ["disk"] : ["disks", i, "path"];
    wanted.push(
      d.overlay ? { path, file: d.path, what: "overlay base image" } : { path, file: d.path, what: "disk image", tip: " (give size: to create it)" },
    );
  });
  const issues: SpecIssue[] = [];
  for (const w of wanted.filter((w) => only(fieldOf(w.path)))) {
    const st = await host.stat(w.file);
    if (!st) issues.push(issueAt(c, w.path, `no such ${w.what}: ${w.file}${w.tip ?? ""}`));
    else if (st.kind === "dir") issues.push(issueAt(c, w.path, `the ${w.what} is a folder, not a file: ${w.file}`));
  }
  return issues;
}

/** Two VMs on one host must not bind the same host port (per protocol); reported at each. A spec with state: absent claims none. */
export function checkPortClashes<C extends CheckedSpec>(specs: readonly C[]): Map<C, SpecIssue[]> {
  const byKey = new Map<string, { c: C; claim: ReturnType<typeof portClaims>[number] }[]>();
  for (const c of specs) {
    if (!c.spec || c.spec.state === "absent") continue; // a VM being deleted binds nothing
    for (const claim of portClaims(c.spec)) {
      const key = `${c.spec.host}\0${claim.port}/${claim.proto}`;
      byKey.set(key, [...(byKey.get(key) ?? []), { c, claim }]);
    }
  }
  const out = new Map<C, SpecIssue[]>();
  for (const claims of byKey.values()) {
    if (new Set(claims.map((x) => x.c)).size < 2) continue;
    for (const { c, claim } of claims) {
      const others = claims.filter((o) => o.c !== c).map((o) => `${o.c.file} (${describeClaim(o.claim)})`);
      const msg = `host port ${claim.port}/${claim.proto} is also claimed by ${others.join(", ")} on host ${c.spec!.host}`;
      out.set(c, [...(out.get(c) ?? []), issueAt(c, claim.path, msg)]);
    }
  }
  return out;
}
