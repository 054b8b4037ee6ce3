import { readFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";

/**
 * The tiny real Linux test guest built by scripts/build-guest.sh (Debian cloud kernel, busybox
 * init, dropbear SSH on port 22 at 10.0.2.15 with QEMU user-net, acpid power button).
 *
 *   const guest = await ensureGuest("x86_64");
 *   // boot: qemu-system-x86_64 -accel tcg -m 256 ...directBootArgs(guest)
 *   //   -nic user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:PORT-:22 -device virtio-rng-pci
 *   // or, x86_64 only, from the bootable image with no -kernel:
 *   //   -drive file=<copy or overlay of guest.disk>,if=virtio,format=qcow2
 *   await waitForSsh(PORT, guest);
 *   const { stdout } = await sshRun(PORT, "uname -m", guest); // "x86_64\n"
 */

export type GuestArch = "x86_64" | "aarch64";

/** manifest.json with every path made absolute. */
export interface GuestManifest {
  arch: GuestArch;
  /** Debian's name for the arch: amd64 or arm64. */
  debian_arch: string;
  /** Absolute path of the folder holding the artifacts (.cache/guest/<arch>). */
  dir: string;
  /** Absolute path of manifest.json. */
  manifest: string;
  kernel: string;
  initrd: string;
  /** x86_64 only: a bootable qcow2 (FAT + syslinux); never boot it writable: use an overlay or -snapshot. */
  disk?: string;
  /** Kernel command line for direct boot: "console=ttyS0 quiet" or "console=ttyAMA0 quiet". */
  append: string;
  user: "root";
  password: string;
  /** Absolute path of the private key (mode 600) whose public half is in root's authorized_keys. */
  key: string;
  /** The guest's SSH host key ("ssh-ed25519 AAAA..."), for strict host key checking. */
  host_key: string;
  guest_ip: string;
  ssh_port: number;
  kernel_version: string;
  built_at: string;
  recipe: number;
}

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BUILDER = path.join(REPO_ROOT, "scripts", "build-guest.sh");
const building = new Map<GuestArch, Promise<GuestManifest>>();

/** Folder the guests are built into (the builder honours $QFLEET_GUEST_DIR too). */
export function guestCacheDir(): string {
  return process.env.QFLEET_GUEST_DIR ?? path.join(REPO_ROOT, ".cache", "guest");
}

/**
 * Builds the guest for `arch` if it is missing or incomplete (seconds once the .deb files are
 * cached, a ~30 MB download the first time) and returns its manifest. Safe to call from test
 * files running in parallel: the builder holds a flock on .cache/guest/.lock, and a complete
 * guest is left alone.
 */
export function ensureGuest(arch: GuestArch): Promise<GuestManifest> {
  let p = building.get(arch);
  if (!p) {
    p = buildAndRead(arch);
    building.set(arch, p);
    p.catch(() => building.delete(arch)); // a failed build may be retried
  }
  return p;
}

async function buildAndRead(arch: GuestArch): Promise<GuestManifest> {
  const r = await execa("bash", [BUILDER, arch], {
    cwd: REPO_ROOT,
    reject: false,
    stdin: "ignore",
    timeout: 15 * 60_000,
  });
  if (r.exitCode !== 0) {
    throw new Error(`bash scripts/build-guest.sh ${arch} failed (exit ${r.exitCode ?? r.signal}):\n${tail(r.stderr)}`);
  }
  const manifestPath = r.stdout.trim().split("\n").filter(Boolean).pop() ?? path.join(guestCacheDir(), arch, "manifest.json");
  return readManifest(manifestPath);
}

/** Reads a manifest.json written by the builder and makes its paths absolute. */
export async function readManifest(manifestPath: string): Promise<GuestManifest> {
  const raw = JSON.parse(await readFile(manifestPath, "utf8")) as Record<string, unknown>;
  const dir = path.dirname(path.resolve(manifestPath));
  const abs = (v: unknown, field: string): string => {
    if (typeof v !== "string" || v === "") throw new Error(`${manifestPath}: "${field}" is missing`);
    return path.resolve(dir, v);
  };
  return {
    ...(raw as unknown as GuestManifest),
    dir,
    manifest: path.resolve(manifestPath),
    kernel: abs(raw.kernel, "kernel"),
    initrd: abs(raw.initrd, "initrd"),
    disk: raw.disk === undefined ? undefined : abs(raw.disk, "disk"),
    key: abs(raw.key, "key"),
  };
}

/** QEMU arguments for a direct kernel boot of the guest: -kernel, -initrd and -append. */
export function directBootArgs(m: GuestManifest, extraAppend = ""): string[] {
  return ["-kernel", m.kernel, "-initrd", m.initrd, "-append", extraAppend ? `${m.append} ${extraAppend}` : m.append];
}

export interface SshResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** The OpenSSH client arguments sshRun uses, before the remote command. */
export function sshArgs(port: number, manifest: Pick<GuestManifest, "key" | "user">): string[] {
  return [
    "-i",
    manifest.key,
    "-p",
    String(port),
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "BatchMode=yes",
    "-o",
    "ConnectTimeout=5",
    "-o",
    "LogLevel=ERROR", // no "Permanently added ... to the list of known hosts" on stderr
    `${manifest.user ?? "root"}@127.0.0.1`,
  ];
}

/**
 * Runs `command` in the guest through the host port forwarded to its port 22. Never throws for a
 * failing command: ssh's own failures come back as exitCode 255 (or -1 after `timeoutMs`).
 */
export async function sshRun(
  port: number,
  command: string,
  manifest: Pick<GuestManifest, "key" | "user">,
  opts: { timeoutMs?: number; input?: string } = {},
): Promise<SshResult> {
  const r = await execa("ssh", [...sshArgs(port, manifest), command], {
    reject: false,
    timeout: opts.timeoutMs ?? 60_000,
    ...(opts.input === undefined ? { stdin: "ignore" as const } : { input: opts.input }),
  });
  return {
    stdout: String(r.stdout ?? ""),
    stderr: String(r.stderr ?? ""),
    exitCode: typeof r.exitCode === "number" ? r.exitCode : -1,
  };
}

/**
 * Waits until the guest's SSH server answers on 127.0.0.1:`port` and a real login works, then
 * returns the milliseconds it took (throws after `timeoutMs`). With QEMU user-net a TCP connect
 * succeeds even before the guest is up, and slirp retries the guest's side only every 1 to 3 s,
 * so it probes for the "SSH-2.0-" banner with short connections first, then runs `ssh ... true`.
 */
export async function waitForSsh(port: number, manifest: Pick<GuestManifest, "key" | "user">, timeoutMs = 60_000): Promise<number> {
  const start = Date.now();
  const left = () => timeoutMs - (Date.now() - start);
  let last: SshResult | undefined;
  while (left() > 0) {
    if (!(await sshBanner(port, Math.min(250, Math.max(left(), 1))))) {
      await sleep(50);
      continue;
    }
    last = await sshRun(port, "true", manifest, { timeoutMs: Math.max(Math.min(left(), 15_000), 1000) });
    if (last.exitCode === 0) return Date.now() - start;
    await sleep(250);
  }
  throw new Error(`no SSH login on 127.0.0.1:${port} within ${timeoutMs} ms${last ? `: ${tail(last.stderr)}` : " (no SSH banner)"}`);
}

/** Resolves true when a connection to 127.0.0.1:`port` sends an SSH banner within `timeoutMs`. */
export function sshBanner(port: number, timeoutMs = 250): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: "127.0.0.1", port });
    let data = "";
    const done = (ok: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.on("data", (b) => {
      data += b.toString("latin1");
      if (data.startsWith("SSH-")) done(true);
      else if (data.length >= 4) done(false);
    });
    sock.on("error", () => done(false));
    sock.on("close", () => done(false));
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function tail(text: string, lines = 20): string {
  return text.trim().split("\n").slice(-lines).join("\n");
}
