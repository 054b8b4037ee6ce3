/**
 * Progress for long CLI operations, always on stderr (stdout carries results).
 * On a TTY: one self-rewriting bar line, redrawn only when the shown percentage changes, and
 * erased by done()/fail() so the result line that follows stands alone.
 * Anywhere else (CI logs, pipes): one start line and nothing per step.
 */
export interface Progress {
  update(percent: number): void;
  /** Erases the bar; the caller prints the outcome. Safe to call more than once. */
  done(): void;
}

type Stream = Pick<NodeJS.WriteStream, "write"> & { isTTY?: boolean; columns?: number };

export function progressBar(label: string, stream: Stream = process.stderr): Progress {
  if (!stream.isTTY) {
    stream.write(`${label}...\n`);
    return { update() {}, done() {} };
  }
  let shown = -1;
  let finished = false;
  const draw = (percent: number) => {
    const pct = Math.max(0, Math.min(100, Math.floor(percent)));
    if (pct === shown || finished) return;
    shown = pct;
    // The line MUST fit the terminal, or "\r" no longer returns to its start.
    const cols = stream.columns || 80; // 0 on a pty with no size set
    const width = Math.max(10, Math.min(30, cols - 30));
    const room = Math.max(8, cols - width - 9);
    const text = label.length > room ? `…${label.slice(-(room - 1))}` : label;
    const filled = Math.round((pct / 100) * width);
    stream.write(`\r\x1b[2K${text} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${String(pct).padStart(3)}%`);
  };
  draw(0);
  return {
    update: draw,
    done() {
      if (finished) return;
      finished = true;
      stream.write("\r\x1b[2K");
    },
  };
}
