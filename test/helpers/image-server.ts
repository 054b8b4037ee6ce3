import { createReadStream, statSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A real HTTP server on 127.0.0.1 (a free port) serving files for image-download tests:
 * GET with `Range: bytes=N-` answers 206 with Content-Range; every request is recorded (method,
 * path, Range header). `cutNext(n)` makes the next response stop after n bytes by destroying
 * the socket (a broken transfer); `bytesPerSecond` slows responses down (so progress shows, and
 * concurrent runs overlap). close() ends it and every connection.
 */
export interface ImageServer {
  url(name: string): string;
  requests: { method: string; path: string; range?: string }[];
  /** GET requests for one file name. */
  gets(name: string): { range?: string }[];
  cutNext(afterBytes: number): void;
  bytesPerSecond: number;
  close(): Promise<void>;
}

export async function startImageServer(files: Record<string, string>): Promise<ImageServer> {
  let cut: number | null = null;
  const s = {
    requests: [] as ImageServer["requests"],
    bytesPerSecond: 0,
  };
  const server = http.createServer((req, res) => {
    const name = (req.url ?? "/").slice(1);
    s.requests.push({ method: req.method ?? "", path: req.url ?? "", ...(req.headers.range && { range: req.headers.range }) });
    const file = files[name];
    if (!file) return void res.writeHead(404).end("no such file\n");
    const size = statSync(file).size;
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    const start = m ? Number(m[1]) : 0;
    if (start >= size && m) return void res.writeHead(416, { "content-range": `bytes */${size}` }).end();
    const headers = { "content-length": String(size - start), "accept-ranges": "bytes", "content-type": "application/octet-stream" };
    res.writeHead(m ? 206 : 200, m ? { ...headers, "content-range": `bytes ${start}-${size - 1}/${size}` } : headers);
    if (req.method === "HEAD") return void res.end();
    const stopAt = cut;
    cut = null;
    let sent = 0;
    const stream = createReadStream(file, { start, highWaterMark: 64 * 1024 });
    stream.on("data", (data) => {
      const chunk = data as Buffer;
      const piece = stopAt !== null && sent + chunk.length > stopAt ? chunk.subarray(0, stopAt - sent) : chunk;
      sent += piece.length;
      res.write(piece);
      if (stopAt !== null && sent >= stopAt) {
        stream.destroy();
        setTimeout(() => req.socket.destroy(), 50); // the bytes so far reach the client, then the connection breaks
        return;
      }
      if (s.bytesPerSecond > 0) {
        stream.pause();
        setTimeout(() => stream.resume(), (1000 * piece.length) / s.bytesPerSecond);
      }
    });
    stream.on("end", () => res.end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(s, {
    url: (name: string) => `http://127.0.0.1:${port}/${name}`,
    gets: (name: string) => s.requests.filter((r) => r.method === "GET" && r.path === `/${name}`),
    cutNext: (n: number) => void (cut = n),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
