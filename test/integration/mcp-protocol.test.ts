import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { execa } from "execa";
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, freePort, makeFleet, type TestFleet } from "../helpers/fleet.js";
import { REPO_ROOT } from "../helpers/guest.js";
import { connectMcp } from "../helpers/mcp-client.js";

const READ_ONLY = [
  "qemu_image_info",
  "qemu_list_vms",
  "qemu_vm_status",
  "list_vms",
  "monitor_vm_status",
  "get_vm_spec",
  "list_vm_specs",
  "plan",
  "vm_console_read",
  "vm_console_wait",
  "vm_screenshot",
];
const DESTRUCTIVE = [
  "vm_send_keys",
  "vm_type_text",
  "qemu_image_resize",
  "qemu_stop_vm",
  "manage_vm",
  "apply_vm_spec",
  "reconcile",
  "vm_exec",
  "vm_copy_to",
  "vm_copy_from",
  "vm_snapshot",
  "vm_reset",
  "vm_console_send",
];
const REFERENCE = [
  "qemu_image_info",
  "qemu_image_convert",
  "qemu_create_overlay",
  "qemu_image_resize",
  "qemu_boot_vm",
  "qemu_list_vms",
  "qemu_stop_vm",
  "qemu_vm_status",
  "manage_vm",
  "list_vms",
  "monitor_vm_status",
];

describe("MCP protocol (real client, built server over stdio and HTTP)", () => {
  let f: TestFleet;
  beforeAll(() => {
    f = makeFleet();
  });
  afterAll(() => f.cleanup());

  it("tools/list carries titles, descriptions, input and output schemas, and honest annotations", async () => {
    const { client, close } = await connectMcp(f);
    try {
      const { tools } = await client.listTools();
      const names = tools.map((t) => t.name);
      for (const n of [...REFERENCE, "get_vm_spec", "list_vm_specs", "apply_vm_spec", "plan", "reconcile"]) expect(names).toContain(n);
      for (const t of tools) {
        expect(t.title, t.name).toBeTruthy();
        expect(t.description!.length, t.name).toBeGreaterThan(40);
        expect(t.outputSchema?.type, t.name).toBe("object");
        expect(t.annotations?.readOnlyHint, t.name).toBe(READ_ONLY.includes(t.name));
        if (!READ_ONLY.includes(t.name)) expect(t.annotations?.destructiveHint, t.name).toBe(DESTRUCTIVE.includes(t.name));
      }
      const manage = tools.find((t) => t.name === "manage_vm")!;
      expect(Object.keys(manage.inputSchema.properties!)).toEqual(
        expect.arrayContaining([
          "name",
          "action",
          "arch",
          "memory",
          "disk",
          "iso",
          "vcpus",
          "vm_dir",
          "host",
          "ssh_port",
          "ssh_user",
          "ssh_pwd",
          "ssh_key",
        ]),
      );
      expect((manage.inputSchema.properties!.action as { enum: string[] }).enum).toEqual(["create", "start", "stop", "delete", "modify"]);
      const monitor = tools.find((t) => t.name === "monitor_vm_status")!;
      expect(monitor.inputSchema.properties!.count).toMatchObject({ minimum: 1, maximum: 60 });
    } finally {
      await close();
    }
  });

  it("--read-only registers only the tools that change nothing", async () => {
    const { client, close } = await connectMcp(f, { args: ["--read-only"] });
    try {
      const names = (await client.listTools()).tools.map((t) => t.name).sort();
      expect(names).toEqual([...READ_ONLY].sort());
    } finally {
      await close();
    }
  });

  it("an independent client (MCP Inspector CLI 0.15.0) lists the tools and calls one", async () => {
    const inspector = path.join(REPO_ROOT, "node_modules", ".bin", "mcp-inspector");
    const base = ["--cli", "node", CLI, "mcp", "-C", f.dir];
    const list = await execa(inspector, [...base, "--method", "tools/list"], { env: f.env, timeout: 60_000 });
    expect(JSON.parse(list.stdout).tools.map((t: { name: string }) => t.name)).toContain("qemu_boot_vm");
    const called = await execa(inspector, [...base, "--method", "tools/call", "--tool-name", "list_vms"], { env: f.env, timeout: 60_000 });
    expect(JSON.parse(called.stdout).structuredContent).toMatchObject({ success: true, data: { host: "localhost", vm_count: 0, vms: [] } });
  });

  describe("Streamable HTTP", () => {
    let server: ChildProcess;
    let port: number;
    const token = "test-token-0123456789";
    beforeAll(async () => {
      port = await freePort();
      server = spawn("node", [CLI, "mcp", "--http", "--port", String(port), "-C", f.dir], {
        env: { ...process.env, ...f.env, QFLEET_MCP_TOKEN: token },
        stdio: ["ignore", "ignore", "pipe"],
      });
      await new Promise<void>((resolve, reject) => {
        server.stderr!.on("data", (d: Buffer) => d.toString().includes("listening") && resolve());
        server.once("exit", (c) => reject(new Error(`server exited ${c}`)));
      });
    });
    afterAll(() => void server?.kill("SIGTERM"));

    const init = {
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } },
    };
    const post = (headers: Record<string, string>) =>
      fetch(`http://127.0.0.1:${port}/mcp`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
        body: JSON.stringify(init),
      });

    it("refuses requests without the bearer token, or with a foreign Host or Origin", async () => {
      expect((await post({})).status).toBe(401);
      expect((await post({ authorization: "Bearer wrong" })).status).toBe(401);
      expect((await post({ authorization: `Bearer ${token}`, origin: "http://evil.example" })).status).toBe(403);
      const rebinding = await new Promise<number>((resolve) => {
        import("node:http").then((http) =>
          http
            .request(
              { host: "127.0.0.1", port, path: "/mcp", method: "POST", headers: { host: `evil.example:${port}`, authorization: `Bearer ${token}` } },
              (res) => resolve(res.statusCode!),
            )
            .end("{}"),
        );
      });
      expect(rebinding).toBe(403);
    });

    it("reads the Authorization scheme case-insensitively, as HTTP says", async () => {
      for (const scheme of ["bearer", "BEARER", "Bearer"]) expect((await post({ authorization: `${scheme} ${token}` })).status, scheme).toBe(200);
      expect((await post({ authorization: `Basic ${token}` })).status).toBe(401);
    });

    it("serves a real client with the token", async () => {
      const client = new Client({ name: "http-test", version: "1" });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`), {
          requestInit: { headers: { authorization: `Bearer ${token}` } },
        }),
      );
      try {
        const r = await client.callTool({ name: "list_vm_specs", arguments: {} });
        expect(r.structuredContent).toMatchObject({ specs: [], invalid: [], problems: [] });
      } finally {
        await client.close();
      }
    });
  });
});
