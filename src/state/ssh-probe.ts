import type { Host } from "../hosts/host.js";

/**
 * "SSH accessible" means an `SSH-` banner arrived, not that a TCP connect worked: QEMU's
 * user-mode network accepts connections on a forwarded port even while the guest is not
 * listening yet, and only retries the guest after 1-3 s. So each attempt is short and a new
 * connection is made until the deadline. The connection is opened from `host` itself, so for
 * a remote VM the probe happens on the remote side, where the forward is bound.
 */
export async function probeSshBanner(host: Host, port: number, opts: { timeoutMs?: number; attemptMs?: number } = {}): Promise<string | null> {
  const deadline = Date.now() + (opts.timeoutMs ?? 1500);
  const attemptMs = opts.attemptMs ?? 400;
  for (;;) {
    const banner = await attempt(host, port, Math.min(attemptMs, Math.max(50, deadline - Date.now())));
    if (banner) return banner;
    if (Date.now() + 50 >= deadline) return null;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function attempt(host: Host, port: number, ms: number): Promise<string | null> {
  let sock;
  try {
    sock = await host.connectTcp(port);
  } catch {
    await new Promise((r) => setTimeout(r, Math.min(ms, 200)));
    return null;
  }
  return new Promise((resolve) => {
    let buf = "";
    const done = (v: string | null) => {
      clearTimeout(timer);
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
