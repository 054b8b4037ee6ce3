import type { Duplex, Readable, Writable } from "node:stream";

/**
 * The one seam between qemu-fleet and an operating system. Everything that touches processes,
 * files or sockets goes through a Host, so local and remote (SSH) machines share one code path.
 * Contracts every implementation keeps:
 * - commands are argv arrays; nothing is ever interpreted by a shell on this side;
 * - failures reject with a QfleetError carrying the command, exit code and stderr;
 * - writeFile is atomic (temp file + rename in the same folder);
 * - stat returns null for a path that does not exist, instead of throwing.
 */
export interface RunOptions {
  /** Kill the command after this long (default 60 s); rejects with code TIMEOUT. */
  timeoutMs?: number;
  /** Resolve with the non-zero exit code instead of rejecting. */
  allowFailure?: boolean;
  input?: string;
  /** Called with each chunk of stdout as it arrives (progress parsing). */
  onStdout?: (chunk: string) => void;
  signal?: AbortSignal;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** A long-running command on a host (lock holders). It ends when stdin closes or kill() is called. */
export interface HostChild {
  stdin: Writable;
  stdout: Readable;
  /** Resolves with the exit code (null when killed by a signal); never rejects. */
  exited: Promise<number | null>;
  kill(): void;
}

export interface FileStat {
  /** "symlink" only from lstat: stat follows links. */
  kind: "file" | "dir" | "socket" | "symlink" | "other";
  size: number;
  mode: number;
  mtimeMs: number;
}

export interface Host {
  /** 'local' or the hosts.yaml name. */
  readonly name: string;
  run(argv: string[], opts?: RunOptions): Promise<RunResult>;
  readFile(path: string): Promise<string>;
  /** The file's bytes, as they are (images, screenshots). */
  readBytes(path: string): Promise<Buffer>;
  /** Atomic (a temp file in the same folder, then rename); a string is written as UTF-8. */
  writeFile(path: string, data: string | Buffer, opts?: { mode?: number }): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /**
   * Removes a file (a symlink itself, never its target), or a folder and everything in it with
   * `recursive` (only for folders qemu-fleet made for its own scratch work). A missing path is
   * not an error.
   */
  remove(path: string, opts?: { recursive?: boolean }): Promise<void>;
  /** Removes an empty folder; false (and nothing removed) when it is not empty. A missing one is true. */
  rmdir(path: string): Promise<boolean>;
  mkdir(path: string, opts?: { mode?: number }): Promise<void>;
  stat(path: string): Promise<FileStat | null>;
  /** Like stat, but a symbolic link is reported as itself (kind "symlink"), never followed. */
  lstat(path: string): Promise<FileStat | null>;
  list(dir: string): Promise<string[]>;
  /**
   * Copies a file of this machine (where qfleet runs) to `path` on that host, streamed, never
   * read whole into memory. Not atomic: copy to a scratch name, then rename. `onBytes` sees the
   * bytes sent so far.
   */
  upload(localPath: string, path: string, opts?: { onBytes?: (sent: number, total: number) => void }): Promise<void>;
  /** Starts a command that keeps running; its stdin is a pipe from this process. */
  spawn(argv: string[]): HostChild;
  /** A byte stream to a unix socket on that host (QMP). */
  connectUnix(path: string): Promise<Duplex>;
  /** A TCP connection opened from that host (to 127.0.0.1 by default): SSH banner probes. */
  connectTcp(port: number, address?: string): Promise<Duplex>;
  /**
   * Processes whose argv[0] file name starts with `prefix` (e.g. "qemu-system-"), with their
   * full argv, and (where the host tells) the state letter of /proc/PID/stat: R running, S
   * sleeping, D waiting on a disk, T stopped by a signal... Linux /proc based; an empty list
   * where there is no /proc.
   */
  listProcesses(prefix: string): Promise<{ pid: number; argv: string[]; state?: string }[]>;
  /** Sends a signal to a pid on that host; false when no such process exists. */
  kill(pid: number, signal: NodeJS.Signals | 0): Promise<boolean>;
  /** `uname -s`, `uname -m`, and whether this user can open /dev/kvm read-write (the capability probe). */
  systemFacts(): Promise<{ sys: string; machine: string; kvmRw: boolean }>;
  close(): Promise<void>;
}
