import path from "node:path";
import type { Host } from "../hosts/host.js";
import { LOCAL } from "../hosts/local.js";
import { LOCAL_READS_NOW } from "../hosts/local-now.js";
import { DiscoveryCache } from "../state/live.js";
import type { Resolved, ResolveOptions } from "./resolve.js";

/**
 * What a long-lived process (the MCP server, watch) keeps between calls, turned on with
 * enableLiveCaches(). Nothing here may serve a stale truth:
 * - a fleet's resolution is reused only while the fingerprint of everything it was made from
 *   is the same: the spec files, hosts.yaml, fleet.yaml, profiles/, the fleet's public key,
 *   every file a spec names (ISO, kernel, base images, user_data), $QFLEET_VM_DIR and the
 *   question asked (scope, hosts) — an edit shows on the very next call;
 * - discovery of this machine keeps the parsed records, each checked on use, and a QMP
 *   connection per running VM for its run state (see state/live.ts). Remote hosts are looked at
 *   afresh each time.
 */
let enabled = false;
const discovery = new Map<Host, DiscoveryCache>();
const resolved = new Map<string, { fingerprint: string; value: Resolved }>();

export function enableLiveCaches(): () => void {
  enabled = true;
  return () => {
    for (const c of discovery.values()) c.close();
    discovery.clear();
    resolved.clear();
    enabled = false;
  };
}

export const discoveryCacheFor = (host: Host): DiscoveryCache | undefined =>
  enabled && host === LOCAL ? (discovery.get(host) ?? discovery.set(host, new DiscoveryCache(host, LOCAL_READS_NOW)).get(host)!) : undefined;

/** The fleet's resolution from the cache when nothing it depends on changed; else made (and kept). */
export async function resolveKept(dir: string, opts: ResolveOptions, make: () => Promise<Resolved>): Promise<Resolved> {
  if (!enabled || opts.passwords) return make();
  const key = JSON.stringify([path.resolve(dir), opts.only ?? null, opts.alsoHosts ?? null]);
  const hit = resolved.get(key);
  if (hit && hit.fingerprint === fingerprint(dir, hit.value)) return hit.value;
  const value = await make();
  resolved.set(key, { fingerprint: fingerprint(dir, value), value });
  return value;
}

function fingerprint(dir: string, r: Resolved): string {
  const root = path.resolve(dir);
  const listed = (sub: string) => LOCAL.listNow(path.join(root, sub)).map((n) => path.join(root, sub, n));
  const named = r.desired.flatMap(({ vm }) => [
    vm.iso,
    vm.boot?.kernel,
    vm.boot?.initrd,
    vm.cloudInit?.userData,
    ...vm.disks.flatMap((d) => [d.base, d.managed ? undefined : d.path]),
  ]);
  const files = [path.join(root, "vms"), ...listed("vms"), ...listed("profiles"), "hosts.yaml", "fleet.yaml", ".qfleet/id_ed25519.pub"].map((f) =>
    path.resolve(root, f),
  );
  return `${process.env.QFLEET_VM_DIR ?? ""}#${LOCAL.fingerprint([...files, ...named.filter((x): x is string => Boolean(x))])}`;
}
