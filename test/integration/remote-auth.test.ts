import { execa } from "execa";
import { appendFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCAL } from "../../src/hosts/local.js";
import { resolveAdhocHost } from "../../src/spec/hosts-edit.js";
import { registryFromDir } from "../../src/fleet/registry-from-dir.js";
import { freePort, stubSpec } from "../helpers/fleet.js";
import { startAgent, startSshd } from "../helpers/sshd.js";
import { makeLab, type Lab } from "../helpers/sshd-lab.js";

/**
 * Logging in and trusting host keys, against a real sshd. Each case writes hosts.yaml for a
 * host `h` and runs `qfleet plan --json`: a host that was reached plans `create` for the VM
 * declared on it; one that was not is `unknown` with the connection error as its reason.
 */
describe("remote hosts: logging in, host keys and host problems (real sshd)", () => {
  let lab: Lab;
  let fp: (pubFile: string) => Promise<string>;
  const stops: (() => unknown)[] = [];

  beforeAll(async () => {
    lab = await makeLab("a");
    lab.f.spec("p1", stubSpec("host: h\n"));
    fp = async (pub) => (await execa("ssh-keygen", ["-l", "-E", "sha256", "-f", pub])).stdout.split(/\s+/)[1];
  });
  afterAll(async () => {
    for (const s of stops) await s();
    await lab?.teardown();
  });

  /** Plans against host h (set up by `entry`) and returns p1's action. */
  async function planWith(entry: Record<string, unknown>, env: Record<string, string> = {}) {
    lab.writeHosts({ h: entry });
    const r = await lab.cli(["plan", "--json"], env);
    const plan = JSON.parse(r.stdout).plan;
    return { action: plan.actions.find((a: { vm: string }) => a.vm === "p1") as { kind: string; reason: string }, out: r.stdout + r.stderr };
  }
  const lastAccepted = () => (readFileSync(lab.sshd.r1.logFile, "utf8").match(/Accepted (\w+) for (\S+)/g) ?? []).at(-1);

  it("logs in with the identity file named in hosts.yaml (an unusable ssh-agent is passed over)", async () => {
    const { action } = await planWith(lab.entry("r1"));
    expect(action.kind).toBe("create");
    expect(lastAccepted()).toBe(`Accepted publickey for ${lab.user.name}`);
    const deadAgent = await planWith(lab.entry("r1"), { SSH_AUTH_SOCK: path.join(lab.f.dir, "no-agent.sock") });
    expect(deadAgent.action.kind, deadAgent.action.reason).toBe("create");
  });

  it("logs in through ssh-agent, and says it tried the agent when the agent has no usable key", async () => {
    const { identity_file: _, ...noKey } = lab.entry("r1");
    const agent = await startAgent(path.join(lab.f.dir, "agent.sock"), [lab.key]);
    stops.push(agent.stop);
    expect((await planWith(noKey, { SSH_AUTH_SOCK: agent.sock })).action.kind).toBe("create");
    expect(lastAccepted()).toBe(`Accepted publickey for ${lab.user.name}`);

    const empty = await startAgent(path.join(lab.f.dir, "empty.sock"), []);
    stops.push(empty.stop);
    const refused = await planWith(noKey, { SSH_AUTH_SOCK: empty.sock });
    expect(refused.action.kind).toBe("unknown");
    expect(refused.action.reason).toContain(`authentication failed for h (${lab.user.name}@127.0.0.1:${lab.sshd.r1.port}): tried ssh-agent`);
  });

  it("logs in with the password from the variable password_env names, and never prints it", async () => {
    const { identity_file: _, ...noKey } = lab.entry("r1");
    const ok = await planWith({ ...noKey, password_env: "QFT_LAB_PW" }, { QFT_LAB_PW: lab.user.password });
    expect(ok.action.kind).toBe("create");
    expect(lastAccepted()).toBe(`Accepted password for ${lab.user.name}`);

    const bad = await planWith({ ...noKey, password_env: "QFT_LAB_PW" }, { QFT_LAB_PW: "not-the-password-42" });
    expect(bad.action.reason).toContain("authentication failed for h");
    expect(bad.action.reason).toContain("tried password from $QFT_LAB_PW");
    expect(bad.out).not.toContain("not-the-password-42");
    const unset = await planWith({ ...noKey, password_env: "QFT_LAB_PW" });
    expect(unset.action.reason).toContain("password: $QFT_LAB_PW is not set");
  });

  it("decrypts an encrypted key with the passphrase from passphrase_env, and says why when it cannot", async () => {
    const enc = path.join(lab.f.dir, "k", "enc_ed25519");
    await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "lab passphrase", "-C", "", "-f", enc]);
    lab.user.authorize(lab.sshd.r1, readFileSync(`${enc}.pub`, "utf8"));
    const entry = { ...lab.entry("r1"), identity_file: "k/enc_ed25519", passphrase_env: "QFT_LAB_PASS" };
    expect((await planWith(entry, { QFT_LAB_PASS: "lab passphrase" })).action.kind).toBe("create");
    const missing = await planWith(entry);
    expect(missing.action.reason).toContain(`key ${enc}: encrypted, and $QFT_LAB_PASS is not set`);
    const wrong = await planWith(entry, { QFT_LAB_PASS: "nope" });
    expect(wrong.action.reason).toContain("does not decrypt it");
  });

  it("takes HostName, Port, User and IdentityFile from ~/.ssh/config for an alias", async () => {
    mkdirSync(path.join(lab.home, ".ssh"), { recursive: true });
    writeFileSync(
      path.join(lab.home, ".ssh", "config"),
      `Host lab-alias\n  HostName 127.0.0.1\n  Port ${lab.sshd.r1.port}\n  User ${lab.user.name}\n  IdentityFile ${lab.key}\n`,
    );
    const { action } = await planWith({ address: "lab-alias", known_hosts: "known_hosts", vm_dir: lab.vmDirs.r1 });
    expect(action.kind, action.reason).toBe("create");
  });

  it("refuses an unknown host key under strict, naming its fingerprint, and records nothing", async () => {
    const kh = path.join(lab.f.dir, "empty_known_hosts");
    writeFileSync(kh, "");
    const { action } = await planWith({ ...lab.entry("r1"), known_hosts: "empty_known_hosts" });
    expect(action.kind).toBe("unknown");
    const hostFp = await fp(path.join(lab.sshd.r1.dir, "host_ed25519.pub"));
    expect(action.reason).toContain(`host key of h (${lab.user.name}@127.0.0.1:${lab.sshd.r1.port}) is unknown: ssh-ed25519 ${hostFp}`);
    expect(readFileSync(kh, "utf8")).toBe("");
  });

  it("records an unknown key under accept-new (as ssh does), then trusts it; hashed entries work too", async () => {
    const kh = path.join(lab.f.dir, "new_known_hosts");
    writeFileSync(kh, "");
    const entry = { ...lab.entry("r1"), known_hosts: "new_known_hosts", host_key_policy: "accept-new" };
    const first = (await planWith(entry)).action;
    expect(first.kind, first.reason).toBe("create");
    const found = await execa("ssh-keygen", ["-F", `[127.0.0.1]:${lab.sshd.r1.port}`, "-f", kh]);
    expect(found.stdout).toContain(lab.sshd.r1.hostKey);
    await execa("ssh-keygen", ["-q", "-H", "-f", kh]);
    expect((await planWith({ ...entry, host_key_policy: "strict" })).action.kind).toBe("create");
  });

  it("refuses a changed host key under strict and accept-new alike, with both fingerprints", async () => {
    const oldFp = await fp(path.join(lab.sshd.r1.dir, "host_ed25519.pub"));
    await lab.sshd.r1.stop();
    lab.sshd.r1 = await startSshd({ dir: path.join(lab.f.dir, "sshd"), name: "r1-rekeyed", port: lab.sshd.r1.port });
    lab.user.authorize(lab.sshd.r1, readFileSync(`${lab.key}.pub`, "utf8"));
    const newFp = await fp(path.join(lab.sshd.r1.dir, "host_ed25519.pub"));
    expect(newFp).not.toBe(oldFp);
    for (const policy of ["strict", "accept-new"]) {
      const { action } = await planWith({ ...lab.entry("r1"), host_key_policy: policy });
      expect(action.kind).toBe("unknown");
      expect(action.reason).toContain(`has CHANGED: it presents ssh-ed25519 ${newFp}, known_hosts has ssh-ed25519 ${oldFp}`);
    }
    expect(readFileSync(lab.knownHosts, "utf8")).not.toContain(lab.sshd.r1.hostKey);
  });

  it("MCP-style ad-hoc hosts: added to hosts.yaml without secrets, with a one-call password held in memory only", async () => {
    const file = path.join(lab.f.dir, "hosts.yaml");
    writeFileSync(file, "# lab hosts: this comment stays\nhosts:\n  other:\n    address: other.invalid # and this one\n");
    mkdirSync(path.join(lab.home, ".ssh"), { recursive: true });
    writeFileSync(path.join(lab.home, ".ssh", "known_hosts"), lab.sshd.r1.knownHostsLine() + "\n");
    Object.assign(process.env, { HOME: lab.home, SSH_AUTH_SOCK: "" }); // this test process plays the MCP server
    const args = { host: "127.0.0.1", ssh_port: lab.sshd.r1.port, ssh_user: lab.user.name, ssh_pwd: lab.user.password };

    const got = await resolveAdhocHost(LOCAL, lab.f.dir, args);
    expect(got).toEqual({ name: `127-0-0-1-${lab.sshd.r1.port}`, password: lab.user.password });
    const text = readFileSync(file, "utf8");
    expect(text).toContain("# lab hosts: this comment stays");
    expect(text).toContain("# and this one");
    expect(text).toContain(`127-0-0-1-${lab.sshd.r1.port}:\n    address: 127.0.0.1\n    port: ${lab.sshd.r1.port}\n    user: ${lab.user.name}\n`);
    expect(text).not.toContain(lab.user.password);
    expect((await resolveAdhocHost(LOCAL, lab.f.dir, args)).name).toBe(got.name); // matched, not added twice
    expect(readFileSync(file, "utf8")).toBe(text);

    const withPw = (await registryFromDir(lab.f.dir)).withPassword(got.name, got.password!);
    expect((await withPw.get(got.name).run(["id", "-un"])).stdout.trim()).toBe(lab.user.name);
    await withPw.closeAll();
    const without = await registryFromDir(lab.f.dir);
    await expect(without.get(got.name).run(["true"])).rejects.toThrow(/authentication failed .*: tried nothing/);
    await without.closeAll();

    await expect(resolveAdhocHost(LOCAL, lab.f.dir, { host: "10.9.9.9", ssh_key: "-----BEGIN OPENSSH PRIVATE KEY-----\nabc" })).rejects.toThrow(
      /not the key itself/,
    );
    expect(await resolveAdhocHost(LOCAL, lab.f.dir, { host: "local" })).toEqual({ name: "local" });
  });

  it("says QEMU is not installed on a host that lacks it, naming the package to install", async () => {
    const bin = path.join(lab.f.dir, "bin-without-qemu");
    mkdirSync(bin, { mode: 0o755 });
    for (const tool of ["sh", "uname", "grep", "xargs", "flock", "cat", "rm"])
      symlinkSync((await execa("sh", ["-c", `command -v ${tool}`])).stdout, path.join(bin, tool));
    const nq = await startSshd({ dir: path.join(lab.f.dir, "sshd"), name: "nq", port: await freePort(), extraConfig: [`SetEnv PATH=${bin}`] });
    stops.push(() => nq.stop());
    lab.user.authorize(nq, readFileSync(`${lab.key}.pub`, "utf8"));
    appendFileSync(lab.knownHosts, nq.knownHostsLine() + "\n");
    lab.writeHosts({ h: lab.entry("r1"), nq: { ...lab.entry("r1"), port: nq.port, vm_dir: lab.userDir("nq") } });
    lab.f.spec("n1", stubSpec("host: nq\n"));
    const r = await lab.cli(["reconcile", "--only", "n1"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("n1: qemu-system-x86_64 is not installed on nq");
    expect(r.stdout + r.stderr).toMatch(/apt-get install qemu-system-x86/);
    writeFileSync(path.join(lab.vmDirs.r1, "x.qcow2"), "");
    const img = await lab.cli(["image", "info", path.join(lab.vmDirs.r1, "x.qcow2"), "--host", "nq"]);
    expect(img.exitCode).toBe(1);
    expect(img.stderr).toContain("qemu-img is not installed on nq");
  });
});
