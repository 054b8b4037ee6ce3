import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, connectMcp } from "../helpers/mcp-client.js";
import { freePort, isAlive, makeFleet, stubSpec, type TestFleet } from "../helpers/fleet.js";

/**
 * Two fleets (two folders, each with its own fleet.yaml) sharing one vm_dir, as every checkout
 * on a machine shares /var/lib/qemu: neither changes, prunes or deletes the other's VMs, a
 * name clash is refused naming the owner, and instances from before ownership are adopted by
 * the fleet whose spec names them and pruned by no one else. Real QEMU (stub VMs).
 */
describe("two fleets sharing a vm_dir", () => {
  let a: TestFleet;
  let b: TestFleet;
  const pid = (name: string) => Number(readFileSync(`${a.vmDir}/${name}/qemu.pid`, "utf8").trim());
  const record = (name: string) => JSON.parse(readFileSync(`${a.vmDir}/${name}/applied.json`, "utf8"));
  const idOf = (f: TestFleet) => /^id: (\S+)$/m.exec(readFileSync(`${f.dir}/fleet.yaml`, "utf8"))![1];

  beforeAll(async () => {
    a = makeFleet();
    b = makeFleet({ vmDir: a.vmDir });
    a.spec("shared", stubSpec(`ssh: { port: ${await freePort()} }\n`));
    a.spec("a1", stubSpec());
    const r = await a.qfleet(["reconcile"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/note: created fleet\.yaml: this fleet's identity \(id [0-9a-f]{16}\)/);
  });
  afterAll(async () => {
    await b?.cleanup();
    await a?.cleanup();
  });

  it("records the owning fleet and the files it made in each instance", () => {
    expect(record("a1").owner).toMatchObject({ id: idOf(a), dir: a.dir });
    expect(record("a1").files).toEqual(["applied.json", "console.sock", "qemu.pid", "qga.sock", "qmp.sock", "qmp2.sock", "serial.log"]);
  });

  it("refuses a spec of the same name in the other fleet, naming the owner, and leaves the VM as it runs", async () => {
    const before = pid("shared");
    b.spec("shared", stubSpec("memory: 48M\n").replace("memory: 32M\n", ""));
    const plan = await b.qfleet(["plan"]);
    expect(plan.stdout).toContain(`! refused shared: ${a.vmDir}/shared is owned by the fleet at ${a.dir} (id ${idOf(a)})`);
    const r = await b.qfleet(["reconcile"]);
    expect(r.exitCode).toBe(1);
    expect(pid("shared")).toBe(before);
    expect(isAlive(before)).toBe(true);
    expect(record("shared").vm.memory).toBe(32 * 2 ** 20);
  });

  it("never prunes the other fleet's VMs, and does not even list them in its plan", async () => {
    const before = pid("a1");
    const r = await b.qfleet(["reconcile", "--prune"]);
    expect(r.stdout).not.toContain("a1");
    expect(isAlive(before)).toBe(true);
    expect(record("a1").owner.id).toBe(idOf(a));
  });

  it("prunes nothing of the other fleet through MCP reconcile either", async () => {
    const before = pid("a1");
    const mcp = await connectMcp(b);
    try {
      const r = await call<{ success: boolean; plan_text: string }>(mcp.client, "reconcile", { prune: true, confirm: true });
      expect(r.success).toBe(false); // 'shared' is refused: the run did not make the specs true
      expect(r.plan_text).not.toContain("a1");
    } finally {
      await mcp.close();
    }
    expect(isAlive(before)).toBe(true);
  });

  it("lists the other fleet's VMs with their owner", async () => {
    const r = await b.qfleet(["list", "--json"]);
    const rows = JSON.parse(r.stdout).vms as { name: string; status: string; owner?: string }[];
    expect(rows.find((v) => v.name === "a1")).toMatchObject({ status: "running", owner: `the fleet at ${a.dir} (id ${idOf(a)})` });
    const own = JSON.parse((await a.qfleet(["list", "--json"])).stdout).vms as { name: string; owner?: string }[];
    expect(own.find((v) => v.name === "a1")?.owner).toBeUndefined();
    expect((await b.qfleet(["list"])).stdout).toMatch(/a1 .* running .*the fleet at/);
  });

  it("an instance from before ownership is pruned by no one, and adopted by the fleet whose spec names it", async () => {
    a.spec("legacy", stubSpec());
    expect((await a.qfleet(["reconcile", "--only", "legacy"])).exitCode).toBe(0);
    const old = record("legacy");
    delete old.owner;
    delete old.files;
    writeFileSync(`${a.vmDir}/legacy/applied.json`, JSON.stringify(old));
    const before = pid("legacy");

    const pruned = await b.qfleet(["reconcile", "--prune", "--only", "legacy"]);
    expect(pruned.stdout).toContain("? orphan legacy: no spec in vms/ and no owner recorded");
    expect(isAlive(before)).toBe(true);

    const plan = await a.qfleet(["plan", "--only", "legacy"]);
    expect(plan.stdout).toContain("~ update (live) legacy");
    expect(plan.stdout).toMatch(/owner: \(none\) -> the fleet at .* \[live\]  \(adopted: made before qemu-fleet recorded owners\)/);
    expect((await a.qfleet(["reconcile", "--only", "legacy"])).exitCode).toBe(0);
    expect(record("legacy").owner.id).toBe(idOf(a));
    expect(record("legacy").files).toContain("qmp.sock");
    expect(pid("legacy")).toBe(before); // adopted live, not restarted
  });
});
