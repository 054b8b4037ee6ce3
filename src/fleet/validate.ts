import { LOCAL } from "../hosts/local.js";
import type { SpecIssue } from "../spec/issues.js";
import { attributeTo, sortIssues } from "../spec/issues.js";
import { loadFleet, type Fleet, type LoadOptions } from "../spec/load.js";
import { loadProfiles } from "../spec/profiles.js";
import { specLabel } from "../spec/store.js";
import { validateVmText } from "../spec/validate-doc.js";
import { resolveOn } from "./resolve.js";

/**
 * `qfleet validate`: every problem of the specs and hosts.yaml, plus what the QEMU on this
 * machine would refuse when a local VM starts (too many vCPUs for the machine type, too long a
 * socket path), located at the field to change. Contacts no remote host: their VMs are checked
 * this way by plan and reconcile.
 */
export async function validateFleet(dir: string, opts: LoadOptions = {}): Promise<Fleet> {
  const fleet = await loadFleet(LOCAL, dir, opts);
  const extra: SpecIssue[] = [];
  const profiles = await loadProfiles(LOCAL, fleet.dir);
  for (const s of fleet.specs.filter((x) => x.spec.host === "local")) {
    const { launchProblems = [] } = await resolveOn(LOCAL, fleet.hosts.local, s, fleet.dir);
    if (!launchProblems.length) continue;
    const file = specLabel(s.file);
    const { locate, raw } = validateVmText(s.text, file, s.file, profiles); // raw and locate: merged with its profiles
    for (const p of launchProblems) {
      const given = raw && typeof raw === "object" && p.field in raw;
      extra.push(...attributeTo([{ file, ...(given ? locate([p.field]) : { line: 1, col: 1 }), field: p.field, message: p.message }], file));
    }
  }
  if (!extra.length) return fleet;
  const bad = new Set(extra.map((i) => i.usedBy?.[0] ?? i.file));
  const invalid = fleet.specs.filter((s) => bad.has(specLabel(s.file))).map((s) => s.name);
  return {
    ...fleet,
    specs: fleet.specs.filter((s) => !invalid.includes(s.name)),
    invalid: [...fleet.invalid, ...invalid].sort(),
    issues: sortIssues([...fleet.issues, ...extra]),
  };
}
