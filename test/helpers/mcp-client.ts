import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { ElicitRequestSchema, type ElicitResult, type JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { CLI, type TestFleet } from "./fleet.js";

/**
 * A real MCP client (the SDK's Client over stdio) talking to the built `qfleet mcp` for a test
 * fleet. With `elicit`, the client declares elicitation and answers each question with it.
 */
export async function connectMcp(
  f: TestFleet,
  opts: { args?: string[]; elicit?: (message: string) => ElicitResult; env?: Record<string, string> } = {},
): Promise<{ client: Client; elicited: string[]; progress: { token: unknown; progress: number }[]; close(): Promise<void> }> {
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
  // every progress notification as it arrives on the wire, before the SDK client dispatches it
  // (its dispatch can drop the last one when it arrives with the response: SDK issue #2580)
  const progress: { token: unknown; progress: number }[] = [];
  const deliver = transport.onmessage!;
  transport.onmessage = (m: JSONRPCMessage) => {
    const n = m as { method?: string; params?: { progressToken?: unknown; progress?: number } };
    if (n.method === "notifications/progress") progress.push({ token: n.params?.progressToken, progress: n.params?.progress ?? -1 });
    deliver(m);
  };
  await client.listTools(); // the client then checks every structuredContent against its tool's outputSchema
  return { client, elicited, progress, close: () => client.close() };
}

/** The structured result of a tool call, or throws with its text when it is an error. */
export async function call<T = Record<string, unknown>>(client: Client, name: string, args: Record<string, unknown> = {}): Promise<T> {
  const r = await client.callTool({ name, arguments: args }, undefined, { timeout: 720_000 }); // waits up to 600 s (wait_s) are allowed
  if (r.isError) throw new Error(`${name} failed: ${JSON.stringify(r.content)}`);
  return r.structuredContent as T;
}

/** The error text of a tool call that must fail (throws when it succeeded). */
export async function callError(client: Client, name: string, args: Record<string, unknown> = {}): Promise<string> {
  const r = await client.callTool({ name, arguments: args }, undefined, { timeout: 720_000 }); // waits up to 600 s (wait_s) are allowed
  if (!r.isError) throw new Error(`${name} succeeded but should have failed: ${JSON.stringify(r.structuredContent)}`);
  return (r.content as { text: string }[]).map((c) => c.text).join("\n");
}
