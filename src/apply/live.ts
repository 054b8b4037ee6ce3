import { QfleetError } from "../errors.js";
import type { Host } from "../hosts/host.js";
import { DEVICE_IDS, hostForwards } from "../qemu/argv.js";
import { withQmp } from "../qemu/qmp.js";
import type { ResolvedVm } from "../spec/defaults.js";
import { instancePaths } from "../state/paths.js";

/**
 * Applies the live-class changes between two configurations to a running VM through QMP:
 * ISO media (blockdev-change-medium / eject on the always-present CD-ROM) and host port
 * forwards (HMP hostfwd_remove / hostfwd_add on the user-mode netdev). Returns a line per
 * change; HMP answers errors as text, so any text back is treated as a failure.
 */
export async function applyLive(host: Host, from: ResolvedVm, to: ResolvedVm): Promise<string[]> {
  const done: string[] = [];
  await withQmp(host, instancePaths(to.instanceDir).qmp, async (q) => {
    if ((from.iso ?? null) !== (to.iso ?? null)) {
      if (to.iso) {
        await q.execute("blockdev-change-medium", { id: DEVICE_IDS.cdrom, filename: to.iso, format: "raw", "read-only-mode": "read-only" });
        done.push(`iso: inserted ${to.iso}`);
      } else {
        await q.execute("eject", { id: DEVICE_IDS.cdrom, force: true });
        done.push("iso: ejected");
      }
    }
    const before = new Set(hostForwards(from));
    const after = new Set(hostForwards(to));
    for (const rule of before) {
      if (after.has(rule)) continue;
      const [proto, addr, port] = rule.split(/[:-]/);
      await hmpOk(q.hmp.bind(q), `hostfwd_remove ${DEVICE_IDS.netdev} ${proto}:${addr}:${port}`);
      done.push(`forward removed: ${rule}`);
    }
    for (const rule of after) {
      if (before.has(rule)) continue;
      await hmpOk(q.hmp.bind(q), `hostfwd_add ${DEVICE_IDS.netdev} ${rule}`);
      done.push(`forward added: ${rule}`);
    }
  });
  return done;
}

async function hmpOk(hmp: (cmd: string) => Promise<string>, cmd: string): Promise<void> {
  const out = (await hmp(cmd)).trim();
  if (out) {
    const port = /127\.0\.0\.1:(\d+)/.exec(cmd)?.[1];
    const busy = /Could not set up host forwarding rule/.test(out);
    throw new QfleetError(busy ? "BUSY" : "COMMAND_FAILED", busy ? `host port ${port} on 127.0.0.1 is already in use` : `${cmd}: ${out}`);
  }
}
