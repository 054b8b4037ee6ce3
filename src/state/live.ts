import type { Host } from "../hosts/host.js";
import type { AppliedRecord } from "./types.js";

/**
 * What discovery learns, kept between calls by a long-lived process (the MCP server, watch)
 * for the hosts it looks at again and again. Every cache here is checked against the truth on
 * each use, never trusted blindly:
 * - records: applied.json is parsed again when its size or mtime changed.
 * Processes and QMP status are read afresh each time: a killed QEMU lingers as a zombie under
 * its PID and a process may exec into QEMU under an old PID, so only its command line now
 * tells; and a QEMU serves one QMP client at a time, so a kept connection would lock every
 * other qfleet process out of it. One DiscoveryCache serves one Host.
 */
export class DiscoveryCache {
  private readonly records = new Map<string, { size: number; mtimeMs: number; rec: AppliedRecord }>();

  constructor(readonly host: Host) {}

  /** applied.json, parsed again only when it changed; throws like readFile when unreadable. */
  async record(file: string): Promise<AppliedRecord> {
    const st = await this.host.stat(file);
    const hit = this.records.get(file);
    if (st && hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs) return hit.rec;
    const rec = JSON.parse(await this.host.readFile(file)) as AppliedRecord;
    if (st) this.records.set(file, { size: st.size, mtimeMs: st.mtimeMs, rec });
    return rec;
  }
}
