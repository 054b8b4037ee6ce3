import { humanSize } from "../units.js";

/** Where an image is while ensureImage works on it; `done`/`total` are bytes. */
export interface ImageProgress {
  phase: "download" | "upload" | "wait" | "verify";
  url: string;
  host: string;
  done: number;
  total?: number;
  /** Bytes per second since this phase started (from the second report on). */
  rate?: number;
}

/** Pure: one line for a person ("downloading debian-12.qcow2: 45% (8.1 MB of 18.0 MB, 12.3 MB/s)"). */
export function progressLine(p: ImageProgress): string {
  const name =
    p.url
      .replace(/[?#].*$/, "")
      .split("/")
      .pop() || p.url;
  const where = p.host === "local" ? "" : ` on ${p.host}`;
  if (p.phase === "wait") return `waiting for another run's download of ${name}${where}`;
  if (p.phase === "verify") return `checking the digest of ${name}${where}`;
  const verb = p.phase === "upload" ? `uploading ${name} to ${p.host}` : `downloading ${name}${where}`;
  const detail = `${p.total ? `${humanSize(p.done)} of ${humanSize(p.total)}` : humanSize(p.done)}${p.rate ? `, ${humanSize(p.rate)}/s` : ""}`;
  return `${verb}: ${p.total ? `${Math.floor((100 * p.done) / p.total)}% (${detail})` : detail}`;
}

/**
 * Turns a stream of byte counts into reports: fills `rate`, and passes a report on at most every
 * `ms` milliseconds, plus the first one, every change of phase and the last (done === total).
 */
export function throttle(emit: (p: ImageProgress) => void, ms = 1000): (p: ImageProgress) => void {
  let phase = "";
  let t0 = 0;
  let d0 = 0;
  let last = 0;
  return (p) => {
    const now = Date.now();
    if (p.phase !== phase) [phase, t0, d0, last] = [p.phase, now, p.done, 0];
    const rate = now - t0 >= 200 ? ((p.done - d0) * 1000) / (now - t0) : undefined;
    const final = p.total !== undefined && p.done >= p.total;
    if (last && now - last < ms && !final) return;
    last = now;
    emit({ ...p, ...(rate !== undefined && { rate }) });
  };
}
