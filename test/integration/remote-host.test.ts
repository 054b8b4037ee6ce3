import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SshHost } from "../../src/hosts/ssh/host.js";
import type { HostEntry } from "../../src/spec/hosts-schema.js";
import { waitGone } from "../helpers/fleet.js";
import { makeLab, type Lab } from "../helpers/sshd-lab.js";
import { killTree } from "../helpers/sshd.js";

/**
 * The SSH Host against the Host contract, in this process, against a real sshd: the same
 * promises LocalHost keeps (argv in, errors as QfleetErrors, atomic writes, null stats), over
 * one multiplexed connection that comes back after it drops.
 */
describe("SshHost: the Host contract over one SSH connection (real sshd)", () => {
  let lab: Lab;
  let host: SshHost;
  let entry: HostEntry;
  let work: string;

  beforeAll(async () => {
    lab = await makeLab("h");
    Object.assign(process.env, { HOME: lab.home, SSH_AUTH_SOCK: "" });
    entry = {
      address: "127.0.0.1",
      port: lab.sshd.r1.port,
      user: lab.user.name,
      identity_file: lab.key,
      known_hosts: lab.knownHosts,
      host_key_policy: "strict",
    };
    host = new SshHost("r1", entry);
    work = lab.vmDirs.r1;
  });
  afterAll(async () => {
    await host?.close();
    await lab?.teardown();
  });

  it("runs argv as the remote user, and reports failures like LocalHost does", async () => {
    expect((await host.run(["id", "-un"])).stdout.trim()).toBe(lab.user.name);
    expect((await host.run(["printf", "%s|", "a b", "$HOME", "'"])).stdout).toBe("a b|$HOME|'|");
    expect((await host.run(["cat"], { input: "from stdin" })).stdout).toBe("from stdin");
    await expect(host.run(["qemu-system-nonexistent", "-version"])).rejects.toMatchObject({
      code: "MISSING_TOOL",
      message: "qemu-system-nonexistent: command not found on r1",
    });
    await expect(host.run(["sh", "-c", "echo oops >&2; exit 3"])).rejects.toMatchObject({
      code: "COMMAND_FAILED",
      exitCode: 3,
      message: "sh exited 3 on r1: oops",
    });
    expect((await host.run(["sh", "-c", "exit 4"], { allowFailure: true })).exitCode).toBe(4);
    const pidFile = path.join(work, "timed.pid");
    await expect(host.run(["sh", "-c", `echo $$ > ${pidFile}; exec sleep 300`], { timeoutMs: 500 })).rejects.toMatchObject({ code: "TIMEOUT" });
    expect(await waitGone(Number(readFileSync(pidFile, "utf8")))).toBe(true); // killed on the remote side, not left running
    const chunks: string[] = [];
    await host.run(["sh", "-c", "echo one; sleep 0.2; echo two"], { onStdout: (c) => chunks.push(c) });
    expect(chunks.join("")).toBe("one\ntwo\n");
  });

  it("does files over SFTP: atomic writes, null for missing paths, recursive mkdir and remove", async () => {
    const dir = path.join(work, "a", "b c");
    await host.mkdir(dir, { mode: 0o700 });
    await host.mkdir(dir); // an existing folder is fine
    await host.writeFile(path.join(dir, "f.json"), '{"x":1}\n', { mode: 0o600 });
    expect(await host.readFile(path.join(dir, "f.json"))).toBe('{"x":1}\n');
    expect(await host.stat(path.join(dir, "f.json"))).toMatchObject({ kind: "file", size: 8, mode: 0o600 });
    expect(await host.stat(dir)).toMatchObject({ kind: "dir", mode: 0o700 });
    expect(readdirSync(dir)).toEqual(["f.json"]); // no temp file left behind
    expect(await host.stat(path.join(work, "missing"))).toBeNull();
    expect(await host.list(dir)).toEqual(["f.json"]);
    await expect(host.readFile(path.join(work, "missing"))).rejects.toMatchObject({
      code: "NOT_FOUND",
      message: `no such file or folder: ${work}/missing on r1`,
    });
    expect((await host.readFile("/proc/self/status")).length).toBeGreaterThan(0); // size-0 /proc files read fully
    await host.rename(path.join(dir, "f.json"), path.join(dir, "g.json"));
    await host.remove(path.join(dir, "nothing-here"));
    await host.remove(path.join(work, "a"), { recursive: true });
    expect(existsSync(path.join(work, "a"))).toBe(false);
  });

  it("lists processes through one fixed script, and signals them by pid", async () => {
    const odd = "qfleet marker ;$(x) 'q'";
    const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 300000)", odd], { stdio: "ignore" });
    try {
      await new Promise((r) => setTimeout(r, 300)); // exec'd and running
      const found = await host.listProcesses(path.basename(process.execPath));
      expect(found).toContainEqual({ pid: child.pid, argv: [process.execPath, "-e", "setTimeout(() => {}, 300000)", odd] });
      expect(found.every((p) => path.basename(p.argv[0]).startsWith(path.basename(process.execPath)))).toBe(true);
      expect(await host.kill(2 ** 22 + 7, 0)).toBe(false); // no such process
      await expect(host.kill(child.pid!, "SIGTERM")).rejects.toMatchObject({ code: "COMMAND_FAILED" }); // root's process, not the user's
      expect(child.exitCode).toBeNull();
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("opens unix sockets and TCP ports from the remote side", async () => {
    const sockPath = path.join(work, "echo.sock");
    const server = net.createServer((s) => s.pipe(s)).listen(sockPath);
    await new Promise((r) => server.once("listening", r));
    readFileSync("/proc/self/stat"); // keep the server on this event loop
    try {
      const { chmodSync } = await import("node:fs");
      chmodSync(sockPath, 0o777);
      const s = await host.connectUnix(sockPath);
      const echoed = new Promise<string>((r) => s.once("data", (b: Buffer) => r(b.toString())));
      s.write("ping");
      expect(await echoed).toBe("ping");
      s.destroy();
    } finally {
      server.close();
    }
    await expect(host.connectUnix(path.join(work, "none.sock"))).rejects.toMatchObject({
      code: "CONNECTION",
      message: expect.stringContaining(`cannot connect to ${work}/none.sock on r1`),
    });
    const banner = await host.connectTcp(lab.sshd.r1.port);
    expect(await new Promise<string>((r) => banner.once("data", (b: Buffer) => r(b.toString())))).toMatch(/^SSH-2\.0-OpenSSH/);
    banner.destroy();
  });

  it("multiplexes many operations at once on one connection (beyond sshd's 10 sessions)", async () => {
    const before = lab.sshd.r1.accepted();
    const fresh = new SshHost("r1", entry);
    try {
      const outs = await Promise.all(Array.from({ length: 30 }, (_, i) => fresh.run(["echo", String(i)])));
      const stats = await Promise.all(Array.from({ length: 30 }, () => fresh.stat(work)));
      expect(outs.map((o) => o.stdout.trim())).toEqual(Array.from({ length: 30 }, (_, i) => String(i)));
      expect(stats.every((s) => s?.kind === "dir")).toBe(true);
    } finally {
      await fresh.close();
    }
    expect(lab.sshd.r1.accepted() - before).toBe(1);
    await expect(fresh.run(["true"])).rejects.toMatchObject({ code: "CONNECTION" }); // close() is final
  });

  it("reconnects once when its connection was dropped", async () => {
    const fresh = new SshHost("r1", entry);
    try {
      expect((await fresh.run(["echo", "first"])).stdout).toBe("first\n");
      const before = lab.sshd.r1.accepted();
      for (const pid of sessionPids(lab.sshd.r1.pid)) killTree(pid); // the server side of every connection dies
      await new Promise((r) => setTimeout(r, 200));
      expect((await fresh.run(["echo", "again"])).stdout).toBe("again\n");
      expect(await fresh.stat(work)).toMatchObject({ kind: "dir" });
      expect(lab.sshd.r1.accepted() - before).toBe(1);
    } finally {
      await fresh.close();
    }
  });

  it("gives up on a server that never answers after the connect timeout, with a clear error", async () => {
    const silent = net.createServer(() => undefined).listen(0, "127.0.0.1");
    await new Promise((r) => silent.once("listening", r));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const mute = new SshHost("mute", { ...entry, port }, { timeoutMs: 700 });
      await expect(mute.run(["true"])).rejects.toMatchObject({
        code: "CONNECTION",
        message: `mute (${lab.user.name}@127.0.0.1:${port}) did not complete an SSH connection within 1 s`,
      });
      await mute.close();
    } finally {
      silent.close();
    }
  });

  it("spawn: a lock holder's channel closes with kill(), and stdin EOF ends it", async () => {
    const child = host.spawn(["sh", "-c", "echo ready; exec cat"]);
    expect(await new Promise<string>((r) => child.stdout.once("data", (b: Buffer) => r(b.toString())).once("end", () => r("ended")))).toBe("ready\n");
    child.stdin.end();
    expect(await child.exited).toBe(0);
    const pidFile = path.join(work, "spawned.pid");
    const killed = host.spawn(["sh", "-c", `echo $$ > ${pidFile}; echo started; exec sleep 300`]);
    await new Promise((r) => killed.stdout.once("data", r));
    killed.kill();
    expect(await killed.exited).not.toBe(0);
    expect(await waitGone(Number(readFileSync(pidFile, "utf8")))).toBe(true);
  });
});

/** The per-connection sshd processes under a listener. */
function sessionPids(listener: number): number[] {
  return readdirSync("/proc")
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        const st = readFileSync(`/proc/${e}/stat`, "utf8");
        return Number(st.slice(st.lastIndexOf(")") + 2).split(" ")[1]) === listener;
      } catch {
        return false;
      }
    })
    .map(Number);
}
