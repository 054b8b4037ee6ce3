import path from "node:path";
import { QfleetError } from "../errors.js";
import { formatIssue, loadHosts } from "../spec/load.js";
import { LOCAL } from "../hosts/local.js";
import { HostRegistry } from "../hosts/registry.js";

/**
 * A registry from `<dir>/hosts.yaml` alone (no vms/ needed), for commands that act on one named
 * host (image operations). A missing hosts.yaml knows only `local`; an invalid one is refused.
 */
export async function registryFromDir(dir: string): Promise<HostRegistry> {
  const { hosts, issues } = await loadHosts(LOCAL, path.resolve(dir));
  if (issues.length)
    throw new QfleetError("INVALID_SPEC", `hosts.yaml has ${issues.length} problem(s): ${formatIssue(issues[0])}`, {
      hint: "run qfleet validate to see them all",
    });
  return new HostRegistry(hosts);
}
