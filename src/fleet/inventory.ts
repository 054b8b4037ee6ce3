import { toQfleetError } from "../errors.js";
import { LOCAL } from "../hosts/local.js";
import { loadFleet, type Fleet } from "../spec/load.js";
import { discoverHost } from "../state/discover.js";
import { discoveryCacheFor, resolveKept } from "./live-cache.js";
import type { HostState } from "../state/types.js";
import { resolveFleet, type Resolved, type ResolveOptions } from "./resolve.js";

/** Everything a command needs to compare specs with reality: the resolved fleet and what its hosts have. */
export interface Inventory extends Resolved {
  hosts: HostState[];
}

/** The specs alone, read locally: no host is contacted (for commands that only read or write specs). */
export const loadSpecs = (dir: string): Promise<Fleet> => loadFleet(LOCAL, dir);

/**
 * What the resolved fleet's hosts really have, scoped like the resolution (only the VMs in
 * scope are inspected). Contract: a host that cannot be probed or inspected becomes a
 * HostState with `error` (its VMs are unknown), never an exception.
 */
export async function discoverFleet(r: Resolved): Promise<HostState[]> {
  return Promise.all(
    [...r.vmDirs.entries()].map(async ([name, dirs]): Promise<HostState> => {
      const known = r.hostErrors.get(name);
      if (known !== undefined) return { host: name, vms: [], unmanaged: [], error: known };
      try {
        const host = r.registry.get(name);
        return await discoverHost(host, dirs, r.scope, discoveryCacheFor(host));
      } catch (e) {
        return { host: name, vms: [], unmanaged: [], error: toQfleetError(e).message };
      }
    }),
  );
}

/** Resolve, then discover: for commands that read state and change nothing (list, status, plan). */
export async function loadInventory(dir: string, opts: ResolveOptions = {}): Promise<Inventory> {
  const r = await resolveKept(dir, opts, () => resolveFleet(dir, opts));
  return { ...r, hosts: await discoverFleet(r) };
}
