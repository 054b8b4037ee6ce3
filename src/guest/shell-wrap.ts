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
/** The environment variable that marks every process of one command (see sweepCommand). */
export const MARK_VAR = "QFLEET_EXEC";

/**
 * The command line that runs `command` under /bin/sh -c in the guest, bounded by the guest's
 * own `timeout` (GNU coreutils or busybox) when it has one: TERM after `seconds` (rounded up,
 * at least 1), KILL GUEST_KILL_AFTER_S later. Every step is exec'd, so the process the SSH
 * server started (the one a channel signal reaches) is `timeout` itself, or the command when
 * the guest has no `timeout`. GNU timeout signals the command's whole process group and
 * forwards a TERM it receives; busybox timeout signals only the command's own process, so
 * every process of the command also inherits MARK_VAR=mark, for sweepCommand to find.
 */
export function withGuestTimeout(command: string, seconds: number, mark: string): string {
  if (!Number.isFinite(seconds) || seconds <= 0) throw new QfleetError("BAD_INPUT", `a guest command timeout must be positive, not ${seconds}`);
  checkMark(mark);
  const s = Math.max(1, Math.ceil(seconds));
  const q = singleQuote(command);
  return (
    `${MARK_VAR}=${mark}; export ${MARK_VAR}; ` +
    `if command -v timeout >/dev/null 2>&1; then exec timeout -k ${GUEST_KILL_AFTER_S} ${s} sh -c ${q}; else exec sh -c ${q}; fi`
  );
}

/**
 * A command line (Linux /proc, POSIX sh, busybox-compatible) that ends every process still
 * carrying MARK_VAR=mark in its environment: TERM, then KILL for any left after a second
 * (checked every 0.2 s, a zombie counting as gone; a `sleep` without fractions makes that
 * KILL come at once).
 * Contract: prints nothing, exits 0, and touches no process without the mark (its own shell
 * and grep do not carry it). A process that cleared its environment escapes it.
 */
export function sweepCommand(mark: string): string {
  checkMark(mark);
  return (
    `p=; for f in $(grep -l '${MARK_VAR}=${mark}' /proc/[0-9]*/environ 2>/dev/null); do f=\${f#/proc/}; p="$p \${f%/environ}"; done; ` +
    `if [ -n "$p" ]; then kill -TERM $p; for i in 1 2 3 4 5; do sleep 0.2; q=; for x in $p; do read -r _ _ st _ < /proc/$x/stat && [ "$st" != Z ] && q="$q $x"; done; p=$q; [ -z "$p" ] && break; done; ` +
    `[ -n "$p" ] && kill -KILL $p; fi 2>/dev/null; true`
  );
}

function checkMark(mark: string): void {
  if (!/^[A-Za-z0-9]{8,}$/.test(mark)) throw new QfleetError("BAD_INPUT", `a command mark must be 8 or more letters and digits, not "${mark}"`);
}
