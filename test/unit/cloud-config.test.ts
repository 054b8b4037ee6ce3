import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { isQfleetError, type QfleetError } from "../../src/errors.js";
import { renderSeed, type Seed, type SeedInput } from "../../src/guest/cloud-config.js";
import { useTmpDir } from "../helpers/tmp.js";

/**
 * The NoCloud seed files. user-data is read back with `yaml` in YAML 1.1 mode (the dialect of
 * cloud-init's PyYAML), MIME messages with a small parser here and, when python3 is there, with
 * Python's email package (what cloud-init itself uses).
 */
const tmp = useTmpDir("qfleet-cc-");

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOfKIVWm0tGQo3+Ov9JyCkUXLBzv4a9hq2Ao7dvG2Zk3 me@host";
const KEY2 =
  "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEmKSENjQEezOmxkZMy7opKgwFB9nkt5YRrYMjNuG5N87uRgg6CLrbo5wAdT/y6v0mKV0U2w0WZ2YqK0Iyb8e/8= other";

const file = (seed: Seed, name: string) => seed.files.find((f) => f.name === name)!.data.toString("utf8");
const yaml11 = (text: string) => parse(text, { version: "1.1" });
const seedOf = (extra: Partial<SeedInput> = {}) => renderSeed({ hostname: "web1", sshAuthorizedKeys: [KEY], ...extra });

const OUR_USER = {
  name: "qfleet",
  sudo: "ALL=(ALL) NOPASSWD:ALL",
  shell: "/bin/bash",
  lock_passwd: true,
  ssh_authorized_keys: [KEY],
};

function refusal(fn: () => unknown): QfleetError {
  try {
    fn();
  } catch (e) {
    if (isQfleetError(e) && e.code === "BAD_INPUT") return e;
    throw e;
  }
  throw new Error("expected a BAD_INPUT error");
}

/** A multipart/mixed message split into its parts (headers lower-cased, body as given). */
function parseMultipart(text: string) {
  const [head, ...rest] = text.split("\n\n");
  const boundary = /boundary="([^"]+)"/.exec(head)![1];
  expect(head).toMatch(/^Content-Type: multipart\/mixed; boundary=/);
  expect(head).toMatch(/^MIME-Version: 1\.0$/m);
  const body = rest.join("\n\n");
  const chunks = body.split(`--${boundary}`);
  expect(chunks.at(-1)).toBe("--\n");
  return chunks.slice(1, -1).map((chunk) => {
    const raw = chunk.slice(1, -1); // the line break after the delimiter, and the one before the next
    const split = raw.indexOf("\n\n");
    const headers = Object.fromEntries(
      raw
        .slice(0, split)
        .split("\n")
        .map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]),
    );
    let content = raw.slice(split + 2);
    if (headers["content-transfer-encoding"] === "base64") content = Buffer.from(content, "base64").toString("utf8");
    return { headers, content, raw };
  });
}

const hasPython = spawnSync("python3", ["-c", "import email"]).status === 0;
/** [content type, decoded payload] of every leaf part, as Python's email package sees them. */
function pythonParts(text: string): [string, string][] {
  const f = tmp.path("user-data");
  writeFileSync(f, text);
  const py =
    "import email,json,sys\nm=email.message_from_string(open(sys.argv[1]).read())\n" +
    "print(json.dumps([[p.get_content_type(), p.get_payload(decode=True).decode('utf-8')] for p in m.walk() if not p.is_multipart()]))";
  return JSON.parse(execFileSync("python3", ["-c", py, f], { encoding: "utf8" }));
}

describe("renderSeed", () => {
  it("renders meta-data and a #cloud-config user-data with our user, keys and hostname", () => {
    const seed = seedOf();
    expect(seed.files.map((f) => f.name)).toEqual(["meta-data", "user-data"]);
    expect(seed.instanceId).toMatch(/^qfleet-web1-[0-9a-f]{12}$/);
    expect(yaml11(file(seed, "meta-data"))).toEqual({ "instance-id": seed.instanceId, "local-hostname": "web1" });
    const ud = file(seed, "user-data");
    expect(ud.startsWith("#cloud-config\n")).toBe(true);
    expect(yaml11(ud)).toEqual({ hostname: "web1", users: [OUR_USER], ssh_pwauth: false });
  });

  it("takes another user name and several keys (trimmed); no keys, no key list", () => {
    const seed = renderSeed({ hostname: "db.lab", user: "ops", sshAuthorizedKeys: [` ${KEY}\n`, `from="10.0.0.0/8" ${KEY2}`] });
    const users = yaml11(file(seed, "user-data")).users;
    expect(users).toEqual([{ ...OUR_USER, name: "ops", ssh_authorized_keys: [KEY, `from="10.0.0.0/8" ${KEY2}`] }]);
    const bare = yaml11(file(renderSeed({ hostname: "x", sshAuthorizedKeys: [] }), "user-data")).users[0];
    expect(bare).not.toHaveProperty("ssh_authorized_keys");
  });

  it("keeps the instance-id for the same input and changes it when any input changes", () => {
    const id = seedOf().instanceId;
    expect(seedOf().instanceId).toBe(id);
    expect(renderSeed({ hostname: "web1", sshAuthorizedKeys: [`  ${KEY} `] }).instanceId).toBe(id);
    expect(seedOf({ userData: "" }).instanceId).toBe(id);
    const others = [
      seedOf({ hostname: "web2" }),
      seedOf({ user: "ops" }),
      seedOf({ sshAuthorizedKeys: [KEY, KEY2] }),
      seedOf({ sshAuthorizedKeys: [KEY2] }),
      seedOf({ sshAuthorizedKeys: [] }),
      seedOf({ userData: "#cloud-config\npackages: [vim]\n" }),
      seedOf({ userData: "#cloud-config\npackages: [vim, git]\n" }),
      seedOf({ userData: "#!/bin/sh\necho hi\n" }),
    ].map((s) => s.instanceId);
    expect(new Set([id, ...others]).size).toBe(others.length + 1);
    expect(others[0]).toMatch(/^qfleet-web2-/);
  });

  it("merges a #cloud-config user_data: our user added, default only if listed, their keys kept", () => {
    const userData = [
      "#cloud-config",
      "# the user's own comment",
      "packages: [nginx]",
      "users:",
      "  - default",
      "  - name: qfleet   # ours replaces this one",
      "    shell: /bin/sh",
      "  - name: bob",
      "    groups: adm",
      "hostname: not-this",
      "ssh_pwauth: yes",
      "write_files:",
      "  - path: /etc/x",
      "    permissions: 0644",
      "    content: 'on'",
      "",
    ].join("\n");
    const ud = file(seedOf({ userData }), "user-data");
    expect(ud.startsWith("#cloud-config\n")).toBe(true);
    expect(ud).toContain("# the user's own comment");
    expect(ud).toContain("permissions: 0644");
    expect(yaml11(ud)).toEqual({
      packages: ["nginx"],
      users: ["default", { name: "bob", groups: "adm" }, OUR_USER],
      hostname: "web1",
      ssh_pwauth: true, // theirs wins
      write_files: [{ path: "/etc/x", permissions: 0o644, content: "on" }],
    });
  });

  it("adds our user when their cloud-config has no users (so no distro default user), or a string list", () => {
    const none = yaml11(file(seedOf({ userData: "#cloud-config\nruncmd: [[touch, /x]]\n" }), "user-data"));
    expect(none).toEqual({ runcmd: [["touch", "/x"]], users: [OUR_USER], hostname: "web1", ssh_pwauth: false });
    const str = yaml11(file(seedOf({ userData: "#cloud-config\nusers: default, alice, qfleet\n" }), "user-data"));
    expect(str.users).toEqual(["default", "alice", OUR_USER]);
    const flow = file(seedOf({ userData: "#cloud-config\nusers: [default, {name: bob}]\n" }), "user-data");
    expect(yaml11(flow).users).toEqual(["default", { name: "bob" }, OUR_USER]);
    expect(flow).toContain('\n    sudo: "ALL=(ALL) NOPASSWD:ALL"\n'); // block style, quoted: old PyYAML-safe
    const empty = yaml11(file(seedOf({ userData: "#cloud-config\n" }), "user-data"));
    expect(empty).toEqual({ users: [OUR_USER], hostname: "web1", ssh_pwauth: false });
  });

  it("locates invalid YAML in a #cloud-config user_data, and refuses a non-mapping or odd users", () => {
    const e = refusal(() => seedOf({ userData: "#cloud-config\npackages:\n  - vim\n bad: [\n" }));
    expect(e.message).toMatch(/not valid YAML at line \d+, column \d+/);
    expect(refusal(() => seedOf({ userData: "#cloud-config\na: 1\na: 2\n" })).message).toMatch(/line 3, column 1/);
    expect(refusal(() => seedOf({ userData: "#cloud-config\nfoo: *nowhere\n" })).message).toMatch(/not valid YAML: Unresolved alias.*nowhere/);
    expect(refusal(() => seedOf({ userData: "#cloud-config\n- a\n- b\n" })).message).toMatch(/must be a YAML mapping/);
    expect(refusal(() => seedOf({ userData: "#cloud-config\nusers: {bob: {}}\n" })).message).toMatch(/`users` must be a list/);
  });

  it("puts a script after our #cloud-config in a MIME multipart/mixed user-data", () => {
    const script = "#!/bin/bash\nset -e\necho 'héllo ✓' > /etc/motd\n\n";
    const seed = seedOf({ userData: script });
    const ud = file(seed, "user-data");
    const parts = parseMultipart(ud);
    expect(parts.map((p) => p.headers["content-type"])).toEqual(['text/cloud-config; charset="utf-8"', 'text/x-shellscript; charset="utf-8"']);
    expect(yaml11(parts[0].content)).toEqual({ hostname: "web1", users: [OUR_USER], ssh_pwauth: false });
    expect(parts[1].content).toBe(script); // exact, non-ASCII via base64
    expect(parts[1].headers["content-transfer-encoding"]).toBe("base64");
    expect(seedOf({ userData: script }).files[1].data.equals(seed.files[1].data)).toBe(true);
    if (hasPython) {
      const py = pythonParts(ud);
      expect(py.map((p) => p[0])).toEqual(["text/cloud-config", "text/x-shellscript"]);
      expect(py[1][1]).toBe(script);
    }
  });

  it("gives each cloud-init format its content type, and nests a MIME user_data whole", () => {
    const typeOf = (userData: string) => parseMultipart(file(seedOf({ userData }), "user-data"))[1];
    expect(typeOf("#cloud-boothook\n#!/bin/sh\necho hi\n").headers["content-type"]).toMatch(/^text\/cloud-boothook;/);
    expect(typeOf("#include\nhttps://example.com/a.yaml\n").headers["content-type"]).toMatch(/^text\/x-include-url;/);
    expect(typeOf("#include-once\nhttps://example.com/a\n").headers["content-type"]).toMatch(/^text\/x-include-once-url;/);
    expect(typeOf("#cloud-config-archive\n- type: text/x-shellscript\n").headers["content-type"]).toMatch(/^text\/cloud-config-archive;/);
    expect(typeOf("#!/bin/sh\necho hi\n").content).toBe("#!/bin/sh\necho hi\n");

    const mime =
      'Content-Type: multipart/mixed; boundary="XYZ"\nMIME-Version: 1.0\n\n--XYZ\nContent-Type: text/x-shellscript\n\n#!/bin/sh\necho nested\n--XYZ--\n';
    const nested = typeOf(mime);
    expect(nested.raw).toBe(mime);
    if (hasPython) {
      const py = pythonParts(file(seedOf({ userData: mime }), "user-data"));
      expect(py.map((p) => p[0])).toEqual(["text/cloud-config", "text/x-shellscript"]);
      expect(py[1][1]).toBe("#!/bin/sh\necho nested");
    }
  });

  it("refuses user_data in no format cloud-init reads, naming the formats", () => {
    for (const userData of ["hello: world\n", " #cloud-config\n", "echo hi\n"]) {
      const e = refusal(() => seedOf({ userData }));
      expect(e.message).toMatch(/no user-data format cloud-init accepts/);
      expect(e.hint).toMatch(/"#cloud-config".*"#!".*MIME/);
    }
  });

  it("refuses private keys and things that are not public keys", () => {
    const d = tmp.path("k");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "t", "-f", d], { stdio: "pipe" });
    const pub = readFileSync(`${d}.pub`, "utf8");
    expect(yaml11(file(seedOf({ sshAuthorizedKeys: [pub] }), "user-data")).users[0].ssh_authorized_keys).toEqual([pub.trim()]);
    const priv = readFileSync(d, "utf8");
    for (const k of [priv, "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----", "BEGIN OPENSSH stuff"]) {
      const e = refusal(() => seedOf({ sshAuthorizedKeys: [KEY, k] }));
      expect(e.message).toMatch(/sshAuthorizedKeys\[1\] looks like a private key/);
    }
    expect(refusal(() => seedOf({ sshAuthorizedKeys: ["hello"] })).message).toMatch(/not an OpenSSH public key/);
    expect(refusal(() => seedOf({ sshAuthorizedKeys: [`${KEY}\n${KEY2}`] })).message).toMatch(/several lines/);
  });

  it("refuses hostnames and user names that cannot be used", () => {
    for (const hostname of ["", "-web", "web 1", "a/b", "x".repeat(64)]) expect(refusal(() => seedOf({ hostname })).message).toMatch(/as a hostname/);
    for (const user of ["", "Root", "1abc", "a b", "x".repeat(33)]) expect(refusal(() => seedOf({ user })).message).toMatch(/as a user name/);
  });
});
