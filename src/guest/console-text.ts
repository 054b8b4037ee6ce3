/**
 * A serial console's bytes as the text a person saw on the terminal (pure): escape sequences
 * (CSI such as colours and cursor moves, OSC titles, charset selections) removed, a carriage
 * return starting its line over (a progress line keeps its last state), backspaces applied,
 * other control characters dropped, trailing spaces trimmed.
 */
const ESCAPES = /\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[()*+][0-9A-Za-z]|[@-Z\\-_])/g;

export function consoleText(raw: string): string {
  const lines = raw.replace(ESCAPES, "").split("\n");
  return lines.map(renderLine).join("\n");
}

function renderLine(line: string): string {
  let out: string[] = [];
  let col = 0;
  for (const ch of line) {
    if (ch === "\r") col = 0;
    else if (ch === "\b") col = Math.max(0, col - 1);
    else if (ch === "\t") {
      const next = (Math.floor(col / 8) + 1) * 8;
      while (col < next) out[col++] ??= " ";
    } else if (ch < " " || ch === "\x7f") continue;
    else out[col++] = ch;
  }
  out = out.map((c) => c ?? " ");
  return out.join("").trimEnd();
}

/** The last `n` non-empty lines of a console text. */
export function lastLines(text: string, n: number): string[] {
  return text
    .split("\n")
    .filter((l) => l.trim())
    .slice(-n);
}
