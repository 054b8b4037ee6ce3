import type { Host } from "../hosts/host.js";
import { HeldMonitors } from "./held-qmp.js";
import type { AppliedRecord } from "./types.js";

/**
 * What discovery learns, kept between calls by a long-lived process (the MCP server, watch)
 * for the hosts it looks at again and again. Every cache here is checked against the truth on
 * each use, never trusted blindly:
 * - records: applied.json is parsed again when its size or mtime changed.
 * - run states: from a connection kept to each VM's second QMP monitor (see held-qmp.ts), the
 *   first one staying free for every other qfleet process.
 * Processes are read afresh each time: a killed QEMU lingers as a zombie under its PID and a
 * process may exec into QEMU under an old PID, so only its command line now tells. One
 * DiscoveryCache serves one Host.
 */
/** The reads discovery makes of a host's folders (a cache may answer them faster, never differently). */
export type MetadataReads = Pick<Host, "stat" | "lstat" | "list">;

export class DiscoveryCache {
  private readonly records = new Map<string, { size: number; mtimeMs: number; rec: AppliedRecord }>();

  readonly monitors: HeldMonitors;

  /** `reads`: the host's own metadata reads, or synchronous ones with the same contracts (hosts/local-now.ts). */
  constructor(
    readonly host: Host,
    readonly reads: MetadataReads = host,
  ) {
    this.monitors = new HeldMonitors(host);
  }

  /** applied.json, parsed again only when it changed; throws like readFile when unreadable. */
  async record(file: string): Promise<AppliedRecord> {
    const st = await this.reads.stat(file);
    const hit = this.records.get(file);
    if (st && hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs) return hit.rec;
    const rec = JSON.parse(await this.host.readFile(file)) as AppliedRecord;
    if (st) this.records.set(file, { size: st.size, mtimeMs: st.mtimeMs, rec });
    return rec;
  }

  close(): void {
    this.monitors.close();
  }
}
