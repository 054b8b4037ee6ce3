import { QfleetError } from "../../errors.js";

/**
 * The one place where an argv becomes a command line for a remote POSIX shell (SSH exec hands
 * a single string to the user's login shell). Contract: for every argv of strings without NUL,
 * a POSIX shell (sh, dash, bash, zsh, ksh) parses shellCommand(argv) back into exactly argv;
 * nothing in an argument is expanded, substituted, split or read as a keyword or assignment.
 * NUL cannot travel in a command line at all, so it is refused (BAD_INPUT).
 */
export function shellQuote(arg: string): string {
  if (arg.includes("\0")) throw new QfleetError("BAD_INPUT", "a command argument cannot contain a NUL byte");
  // Plain words stay bare (readable commands in errors). The set has no "=", "~", "#", glob
  // or expansion characters; anything else is single-quoted, each ' written as '\''.
  if (/^[A-Za-z0-9_@%+:,./-]+$/.test(arg)) return arg;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** Shell keywords are only keywords when unquoted in command position. */
const RESERVED = new Set([
  "case",
  "coproc",
  "do",
  "done",
  "elif",
  "else",
  "esac",
  "fi",
  "for",
  "function",
  "if",
  "in",
  "select",
  "then",
  "time",
  "until",
  "while",
]);

/** argv -> one command line; each argument quoted on its own. */
export function shellCommand(argv: readonly string[]): string {
  if (argv.length === 0) throw new QfleetError("BAD_INPUT", "empty command");
  return argv.map((a, i) => (i === 0 && RESERVED.has(a) ? `'${a}'` : shellQuote(a))).join(" ");
}
