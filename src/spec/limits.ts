import type { Position } from "./locate.js";

/**
 * Bounds on a spec file, checked before the YAML parser sees it, so one odd file can never
 * stall or crash a whole fleet's validate, plan, reconcile or watch: a spec is small (a few
 * KiB); anything over these limits is one located problem. Both checks are one pass over the text.
 */
export const MAX_SPEC_BYTES = 1024 * 1024;
export const MAX_DEPTH = 64;
/** Problems reported per file; the rest are counted in one more line. */
export const MAX_ISSUES_PER_FILE = 100;

export function sizeProblem(text: string): string | null {
  const bytes = Buffer.byteLength(text);
  if (bytes <= MAX_SPEC_BYTES) return null;
  return `the file is ${(bytes / 1024).toFixed(0)} KiB; a spec may be at most ${MAX_SPEC_BYTES / 1024} KiB: is this the right file?`;
}

/**
 * Where the text nests deeper than MAX_DEPTH (flow brackets, block indentation and `- `
 * sequence markers counted together), or null. Quoted strings and comments are skipped; the
 * block depth is the number of indentation levels open at a line (as Python counts them).
 */
export function depthProblem(text: string): (Position & { message: string }) | null {
  const open: number[] = []; // indentation of each open block level
  let flow = 0;
  const lines = text.split("\n");
  for (let ln = 0; ln < lines.length; ln++) {
    const line = lines[ln];
    let i = 0;
    if (flow === 0) {
      while (line[i] === " ") i++;
      if (i === line.length || line[i] === "#") continue;
      while (open.length && open[open.length - 1] >= i) open.pop();
      open.push(i);
      while (line[i] === "-" && line[i + 1] === " ") {
        i += 2;
        while (line[i] === " ") i++;
        open.push(i);
      }
    }
    for (let quote = ""; i < line.length; i++) {
      const c = line[i];
      if (quote) {
        if (c === quote) quote = "";
        else if (c === "\\" && quote === '"') i++;
      } else if (c === '"' || c === "'") quote = c;
      else if (c === "#" && (i === 0 || line[i - 1] === " ")) break;
      else if (c === "[" || c === "{") flow++;
      else if ((c === "]" || c === "}") && flow > 0) flow--;
      if (open.length + flow > MAX_DEPTH)
        return { line: ln + 1, col: i + 1, message: `nested more than ${MAX_DEPTH} levels deep: a VM spec needs a handful` };
    }
    if (open.length > MAX_DEPTH) return { line: ln + 1, col: 1, message: `nested more than ${MAX_DEPTH} levels deep: a VM spec needs a handful` };
  }
  return null;
}
