import { QfleetError } from "../errors.js";

const FILE_HEADER = 24;
const RECORD_HEADER = 16;

/**
 * Counts the packets and bytes in a pcap stream fed in chunks of any size (a file read as it
 * grows). Pure. The file header is 24 bytes; each record is a 16-byte header
 * (ts_sec, ts_usec, incl_len, orig_len) then incl_len captured bytes. `bytes` sums orig_len,
 * the real packet length, so a capture truncated with maxlen still counts whole packets.
 * The byte order comes from the magic number (QEMU writes its host's order).
 */
export class PcapCounter {
  bytes = 0;
  packets = 0;
  private head = Buffer.alloc(FILE_HEADER);
  private headLen = 0;
  private rec = Buffer.alloc(RECORD_HEADER);
  private recLen = 0;
  private skip = 0;
  private little = true;

  push(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.headLen < FILE_HEADER) {
        const n = Math.min(FILE_HEADER - this.headLen, chunk.length - pos);
        chunk.copy(this.head, this.headLen, pos, pos + n);
        this.headLen += n;
        pos += n;
        if (this.headLen === FILE_HEADER) this.little = byteOrder(this.head);
      } else if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - pos);
        this.skip -= n;
        pos += n;
      } else {
        const n = Math.min(RECORD_HEADER - this.recLen, chunk.length - pos);
        chunk.copy(this.rec, this.recLen, pos, pos + n);
        this.recLen += n;
        pos += n;
        if (this.recLen === RECORD_HEADER) {
          const u32 = (o: number) => (this.little ? this.rec.readUInt32LE(o) : this.rec.readUInt32BE(o));
          this.skip = u32(8);
          this.bytes += u32(12);
          this.packets++;
          this.recLen = 0;
        }
      }
    }
  }
}

/** true for a little-endian pcap, false for big-endian; throws for anything else. */
function byteOrder(head: Buffer): boolean {
  const le = head.readUInt32LE(0);
  if (le === 0xa1b2c3d4 || le === 0xa1b23c4d) return true;
  const be = head.readUInt32BE(0);
  if (be === 0xa1b2c3d4 || be === 0xa1b23c4d) return false;
  throw new QfleetError("COMMAND_FAILED", `not a pcap stream (magic 0x${le.toString(16)})`);
}
