import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { shellCommand, shellQuote } from "../../src/hosts/ssh/quote.js";

/**
 * The quoting every remote command goes through, checked against real shells: whatever the
 * arguments, the shell must hand the program exactly the argv we meant, and run nothing else.
 */
const dir = mkdtempSync(path.join(tmpdir(), "qfleet-quote-"));
const marker = path.join(dir, "PWNED");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NASTY = [
  "",
  " ",
  "plain",
  "two words",
  "it's",
  "'",
  "''",
  `"double"`,
  "back\\slash\\",
  "$HOME",
  "${HOME}",
  `$(touch ${marker})`,
  `\`touch ${marker}\``,
  `; touch ${marker}`,
  `&& touch ${marker} ||`,
  `| touch ${marker}`,
  `> ${marker}`,
  "*",
  "/etc/*",
  "?",
  "[a-z]",
  "~",
  "~root",
  "#comment",
  "a=b",
  "-n",
  "--",
  "line\nbreak",
  "tab\there",
  "{a,b}",
  "!!",
  "%1",
  "ünïcödé ✓",
  "\u0001\u007f",
  "'$(touch x)'\"`y`\"",
];

/** argv as the shell passes it on: printf prints each argument NUL-terminated. */
function roundTrip(shell: string, args: string[]): string[] {
  const out = execFileSync(shell, ["-c", shellCommand(["printf", "%s\\0", ...args])], { encoding: "utf8" });
  return out.split("\0").slice(0, -1);
}

describe("shellQuote / shellCommand", () => {
  for (const shell of ["/bin/sh", "/bin/bash"]) {
    it(`${shell} receives every nasty argument exactly as given, and runs none of them`, () => {
      expect(roundTrip(shell, NASTY)).toEqual(NASTY);
      for (const a of NASTY) expect(roundTrip(shell, [a])).toEqual([a]);
      expect(existsSync(marker)).toBe(false);
    });
  }

  it("keeps plain words bare and quotes everything else", () => {
    expect(shellQuote("qemu-img")).toBe("qemu-img");
    expect(shellQuote("/var/lib/qemu/web1/disk0.qcow2")).toBe("/var/lib/qemu/web1/disk0.qcow2");
    expect(shellQuote("a b")).toBe("'a b'");
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(shellQuote("")).toBe("''");
    expect(shellQuote("a=b")).toBe("'a=b'"); // never an assignment in command position
  });

  it("never lets a first word become a keyword or an assignment", () => {
    expect(shellCommand(["if", "x"])).toBe("'if' x");
    const r = execFileSync("/bin/sh", ["-c", `${shellCommand(["FOO=bar"])} 2>&1; echo "rc=$?"`], { encoding: "utf8" });
    expect(r).toMatch(/rc=127/); // looked up as a command named FOO=bar, not run as an assignment
  });

  it("refuses NUL and empty commands", () => {
    expect(() => shellQuote("a\0b")).toThrow(/NUL/);
    expect(() => shellCommand([])).toThrow(/empty/);
  });
});
