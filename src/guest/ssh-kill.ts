import type { Client, ClientChannel } from "ssh2";
import { sweepCommand } from "./shell-wrap.js";

/** The sweep after a timeout takes about 1 s when it finds processes; past this it is abandoned. */
const SWEEP_WAIT_MS = 5000;

/**
 * Sends a signal request on a session channel. ssh2's channel.signal() does nothing once the
 * channel's stdin was ended (it checks `writable`), and ours always is, so the request goes to
 * the protocol directly until the channel is closing (ssh2 1.x internals: fragile on upgrade;
 * test/integration/guest-ssh-session.test.ts notices when it stops working).
 */
export function sendSignal(ch: ClientChannel, name: "TERM" | "KILL"): void {
  const c = ch as unknown as { outgoing?: { id: number; state: string }; _client?: { _protocol?: { signal(id: number, s: string): void } } };
  try {
    const state = c.outgoing?.state;
    if (state === "open" || state === "eof") c._client?._protocol?.signal(c.outgoing!.id, name); // requests may follow our EOF
  } catch {
    // the connection is going away: nothing left to signal
  }
}

/** Runs the sweep for `mark` (see sweepCommand); never fails: a session that is gone has nothing left to sweep. */
export function sweep(client: Client, mark: string): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, SWEEP_WAIT_MS);
    const done = () => (clearTimeout(timer), resolve());
    try {
      client.exec(sweepCommand(mark), (e, ch) => {
        if (e) return done();
        ch.on("close", done)
          .on("error", () => undefined)
          .resume();
        ch.stderr.resume();
        ch.end();
      });
    } catch {
      done();
    }
  });
}
