import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { execa } from "execa";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import path from "node:path";
import { benchFleet, CLI, timeMs, type Row } from "./lib.js";

const execFileP = promisify(execFile);
const fmt = (ms: number) => `${ms.toFixed(1)} ms`;
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * The MCP server's own costs: a tools/call against the same work done directly, the time
 * from spawning `qfleet mcp` to the first tools/list answer, and its idle RSS.
 */
export async function mcpBench(): Promise<Row[]> {
  const f = benchFleet();
  try {
    const image = path.join(f.dir, "disk.qcow2");
    await execa("qemu-img", ["create", "-f", "qcow2", image, "1G"]);
    const direct: number[] = [];
    // the baseline spawns qemu-img the way the server does (node:child_process), without execa's overhead
    for (let i = 0; i < 20; i++) direct.push(await timeMs(() => execFileP("qemu-img", ["info", "--output=json", image])));

    const spawnTimes: number[] = [];
    let rss = 0;
    const viaMcp: number[] = [];
    for (let round = 0; round < 5; round++) {
      const t0 = performance.now();
      const transport = new StdioClientTransport({
        command: "node",
        args: [CLI, "mcp", "-C", f.dir],
        env: { ...(process.env as Record<string, string>), ...f.env },
      });
      const client = new Client({ name: "bench", version: "1" });
      await client.connect(transport);
      await client.listTools();
      spawnTimes.push(performance.now() - t0);
      if (round === 0) {
        for (let i = 0; i < 20; i++) viaMcp.push(await timeMs(() => client.callTool({ name: "qemu_image_info", arguments: { image_path: image } })));
        await new Promise((r) => setTimeout(r, 2000));
        rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${transport.pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
      }
      await client.close();
    }
    const d = med(direct);
    const m = med(viaMcp);
    const s = med(spawnTimes);
    return [
      {
        name: "qemu_image_info via MCP (median of 20)",
        value: fmt(m),
        baseline: `qemu-img info ${fmt(d)}`,
        ratio: `${m - d >= 0 ? "+" : ""}${(m - d).toFixed(1)} ms`,
        goal: "<= +10 ms",
        ok: m - d <= 10,
      },
      { name: "MCP server idle RSS", value: `${rss.toFixed(0)} MB`, baseline: "-", ratio: "-", goal: "< 80 MB", ok: rss < 80 },
    ];
  } finally {
    f.cleanup();
  }
}
