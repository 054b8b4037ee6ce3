import type { Duplex } from "node:stream";
import { QfleetError } from "../../errors.js";
import type { HostEntry } from "../../spec/hosts-schema.js";
import type { FileStat, Host, HostChild, RunOptions, RunResult } from "../host.js";
import { Limiter } from "../limiter.js";
import { shellCommand } from "./quote.js";
import { SshConnection } from "./connection.js";
import { execCommand, openExec } from "./exec.js";
import { openForward } from "./forward.js";
import { listProcessesArgv, parseProcessRecords } from "./procs.js";
import { spawnOver } from "./spawn.js";
import { resolveTarget } from "./target.js";

/** Exec channels at once per connection: under OpenSSH's MaxSessions (10), leaving room for SFTP and lock holders. */
const MAX_EXEC = 6;

/**
 * A host reached over SSH: the Host interface on one shared connection (see SshConnection for
 * how it is opened, shared, reopened and closed). Commands are quoted by shellCommand only and
 * run on exec channels; files go over SFTP; QMP sockets and SSH-banner probes are stream-local
 * and TCP forwards opened by the server, on the remote side; processes are listed by one fixed
 * script; signals are `kill -s SIG -- PID`. `opts.password` is a one-call password, held here
 * in memory only.
 */
export class SshHost implements Host {
  private readonly conn: SshConnection;
  private readonly execs = new Limiter(MAX_EXEC);

  constructor(
    readonly name: string,
    entry: HostEntry,
    opts: { password?: string; timeoutMs?: number } = {},
  ) {
    this.conn = new SshConnection(this, () => resolveTarget(name, entry), opts);
  }

  run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
    if (argv.length === 0) return Promise.reject(new QfleetError("BAD_INPUT", "empty command"));
    const command = shellCommand(argv);
    return this.execs.run(() => this.conn.use((client) => execCommand(client, command, argv, this.name, opts)));
  }

  readFile(p: string): Promise<string> {
    return this.conn.files((f) => f.readFile(p));
  }

  readBytes(p: string): Promise<Buffer> {
    return this.conn.files((f) => f.readBytes(p));
  }

  writeFile(p: string, data: string | Buffer, opts: { mode?: number } = {}): Promise<void> {
    return this.conn.files((f) => f.writeFile(p, data, opts.mode));
  }

  rename(from: string, to: string): Promise<void> {
    return this.conn.files((f) => f.rename(from, to));
  }

  async remove(p: string, opts: { recursive?: boolean } = {}): Promise<void> {
    if (opts.recursive) await this.run(["rm", "-rf", "--", p]);
    else await this.conn.files((f) => f.unlink(p));
  }

  mkdir(p: string, opts: { mode?: number } = {}): Promise<void> {
    return this.conn.files((f) => f.mkdir(p, opts.mode));
  }

  stat(p: string): Promise<FileStat | null> {
    return this.conn.files((f) => f.stat(p));
  }

  lstat(p: string): Promise<FileStat | null> {
    return this.conn.files((f) => f.stat(p, { follow: false }));
  }

  rmdir(p: string): Promise<boolean> {
    return this.conn.files((f) => f.rmdir(p));
  }

  list(dir: string): Promise<string[]> {
    return this.conn.files((f) => f.list(dir));
  }

  upload(localPath: string, p: string, opts: { onBytes?: (sent: number, total: number) => void } = {}): Promise<void> {
    return this.conn.files((f) => f.put(localPath, p, opts.onBytes));
  }

  spawn(argv: string[]): HostChild {
    const command = shellCommand(argv);
    return spawnOver(() => this.conn.use((client) => openExec(client, command)));
  }

  connectUnix(p: string): Promise<Duplex> {
    return this.conn.use((client) => openForward(client, { socketPath: p }, this.name));
  }

  connectTcp(port: number, address = "127.0.0.1"): Promise<Duplex> {
    return this.conn.use((client) => openForward(client, { address, port }, this.name));
  }

  async listProcesses(prefix: string): Promise<{ pid: number; argv: string[] }[]> {
    const r = await this.run(listProcessesArgv(prefix), { allowFailure: true, timeoutMs: 15_000 });
    return parseProcessRecords(r.stdout, prefix);
  }

  async kill(pid: number, signal: NodeJS.Signals | 0): Promise<boolean> {
    if (!Number.isInteger(pid) || pid <= 0) throw new QfleetError("BAD_INPUT", `not a process id: ${pid}`);
    const sig = signal === 0 ? "0" : signal.replace(/^SIG/, "");
    const r = await this.run(["kill", "-s", sig, "--", String(pid)], { allowFailure: true, timeoutMs: 15_000 });
    if (r.exitCode === 0) return true;
    if (/no such process/i.test(r.stderr)) return false;
    throw new QfleetError("COMMAND_FAILED", `kill -s ${sig} ${pid} on ${this.name}: ${r.stderr.trim() || `exit ${r.exitCode}`}`, {
      stderr: r.stderr,
    });
  }

  async systemFacts(): Promise<{ sys: string; machine: string; kvmRw: boolean }> {
    // one fixed command: the OS, the machine, and whether this user can open /dev/kvm read-write
    const r = await this.run(["sh", "-c", "uname -sm; if test -r /dev/kvm -a -w /dev/kvm; then echo kvm-rw; fi"]);
    const [sys = "", machine = ""] = r.stdout.split("\n")[0].trim().split(/\s+/);
    return { sys, machine, kvmRw: r.stdout.includes("kvm-rw") };
  }

  close(): Promise<void> {
    return this.conn.close();
  }
}
