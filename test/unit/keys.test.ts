import { describe, expect, it } from "vitest";
import { QfleetError } from "../../src/errors.js";
import { parseKeyCombo, QKEYCODES, textToCombos } from "../../src/qemu/keys.js";

function badInput(f: () => unknown, ...messages: RegExp[]): QfleetError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(QfleetError);
    const err = e as QfleetError;
    expect(err.code).toBe("BAD_INPUT");
    for (const m of messages) expect(err.toText()).toMatch(m);
    return err;
  }
  throw new Error(`expected BAD_INPUT ${messages.join(" ")}`);
}

describe("parseKeyCombo", () => {
  it("turns combinations into QKeyCode names, modifiers first", () => {
    const cases: [string, string[]][] = [
      ["ctrl-alt-delete", ["ctrl", "alt", "delete"]],
      ["ctrl+c", ["ctrl", "c"]],
      ["Ctrl+Alt+Del", ["ctrl", "alt", "delete"]],
      ["Return", ["ret"]],
      ["enter", ["ret"]],
      ["esc", ["esc"]],
      ["Escape", ["esc"]],
      ["F2", ["f2"]],
      ["shift-tab", ["shift", "tab"]],
      ["alt-f4", ["alt", "f4"]],
      ["a", ["a"]],
      ["A", ["a"]], // names are case-insensitive: use shift-a for a capital
      ["ctrl-A", ["ctrl", "a"]],
      ["1", ["1"]],
      ["/", ["slash"]],
      ["?", ["shift", "slash"]],
      ["shift-?", ["shift", "slash"]],
      ["c-ctrl", ["ctrl", "c"]],
      ["win", ["meta_l"]],
      ["super-l", ["meta_l", "l"]],
      ["PageUp", ["pgup"]],
      ["page_up", ["pgup"]],
      ["pgdn", ["pgdn"]],
      ["backspace", ["backspace"]],
      ["space", ["spc"]],
      ["ctrl--", ["ctrl", "minus"]],
      ["ctrl-+", ["ctrl", "shift", "equal"]],
      ["ctrl+-", ["ctrl", "minus"]],
      ["-", ["minus"]],
      ["+", ["shift", "equal"]],
      ["ctrl-plus", ["ctrl", "shift", "equal"]],
      ["kp_enter", ["kp_enter"]],
      ["altgr-q", ["alt_r", "q"]],
      ["ctrl-alt-f1", ["ctrl", "alt", "f1"]],
      ["  ctrl - c  ", ["ctrl", "c"]],
    ];
    for (const [combo, keys] of cases) expect(parseKeyCombo(combo), combo).toEqual(keys);
  });

  it("names the unknown key and lists valid ones", () => {
    const err = badInput(() => parseKeyCombo("ctrl-foo"), /unknown key "foo" in key combination "ctrl-foo"/, /ret, esc, tab/, /enter, escape/);
    expect(err.hint).toBeTruthy();
    badInput(() => parseKeyCombo("é"), /unknown key "é"/);
    badInput(() => parseKeyCombo("f13"), /unknown key "f13"/);
    badInput(() => parseKeyCombo(""), /empty key combination/);
    badInput(() => parseKeyCombo("ctrl--c"), /has an empty key name/);
    badInput(() => parseKeyCombo("ctrl+"), /has an empty key name/);
  });

  it("produces only names QEMU's send-key accepts", () => {
    const all = ["ctrl-alt-delete", "win-pgdn", "shift-~", "alt_r-printscreen", "menu", "numlock", "kp_minus", "backtick", "ctrl-]", "capslock"];
    const known = new Set(QKEYCODES);
    for (const combo of all) for (const k of parseKeyCombo(combo)) expect(known.has(k), `${combo} -> ${k}`).toBe(true);
  });
});

describe("textToCombos", () => {
  it("types text on a US keyboard, shifting capitals and shifted symbols", () => {
    expect(textToCombos("Hi!\n")).toEqual([["shift", "h"], ["i"], ["shift", "1"], ["ret"]]);
    expect(textToCombos("a\tb")).toEqual([["a"], ["tab"], ["b"]]);
    expect(textToCombos("x\r\ny\rz")).toEqual([["x"], ["ret"], ["y"], ["ret"], ["z"]]);
    expect(textToCombos("")).toEqual([]);
    expect(
      textToCombos('ls -la /tmp | grep "x" > ~/o.txt')
        .flat()
        .filter((k) => k === "shift"),
    ).toHaveLength(5);
  });

  it("has a key for every printable ASCII character", () => {
    const known = new Set(QKEYCODES);
    for (let c = 0x20; c < 0x7f; c++) {
      const ch = String.fromCharCode(c);
      const [combo] = textToCombos(ch);
      expect(
        combo!.every((k) => known.has(k)),
        ch,
      ).toBe(true);
      expect(combo!.length === 2, ch).toBe(/[A-Z!@#$%^&*()_+{}|:"~<>?]/.test(ch));
      if (combo!.length === 2) expect(combo![0]).toBe("shift");
    }
  });

  it("refuses characters no US key types, naming the character and its position", () => {
    badInput(() => textToCombos("café"), /character "é" \(U\+00E9\) at position 4/, /US keyboard/);
    badInput(() => textToCombos("ok 👍 then"), /"👍" \(U\+1F44D\) at position 4/);
    badInput(() => textToCombos("a\x00"), /character U\+0000 at position 2/);
  });
});
