import * as z from "zod";
import { QfleetError } from "../../errors.js";
import { consoleTarget, readConsole, sendToConsole, waitOnConsole } from "../../fleet/console.js";
import { loadInventory } from "../../fleet/inventory.js";
import { defineTool, vmNameArg } from "../tool.js";

/** The serial console, for when SSH does not answer: read it, type on it, wait for something on it. */
const vmName = vmNameArg.describe("the VM");
const targetOf = async (dir: string, name: string) => consoleTarget(await loadInventory(dir, { only: [name] }), name);

export const vmConsoleRead = defineTool({
  name: "vm_console_read",
  title: "Read a VM's console",
  description:
    "The last lines of a VM's serial console as clean text (escape sequences and carriage returns resolved): boot messages, a login " +
    "prompt, an installer's questions. Works for a stopped VM too (its last run). Changes nothing.",
  input: { name: vmName, lines: z.int().min(1).max(2000).default(50).describe("how many lines (default 50)") },
  output: { success: z.boolean(), message: z.string(), lines: z.array(z.string()), running: z.boolean() },
  annotations: { readOnlyHint: true, idempotentHint: true },
  async run(a, _c, ctx) {
    const t = await targetOf(ctx.dir, a.name);
    const lines = await readConsole(t, a.lines);
    return {
      success: true,
      message: lines.length ? `${lines.length} line(s) of ${a.name}'s console` : "the console printed nothing yet",
      lines,
      running: t.running,
    };
  },
});

export const vmConsoleSend = defineTool({
  name: "vm_console_send",
  title: "Type on a VM's console",
  description:
    "Type text on a running VM's serial console, followed by Enter unless enter is false: log in at a login prompt, answer an " +
    "installer, run a command when SSH does not answer. Use vm_console_wait to see the answer.",
  input: {
    name: vmName,
    text: z.string().max(64 * 1024),
    enter: z.boolean().default(true),
    wait_for: z
      .string()
      .min(1)
      .max(1000)
      .optional()
      .describe(
        "a regular expression to wait for in what the guest prints after the text (e.g. a prompt; no closing $: the kernel may print after it)",
      ),
    timeout_s: z.number().positive().max(900).default(30).describe("how long wait_for waits"),
  },
  output: {
    success: z.boolean(),
    message: z.string(),
    bytes: z.number(),
    line: z.string().optional(),
    before: z.array(z.string()).optional(),
    last: z.array(z.string()).optional(),
  },
  annotations: { readOnlyHint: false, destructiveHint: true }, // what it types can change anything in the guest
  async run(a, call, ctx) {
    const re = a.wait_for === undefined ? undefined : regexOf(a.wait_for);
    const t = await targetOf(ctx.dir, a.name);
    const sent = await sendToConsole(t, a.text, a.enter);
    const typed = `typed ${sent.bytes} byte(s) on ${a.name}'s console`;
    if (!re) return { success: true, message: typed, bytes: sent.bytes };
    let n = 0;
    const w = await waitOnConsole(t, re, a.timeout_s * 1000, {
      fromOffset: sent.logOffset,
      onProgress: (m) => void call.progress(++n, undefined, m),
    });
    const message = w.matched ? `${typed}; then: ${w.line}` : `${typed}, but no line matched /${a.wait_for}/ within ${a.timeout_s} s`;
    return {
      success: w.matched,
      message,
      bytes: sent.bytes,
      ...(w.line !== undefined && { line: w.line }),
      before: w.before,
      ...(w.last && { last: w.last }),
    };
  },
});

export const vmConsoleWait = defineTool({
  name: "vm_console_wait",
  title: "Wait for text on a VM's console",
  description:
    "Wait until a line on a VM's serial console matches `pattern` (a regular expression; a prompt already on screen, or printed " +
    "without a line break, counts; to catch the answer to typed text use vm_console_send's wait_for), " +
    "up to timeout_s. Returns the matched line and the text before it, or on a timeout success false with the last lines. Progress while it waits.",
  input: {
    name: vmName,
    pattern: z
      .string()
      .min(1)
      .max(1000)
      .describe('a regular expression, e.g. "login:" or "^root@\\\\S*# " (no closing $: the kernel may print more after a prompt on its line)'),
    timeout_s: z.number().positive().max(900).default(60),
  },
  output: {
    success: z.boolean(),
    message: z.string(),
    line: z.string().optional(),
    before: z.array(z.string()),
    last: z.array(z.string()).optional(),
    waited_s: z.number(),
  },
  annotations: { readOnlyHint: true, idempotentHint: false },
  async run(a, call, ctx) {
    const re = regexOf(a.pattern);
    let n = 0;
    const w = await waitOnConsole(await targetOf(ctx.dir, a.name), re, a.timeout_s * 1000, {
      onProgress: (m) => void call.progress(++n, undefined, m),
    });
    const waited_s = Math.round(w.waitedMs / 100) / 10;
    const message = w.matched ? `matched after ${waited_s} s: ${w.line}` : `no line matched /${a.pattern}/ within ${a.timeout_s} s`;
    return {
      success: w.matched,
      message,
      ...(w.line !== undefined && { line: w.line }),
      before: w.before,
      ...(w.last && { last: w.last }),
      waited_s,
    };
  },
});

function regexOf(pattern: string): RegExp {
  try {
    return new RegExp(pattern);
  } catch (e) {
    throw new QfleetError("BAD_INPUT", `not a regular expression: ${pattern}: ${(e as Error).message}`);
  }
}
