import { execa } from "execa";
import { createHash } from "node:crypto";
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCAL } from "../../src/hosts/local.js";
import { ensureImage } from "../../src/images/ensure.js";
import type { ImageProgress } from "../../src/images/progress.js";
import { CLI, freePort, makeFleet, stubSpec, type TestFleet } from "../helpers/fleet.js";
import { ensureGuest, waitForSsh, type GuestManifest } from "../helpers/guest.js";
import { startImageServer, type ImageServer } from "../helpers/image-server.js";
import { makeLab, type Lab } from "../helpers/sshd-lab.js";
import { startSshd } from "../helpers/sshd.js";
import { call, connectMcp } from "../helpers/mcp-client.js";
import { makeTmpDir } from "../helpers/tmp.js";

/**
 * Images by URL with a digest, against a real HTTP server on 127.0.0.1 serving real qcow2 images
 * (the tiny guest's disk, and small ones made with qemu-img), real QEMU and the built CLI. Every
 * test has a cache of its own (XDG_CACHE_HOME in a temp folder): the real cache is never touched.
 */
const sha = (file: string, algo = "sha256") => createHash(algo).update(readFileSync(file)).digest("hex");
const imagesIn = (cache: string) => path.join(cache, "qemu-fleet", "images");
/** The built CLI against a test fleet, with more environment (XDG_CACHE_HOME). */
const q = async (f: TestFleet, args: string[], env: Record<string, string>) => {
  const r = await execa("node", [CLI, ...args, "-C", f.dir], { env: { ...f.env, ...env }, reject: false, timeout: 180_000, stdin: "ignore" });
  return { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? -1 };
};
const listCache = (cache: string) => (existsSync(imagesIn(cache)) ? readdirSync(imagesIn(cache)).filter((n) => !n.startsWith(".")) : []);

let guest: GuestManifest;
let tmp: { dir: string; remove(): void };
let server: ImageServer;
const fleets: TestFleet[] = [];
let n = 0;
/** A cache folder of the test's own; this process's XDG_CACHE_HOME points there for calls made in-process. */
const freshCache = () => {
  const dir = path.join(tmp.dir, `cache${++n}`);
  process.env.XDG_CACHE_HOME = dir;
  return dir;
};
const fleet = () => {
  const f = makeFleet();
  fleets.push(f);
  return f;
};
/** A small real qcow2 (64 MiB virtual) with `mib` MiB of a pattern written, so every image has bytes of its own. */
async function smallImage(name: string, mib: number, pattern: number): Promise<string> {
  const file = path.join(tmp.dir, "srv", name);
  await execa("qemu-img", ["create", "-q", "-f", "qcow2", file, "64M"]);
  await execa("qemu-io", ["-f", "qcow2", "-c", `write -P ${pattern} 0 ${mib}M`, file]);
  return file;
}

beforeAll(async () => {
  guest = await ensureGuest("x86_64");
  tmp = makeTmpDir("qft-img-url-");
  mkdirSync(path.join(tmp.dir, "srv"));
  copyFileSync(guest.disk!, path.join(tmp.dir, "srv", "guest.qcow2"));
  const files: Record<string, string> = { "guest.qcow2": path.join(tmp.dir, "srv", "guest.qcow2") };
  for (const [i, name] of ["a", "b", "c", "d", "e"].entries()) files[`${name}.qcow2`] = await smallImage(`${name}.qcow2`, 4 + i, 0x30 + i);
  server = await startImageServer(files);
});

afterAll(async () => {
  for (const f of fleets) await f.cleanup();
  await server?.close();
  tmp?.remove();
  delete process.env.XDG_CACHE_HOME;
});

describe("images by URL with a digest", () => {
  it("downloads once with progress, then answers from the cache without a request", async () => {
    const cache = freshCache();
    const file = path.join(tmp.dir, "srv", "guest.qcow2");
    const want = { url: server.url("guest.qcow2"), algo: "sha256" as const, digest: sha(file) };
    server.bytesPerSecond = 8 * 2 ** 20; // ~2 s for the tiny guest's 17 MiB: progress shows
    const seen: ImageProgress[] = [];
    const first = await ensureImage(LOCAL, want, { onProgress: (p) => void seen.push(p) });
    server.bytesPerSecond = 0;
    const downloads = seen.filter((p) => p.phase === "download");
    expect(first).toMatchObject({ via: "http", requests: 1, size: statSync(file).size });
    expect(first.path).toBe(path.join(imagesIn(cache), `sha256-${want.digest}.img`));
    expect(downloads.length).toBeGreaterThan(10);
    expect(downloads.at(-1)).toMatchObject({ done: statSync(file).size, total: statSync(file).size });
    expect(seen.some((p) => p.phase === "verify")).toBe(true);
    expect(sha(first.path)).toBe(want.digest);
    const meta = JSON.parse(readFileSync(first.path.replace(/\.img$/, ".json"), "utf8"));
    expect(meta).toMatchObject({ url: want.url, algo: "sha256", digest: want.digest, size: first.size, via: "http" });

    const before = server.requests.length;
    const hit = await ensureImage(LOCAL, want);
    expect(hit).toMatchObject({ via: "cache", requests: 0, path: first.path });
    expect(server.requests.length).toBe(before);
    console.log(`download ${(first.size / 2 ** 20).toFixed(1)} MiB throttled to 8 MiB/s: ${first.durationMs} ms; cache hit: ${hit.durationMs} ms`);

    // unthrottled, through the CLI: the figure for the report
    const f = fleet();
    const cache2 = freshCache();
    const r = await q(f, ["image", "pull", want.url, "--sha256", want.digest, "--json"], { XDG_CACHE_HOME: cache2 });
    expect(r.exitCode, r.stderr).toBe(0);
    const pulled = JSON.parse(r.stdout);
    expect(pulled).toMatchObject({ success: true, via: "http", requests: 1 });
    const again = await q(f, ["image", "pull", want.url, "--sha256", want.digest], { XDG_CACHE_HOME: cache2 });
    expect(again.stdout).toMatch(/already cached: 17\.\d MB, sha256 ok/);
    console.log(
      `qfleet image pull from 127.0.0.1: ${(((first.size / pulled.durationMs) * 1000) / 2 ** 20).toFixed(0)} MiB/s (${pulled.durationMs} ms); ${again.stdout.trim().split("\n").pop()}`,
    );
    expect(cache).not.toBe(cache2);
  });

  it("refuses a wrong digest naming the URL and both digests, and caches nothing", async () => {
    const cache = freshCache();
    const f = fleet();
    const real = sha(path.join(tmp.dir, "srv", "a.qcow2"));
    const wrong = "0".repeat(64);
    const r = await q(f, ["image", "pull", server.url("a.qcow2"), "--sha256", wrong], { XDG_CACHE_HOME: cache });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`error: ${server.url("a.qcow2")}: sha256 mismatch: expected ${wrong}, got ${real}; nothing was cached`);
    expect(listCache(cache)).toEqual([]);
    expect(server.gets("a.qcow2")).toHaveLength(1);
  });

  it("resumes a download cut off half-way with a Range request, and the result has the right digest", async () => {
    freshCache();
    const file = path.join(tmp.dir, "srv", "b.qcow2");
    const size = statSync(file).size;
    server.cutNext(Math.floor(size / 2));
    const r = await ensureImage(LOCAL, { url: server.url("b.qcow2"), algo: "sha512", digest: sha(file, "sha512") });
    const gets = server.gets("b.qcow2");
    expect(gets).toHaveLength(2);
    expect(gets[0].range).toBeUndefined();
    expect(gets[1].range).toMatch(/^bytes=\d+-$/);
    expect(Number(/=(\d+)-/.exec(gets[1].range!)![1])).toBeGreaterThan(0);
    expect(r).toMatchObject({ via: "http", requests: 2, size });
    expect(sha(r.path, "sha512")).toBe(sha(file, "sha512"));
  });

  it("validate and plan refuse an image URL without a digest, at its line; plan shows the URL of a good one", async () => {
    const cache = freshCache();
    const f = fleet();
    f.spec("nodigest", stubSpec(`disks:\n  - image: ${server.url("c.qcow2")}\n    overlay: true\n`));
    const v = await q(f, ["validate"], { XDG_CACHE_HOME: cache });
    expect(v.exitCode).toBe(3);
    expect(v.stderr + v.stdout).toMatch(/vms\/nodigest\.yaml:\d+:\d+: disks\.0\.image: an image URL needs its digest: add sha256/);
    f.spec(
      "nodigest",
      stubSpec(`disks:\n  - image: ${server.url("c.qcow2")}\n    sha256: ${sha(path.join(tmp.dir, "srv", "c.qcow2"))}\n    overlay: true\n`),
    );
    const p = await q(f, ["plan"], { XDG_CACHE_HOME: cache });
    expect(p.exitCode, p.stderr).toBe(0);
    expect(p.stdout).toContain(`(qcow2, overlay of ${server.url("c.qcow2")})`);
    expect(p.stdout).toContain(`cached as ${imagesIn(cache)}/sha256-`);
    expect(server.gets("c.qcow2")).toHaveLength(0); // a plan downloads nothing
  });

  it("two reconciles at once share one download; the VMs boot on overlays of the cached image (the tiny guest logs in)", async () => {
    const cache = freshCache();
    const file = path.join(tmp.dir, "srv", "guest.qcow2");
    const digest = sha(file);
    const [f1, f2] = [fleet(), fleet()];
    const port = await freePort();
    const disk = `disks:\n  - image: ${server.url("guest.qcow2")}\n    sha256: ${digest}\n    overlay: true\n`;
    f1.spec("g1", `# the tiny guest, booted from the cached image\nvcpus: 1\nmemory: 256M\naccel: tcg\nssh: { port: ${port} }\n${disk}`);
    f2.spec("s2", stubSpec(disk));
    server.bytesPerSecond = 8 * 2 ** 20; // the first run is still downloading when the second asks
    const env = { XDG_CACHE_HOME: cache };
    const before = server.gets("guest.qcow2").length;
    const [r1, r2] = await Promise.all([q(f1, ["reconcile"], env), q(f2, ["reconcile"], env)]);
    server.bytesPerSecond = 0;
    expect(r1.exitCode, r1.stderr + r1.stdout).toBe(0);
    expect(r2.exitCode, r2.stderr + r2.stdout).toBe(0);
    expect(server.gets("guest.qcow2").length - before).toBe(1);
    const cached = path.join(imagesIn(cache), `sha256-${digest}.img`);
    expect(r1.stderr + r2.stderr).toMatch(/waiting for another run's download of guest\.qcow2/);
    expect(r1.stderr + r2.stderr).toMatch(/downloading guest\.qcow2: \d+%/);
    for (const [f, name] of [
      [f1, "g1"],
      [f2, "s2"],
    ] as const) {
      const info = JSON.parse((await execa("qemu-img", ["info", "-U", "--output=json", path.join(f.vmDir, name, "disk0-overlay.qcow2")])).stdout);
      expect(info["full-backing-filename"]).toBe(cached);
      expect(f.qemuPids()).toHaveLength(1);
    }
    expect(sha(cached)).toBe(digest); // never written by the VMs
    expect(await waitForSsh(port, guest, 90_000)).toBeGreaterThan(0);
  });

  it("qemu_boot_vm boots image_url + sha256 with download progress notifications", async () => {
    const cache = freshCache();
    const f = fleet();
    const mcp = await connectMcp(f, { env: { XDG_CACHE_HOME: cache } });
    try {
      const url = server.url("d.qcow2");
      const bad = await mcp.client.callTool({ name: "qemu_boot_vm", arguments: { image_url: url, name: "d1" } });
      expect(JSON.stringify(bad.content)).toMatch(/give its digest, sha256 or sha512/);
      const messages: string[] = [];
      server.bytesPerSecond = 2 * 2 ** 20; // 7 MiB: a few seconds, a notification each
      const r = await mcp.client.callTool(
        {
          name: "qemu_boot_vm",
          arguments: { image_url: url, sha256: sha(path.join(tmp.dir, "srv", "d.qcow2")), name: "d1", memory: "32M", cloud_init: false },
        },
        undefined,
        { onprogress: (p) => void messages.push(String(p.message)), timeout: 120_000 },
      );
      server.bytesPerSecond = 0;
      expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
      expect(r.structuredContent).toMatchObject({ success: true, name: "d1" });
      expect(messages.filter((m) => /downloading d\.qcow2: \d+%/.test(m)).length).toBeGreaterThanOrEqual(2);
      expect(readFileSync(path.join(f.dir, "vms", "d1.yaml"), "utf8")).toMatch(
        /image: http:\/\/127\.0\.0\.1:\d+\/d\.qcow2\n\s+sha256: [0-9a-f]{64}\n\s+overlay: true/,
      );
      expect(await call(mcp.client, "qemu_vm_status", { name: "d1" })).toMatchObject({ status: "running" });
    } finally {
      await mcp.close();
    }
  });

  it("lists the cache and prunes the images no spec names", async () => {
    const cache = freshCache();
    const f = fleet();
    const env = { XDG_CACHE_HOME: cache };
    const [ea, ee] = [sha(path.join(tmp.dir, "srv", "a.qcow2")), sha(path.join(tmp.dir, "srv", "e.qcow2"))];
    for (const [name, d] of [
      ["a.qcow2", ea],
      ["e.qcow2", ee],
    ])
      expect((await q(f, ["image", "pull", server.url(name), "--sha256", d], env)).exitCode).toBe(0);
    f.spec("keeper", stubSpec(`state: stopped\ndisk: "image=${server.url("e.qcow2")},sha256=${ee.toUpperCase()},overlay=true"\n`));
    const list = await q(f, ["image", "cache"], env);
    expect(list.stdout).toContain(`${imagesIn(cache)} (local): 2 image(s)`);
    expect(list.stdout).toMatch(new RegExp(`sha256:${ee.slice(0, 12)}\\s+${server.url("e.qcow2").replace(/[.?]/g, "\\$&")}\\s+vms/keeper.yaml`));
    const dry = await q(f, ["image", "cache", "prune", "--dry-run"], env);
    expect(dry.stdout).toContain("would remove 1 image(s)");
    expect(listCache(cache)).toHaveLength(4);
    const pruned = await q(f, ["image", "cache", "prune", "--json"], env);
    expect(JSON.parse(pruned.stdout).removed.map((e: { digest: string }) => e.digest)).toEqual([ea]);
    expect(listCache(cache).sort()).toEqual([`sha256-${ee}.img`, `sha256-${ee}.json`]);
  });

  it("never prunes the base of another fleet's overlay, and prunes it once that overlay is gone", async () => {
    const cache = freshCache();
    const env = { XDG_CACHE_HOME: cache };
    const ea = sha(path.join(tmp.dir, "srv", "a.qcow2"));
    const [mine, theirs] = [fleet(), fleet()]; // one user, one image cache, two fleets
    mine.spec("based", stubSpec(`state: stopped\ndisk: "image=${server.url("a.qcow2")},sha256=${ea},overlay=true"\n`));
    expect((await q(mine, ["reconcile"], env)).exitCode).toBe(0);
    const overlay = path.join(mine.vmDir, "based", "disk0-overlay.qcow2");
    const kept = await q(theirs, ["image", "cache", "prune"], env);
    expect(kept.exitCode, kept.stderr).toBe(0);
    expect(kept.stdout).toContain(`removed 0 image(s)`);
    expect(kept.stdout).toContain(`kept sha256:${ea.slice(0, 12)}: the base of ${overlay}`);
    expect(listCache(cache)).toContain(`sha256-${ea}.img`);
    mine.spec("based", stubSpec(`state: absent\ndisk: "image=${server.url("a.qcow2")},sha256=${ea},overlay=true"\n`));
    expect((await q(mine, ["reconcile"], env)).exitCode).toBe(0);
    const pruned = await q(theirs, ["image", "cache", "prune", "--json"], env);
    expect(JSON.parse(pruned.stdout).removed.map((e: { digest: string }) => e.digest)).toEqual([ea]);
    expect(listCache(cache)).toEqual([]);
    expect(readdirSync(path.join(imagesIn(cache), ".users"))).toEqual([]);
  });
});

describe("images by URL on a remote host (a real sshd on this machine)", () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await makeLab("iu");
  });
  afterAll(() => lab?.teardown());

  it("the host fetches with its own curl into its own cache; a VM there boots on an overlay of it, with no second request", async () => {
    const here = freshCache(); // this machine's cache: apart from the SSH user's, which shares the lab's HOME
    lab.writeHosts({ r1: lab.entry("r1") });
    const file = path.join(tmp.dir, "srv", "c.qcow2");
    const url = server.url("c.qcow2");
    const digest = sha(file);
    const remoteCache = path.join(lab.home, ".cache", "qemu-fleet", "images");
    const before = server.gets("c.qcow2").length;
    const r = await lab.cli(["image", "pull", url, "--sha256", digest, "--host", "r1", "--json"], { XDG_CACHE_HOME: here });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ success: true, host: "r1", via: "curl", path: path.join(remoteCache, `sha256-${digest}.img`) });
    expect(readdirSync(remoteCache).sort()).toEqual([".locks", `sha256-${digest}.img`, `sha256-${digest}.json`]);
    expect(sha(path.join(remoteCache, `sha256-${digest}.img`))).toBe(digest);
    expect(listCache(here)).toEqual([]); // nothing went through this machine
    const list = await lab.cli(["image", "cache", "list", "--host", "r1"], { XDG_CACHE_HOME: here });
    expect(list.stdout).toContain(`${remoteCache} (r1): 1 image(s)`);

    lab.f.spec("rv", stubSpec(`host: r1\ndisks:\n  - image: ${url}\n    sha256: ${digest}\n    overlay: true\n`));
    const rec = await lab.cli(["reconcile"], { XDG_CACHE_HOME: here });
    expect(rec.exitCode, rec.stderr + rec.stdout).toBe(0);
    expect(rec.stdout).toContain(`cached as ${remoteCache}/sha256-${digest}.img`);
    const overlay = path.join(lab.vmDirs.r1, "rv", "disk0-overlay.qcow2");
    const info = JSON.parse((await execa("qemu-img", ["info", "-U", "--output=json", overlay])).stdout);
    expect(info["full-backing-filename"]).toBe(path.join(remoteCache, `sha256-${digest}.img`));
    expect(server.gets("c.qcow2").length - before).toBe(1);
  });

  it("a host with neither curl nor wget gets the image from this machine's cache over SFTP", async () => {
    const here = freshCache();
    const bin = path.join(lab.f.dir, "bin-without-curl");
    mkdirSync(bin, { mode: 0o755 });
    for (const tool of ["sh", "flock", "cat", "sha256sum", "sha512sum"])
      symlinkSync((await execa("sh", ["-c", `command -v ${tool}`])).stdout, path.join(bin, tool));
    const nc = await startSshd({ dir: path.join(lab.f.dir, "sshd"), name: "nc", port: await freePort(), extraConfig: [`SetEnv PATH=${bin}`] });
    try {
      lab.user.authorize(nc, readFileSync(`${lab.key}.pub`, "utf8"));
      appendFileSync(lab.knownHosts, nc.knownHostsLine() + "\n");
      lab.writeHosts({ r1: lab.entry("r1"), nc: { ...lab.entry("r1"), port: nc.port } });
      const file = path.join(tmp.dir, "srv", "e.qcow2");
      const digest = sha(file, "sha512");
      const before = server.gets("e.qcow2").length;
      const r = await lab.cli(["image", "pull", server.url("e.qcow2"), "--sha512", digest, "--host", "nc"], { XDG_CACHE_HOME: here });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/fetched \(upload, [\d.]+ [KMG]?B\/s\): \d+\.\d MB, sha512 ok/);
      expect(r.stderr).toContain("downloading e.qcow2...");
      expect(r.stderr).toContain("uploading e.qcow2 to nc...");
      const there = path.join(lab.home, ".cache", "qemu-fleet", "images", `sha512-${digest}.img`);
      expect(sha(there, "sha512")).toBe(digest);
      expect(listCache(here)).toEqual([`sha512-${digest}.img`, `sha512-${digest}.json`]);
      expect(server.gets("e.qcow2").length - before).toBe(1);
    } finally {
      await nc.stop();
    }
  });
});
