import { QfleetError, isQfleetError } from "../errors.js";
import type { Host } from "../hosts/host.js";
import { withQga, type QgaClient } from "./qga.js";
import { withQmp } from "./qmp.js";

/** The guest operations built on the agent client: run a command (guestExec), describe the guest, shut it down. */

export interface GuestExecOptions {
  /** Written to the command's stdin, then closed (without it stdin is the agent's own, /dev/null under systemd). */
  stdin?: string;
  /** The command's time limit, enforced in the guest (rounded up to whole seconds; see guestExecArgv). */
  timeoutMs: number;
  /** Bytes kept per stream (default 1 MiB); beyond it the output is cut and `truncated` is true. */
  maxBytes?: number;
}

export interface GuestExecResult {
  /** null when the command never came back, even after the kill. */
  exitCode: number | null;
  signal?: number;
  stdout: string;
  stderr: string;
  truncated: boolean;
  timedOut: boolean;
}

interface ExecStatus {
  exited: boolean;
  exitcode?: number;
  signal?: number;
  "out-data"?: string;
  "err-data"?: string;
  "out-truncated"?: boolean;
  "err-truncated"?: boolean;
}

const KILL_AFTER_S = 2;
const MARGIN_MS = 3000; // beyond the guest's own limit + KILL_AFTER_S before our backstop kill

/**
 * The argv guest-exec runs for `argv` under a time limit. The agent has no kill, so the guest enforces it:
 * one `sh -c` wrapper runs `timeout -k 2 <s>` when the guest has it (coreutils or busybox: TERM to the whole
 * process group at the limit, KILL 2 s later), else the command bare (guestExec's backstop then kills the
 * pid with a second guest-exec). One guest-exec, no quoting: the argv reaches sh as its "$@". A program that
 * does not exist gives exit code 127 and sh's message on stderr, as over SSH.
 */
export function guestExecArgv(argv: string[], timeoutMs: number): string[] {
  const s = String(limitSeconds(timeoutMs));
  const script = `s=$1; shift; if command -v timeout >/dev/null 2>&1; then exec timeout -k ${KILL_AFTER_S} "$s" "$@"; fi; exec "$@"`;
  return ["sh", "-c", script, "qfleet-exec", s, ...argv];
}

/**
 * Runs argv in the guest through the agent (guest-exec with captured output, polled with guest-exec-status
 * every 100-250 ms) and returns its exit, output (UTF-8, cut at maxBytes per stream) and whether the time
 * limit ended it (timeout's exit 124 or a KILL after the limit passed, or our backstop kill). Linux guests
 * (needs sh). Rejects with CONNECTION when no agent answers, COMMAND_FAILED when the agent refuses guest-exec.
 */
export async function guestExec(host: Host, socketPath: string, argv: string[], opts: GuestExecOptions): Promise<GuestExecResult> {
  if (argv.length === 0) throw new QfleetError("BAD_INPUT", "guestExec needs a command");
  if (!(opts.timeoutMs > 0)) throw new QfleetError("BAD_INPUT", `guestExec timeoutMs must be positive, not ${opts.timeoutMs}`);
  const maxBytes = opts.maxBytes ?? 1024 * 1024;
  return withQga(host, socketPath, async (q) => {
    const [path, ...arg] = guestExecArgv(argv, opts.timeoutMs);
    const input = opts.stdin ? { "input-data": Buffer.from(opts.stdin, "utf8").toString("base64") } : {};
    const { pid } = await q.execute<{ pid: number }>("guest-exec", { path, arg, "capture-output": true, ...input });
    const started = Date.now();
    const limitMs = limitSeconds(opts.timeoutMs) * 1000;
    let backstopAt = started + limitMs + KILL_AFTER_S * 1000 + MARGIN_MS;
    let killed = false;
    for (let interval = 100; ; interval = Math.min(interval + 50, 250)) {
      const st = await q.execute<ExecStatus>("guest-exec-status", { pid });
      if (st.exited) return result(st, maxBytes, killed || (Date.now() - started >= limitMs - 500 && byTimeout(st)));
      if (Date.now() >= backstopAt) {
        if (killed) return { exitCode: null, stdout: "", stderr: "", truncated: false, timedOut: true };
        await kill(q, pid);
        killed = true;
        backstopAt = Date.now() + MARGIN_MS;
      }
      await new Promise((r) => setTimeout(r, interval));
    }
  });
}

const limitSeconds = (timeoutMs: number) => Math.max(1, Math.ceil(timeoutMs / 1000));

/** timeout exits 124 after its TERM, and dies by KILL (137 with --foreground) when -k had to be used. */
const byTimeout = (st: ExecStatus) => st.exitcode === 124 || st.exitcode === 137 || st.signal === 9;

/** The backstop when the guest had no `timeout`: KILL the command (and its group when it leads one). */
async function kill(q: QgaClient, pid: number): Promise<void> {
  const script = 'kill -KILL -- "-$1" 2>/dev/null; kill -KILL "$1"';
  await q.execute("guest-exec", { path: "sh", arg: ["-c", script, "qfleet-kill", String(pid)] }).catch((e) => {
    if (!isQfleetError(e)) throw e;
  });
}

function result(st: ExecStatus, maxBytes: number, timedOut: boolean): GuestExecResult {
  const out = Buffer.from(st["out-data"] ?? "", "base64");
  const err = Buffer.from(st["err-data"] ?? "", "base64");
  return {
    exitCode: st.exitcode ?? null,
    ...(st.signal !== undefined && { signal: st.signal }),
    stdout: out.subarray(0, maxBytes).toString("utf8"),
    stderr: err.subarray(0, maxBytes).toString("utf8"),
    truncated: out.length > maxBytes || err.length > maxBytes || Boolean(st["out-truncated"] || st["err-truncated"]),
    timedOut,
  };
}

export interface GuestInfo {
  os?: { id?: string; name?: string; version?: string; pretty_name?: string; kernel_release?: string };
  hostname?: string;
  addresses: { interface: string; address: string; prefix: number; family: "ipv4" | "ipv6" }[];
}

interface OsInfo {
  id?: string;
  name?: string;
  version?: string;
  "pretty-name"?: string;
  "kernel-release"?: string;
}
type Interfaces = { name: string; "ip-addresses"?: { "ip-address-type": "ipv4" | "ipv6"; "ip-address": string; prefix: number }[] }[];

/**
 * What the agent says about the guest: guest-get-osinfo, guest-get-host-name and guest-network-get-interfaces
 * (loopback left out). null when no agent answers (never throws for that); a command the agent refuses or
 * does not answer leaves its field out. timeoutMs bounds the sync and each command.
 */
export async function guestInfo(host: Host, socketPath: string, timeoutMs = 2000): Promise<GuestInfo | null> {
  try {
    return await withQga(
      host,
      socketPath,
      async (q) => {
        const ask = <T>(cmd: string) => q.execute<T>(cmd, undefined, timeoutMs).catch((e) => (isQfleetError(e) ? undefined : Promise.reject(e)));
        const os = await ask<OsInfo>("guest-get-osinfo");
        const name = await ask<{ "host-name"?: string }>("guest-get-host-name");
        const nics = (await ask<Interfaces>("guest-network-get-interfaces")) ?? [];
        const info: GuestInfo = { addresses: [] };
        if (os) {
          const { id, name, version, "pretty-name": pretty_name, "kernel-release": kernel_release } = os;
          info.os = Object.fromEntries(Object.entries({ id, name, version, pretty_name, kernel_release }).filter(([, v]) => typeof v === "string"));
        }
        if (typeof name?.["host-name"] === "string") info.hostname = name["host-name"];
        for (const nic of nics) {
          for (const a of nic["ip-addresses"] ?? []) {
            if (nic.name === "lo" || a["ip-address"].startsWith("127.") || a["ip-address"] === "::1") continue;
            info.addresses.push({ interface: nic.name, address: a["ip-address"], prefix: a.prefix, family: a["ip-address-type"] });
          }
        }
        return info;
      },
      timeoutMs,
    );
  } catch (e) {
    if (isQfleetError(e) && e.code === "CONNECTION") return null;
    throw e;
  }
}

/**
 * Asks the guest to power down or reboot (guest-shutdown, which replies only when it fails). true when the
 * agent took it: no error came back before the sync sent behind it, or the guest went away first; false
 * when it refused or failed, or when no agent answers.
 */
export async function guestShutdown(host: Host, socketPath: string, mode: "powerdown" | "reboot" = "powerdown", timeoutMs = 3000): Promise<boolean> {
  try {
    await withQga(host, socketPath, (q) => q.executeNoReply("guest-shutdown", { mode }, timeoutMs), timeoutMs);
    return true;
  } catch (e) {
    if (isQfleetError(e) && (e.code === "CONNECTION" || e.code === "COMMAND_FAILED")) return false;
    throw e;
  }
}

/**
 * Whether a guest agent has its end of the channel open, asked of QEMU (QMP query-chardev:
 * qga0's frontend-open), which answers at once: a VM whose guest runs no agent is known without
 * waiting out an agent timeout. False also when QEMU cannot be asked.
 */
export async function agentChannelOpen(host: Host, qmpSocket: string): Promise<boolean> {
  const devs = await withQmp(host, qmpSocket, (q) => q.execute<{ label: string; "frontend-open": boolean }[]>("query-chardev"), 3000).catch(() => []);
  return devs.some((d) => d.label === "qga0" && d["frontend-open"]);
}
