import { execa } from "execa";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitGone } from "../helpers/fleet.js";
import { ensureGuest, type GuestManifest } from "../helpers/guest.js";
import { makeLab, type Lab } from "../helpers/sshd-lab.js";

/**
 * The tiny real guest booted on a remote host that lives in its own network namespace: the
 * guest's SSH forward is bound to 127.0.0.1 *there*, which this machine cannot reach at all.
 * So `ssh_accessible` can only come from a probe made on the remote side, and the two-hop
 * ssh_command is checked by really logging in through it.
 */
describe("remote host: a real guest reaches SSH through the host (real sshd, netns, QEMU)", () => {
  let lab: Lab;
  let guest: GuestManifest;
  const port = 2222; // inside the namespace, where nothing else listens

  beforeAll(async () => {
    [lab, guest] = await Promise.all([makeLab("g", { netns: true }), ensureGuest("x86_64")]);
    lab.writeHosts({ r2: lab.entry("r2") });
    lab.f.spec(
      "g1",
      `host: r2\nvcpus: 1\nmemory: 256M\naccel: tcg\nboot:\n  kernel: ${guest.kernel}\n  initrd: ${guest.initrd}\n  append: "${guest.append}"\nssh: { port: ${port} }\ndisks:\n  - size: 64M\n`,
    );
  });
  afterAll(() => lab?.teardown());

  it("boots on the remote host and becomes ssh_accessible, probed from the remote side", async () => {
    const r = await lab.cli(["reconcile"]);
    expect(r.exitCode, r.stderr + r.stdout).toBe(0);
    const st = await lab.cli(["status", "g1", "--wait-ssh", "120", "--json"]);
    expect(st.exitCode, st.stdout + st.stderr).toBe(0);
    const s = JSON.parse(st.stdout);
    expect(s).toMatchObject({ host: "r2", status: "running", qmp_status: "running", ssh_accessible: true, ssh_port: port });
    expect(s.ssh_banner).toMatch(/^SSH-2\.0-dropbear/);
    expect(s.ssh_command).toBe(`ssh -J ${lab.user.name}@${lab.sshd.r2.address} -p ${port} root@localhost`);
  });

  it("its ssh_command logs in from here, through the host", async () => {
    const s = JSON.parse((await lab.cli(["status", "g1", "--json"])).stdout);
    const config = path.join(lab.f.dir, "ssh_config");
    writeFileSync(
      config,
      [
        `Host ${lab.sshd.r2.address}`,
        `  IdentityFile ${lab.key}`,
        `  UserKnownHostsFile ${lab.knownHosts}`,
        "  StrictHostKeyChecking yes",
        "Host localhost",
        `  IdentityFile ${guest.key}`,
        "  StrictHostKeyChecking no",
        "  UserKnownHostsFile /dev/null",
        "Host *",
        "  IdentitiesOnly yes",
        "  BatchMode yes",
        "  LogLevel ERROR",
        "",
      ].join("\n"),
    );
    const [ssh, ...args] = String(s.ssh_command).split(" ");
    const r = await execa(ssh, ["-F", config, ...args, "uname -m"], { reject: false, timeout: 60_000, stdin: "ignore" });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe("x86_64");
  });

  it("its console is read and typed on through the host", async () => {
    const tail = JSON.parse((await lab.cli(["console", "g1", "--tail", "5", "--json"])).stdout);
    expect(tail).toMatchObject({ success: true, running: true });
    // dropbear logs to this console too, even right after a prompt on its line: patterns are not anchored
    const prompt = await lab.cli(["console", "g1", "--send", "", "--wait", "login:", "--timeout", "60"]);
    expect(prompt.exitCode, prompt.stderr).toBe(0);
    const login = await lab.cli(["console", "g1", "--send", "root", "--wait", "Password:", "--timeout", "30"]);
    expect(login.exitCode, login.stderr).toBe(0);
    expect((await lab.cli(["console", "g1", "--send", "qfleet", "--wait", "root@qfleet", "--timeout", "30"])).exitCode).toBe(0);
    const out = await lab.cli(["console", "g1", "--send", "echo remote-$((6*7))", "--wait", "^remote-42", "--timeout", "30"]);
    expect(out.stdout).toMatch(/^remote-42/);
  });

  it("takes and lists a live snapshot on the host", async () => {
    const made = await lab.cli(["snapshot", "g1", "create", "r1", "--json"]);
    expect(made.exitCode, made.stderr + made.stdout).toBe(0);
    const list = JSON.parse((await lab.cli(["snapshot", "g1", "list", "--json"])).stdout);
    expect(list.snapshots).toContainEqual(expect.objectContaining({ tag: "r1", ram: true }));
  });

  it("shuts down gracefully through QMP over the SSH forward (ACPI powerdown, acted on by the guest)", async () => {
    const pid = JSON.parse((await lab.cli(["status", "g1", "--json"])).stdout).pid as number;
    const r = await lab.cli(["stop", "g1", "--stop-timeout", "60"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain("g1: stopped (powerdown)");
    expect(await waitGone(pid)).toBe(true);
  });
});
