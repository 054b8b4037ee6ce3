import type { DiskSample, Metric, NicSample, VmSample } from "./types.js";

type Series = (number | null)[];

/**
 * The `monitor_vm_status` result of the reference spec. Contract: every array in
 * metrics_data has one entry per `timestamp`, in the same order; a figure missing from a
 * sample (a device that appeared later, a vCPU thread that could not be read) is null.
 * Units are in the key names: `_bytes`, `_bytes_per_s`, `_iops`, `percent` (of one host core).
 */
export interface MetricsData {
  /** Seconds each sample covers (its rates are averages over it). */
  interval_s: number[];
  cpu?: { percent: Series; vcpus: Record<string, Series> };
  memory?: { rss_bytes: Series; configured_bytes: Series; balloon_bytes: Series };
  /** Per drive id. */
  disk?: Record<string, Record<keyof DiskSample, Series>>;
  /** Per NIC id; netdev and type describe the NIC, the rest are series. */
  network?: Record<string, { netdev: string; type: string } & Record<Exclude<keyof NicSample, "netdev" | "type">, Series>>;
}

export interface ReferenceResult {
  success: true;
  message: string;
  data: { host: string; vm_name: string; timestamp: string[]; metrics_data: MetricsData };
}

const DISK_FIELDS = [
  "read_bytes_per_s",
  "write_bytes_per_s",
  "read_iops",
  "write_iops",
  "read_bytes_total",
  "write_bytes_total",
  "allocated_bytes",
  "virtual_size_bytes",
] as const;
const NIC_FIELDS = ["rx_bytes_per_s", "tx_bytes_per_s", "rx_bytes", "tx_bytes"] as const;

/** Pure: samples of one VM -> the reference result (column-wise, aligned with `timestamp`). */
export function toReferenceResult(hostName: string, vmName: string, samples: VmSample[], metrics?: readonly Metric[]): ReferenceResult {
  const want = (m: Metric) => (metrics ? metrics.includes(m) : samples.some((s) => s[m] !== undefined));
  const col = (pick: (s: VmSample) => number | null | undefined): Series => samples.map((s) => pick(s) ?? null);
  const md: MetricsData = { interval_s: samples.map((s) => s.interval_s) };

  if (want("cpu")) {
    const vcpus: Record<string, Series> = {};
    for (const i of keys(samples, (s) => s.cpu?.vcpus.map((v) => String(v.index)) ?? []))
      vcpus[i] = col((s) => s.cpu?.vcpus.find((v) => String(v.index) === i)?.percent);
    md.cpu = { percent: col((s) => s.cpu?.percent), vcpus };
  }
  if (want("memory")) {
    md.memory = {
      rss_bytes: col((s) => s.memory?.rss_bytes),
      configured_bytes: col((s) => s.memory?.configured_bytes),
      balloon_bytes: col((s) => s.memory?.balloon_bytes),
    };
  }
  if (want("disk")) {
    md.disk = {};
    for (const d of keys(samples, (s) => Object.keys(s.disk ?? {})))
      md.disk[d] = Object.fromEntries(DISK_FIELDS.map((f) => [f, col((s) => s.disk?.[d]?.[f])])) as Record<keyof DiskSample, Series>;
  }
  if (want("network")) {
    md.network = {};
    for (const n of keys(samples, (s) => Object.keys(s.network ?? {}))) {
      const first = samples.find((s) => s.network?.[n])!.network![n];
      const series = Object.fromEntries(NIC_FIELDS.map((f) => [f, col((s) => s.network?.[n]?.[f])])) as Record<(typeof NIC_FIELDS)[number], Series>;
      md.network[n] = { netdev: first.netdev, type: first.type, ...series };
    }
  }
  return {
    success: true,
    message: `Successfully obtained ${samples.length} sampling data point${samples.length === 1 ? "" : "s"} for ${vmName}`,
    data: { host: hostName, vm_name: vmName, timestamp: samples.map((s) => s.timestamp), metrics_data: md },
  };
}

/** Every key any sample has, in first-seen order. */
function keys(samples: VmSample[], of: (s: VmSample) => string[]): string[] {
  return [...new Set(samples.flatMap(of))];
}
