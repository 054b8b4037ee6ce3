import { execa } from "execa";
import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";

/**
 * A real OpenSSH server for tests: `/usr/sbin/sshd -D -f CONFIG -E LOG` on one address and
 * port, with its own generated host key, LogLevel VERBOSE (so "Accepted ..." lines count the
 * connections), root logins by key only and password logins for other users. In a network
 * namespace when `netns` is given. stop() kills it by PID, and its session children too.
 * Needs root (sshd checks passwords against /etc/shadow and switches users).
 */
export interface Sshd {
  address: string;
  port: number;
  pid: number;
  dir: string;
  logFile: string;
  /** "ssh-ed25519 AAAA..." (no comment). */
  hostKey: string;
  /** This server's line for a known_hosts file. */
  knownHostsLine(): string;
  /** "Accepted ..." lines in the log: one per authenticated connection. */
  accepted(): number;
  stop(): Promise<void>;
}

export interface SshdOptions {
  /** A folder of the test's own; the server's files go to `<dir>/<name>/`. */
  dir: string;
  name: string;
  address?: string;
  port: number;
  netns?: string;
  /** authorized_keys content for root (none: root cannot log in). */
  rootAuthorizedKeys?: string;
  /** Reuse this host key file (for a "same host, same key" restart); a new key otherwise. */
  hostKeyFile?: string;
  /** More sshd_config lines (e.g. `SetEnv PATH=...`). */
  extraConfig?: string[];
}

export async function startSshd(o: SshdOptions): Promise<Sshd> {
  const address = o.address ?? "127.0.0.1";
  const dir = path.join(o.dir, o.name);
  mkdirSync(path.join(dir, "keys"), { recursive: true, mode: 0o755 }); // public keys only: readable by test users
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 }); // privilege separation dir; left in place (standard, shared)
  const hostKeyFile = o.hostKeyFile ?? path.join(dir, "host_ed25519");
  if (!existsSync(hostKeyFile)) await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", hostKeyFile]);
  writeFileSync(path.join(dir, "keys", "root"), o.rootAuthorizedKeys ?? "", { mode: 0o644 });
  const config = path.join(dir, "sshd_config");
  const logFile = path.join(dir, "sshd.log");
  writeFileSync(
    config,
    [
      `Port ${o.port}`,
      `ListenAddress ${address}`,
      `HostKey ${hostKeyFile}`,
      `PidFile ${path.join(dir, "sshd.pid")}`,
      `AuthorizedKeysFile ${path.join(dir, "keys")}/%u`,
      "StrictModes no",
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication yes",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "UseDNS no",
      "PrintMotd no",
      "LogLevel VERBOSE",
      "Subsystem sftp internal-sftp",
      ...(o.extraConfig ?? []),
      "",
    ].join("\n"),
  );
  const argv = ["/usr/sbin/sshd", "-D", "-f", config, "-E", logFile];
  const child: ChildProcess = o.netns
    ? spawn("ip", ["netns", "exec", o.netns, ...argv], { stdio: "ignore" })
    : spawn(argv[0], argv.slice(1), { stdio: "ignore" });
  const pid = child.pid!;
  child.unref();
  if (!(await waitForBanner(address, o.port, 10_000))) {
    killTree(pid);
    throw new Error(`sshd on ${address}:${o.port} did not start: ${readSafe(logFile).slice(-2000)}`);
  }
  const hostKey = readFileSync(`${hostKeyFile}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
  return {
    address,
    port: o.port,
    pid,
    dir,
    logFile,
    hostKey,
    knownHostsLine: () => `${o.port === 22 ? address : `[${address}]:${o.port}`} ${hostKey}`,
    accepted: () => (readSafe(logFile).match(/^.*Accepted \S+ for /gm) ?? []).length,
    async stop() {
      killTree(pid);
      for (const end = Date.now() + 5000; Date.now() < end && existsSync(`/proc/${pid}`) && !isZombie(pid);)
        await new Promise((r) => setTimeout(r, 50));
    },
  };
}

/** SIGKILLs a process and its descendants (sshd's per-connection children), by PID only. */
export function killTree(pid: number): void {
  for (const child of childrenOf(pid)) killTree(child);
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    /* gone */
  }
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    const stat = readSafe(`/proc/${e}/stat`);
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (ppid === pid) out.push(Number(e));
  }
  return out;
}

const isZombie = (pid: number) => / Z /.test(readSafe(`/proc/${pid}/stat`).slice(readSafe(`/proc/${pid}/stat`).lastIndexOf(")")));

function readSafe(f: string): string {
  try {
    return readFileSync(f, "utf8");
  } catch {
    return "";
  }
}

/** True once a connection to address:port gets an "SSH-" banner. */
export async function waitForBanner(address: string, port: number, timeoutMs: number): Promise<boolean> {
  for (const end = Date.now() + timeoutMs; Date.now() < end;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: address, port });
      const done = (v: boolean) => (s.destroy(), resolve(v));
      s.setTimeout(500, () => done(false));
      s.on("data", (b) => done(b.toString("latin1").startsWith("SSH-")));
      s.on("error", () => done(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/**
 * A local user for the remote-host tests (useradd, /bin/sh as login shell so every SSH command
 * starts fast, a password set with chpasswd for password logins); `authorize(sshd, pubKey)`
 * adds a key to what that server lets in for it. remove() deletes the user (userdel), nothing else.
 */
export interface TestUser {
  name: string;
  uid: number;
  gid: number;
  password: string;
  authorize(sshd: Pick<Sshd, "dir">, pubKey: string): void;
  remove(): Promise<void>;
}

export async function makeTestUser(name: string, password: string, home: string): Promise<TestUser> {
  await execa("userdel", [name], { reject: false }); // a leftover of a killed run
  await execa("useradd", ["-M", "-d", home, "-s", "/bin/sh", name]);
  await execa("chpasswd", [], { input: `${name}:${password}\n` });
  const id = (flag: string) => execa("id", [flag, name]).then((r) => Number(r.stdout));
  return {
    name,
    uid: await id("-u"),
    gid: await id("-g"),
    password,
    authorize: (sshd, pubKey) => appendFileSync(path.join(sshd.dir, "keys", name), pubKey.trim() + "\n", { mode: 0o644 }),
    remove: async () => void (await execa("userdel", [name], { reject: false })),
  };
}

/**
 * A network namespace joined to this one by a veth pair: this side 10.250.N.1/30, the
 * namespace 10.250.N.2/30 (N chosen so that no address on this machine is in 10.250.N.0/30).
 * Only addresses created here, in a namespace of our own. remove() deletes the namespace
 * (which deletes both ends of the veth pair).
 */
export async function makeNetns(tag: string): Promise<{ name: string; address: string; remove(): Promise<void> }> {
  const used = (await execa("ip", ["-o", "-4", "addr"])).stdout;
  let n = (process.pid % 200) + 1;
  while (used.includes(`10.250.${n}.`)) n = (n % 250) + 1;
  const ns = `qfleet-${tag}`;
  const [outer, inner] = [`qfo${tag}`.slice(0, 15), `qfi${tag}`.slice(0, 15)];
  const ip = (...args: string[]) => execa("ip", args);
  const inNs = (...args: string[]) => execa("ip", ["netns", "exec", ns, "ip", ...args]);
  await ip("netns", "del", ns).catch(() => undefined); // a leftover of a killed run
  await ip("netns", "add", ns);
  try {
    await ip("link", "add", outer, "type", "veth", "peer", "name", inner);
    await ip("link", "set", inner, "netns", ns);
    await ip("addr", "add", `10.250.${n}.1/30`, "dev", outer);
    await ip("link", "set", outer, "up");
    await inNs("addr", "add", `10.250.${n}.2/30`, "dev", inner);
    await inNs("link", "set", inner, "up");
    await inNs("link", "set", "lo", "up");
  } catch (e) {
    await ip("link", "del", outer).catch(() => undefined);
    await ip("netns", "del", ns).catch(() => undefined);
    throw e;
  }
  return { name: ns, address: `10.250.${n}.2`, remove: async () => void (await execa("ip", ["netns", "del", ns], { reject: false })) };
}

/** An ssh-agent on its own socket holding `keys`; stop() kills it by PID. */
export async function startAgent(sock: string, keys: string[]): Promise<{ sock: string; stop(): void }> {
  const r = await execa("ssh-agent", ["-s", "-a", sock]);
  const pid = Number(/SSH_AGENT_PID=(\d+)/.exec(r.stdout)?.[1]);
  for (const k of keys) await execa("ssh-add", ["-q", k], { env: { SSH_AUTH_SOCK: sock } });
  return { sock, stop: () => killTree(pid) };
}
