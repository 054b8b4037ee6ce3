import { execa } from "execa";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../..");
const CLI = join(ROOT, "dist/qfleet.mjs");
const FIXTURES = join(ROOT, "test/fixtures/specs");
/** Runs the built CLI; execa strips the final newline of stdout and stderr. */
const qfleet = (...args: string[]) => execa("node", [CLI, ...args], { reject: false, cwd: ROOT });

beforeAll(() => {
  // the binary under test is the built one: `npm test` builds before it runs the suite
  expect(existsSync(CLI), `${CLI} is missing: run npm run build`).toBe(true);
});

describe("qfleet validate", () => {
  it("prints every located problem and exits 3", async () => {
    const r = await qfleet("validate", "-C", join(FIXTURES, "broken"));
    expect(r.exitCode).toBe(3);
    expect(r.stdout.split("\n")).toEqual([
      "vms/db.yaml:1:9: memory: expected a size such as 512M, 2G, 2GiB, 4096M or a plain number of bytes",
      "vms/web.yaml:2:1: memroy: unknown key 'memroy' (did you mean 'memory'?)",
      "2 problems in 2 of 3 specs",
    ]);
    expect(r.stderr).toBe("");
  });

  it("says ok and exits 0 for a valid fleet", async () => {
    const r = await qfleet("validate", "--dir", join(FIXTURES, "valid"));
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe("ok: 2 VM specs valid (db, web)");
  });

  it("prints JSON with --json", async () => {
    const bad = await qfleet("validate", "-C", join(FIXTURES, "broken"), "--json");
    expect(bad.exitCode).toBe(3);
    expect(JSON.parse(bad.stdout)).toEqual({
      valid: false,
      specs: [{ name: "cache", file: "vms/cache.yaml" }],
      invalid: ["db", "web"],
      problems: [
        { file: "vms/db.yaml", line: 1, col: 9, field: "memory", message: expect.stringMatching(/^expected a size/) },
        { file: "vms/web.yaml", line: 2, col: 1, field: "memroy", message: "unknown key 'memroy' (did you mean 'memory'?)" },
      ],
    });
    const good = await qfleet("validate", "-C", join(FIXTURES, "valid"), "--json");
    expect(good.exitCode).toBe(0);
    expect(JSON.parse(good.stdout)).toMatchObject({ valid: true, invalid: [], problems: [], specs: [{ name: "db" }, { name: "web" }] });
  });

  it("explains a folder without vms/ and exits 1", async () => {
    const r = await qfleet("validate", "-C", FIXTURES);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe(
      `error: no vms/ folder in ${FIXTURES}\n  hint: run qfleet in the folder that holds vms/ (and hosts.yaml), or point at it with -C DIR`,
    );
    const j = await qfleet("validate", "-C", FIXTURES, "--json");
    expect(JSON.parse(j.stdout)).toMatchObject({ success: false, error: { code: "NOT_FOUND" } });
  });

  it("locates what this machine's QEMU would refuse at launch: too many vCPUs, too long a socket path", async () => {
    const dir = mkdtempSync("/tmp/qfv-");
    try {
      mkdirSync(join(dir, "vms"));
      writeFileSync(join(dir, "vms", "many.yaml"), "# too many\nmemory: 64M\nvcpus: 300\naccel: tcg\n");
      writeFileSync(join(dir, "vms", "deep.yaml"), `memory: 64M\nvm_dir: /tmp/${"d".repeat(100)}\n`);
      writeFileSync(join(dir, "vms", "fine.yaml"), "memory: 64M\nvcpus: 8\n");
      const r = await qfleet("validate", "-C", dir);
      expect(r.exitCode).toBe(3);
      const lines = r.stdout.split("\n");
      expect(lines[0]).toMatch(
        /^vms\/deep\.yaml:2:9: vm_dir: the socket path \/tmp\/d+\/deep\/console\.sock is 123 bytes; unix sockets allow at most 107/,
      );
      expect(lines[1]).toMatch(/^vms\/many\.yaml:3:8: vcpus: QEMU on local does not take 300 vCPUs for this machine: .*is 288$/);
      expect(lines[2]).toBe("2 problems in 2 of 3 specs");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("has help with an example", async () => {
    const r = await qfleet("validate", "--help");
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("qfleet validate -C ~/fleet");
    expect(r.stdout).toContain("-C, --dir <DIR>");
  });
});
