import { describe, expect, it } from "vitest";
import { PcapCounter } from "../../src/monitor/pcap.js";

/** A pcap file as QEMU's filter-dump writes it: header, then records truncated to maxlen. */
function pcap(packetLengths: number[], opts: { bigEndian?: boolean; maxlen?: number } = {}): Buffer {
  const maxlen = opts.maxlen ?? 64;
  const w = (b: Buffer, v: number, o: number) => (opts.bigEndian ? b.writeUInt32BE(v, o) : b.writeUInt32LE(v, o));
  const head = Buffer.alloc(24);
  w(head, 0xa1b2c3d4, 0);
  const parts = [head];
  for (const len of packetLengths) {
    const incl = Math.min(len, maxlen);
    const rec = Buffer.alloc(16 + incl, 0xab);
    w(rec, 1, 0);
    w(rec, 2, 4);
    w(rec, incl, 8);
    w(rec, len, 12);
    parts.push(rec);
  }
  return Buffer.concat(parts);
}

describe("PcapCounter", () => {
  const lengths = [1514, 60, 64, 65, 42, 9000];
  const total = lengths.reduce((a, b) => a + b, 0);

  it("sums the original packet lengths, not the truncated capture", () => {
    const c = new PcapCounter();
    c.push(pcap(lengths));
    expect(c.bytes).toBe(total);
    expect(c.packets).toBe(lengths.length);
  });

  it("gives the same totals whatever the chunk boundaries (a file read while it grows)", () => {
    const file = pcap(lengths);
    for (const size of [1, 3, 7, 16, 23, 24, 25, 80]) {
      const c = new PcapCounter();
      for (let i = 0; i < file.length; i += size) c.push(file.subarray(i, i + size));
      expect([size, c.bytes, c.packets]).toEqual([size, total, lengths.length]);
    }
  });

  it("counts a record only once its header is complete", () => {
    const file = pcap([100, 200]);
    const c = new PcapCounter();
    c.push(file.subarray(0, 24 + 16 + 64 + 10)); // first record, and part of the second header
    expect(c.bytes).toBe(100);
    c.push(file.subarray(24 + 16 + 64 + 10));
    expect(c.bytes).toBe(300);
  });

  it("reads big-endian files and rejects what is not pcap", () => {
    const c = new PcapCounter();
    c.push(pcap(lengths, { bigEndian: true }));
    expect(c.bytes).toBe(total);
    expect(() => new PcapCounter().push(Buffer.alloc(24, 1))).toThrow(/not a pcap stream/);
  });
});
