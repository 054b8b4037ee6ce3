import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { execa, type ResultPromise } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCAL } from "../../src/hosts/local.js";
import { guestExec, guestInfo, guestShutdown } from "../../src/qemu/qga-exec.js";
import { ensureCloudImage, type CloudImage } from "../helpers/cloud-image.js";

/**
 * The Debian 12 cloud image fixture boots under plain QEMU (TCG) with a hand-made NoCloud seed:
 * cloud-init creates the user `tester` with our key, sshd answers, and qemu-guest-agent answers
 * on its virtio-serial port. No qfleet involved in the boot: this proves the fixture itself, and then
 * drives the real agent with src/qemu/qga*.ts (info, exec, a time limit that really ends the command,
 * a graceful powerdown).
 */
const BOOT_MS = 240_000;
// Building the image needs root (loop devices, mount, chroot): the builder says so and this fails, never skips.
describe("Debian 12 cloud image fixture (real QEMU, TCG, cloud-init NoCloud seed)", () => {
  let img: CloudImage;
  let dir: string | undefined;
  let qemu: ResultPromise | undefined;
  let qemuPid: number | undefined;
  let qemuStderr = "";
  let port: number;
  let startedAt = 0;
  let bootToSshMs: number | undefined;
  const key = () => path.join(dir!, "id_ed25519");
  const serialLog = () => path.join(dir!, "serial.log");
  const qgaSock = () => path.join(dir!, "qga.sock");

  beforeAll(async () => {
    img = await ensureCloudImage();
    dir = mkdtempSync("/tmp/qga-cloudfix-");
    await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "cloudfix-tester", "-f", key()]);
    const pub = readFileSync(`${key()}.pub`, "utf8").trim();

    // NoCloud seed: a vfat volume labelled cidata with meta-data and user-data.
    const instanceId = `cloudfix-${process.pid}-${Date.now()}`;
    writeFileSync(path.join(dir, "meta-data"), `instance-id: ${instanceId}\nlocal-hostname: cloudfix\n`);
    writeFileSync(
      path.join(dir, "user-data"),
      [
        "#cloud-config",
        "users:",
        "  - name: tester",
        "    groups: [sudo]",
        '    sudo: "ALL=(ALL) NOPASSWD:ALL"',
        "    shell: /bin/bash",
        "    lock_passwd: true",
        "    ssh_authorized_keys:",
        `      - ${pub}`,
        "",
      ].join("\n"),
    );
    const seed = path.join(dir, "seed.img");
    await execa("mkfs.vfat", ["-C", "-n", "cidata", seed, "2048"]);
    await execa("mcopy", ["-i", seed, path.join(dir, "meta-data"), path.join(dir, "user-data"), "::/"], {
      env: { MTOOLS_SKIP_CHECK: "1" },
    });

    const overlay = path.join(dir, "overlay.qcow2");
    await execa("qemu-img", ["create", "-q", "-f", "qcow2", "-b", img.path, "-F", "qcow2", overlay]);

    port = await freePortInRange(21000, 21999);
    const args = [
      "-machine",
      "q35",
      "-accel",
      "tcg",
      "-m",
      "1024",
      "-smp",
      "2",
      "-nodefaults",
      "-display",
      "none",
      "-drive",
      `file=${overlay},if=none,id=d0,format=qcow2`,
      "-device",
      "virtio-blk-pci,drive=d0,bootindex=0",
      // the seed as a second virtio disk: the cloud kernel has no AHCI, so no CD-ROM
      "-drive",
      `file=${seed},if=none,id=d1,format=raw,readonly=on`,
      "-device",
      "virtio-blk-pci,drive=d1",
      "-netdev",
      `user,id=n0,hostfwd=tcp:127.0.0.1:${port}-:22`,
      "-device",
      "virtio-net-pci,netdev=n0,romfile=",
      "-device",
      "virtio-rng-pci",
      "-serial",
      `file:${serialLog()}`,
      "-chardev",
      `socket,path=${qgaSock()},server=on,wait=off,id=qga0`,
      "-device",
      "virtio-serial",
      "-device",
      "virtserialport,chardev=qga0,name=org.qemu.guest_agent.0",
    ];
    startedAt = Date.now();
    qemu = execa("qemu-system-x86_64", args, { reject: false, stdin: "ignore", stdout: "ignore", buffer: false });
    qemuPid = qemu.pid;
    qemu.stderr?.on("data", (b: Buffer) => {
      qemuStderr += b.toString();
    });
  }, 25 * 60_000);

  afterAll(async () => {
    if (qemuPid !== undefined && alive(qemuPid)) {
      try {
        process.kill(qemuPid, "SIGKILL");
      } catch {
        /* already gone */
      }
      await qemu?.catch(() => undefined);
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it(
    "cloud-init sets up the seed's user: SSH login as tester with the key works",
    async () => {
      expect(qemuPid, "QEMU did not start").toBeTypeOf("number");
      const deadline = startedAt + BOOT_MS;
      let last = "";
      while (Date.now() < deadline) {
        if (!alive(qemuPid!)) throw new Error(`QEMU exited early: ${qemuStderr}\n${await serialTail()}`);
        const r = await ssh("cat /etc/os-release", Math.min(30_000, Math.max(deadline - Date.now(), 1000)));
        if (r.exitCode === 0) {
          bootToSshMs = Date.now() - startedAt;
          console.log(`cloud image: boot to SSH login in ${(bootToSshMs / 1000).toFixed(1)} s (TCG)`);
          expect(r.stdout).toContain("bookworm");
          // the user-data's sudo rule was applied too
          const s = await ssh("sudo -n id -u", 30_000);
          expect(s.stdout.trim(), s.stderr).toBe("0");
          return;
        }
        last = r.stderr.trim();
        await sleep(2000);
      }
      throw new Error(`no SSH login as tester on 127.0.0.1:${port} within ${BOOT_MS / 1000} s: ${last}\n${await serialTail()}`);
    },
    BOOT_MS + 60_000,
  );

  it("qemu-guest-agent answers guest-sync and guest-ping on org.qemu.guest_agent.0", async () => {
    expect(bootToSshMs, "the guest never booted").toBeTypeOf("number");
    const deadline = Date.now() + 60_000;
    let lastErr = "";
    while (Date.now() < deadline) {
      try {
        const id = Math.floor(Math.random() * 1e9);
        const replies = await qga([{ execute: "guest-sync", arguments: { id } }, { execute: "guest-ping" }], 10_000);
        expect(replies[0]).toEqual({ return: id });
        expect(replies[1]).toEqual({ return: {} });
        return;
      } catch (e) {
        lastErr = (e as Error).message;
        await sleep(2000);
      }
    }
    throw new Error(`the guest agent did not answer on ${qgaSock()}: ${lastErr}`);
  }, 90_000);

  it("src/qemu/qga: guestInfo, guestExec (stdin, a time limit that really ends it), then guestShutdown powers the VM off", async () => {
    expect(bootToSshMs, "the guest never booted").toBeTypeOf("number");
    let t0 = Date.now();
    const info = await guestInfo(LOCAL, qgaSock());
    const infoMs = Date.now() - t0;
    expect(info, "no guest agent answered").not.toBeNull();
    expect(info!.os?.id).toBe("debian");
    expect(info!.hostname).toBe("cloudfix");
    expect(info!.addresses).toContainEqual(expect.objectContaining({ address: "10.0.2.15", family: "ipv4", prefix: 24 }));
    expect(info!.addresses.some((a) => a.address.startsWith("127.") || a.address === "::1")).toBe(false);

    t0 = Date.now();
    const osRelease = await guestExec(LOCAL, qgaSock(), ["cat", "/etc/os-release"], { timeoutMs: 10_000 });
    const execMs = Date.now() - t0;
    expect(osRelease).toMatchObject({ exitCode: 0, timedOut: false, truncated: false });
    expect(osRelease.stdout).toContain("bookworm");
    console.log(`qga: guestInfo ${infoMs} ms, guestExec round trip (cat /etc/os-release) ${execMs} ms (TCG)`);

    const input = 'line one\nit\'s "quoted" $HOME\n';
    const echoed = await guestExec(LOCAL, qgaSock(), ["sh", "-c", "cat"], { stdin: input, timeoutMs: 10_000 });
    expect(echoed).toMatchObject({ exitCode: 0, stdout: input, timedOut: false });

    t0 = Date.now();
    const slept = await guestExec(LOCAL, qgaSock(), ["sleep", "30"], { timeoutMs: 3000 });
    const sleptMs = Date.now() - t0;
    console.log(`qga: sleep 30 under a 3 s limit came back after ${sleptMs} ms: ${JSON.stringify(slept)}`);
    expect(slept.timedOut).toBe(true);
    expect(sleptMs).toBeLessThan(6000);
    const left = await guestExec(LOCAL, qgaSock(), ["pgrep", "-x", "sleep"], { timeoutMs: 10_000 });
    expect(left.exitCode, `a sleep is still running in the guest: ${left.stdout}`).toBe(1);

    t0 = Date.now();
    expect(await guestShutdown(LOCAL, qgaSock(), "powerdown")).toBe(true);
    const exited = await Promise.race([qemu!.then((r) => r.exitCode), sleep(60_000).then(() => "still running")]);
    console.log(`qga: guest-shutdown powerdown -> QEMU exited (${exited}) after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    expect(exited, await serialTail(15)).toBe(0); // a guest poweroff: QEMU exits 0 by itself
    expect(alive(qemuPid!)).toBe(false);
  }, 120_000);

  // -------------------------------------------------------------------------------------------
  function ssh(command: string, timeoutMs: number) {
    return execa(
      "ssh",
      [
        "-i",
        key(),
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=20",
        "-o",
        "LogLevel=ERROR",
        "-p",
        String(port),
        "tester@127.0.0.1",
        command,
      ],
      { reject: false, stdin: "ignore", timeout: timeoutMs },
    ).then((r) => ({ exitCode: r.exitCode ?? -1, stdout: String(r.stdout ?? ""), stderr: String(r.stderr ?? "") }));
  }

  async function serialTail(lines = 40): Promise<string> {
    if (!dir || !existsSync(serialLog())) return "(no serial log)";
    const text = await readFile(serialLog(), "utf8");
    return `--- serial.log (last ${lines} lines) ---\n${text.trim().split("\n").slice(-lines).join("\n")}`;
  }

  /**
   * Sends QGA commands one by one over the agent's socket and returns one JSON reply per command
   * (a guest-sync first, so a reply left over from an earlier connection cannot be mistaken for
   * ours). Lines that are not JSON objects are skipped.
   */
  function qga(cmds: object[], timeoutMs: number): Promise<unknown[]> {
    return new Promise((resolve, reject) => {
      const sock = net.connect(qgaSock());
      const replies: unknown[] = [];
      let buf = "";
      const timer = setTimeout(() => finish(new Error(`no reply to ${JSON.stringify(cmds[replies.length])} within ${timeoutMs} ms`)), timeoutMs);
      const finish = (err?: Error) => {
        clearTimeout(timer);
        sock.destroy();
        if (err) reject(err);
        else resolve(replies);
      };
      const sendNext = () => sock.write(`${JSON.stringify(cmds[replies.length])}\n`);
      sock.on("connect", sendNext);
      sock.on("data", (b) => {
        buf += b.toString("latin1");
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line.startsWith("{")) continue;
          const msg = JSON.parse(line) as Record<string, unknown>;
          if ("error" in msg) return finish(new Error(`agent error: ${line}`));
          replies.push(msg);
          if (replies.length === cmds.length) return finish();
          sendNext();
        }
      });
      sock.on("error", (e) => finish(e));
      sock.on("close", () => finish(new Error("the agent socket closed")));
    });
  }
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A free TCP port on 127.0.0.1 in [lo, hi], tried in random order. */
async function freePortInRange(lo: number, hi: number): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const p = lo + Math.floor(Math.random() * (hi - lo + 1));
    const ok = await new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.once("error", () => resolve(false));
      srv.listen(p, "127.0.0.1", () => srv.close(() => resolve(true)));
    });
    if (ok) return p;
  }
  throw new Error(`no free port in ${lo}-${hi}`);
}
