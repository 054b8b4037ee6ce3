import { execa } from "execa";
import { writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { ensureCloudImage } from "../test/helpers/cloud-image.js";
import { benchFleet, interleaved, ratioText, timeMs, type Row } from "./lib.js";

/**
 * Boot to "ready" of the Debian 12 cloud image, the two ways a person gets there, interleaved:
 *  A: a hand-made NoCloud seed (mkfs.vfat + mcopy) attached as a plain disk, ready = the SSH
 *     banner arrives (a bare probe: 250 ms connections, back to back);
 *  B: cloud_init: true, ready = `qfleet status --wait-ssh` returns with login_ok.
 * B - A is what qemu-fleet's readiness checks cost on top of the guest's own boot (goal < 2 s).
 * Each boot is a fresh overlay, so cloud-init runs its first boot every time.
 */
export async function cloudReady(): Promise<Row> {
  const img = await ensureCloudImage();
  const f = benchFleet();
  try {
    const seed = await handMadeSeed(f.dir);
    const spec = (extra: string) => `vcpus: 2\nmemory: 1G\naccel: tcg\nssh: { port: 22999 }\n${extra}`;
    const disks = (more = "") => `disks:\n  - path: ${img.path}\n    overlay: true\n${more}`;
    const boot = async (name: string, extra: string, ready: () => Promise<unknown>) => {
      writeFileSync(path.join(f.dir, "vms", `${name}.yaml`), spec(extra));
      const ms = await timeMs(async () => {
        await f.cli(["reconcile", "--only", name]);
        await ready();
      });
      writeFileSync(path.join(f.dir, "vms", `${name}.yaml`), spec(`state: absent\n${extra}`));
      await f.cli(["reconcile", "--only", name, "--stop-timeout", "0"]);
      return ms;
    };
    const p = await interleaved(
      5,
      () => boot("a", disks(`  - path: ${seed}\n    format: raw\n`), () => banner(22999, 600_000)),
      () => boot("b", `${disks()}cloud_init: true\n`, () => f.cli(["status", "b", "--wait-ssh", "600"])),
    );
    return {
      name: "cloud image: boot to login_ok (B) vs hand-made seed to banner (A)",
      value: `${(p.value / 1000).toFixed(1)} s (+${((p.value - p.base) / 1000).toFixed(1)} s)`,
      baseline: `${(p.base / 1000).toFixed(1)} s`,
      ratio: ratioText(p),
      goal: "overhead < 2 s",
      ok: p.value - p.base < 2000,
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
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no SSH banner on ${port} in time`);
}
