import { describe, expect, it } from "vitest";
import { cpuPercent, delta, toSample } from "../../src/monitor/rates.js";
import { toReferenceResult } from "../../src/monitor/reference.js";
import type { DiskCounters, Reading, VmSample } from "../../src/monitor/types.js";

const disk = (rd: number, wr: number, rdOps = 0, wrOps = 0): DiskCounters => ({
  rd_bytes: rd,
  wr_bytes: wr,
  rd_ops: rdOps,
  wr_ops: wrOps,
  allocated: 1000,
  virtual: 4096,
});

describe("rates", () => {
  it("CPU percent is ticks / CLK_TCK / seconds, and may exceed 100 with several vCPUs", () => {
    expect(cpuPercent(1000, 1050, 100, 1)).toBe(50);
    expect(cpuPercent(1000, 1150, 100, 0.5)).toBe(300);
    expect(cpuPercent(0, 1, 100, 3)).toBe(0.3);
  });

  it("a counter that went backwards restarted from zero", () => {
    expect(delta(100, 150)).toBe(50);
    expect(delta(100, 30)).toBe(30);
  });

  it("turns two readings into rates over the monotonic time between them", () => {
    const prev: Reading = {
      t: 10_000,
      wall: "2024-01-01T00:00:00.000Z",
      cpu: {
        ticks: 500,
        vcpus: [
          { index: 0, threadId: 11, ticks: 100 },
          { index: 1, threadId: 12, ticks: null },
        ],
      },
      disk: { disk0: disk(1000, 2000, 10, 20) },
      net: { nic0: { netdev: "net0", type: "user", rx: 0, tx: 0 } },
    };
    const cur: Reading = {
      t: 12_000,
      wall: "2024-01-01T00:00:02.000Z",
      cpu: {
        ticks: 700,
        vcpus: [
          { index: 0, threadId: 11, ticks: 250 },
          { index: 1, threadId: 12, ticks: 40 },
        ],
      },
      memory: { rss_bytes: 5, configured_bytes: 6, balloon_bytes: null },
      disk: { disk0: disk(5000, 2000, 30, 20), disk1: disk(1, 1) },
      net: { nic0: { netdev: "net0", type: "user", rx: 4_000_000, tx: 1000 } },
    };
    const s = toSample(prev, cur, 100);
    expect(s.timestamp).toBe("2024-01-01T00:00:02.000Z");
    expect(s.interval_s).toBe(2);
    expect(s.cpu).toEqual({
      percent: 100,
      vcpus: [
        { index: 0, thread_id: 11, percent: 75 },
        { index: 1, thread_id: 12, percent: null },
      ],
    });
    expect(s.memory).toEqual({ rss_bytes: 5, configured_bytes: 6, balloon_bytes: null });
    expect(s.disk).toEqual({
      disk0: {
        read_bytes_per_s: 2000,
        write_bytes_per_s: 0,
        read_iops: 10,
        write_iops: 0,
        read_bytes_total: 5000,
        write_bytes_total: 2000,
        allocated_bytes: 1000,
        virtual_size_bytes: 4096,
      },
    }); // disk1 appeared: no rate yet
    expect(s.network).toEqual({
      nic0: { netdev: "net0", type: "user", rx_bytes_per_s: 2_000_000, tx_bytes_per_s: 500, rx_bytes: 4_000_000, tx_bytes: 1000 },
    });
  });
});

describe("toReferenceResult", () => {
  const sample = (i: number, extra: Partial<VmSample> = {}): VmSample => ({
    timestamp: `2024-01-01T00:00:0${i}.000Z`,
    interval_s: 1,
    cpu: { percent: 10 * i, vcpus: [{ index: 0, thread_id: 7, percent: i }] },
    memory: { rss_bytes: 100 + i, configured_bytes: 1024, balloon_bytes: 1024 },
    ...extra,
  });

  it("has the reference shape, with every series aligned with timestamp", () => {
    const nic = (rx: number) => ({
      nic0: { netdev: "net0", type: "user" as const, rx_bytes_per_s: rx, tx_bytes_per_s: 0, rx_bytes: rx, tx_bytes: 0 },
    });
    const d = {
      read_bytes_per_s: 1,
      write_bytes_per_s: 2,
      read_iops: 3,
      write_iops: 4,
      read_bytes_total: 5,
      write_bytes_total: 6,
      allocated_bytes: 7,
      virtual_size_bytes: 8,
    };
    const samples = [
      sample(1, { network: nic(10), disk: {} }),
      sample(2, { network: nic(20), disk: { disk0: d } }),
      sample(3, { network: nic(30), disk: { disk0: d } }),
    ];
    const r = toReferenceResult("local", "web1", samples, ["cpu", "memory", "disk", "network"]);
    expect(r.success).toBe(true);
    expect(r.message).toBe("Successfully obtained 3 sampling data points for web1");
    expect(r.data.host).toBe("local");
    expect(r.data.vm_name).toBe("web1");
    expect(r.data.timestamp).toEqual(samples.map((s) => s.timestamp));
    const md = r.data.metrics_data;
    expect(md.interval_s).toEqual([1, 1, 1]);
    expect(md.cpu).toEqual({ percent: [10, 20, 30], vcpus: { "0": [1, 2, 3] } });
    expect(md.memory).toEqual({ rss_bytes: [101, 102, 103], configured_bytes: [1024, 1024, 1024], balloon_bytes: [1024, 1024, 1024] });
    expect(md.disk!.disk0.read_bytes_per_s).toEqual([null, 1, 1]); // the drive had no rate in the first sample
    expect(md.network!.nic0).toEqual({
      netdev: "net0",
      type: "user",
      rx_bytes_per_s: [10, 20, 30],
      tx_bytes_per_s: [0, 0, 0],
      rx_bytes: [10, 20, 30],
      tx_bytes: [0, 0, 0],
    });
  });

  it("holds only the metrics asked for", () => {
    const r = toReferenceResult("local", "web1", [sample(1)], ["memory"]);
    expect(Object.keys(r.data.metrics_data).sort()).toEqual(["interval_s", "memory"]);
    expect(r.message).toBe("Successfully obtained 1 sampling data point for web1");
  });
});
