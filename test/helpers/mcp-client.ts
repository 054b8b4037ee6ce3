import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { ElicitRequestSchema, type ElicitResult } from "@modelcontextprotocol/sdk/types.js";
import { CLI, type TestFleet } from "./fleet.js";

/**
 * A real MCP client (the SDK's Client over stdio) talking to the built `qfleet mcp` for a test
 * fleet. With `elicit`, the client declares elicitation and answers each question with it.
 */
export async function connectMcp(
  f: TestFleet,
  opts: { args?: string[]; elicit?: (message: string) => ElicitResult; env?: Record<string, string> } = {},
): Promise<{ client: Client; elicited: string[]; close(): Promise<void> }> {
  const transport = new StdioClientTransport({
    command: "node",
    args: [CLI, "mcp", "-C", f.dir, ...(opts.args ?? [])],
    env: { ...(process.env as Record<string, string>), ...f.env, ...opts.env },
    stderr: "pipe",
  });
  const client = new Client({ name: "qfleet-test", version: "1" }, { capabilities: opts.elicit ? { elicitation: {} } : {} });
  const elicited: string[] = [];
  if (opts.elicit) {
    client.setRequestHandler(ElicitRequestSchema, async (req) => {
      elicited.push(String(req.params.message));
      return opts.elicit!(String(req.params.message));
    });
  }
  await client.connect(transport);
  await client.listTools(); // the client then checks every structuredContent against its tool's outputSchema
  return { client, elicited, close: () => client.close() };
}

/** The structured result of a tool call, or throws with its text when it is an error. */
export async function call<T = Record<string, unknown>>(client: Client, name: string, args: Record<string, unknown> = {}): Promise<T> {
  const r = await client.callTool({ name, arguments: args }, undefined, { timeout: 180_000 });
  if (r.isError) throw new Error(`${name} failed: ${JSON.stringify(r.content)}`);
  return r.structuredContent as T;
}

/** The error text of a tool call that must fail (throws when it succeeded). */
export async function callError(client: Client, name: string, args: Record<string, unknown> = {}): Promise<string> {
  const r = await client.callTool({ name, arguments: args }, undefined, { timeout: 180_000 });
  if (!r.isError) throw new Error(`${name} succeeded but should have failed: ${JSON.stringify(r.structuredContent)}`);
  return (r.content as { text: string }[]).map((c) => c.text).join("\n");
}
