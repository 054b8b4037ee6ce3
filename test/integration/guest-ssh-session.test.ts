import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { PassThrough, Readable, Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QfleetError } from "../../src/errors.js";
import { singleQuote } from "../../src/guest/shell-wrap.js";
import { hostKeyFingerprint, openGuestSession, type GuestLogin, type GuestSession } from "../../src/guest/ssh-session.js";
import { directBootArgs, ensureGuest, waitForSsh, type GuestManifest } from "../helpers/guest.js";

/**
 * The guest SSH session against a real SSH server in a real guest: the tiny test guest
 * (dropbear + OpenSSH's sftp-server, busybox userland) under QEMU TCG with user-net, reached
 * through a plain TCP socket to its forwarded port, as host.connectTcp gives it for a local VM.
 */
let guest: GuestManifest;
let qemu: ChildProcess | undefined;
let port = 0;
let key = "";
const tmp = mkdtempSync("/tmp/gss-");
const figures: string[] = [];

const sock = (p = port) => net.connect({ host: "127.0.0.1", port: p });
const login = (extra: Partial<GuestLogin> = {}): GuestLogin => ({ user: guest.user, privateKey: key, knownHostKey: guest.host_key, ...extra });
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const caught = async (p: Promise<unknown>): Promise<QfleetError> => {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(QfleetError);
  return e as QfleetError;
};

/** A port in 22000-22999 that nothing listens on right now. */
async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const p = 22000 + Math.floor(Math.random() * 1000);
    const ok = await new Promise<boolean>((resolve) => {
      const srv = net.createServer().once("error", () => resolve(false));
      srv.listen(p, "127.0.0.1", () => srv.close(() => resolve(true)));
    });
    if (ok) return p;
  }
  throw new Error("no free port in 22000-22999");
}

beforeAll(async () => {
  guest = await ensureGuest("x86_64");
  key = readFileSync(guest.key, "utf8");
  port = await freePort();
  const args = ["-accel", "tcg", "-m", "256", ...directBootArgs(guest), "-nic", `user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:${port}-:22`];
  qemu = spawn("qemu-system-x86_64", [...args, "-device", "virtio-rng-pci", "-display", "none", "-nodefaults"], { stdio: "ignore" });
  const pid = qemu.pid;
  process.once("exit", () => pid && qemu?.exitCode === null && process.kill(pid, "SIGKILL")); // should afterAll never run
  await waitForSsh(port, guest, 90_000);
});
afterAll(() => {
  if (qemu?.pid && qemu.exitCode === null) process.kill(qemu.pid, "SIGKILL"); // only the QEMU this file started
  rmSync(tmp, { recursive: true, force: true });
  if (figures.length) console.log(`guest ssh figures: ${figures.join("; ")}`);
});

describe("guest SSH session: login and host key", () => {
  it("a first login records the host key; a second login with it works", async () => {
    const t0 = Date.now();
    const s = await openGuestSession(sock(), login({ knownHostKey: undefined }));
    figures.push(`login ${Date.now() - t0} ms`);
    expect(s.hostKey).toBe(guest.host_key);
    await s.close();
    const again = await openGuestSession(sock(), login({ knownHostKey: s.hostKey }));
    expect((await again.exec("echo ok", { timeoutMs: 10_000 })).stdout).toBe("ok\n");
    await again.close();
  });

  it("hostKeyFingerprint prints what ssh-keygen -l prints", () => {
    writeFileSync(`${tmp}/host.pub`, `${guest.host_key} guest\n`);
    const line = execFileSync("ssh-keygen", ["-lf", `${tmp}/host.pub`], { encoding: "utf8" });
    expect(line.split(" ")[1]).toBe(hostKeyFingerprint(guest.host_key));
  });

  it("refuses a guest whose host key is not the recorded one, naming both fingerprints", async () => {
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", `${tmp}/other`]);
    const other = readFileSync(`${tmp}/other.pub`, "utf8").trim();
    const e = await caught(openGuestSession(sock(), login({ knownHostKey: other }), { label: "vm t1" }));
    expect(e.code).toBe("REFUSED");
    expect(e.message).toContain(
      `vm t1: the guest's host key changed: expected ${hostKeyFingerprint(other)}, got ${hostKeyFingerprint(guest.host_key)}`,
    );
  });

  it("a key the guest does not accept is a CONNECTION error naming the user", async () => {
    const e = await caught(openGuestSession(sock(), login({ privateKey: readFileSync(`${tmp}/other`, "utf8") })));
    expect(e.code).toBe("CONNECTION");
    expect(e.message).toMatch(/auth refused: the guest refused the key for user root.*tried publickey as root with ssh-ed25519 SHA256:/);
  });

  it("tells a connection closed before any banner from a silent one", async () => {
    const held: net.Socket[] = [];
    const closer = net.createServer((c) => c.destroy()).listen(0, "127.0.0.1");
    const silent = net.createServer((c) => held.push(c)).listen(0, "127.0.0.1");
    await Promise.all([closer, silent].map((srv) => new Promise((r) => srv.once("listening", r))));
    const portOf = (srv: net.Server) => (srv.address() as net.AddressInfo).port;
    try {
      const e1 = await caught(openGuestSession(sock(portOf(closer)), login()));
      expect(e1.message).toMatch(/^the guest: no SSH banner: the connection closed before the guest sent one/);
      const e2 = await caught(openGuestSession(sock(portOf(silent)), login(), { readyTimeoutMs: 1000 }));
      expect(e2.message).toMatch(/^the guest: no SSH banner from the guest within 1 s; tried publickey as root/);
      expect([e1.code, e2.code]).toEqual(["CONNECTION", "CONNECTION"]);
    } finally {
      held.forEach((c) => c.destroy());
      closer.close();
      silent.close();
    }
  });
});

describe("guest SSH session: exec", () => {
  let s: GuestSession;
  beforeAll(async () => (s = await openGuestSession(sock(), login())));
  afterAll(() => s?.close());

  it("returns stdout, stderr and the exit code", async () => {
    const r = await s.exec("cat /etc/hostname; echo err >&2; exit 3", { timeoutMs: 10_000 });
    expect(r).toMatchObject({ stdout: "qfleet\n", stderr: "err\n", exitCode: 3, truncated: false, timedOut: false });
    const t0 = Date.now();
    for (let i = 0; i < 10; i++) await s.exec("true", { timeoutMs: 10_000 });
    figures.push(`exec round trip ${Math.round((Date.now() - t0) / 10)} ms`);
  });

  it("writes stdin, then ends it", async () => {
    expect((await s.exec("cat", { stdin: "hello\nit's $HOME `x`\n", timeoutMs: 10_000 })).stdout).toBe("hello\nit's $HOME `x`\n");
    const big = randomBytes(3 * 1024 * 1024);
    const r = await s.exec("sha256sum; wc -c", { stdin: big, timeoutMs: 60_000 }); // sha256sum reads all of stdin, wc then sees 0
    expect(r.stdout.split(/\s+/)[0]).toBe(sha256(big));
    expect((await s.exec("wc -c", { timeoutMs: 10_000 })).stdout.trim()).toBe("0"); // no stdin: EOF at once
  });

  it("busybox ash reads quoted text back unchanged, through the timeout wrapper's second quoting", async () => {
    const nasty = ["it's", "'", `"d" \\ $HOME $(echo no) \`echo no\``, "line\nbreak", "* ~ #c a=b -n", "ü ✓"];
    const r = await s.exec(`printf '%s|' ${nasty.map(singleQuote).join(" ")}`, { timeoutMs: 10_000 });
    expect(r.stdout).toBe(nasty.map((n) => `${n}|`).join(""));
  });

  it("keeps maxBytes of output and drains the rest", async () => {
    const r = await s.exec("head -c 3000000 /dev/zero | tr '\\0' a; echo done >&2", { timeoutMs: 60_000, maxBytes: 1000 });
    expect(r).toMatchObject({ stdout: "a".repeat(1000), stderr: "done\n", exitCode: 0, truncated: true, timedOut: false });
  });

  it("ends a command at its timeout, for real", async () => {
    const r = await s.exec("sleep 30", { timeoutMs: 2000 });
    expect(r).toMatchObject({ timedOut: true, exitCode: null });
    expect(r.durationMs).toBeLessThan(5000);
    figures.push(`timeout 2000 ms came back after ${r.durationMs} ms`);
    // busybox timeout's watcher ("timeout -k 2 2 sh -c sleep 30") ends on its own within 1 s: only the sleep itself counts
    expect((await s.exec("ps -o pid,args", { timeoutMs: 10_000 })).stdout).not.toMatch(/^\s*\d+\s+sleep 30$/m);
  });

  it("the channel's signal ends the command before the guest's timeout (whole seconds) could", async () => {
    const r = await s.exec("sleep 30", { timeoutMs: 300 }); // the guest's timeout would end it at 1 s
    expect(r).toMatchObject({ timedOut: true, exitCode: null, signal: "SIGTERM" });
    expect(r.durationMs).toBeLessThan(950);
  });

  it("ends the children of a compound command too (busybox timeout signals only the shell; the sweep ends the rest)", async () => {
    const r = await s.exec("sleep 31; echo never", { timeoutMs: 2000 });
    expect(r).toMatchObject({ timedOut: true, exitCode: null, stdout: "" });
    expect(r.durationMs).toBeLessThan(6000);
    figures.push(`compound command's timeout came back after ${r.durationMs} ms`);
    expect((await s.exec("ps -o pid,args", { timeoutMs: 10_000 })).stdout).not.toMatch(/^\s*\d+\s+sleep 31$/m);
  });

  it("a closed session refuses commands with CONNECTION", async () => {
    const t = await openGuestSession(sock(), login());
    await t.close();
    await t.close(); // idempotent
    expect((await caught(t.exec("true", { timeoutMs: 1000 }))).code).toBe("CONNECTION");
  });
});

describe("guest SSH session: files over SFTP", () => {
  let s: GuestSession;
  beforeAll(async () => (s = await openGuestSession(sock(), login())));
  afterAll(() => s?.close());

  it("uploads 5 MB from a stream and downloads them back unchanged", async () => {
    const data = randomBytes(5 * 1024 * 1024);
    let t0 = Date.now();
    expect(await s.upload(Readable.from([data.subarray(0, 1_000_003), data.subarray(1_000_003)]), "/tmp/blob")).toBe(data.length);
    figures.push(`upload ${(5 / ((Date.now() - t0) / 1000)).toFixed(1)} MB/s`);
    expect((await s.exec("sha256sum /tmp/blob", { timeoutMs: 30_000 })).stdout.split(" ")[0]).toBe(sha256(data));
    expect(await s.stat("/tmp/blob")).toEqual({ kind: "file", size: data.length });
    const chunks: Buffer[] = [];
    const dst = new Writable({ highWaterMark: 64 * 1024, write: (c: Buffer, _e, cb) => (chunks.push(c), setImmediate(cb)) });
    t0 = Date.now();
    expect(await s.download("/tmp/blob", dst)).toBe(data.length);
    figures.push(`download ${(5 / ((Date.now() - t0) / 1000)).toFixed(1)} MB/s`);
    expect(dst.writableFinished).toBe(true);
    expect(sha256(Buffer.concat(chunks))).toBe(sha256(data));
  });

  it("refuses an existing path without overwrite, replaces it with, and sets the mode", async () => {
    await s.upload(Readable.from(["one"]), "/tmp/f1");
    expect((await caught(s.upload(Readable.from(["two"]), "/tmp/f1"))).code).toBe("EXISTS");
    expect(await s.upload(Readable.from(["two!"]), "/tmp/f1", { overwrite: true, mode: 0o600 })).toBe(4);
    const r = await s.exec("cat /tmp/f1; echo; stat -c %a /tmp/f1; ls -a /tmp | grep -c qfleet-", { timeoutMs: 10_000 });
    expect(r.stdout).toBe("two!\n600\n0\n"); // no temp file left beside it
    expect((await caught(s.upload(Readable.from(["x"]), "/tmp", { overwrite: true }))).code).toBe("BAD_INPUT");
  });

  it("removes a partial upload when the source fails", async () => {
    const src = new PassThrough();
    const up = s.upload(src, "/tmp/partial");
    src.write(randomBytes(1024 * 1024));
    setTimeout(() => src.destroy(new Error("source broke")), 200);
    expect((await caught(up)).message).toContain("source broke");
    expect(await s.stat("/tmp/partial")).toBeNull();
  });

  it("download: NOT_FOUND for a missing path, BAD_INPUT for a folder; stat of each", async () => {
    expect((await caught(s.download("/tmp/nope", new PassThrough()))).code).toBe("NOT_FOUND");
    expect((await caught(s.download("/tmp", new PassThrough()))).code).toBe("BAD_INPUT");
    expect(await s.stat("/tmp/nope")).toBeNull();
    expect((await s.stat("/tmp"))?.kind).toBe("dir");
    expect((await s.stat("/dev/null"))?.kind).toBe("other");
    expect((await caught(s.upload(Readable.from(["x"]), "/no/such/dir/f"))).code).toBe("NOT_FOUND");
  });
});
