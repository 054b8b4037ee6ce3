import type { Duplex } from "node:stream";
import { QfleetError } from "../errors.js";
import type { Host } from "../hosts/host.js";
import { consoleText, lastLines } from "../guest/console-text.js";
import { instancePaths } from "../state/paths.js";
import type { Inventory } from "./inventory.js";

/** A VM's serial console: the log of everything it printed, and the socket that takes input. */
export interface ConsoleTarget {
  name: string;
  host: Host;
  log: string;
  socket: string;
  running: boolean;
}

/** The console of a VM of this fleet (running or not: its log stays readable). */
export function consoleTarget(inv: Inventory, name: string): ConsoleTarget {
  const a = inv.hosts.flatMap((h) => h.vms).find((v) => v.name === name && (!v.applied?.owner || v.applied.owner.id === inv.self.id));
  if (!a) throw new QfleetError("NOT_FOUND", `no VM named ${name} in this fleet`, { hint: "qfleet list shows the VMs there are" });
  const p = instancePaths(a.instanceDir);
  return { name, host: inv.registry.get(a.host), log: p.serial, socket: p.console, running: a.power === "running" };
}

/** The last `n` lines of what the console showed, as clean text (escapes and carriage returns resolved). */
export async function readConsole(t: ConsoleTarget, n = 50): Promise<string[]> {
  const r = await t.host.run(["tail", "-c", String(Math.max(4096, n * 400)), t.log], { allowFailure: true, timeoutMs: 15_000 });
  return r.exitCode === 0 ? lastLines(consoleText(r.stdout), n) : [];
}

/** Opens the console's input socket, with a clear error for a VM that runs without one. */
export async function openConsole(t: ConsoleTarget): Promise<Duplex> {
  if (!t.running) throw new QfleetError("REFUSED", `VM ${t.name} is not running: its console takes no input`, { hint: `qfleet start ${t.name}` });
  if (!(await t.host.lstat(t.socket)))
    throw new QfleetError("UNSUPPORTED", `VM ${t.name} was started before its console took input (no console.sock)`, {
      hint: "restart it once (qfleet stop, then qfleet start); its log is still readable",
    });
  return t.host.connectUnix(t.socket);
}

/**
 * Types `text` on the serial console (a carriage return after it with `enter`, as a terminal's
 * Enter key sends). Only one client is served at a time: while `qfleet console` is attached,
 * the text waits until it detaches.
 */
export async function sendToConsole(t: ConsoleTarget, text: string, enter: boolean): Promise<{ bytes: number; logOffset: number }> {
  const data = Buffer.from(enter ? `${text}\r` : text, "utf8");
  const sock = await openConsole(t);
  const logOffset = (await t.host.stat(t.log))?.size ?? 0; // what the guest prints from here on answers this
  await new Promise<void>((resolve, reject) => sock.write(data, (e) => (e ? reject(e) : resolve())));
  await new Promise((r) => setTimeout(r, 200)); // QEMU reads it on its next loop; then the connection may go
  sock.destroy();
  return { bytes: data.length, logOffset };
}

export interface ConsoleWait {
  matched: boolean;
  /** The line that matched (clean text). */
  line?: string;
  /** What the console showed since the wait began, up to the match (at most the last 50 lines). */
  before: string[];
  /** On a timeout: the console's last lines. */
  last?: string[];
  waitedMs: number;
}

/**
 * Waits until a console line matches `pattern` (a prompt without a line break counts: "login: "
 * matches as soon as it is printed), up to `timeoutMs`. It looks at what the guest prints from
 * `fromOffset` (a log offset: sendToConsole's, to catch the answer to what was typed), or else
 * from the start of the line the console shows now (so a prompt already on screen counts).
 * Reads only what was appended to the log, every 500 ms; `onProgress` hears about new output.
 */
export async function waitOnConsole(
  t: ConsoleTarget,
  pattern: RegExp,
  timeoutMs: number,
  opts: { fromOffset?: number; onProgress?: (m: string) => void } = {},
): Promise<ConsoleWait> {
  const start = Date.now();
  let offset = opts.fromOffset ?? (await lastLineOffset(t));
  let seen = "";
  for (;;) {
    const size = (await t.host.stat(t.log))?.size ?? 0;
    if (size > offset) {
      const r = await t.host.run(["tail", "-c", `+${offset + 1}`, t.log], { allowFailure: true, timeoutMs: 15_000 });
      offset = size;
      seen = (seen + r.stdout).slice(-256 * 1024);
      const lines = consoleText(seen).split("\n");
      const i = lines.findIndex((l) => pattern.test(l));
      if (i >= 0) return { matched: true, line: lines[i], before: lines.slice(Math.max(0, i - 50), i), waitedMs: Date.now() - start };
      opts.onProgress?.(lastLines(lines.join("\n"), 1)[0] ?? "");
    }
    if (Date.now() - start >= timeoutMs) return { matched: false, before: [], last: await readConsole(t, 20), waitedMs: Date.now() - start };
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The log offset where the console's current (last) line begins. */
async function lastLineOffset(t: ConsoleTarget): Promise<number> {
  const size = (await t.host.stat(t.log))?.size ?? 0;
  const r = await t.host.run(["tail", "-c", "4096", t.log], { allowFailure: true, timeoutMs: 15_000 });
  const tail = Buffer.from(r.exitCode === 0 ? r.stdout : "", "utf8");
  const nl = tail.lastIndexOf(0x0a);
  return nl < 0 ? Math.max(0, size - tail.length) : size - (tail.length - nl - 1);
}
