/**
 * What the monitor measures. A `Reading` is the raw counters of one VM at one moment; a
 * `VmSample` is the difference of two readings turned into figures. Contracts:
 * - every rate is (counter delta) / (seconds between the two readings on a monotonic clock);
 * - sizes are bytes, rates bytes per second or operations per second, CPU in percent of one
 *   host core (so a VM with several busy vCPUs can exceed 100);
 * - a figure that cannot be known is null, never 0.
 */
export const METRICS = ["cpu", "memory", "disk", "network"] as const;
export type Metric = (typeof METRICS)[number];

/** The running VM to sample: its instance directory holds qmp.sock; pid is its QEMU. */
export interface MonitorTarget {
  name: string;
  instanceDir: string;
  pid: number;
}

export interface CpuSample {
  /** The whole QEMU process (vCPUs, emulation, I/O threads). */
  percent: number;
  vcpus: { index: number; thread_id: number; percent: number | null }[];
}

export interface MemorySample {
  /** Resident memory of the QEMU process on the host (VmRSS). */
  rss_bytes: number;
  /** RAM given to the guest (base + hot-plugged). */
  configured_bytes: number;
  /** What the balloon leaves the guest; null without a balloon device. */
  balloon_bytes: number | null;
}

export interface DiskSample {
  read_bytes_per_s: number;
  write_bytes_per_s: number;
  read_iops: number;
  write_iops: number;
  /** QEMU's counters since the VM started. */
  read_bytes_total: number;
  write_bytes_total: number;
  /** Space the image takes on the host; null when QEMU cannot tell. */
  allocated_bytes: number | null;
  virtual_size_bytes: number | null;
}

export interface NicSample {
  /** The netdev behind the NIC and its kind: user-mode (slirp) or a tap device. */
  netdev: string;
  type: "user" | "tap";
  /** Seen from the guest: rx is what the guest received. */
  rx_bytes_per_s: number;
  tx_bytes_per_s: number;
  /** Bytes during this sample's interval. */
  rx_bytes: number;
  tx_bytes: number;
}

export interface VmSample {
  /** Wall-clock time of the reading, ISO 8601. */
  timestamp: string;
  /** Seconds since the previous reading (monotonic clock). */
  interval_s: number;
  cpu?: CpuSample;
  memory?: MemorySample;
  /** Per drive, keyed by drive id (or qdev path when the drive has none). */
  disk?: Record<string, DiskSample>;
  /** Per NIC, keyed by the NIC's device id. */
  network?: Record<string, NicSample>;
}

export interface DiskCounters {
  rd_bytes: number;
  wr_bytes: number;
  rd_ops: number;
  wr_ops: number;
  allocated: number | null;
  virtual: number | null;
}

export interface NicCounters {
  netdev: string;
  type: "user" | "tap";
  /** Guest-side totals since the counter began. */
  rx: number;
  tx: number;
}

/** Raw counters of one VM at one moment. */
export interface Reading {
  /** Monotonic milliseconds (performance.now()). */
  t: number;
  wall: string;
  cpu?: { ticks: number; vcpus: { index: number; threadId: number; ticks: number | null }[] };
  memory?: MemorySample;
  disk?: Record<string, DiskCounters>;
  net?: Record<string, NicCounters>;
}
