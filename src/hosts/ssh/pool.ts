import type { Host } from "../host.js";

/**
 * Process-wide bookkeeping of SSH connections, so that a process opens one connection per
 * host however many inventories it loads (a CLI command that loads twice, watch mode, an MCP
 * server). Contracts: `lease` returns the one shared Host for a key (host name + its settings)
 * and counts the lease; `release` closes it when the last lease is returned; `closeAll`
 * closes every SSH connection still open, pooled or not (the CLI calls it when a command ends,
 * so an open connection never keeps a finished command from exiting). This module loads
 * nothing heavy: the CLI imports it on every start.
 */
const pooled = new Map<string, { host: Host; leases: number }>();
const open = new Set<Host>();

export function lease(key: string, create: () => Host): Host {
  let p = pooled.get(key);
  if (!p) {
    p = { host: create(), leases: 0 };
    pooled.set(key, p);
  }
  p.leases++;
  return p.host;
}

export async function release(host: Host): Promise<void> {
  for (const [key, p] of pooled) {
    if (p.host !== host) continue;
    if (--p.leases > 0) return;
    pooled.delete(key);
  }
  await host.close();
}

/** Called by SSH hosts when they open and close a connection. */
export function track(host: Host, isOpen: boolean): void {
  if (isOpen) open.add(host);
  else open.delete(host);
}

export async function closeAllSshConnections(): Promise<void> {
  pooled.clear();
  await Promise.all([...open].map((h) => h.close().catch(() => undefined)));
}

/** How many SSH connections this process holds open now (for tests and benchmarks). */
export const openSshConnections = (): number => open.size;
