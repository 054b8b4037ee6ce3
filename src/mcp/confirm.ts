import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { QfleetError } from "../errors.js";

/**
 * Real confirmation comes from the person: when the client supports elicitation the question
 * goes to them (a `confirm: true` argument is ignored then, since a model can set it by
 * itself); otherwise the call must carry `confirm: true`. Not confirmed: REFUSED, nothing done.
 */
export async function askConfirmation(server: McpServer, whatIsLost: string, confirmArg: boolean | undefined): Promise<void> {
  if (server.server.getClientCapabilities()?.elicitation) {
    const r = await server.server.elicitInput({
      mode: "form",
      message: `${whatIsLost}\nGo ahead?`,
      requestedSchema: {
        type: "object",
        properties: { confirm: { type: "boolean", title: "Yes, go ahead", description: whatIsLost } },
        required: ["confirm"],
      },
    });
    if (r.action === "accept" && r.content?.confirm === true) return;
    throw new QfleetError("REFUSED", `not confirmed (${r.action}): ${whatIsLost} Nothing was changed.`);
  }
  if (confirmArg === true) return;
  throw new QfleetError("REFUSED", `needs confirmation: ${whatIsLost} Nothing was changed.`, {
    hint: "ask the person, then call again with confirm: true",
  });
}
