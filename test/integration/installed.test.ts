import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { execa } from "execa";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { qemuPidsMentioning } from "../helpers/fleet.js";
import { REPO_ROOT } from "../helpers/guest.js";
import { checkJsonSchema } from "../helpers/json-schema.js";

/**
 * qemu-fleet as a user installs it: `npm pack` (its prepare script: a clean build),
 * `npm install -g` of the tarball into a fresh prefix (no devDependencies), then the `qfleet` on
 * that prefix's PATH used from an empty folder. The pack runs in a copy of the package's sources
 * (node_modules linked), so the clone's own dist/ is never cleaned under other runs.
 */
const T = mkdtempSync("/tmp/qfi-");
const prefix = path.join(T, "prefix");
const fleet = path.join(T, "fleet");
const vmDir = path.join(T, "i");
const env = { ...process.env, PATH: `${path.join(prefix, "bin")}:${process.env.PATH}`, QFLEET_VM_DIR: vmDir, QFLEET_STOP_TIMEOUT: "5" };
const qfleet = (args: string[]) => execa("qfleet", args, { cwd: fleet, env, reject: false, timeout: 120_000, stdin: "ignore" });
const { version } = JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { version: string };
let tgz = "";
const figures: Record<string, string> = {};

beforeAll(async () => {
  const src = path.join(T, "src");
  mkdirSync(src);
  for (const f of ["package.json", "package-lock.json", "tsconfig.json", "tsconfig.build.json", "README.md", "src", "scripts", "schemas"])
    cpSync(path.join(REPO_ROOT, f), path.join(src, f), { recursive: true });
  symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(src, "node_modules"));
  let t = Date.now();
  await execa("npm", ["pack", "--pack-destination", T], { cwd: src });
  figures.pack = `${((Date.now() - t) / 1000).toFixed(1)} s`;
  tgz = path.join(
    T,
    readdirSync(T).find((f) => f.endsWith(".tgz"))!,
  );
  figures.tarball = `${(statSync(tgz).size / 1024).toFixed(0)} KiB`;
  t = Date.now();
  await execa("npm", ["install", "-g", "--prefix", prefix, "--prefer-offline", "--no-audit", "--no-fund", tgz], { cwd: T });
  figures.install = `${((Date.now() - t) / 1000).toFixed(1)} s`;
  mkdirSync(fleet);
}, 300_000);

afterAll(() => {
  for (const pid of qemuPidsMentioning(vmDir)) process.kill(pid, "SIGKILL");
  process.stderr.write(
    `installed qfleet: ${Object.entries(figures)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}\n`,
  );
  rmSync(T, { recursive: true, force: true });
});

describe("qfleet installed from npm pack", () => {
  it("packs the bundle and the schemas, nothing from the clone's sources, and installs without devDependencies", async () => {
    const files = (await execa("tar", ["tzf", tgz])).stdout.split("\n").map((f) => f.replace(/^package\//, ""));
    expect(files).toEqual(
      expect.arrayContaining([
        "package.json",
        "dist/qfleet.mjs",
        "schemas/vm.schema.json",
        "schemas/hosts.schema.json",
        "schemas/profile.schema.json",
      ]),
    );
    expect(files.filter((f) => /^(src|test|scripts|bench)\/|\.map$|\.ts$/.test(f))).toEqual([]);
    const installed = path.join(prefix, "lib", "node_modules", "qemu-fleet");
    for (const dev of ["typescript", "vitest", "esbuild", "tsx"]) expect(existsSync(path.join(installed, "node_modules", dev)), dev).toBe(false);
    const v = await qfleet(["--version"]);
    expect([v.exitCode, v.stdout.trim()]).toEqual([0, version]);
  });

  it("goes from an empty folder to a running VM: init, a spec, validate, reconcile, status", async () => {
    const start = Date.now();
    const init = await qfleet(["init"]);
    expect(init.exitCode, init.stderr).toBe(0);
    for (const f of ["vms/example.yaml", "profiles/small.yaml", "hosts.yaml", "fleet.yaml", ".gitignore", ".mcp.json"])
      expect(existsSync(path.join(fleet, f)), f).toBe(true);
    expect(JSON.parse(readFileSync(path.join(fleet, ".mcp.json"), "utf8"))).toEqual({
      mcpServers: { qemu: { type: "stdio", command: "qfleet", args: ["mcp"] } }, // no path: it works in every checkout
    });
    expect(readFileSync(path.join(fleet, ".gitignore"), "utf8")).toMatch(/^\.qfleet\/$/m);
    writeFileSync(
      path.join(fleet, "vms", "stub.yaml"),
      "# yaml-language-server: $schema=../schemas/vm.schema.json\nvcpus: 1\nmemory: 32M\naccel: tcg\n",
    );

    const val = await qfleet(["validate"]);
    expect([val.exitCode, val.stdout.trim()]).toEqual([0, "ok: 2 VM specs valid (example, stub)"]);
    const rec = await qfleet(["reconcile"]);
    expect(rec.exitCode, rec.stderr).toBe(0);
    expect(rec.stdout).toMatch(/\+ create example: .*\n.*then stopped/);
    const st = JSON.parse((await qfleet(["status", "stub", "--json"])).stdout);
    expect(st.status).toBe("running");
    figures["empty folder to a running VM"] = `${((Date.now() - start) / 1000).toFixed(1)} s`;
    expect(JSON.parse((await qfleet(["status", "example", "--json"])).stdout).status).toBe("stopped"); // state: stopped: nothing boots by accident
    // what examples/github-actions.yml runs
    expect((await qfleet(["validate", "--no-check-paths"])).exitCode).toBe(0);
    expect((await qfleet(["reconcile", "--check"])).exitCode).toBe(0);
  });

  it("the modelines of the specs and the profile resolve to schemas that accept them", () => {
    for (const f of ["vms/stub.yaml", "vms/example.yaml", "profiles/small.yaml", "hosts.yaml"]) {
      const text = readFileSync(path.join(fleet, f), "utf8");
      const ref = /^# yaml-language-server: \$schema=(\S+)$/m.exec(text)?.[1];
      expect(ref, f).toBeDefined();
      const schemaFile = path.resolve(path.dirname(path.join(fleet, f)), ref!);
      const schema = JSON.parse(readFileSync(schemaFile, "utf8"));
      expect(checkJsonSchema(parse(text) ?? {}, schema), f).toEqual([]);
    }
    const vmSchema = JSON.parse(readFileSync(path.join(fleet, "schemas/vm.schema.json"), "utf8"));
    expect(checkJsonSchema({ vcpus: 0, memroy: "1G" }, vmSchema)).toEqual(["$.vcpus: below 1", "$: unknown key memroy"]); // the check itself checks
  });

  it("serves MCP over stdio as .mcp.json says, for the fleet it is started in (a subfolder of it too)", async () => {
    const { command, args } = (
      JSON.parse(readFileSync(path.join(fleet, ".mcp.json"), "utf8")) as { mcpServers: { qemu: { command: string; args: string[] } } }
    ).mcpServers.qemu;
    const cwd = path.join(fleet, "profiles"); // found upward, the way git finds its repository
    const transport = new StdioClientTransport({ command, args, cwd, env: env as Record<string, string>, stderr: "pipe" });
    const client = new Client({ name: "installed-test", version: "1" });
    await client.connect(transport);
    try {
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining(["reconcile", "plan", "apply_vm_spec", "qemu_vm_status"]));
      const listed = (await client.callTool({ name: "list_vms", arguments: {} })).structuredContent as { data: { vms: { name: string }[] } };
      expect(listed.data.vms.map((v) => v.name)).toContain("stub");
    } finally {
      await client.close();
    }
  });

  it("qfleet schema refreshes the schema files; qfleet init refuses an existing fleet", async () => {
    writeFileSync(path.join(fleet, "schemas/vm.schema.json"), "{}\n");
    const r = await qfleet(["schema"]);
    expect(r.stdout).toContain("~ schemas/vm.schema.json (updated)");
    expect(readFileSync(path.join(fleet, "schemas/vm.schema.json"), "utf8")).toBe(
      readFileSync(path.join(REPO_ROOT, "schemas/vm.schema.json"), "utf8"),
    );
    const again = await qfleet(["init"]);
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toMatch(/already holds fleet.yaml, vms\/example.yaml.*writes nothing over existing files/);
  });
});
