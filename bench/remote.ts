import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { qemuPidsMentioning } from "../test/helpers/fleet.js";
import { makeLab, type Lab } from "../test/helpers/sshd-lab.js";
import { benchFleet, killQemusUnder, stubSpecs, type Row } from "./lib.js";

const fmt = (ms: number) => `${Math.round(ms)} ms`;
const N = 10;
const ROUNDS = 3;

/**
 * Remote hosts against this machine, on a real sshd on 127.0.0.1 (a test user with /bin/sh
 * as login shell, key login): creating and starting N stub VMs with `qfleet reconcile` on the
 * SSH host against the same N on this machine (medians of ROUNDS, alternating), and the SSH
 * connections one whole reconcile opens, counted from sshd's log ("Accepted ..." lines).
 * Needs root (the lab creates a user and runs sshd).
 */
export async function remoteBench(): Promise<Row[]> {
  const lab = await makeLab("b");
  const here = benchFleet();
  try {
    lab.writeHosts({ r1: lab.entry("r1") });
    const names = Array.from({ length: N }, (_, i) => `r${i}`);
    for (const n of names) writeFileSync(path.join(lab.f.dir, "vms", `${n}.yaml`), "host: r1\nvcpus: 1\nmemory: 16M\naccel: tcg\n");
    const localNames = stubSpecs(here, N, "l"); // the same VMs, in a fleet with no remote host at all
    const local: number[] = [];
    const remote: number[] = [];
    let connections = 0;
    for (let round = 0; round < ROUNDS; round++) {
      local.push(await here.cli(["reconcile", "--parallel", "4"]));
      await removeAll(here.vmDir, localNames);
      const before = lab.sshd.r1.accepted();
      remote.push(await timedRemote(lab));
      connections = Math.max(connections, lab.sshd.r1.accepted() - before);
      await removeAll(lab.vmDirs.r1, names);
    }
    const [l, r] = [median(local), median(remote)];
    return [
      {
        name: `reconcile ${N} new VMs on an SSH host`,
        value: fmt(r),
        baseline: `same ${N} locally ${fmt(l)}`,
        ratio: `${(r / l).toFixed(2)}x`,
        goal: "<= 1.5x",
        ok: r / l <= 1.5,
      },
      { name: "SSH connections per reconcile, per host", value: String(connections), baseline: "-", ratio: "-", goal: "1", ok: connections === 1 },
    ];
  } finally {
    here.cleanup();
    await lab.teardown();
  }
}

async function timedRemote(lab: Lab): Promise<number> {
  const t0 = process.hrtime.bigint();
  const r = await lab.cli(["reconcile", "--parallel", "4"]);
  if (r.exitCode !== 0) throw new Error(`qfleet reconcile on r1 exited ${r.exitCode}: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** Kills the round's QEMUs and removes their instance folders, so the next round creates them again. */
async function removeAll(vmDir: string, names: string[]): Promise<void> {
  killQemusUnder(vmDir);
  for (const end = Date.now() + 5000; qemuPidsMentioning(vmDir).length && Date.now() < end;) await new Promise((res) => setTimeout(res, 50));
  for (const n of names) rmSync(path.join(vmDir, n), { recursive: true, force: true });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
