/**
 * Errors that reach a user. Every QfleetError carries a stable code, a one-line message,
 * and where known the command that failed, its stderr and a next step (hint).
 * The CLI prints `error: MESSAGE` (+ hint) and exits with exitCodeFor(err); MCP tools turn
 * the same text into an isError result. Anything that is not a QfleetError is a bug.
 */
export type ErrorCode =
  | "INVALID_SPEC" // specs failed validation (exit 3)
  | "NOT_FOUND" // a file, VM or host that does not exist
  | "BAD_INPUT" // an argument that cannot be used
  | "REFUSED" // would lose data or break something without an explicit flag
  | "EXISTS" // would overwrite something
  | "BUSY" // a lock, port or image held by someone else
  | "MISSING_TOOL" // qemu-img / qemu-system-* / firmware not installed
  | "COMMAND_FAILED" // a command exited non-zero
  | "TIMEOUT"
  | "UNSUPPORTED"
  | "CONNECTION"; // a host or socket that cannot be reached

export interface ErrorDetails {
  hint?: string;
  command?: string[];
  exitCode?: number | null;
  stderr?: string;
  cause?: unknown;
}

export class QfleetError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;
  readonly command?: string[];
  readonly exitCode?: number | null;
  readonly stderr?: string;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "QfleetError";
    this.code = code;
    this.hint = details.hint;
    this.command = details.command;
    this.exitCode = details.exitCode;
    this.stderr = details.stderr;
  }

  /** The text a person sees: the message, then the hint on its own line. */
  toText(): string {
    return this.hint ? `${this.message}\n  hint: ${this.hint}` : this.message;
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(this.hint && { hint: this.hint }),
      ...(this.command && { command: this.command }),
      ...(this.exitCode !== undefined && { exitCode: this.exitCode }),
      ...(this.stderr && { stderr: this.stderr }),
    };
  }
}

export const isQfleetError = (e: unknown): e is QfleetError => e instanceof QfleetError;

/** What a failed system call was doing, in words ("write"), from Node's `syscall` field. */
const OPERATION: Record<string, string> = {
  open: "open",
  read: "read",
  write: "write",
  mkdir: "create the folder",
  rmdir: "remove the folder",
  unlink: "remove",
  rename: "rename",
  copyfile: "copy",
  scandir: "list",
  stat: "look at",
  lstat: "look at",
  chmod: "change the mode of",
};
/** Conditions of the machine, not of the input: said as they are, with the path and the operation. */
const CONDITION: Record<string, string> = {
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  EROFS: "read-only file system",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EISDIR: "is a folder, not a file",
  ENOTDIR: "a part of the path is not a folder",
  ELOOP: "too many symbolic links",
};

/** Wraps anything thrown into a QfleetError so callers print one line, never a stack. */
export function toQfleetError(e: unknown): QfleetError {
  if (e instanceof QfleetError) return e;
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err === "object" && typeof err.code === "string") {
    const path = (err as { path?: string }).path;
    if (err.code === "ENOENT") return new QfleetError("NOT_FOUND", `no such file or folder: ${path ?? err.message}`);
    const condition = CONDITION[err.code];
    if (condition) {
      const op = err.syscall ? (OPERATION[err.syscall] ?? err.syscall) : "use";
      const code = err.code === "ENOSPC" || err.code === "EDQUOT" ? "COMMAND_FAILED" : "BAD_INPUT";
      return new QfleetError(code, `cannot ${op} ${path ?? "(unknown path)"}: ${condition} (${err.code})`, { cause: e });
    }
  }
  return new QfleetError("COMMAND_FAILED", e instanceof Error ? e.message : String(e), { cause: e });
}

/** CLI exit codes: 3 invalid specs, 1 anything else that failed. (2 = changes pending is set by reconcile.) */
export function exitCodeFor(e: QfleetError): number {
  return e.code === "INVALID_SPEC" ? 3 : 1;
}

/** How to install QEMU pieces on the platforms we support; used in MISSING_TOOL hints. */
export const INSTALL_QEMU_HINT =
  "install QEMU: Debian/Ubuntu `sudo apt-get install qemu-utils qemu-system-x86 qemu-system-arm`, " +
  "Fedora `sudo dnf install qemu-img qemu-system-x86 qemu-system-aarch64`, macOS `brew install qemu`";
