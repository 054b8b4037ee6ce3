import type { DiskSample, NicSample, Reading, VmSample } from "./types.js";

/**
 * Pure: turns two readings of one VM into a sample. Rates are deltas over the monotonic time
 * between the readings. A counter that went backwards (a device was re-created) counts as
 * restarted from 0. A device present only in `cur` has no rate yet and is left out.
 */
export function toSample(prev: Reading, cur: Reading, clkTck: number): VmSample {
  const dt = Math.max((cur.t - prev.t) / 1000, 1e-3);
  const s: VmSample = { timestamp: cur.wall, interval_s: round(dt, 3) };
  if (cur.cpu && prev.cpu) {
    const before = new Map(prev.cpu.vcpus.map((v) => [v.threadId, v.ticks]));
    s.cpu = {
      percent: cpuPercent(prev.cpu.ticks, cur.cpu.ticks, clkTck, dt),
      vcpus: cur.cpu.vcpus.map((v) => {
        const b = before.get(v.threadId);
        const percent = v.ticks === null || b === null || b === undefined ? null : cpuPercent(b, v.ticks, clkTck, dt);
        return { index: v.index, thread_id: v.threadId, percent };
      }),
    };
  }
  if (cur.memory) s.memory = { ...cur.memory };
  if (cur.disk && prev.disk) {
    s.disk = {};
    for (const [name, c] of Object.entries(cur.disk)) {
      const p = prev.disk[name];
      if (!p) continue;
      const d: DiskSample = {
        read_bytes_per_s: Math.round(delta(p.rd_bytes, c.rd_bytes) / dt),
        write_bytes_per_s: Math.round(delta(p.wr_bytes, c.wr_bytes) / dt),
        read_iops: round(delta(p.rd_ops, c.rd_ops) / dt, 1),
        write_iops: round(delta(p.wr_ops, c.wr_ops) / dt, 1),
        read_bytes_total: c.rd_bytes,
        write_bytes_total: c.wr_bytes,
        allocated_bytes: c.allocated,
        virtual_size_bytes: c.virtual,
      };
      s.disk[name] = d;
    }
  }
  if (cur.net && prev.net) {
    s.network = {};
    for (const [name, c] of Object.entries(cur.net)) {
      const p = prev.net[name];
      if (!p) continue;
      const rx = delta(p.rx, c.rx),
        tx = delta(p.tx, c.tx);
      const n: NicSample = {
        netdev: c.netdev,
        type: c.type,
        rx_bytes_per_s: Math.round(rx / dt),
        tx_bytes_per_s: Math.round(tx / dt),
        rx_bytes: rx,
        tx_bytes: tx,
      };
      s.network[name] = n;
    }
  }
  return s;
}

/** 100 * CPU seconds used / seconds elapsed; one decimal. */
export function cpuPercent(ticksBefore: number, ticksAfter: number, clkTck: number, dtSeconds: number): number {
  return round((100 * delta(ticksBefore, ticksAfter)) / clkTck / dtSeconds, 1);
}

/** The growth of a counter; a counter that went backwards restarted from 0. */
export function delta(before: number, after: number): number {
  return after >= before ? after - before : after;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
