import { toQfleetError } from "../errors.js";
import type { Host } from "../hosts/host.js";
import { withQmp } from "../qemu/qmp.js";
import { instancePaths } from "../state/paths.js";
import { isQemuFor, waitUntilGone } from "./process.js";

export type StopMethod = "not-running" | "powerdown" | "quit" | "kill";

/**
 * Stops one VM's QEMU: ACPI powerdown (when `graceful`), wait up to `timeoutMs`; then QMP
 * quit, wait; then SIGKILL, but only after checking the PID is still this VM's QEMU.
 * Resolves with the method that worked. Idempotent: a VM that does not run is "not-running".
 */
export async function stopQemu(
  host: Host,
  instanceDir: string,
  pid: number | undefined,
  opts: { graceful: boolean; timeoutMs: number },
): Promise<StopMethod> {
  const p = instancePaths(instanceDir);
  if (pid === undefined || !(await isQemuFor(host, pid, p.qmp))) return "not-running";
  const alive = () => isQemuFor(host, pid, p.qmp);
  const qmp = (cmd: string) => withQmp(host, p.qmp, (q) => q.execute(cmd), 3000).catch(() => undefined);

  if (opts.graceful) {
    await qmp("system_powerdown");
    if (await waitUntilGone(alive, opts.timeoutMs, 200)) return cleanup(host, p, "powerdown");
  }
  await qmp("quit");
  if (await waitUntilGone(alive, 5000)) return cleanup(host, p, "quit");
  if (await alive()) await host.kill(pid, "SIGKILL");
  if (!(await waitUntilGone(alive, 5000))) throw toQfleetError(new Error(`QEMU pid ${pid} survived SIGKILL`));
  return cleanup(host, p, "kill");
}

/** After a kill QEMU leaves its pidfile and socket behind; remove them so nothing looks alive. */
async function cleanup(host: Host, p: ReturnType<typeof instancePaths>, m: StopMethod): Promise<StopMethod> {
  await host.remove(p.pidfile).catch(() => undefined);
  await host.remove(p.qmp).catch(() => undefined);
  return m;
}
