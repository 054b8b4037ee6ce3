import { randomBytes } from "node:crypto";
import path from "node:path";
import { QfleetError } from "../errors.js";
import type { Host } from "../hosts/host.js";
import { parseKeyCombo, textToCombos } from "../qemu/keys.js";
import { withQmp } from "../qemu/qmp.js";
import { screenshotPng } from "../qemu/screen.js";
import { instancePaths } from "../state/paths.js";
import type { Inventory } from "./inventory.js";

/** A running VM's screen and keyboard, as this fleet reaches them. */
interface ScreenTarget {
  name: string;
  host: Host;
  instanceDir: string;
  hasDisplay: boolean;
}

/** The screen of a running VM of this fleet; REFUSED when it does not run. */
function screenTarget(inv: Inventory, name: string): ScreenTarget {
  const a = inv.hosts.flatMap((h) => h.vms).find((v) => v.name === name && (!v.applied?.owner || v.applied.owner.id === inv.self.id));
  if (!a?.applied) throw new QfleetError("NOT_FOUND", `no VM named ${name} in this fleet`, { hint: "qfleet list shows the VMs there are" });
  if (a.power !== "running") throw new QfleetError("REFUSED", `VM ${name} is ${a.power}: only a running VM has a screen and a keyboard`);
  return { name, host: inv.registry.get(a.host), instanceDir: a.instanceDir, hasDisplay: a.applied.vm.display === "vnc" };
}

/**
 * The VM's screen as a PNG (scaled down to fit maxWidth x maxHeight, keeping the aspect): QMP
 * screendump writes a PPM into the instance folder under a scratch name, which is read and
 * removed. A VM without `display: vnc` has no graphics card: REFUSED, saying how to add one.
 */
export async function screenshot(inv: Inventory, name: string, opts: { maxWidth?: number; maxHeight?: number } = {}) {
  const t = screenTarget(inv, name);
  if (!t.hasDisplay)
    throw new QfleetError("REFUSED", `VM ${name} has no screen (display: none)`, {
      hint: "set display: vnc in its spec (a restart), or read its serial console (vm_console_read)",
    });
  const file = path.posix.join(t.instanceDir, `.qfleet-screen-${randomBytes(6).toString("hex")}.ppm`);
  try {
    await withQmp(t.host, instancePaths(t.instanceDir).qmp, (q) => q.execute("screendump", { filename: file }), 15_000);
    return screenshotPng(await t.host.readBytes(file), opts);
  } finally {
    await t.host.remove(file).catch(() => undefined);
  }
}

/**
 * Presses key combinations on the VM's keyboard, one after another ("ctrl-alt-delete", "ret",
 * "tab", "alt-f2"), through QMP send-key. BAD_INPUT for an unknown key, before any is pressed.
 */
export async function sendKeys(inv: Inventory, name: string, combos: string[]): Promise<number> {
  const keys = combos.map(parseKeyCombo);
  await press(screenTarget(inv, name), keys);
  return keys.length;
}

/** Types a string on the VM's keyboard (a US layout: shift for capitals and symbols). */
export async function typeText(inv: Inventory, name: string, text: string): Promise<number> {
  const keys = textToCombos(text);
  await press(screenTarget(inv, name), keys);
  return keys.length;
}

async function press(t: ScreenTarget, combos: string[][]): Promise<void> {
  await withQmp(t.host, instancePaths(t.instanceDir).qmp, async (q) => {
    for (const keys of combos) {
      await q.execute("send-key", { keys: keys.map((k) => ({ type: "qcode", data: k })), "hold-time": 50 });
      await new Promise((r) => setTimeout(r, 30)); // a guest reads the next key as a new press
    }
  });
}
