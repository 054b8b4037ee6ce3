import { toQfleetError } from "../errors.js";
import type { Host } from "../hosts/host.js";
import { agentChannelOpen, guestShutdown } from "../qemu/qga-exec.js";
import { withQmp } from "../qemu/qmp.js";
import { BOOT_WINDOW_MS } from "../plan/types.js";
import { instancePaths } from "../state/paths.js";
import { isQemuFor, waitUntilGone } from "./process.js";

export type StopMethod = "not-running" | "powerdown" | "agent" | "quit" | "kill";

/** How often the graceful phase asks again (ACPI powerdown, then the agent once it answers). */
const ASK_EVERY_MS = 5000;

export interface StopOptions {
  graceful: boolean;
  timeoutMs: number;
  /** When QEMU was started (applied.json startedAt): a VM still booting gets until its boot window ends. */
  startedAt?: string;
  /** Called with what the stop is doing, for progress lines. */
  progress?: (message: string) => void;
}

/**
 * Stops one VM's QEMU. Graceful: ACPI powerdown, asked again every ASK_EVERY_MS (a guest in
 * firmware or early boot drops the first one), and the guest agent's shutdown once the agent
 * answers; up to `timeoutMs`, longer while a VM started within BOOT_WINDOW_MS is still writing
 * its boot log (it is booting, not ignoring us). Then QMP quit, wait; then SIGKILL,
 * only after checking the PID is still this VM's QEMU. Resolves with the method that worked.
 * Idempotent: a VM that does not run is "not-running".
 */
export async function stopQemu(host: Host, instanceDir: string, pid: number | undefined, opts: StopOptions): Promise<StopMethod> {
  const p = instancePaths(instanceDir);
  if (pid === undefined || !(await isQemuFor(host, pid, p.qmp))) return "not-running";
  const alive = () => isQemuFor(host, pid, p.qmp);
  const qmp = (cmd: string) => withQmp(host, p.qmp, (q) => q.execute(cmd), 3000).catch(() => undefined);

  if (opts.graceful) {
    const started = opts.startedAt ? Date.parse(opts.startedAt) : NaN;
    const bootEnds = Number.isFinite(started) ? started + BOOT_WINDOW_MS : 0;
    let deadline = Date.now() + opts.timeoutMs;
    let byAgent = false;
    let said = false;
    while (Date.now() < deadline) {
      await qmp("system_powerdown");
      if (!byAgent && (await agentChannelOpen(host, p.qmp)) && (await guestShutdown(host, p.qga, "powerdown", 1000).catch(() => false))) {
        byAgent = true;
        opts.progress?.("the guest agent accepted the shutdown");
      }
      if (await waitUntilGone(alive, Math.max(0, Math.min(ASK_EVERY_MS, deadline - Date.now())), 200))
        return cleanup(host, p, byAgent ? "agent" : "powerdown");
      // a guest still writing its boot log within the boot window is booting, not ignoring us: keep asking
      if (Date.now() < bootEnds && (await consoleActive(host, p.serial))) {
        deadline = Math.max(deadline, Math.min(bootEnds, Date.now() + 2 * ASK_EVERY_MS));
        if (!said) opts.progress?.(`started ${Math.round((Date.now() - started) / 1000)} s ago and still booting: asking again until it can act`);
        said = true;
      }
    }
  }
  await qmp("quit");
  if (await waitUntilGone(alive, 5000)) return cleanup(host, p, "quit");
  if (await alive()) await host.kill(pid, "SIGKILL");
  if (!(await waitUntilGone(alive, 5000))) throw toQfleetError(new Error(`QEMU pid ${pid} survived SIGKILL`));
  return cleanup(host, p, "kill");
}

/** True when the serial console log changed within the last two asks (the guest is printing). */
async function consoleActive(host: Host, serial: string): Promise<boolean> {
  const st = await host.stat(serial).catch(() => null);
  return Boolean(st && Date.now() - st.mtimeMs < 2 * ASK_EVERY_MS);
}

/** After a kill QEMU leaves its pidfile and socket behind; remove them so nothing looks alive. */
async function cleanup(host: Host, p: ReturnType<typeof instancePaths>, m: StopMethod): Promise<StopMethod> {
  await host.remove(p.pidfile).catch(() => undefined);
  await host.remove(p.qmp).catch(() => undefined);
  return m;
}
