import { humanSize } from "../units.js";
import type { VmSample } from "./types.js";

/**
 * Pure: the live table `qfleet monitor` shows on a terminal, one row per VM with its latest
 * sample (drives and NICs summed; the per-device figures are in the JSON output). A VM
 * without a sample yet shows dashes; a metric not asked for shows blanks.
 */
export const TABLE_HEAD = ["VM", "CPU %", "vCPU %", "RSS", "MEMORY", "BALLOON", "DISK READ", "DISK WRITE", "IOPS R/W", "NET RX", "NET TX"];

export function tableRow(vm: string, s: VmSample | undefined): string[] {
  if (!s) return [vm, ...TABLE_HEAD.slice(1).map(() => "-")];
  const rate = (n: number) => `${humanSize(n)}/s`;
  const disks = Object.values(s.disk ?? {});
  const nics = Object.values(s.network ?? {});
  const sum = <T>(xs: T[], f: (x: T) => number) => xs.reduce((a, x) => a + f(x), 0);
  return [
    vm,
    s.cpu ? s.cpu.percent.toFixed(1) : "",
    s.cpu ? s.cpu.vcpus.map((v) => (v.percent === null ? "?" : v.percent.toFixed(0))).join(" ") : "",
    s.memory ? humanSize(s.memory.rss_bytes) : "",
    s.memory ? humanSize(s.memory.configured_bytes) : "",
    s.memory ? (s.memory.balloon_bytes === null ? "n/a" : humanSize(s.memory.balloon_bytes)) : "",
    s.disk ? rate(sum(disks, (d) => d.read_bytes_per_s)) : "",
    s.disk ? rate(sum(disks, (d) => d.write_bytes_per_s)) : "",
    s.disk ? `${sum(disks, (d) => d.read_iops).toFixed(0)}/${sum(disks, (d) => d.write_iops).toFixed(0)}` : "",
    s.network ? rate(sum(nics, (n) => n.rx_bytes_per_s)) : "",
    s.network ? rate(sum(nics, (n) => n.tx_bytes_per_s)) : "",
  ];
}
