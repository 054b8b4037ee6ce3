import { execa } from "execa";
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { stringify } from "yaml";
import { CLI, freePort, makeFleet, qemuPidsMentioning, type TestFleet } from "./fleet.js";
import { makeNetns, makeTestUser, startSshd, type Sshd, type TestUser } from "./sshd.js";

/**
 * A lab for remote-host tests: a fleet folder, a test user (key + password) and one real sshd
 * per host: `r1` on 127.0.0.1 at a free port, and with `netns` also `r2` on port 22 inside a
 * network namespace of its own. Each remote host gets a vm_dir owned by the test user. The CLI
 * runs with an empty HOME (no ~/.ssh of the machine leaks in) and no ssh-agent unless a test
 * passes one. teardown() kills every QEMU under the fleet folder, the sshds, the namespace,
 * the user and the folder, each step even if another failed. Needs root.
 */
export interface Lab {
  f: TestFleet;
  user: TestUser;
  /** The test user's private key (unencrypted). */
  key: string;
  home: string;
  knownHosts: string;
  sshd: Record<string, Sshd>;
  vmDirs: Record<string, string>;
  /** hosts.yaml entries for the lab's hosts (key login, strict host keys). */
  entry(host: string): Record<string, unknown>;
  writeHosts(hosts: Record<string, Record<string, unknown>>): void;
  /** A folder the test user owns (remote VMs write there). */
  userDir(rel: string): string;
  cli(args: string[], env?: Record<string, string>, timeoutMs?: number): Promise<{ stdout: string; stderr: string; exitCode: number }>;
  teardown(): Promise<void>;
}

export async function makeLab(tag: string, opts: { netns?: boolean } = {}): Promise<Lab> {
  if (process.getuid?.() !== 0)
    throw new Error("the remote-host tests need root: they create a user, run sshd and a network namespace (CI runs as root)");
  const f = makeFleet();
  chmodSync(f.dir, 0o755); // the test user reaches its vm dirs through the fleet folder
  const cleanups: (() => unknown)[] = [() => f.cleanup()];
  const run = async (fn: () => unknown) => {
    try {
      await fn();
    } catch {
      /* keep tearing down */
    }
  };
  const lab = {} as Lab;
  lab.teardown = async () => {
    for (const pid of qemuPidsMentioning(f.dir)) await run(() => process.kill(pid, "SIGKILL"));
    for (const c of cleanups.reverse()) await run(c);
  };
  try {
    const home = path.join(f.dir, "home");
    mkdirSync(home, { mode: 0o755 });
    const user = await makeTestUser(`qft${process.pid}${tag}`.slice(0, 30), `pw-${process.pid}-${tag}`, home);
    cleanups.push(() => user.remove());
    chownSync(home, user.uid, user.gid); // its home, and the working directory of its remote commands
    mkdirSync(path.join(f.dir, "k"), { mode: 0o700 });
    const key = path.join(f.dir, "k", "id_ed25519");
    await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "lab", "-f", key]);
    const pub = readFileSync(`${key}.pub`, "utf8");

    const sshd: Record<string, Sshd> = {};
    const servers = path.join(f.dir, "sshd");
    mkdirSync(servers, { mode: 0o755 });
    sshd.r1 = await startSshd({ dir: servers, name: "r1", port: await freePort() });
    cleanups.push(() => sshd.r1.stop());
    if (opts.netns) {
      const ns = await makeNetns(`${process.pid % 100000}${tag}`.slice(0, 12));
      cleanups.push(() => ns.remove());
      sshd.r2 = await startSshd({ dir: servers, name: "r2", address: ns.address, port: 22, netns: ns.name });
      cleanups.push(() => sshd.r2.stop());
    }
    for (const s of Object.values(sshd)) user.authorize(s, pub);
    const knownHosts = path.join(f.dir, "known_hosts");
    writeFileSync(
      knownHosts,
      Object.values(sshd)
        .map((s) => s.knownHostsLine() + "\n")
        .join(""),
    );

    const userDir = (rel: string) => {
      const d = path.join(f.dir, rel);
      mkdirSync(d, { recursive: true, mode: 0o755 });
      chownSync(d, user.uid, user.gid);
      return d;
    };
    const vmDirs = Object.fromEntries(Object.keys(sshd).map((h) => [h, userDir(h)]));
    Object.assign(lab, {
      f,
      user,
      key,
      home,
      knownHosts,
      sshd,
      vmDirs,
      userDir,
      entry: (h: string) => ({
        address: sshd[h].address,
        ...(sshd[h].port !== 22 && { port: sshd[h].port }),
        user: user.name,
        identity_file: "k/id_ed25519",
        known_hosts: "known_hosts",
        vm_dir: vmDirs[h],
      }),
      writeHosts: (hosts: Record<string, Record<string, unknown>>) =>
        writeFileSync(path.join(f.dir, "hosts.yaml"), `# lab hosts\n${stringify({ hosts })}`),
      cli: async (args: string[], env: Record<string, string> = {}, timeoutMs = 180_000) => {
        const r = await execa("node", [CLI, ...args, "-C", f.dir], {
          env: { ...f.env, HOME: home, SSH_AUTH_SOCK: "", ...env },
          reject: false,
          timeout: timeoutMs,
          stdin: "ignore",
        });
        return { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? -1 };
      },
    });
    return lab;
  } catch (e) {
    await lab.teardown();
    throw e;
  }
}
