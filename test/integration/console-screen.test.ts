import { inflateSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeFleet, type TestFleet } from "../helpers/fleet.js";
import { ensureGuest, type GuestManifest } from "../helpers/guest.js";
import { call, callError, connectMcp } from "../helpers/mcp-client.js";

/**
 * When SSH is not there: the tiny guest's serial console (a getty on ttyS0, root/qfleet) and its
 * screen, through a real MCP client and real QEMU under TCG. A login on the console, a command
 * and its output; a screenshot that is a real PNG showing something; keys that change what the
 * console shows (ctrl-alt-delete makes busybox init reboot).
 */
/** Width, height and whether every pixel is the same, of a PNG our encoder wrote (8-bit RGB, filter 0 rows). */
function pngFacts(png: Buffer): { width: number; height: number; flat: boolean } {
  expect(png.subarray(0, 8).toString("hex")).toBe("89504e470d0a1a0a");
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  const idat: Buffer[] = [];
  for (let at = 8; at < png.length;) {
    const len = png.readUInt32BE(at);
    if (png.toString("latin1", at + 4, at + 8) === "IDAT") idat.push(png.subarray(at + 8, at + 8 + len));
    at += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const row = 1 + width * 3;
  const pixel = (y: number, x: number) => raw.subarray(y * row + 1 + x * 3, y * row + 4 + x * 3).toString("hex");
  let flat = true;
  for (let y = 0; y < height && flat; y++) for (let x = 0; x < width && flat; x++) flat = pixel(y, x) === pixel(0, 0);
  return { width, height, flat };
}

describe("console, screen and keys (real QEMU, tiny guest)", () => {
  let f: TestFleet;
  let guest: GuestManifest;
  let mcp: Awaited<ReturnType<typeof connectMcp>>;

  beforeAll(async () => {
    [guest, f] = await Promise.all([ensureGuest("x86_64"), Promise.resolve(makeFleet())]);
    f.spec(
      "con",
      `vcpus: 1\nmemory: 256M\naccel: tcg\ndisplay: vnc\nboot:\n  kernel: ${guest.kernel}\n  initrd: ${guest.initrd}\n  append: "console=ttyS0"\n`,
    );
    const r = await f.qfleet(["reconcile"]);
    expect(r.exitCode, r.stderr).toBe(0);
    mcp = await connectMcp(f);
  });
  afterAll(async () => {
    await mcp?.close();
    await f?.cleanup();
  });

  it("logs in on the console and runs a command there", async () => {
    const prompt = await call<{ success: boolean; line: string }>(mcp.client, "vm_console_wait", {
      name: "con",
      pattern: "login:", // not end-anchored: a kernel message may follow the prompt on its line
      timeout_s: 90,
    });
    expect(prompt).toMatchObject({ success: true });
    expect(prompt.line).toMatch(/^qfleet login:/);
    const user = await call(mcp.client, "vm_console_send", { name: "con", text: "root", wait_for: "Password:", timeout_s: 30 });
    expect(user, JSON.stringify(user)).toMatchObject({ success: true });
    // the prompt line, matched from its start: a late kernel message may be printed on the same line, after the prompt
    const shell = await call(mcp.client, "vm_console_send", { name: "con", text: "qfleet", wait_for: "^root@\\S*#( |$)", timeout_s: 60 });
    expect(shell, JSON.stringify(shell)).toMatchObject({ success: true });
    const out = await call<{ success: boolean; line: string }>(mcp.client, "vm_console_send", {
      name: "con",
      text: "echo hello-$((6*7))",
      wait_for: "^hello-42$",
    });
    expect(out).toMatchObject({ success: true, line: "hello-42" });
    const read = await call<{ lines: string[] }>(mcp.client, "vm_console_read", { name: "con", lines: 20 });
    expect(read.lines).toContain("hello-42");
    expect(read.lines.join("\n")).not.toMatch(/[\x1b\r]/); // clean text: no escapes, no carriage returns
  });

  it("a wait that times out is a failure that shows the last lines", async () => {
    const r = await call<{ success: boolean; last: string[] }>(mcp.client, "vm_console_wait", {
      name: "con",
      pattern: "never-printed-[0-9]{9}",
      timeout_s: 2,
    });
    expect(r.success).toBe(false);
    expect(r.last.length).toBeGreaterThan(0);
    expect(await callError(mcp.client, "vm_console_wait", { name: "con", pattern: "(", timeout_s: 1 })).toMatch(/not a regular expression/);
  });

  it("takes a screenshot: a real PNG of the screen's size, not one flat colour", async () => {
    const r = await mcp.client.callTool({ name: "vm_screenshot", arguments: { name: "con" } });
    expect(r.isError).toBeFalsy();
    const image = (r.content as { type: string; data?: string; mimeType?: string }[]).find((c) => c.type === "image")!;
    expect(image.mimeType).toBe("image/png");
    const facts = pngFacts(Buffer.from(image.data!, "base64"));
    expect([facts.width, facts.height]).toEqual([
      (r.structuredContent as { width: number }).width,
      (r.structuredContent as { height: number }).height,
    ]);
    expect(facts.width).toBeGreaterThanOrEqual(640);
    expect(facts.flat).toBe(false);
    const small = await call<{ width: number; scaled: boolean }>(mcp.client, "vm_screenshot", { name: "con", max_width: 320, max_height: 320 });
    expect(small).toMatchObject({ width: 320, scaled: true });
  });

  it("keys change what the guest shows: ctrl-alt-delete reboots it (busybox init)", async () => {
    expect(await callError(mcp.client, "vm_send_keys", { name: "con", keys: ["ctrl-alt-nokey"] })).toMatch(/unknown key "nokey"/);
    expect(await call(mcp.client, "vm_send_keys", { name: "con", keys: ["ctrl-alt-delete"] })).toMatchObject({ success: true, pressed: 1 });
    const r = await call<{ success: boolean }>(mcp.client, "vm_console_wait", {
      name: "con",
      pattern: "reboot|Restarting|going down",
      timeout_s: 60,
    });
    expect(r.success).toBe(true);
  });
});
