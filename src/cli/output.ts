import { exitCodeFor, toQfleetError } from "../errors.js";
import { closeAllSshConnections } from "../hosts/ssh/pool.js";

/**
 * The CLI's contract for output: results go to stdout (JSON with --json, text otherwise),
 * diagnostics and progress to stderr; a user error is one line (+ hint), never a stack trace.
 */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + "\n");
}

export function printError(e: unknown, json = false): number {
  const err = toQfleetError(e);
  if (json) process.stdout.write(JSON.stringify({ success: false, error: err.toJSON() }, null, 2) + "\n");
  else process.stderr.write(`error: ${err.toText()}\n`);
  if (process.env.QFLEET_DEBUG && err.stack) process.stderr.write(err.stack + "\n");
  return exitCodeFor(err);
}

/**
 * Wraps a command's action: its resolved number (or 0) becomes the exit code, anything it
 * throws is printed by printError. Sets process.exitCode rather than exiting, so streams flush;
 * then closes every SSH connection the command opened.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void>) {
  return async (...args: A): Promise<void> => {
    // commander calls actions with (...arguments, options, command): options is the last plain object
    const opts = args.findLast((a) => a !== null && typeof a === "object" && Object.getPrototypeOf(a) === Object.prototype) as
      { json?: boolean } | undefined;
    try {
      process.exitCode = (await fn(...args)) ?? 0;
    } catch (e) {
      process.exitCode = printError(e, Boolean(opts?.json));
    } finally {
      await closeAllSshConnections(); // an open SSH connection would keep a finished command alive
    }
  };
}
