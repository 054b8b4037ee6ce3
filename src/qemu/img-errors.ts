import { INSTALL_QEMU_HINT, QfleetError, isQfleetError } from "../errors.js";
import type { FileStat, Host, RunOptions, RunResult } from "../hosts/host.js";
import { classifyImgError, firstErrorLine } from "./img-parse.js";

/**
 * Running qemu-img on a Host and turning its failures into QfleetErrors with a next step.
 * Contract: runImg never rejects for a non-zero exit (callers decide, usually via imgFailure);
 * it rejects with MISSING_TOOL + INSTALL_QEMU_HINT when qemu-img is not installed on that host.
 */
export async function runImg(host: Host, args: string[], opts: Omit<RunOptions, "allowFailure"> = {}): Promise<RunResult> {
  try {
    return await host.run(["qemu-img", ...args], { ...opts, allowFailure: true });
  } catch (e) {
    if (isQfleetError(e) && e.code === "MISSING_TOOL") {
      throw new QfleetError("MISSING_TOOL", `qemu-img is not installed${host.name === "local" ? "" : ` on ${host.name}`}`, {
        hint: INSTALL_QEMU_HINT,
        command: e.command,
      });
    }
    throw e;
  }
}

const BUSY_HINT = "stop the VM that uses it (qfleet stop NAME, or quit that QEMU) and try again";

/** Runs qemu-img and rejects with imgFailure on a non-zero exit. */
export async function runImgOk(host: Host, args: string[], path: string, opts: Omit<RunOptions, "allowFailure"> = {}): Promise<RunResult> {
  const r = await runImg(host, args, opts);
  if (r.exitCode !== 0) throw imgFailure(["qemu-img", ...args], r, path);
  return r;
}

/** The QfleetError for a failed qemu-img run on `path`: a specific code where we recognise the failure. */
export function imgFailure(command: string[], r: RunResult, path: string): QfleetError {
  const line = firstErrorLine(r.stderr) || `exited ${r.exitCode}`;
  const details = { command, exitCode: r.exitCode, stderr: r.stderr };
  switch (classifyImgError(r.stderr)) {
    case "locked":
      return new QfleetError("BUSY", `${path} is in use by a running VM`, { ...details, hint: BUSY_HINT });
    case "backing-missing":
      return new QfleetError("NOT_FOUND", `the backing file of ${path} is missing: ${line}`, details);
    case "not-found":
      return new QfleetError("NOT_FOUND", `no such file: ${path}`, details);
    case "unknown-format":
    case "wrong-format":
    case "bad-size":
    case "not-a-file":
      return new QfleetError("BAD_INPUT", line, details);
    case "permission":
      return new QfleetError("BAD_INPUT", `permission denied: ${path}`, { ...details, hint: "check the file's owner and mode" });
    case "no-space":
      return new QfleetError(
        "COMMAND_FAILED",
        `qemu-img ${command[1] ?? ""} ${path}: no space left on the device holding it (${line.replace(/^.*?: /, "")})`,
        { ...details, hint: "free some space and retry" },
      );
    case "unsupported":
      return new QfleetError("UNSUPPORTED", `${path}: ${line}`, { ...details, hint: "convert it to qcow2 or raw first (qfleet image convert)" });
    case "needs-shrink":
      return new QfleetError("REFUSED", `${path}: ${line}`, details);
    default:
      return new QfleetError("COMMAND_FAILED", `qemu-img failed on ${path}: ${line}`, details);
  }
}

/**
 * Checks that `path` can be handed to qemu-img as an image: it exists and is not a folder.
 * Regular files and block devices pass; what is inside is qemu-img's business (any file is "raw").
 */
export async function requireImage(host: Host, path: string): Promise<FileStat> {
  const st = await host.stat(path);
  if (!st) throw new QfleetError("NOT_FOUND", `no such file: ${path}`);
  if (st.kind === "dir") throw new QfleetError("BAD_INPUT", `${path} is a folder, not an image`);
  if (st.kind === "socket") throw new QfleetError("BAD_INPUT", `${path} is a socket, not an image`);
  return st;
}

/** Rejects with EXISTS when something is already at `path` (a file, a folder, anything). */
export async function refuseExisting(host: Host, path: string, hint: string): Promise<void> {
  if (await host.stat(path)) throw new QfleetError("EXISTS", `${path} already exists`, { hint });
}

export function busy(path: string): QfleetError {
  return new QfleetError("BUSY", `${path} is in use by a running VM`, { hint: BUSY_HINT });
}

/** The folder that will hold `file` must exist: NOT_FOUND otherwise (qemu-img's own message would name the file). */
export async function requireFolder(host: Host, file: string): Promise<void> {
  const dir = file.slice(0, file.lastIndexOf("/")) || "/";
  const st = await host.stat(dir);
  if (!st || st.kind !== "dir") throw new QfleetError("NOT_FOUND", `no such folder: ${dir}`);
}

/** Runs `fn`, which creates `path` (known not to exist before); removes any leftover when it fails. */
export async function cleanOnFailure<T>(host: Host, path: string, fn: () => Promise<T>, opts: { recursive?: boolean } = {}): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    await host.remove(path, opts).catch(() => undefined);
    throw e;
  }
}
