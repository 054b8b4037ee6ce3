import { toQfleetError } from "../errors.js";
import type { Host } from "../hosts/host.js";
import { consoleText, lastLines } from "../guest/console-text.js";
import { agentChannelOpen, guestInfo } from "../qemu/qga-exec.js";
import { probeSshBanner } from "../state/ssh-probe.js";
import { withGuest, type GuestTarget } from "./guest.js";

/** What a running guest shows of itself: whether one can get in, and what it is doing. */
export interface Readiness {
  ssh_accessible: boolean;
  ssh_banner?: string;
  /** A real login with the fleet's key worked (cloud-init guests only; absent otherwise). */
  login_ok?: boolean;
  login_error?: string;
  /** cloud-init's own verdict, read in the guest once logged in. */
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
export async function readiness(t: GuestTarget, host: Host, serialLog: string, opts: { bannerWaitMs?: number } = {}): Promise<Readiness> {
  const port = t.login?.port;
  const [banner, info] = await Promise.all([
    port ? probeSshBanner(host, port, { timeoutMs: opts.bannerWaitMs }) : Promise.resolve(null),
    agentChannelOpen(host, t.qmp).then((open) => (open ? guestInfo(host, t.qga, 1500).catch(() => null) : null)),
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
        r.cloud_init = await withGuest(t, async (s) => cloudInitState((await s.exec(CLOUD_INIT_STATE, { timeoutMs: 15_000 })).stdout), {
          readyTimeoutMs: 10_000,
        });
        r.login_ok = true;
      } catch (e) {
        r.login_error = toQfleetError(e).message;
      }
    }
  }
  const ready = t.login ? (r.login_ok ?? r.ssh_accessible) : true; // without SSH there is nothing to wait for
  if (!ready || r.cloud_init === "running" || r.cloud_init === "error") r.console = await consoleTail(host, serialLog);
  return r;
}

/**
 * cloud-init's state from its own files in /run/cloud-init: result.json is written when it is
 * done (with its errors), status.json while it runs. Read with a shell one-liner, because
 * `cloud-init status` (Python) takes 3-4 s to start in a guest under TCG.
 */
const CLOUD_INIT_STATE =
  "d=/run/cloud-init; if [ -f $d/result.json ]; then echo RESULT; cat $d/result.json; elif [ -f $d/status.json ]; then echo RUNNING; " +
  "elif [ -e $d/disabled ]; then echo DISABLED; else echo UNKNOWN; fi";

export function cloudInitState(out: string): NonNullable<Readiness["cloud_init"]> {
  const [first, ...rest] = out.split("\n");
  if (first === "RUNNING") return "running";
  if (first === "DISABLED") return "disabled";
  if (first !== "RESULT") return "unknown";
  try {
    const errors = (JSON.parse(rest.join("\n")) as { v1?: { errors?: unknown[] } }).v1?.errors ?? [];
    return errors.length ? "error" : "done";
  } catch {
    return "unknown";
  }
}

/** The console's last 3 non-empty lines, cleaned; [] when there is no log yet. */
export async function consoleTail(host: Host, serialLog: string, n = 3): Promise<string[]> {
  const r = await host.run(["tail", "-c", "8192", serialLog], { allowFailure: true, timeoutMs: 10_000 }).catch(() => null);
  return r && r.exitCode === 0 ? lastLines(consoleText(r.stdout), n) : [];
}
