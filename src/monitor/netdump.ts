import { createHash } from "node:crypto";
import { hostname } from "node:os";
import path from "node:path";
import type { Host, HostChild } from "../hosts/host.js";
import { LOCAL } from "../hosts/local.js";
import type { QmpClient } from "../qemu/qmp.js";
import type { NicInfo } from "./nics.js";
import { PcapCounter } from "./pcap.js";

/**
 * Byte counters for user-mode (slirp) NICs, which QEMU does not count: one `filter-dump`
 * object per direction on the netdev, writing a pcap file (64 bytes of each packet) into the
 * VM's instance directory, read as it grows by a `tail -f` on the VM's host (FOLLOW).
 * `queue: tx` is the traffic the netdev sends towards the guest, i.e. the guest's rx.
 * Contract: close() deletes every object and file open() made, also after a partial open;
 * object ids name this machine and process, so a later monitor can sweep what a killed one
 * left behind (sweepStaleDumps) without touching a live monitor's.
 */
/**
 * `tail -f` of one file that ends when our end of its stdin closes, however this process ends
 * (close(), an error, Ctrl-C, SIGKILL): a bare `tail -f` would outlive a killed monitor. A
 * fixed script; the file is a positional argument, never part of the script text.
 */
const FOLLOW = ["sh", "-c", 'tail -c +1 -f -- "$1" & t=$!; cat >/dev/null; kill "$t"', "qfmon-follow"];

const OWNER = `qfmon-${createHash("sha1").update(hostname()).digest("hex").slice(0, 6)}-${process.pid}`;
let seq = 0;

interface Dump {
  id: string;
  file: string;
  counter: PcapCounter;
  tail?: HostChild;
  /** Its reader ended before close() (e.g. no SSH session could be opened): its figures are unknown. */
  lost?: boolean;
}

export class NetDumps {
  private readonly dumps = new Map<string, { rx: Dump; tx: Dump; netdev: string }>();
  private closing = false;

  private constructor(private readonly host: Host) {}

  static async open(host: Host, qmp: QmpClient, instanceDir: string, nics: NicInfo[]): Promise<NetDumps> {
    const d = new NetDumps(host);
    try {
      for (const nic of nics.filter((n) => n.type === "user")) {
        const base = `${OWNER}-${++seq}-${nic.netdev}`;
        const make = (queue: "rx" | "tx"): Dump => ({
          id: `${base}-${queue}`,
          file: path.posix.join(instanceDir, `${base}-${queue}.pcap`),
          counter: new PcapCounter(),
        });
        // guest rx = the netdev's tx queue
        const pair = { rx: make("tx"), tx: make("rx"), netdev: nic.netdev };
        d.dumps.set(nic.nic, pair);
        for (const [dump, queue] of [
          [pair.rx, "tx"],
          [pair.tx, "rx"],
        ] as const) {
          await qmp.execute("object-add", { "qom-type": "filter-dump", id: dump.id, netdev: nic.netdev, queue, file: dump.file, maxlen: 64 });
          dump.tail = host.spawn(FOLLOW.concat(dump.file));
          dump.tail.stdout.on("data", (b: Buffer) => {
            try {
              dump.counter.push(b);
            } catch {
              dump.lost = true; // not a pcap stream we can read: unknown, not a crash
            }
          });
          dump.tail.stdout.on("error", () => undefined);
          void dump.tail.exited.then(() => (dump.lost = !d.closing));
        }
      }
    } catch (e) {
      await d.close(qmp);
      throw e;
    }
    return d;
  }

  /** Guest-side byte totals per NIC since open(); a NIC whose reader ended is left out (unknown, never 0). */
  counters(): Record<string, { netdev: string; rx: number; tx: number }> {
    const out: Record<string, { netdev: string; rx: number; tx: number }> = {};
    for (const [nic, p] of this.dumps) if (!p.rx.lost && !p.tx.lost) out[nic] = { netdev: p.netdev, rx: p.rx.counter.bytes, tx: p.tx.counter.bytes };
    return out;
  }

  /** Deletes the objects (through `qmp` when given and still usable), stops the readers, removes the files. */
  async close(qmp: QmpClient | null): Promise<void> {
    this.closing = true;
    const all = [...this.dumps.values()].flatMap((p) => [p.rx, p.tx]);
    this.dumps.clear();
    for (const d of all) if (qmp) await qmp.execute("object-del", { id: d.id }).catch(() => undefined);
    for (const d of all) d.tail?.stdin.end(); // EOF: the wrapper stops its tail and exits
    await Promise.all(all.map((d) => this.host.remove(d.file).catch(() => undefined)));
  }
}

/**
 * Removes dump objects and files that a monitor on this machine left behind when it was
 * killed (its pid is gone). Objects of live monitors, or of other machines, are kept.
 */
export async function sweepStaleDumps(host: Host, qmp: QmpClient, instanceDir: string): Promise<string[]> {
  const mine = OWNER.slice(0, OWNER.lastIndexOf("-") + 1); // "qfmon-<machine>-"
  const local = LOCAL;
  const stale = async (name: string) => {
    if (!name.startsWith(mine)) return false;
    const pid = Number(name.slice(mine.length).split("-")[0]);
    return pid > 0 && pid !== process.pid && !(await local.kill(pid, 0).catch(() => true)); // EPERM: alive, someone else's
  };
  const removed: string[] = [];
  const objects = await qmp.execute<{ name: string }[]>("qom-list", { path: "/objects" });
  for (const o of objects) {
    if (!(await stale(o.name))) continue;
    await qmp.execute("object-del", { id: o.name }).catch(() => undefined);
    removed.push(o.name);
  }
  for (const f of await host.list(instanceDir).catch(() => [] as string[])) {
    if (f.endsWith(".pcap") && (await stale(f))) await host.remove(path.posix.join(instanceDir, f)).catch(() => undefined);
  }
  return removed;
}
