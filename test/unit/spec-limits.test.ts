import { describe, expect, it } from "vitest";
import { depthProblem, MAX_DEPTH, MAX_ISSUES_PER_FILE, MAX_SPEC_BYTES } from "../../src/spec/limits.js";
import { validateVmText } from "../../src/spec/validate-doc.js";
import { parseFleetFile } from "../../src/spec/fleet-id.js";

const check = (text: string) =>
  validateVmText(text, "vms/x.yaml", "/f/vms/x.yaml").issues.map((i) => `${i.line}:${i.col}: ${i.field ? `${i.field}: ` : ""}${i.message}`);

describe("spec limits: one odd file is one located problem, never a stall or a crash", () => {
  it("a flow collection nested too deeply is located, not a stack overflow", () => {
    const deep = `memory: 1G\nx: ${"[".repeat(20_000)}${"]".repeat(20_000)}\n`;
    expect(check(deep)).toEqual([`2:${3 + MAX_DEPTH}: nested more than ${MAX_DEPTH} levels deep: a VM spec needs a handful`]);
  });

  it("block nesting by indentation and sequence markers counts too", () => {
    let text = "x:\n";
    for (let i = 1; i <= 200; i++) text += `${" ".repeat(i)}a:\n`;
    expect(check(text)[0]).toBe("65:65: nested more than 64 levels deep: a VM spec needs a handful");
    expect(depthProblem(`x:\n${"- ".repeat(70)}1\n`)).toMatchObject({ line: 2 });
  });

  it("quoted brackets and comments do not count as nesting", () => {
    expect(depthProblem(`a: "${"[".repeat(100)}"\nb: '${"{".repeat(100)}'\n# ${"[".repeat(100)}\n`)).toBeNull();
    expect(check('boot:\n  kernel: /k\n  append: "console=ttyS0 [[[["\n')).toEqual([]);
  });

  it("a file over the size limit is one problem at 1:1", () => {
    const big = `memory: 1G\n# ${"x".repeat(MAX_SPEC_BYTES)}\n`;
    expect(check(big)).toEqual([`1:1: the file is ${Math.round(big.length / 1024)} KiB; a spec may be at most 1024 KiB: is this the right file?`]);
  });

  it("reports at most a hundred problems per file, then counts the rest", () => {
    const text = Array.from({ length: 250 }, (_, i) => `key_${i}: 1`).join("\n");
    const got = check(text);
    expect(got).toHaveLength(MAX_ISSUES_PER_FILE + 1);
    expect(got.at(-1)).toBe("1:1: and 150 more problem(s) not shown");
  });

  it("finds duplicate keys at any depth, each with its first line", () => {
    expect(check("memory: 1G\nssh:\n  port: 2222\n  port: 2223\nmemory: 2G\n")).toEqual([
      "4:3: ssh.port: duplicate key 'port' (first given on line 3)",
      "5:1: memory: duplicate key 'memory' (first given on line 1)",
    ]);
  });
});

describe("fleet.yaml", () => {
  it("reads an id and refuses anything else with a located problem", () => {
    expect(parseFleetFile("# c\nid: 606d87ef206c6e06\n")).toEqual({ identity: { id: "606d87ef206c6e06" }, issues: [] });
    expect(parseFleetFile("id: x\n").issues[0]).toMatchObject({ file: "fleet.yaml", field: "id" });
    expect(parseFleetFile("id: [\n").issues[0].message).toMatch(/^YAML syntax error/);
  });
});
