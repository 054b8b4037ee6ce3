import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { fingerprint, hostFieldMatches, judgeHostKey, keysFor, keyType, knownHostsLine, knownHostsName } from "../../src/hosts/ssh/known-hosts.js";
import { lookupSshConfig } from "../../src/hosts/ssh/config.js";
import { useTmpDir } from "../helpers/tmp.js";

/**
 * known_hosts as OpenSSH reads it. Keys come from ssh-keygen, hashed entries from `ssh-keygen -H`,
 * and fingerprints are compared with `ssh-keygen -l`, so this checks against OpenSSH itself.
 */
const tmp = useTmpDir("qfleet-kh-");
let keyA: { line: string; blob: Buffer; fp: string };
let keyB: { line: string; blob: Buffer; fp: string };

function makeKey(file: string) {
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", file], { stdio: "pipe" });
  const line = readFileSync(`${file}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
  const fp = execFileSync("ssh-keygen", ["-l", "-E", "sha256", "-f", `${file}.pub`], { encoding: "utf8" }).split(/\s+/)[1];
  return { line, blob: Buffer.from(line.split(" ")[1], "base64"), fp };
}

describe("known_hosts", () => {
  beforeAll(() => {
    const d = execFileSync("mktemp", ["-d"], { encoding: "utf8" }).trim();
    keyA = makeKey(`${d}/a`);
    keyB = makeKey(`${d}/b`);
    execFileSync("rm", ["-rf", d]);
  });

  it("names hosts as ssh does: bare on port 22, [host]:port otherwise", () => {
    expect(knownHostsName("lab1.example.org", 22)).toBe("lab1.example.org");
    expect(knownHostsName("10.0.0.5", 2222)).toBe("[10.0.0.5]:2222");
  });

  it("prints fingerprints exactly as ssh-keygen -l does", () => {
    expect(fingerprint(keyA.blob)).toBe(keyA.fp);
    expect(keyType(keyA.blob)).toBe("ssh-ed25519");
  });

  it("finds plain, port-qualified, pattern and hashed (ssh-keygen -H) entries", () => {
    const file = tmp.path("known_hosts");
    writeFileSync(
      file,
      [
        `# comment`,
        ``,
        `other.host ${keyB.line}`,
        `[10.0.0.5]:2222 ${keyA.line}`,
        `lab1,lab2.example.org ${keyA.line}`,
        `*.corp,!bad.corp ${keyA.line}`,
        `Upper.Case ${keyA.line}`,
        "",
      ].join("\n"),
    );
    const text = readFileSync(file, "utf8");
    expect(keysFor(text, file, "[10.0.0.5]:2222").map((k) => k.line)).toEqual([4]);
    expect(keysFor(text, file, "10.0.0.5")).toEqual([]); // port 22 is another name
    expect(keysFor(text, file, "lab2.example.org")).toHaveLength(1);
    expect(keysFor(text, file, "x.corp")).toHaveLength(1);
    expect(keysFor(text, file, "bad.corp")).toEqual([]);
    expect(keysFor(text, file, "upper.case")).toHaveLength(1);

    execFileSync("ssh-keygen", ["-q", "-H", "-f", file], { stdio: "pipe" });
    const hashed = readFileSync(file, "utf8");
    expect(hashed).not.toContain("10.0.0.5");
    expect(keysFor(hashed, file, "[10.0.0.5]:2222")).toHaveLength(1);
    expect(keysFor(hashed, file, "[10.0.0.5]:2223")).toEqual([]);
    expect(keysFor(hashed, file, "lab1")).toHaveLength(1);
    expect(
      hostFieldMatches(
        hashed
          .split("\n")
          .find((l) => l.startsWith("|1|"))!
          .split(" ")[0],
        "nobody",
      ),
    ).toBe(false);
  });

  it("judges a presented key: known, unknown, changed (with the old entry), revoked", () => {
    const text = [`h1 ${keyA.line}`, `@revoked h3 ${keyB.line}`, `@cert-authority h4 ${keyA.line}`].join("\n");
    expect(judgeHostKey(keysFor(text, "kh", "h1"), keyA.blob).kind).toBe("known");
    expect(judgeHostKey(keysFor(text, "kh", "h2"), keyA.blob).kind).toBe("unknown");
    const changed = judgeHostKey(keysFor(text, "kh", "h1"), keyB.blob);
    expect(changed).toMatchObject({ kind: "changed", expected: [expect.objectContaining({ file: "kh", line: 1 })] });
    expect(judgeHostKey(keysFor(text, "kh", "h3"), keyB.blob).kind).toBe("revoked");
    expect(judgeHostKey(keysFor(text, "kh", "h4"), keyA.blob).kind).toBe("unknown"); // a CA line never vouches for a key
  });

  it("writes lines that ssh-keygen -F finds again", () => {
    const file = tmp.path("written");
    writeFileSync(file, knownHostsLine("[127.0.0.1]:2200", keyA.blob) + "\n");
    const found = execFileSync("ssh-keygen", ["-F", "[127.0.0.1]:2200", "-f", file], { encoding: "utf8", stdio: "pipe" });
    expect(found).toContain(keyA.line);
  });
});

describe("~/.ssh/config lookup", () => {
  it("takes HostName, Port, User and IdentityFile for an alias, first value winning", () => {
    const cfg = tmp.path("config");
    writeFileSync(
      cfg,
      [
        "Host lab",
        "  HostName 10.1.2.3",
        "  Port 2202",
        "  User builder",
        "  IdentityFile ~/.ssh/lab_key",
        "Host !other *",
        "  User fallback",
        "  IdentityFile /keys/%h",
        "Match host lab",
        "  Port 9999",
      ].join("\n"),
    );
    const e = lookupSshConfig("lab", cfg);
    expect(e).toMatchObject({ hostName: "10.1.2.3", port: 2202, user: "builder" });
    expect(e.identityFiles).toEqual([expect.stringMatching(/\/\.ssh\/lab_key$/), "/keys/10.1.2.3"]);
    expect(lookupSshConfig("other", cfg)).toEqual({ identityFiles: [] });
  });
});
