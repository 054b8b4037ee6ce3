import path from "node:path";
import { QfleetError, toQfleetError } from "../errors.js";
import { LOCAL } from "../hosts/local.js";
import { agentChannelOpen, guestExec } from "../qemu/qga-exec.js";
import { guestTarget, withGuest } from "./guest.js";
import type { Inventory } from "./inventory.js";

/** What vm_exec returns: the command's outcome, and which way it reached the guest. */
export interface GuestExecOutcome {
  exit_code: number | null;
  stdout: string;
  stderr: string;
  truncated: boolean;
  timed_out: boolean;
  via: "ssh" | "agent";
  /** Why SSH was not used, when the agent ran it. */
  ssh_error?: string;
}

export const EXEC_MAX_BYTES = 1024 * 1024;

/**
 * Runs a shell command in a running VM's guest: over SSH with the fleet's key, or through the
 * guest agent (guest-exec) when SSH cannot log in (no seed, no network yet). Output bounded to
 * EXEC_MAX_BYTES per stream; the time limit really ends the command in the guest.
 */
export async function execInGuest(
  inv: Inventory,
  name: string,
  command: string,
  opts: { stdin?: string; timeoutMs: number },
): Promise<GuestExecOutcome> {
  const t = guestTarget(inv, name);
  let sshError: string | undefined;
  try {
    const r = await withGuest(t, (s) => s.exec(command, { stdin: opts.stdin, timeoutMs: opts.timeoutMs, maxBytes: EXEC_MAX_BYTES }), {
      readyTimeoutMs: 15_000,
    });
    return { exit_code: r.exitCode, stdout: r.stdout, stderr: r.stderr, truncated: r.truncated, timed_out: r.timedOut, via: "ssh" };
  } catch (e) {
    const err = toQfleetError(e);
    if (err.code === "REFUSED" && /host key changed/.test(err.message)) throw err; // never fall back around a changed host key
    sshError = err.message;
  }
  try {
    if (!(await agentChannelOpen(t.host, t.qmp))) throw new QfleetError("CONNECTION", "no guest agent runs in the guest (its channel is closed)");
    const r = await guestExec(t.host, t.qga, ["sh", "-c", command], { stdin: opts.stdin, timeoutMs: opts.timeoutMs, maxBytes: EXEC_MAX_BYTES });
    return {
      exit_code: r.exitCode,
      stdout: r.stdout,
      stderr: r.stderr,
      truncated: r.truncated,
      timed_out: r.timedOut,
      via: "agent",
      ssh_error: sshError,
    };
  } catch (e) {
    throw new QfleetError("CONNECTION", `cannot run a command in VM ${name}: SSH: ${sshError}; guest agent: ${toQfleetError(e).message}`, {
      hint: `the console shows what the guest is doing: qfleet status ${name}`,
    });
  }
}

/** What a copy returns: both paths as used and the bytes moved. */
export interface CopyOutcome {
  local_path: string;
  guest_path: string;
  bytes: number;
}

/** Copies a file of this machine into the guest over SFTP; never overwrites unless asked. */
export async function copyToGuest(
  inv: Inventory,
  name: string,
  localPath: string,
  guestPath: string,
  opts: { overwrite?: boolean } = {},
): Promise<CopyOutcome> {
  const local = path.resolve(localPath);
  const t = guestTarget(inv, name);
  const { stream, size } = await LOCAL.readStream(local);
  const bytes = await withGuest(t, (s) => s.upload(stream, guestPath, { overwrite: opts.overwrite })).finally(() => stream.destroy());
  if (bytes !== size) throw new QfleetError("COMMAND_FAILED", `copied ${bytes} of ${size} bytes of ${local}: the file changed while it was copied`);
  return { local_path: local, guest_path: guestPath, bytes };
}

/** Copies a file of the guest to this machine over SFTP; never overwrites unless asked, never leaves half a file. */
export async function copyFromGuest(
  inv: Inventory,
  name: string,
  guestPath: string,
  localPath: string,
  opts: { overwrite?: boolean } = {},
): Promise<CopyOutcome> {
  const local = path.resolve(localPath);
  const t = guestTarget(inv, name);
  const out = await LOCAL.writeStream(local, opts);
  try {
    const bytes = await withGuest(t, (s) => s.download(guestPath, out.stream));
    return { local_path: local, guest_path: guestPath, bytes };
  } catch (e) {
    out.stream.destroy();
    await out.discard();
    throw e;
  }
}
