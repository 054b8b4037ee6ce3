import type { ApplyEvent } from "../apply/run.js";
import { KIND_LABEL } from "../plan/render.js";

/**
 * Shows apply progress on stderr. On a terminal: one live line per VM in flight, redrawn with
 * a spinner, and a permanent line when each VM finishes. Otherwise (CI, pipes): one plain
 * timestamped line per event. Call stop() before printing anything else.
 */
export function eventsView(stream: NodeJS.WriteStream = process.stderr): { onEvent: (e: ApplyEvent) => void; stop: () => void } {
  const plain = !stream.isTTY;
  const active = new Map<string, string>();
  const frames = ["|", "/", "-", "\\"];
  let frame = 0;
  let drawn = 0;
  const clear = () => {
    if (drawn) stream.write(`\x1b[${drawn}A\x1b[J`);
    drawn = 0;
  };
  const draw = () => {
    clear();
    for (const [vm, msg] of active) stream.write(`${frames[frame % 4]} ${vm}: ${msg}\n`);
    drawn = active.size;
  };
  const timer = plain ? null : setInterval(() => (frame++, draw()), 120);
  timer?.unref();

  return {
    onEvent(e) {
      const label = `${KIND_LABEL[e.kind].trim()} ${e.vm}${e.host === "local" ? "" : `@${e.host}`}`;
      if (plain) {
        stream.write(`${e.at} ${label}: ${e.phase === "failed" ? "FAILED: " : ""}${e.message}\n`);
        return;
      }
      if (e.phase === "done" || e.phase === "failed") {
        active.delete(label);
        clear();
        stream.write(`${e.phase === "done" ? "ok " : "ERR"} ${label}: ${e.message}\n`);
      } else active.set(label, e.message);
      draw();
    },
    stop() {
      if (timer) clearInterval(timer);
      clear();
    },
  };
}
