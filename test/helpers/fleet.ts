import { execa } from "execa";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { REPO_ROOT } from "./guest.js";

/**
 * A throwaway fleet for integration tests: a folder with vms/, its own short vm dir (unix
 * socket paths must stay under 108 bytes), and the built CLI run against them. cleanup()
 * SIGKILLs every QEMU whose command line mentions this fleet's vm dir and removes both
 * folders: call it in afterAll (and it is safe to call twice).
 */
export interface TestFleet {
  dir: string;
  vmDir: string;
  env: Record<string, string>;
  spec(name: string, yaml: string): string;
  qfleet(args: string[], opts?: { timeoutMs?: number }): Promise<{ stdout: string; stderr: string; exitCode: number }>;
  qemuPids(): number[];
  cleanup(): Promise<void>;
}

/** The built CLI as it ships: the bundle (npm run build), which is what `qfleet` runs. */
export const CLI = path.join(REPO_ROOT, "dist", "qfleet.mjs");

/** `vmDir` shares another fleet's vm dir (two fleets on one machine); by default each has its own. */
export function makeFleet(opts: { vmDir?: string } = {}): TestFleet {
  const dir = mkdtempSync("/tmp/qft-");
  const vmDir = opts.vmDir ?? path.join(dir, "i");
  mkdirSync(path.join(dir, "vms"));
  // stub VMs have no OS to act on ACPI powerdown: a short graceful-stop limit keeps tests fast
  const env = { QFLEET_VM_DIR: vmDir, QFLEET_STOP_TIMEOUT: "5" };
  const qemuPids = () => qemuPidsMentioning(vmDir);
  return {
    dir,
    vmDir,
    env,
    spec(name, yaml) {
      const file = path.join(dir, "vms", `${name}.yaml`);
      writeFileSync(file, yaml);
      return file;
    },
    async qfleet(args, opts = {}) {
      const r = await execa("node", [CLI, ...args, "-C", dir], { env, reject: false, timeout: opts.timeoutMs ?? 120_000, stdin: "ignore" });
      return { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? -1 };
    },
    qemuPids,
    async cleanup() {
      for (const pid of qemuPids()) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          /* already gone */
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** PIDs of qemu-system processes whose command line contains `needle`. */
export function qemuPidsMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const argv = readFileSync(`/proc/${e}/cmdline`, "utf8").split("\0");
      if ((argv[0].split("/").pop() ?? "").startsWith("qemu-system-") && argv.some((a) => a.includes(needle))) pids.push(Number(e));
    } catch {
      /* exited meanwhile */
    }
  }
  return pids;
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** A stub VM: no OS, tiny RAM, SeaBIOS only. Cheap enough to run many under TCG. */
export function stubSpec(extra = ""): string {
  return `# a stub VM for tests\nvcpus: 1\nmemory: 32M\naccel: tcg\n${extra}`;
}

/** True while `pid` exists and is not a zombie (a daemonized QEMU is reaped by init, later). */
export function isAlive(pid: number): boolean {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** Waits up to `ms` for `pid` to be gone; returns whether it is. */
export async function waitGone(pid: number, ms = 5000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end && isAlive(pid);) await new Promise((r) => setTimeout(r, 50));
  return !isAlive(pid);
}
