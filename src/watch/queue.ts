/**
 * Decides when watch mode runs a reconcile, and for which VMs. Contracts:
 * - never two runs at once that include the same VM: a VM changed while a run for it is in
 *   flight is run again after it ends (with whatever its spec says by then);
 * - one run at a time: every run takes the same per-vm_dir locks, so a second run could only
 *   wait on the first (and report waiting for "another reconcile", which would be itself);
 *   VMs requested while a run is in flight go together into the next run, where they are
 *   applied in parallel;
 * - a full run ("all": hosts.yaml changed, or the periodic resync) waits for the runs in
 *   flight, holds back new ones while it runs, and absorbs every VM request made before it
 *   starts; requests coalesce, so a burst of saves makes one run;
 * - close() drops what has not started; idle() resolves when nothing is in flight.
 * `run` must not throw (it reports its own failures); a rejection is swallowed.
 */
export type RunTarget = string[] | "all";

export class ReconcileQueue {
  private pending = new Set<string>();
  private pendingAll = false;
  private busy = new Set<string>();
  private allRunning = false;
  private inflight = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly run: (target: RunTarget) => Promise<void>) {}

  request(target: RunTarget): void {
    if (this.closed) return;
    if (target === "all") this.pendingAll = true;
    else for (const n of target) this.pending.add(n);
    this.pump();
  }

  /** Names waiting for a run (for tests and status lines). */
  get waiting(): { all: boolean; vms: string[] } {
    return { all: this.pendingAll, vms: [...this.pending].sort() };
  }

  close(): void {
    this.closed = true;
    this.pending.clear();
    this.pendingAll = false;
  }

  async idle(): Promise<void> {
    while (this.inflight.size) await Promise.allSettled([...this.inflight]);
  }

  private pump(): void {
    if (this.closed || this.allRunning || this.busy.size) return; // one run in flight at a time
    if (this.pendingAll) {
      this.pendingAll = false;
      this.pending.clear();
      this.allRunning = true;
      this.start("all", () => (this.allRunning = false));
      return;
    }
    const names = [...this.pending].filter((n) => !this.busy.has(n)).sort();
    if (!names.length) return;
    for (const n of names) {
      this.pending.delete(n);
      this.busy.add(n);
    }
    this.start(names, () => names.forEach((n) => this.busy.delete(n)));
  }

  private start(target: RunTarget, release: () => void): void {
    const p: Promise<void> = this.run(target)
      .catch(() => undefined)
      .finally(() => {
        release();
        this.inflight.delete(p);
        this.pump();
      });
    this.inflight.add(p);
  }
}
