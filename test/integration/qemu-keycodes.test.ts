import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { QKEYCODES } from "../../src/qemu/keys.js";

/** The list above is QEMU's own: every name it holds must be in the installed QEMU's QKeyCode enum. */
const QEMU = "qemu-system-x86_64";
describe("QKEYCODES against the installed QEMU", () => {
  it("are all QKeyCode values of its QMP schema", () => {
    const input = '{"execute":"qmp_capabilities"}\n{"execute":"query-qmp-schema"}\n{"execute":"quit"}\n';
    const r = spawnSync(QEMU, ["-machine", "none", "-nodefaults", "-display", "none", "-qmp", "stdio"], { input, encoding: "utf8", timeout: 30_000 });
    const replies = r.stdout
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { return?: unknown });
    const schema = replies.find((m) => Array.isArray(m.return))!.return as { "meta-type": string; values?: string[] }[];
    const qkeycode = schema.find((e) => e["meta-type"] === "enum" && e.values?.includes("kp_enter") && e.values.includes("meta_l"))!;
    expect(QKEYCODES.filter((k) => !qkeycode.values!.includes(k))).toEqual([]);
  });
});
