import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import type { Duplex } from "node:stream";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { QfleetError } from "../../src/errors.js";
import type { Host } from "../../src/hosts/host.js";
import { guestExec, guestExecArgv, guestInfo, guestShutdown } from "../../src/qemu/qga-exec.js";
import { withQga } from "../../src/qemu/qga.js";

/**
 * The guest agent client against a fake agent on an in-process unix socket: the fake answers
 * guest-sync-delimited like qemu-ga (0xFF, then the reply), after whatever stale bytes a test puts first.
 */
type Msg = { execute: string; arguments?: Record<string, unknown> };
type Handler = (msg: Msg, send: (reply: unknown) => void, sock: net.Socket) => void;

const dir = mkdtempSync("/tmp/qga-unit-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

const host = {
  name: "fake",
  connectUnix: (p: string) =>
    new Promise<Duplex>((resolve, reject) => {
      const s = net.createConnection(p, () => resolve(s));
      s.once("error", (e) => reject(new QfleetError("CONNECTION", `cannot connect to ${p}: ${e.message}`))); // as LocalHost
    }),
} as unknown as Host;

let n = 0;
/** A fake agent; `silent` never answers anything; `stale` is written to each client before the sync reply. */
async function fakeAgent(handler: Handler, opts: { silent?: boolean; stale?: Buffer } = {}) {
  const sock = path.join(dir, `qga-${++n}.sock`);
  const received: Buffer[] = [];
  const commands: Msg[] = [];
  const server = net.createServer((c) => {
    c.on("error", () => undefined);
    let buf = Buffer.alloc(0);
    const send = (reply: unknown) => c.write(JSON.stringify(reply) + "\n");
    c.on("data", (chunk: Buffer) => {
      received.push(chunk);
      if (opts.silent) return;
      buf = Buffer.concat([buf, chunk]);
      for (let nl = buf.indexOf(0x0a); nl >= 0; nl = buf.indexOf(0x0a)) {
        const line = buf
          .subarray(0, nl)
          .toString("latin1")
          .replace(/^\xff+/, "");
        buf = buf.subarray(nl + 1);
        const msg = JSON.parse(line) as Msg;
        commands.push(msg);
        if (msg.execute === "guest-sync-delimited") {
          if (opts.stale) c.write(opts.stale);
          c.write(Buffer.concat([Buffer.from([0xff]), Buffer.from(JSON.stringify({ return: msg.arguments!.id }) + "\n")]));
        } else if (msg.execute === "guest-sync") send({ return: msg.arguments!.id });
        else handler(msg, send, c);
      }
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(sock, r));
  return { sock, received, commands, execs: () => commands.filter((c) => c.execute === "guest-exec") };
}

const b64 = (s: string) => Buffer.from(s).toString("base64");

describe("withQga / QgaClient", () => {
  it("syncs past stale output (a partial line, an old sync reply, the 0xFF) and then runs commands", async () => {
    const stale = Buffer.concat([
      Buffer.from('{"return": {"old": 1}}\n{"retu'),
      Buffer.from([0xff]),
      Buffer.from('{"return": 777}\n'), // an earlier client's sync-delimited reply: wrong id
    ]);
    const a = await fakeAgent((m, send) => send({ return: { pong: m.execute } }), { stale });
    const out = await withQga(host, a.sock, (q) => q.execute("guest-ping"));
    expect(out).toEqual({ pong: "guest-ping" });
    expect(a.received[0][0]).toBe(0xff); // the client flushes the agent's parser first
    expect(a.commands.map((c) => c.execute)).toEqual(["guest-sync-delimited", "guest-ping"]);
  });

  it("an error reply rejects with COMMAND_FAILED carrying the agent's class and desc", async () => {
    const a = await fakeAgent((m, send) => send({ error: { class: "CommandNotFound", desc: `The command ${m.execute} has not been found` } }));
    const e = (await withQga(host, a.sock, (q) => q.execute("guest-nope")).catch((x: unknown) => x)) as QfleetError;
    expect(e).toBeInstanceOf(QfleetError);
    expect(e.code).toBe("COMMAND_FAILED");
    expect(e.message).toContain("The command guest-nope has not been found");
    expect(e.message).toContain("CommandNotFound");
    expect(e.cause).toEqual({ class: "CommandNotFound", desc: "The command guest-nope has not been found" });
  });

  it("a silent socket rejects with CONNECTION within the timeout; guestInfo is null, guestShutdown false", async () => {
    const a = await fakeAgent(() => undefined, { silent: true });
    const t0 = Date.now();
    const e = (await withQga(host, a.sock, async () => "never", 300).catch((x: unknown) => x)) as QfleetError;
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(e.code).toBe("CONNECTION");
    expect(e.message).toBe(`no guest agent answers on ${a.sock} (is qemu-guest-agent running in the guest?)`);
    expect(await guestInfo(host, a.sock, 300)).toBeNull();
    expect(await guestShutdown(host, a.sock, "powerdown", 300)).toBe(false);
    expect(await guestInfo(host, path.join(dir, "missing.sock"), 300)).toBeNull();
  });

  it("a command that times out makes the next one sync again, so its late reply is not taken", async () => {
    const a = await fakeAgent((m, send) => {
      if (m.execute === "slow") setTimeout(() => send({ return: "late" }), 300);
      else send({ return: m.execute });
    });
    await withQga(host, a.sock, async (q) => {
      await expect(q.execute("slow", undefined, 100)).rejects.toMatchObject({ code: "TIMEOUT" });
      await new Promise((r) => setTimeout(r, 400)); // the late reply is now in the stream
      expect(await q.execute("fast")).toBe("fast");
    });
    expect(a.commands.filter((c) => c.execute === "guest-sync-delimited")).toHaveLength(2);
  });
});

describe("guestInfo / guestShutdown", () => {
  it("maps osinfo, host name and addresses (no loopback); an unsupported command leaves its field out", async () => {
    const a = await fakeAgent((m, send) => {
      if (m.execute === "guest-get-osinfo")
        send({ return: { id: "debian", name: "Debian GNU/Linux", "pretty-name": "Debian 12", "kernel-release": "6.1" } });
      else if (m.execute === "guest-network-get-interfaces")
        send({
          return: [
            { name: "lo", "ip-addresses": [{ "ip-address-type": "ipv4", "ip-address": "127.0.0.1", prefix: 8 }] },
            {
              name: "ens3",
              "ip-addresses": [
                { "ip-address-type": "ipv4", "ip-address": "10.0.2.15", prefix: 24 },
                { "ip-address-type": "ipv6", "ip-address": "fe80::1", prefix: 64 },
              ],
            },
          ],
        });
      else send({ error: { class: "CommandNotFound", desc: "disabled" } });
    });
    expect(await guestInfo(host, a.sock)).toEqual({
      os: { id: "debian", name: "Debian GNU/Linux", pretty_name: "Debian 12", kernel_release: "6.1" },
      addresses: [
        { interface: "ens3", address: "10.0.2.15", prefix: 24, family: "ipv4" },
        { interface: "ens3", address: "fe80::1", prefix: 64, family: "ipv6" },
      ],
    });
  });

  it("guestShutdown: no reply is accepted, a closed socket is accepted, an error is refused", async () => {
    const quiet = await fakeAgent(() => undefined);
    expect(await guestShutdown(host, quiet.sock)).toBe(true);
    expect(quiet.commands.find((c) => c.execute === "guest-shutdown")?.arguments).toEqual({ mode: "powerdown" });
    const closing = await fakeAgent((_m, _send, c) => c.destroy());
    expect(await guestShutdown(host, closing.sock, "reboot")).toBe(true);
    const refusing = await fakeAgent((_m, send) => send({ error: { class: "GenericError", desc: "child process has failed to shutdown" } }));
    expect(await guestShutdown(host, refusing.sock)).toBe(false);
  });
});

describe("guestExec", () => {
  /** A fake guest-exec: the status polls report running `polls` times, then `final`. */
  const execAgent = (final: Record<string, unknown>, polls = 1) =>
    fakeAgent((m, send) => {
      if (m.execute === "guest-exec") send({ return: { pid: 4242 } });
      else if (m.execute === "guest-exec-status") send({ return: polls-- > 0 ? { exited: false } : { exited: true, ...final } });
    });

  it("runs the timeout wrapper with input-data, decodes the base64 output", async () => {
    const a = await execAgent({ exitcode: 0, "out-data": b64("héllo\n"), "err-data": b64("warn") });
    const r = await guestExec(host, a.sock, ["sh", "-c", "cat"], { stdin: "piped in", timeoutMs: 2500 });
    expect(r).toEqual({ exitCode: 0, stdout: "héllo\n", stderr: "warn", truncated: false, timedOut: false });
    const exec = a.execs()[0].arguments!;
    expect([exec.path, ...(exec.arg as string[])]).toEqual(guestExecArgv(["sh", "-c", "cat"], 2500));
    expect(exec["capture-output"]).toBe(true);
    expect(Buffer.from(exec["input-data"] as string, "base64").toString()).toBe("piped in");
  });

  it("cuts each stream at maxBytes and says so, as it does when the agent truncated", async () => {
    const a = await execAgent({ exitcode: 1, "out-data": b64("hello world"), "err-data": b64("ok") }, 0);
    expect(await guestExec(host, a.sock, ["x"], { timeoutMs: 1000, maxBytes: 4 })).toMatchObject({
      exitCode: 1,
      stdout: "hell",
      stderr: "ok",
      truncated: true,
    });
    const b = await execAgent({ exitcode: 0, "out-data": b64("abc"), "out-truncated": true }, 0);
    expect(await guestExec(host, b.sock, ["x"], { timeoutMs: 1000 })).toMatchObject({ stdout: "abc", truncated: true });
  });

  it("exit 124 counts as timed out only once the limit has passed", async () => {
    const early = await execAgent({ exitcode: 124 }, 0);
    expect(await guestExec(host, early.sock, ["x"], { timeoutMs: 1000 })).toMatchObject({ exitCode: 124, timedOut: false });
    const late = await execAgent({ exitcode: 124 }, 6); // ~1.1 s of polls
    expect(await guestExec(host, late.sock, ["x"], { timeoutMs: 1000 })).toMatchObject({ exitCode: 124, timedOut: true });
  });

  it("a command that outlives the limit in the guest is killed by a second guest-exec (the backstop)", async () => {
    let killed = false;
    const a = await fakeAgent((m, send) => {
      if (m.execute === "guest-exec") {
        if ((m.arguments!.arg as string[]).includes("qfleet-kill")) killed = true;
        send({ return: { pid: killed ? 99 : 4242 } });
      } else send({ return: killed ? { exited: true, signal: 9 } : { exited: false } });
    });
    const t0 = Date.now();
    const r = await guestExec(host, a.sock, ["sleep", "30"], { timeoutMs: 1000 });
    expect(r).toEqual({ exitCode: null, signal: 9, stdout: "", stderr: "", truncated: false, timedOut: true });
    expect(Date.now() - t0).toBeLessThan(8000); // 1 s limit + 2 s kill-after + 3 s margin
    expect(a.execs()[1].arguments!.arg).toEqual(["-c", expect.stringContaining("kill -KILL"), "qfleet-kill", "4242"]);
  }, 15_000);

  it("rejects an empty argv and a non-positive time limit", async () => {
    await expect(guestExec(host, "/nope", [], { timeoutMs: 1000 })).rejects.toMatchObject({ code: "BAD_INPUT" });
    await expect(guestExec(host, "/nope", ["true"], { timeoutMs: 0 })).rejects.toMatchObject({ code: "BAD_INPUT" });
  });
});

describe("guestExecArgv (run by a real sh here)", () => {
  const run = (argv: string[], env?: NodeJS.ProcessEnv) => spawnSync(argv[0], argv.slice(1), { encoding: "utf8", env: env ?? process.env });
  const NASTY = ["a b", "it's", '"q"', "$HOME", "`id`", "; echo pwned", "*", "", "-n"];

  it("passes the argv through untouched, with whole seconds (rounded up) for timeout", () => {
    const argv = guestExecArgv(["printf", "[%s]\\n", ...NASTY], 2500);
    expect(argv.slice(0, 2)).toEqual(["sh", "-c"]);
    expect(argv.slice(3, 5)).toEqual(["qfleet-exec", "3"]);
    const r = run(argv);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(NASTY.map((s) => `[${s}]\n`).join(""));
  });

  it("ends a command at the limit with timeout's 124", () => {
    const t0 = Date.now();
    const r = run(guestExecArgv(["sleep", "10"], 1000));
    expect(r.status).toBe(124);
    expect(Date.now() - t0).toBeLessThan(4000);
  });

  it("runs the command bare when the guest has no timeout", () => {
    const r = run(["/bin/sh", ...guestExecArgv(["/bin/echo", "bare"], 1000).slice(1)], { PATH: "/nonexistent" });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("bare\n");
  });
});
