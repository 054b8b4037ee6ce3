import { execa } from "execa";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, stubSpec, waitGone } from "../helpers/fleet.js";
import { REPO_ROOT } from "../helpers/guest.js";
import { qmpQuery } from "../helpers/qmp.js";
import { makeLab, type Lab } from "../helpers/sshd-lab.js";

/**
 * Remote hosts over SSH against real sshds (one on 127.0.0.1, one in a network namespace) and
 * real QEMU: the same reconcile, list, status, live updates and locks as locally, through the
 * SSH Host. Remote QEMUs run on this machine too, as the lab's test user (inside the namespace
 * for r2), so the tests check them directly through /proc and their QMP sockets.
 */
describe("remote hosts over SSH (real sshd, real QEMU)", () => {
  let lab: Lab;
  const pidOf = (dir: string, vm: string) => Number(readFileSync(path.join(dir, vm, "qemu.pid"), "utf8").trim());
  const qmp = <T>(dir: string, vm: string, cmd: string, args?: Record<string, unknown>) => qmpQuery<T>(path.join(dir, vm, "qmp.sock"), cmd, args);
  const ownerUid = (pid: number) => statSync(`/proc/${pid}`).uid;

  beforeAll(async () => {
    lab = await makeLab("m", { netns: true });
    lab.writeHosts({ r1: lab.entry("r1"), r2: lab.entry("r2") });
  });
  afterAll(() => lab?.teardown());

  it("reconciles VMs on two SSH hosts and this machine in one run, with one SSH connection per host", async () => {
    lab.f.spec("a1", stubSpec("host: r1\n"));
    lab.f.spec("a2", stubSpec("host: r1\n"));
    lab.f.spec("b1", stubSpec("host: r2\n"));
    lab.f.spec("l1", stubSpec());
    const before = { r1: lab.sshd.r1.accepted(), r2: lab.sshd.r2.accepted() };
    const r = await lab.cli(["reconcile", "--stop-timeout", "1"]);
    expect(r.exitCode, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toContain("+ create a1 on r1");
    expect(r.stdout).toContain("+ create b1 on r2");
    expect({ r1: lab.sshd.r1.accepted() - before.r1, r2: lab.sshd.r2.accepted() - before.r2 }).toEqual({ r1: 1, r2: 1 });

    for (const [host, vm] of [
      ["r1", "a1"],
      ["r1", "a2"],
      ["r2", "b1"],
    ]) {
      const pid = pidOf(lab.vmDirs[host], vm);
      expect(readFileSync(`/proc/${pid}/cmdline`, "utf8")).toContain(`unix:${lab.vmDirs[host]}/${vm}/qmp.sock`);
      expect(ownerUid(pid)).toBe(lab.user.uid); // launched through SSH, as the hosts.yaml user
      expect(await qmp(lab.vmDirs[host], vm, "query-status")).toMatchObject({ status: "running" });
    }
    const b1 = pidOf(lab.vmDirs.r2, "b1");
    expect(readlinkSync(`/proc/${b1}/ns/net`)).not.toBe(readlinkSync("/proc/self/ns/net")); // r2 really is the other "machine"
    expect(ownerUid(pidOf(lab.f.vmDir, "l1"))).toBe(0);
  });

  it("lists each VM with its host, filters by host, and gives remote status with a two-hop ssh_command", async () => {
    const list = JSON.parse((await lab.cli(["list", "--json"])).stdout);
    const hostOf = Object.fromEntries(list.vms.map((v: { name: string; host: string; status: string }) => [v.name, `${v.host}:${v.status}`]));
    expect(hostOf).toEqual({ a1: "r1:running", a2: "r1:running", b1: "r2:running", l1: "local:running" });
    const onlyR2 = JSON.parse((await lab.cli(["list", "--host", "r2", "--json"])).stdout);
    expect(onlyR2.vms.map((v: { name: string }) => v.name)).toEqual(["b1"]);
    const text = await lab.cli(["list"]);
    expect(text.stdout).toMatch(/^b1\s+r2\s+x86_64/m);

    const port = await freePort();
    lab.f.spec("a1", stubSpec(`host: r1\nssh: { port: ${port} }\n`));
    expect((await lab.cli(["reconcile", "--stop-timeout", "1"])).exitCode).toBe(0);
    const st = JSON.parse((await lab.cli(["status", "a1", "--json"])).stdout);
    expect(st).toMatchObject({
      name: "a1",
      host: "r1",
      status: "running",
      qmp_status: "running",
      pid: pidOf(lab.vmDirs.r1, "a1"),
      in_sync: true,
      ssh_accessible: false,
    });
    expect(st.ssh_command).toBe(`ssh -J ${lab.user.name}@127.0.0.1:${lab.sshd.r1.port} -p ${port} root@localhost`);
    const onHost = await lab.cli(["status", "a1", "--host", "r2", "--json"]);
    expect(onHost.exitCode).toBe(1);
    expect(onHost.stdout).toContain("no VM named a1 on host r2");
    const b1 = JSON.parse((await lab.cli(["status", "b1", "--json"])).stdout);
    expect(b1).toMatchObject({ host: "r2", qmp_status: "running" });
  });

  it("inserts an ISO live through QMP over the SSH stream forward, without a restart", async () => {
    const iso = path.join(lab.vmDirs.r1, "media.iso");
    writeFileSync(iso, Buffer.alloc(1024 * 1024, 1));
    const before = pidOf(lab.vmDirs.r1, "a2");
    lab.f.spec("a2", stubSpec(`host: r1\niso: ${iso}\n`));
    const r = await lab.cli(["reconcile"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain("~ update (live) a2");
    expect(pidOf(lab.vmDirs.r1, "a2")).toBe(before);
    const blocks = await qmp<{ device: string; inserted?: { file: string } }[]>(lab.vmDirs.r1, "a2", "query-block");
    expect(blocks.find((b) => b.device === "cd0")?.inserted?.file).toBe(iso);
  });

  it("stops and starts a remote VM through its spec", async () => {
    const before = pidOf(lab.vmDirs.r2, "b1");
    const stop = await lab.cli(["stop", "b1", "--stop-timeout", "1"]);
    expect(stop.exitCode, stop.stderr).toBe(0);
    expect(stop.stdout).toMatch(/b1: stopped \((quit|kill)\)/);
    expect(await waitGone(before)).toBe(true);
    const start = await lab.cli(["start", "b1"]);
    expect(start.exitCode, start.stderr).toBe(0);
    expect(await qmp(lab.vmDirs.r2, "b1", "query-status")).toMatchObject({ status: "running" });
  });

  it("an unreachable host fails only its own VMs: unknown, never created, while the others go on", async () => {
    const deadPort = await freePort();
    lab.writeHosts({ r1: lab.entry("r1"), r2: lab.entry("r2"), dead: { ...lab.entry("r1"), port: deadPort, vm_dir: lab.userDir("dead") } });
    lab.f.spec("d1", stubSpec("host: dead\n"));
    lab.f.spec("a3", stubSpec("host: r1\n"));
    const r = await lab.cli(["reconcile", "--stop-timeout", "1"]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain("? unknown d1");
    expect(r.stdout).toContain(`cannot reach dead (${lab.user.name}@127.0.0.1:${deadPort}): connection refused`);
    expect(r.stdout).toContain("+ create a3 on r1");
    expect(await qmp(lab.vmDirs.r1, "a3", "query-status")).toMatchObject({ status: "running" });
    expect(existsSync(path.join(lab.f.dir, "dead", "d1"))).toBe(false);
    const list = JSON.parse((await lab.cli(["list", "--json"])).stdout);
    expect(list.vms.find((v: { name: string }) => v.name === "d1")).toMatchObject({ host: "dead", status: "unknown" });
    expect(list.vms.find((v: { name: string }) => v.name === "a3")).toMatchObject({ status: "running" });
    const st = await lab.cli(["status", "d1", "--json"]);
    expect(JSON.parse(st.stdout)).toMatchObject({ host: "dead", status: "unknown", reasons: [expect.stringContaining("connection refused")] });

    rmSync(path.join(lab.f.dir, "vms", "d1.yaml"));
    lab.writeHosts({ r1: lab.entry("r1"), r2: lab.entry("r2") });
  });

  describe("the remote lock", () => {
    let holder: ChildProcess | undefined;
    afterAll(() => void holder?.kill("SIGKILL"));

    it("stops a second reconcile at once, naming the holder, and dies with its holder", async () => {
      // Another process (a laptop, say) holds r1's reconcile lock through its own SSH connection.
      const script = `
        const { SshHost } = await import(${JSON.stringify(path.join(REPO_ROOT, "dist/hosts/ssh/host.js"))});
        const { acquireLock } = await import(${JSON.stringify(path.join(REPO_ROOT, "dist/apply/lock.js"))});
        const entry = ${JSON.stringify({ ...lab.entry("r1"), port: lab.sshd.r1.port, identity_file: lab.key, known_hosts: lab.knownHosts, host_key_policy: "strict" })};
        await acquireLock(new SshHost("r1", entry), entry.vm_dir, "holder from another machine");
        process.stdout.write("held\\n");
        setInterval(() => {}, 1000);`;
      holder = spawn("node", ["--input-type=module", "-e", script], {
        env: { ...process.env, HOME: lab.home, SSH_AUTH_SOCK: "" },
        stdio: ["ignore", "pipe", "inherit"],
      });
      await new Promise<void>((resolve, reject) => {
        holder!.stdout!.once("data", () => resolve());
        holder!.once("exit", (c) => reject(new Error(`lock holder exited ${c}`)));
      });

      lab.f.spec("a4", stubSpec("host: r1\n"));
      const blocked = await lab.cli(["reconcile"]);
      expect(blocked.exitCode).toBe(1);
      expect(blocked.stderr).toContain(`${lab.vmDirs.r1} on r1 is locked by pid ${holder.pid} on ${hostname()} (holder from another machine`);
      expect(existsSync(path.join(lab.vmDirs.r1, "a4"))).toBe(false);

      holder.kill("SIGKILL"); // no clean release: the SSH connection just dies
      const after = await lab.cli(["reconcile", "--wait", "60"]);
      expect(after.exitCode, after.stderr).toBe(0);
      expect(await qmp(lab.vmDirs.r1, "a4", "query-status")).toMatchObject({ status: "running" });
    });
  });

  it("passes hostile paths through as data: nothing in them is executed", async () => {
    // Run by a shell, any of these would create PWNED in the remote user's home (its cwd there).
    const marker = path.join(lab.home, "PWNED");
    const bad = `$(touch PWNED) ; touch PWNED & 'it''s' "q" \`touch PWNED\` | touch PWNED`;
    const vmDir = path.join(lab.vmDirs.r1, `v ${bad.slice(0, 30)}`);
    const disk = path.join(lab.vmDirs.r1, `d ${bad}.qcow2`);
    lab.f.spec("q1", stubSpec(`host: r1\nvm_dir: ${JSON.stringify(vmDir)}\ndisks:\n  - path: ${JSON.stringify(disk)}\n    size: 16M\n`));
    const r = await lab.cli(["reconcile", "--stop-timeout", "1"]);
    expect(r.exitCode, r.stderr + r.stdout).toBe(0);
    expect(statSync(disk).isFile()).toBe(true);
    expect((await qmp<{ status: string }>(vmDir, "q1", "query-status")).status).toBe("running");
    const blocks = await qmp<{ inserted?: { file: string } }[]>(vmDir, "q1", "query-block");
    expect(blocks.map((b) => b.inserted?.file)).toContain(disk);

    lab.f.spec("q1", stubSpec(`host: r1\nvm_dir: ${JSON.stringify(vmDir)}\nstate: absent\n`));
    const del = await lab.cli(["reconcile"]);
    expect(del.exitCode, del.stderr).toBe(0);
    expect(existsSync(path.join(vmDir, "q1"))).toBe(false);
    expect(existsSync(disk)).toBe(true); // a disk given by path is never deleted

    const badSpec = path.join(lab.f.dir, "vms", "$(touch PWNED); touch PWNED.yaml");
    writeFileSync(badSpec, stubSpec("host: r1\n"));
    const v = await lab.cli(["validate"]);
    expect(v.exitCode).toBe(3);
    expect(v.stdout + v.stderr).toContain("is not valid");
    expect(existsSync(marker)).toBe(false);
    rmSync(badSpec);
  });

  it("runs image commands on a remote host with --host (files made there, as its user)", async () => {
    const base = path.join(lab.vmDirs.r1, "base.qcow2");
    await execa("qemu-img", ["create", "-q", "-f", "qcow2", base, "32M"]);
    const ov = path.join(lab.vmDirs.r1, "ov.qcow2");
    const made = await lab.cli(["image", "overlay", base, "-o", ov, "--host", "r1", "--json"]);
    expect(made.exitCode, made.stdout + made.stderr).toBe(0);
    expect(JSON.parse(made.stdout)).toMatchObject({ overlay_path: ov, backing_file: base });
    expect(statSync(ov).uid).toBe(lab.user.uid);
    expect((await lab.cli(["image", "resize", ov, "+16M", "--host", "r1"])).exitCode).toBe(0);
    const info = JSON.parse((await lab.cli(["image", "info", ov, "--host", "r1", "--json"])).stdout);
    expect(info).toMatchObject({ format: "qcow2", "virtual-size": 48 * 2 ** 20 });
    const raw = path.join(lab.vmDirs.r1, "flat.raw");
    const conv = await lab.cli(["image", "convert", ov, "--format", "raw", "-o", raw, "--host", "r1", "--json"]);
    expect(conv.exitCode, conv.stdout + conv.stderr).toBe(0);
    expect(statSync(raw)).toMatchObject({ uid: lab.user.uid, size: 48 * 2 ** 20 });
    const rel = await lab.cli(["image", "info", "ov.qcow2", "--host", "r1"]);
    expect(rel.exitCode).toBe(1);
    expect(rel.stderr).toContain("ov.qcow2: give an absolute path; it names a file on r1");
  });

  it("deletes remote VMs on state: absent", async () => {
    const pids = ["a1", "a2", "a3", "a4"].map((vm) => pidOf(lab.vmDirs.r1, vm));
    for (const vm of ["a1", "a2", "a3", "a4"]) lab.f.spec(vm, stubSpec("host: r1\nstate: absent\n"));
    lab.f.spec("b1", stubSpec("host: r2\nstate: absent\n"));
    const r = await lab.cli(["reconcile"]);
    expect(r.exitCode, r.stderr).toBe(0);
    for (const pid of pids) expect(await waitGone(pid)).toBe(true);
    for (const vm of ["a1", "a2", "a3", "a4"]) expect(existsSync(path.join(lab.vmDirs.r1, vm))).toBe(false);
    expect(existsSync(path.join(lab.vmDirs.r2, "b1"))).toBe(false);
  });
});
