import type { Command } from "commander";
import path from "node:path";
import { QfleetError } from "../errors.js";
import { LOCAL } from "../hosts/local.js";
import { fleetDirFrom } from "../spec/store.js";
import { action } from "./output.js";

interface Flags {
  dir?: string;
  readOnly?: boolean;
  http?: boolean;
  port: string;
  allowSshPassword?: boolean;
}

export function registerMcp(program: Command): void {
  program
    .command("mcp")
    .description("serve the MCP tools (for Claude Code and other MCP clients) over stdio, or Streamable HTTP on 127.0.0.1")
    .option("-C, --dir <dir>", "folder holding vms/ and hosts.yaml (default: the one holding the current folder, found upward)")
    .option("--read-only", "register only the tools that change nothing")
    .option("--http", "serve Streamable HTTP on 127.0.0.1 instead of stdio (bearer token from QFLEET_MCP_TOKEN or printed)")
    .option("--port <n>", "port for --http", "8765")
    .option("--allow-ssh-password", "accept ssh_pwd arguments (they pass through the model provider: prefer keys or password_env)")
    .addHelpText(
      "after",
      `
Examples:
  claude mcp add --transport stdio --scope project qemu -- npx qfleet mcp
  qfleet mcp --read-only
  QFLEET_MCP_TOKEN=secret qfleet mcp --http --port 8765`,
    )
    .action(
      action(async (f: Flags) => {
        // without -C, the fleet the current folder is in: Claude Code starts a project's servers in its root
        const dir = f.dir ? path.resolve(f.dir) : await fleetDirFrom(LOCAL, process.cwd());
        const ctx = { dir, readOnly: Boolean(f.readOnly), allowPassword: Boolean(f.allowSshPassword) };
        // a server answers many calls: what discovery learns about this machine is kept, checked on every use
        const { enableLiveCaches } = await import("../fleet/live-cache.js");
        const stopCaching = enableLiveCaches();
        if (f.http) {
          const port = Number(f.port);
          if (!Number.isInteger(port) || port < 0 || port > 65535) throw new QfleetError("BAD_INPUT", `--port takes 0..65535, not ${f.port}`);
          const { serveHttp } = await import("../mcp/http.js");
          const server = await serveHttp(ctx, port);
          await untilSignal();
          server.close();
          stopCaching();
          return 0;
        }
        const [{ createMcpServer }, { StdioServerTransport }] = await Promise.all([
          import("../mcp/server.js"),
          import("@modelcontextprotocol/sdk/server/stdio.js"),
        ]);
        const server = createMcpServer(ctx);
        const transport = new StdioServerTransport();
        const closed = new Promise<void>((resolve) => (transport.onclose = resolve));
        await server.connect(transport);
        process.stdin.once("end", () => void server.close());
        await Promise.race([closed, untilSignal()]);
        stopCaching();
        return 0;
      }),
    );
}

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
}
