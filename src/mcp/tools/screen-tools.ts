import * as z from "zod";
import { loadInventory } from "../../fleet/inventory.js";
import { screenshot, sendKeys, typeText } from "../../fleet/screen.js";
import { defineTool, vmNameArg } from "../tool.js";

/** The screen and the keyboard: for installers and guests that SSH cannot reach yet. */
const vmName = vmNameArg.describe("the VM");
const inventoryFor = (dir: string, name: string) => loadInventory(dir, { only: [name] });

export const vmScreenshot = defineTool({
  name: "vm_screenshot",
  title: "Look at a VM's screen",
  description:
    "A PNG of a running VM's screen (a VM with display: vnc), returned as image content, scaled down to fit 1280x800 unless " +
    "max_width/max_height say otherwise. Changes nothing.",
  input: {
    name: vmName,
    max_width: z.int().min(16).max(4096).default(1280),
    max_height: z.int().min(16).max(4096).default(800),
  },
  output: {
    success: z.boolean(),
    message: z.string(),
    width: z.number(),
    height: z.number(),
    original_width: z.number(),
    original_height: z.number(),
    scaled: z.boolean(),
  },
  annotations: { readOnlyHint: true, idempotentHint: false },
  async run(a, call, ctx) {
    const s = await screenshot(await inventoryFor(ctx.dir, a.name), a.name, { maxWidth: a.max_width, maxHeight: a.max_height });
    call.attachImage(s.png);
    const size = `${s.width}x${s.height}${s.scaled ? ` (scaled from ${s.originalWidth}x${s.originalHeight})` : ""}`;
    return {
      success: true,
      message: `${a.name}'s screen, ${size}`,
      width: s.width,
      height: s.height,
      original_width: s.originalWidth,
      original_height: s.originalHeight,
      scaled: s.scaled,
    };
  },
});

export const vmSendKeys = defineTool({
  name: "vm_send_keys",
  title: "Press keys on a VM",
  description:
    'Press key combinations on a running VM\'s keyboard, one after another: e.g. ["ctrl-alt-delete"], ["tab", "tab", "ret"], ["alt-f2"], ' +
    '["esc"]. Names are QEMU key names or common aliases (enter, escape, space, backspace, up, pgdn, f1..f12).',
  input: { name: vmName, keys: z.array(z.string().min(1).max(64)).min(1).max(200) },
  output: { success: z.boolean(), message: z.string(), pressed: z.number() },
  annotations: { readOnlyHint: false, destructiveHint: true }, // a key press can do anything (ctrl-alt-delete reboots)
  async run(a, _c, ctx) {
    const pressed = await sendKeys(await inventoryFor(ctx.dir, a.name), a.name, a.keys);
    return { success: true, message: `pressed ${pressed} key combination(s) on ${a.name}`, pressed };
  },
});

export const vmTypeText = defineTool({
  name: "vm_type_text",
  title: "Type text on a VM",
  description: "Type a string on a running VM's keyboard (a US layout; \\n is Enter). For a serial console, vm_console_send is the better way.",
  input: { name: vmName, text: z.string().min(1).max(4096) },
  output: { success: z.boolean(), message: z.string(), typed: z.number() },
  annotations: { readOnlyHint: false, destructiveHint: true },
  async run(a, _c, ctx) {
    const typed = await typeText(await inventoryFor(ctx.dir, a.name), a.name, a.text);
    return { success: true, message: `typed ${typed} key(s) on ${a.name}`, typed };
  },
});
