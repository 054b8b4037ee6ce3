import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import * as z from "zod";
import { toQfleetError } from "../errors.js";
import { NAME_RE } from "../spec/schema.js";
import { askConfirmation } from "./confirm.js";

/** A VM name argument: what a spec's name may be (NAME_RE), with a message a model can act on. */
export const vmNameArg = z.string().regex(NAME_RE, "letters, digits, . _ -; start with a letter or digit; at most 63");

/** What every tool gets besides its arguments. */
export interface ToolContext {
  /** The fleet folder: vms/ and hosts.yaml. */
  dir: string;
  readOnly: boolean;
  /** `qfleet mcp --allow-ssh-password`: ssh_pwd arguments are accepted. */
  allowPassword: boolean;
}

export interface ToolCall {
  /** Sends notifications/progress when the client asked for progress (in order, all before the result). */
  progress(progress: number, total?: number, message?: string): Promise<void>;
  /**
   * Asks the person before something destructive: MCP elicitation when the client supports
   * it, otherwise the call must carry `confirm: true`. Throws REFUSED (changing nothing) when
   * not confirmed, with `whatIsLost` in the message.
   */
  confirm(whatIsLost: string, confirmArg: boolean | undefined): Promise<void>;
  /** Adds an image to the result's content, after the JSON text (screenshots). */
  attachImage(png: Buffer): void;
  signal: AbortSignal;
}

export interface Annotations {
  readOnlyHint: boolean;
  destructiveHint?: boolean;
  idempotentHint?: boolean;
  openWorldHint?: boolean;
}

export interface ToolDef<I extends z.ZodRawShape, O extends z.ZodRawShape> {
  name: string;
  title: string;
  description: string;
  input: I;
  output: O;
  annotations: Annotations;
  run(args: z.output<z.ZodObject<I>>, call: ToolCall, ctx: ToolContext): Promise<z.output<z.ZodObject<O>>>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyTool = ToolDef<any, any>;

export const defineTool = <I extends z.ZodRawShape, O extends z.ZodRawShape>(def: ToolDef<I, O>): ToolDef<I, O> => def;

/**
 * Registers tools on a server. Contract: a tool's result is its data as `structuredContent`
 * (checked against its outputSchema) and the same JSON as text for older clients; anything
 * thrown becomes an `isError` result with the one-line message the CLI would print, so bad
 * arguments or a failing VM never crash the server. With ctx.readOnly only read-only tools
 * are registered.
 */
export function registerTools(server: McpServer, tools: AnyTool[], ctx: ToolContext): void {
  for (const t of tools) {
    if (ctx.readOnly && !t.annotations.readOnlyHint) continue;
    const annotations = { title: t.title, openWorldHint: false, ...t.annotations };
    if (!annotations.readOnlyHint) annotations.destructiveHint ??= false;
    server.registerTool(
      t.name,
      { title: t.title, description: t.description, inputSchema: t.input, outputSchema: t.output, annotations },
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      (async (args: any, extra: any) => {
        // progress notifications are sent in order and all flushed before the result: a client
        // stops listening for a call's progress once its response has arrived
        let sent: Promise<unknown> = Promise.resolve();
        let anySent = false;
        const images: { type: "image"; data: string; mimeType: string }[] = [];
        const call: ToolCall = {
          signal: extra.signal,
          progress(progress, total, message) {
            const token = extra._meta?.progressToken;
            if (token === undefined) return sent.then(() => undefined);
            anySent = true;
            sent = sent
              .then(() => extra.sendNotification({ method: "notifications/progress", params: { progressToken: token, progress, total, message } }))
              .catch(() => undefined);
            return sent.then(() => undefined);
          },
          confirm: (whatIsLost, confirmArg) => askConfirmation(server, whatIsLost, confirmArg),
          attachImage: (png) => void images.push({ type: "image", data: png.toString("base64"), mimeType: "image/png" }),
        };
        try {
          const data = await t.run(args, call, ctx);
          await sent;
          // The SDK client dispatches notifications a microtask late but responses at once, so a
          // progress notification read in the same chunk as the response is dropped
          // (modelcontextprotocol/typescript-sdk#2580): let the last one go out on its own.
          if (anySent) await new Promise((r) => setTimeout(r, 10));
          return { content: [{ type: "text", text: JSON.stringify(data, null, 2) }, ...images], structuredContent: data };
        } catch (e) {
          return { isError: true, content: [{ type: "text", text: `error: ${toQfleetError(e).toText()}` }] };
        }
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
      }) as any,
    );
  }
}
