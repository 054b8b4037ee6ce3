import type { Readable, Writable } from "node:stream";
import type { SFTPWrapper } from "ssh2";

/**
 * Streaming SFTP transfers with several requests in flight, so a guest behind a slow or
 * distant link is not paid one round trip per chunk. Memory stays bounded by WINDOW x CHUNK
 * (512 KiB): a file is never held whole. Errors are passed on as they come (SFTP status errors
 * carry a numeric `code`); the caller names the path and closes the handle.
 */
const CHUNK = 32 * 1024; // under ssh2's 34000-byte packet limit for servers other than OpenSSH's
const WINDOW = 16;

export const sftpCall = <T = void>(fn: (cb: (err: Error | null | undefined, v?: T) => void) => void): Promise<T> =>
  new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v as T))));

/** Writes everything `src` yields to `handle` from offset 0; returns the byte count. */
export async function writeFromStream(sftp: SFTPWrapper, handle: Buffer, src: Readable): Promise<number> {
  const inflight = new Set<Promise<void>>();
  let failed: unknown;
  let pos = 0;
  try {
    for await (const chunk of src) {
      const buf: Buffer = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      for (let off = 0; off < buf.length; off += CHUNK) {
        if (failed) throw failed;
        const piece = buf.subarray(off, off + CHUNK);
        const p: Promise<void> = sftpCall((cb) => sftp.write(handle, piece, 0, piece.length, pos, cb)).then(
          () => void inflight.delete(p),
          (e) => {
            failed ??= e;
            inflight.delete(p);
          },
        );
        inflight.add(p);
        pos += piece.length;
        while (inflight.size >= WINDOW) await Promise.race(inflight);
      }
    }
  } finally {
    await Promise.all(inflight); // never leave writes running behind a close or an unlink
  }
  if (failed) throw failed;
  return pos;
}

/** Reads `len` bytes at `pos`, or fewer at the end of the file (a short read is continued). */
async function readAt(sftp: SFTPWrapper, handle: Buffer, pos: number, len: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(len);
  let got = 0;
  while (got < len) {
    const n = await sftpCall<number>((cb) => sftp.read(handle, buf, got, len - got, pos + got, cb as never));
    if (!n) break; // end of file
    got += n;
  }
  return buf.subarray(0, got);
}

/** Copies the file behind `handle` into `dst` in order, waiting on dst's backpressure; returns the byte count. dst is not ended. */
export async function readToStream(sftp: SFTPWrapper, handle: Buffer, dst: Writable): Promise<number> {
  type Slot = Promise<{ buf?: Buffer; err?: unknown }>;
  const queue: Slot[] = [];
  let next = 0;
  let eof = false;
  let total = 0;
  const refill = () => {
    while (!eof && queue.length < WINDOW) {
      queue.push(
        readAt(sftp, handle, next, CHUNK).then(
          (buf) => ({ buf }),
          (err) => ({ err }),
        ),
      );
      next += CHUNK;
    }
  };
  let failed: unknown;
  refill();
  while (queue.length) {
    const r = await queue.shift()!;
    if (failed) continue; // drain the reads already asked for
    if (r.err) {
      failed = r.err;
      eof = true;
      continue;
    }
    const buf = r.buf!;
    if (buf.length < CHUNK) eof = true; // the later reads come back empty
    if (buf.length) {
      total += buf.length;
      await put(dst, buf).catch((e) => ((failed = e), (eof = true)));
    }
    refill();
  }
  if (failed) throw failed;
  return total;
}

/** Writes one chunk, waiting for 'drain' when dst's buffer is full; rejects when dst fails or closes first. */
function put(dst: Writable, buf: Buffer): Promise<void> {
  if (dst.destroyed) return Promise.reject(new Error("the destination stream was closed"));
  if (dst.write(buf)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const off = () => (dst.off("drain", drained), dst.off("error", failed), dst.off("close", closed));
    const drained = () => (off(), resolve());
    const failed = (e: Error) => (off(), reject(e));
    const closed = () => (off(), reject(new Error("the destination stream was closed")));
    dst.on("drain", drained).on("error", failed).on("close", closed);
  });
}

/** Ends dst and resolves once everything is flushed ('finish'); rejects on its error. */
export function endStream(dst: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    dst.once("error", reject);
    dst.end(() => (dst.off("error", reject), resolve()));
  });
}
