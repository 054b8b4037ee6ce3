import { acquireLock, newRunToken, type HeldLock } from "../apply/lock.js";
import type { Resolved } from "./resolve.js";

/**
 * Takes the reconcile lock of every vm_dir a run is about (one run token, so two hosts.yaml
 * names for one machine do not lock each other out). A host that cannot be used is skipped:
 * discovery reports it and its VMs stay unknown. A vm_dir that only may hold orphans is locked
 * only when it exists: it is never created just to be locked. On failure, what was taken is
 * released before the error is thrown.
 */
export async function lockFleet(r: Resolved, waitSeconds?: number): Promise<HeldLock[]> {
  const action = `reconcile ${r.fleet.dir}`;
  const runToken = newRunToken();
  const locks: HeldLock[] = [];
  try {
    for (const [hostName, dirs] of [...r.vmDirs.entries()].sort()) {
      if (r.hostErrors.has(hostName)) continue;
      const host = r.registry.get(hostName);
      const used = new Set(r.desired.filter((d) => d.vm.host === hostName).map((d) => d.vm.vmDir));
      for (const d of dirs) {
        if (!used.has(d) && !(await host.stat(d))) continue;
        locks.push(await acquireLock(host, d, action, { waitSeconds, runToken }));
      }
    }
    return locks;
  } catch (e) {
    await releaseAll(locks);
    throw e;
  }
}

export const releaseAll = (locks: HeldLock[]): Promise<unknown> => Promise.all(locks.map((l) => l.release().catch(() => undefined)));
