import type { QmpClient } from "../qemu/qmp.js";
import type { DiskCounters } from "./types.js";

interface BlockStats {
  device: string;
  qdev?: string;
  stats: { rd_bytes: number; wr_bytes: number; rd_operations: number; wr_operations: number };
}
interface BlockInfo {
  device: string;
  qdev?: string;
  inserted?: { image?: { "actual-size"?: number; "virtual-size"?: number } };
}

export interface QmpResult {
  memory?: { configured_bytes: number; balloon_bytes: number | null };
  disk?: Record<string, DiskCounters>;
}

/**
 * Memory and disk figures of one VM from QMP. The I/O counters (query-blockstats) are asked on
 * every reading; what changes only on hotplug, on a balloon command or slowly (configured
 * memory, balloon size, the drive list and image sizes: query-memory-size-summary,
 * query-balloon, query-block) is asked again only after SLOW_REFRESH_MS. So a reading of
 * memory alone mostly needs no QMP at all, and one with disks a single command: QMP is the
 * monitor's main cost (a connection per reading, as QEMU serves one client at a time).
 * Drives are keyed by drive id, or qdev path when the drive has none (-blockdev); a drive
 * without media (an empty CD-ROM) is left out.
 */
export const SLOW_REFRESH_MS = 10_000;

export class QmpFigures {
  private slowAt = -Infinity;
  private configured = 0;
  private balloon: number | null = null;
  private images = new Map<string, { allocated: number | null; virtual: number | null }>();

  constructor(private readonly want: { memory: boolean; disk: boolean; balloon: boolean }) {}

  /** True when a reading at `now` must ask QMP; otherwise cached() has everything. */
  needsQmp(now: number): boolean {
    return this.want.disk || (this.want.memory && now - this.slowAt >= SLOW_REFRESH_MS);
  }

  cached(): QmpResult {
    return this.want.memory ? { memory: { configured_bytes: this.configured, balloon_bytes: this.balloon } } : {};
  }

  async query(q: QmpClient, now: number): Promise<QmpResult> {
    if (now - this.slowAt >= SLOW_REFRESH_MS) {
      if (this.want.memory) {
        const mem = await q.execute<{ "base-memory": number; "plugged-memory"?: number }>("query-memory-size-summary");
        this.configured = mem["base-memory"] + (mem["plugged-memory"] ?? 0);
        const balloon = this.want.balloon ? await q.execute<{ actual: number }>("query-balloon").catch(() => null) : null;
        this.balloon = balloon?.actual ?? null;
      }
      if (this.want.disk) {
        const blocks = await q.execute<BlockInfo[]>("query-block");
        this.images = new Map(
          blocks
            .filter((b) => b.inserted)
            .map((b) => [key(b), { allocated: b.inserted!.image?.["actual-size"] ?? null, virtual: b.inserted!.image?.["virtual-size"] ?? null }]),
        );
      }
      this.slowAt = now;
    }
    const out = this.cached();
    if (this.want.disk) {
      out.disk = {};
      for (const s of await q.execute<BlockStats[]>("query-blockstats")) {
        const img = this.images.get(key(s));
        if (!img) continue;
        out.disk[key(s)] = {
          rd_bytes: s.stats.rd_bytes,
          wr_bytes: s.stats.wr_bytes,
          rd_ops: s.stats.rd_operations,
          wr_ops: s.stats.wr_operations,
          ...img,
        };
      }
    }
    return out;
  }
}

const key = (b: { device: string; qdev?: string }) => b.device || b.qdev || "?";
