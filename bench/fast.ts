import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { execa } from "execa";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { benchFleet, CLI, interleaved, ratioText, stubSpecs, timeMs, type BenchFleet, type Row } from "./lib.js";

/**
 * Issue 13's goals, each against a baseline interleaved in the same run (A, B, A, B...): read-
 * only commands and MCP calls against `node -e 0`, a fleet of 50 running stub VMs, the npm peer
 * qemu-mcp-server for the MCP start (installed into a scratch folder; 300 ms when it cannot be).
 */
const nodeStart = () => timeMs(() => execa("node", ["-e", "0"]));
const ms = (x: number) => `${Math.round(x)} ms`;
const row = (name: string, p: Awaited<ReturnType<typeof interleaved>>, baseline: string, limit: number): Row => ({
  name,
  value: ms(p.value),
  baseline: `${baseline} ${ms(p.base)}`,
  ratio: ratioText(p),
  goal: `<= ${limit}x`,
  ok: p.ratio <= limit,
});

export async function fastAnswers(): Promise<Row[]> {
  const f = benchFleet();
  try {
    stubSpecs(f, 50);
    await f.cli(["reconcile", "--parallel", "10"]);
    const rows: Row[] = [
      // typed alone, as a person or a script asks it (f.cli would add -C DIR, which is a command's option)
      row("qfleet --version", await interleaved(7, nodeStart, () => timeMs(() => execa("node", [CLI, "--version"]))), "node -e 0", 1.5),
      row("qfleet status NAME (one of 50 running)", await interleaved(7, nodeStart, () => f.cli(["status", "b0007"])), "node -e 0", 1.5),
      row("qfleet list, 50 running VMs", await interleaved(7, nodeStart, () => f.cli(["list"])), "node -e 0", 2),
      row("no-op qfleet reconcile, 50 running VMs", await interleaved(7, nodeStart, () => f.cli(["reconcile"])), "node -e 0", 2),
    ];
    rows.push(await mcpStart(f), ...(await mcpWarm(f)));
    return rows;
  } finally {
    f.cleanup();
  }
}

/** Spawn to the first tools/list answer: ours against the npm peer's, interleaved. */
async function mcpStart(f: BenchFleet): Promise<Row> {
  const peer = await installPeer();
  // the peer leaves a folder in $TMPDIR per start: its TMPDIR is the bench fleet's, removed after
  const peerTmp = path.join(f.dir, "peer-tmp");
  mkdirSync(peerTmp);
  const spawnToList = async (command: string, args: string[], env: Record<string, string> = {}) => {
    const t0 = performance.now();
    const client = new Client({ name: "bench", version: "1" });
    await client.connect(new StdioClientTransport({ command, args, env: { ...(process.env as Record<string, string>), ...f.env, ...env } }));
    await client.listTools();
    const took = performance.now() - t0;
    await client.close();
    return took;
  };
  const ours = () => spawnToList("node", [CLI, "mcp", "-C", f.dir]);
  if (!peer) {
    const p = await interleaved(5, async () => 300, ours);
    return { ...row("qfleet mcp spawn -> first tools/list", p, "(peer not installable) fixed", 1), ok: p.value <= 300 };
  }
  return row(
    "qfleet mcp spawn -> first tools/list",
    await interleaved(5, () => spawnToList("node", [peer], { TMPDIR: peerTmp }), ours),
    "npm qemu-mcp-server",
    1,
  );
}

async function installPeer(): Promise<string | null> {
  const dir = "/tmp/qfleet-bench-peer";
  const bin = path.join(dir, "node_modules", "qemu-mcp-server", "dist", "index.js");
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "package.json"), '{"name":"peer","private":true}\n');
  const r = await execa("npm", ["install", "--no-audit", "--no-fund", "qemu-mcp-server"], { cwd: dir, reject: false, timeout: 180_000 });
  return r.exitCode === 0 && existsSync(bin) ? bin : null;
}

/** A warm server (one client, many calls): after 5 calls, the median of 25 calls of each read tool, against 3 ms. */
async function mcpWarm(f: BenchFleet): Promise<Row[]> {
  const client = new Client({ name: "bench", version: "1" });
  await client.connect(
    new StdioClientTransport({ command: "node", args: [CLI, "mcp", "-C", f.dir], env: { ...(process.env as Record<string, string>), ...f.env } }),
  );
  try {
    const rows: Row[] = [];
    for (const [name, args] of [
      ["list_vms", {}],
      ["qemu_list_vms", {}],
      ["qemu_vm_status", { name: "b0007" }],
    ] as const) {
      // warm: the first call starts holding each VM's second QMP monitor, in the background
      for (let i = 0; i < 5; i++) await client.callTool({ name, arguments: args });
      const xs: number[] = [];
      for (let i = 0; i < 25; i++) xs.push(await timeMs(() => client.callTool({ name, arguments: args })));
      xs.sort((a, b) => a - b);
      const med = xs[12];
      rows.push({
        name: `warm MCP ${name}, 50 running VMs (median of 25)`,
        value: `${med.toFixed(1)} ms`,
        baseline: `min ${xs[0].toFixed(1)} ms`,
        ratio: "-",
        goal: "< 3 ms",
        ok: med < 3,
      });
    }
    return rows;
  } finally {
    await client.close();
  }
}
