import { describe, expect, it } from "vitest";
import { LocalHost } from "../../src/hosts/local.js";
import { ProcReader } from "../../src/monitor/proc-reader.js";
import { parseProcStat } from "../../src/monitor/proc.js";

/** The real `xargs head` reader on this machine (no QEMU needed: this process's own /proc). */
describe("ProcReader", () => {
  it("reads several /proc files per call through one long-lived process, and leaves out missing ones", async () => {
    const r = new ProcReader(new LocalHost());
    try {
      const own = `/proc/${process.pid}/stat`;
      const missing = "/proc/999999999/stat";
      const first = await r.read([own, missing, `/proc/${process.pid}/status`]);
      expect(parseProcStat(first.get(own)!).startTime).toBeGreaterThan(0);
      expect(first.has(missing)).toBe(false);
      expect(first.get(`/proc/${process.pid}/status`)).toMatch(/^Name:/);
      const [a, b] = await Promise.all([r.read([own]), r.read([])]); // calls queue, answers do not mix
      expect([...a.keys()]).toEqual([own]);
      expect([...b.keys()]).toEqual([]);
    } finally {
      r.close();
    }
    await expect(r.read([])).rejects.toThrow(/closed/);
  });
});
