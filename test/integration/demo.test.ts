import { execa } from "execa";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { qemuPidsMentioning } from "../helpers/fleet.js";
import { ensureGuest, guestCacheDir, REPO_ROOT } from "../helpers/guest.js";

/**
 * `npm run demo` as on a clean clone, twice with `qfleet stop demo` in between: it must start
 * the VM whatever the previous run left, say what it did, and leave the tracked files as
 * committed. The clone is a copy of the repository's files (tracked and new, as git lists them)
 * committed into a fresh git repository, so `git status` there compares with its own commit;
 * node_modules and the guest cache are linked from this checkout (nothing is downloaded). It
 * uses the demo's port 2222, which must be free.
 */
const T = mkdtempSync("/tmp/qfd-");
const clone = path.join(T, "clone");
const git = (args: string[]) => execa("git", args, { cwd: clone });
const demo = () => execa("npm", ["run", "demo"], { cwd: clone, reject: false, all: true, timeout: 400_000, stdin: "ignore" });
const qfleet = (args: string[]) => execa("node", [path.join(clone, "dist", "qfleet.mjs"), ...args], { cwd: clone, reject: false, stdin: "ignore" });
const status = async () => JSON.parse((await qfleet(["status", "demo", "--json"])).stdout) as { status: string; ssh_accessible: boolean };
const porcelain = async () => (await git(["status", "--porcelain", "--", "vms/", "fleet.yaml"])).stdout;

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer().once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

beforeAll(async () => {
  expect(await portFree(2222), "port 2222 is in use (a demo VM running? npx qfleet stop demo): the demo needs it").toBe(true);
  await ensureGuest("x86_64");
  const files = (await execa("git", ["ls-files", "--cached", "--others", "--exclude-standard"], { cwd: REPO_ROOT })).stdout.split("\n");
  for (const f of files.filter((f) => f && existsSync(path.join(REPO_ROOT, f)))) {
    mkdirSync(path.dirname(path.join(clone, f)), { recursive: true });
    cpSync(path.join(REPO_ROOT, f), path.join(clone, f), { preserveTimestamps: true });
  }
  await execa("git", ["init", "-q", clone]);
  await git(["add", "."]);
  await git(["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "clean clone"]);
  symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(clone, "node_modules"));
  mkdirSync(path.join(clone, ".cache"));
  symlinkSync(guestCacheDir(), path.join(clone, ".cache", "guest"));
  // setup.sh runs `npm ci` when the lock is newer than the install or dist/ is missing: never here,
  // where node_modules is this checkout's (the build below makes dist/)
  utimesSync(path.join(clone, "package-lock.json"), 0, 0);
  mkdirSync(path.join(clone, "dist"));
}, 300_000);

afterAll(() => {
  for (const pid of qemuPidsMentioning(clone)) process.kill(pid, "SIGKILL");
  rmSync(T, { recursive: true, force: true });
});

describe("npm run demo, again and again", () => {
  it("creates and boots the demo VM on a clean clone", async () => {
    const r = await demo();
    expect(r.exitCode, r.all).toBe(0);
    expect(r.stdout).toContain("Done: created the demo VM and started it.");
    expect(await status()).toMatchObject({ status: "running", ssh_accessible: true });
    expect(await porcelain()).toBe("");
  }, 450_000);

  it("starts it again after qfleet stop demo, and leaves vms/ and fleet.yaml as committed", async () => {
    const stop = await qfleet(["stop", "demo"]);
    expect(stop.exitCode, stop.stderr).toBe(0);
    expect((await status()).status).toBe("stopped");
    expect(await porcelain()).toBe(" M vms/demo.yaml"); // the stop is declarative: the spec says stopped now
    const r = await demo();
    expect(r.exitCode, r.all).toBe(0);
    expect(r.stdout).toContain("Done: started the demo VM (it was stopped); vms/demo.yaml said state: stopped");
    expect(await status()).toMatchObject({ status: "running", ssh_accessible: true });
    expect(await porcelain()).toBe("");
    expect(readFileSync(path.join(clone, "vms", "demo.yaml"), "utf8")).toBe(readFileSync(path.join(REPO_ROOT, "vms", "demo.yaml"), "utf8"));
  }, 450_000);

  it("says so when it is already running", async () => {
    const r = await demo();
    expect(r.exitCode, r.all).toBe(0);
    expect(r.stdout).toContain("Done: the demo VM was already running.");
    expect(await porcelain()).toBe("");
  }, 450_000);
});
