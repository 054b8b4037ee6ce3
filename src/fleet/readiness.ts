import { toQfleetError } from "../errors.js";
import type { Host } from "../hosts/host.js";
import { consoleText, lastLines } from "../guest/console-text.js";
import { guestInfo } from "../qemu/qga-exec.js";
import { probeSshBanner } from "../state/ssh-probe.js";
import { withGuest, type GuestTarget } from "./guest.js";

/** What a running guest shows of itself: whether one can get in, and what it is doing. */
export interface Readiness {
  ssh_accessible: boolean;
  ssh_banner?: string;
  /** A real login with the fleet's key worked (cloud-init guests only; absent otherwise). */
  login_ok?: boolean;
  login_error?: string;
  /** `cloud-init status` in the guest, once logged in. */
  cloud_init?: "running" | "done" | "error" | "disabled" | "unknown";
  /** From the guest agent, when it answers. */
  guest?: { agent: true; os?: string; hostname?: string; addresses: string[] };
  /** The console's last lines (clean text), when the guest is not ready. */
  console?: string[];
}

/**
 * Looks at a running guest from outside in: the SSH banner (a slow host's counts), a real
 * login as the fleet with the host key verified (cloud-init guests), cloud-init's own verdict,
 * the guest agent's addresses and OS, and, when something is not ready, what the console shows
 * last. Never throws: what cannot be learned is left out or said in login_error.
 */
export async function readiness(t: GuestTarget, host: Host, serialLog: string): Promise<Readiness> {
  const port = t.login?.port;
  const [banner, info] = await Promise.all([
    port ? probeSshBanner(host, port) : Promise.resolve(null),
    guestInfo(host, t.qga, 1500).catch(() => null),
  ]);
  const r: Readiness = { ssh_accessible: Boolean(banner), ...(banner && { ssh_banner: banner }) };
  if (info) {
    const addresses = info.addresses
      .filter((a) => a.family === "ipv4" || !a.address.startsWith("fe80"))
      .map((a) => `${a.address}/${a.prefix} (${a.interface})`);
    r.guest = { agent: true, ...(info.os?.pretty_name && { os: info.os.pretty_name }), ...(info.hostname && { hostname: info.hostname }), addresses };
  }
  if (t.login?.fleetDir) {
    r.login_ok = false;
    if (banner) {
      try {
        r.cloud_init = await withGuest(
          t,
          async (s) => cloudInitState((await s.exec("cloud-init status 2>/dev/null || true", { timeoutMs: 15_000 })).stdout),
          {
            readyTimeoutMs: 10_000,
          },
        );
        r.login_ok = true;
      } catch (e) {
        r.login_error = toQfleetError(e).message;
      }
    }
  }
  const ready = r.login_ok ?? r.ssh_accessible;
  if (!ready || r.cloud_init === "running" || r.cloud_init === "error") r.console = await consoleTail(host, serialLog);
  return r;
}

/** "status: done" and the like (cloud-init 22+), read loosely. */
export function cloudInitState(out: string): NonNullable<Readiness["cloud_init"]> {
  const m = /status:\s*(\w+)/.exec(out);
  const s = m?.[1];
  return s === "running" || s === "done" || s === "error" || s === "disabled" ? s : s === "degraded" ? "error" : "unknown";
}

/** The console's last 3 non-empty lines, cleaned; [] when there is no log yet. */
export async function consoleTail(host: Host, serialLog: string, n = 3): Promise<string[]> {
  const r = await host.run(["tail", "-c", "8192", serialLog], { allowFailure: true, timeoutMs: 10_000 }).catch(() => null);
  return r && r.exitCode === 0 ? lastLines(consoleText(r.stdout), n) : [];
}
