import { QfleetError } from "../errors.js";
import type { Host, HostChild } from "../hosts/host.js";
import { parseHeadOutput } from "./proc.js";

/**
 * Reads many small /proc files of one host per reading, cheaply: ONE long-lived
 * `xargs -L 1 head -v -n 1000` per monitoring session, fed one line of paths per reading.
 * `head -v` names each file before its text; a file that cannot be read (its process is
 * gone) is simply missing from the answer (head's complaint goes to stderr, which is
 * dropped). The last path of each line is a sentinel (/proc/self/stat: one line, always
 * there) whose header and line mark the end of the answer. Compared with a command per reading
 * this saves a process launch per sample (~3-8 ms of CPU here), and with a file read per
 * path it saves ~0.1-0.3 ms each (local) or a round trip each (remote). Paths MUST NOT hold
 * blanks, quotes or backslashes (xargs splits on them): /proc/N/... paths never do.
 * Contract: one reading at a time (calls queue); close() ends the process.
 */
const SENTINEL = "/proc/self/stat";
const END = new RegExp(`^==> ${SENTINEL.replaceAll("/", "\\/")} <==\\n[^\\n]*\\n`, "m");

export class ProcReader {
  private child: HostChild | null = null;
  private buf = "";
  private waiter: ((text: string | Error) => void) | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly host: Host,
    private readonly timeoutMs = 10_000,
  ) {}

  /** The text of each readable file among `paths`. */
  read(paths: string[]): Promise<Map<string, string>> {
    const run = () => this.ask(paths);
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  close(): void {
    this.closed = true;
    this.stop();
  }

  private stop(): void {
    const c = this.child;
    this.child = null;
    this.buf = "";
    c?.stdin.end();
    c?.kill();
  }

  private start(): HostChild {
    const c = this.host.spawn(["xargs", "-L", "1", "head", "-v", "-n", "1000"]);
    c.stdout.setEncoding("utf8");
    c.stdout.on("data", (chunk: string) => {
      this.buf += chunk;
      const end = END.exec(this.buf);
      if (!end || !this.waiter) return;
      const text = this.buf.slice(0, end.index);
      this.buf = this.buf.slice(end.index + end[0].length);
      this.waiter(text);
    });
    c.stdin.on("error", () => undefined);
    void c.exited.then((code) => {
      if (this.child !== c) return; // closed on purpose
      this.child = null;
      this.waiter?.(new QfleetError("COMMAND_FAILED", `the /proc reader (xargs head) on ${this.host.name} exited (${code ?? "killed"})`));
    });
    return c;
  }

  private ask(paths: string[]): Promise<Map<string, string>> {
    if (this.closed) return Promise.reject(new QfleetError("COMMAND_FAILED", "the /proc reader is closed"));
    const child = (this.child ??= this.start());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => this.waiter?.(new QfleetError("TIMEOUT", `reading /proc on ${this.host.name} took over ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      this.waiter = (r) => {
        clearTimeout(timer);
        this.waiter = null;
        if (r instanceof Error) {
          this.stop(); // a reader in an unknown state is not reused: the next read starts a new one
          reject(r);
        } else resolve(parseHeadOutput(r));
      };
      child.stdin.write(`${[...paths, SENTINEL].join(" ")}\n`);
    });
  }
}
