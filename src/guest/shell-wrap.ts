import { QfleetError } from "../errors.js";

/**
 * Quoting for command lines that a guest's POSIX shell reads (an SSH exec request hands one
 * string to the user's login shell). Contract: for any string without NUL, a POSIX shell (sh,
 * dash, bash, busybox ash, ksh, zsh) reads singleQuote(s) back as exactly s, one word, with
 * nothing expanded: the text goes inside '...' and each ' becomes '\'' (close, escaped quote,
 * reopen). NUL cannot travel in a command line, so it is refused (BAD_INPUT).
 */
export function singleQuote(s: string): string {
  if (s.includes("\0")) throw new QfleetError("BAD_INPUT", "a guest command cannot contain a NUL byte");
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** Seconds the guest's `timeout` waits after its TERM before it sends KILL. */
export const GUEST_KILL_AFTER_S = 2;

/**
 * The command line that runs `command` under /bin/sh -c in the guest, bounded by the guest's
 * own `timeout` (GNU coreutils or busybox) when it has one: TERM after `seconds` (rounded up,
 * at least 1), KILL GUEST_KILL_AFTER_S later. Every step is exec'd, so the process the SSH
 * server started (the one a channel signal reaches) is `timeout` itself, or the command when
 * the guest has no `timeout`. GNU timeout signals the command's whole process group and
 * forwards a TERM it receives; busybox timeout signals only the command's own process.
 */
export function withGuestTimeout(command: string, seconds: number): string {
  if (!Number.isFinite(seconds) || seconds <= 0) throw new QfleetError("BAD_INPUT", `a guest command timeout must be positive, not ${seconds}`);
  const s = Math.max(1, Math.ceil(seconds));
  const q = singleQuote(command);
  return (
    `if command -v timeout >/dev/null 2>&1; then exec timeout -k ${GUEST_KILL_AFTER_S} ${s} sh -c ${q}; ` + `else exec sh -c ${q}; fi`
  );
}
