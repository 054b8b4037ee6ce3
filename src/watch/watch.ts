import { watch } from "chokidar";
import { once } from "node:events";
import path from "node:path";
import { QfleetError, toQfleetError } from "../errors.js";
import { LOCAL } from "../hosts/local.js";
import { KIND_LABEL } from "../plan/render.js";
import { reconcile } from "../fleet/reconcile.js";
import { loadFleet } from "../spec/load.js";
import { isSpecFileName, PROFILES_DIR, vmNameOf } from "../spec/store.js";
import { ReconcileQueue } from "./queue.js";
import { WatchReporter, type WatchEvent } from "./report.js";

export type { WatchEvent } from "./report.js";

export const DEFAULT_RESYNC_S = 30;
/** Quiet time after the last file event before a run starts (a burst of saves makes one run). */
export const WATCH_DEBOUNCE_MS = 100;
/** A file counts as saved once its size held still this long (chokidar awaitWriteFinish). */
export const WRITE_SETTLE_MS = 100;
/** Lock waits are sliced so a shutdown never waits long behind another reconcile. */
const LOCK_WAIT_S = 5;

export interface WatchOptions {
  dir: string;
  resyncMs?: number;
  prune?: boolean;
  stopTimeoutMs?: number;
  parallel?: number;
  /** Aborting stops watching; watchFleet resolves once the runs in flight have finished. */
  signal: AbortSignal;
  onEvent: (e: WatchEvent) => void;
}

/**
 * `qfleet watch`: reconcile everything once, then reconcile the VMs whose spec files change
 * (vms/*.yaml|yml; a profiles/*.yaml change reconciles the VMs whose specs name that profile;
 * a hosts.yaml change reconciles all), plus a full resync every `resyncMs`,
 * so the fleet is level-triggered: a VM that died while its spec says running is started
 * again. Contracts: an invalid spec leaves its VM exactly as it runs (reconcile guarantees it)
 * and its located problems are reported once per change; a deleted spec makes an orphan
 * (deleted only with `prune`); stopping finishes the runs in flight and touches no VM.
 */
export async function watchFleet(opts: WatchOptions): Promise<void> {
  const root = path.resolve(opts.dir);
  const vmsDir = path.join(root, "vms");
  const profilesDir = path.join(root, PROFILES_DIR);
  const hostsFile = path.join(root, "hosts.yaml");
  if ((await LOCAL.stat(vmsDir))?.kind !== "dir")
    throw new QfleetError("NOT_FOUND", `no vms/ folder in ${root}`, {
      hint: "run qfleet watch in the folder that holds vms/, or point at it with -C DIR",
    });

  const report = new WatchReporter(opts.onEvent);
  let stopping = false;
  let waiting = false; // one "waiting" line per wait, however many lock attempts it takes
  const queue = new ReconcileQueue(async (target) => {
    if (target === "all") report.emit({ event: "resync", message: "resync: comparing every VM with its spec" });
    try {
      const r = await reconcile({
        dir: root,
        only: target === "all" ? undefined : target,
        prune: opts.prune,
        parallel: opts.parallel,
        stopTimeoutMs: opts.stopTimeoutMs, // undefined: reconcile's own default ($QFLEET_STOP_TIMEOUT or 30 s)
        waitSeconds: LOCK_WAIT_S,
        onPlan: (plan, inv) => report.planned(plan, inv.fleet.issues, target),
        onEvent: (e) =>
          report.emit({
            event: "action",
            vm: e.vm,
            host: e.host,
            kind: e.kind,
            phase: e.phase,
            message: `${KIND_LABEL[e.kind].trim()} ${e.vm}: ${e.phase === "failed" ? "FAILED: " : ""}${e.message}`,
          }),
      });
      report.finished(r.outcome);
      waiting = false;
    } catch (e) {
      const err = toQfleetError(e);
      if (err.code === "BUSY" && !stopping) {
        if (!waiting) report.emit({ event: "waiting", message: `waiting for another reconcile: ${err.message}` });
        waiting = true;
        queue.request(target); // runs again once this attempt is released
      } else report.emit({ event: "error", message: err.message, ...(err.hint && { hint: err.hint }) });
    }
  });

  const watcher = watch(root, {
    depth: 1,
    ignoreInitial: true,
    awaitWriteFinish: { stabilityThreshold: WRITE_SETTLE_MS, pollInterval: 20 },
    ignored: (p, stats) => {
      if (p === root || p === vmsDir || p === profilesDir || p === hostsFile) return false;
      const dir = path.dirname(p);
      return (dir !== vmsDir && dir !== profilesDir) || !isSpecFileName(path.basename(p)) || Boolean(stats && !stats.isFile());
    },
  });
  let changed = new Set<string>();
  let profiles = new Set<string>();
  let all = false;
  let debounce: NodeJS.Timeout | undefined;
  /** The VMs whose specs name one of `names`, read from the specs as they are now (valid or not). */
  const usersOf = async (names: Set<string>): Promise<string[] | "all"> => {
    try {
      const { profileUsers } = await loadFleet(LOCAL, root, { checkPaths: false });
      return [...names].flatMap((n) => profileUsers[n] ?? []);
    } catch {
      return "all"; // the run reports why the fleet cannot be read
    }
  };
  const flush = async () => {
    const [vms, profs, everything] = [changed, profiles, all];
    [changed, profiles, all] = [new Set(), new Set(), false];
    const users = everything || !profs.size ? [] : await usersOf(profs);
    if (everything || users === "all") return queue.request("all");
    const target = [...new Set([...vms, ...users])];
    if (target.length) return queue.request(target);
    const files = [...profs].map((n) => `${PROFILES_DIR}/${n}.yaml`).join(", ");
    report.emit({ event: "change", message: `no spec names ${files}: nothing to reconcile` });
  };
  watcher.on("all", (ev, p) => {
    if (p === vmsDir || p === profilesDir || p === hostsFile) all = true;
    else if (path.dirname(p) === vmsDir) changed.add(vmNameOf(p));
    else if (path.dirname(p) === profilesDir) profiles.add(vmNameOf(p));
    else return;
    const word = ev === "add" || ev === "addDir" ? "added" : ev === "unlink" || ev === "unlinkDir" ? "removed" : "changed";
    report.emit({ event: "change", file: path.relative(root, p), message: `${path.relative(root, p)} ${word}` });
    clearTimeout(debounce);
    debounce = setTimeout(() => void flush(), WATCH_DEBOUNCE_MS);
  });
  watcher.on("error", (e) => report.emit({ event: "error", message: `watching ${root}: ${toQfleetError(e).message}` }));
  try {
    await once(watcher, "ready"); // rejects when the watcher fails first (e.g. no inotify watches left)
  } catch (e) {
    clearTimeout(debounce);
    queue.close();
    await watcher.close();
    throw e;
  }

  const resyncMs = opts.resyncMs ?? DEFAULT_RESYNC_S * 1000;
  report.emit({
    event: "watching",
    message: `watching ${path.join(opts.dir, "vms")}, ${PROFILES_DIR}/ and hosts.yaml; full resync every ${resyncMs / 1000} s`,
  });
  queue.request("all");
  const resync = setInterval(() => queue.request("all"), resyncMs);

  if (!opts.signal.aborted) await once(opts.signal, "abort");
  stopping = true;
  clearInterval(resync);
  clearTimeout(debounce);
  queue.close();
  await watcher.close();
  report.emit({ event: "stopping", message: "stopping: finishing the runs in flight, VMs keep running" });
  await queue.idle();
  report.emit({ event: "stopped", message: "stopped" });
}
