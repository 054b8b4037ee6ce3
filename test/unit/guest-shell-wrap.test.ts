import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { QfleetError } from "../../src/errors.js";
import { singleQuote, sweepCommand, withGuestTimeout } from "../../src/guest/shell-wrap.js";

/**
 * The quoting and timeout wrapper every guest command goes through, run by real shells (dash as
 * /bin/sh, bash): the shell must read back exactly the text we meant and run nothing else.
 * (busybox ash, the tiny guest's shell, is covered by test/integration/guest-ssh-session.test.ts.)
 */
const dir = mkdtempSync("/tmp/gss-unit-");
const marker = path.join(dir, "PWNED");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NASTY = [
  "",
  " ",
  "it's",
  "'",
  "''",
  "'\\''",
  `"double"`,
  "back\\slash\\",
  "$HOME ${HOME} $0 $@ $$",
  `$(touch ${marker})`,
  `\`touch ${marker}\``,
  `; touch ${marker}`,
  `'; touch ${marker}; '`,
  `&& touch ${marker} ||`,
  "* ? [a-z] ~ ~root #comment a=b -n --",
  "line\nbreak\n",
  "\n",
  "tab\there",
  "{a,b} !! %1",
  "ünïcödé ✓ \u0001\u007f",
];
const MARK = "testmark0123";
const SHELLS = ["/bin/sh", "/usr/bin/dash", "/usr/bin/bash"].filter((s) => existsSync(s));

const run = (shell: string, line: string, env: NodeJS.ProcessEnv = process.env) => {
  const r = spawnSync(shell, ["-c", line], { encoding: "utf8", env, timeout: 20_000 });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status, signal: r.signal };
};

describe("singleQuote", () => {
  for (const shell of SHELLS) {
    it(`${shell} reads every nasty string back as one word, unexpanded`, () => {
      for (const s of NASTY) {
        const r = run(shell, `printf '%s|' ${singleQuote(s)}`);
        expect(r.stdout, JSON.stringify(s)).toBe(`${s}|`);
      }
      expect(existsSync(marker)).toBe(false);
    });
  }

  it("quotes a whole command once more for sh -c, which runs it unchanged", () => {
    const command = `printf '%s\\n' "it's" \`echo tick\` "$(echo sub)"; echo "$X"`;
    const r = run("/bin/sh", `sh -c ${singleQuote(command)}`, { ...process.env, X: "x$y" });
    expect(r.stdout).toBe("it's\ntick\nsub\nx$y\n");
  });

  it("refuses NUL", () => {
    expect(() => singleQuote("a\0b")).toThrow(QfleetError);
  });
});

describe("withGuestTimeout", () => {
  it("runs the command with its output, stdin and exit status when the shell has timeout", () => {
    for (const shell of SHELLS) {
      const r = spawnSync(shell, ["-c", withGuestTimeout(`cat; echo "it's $((1+2))" >&2; exit 7`, 10, MARK)], { input: "in\n", encoding: "utf8" });
      expect(r.stdout).toBe("in\n");
      expect(r.stderr).toBe("it's 3\n");
      expect(r.status).toBe(7);
    }
  });

  it("runs the command through sh -c when there is no timeout command", () => {
    const bin = path.join(dir, "bin");
    rmSync(bin, { recursive: true, force: true });
    spawnSync("mkdir", [bin]);
    symlinkSync("/bin/sh", path.join(bin, "sh"));
    const r = run("/bin/sh", withGuestTimeout(`printf '%s' "$0:it's"; exit 4`, 1, MARK), { PATH: bin });
    expect(r.stdout).toBe("sh:it's");
    expect(r.status).toBe(4);
  });

  it("ends a command that outlives its seconds, and its children (GNU timeout signals the group)", () => {
    const t0 = Date.now();
    const nap = `sleep 29.${process.pid}`; // a sleep only this test runs
    const r = run("/bin/sh", withGuestTimeout(`${nap}; echo never`, 1, MARK));
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(r.status).toBe(124); // timeout's status when it had to end the command
    expect(r.stdout).toBe("");
    expect(spawnSync("pgrep", ["-f", nap]).status).toBe(1); // no process left
  });

  it("rounds the seconds up, to at least 1, and refuses a non-positive timeout", () => {
    expect(withGuestTimeout("true", 0.2, MARK)).toContain("timeout -k 2 1 sh -c 'true'");
    expect(withGuestTimeout("true", 2.5, MARK)).toContain("timeout -k 2 3 sh -c 'true'");
    expect(() => withGuestTimeout("true", 0, MARK)).toThrow(QfleetError);
    expect(() => withGuestTimeout("true", Number.NaN, MARK)).toThrow(QfleetError);
  });
});

describe("sweepCommand", () => {
  it("ends every process of a marked command, children too, and nothing else", async () => {
    const mark = `m${process.pid}x${Date.now()}`;
    const nap = `sleep 27.${process.pid}`;
    const other = spawn("sleep", [`27.${process.pid}1`], { stdio: "ignore" }); // same kind of work, no mark: left alone
    const marked = spawn("sh", ["-c", withGuestTimeout(`${nap}2; echo never`, 60, mark)], { stdio: "ignore" });
    await new Promise((r) => setTimeout(r, 300));
    expect(spawnSync("pgrep", ["-f", `${nap}2`]).status).toBe(0);
    const t0 = Date.now();
    const r = run("/bin/sh", sweepCommand(mark));
    expect(r).toMatchObject({ status: 0, stdout: "", stderr: "" });
    expect(Date.now() - t0).toBeLessThan(5000);
    await new Promise((r) => (marked.exitCode !== null ? r(null) : marked.once("exit", r)));
    expect(spawnSync("pgrep", ["-f", `${nap}2`]).status).toBe(1);
    expect(spawnSync("pgrep", ["-f", `${nap}1`]).status).toBe(0);
    other.kill("SIGKILL");
  });

  it("does nothing, quickly, when no process has the mark", () => {
    const t0 = Date.now();
    expect(run("/bin/sh", sweepCommand("nobodyhasthismark")).status).toBe(0);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(() => sweepCommand("x; rm")).toThrow(QfleetError);
  });
});
