import type { Duplex } from "node:stream";
import type { Host } from "../hosts/host.js";

/** How long one connection may wait for the banner: a loaded host sends it 0.8-1.4 s late. */
export const BANNER_WAIT_MS = 3000;
/** A new connection is opened this often while earlier ones still wait (slirp only retries the guest every 1-3 s). */
const STAGGER_MS = 500;

/**
 * "SSH accessible" means an `SSH-` banner arrived, not that a TCP connect worked: QEMU's
 * user-mode network accepts connections on a forwarded port even while the guest is not
 * listening yet, and retries the guest only after 1-3 s. So connections are staggered: a new
 * one every STAGGER_MS, each waiting up to BANNER_WAIT_MS for the banner (a slow host still
 * counts), the first banner wins and every connection is closed. The connections are opened
 * from `host` itself, so for a remote VM the probe happens on the remote side, where the
 * forward is bound. Resolves with the banner line, or null once `timeoutMs` has passed
 * (at least one full BANNER_WAIT_MS attempt is always made).
 */
export async function probeSshBanner(host: Host, port: number, opts: { timeoutMs?: number } = {}): Promise<string | null> {
  const deadline = Date.now() + Math.max(opts.timeoutMs ?? BANNER_WAIT_MS, BANNER_WAIT_MS);
  const open = new Set<Duplex>();
  let found: string | null = null;
  let settle!: () => void;
  const done = new Promise<void>((r) => (settle = r));
  const attempt = async () => {
    const banner = await readBanner(host, port, Math.min(BANNER_WAIT_MS, Math.max(50, deadline - Date.now())), open);
    if (banner && found === null) {
      found = banner;
      settle();
    }
  };
  void attempt();
  const timer = setInterval(() => (Date.now() + 50 < deadline ? void attempt() : clearInterval(timer)), STAGGER_MS);
  const giveUp = setTimeout(settle, Math.max(0, deadline - Date.now()) + 100); // every attempt ends by the deadline
  await done;
  clearInterval(timer);
  clearTimeout(giveUp);
  for (const s of open) s.destroy();
  return found;
}

async function readBanner(host: Host, port: number, ms: number, open: Set<Duplex>): Promise<string | null> {
  let sock: Duplex;
  try {
    sock = await host.connectTcp(port);
  } catch {
    await new Promise((r) => setTimeout(r, Math.min(ms, STAGGER_MS)));
    return null;
  }
  open.add(sock);
  return new Promise((resolve) => {
    let buf = "";
    const done = (v: string | null) => {
      clearTimeout(timer);
      open.delete(sock);
      sock.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(null), ms);
    sock.on("data", (b: Buffer) => {
      buf += b.toString("latin1");
      const nl = buf.indexOf("\n");
      if (buf.startsWith("SSH-") && nl > 0) done(buf.slice(0, nl).trim());
      else if (buf.length >= 4 && !buf.startsWith("SSH-")) done(null);
    });
    sock.on("error", () => done(null));
    sock.on("close", () => done(null));
  });
}
