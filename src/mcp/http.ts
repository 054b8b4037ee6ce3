import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import { randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import http from "node:http";
import { QfleetError } from "../errors.js";
import { createMcpServer } from "./server.js";
import type { ToolContext } from "./tool.js";

/**
 * `qfleet mcp --http`: Streamable HTTP on 127.0.0.1 only. Contracts: every request needs
 * `Authorization: Bearer TOKEN` (QFLEET_MCP_TOKEN, or a random one printed to stderr); a Host
 * header that is not this loopback address and port, or an Origin that is not local, is 403
 * (DNS rebinding); each session gets its own McpServer.
 */
export async function serveHttp(ctx: ToolContext, port: number): Promise<http.Server> {
  const token = process.env.QFLEET_MCP_TOKEN || randomBytes(24).toString("base64url");
  if (!process.env.QFLEET_MCP_TOKEN) process.stderr.write(`qfleet mcp: bearer token (set QFLEET_MCP_TOKEN to choose one): ${token}\n`);
  const sessions = new Map<string, StreamableHTTPServerTransport>();

  const server = http.createServer(async (req, res) => {
    const deny = (code: number, msg: string) => res.writeHead(code, { "content-type": "text/plain" }).end(`${msg}\n`);
    const actualPort = (server.address() as { port: number }).port;
    const hosts = [`127.0.0.1:${actualPort}`, `localhost:${actualPort}`];
    if (!hosts.includes(req.headers.host ?? "")) return deny(403, "forbidden: Host must be 127.0.0.1 or localhost");
    const origin = req.headers.origin;
    if (origin && !/^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/.test(origin)) return deny(403, "forbidden: Origin is not local");
    if (!bearerOk(req.headers.authorization, token)) return deny(401, "unauthorized: missing or wrong bearer token");
    try {
      const body = req.method === "POST" ? await readJson(req) : undefined;
      const sid = req.headers["mcp-session-id"];
      let transport = typeof sid === "string" ? sessions.get(sid) : undefined;
      if (!transport) {
        if (sid || req.method !== "POST" || !isInitializeRequest(body)) return deny(400, "bad request: no valid session (send initialize first)");
        const t = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id) => void sessions.set(id, t),
        });
        t.onclose = () => t.sessionId && sessions.delete(t.sessionId);
        await createMcpServer(ctx).connect(t);
        transport = t;
      }
      await transport.handleRequest(req, res, body);
    } catch (e) {
      if (!res.headersSent) deny(400, `bad request: ${(e as Error).message}`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) =>
      reject(new QfleetError(e.code === "EADDRINUSE" ? "BUSY" : "CONNECTION", `cannot listen on 127.0.0.1:${port}: ${e.code ?? e.message}`)),
    );
    server.listen(port, "127.0.0.1", resolve);
  });
  process.stderr.write(`qfleet mcp: listening on http://127.0.0.1:${(server.address() as { port: number }).port}/mcp\n`);
  return server;
}

function bearerOk(header: string | undefined, token: string): boolean {
  const given = Buffer.from(/^Bearer\s+(\S+)\s*$/i.exec(header ?? "")?.[1] ?? ""); // the scheme is case-insensitive (RFC 9110)
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

function readJson(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let data = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => {
      data += c;
      if (data.length > 4 * 1024 * 1024) reject(new Error("body too large"));
    });
    req.on("end", () => {
      try {
        resolve(data ? JSON.parse(data) : undefined);
      } catch {
        reject(new Error("body is not JSON"));
      }
    });
    req.on("error", reject);
  });
}
