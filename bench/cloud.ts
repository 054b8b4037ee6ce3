import { execa } from "execa";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { ensureCloudImage } from "../test/helpers/cloud-image.js";
import { freePort } from "../test/helpers/fleet.js";
import { benchFleet, interleaved, ratioText, timeMs, type Row } from "./lib.js";

/**
 * Boot to "ready" of the Debian 12 cloud image, the two ways a person gets there, interleaved:
 *  A: a hand-made NoCloud seed (mkfs.vfat + mcopy) attached as a plain disk, ready = the SSH
 *     banner arrives (a bare probe: 250 ms connections, back to back);
 *  B: cloud_init: true, ready = `qfleet status --wait-ssh` returns (a login works and
 *     cloud-init finished, see fleet/status.ts isReady).
 * Boots vary by several seconds under TCG, so the cost of qemu-fleet's readiness checks is
 * measured inside each B boot: from the moment the guest is ready as seen from outside (a bare
 * probe gets the banner and the console says cloud-init finished) to the moment
 * `status --wait-ssh` returns (goal < 2 s); B/A says the boots themselves compare.
 * Each boot is a fresh overlay, so cloud-init runs its first boot every time.
 */
export async function cloudReady(): Promise<Row> {
  const img = await ensureCloudImage();
  const f = benchFleet();
  try {
    const seed = await handMadeSeed(f.dir);
    const port = await freePort();
    const spec = (extra: string) => `vcpus: 2\nmemory: 1G\naccel: tcg\nssh: { port: ${port} }\n${extra}`;
    const disks = (more = "") => `disks:\n  - path: ${img.path}\n    overlay: true\n${more}`;
    const boot = async (name: string, extra: string, ready: () => Promise<unknown>) => {
      writeFileSync(path.join(f.dir, "vms", `${name}.yaml`), spec(extra));
      const ms = await timeMs(async () => {
        await f.cli(["reconcile", "--only", name]);
        await ready();
      });
      writeFileSync(path.join(f.dir, "vms", `${name}.yaml`), spec(`state: absent\n${extra}`));
      await f.cli(["reconcile", "--only", name, "--stop-timeout", "0"]);
      rmSync(path.join(f.dir, "vms", `${name}.yaml`));
      return ms;
    };
    const overheads: number[] = [];
    const p = await interleaved(
      5,
      () => boot("a", disks(`  - path: ${seed}\n    format: raw\n`), () => banner(port, 600_000)),
      () =>
        boot("b", `${disks()}cloud_init: true\n`, async () => {
          // the same boot's own banner and cloud-init's last line, seen from outside, against when qfleet says it is ready
          const t0 = Date.now();
          const [bannerAt, finishedAt] = await Promise.all([
            banner(port, 600_000).then(() => Date.now()),
            consoleShows(path.join(f.vmDir, "b", "serial.log"), /Cloud-init v\. \S+ finished at/, 600_000).then(() => Date.now()),
            f.cli(["status", "b", "--wait-ssh", "600"]),
          ]);
          overheads.push(Date.now() - Math.max(bannerAt, finishedAt, t0));
        }),
    );
    const o = [...overheads].sort((x, y) => x - y);
    const s1 = (ms: number) => (ms / 1000).toFixed(1);
    return {
      name: "cloud image: boot to ready (B) vs hand-made seed to banner (A); overhead = B's ready - B's own banner and cloud-init end",
      value: `${s1(p.value)} s; overhead ${s1(o[2])} s (${s1(o[0])}-${s1(o[4])})`,
      baseline: `${s1(p.base)} s`,
      ratio: ratioText(p),
      goal: "overhead < 2 s",
      ok: o[2] < 2000,
    };
  } finally {
    f.cleanup();
  }
}

async function handMadeSeed(dir: string): Promise<string> {
  const seed = path.join(dir, "seed.img");
  const key = path.join(dir, "bench_key");
  await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
  writeFileSync(path.join(dir, "meta-data"), "instance-id: bench\nlocal-hostname: a\n");
  writeFileSync(path.join(dir, "user-data"), `#cloud-config\nssh_authorized_keys: []\n`);
  await execa("mkfs.vfat", ["-C", "-n", "cidata", seed, "2048"]);
  await execa("mcopy", ["-i", seed, path.join(dir, "meta-data"), path.join(dir, "user-data"), "::/"], { env: { MTOOLS_SKIP_CHECK: "1" } });
  return seed;
}

/** Resolves once 127.0.0.1:port sends an SSH banner (short connections, back to back). */
async function banner(port: number, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port });
      const done = (v: boolean) => (s.destroy(), resolve(v));
      s.setTimeout(250, () => done(false));
      s.on("data", (b) => done(b.toString("latin1").startsWith("SSH-")));
      s.on("error", () => done(false));
      s.on("close", () => done(false)); // slirp accepts, then closes when the guest does not answer
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no SSH banner on ${port} in time`);
}

/** Resolves once the file's text matches `pattern` (polled every 50 ms: the console log grows as the guest prints). */
async function consoleShows(file: string, pattern: RegExp, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (pattern.test(existsSync(file) ? readFileSync(file, "latin1") : "")) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${file} never showed ${pattern}`);
}
