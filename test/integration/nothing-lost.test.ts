import { execa } from "execa";
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, makeFleet, stubSpec, waitGone, type TestFleet } from "../helpers/fleet.js";
import { call, callError, connectMcp } from "../helpers/mcp-client.js";

/**
 * qemu-fleet deletes only what it made, never adopts a folder it did not make, never follows a
 * symlink, and lets no model lift protection by itself. Each case here broke on the main
 * before fleet ownership (issue 9); real QEMU (stub VMs) and the real CLI and MCP server.
 */
describe("nothing lost", () => {
  let f: TestFleet;
  const inst = (name: string) => `${f.vmDir}/${name}`;
  const virtualSize = async (file: string) => JSON.parse((await execa("qemu-img", ["info", "-U", "--output=json", file])).stdout)["virtual-size"];

  beforeAll(() => {
    f = makeFleet();
  });
  afterAll(() => f.cleanup());

  it("refuses a folder it did not make at a VM's place, and never writes into it or removes it", async () => {
    mkdirSync(inst("proj"), { recursive: true });
    writeFileSync(`${inst("proj")}/notes.txt`, "mine\n");
    writeFileSync(`${inst("proj")}/data.raw`, "precious");
    f.spec("proj", stubSpec());
    const plan = await f.qfleet(["plan"]);
    expect(plan.stdout).toContain(
      `! refused proj: ${inst("proj")} is a folder qemu-fleet did not make (no applied.json), holding data.raw, notes.txt`,
    );
    const r = await f.qfleet(["reconcile"]);
    expect(r.exitCode).toBe(1);
    expect(readdirSync(inst("proj")).sort()).toEqual(["data.raw", "notes.txt"]);

    f.spec("proj", stubSpec("state: absent\n"));
    const gone = await f.qfleet(["reconcile"]);
    expect(gone.exitCode, gone.stdout + gone.stderr).toBe(0);
    expect(readFileSync(`${inst("proj")}/data.raw`, "utf8")).toBe("precious");
  });

  it("deletes only the files it made: a path: image inside the folder and a stray file are kept, and said so", async () => {
    f.spec("keep", stubSpec("disks:\n  - size: 64M\n"));
    expect((await f.qfleet(["reconcile", "--only", "keep"])).exitCode).toBe(0);
    await execa("qemu-img", ["create", "-f", "raw", `${inst("keep")}/mydata.raw`, "1M"]);
    writeFileSync(`${inst("keep")}/notes.txt`, "mine\n");
    f.spec("keep", stubSpec(`disks:\n  - size: 64M\n  - path: ${inst("keep")}/mydata.raw\n    format: raw\n`));
    expect((await f.qfleet(["reconcile", "--only", "keep"])).exitCode).toBe(0);

    f.spec("keep", stubSpec(`state: absent\ndisks:\n  - size: 64M\n  - path: ${inst("keep")}/mydata.raw\n    format: raw\n`));
    const r = await f.qfleet(["reconcile", "--only", "keep", "--json"]);
    expect(r.exitCode, r.stdout).toBe(0);
    const steps = JSON.parse(r.stdout).results[0].steps.join("\n");
    expect(steps).toContain("kept: mydata.raw (not created by qemu-fleet), notes.txt (not created by qemu-fleet)");
    expect(readdirSync(inst("keep")).sort()).toEqual(["mydata.raw", "notes.txt"]);
  });

  it("never follows a symlink planted where a disk it made belongs", async () => {
    f.spec("ln", stubSpec("state: stopped\ndisks:\n  - size: 64M\n"));
    expect((await f.qfleet(["reconcile", "--only", "ln"])).exitCode).toBe(0);
    const target = `${f.dir}/target.qcow2`;
    await execa("qemu-img", ["create", "-f", "qcow2", target, "64M"]);
    unlinkSync(`${inst("ln")}/disk0.qcow2`);
    symlinkSync(target, `${inst("ln")}/disk0.qcow2`);
    f.spec("ln", stubSpec("state: stopped\ndisks:\n  - size: 128M\n"));
    const r = await f.qfleet(["reconcile", "--only", "ln"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/disk0\.qcow2 in .* is a symbolic link: qemu-fleet never follows a link in an instance folder/);
    expect(await virtualSize(target)).toBe(64 * 2 ** 20);
  });

  it("never follows a symlink planted where QEMU writes its console log", async () => {
    f.spec("ln2", stubSpec("state: stopped\n"));
    expect((await f.qfleet(["reconcile", "--only", "ln2"])).exitCode).toBe(0);
    const victim = `${f.dir}/victim.txt`;
    writeFileSync(victim, "untouched\n");
    symlinkSync(victim, `${inst("ln2")}/serial.log`);
    f.spec("ln2", stubSpec("state: running\n"));
    const r = await f.qfleet(["reconcile", "--only", "ln2"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("serial.log in");
    expect(f.qemuPids().length).toBe(0);
    expect(readFileSync(victim, "utf8")).toBe("untouched\n");
  });

  it("a launch that failed leaves an instance the next run finishes or state: absent removes, nothing else", async () => {
    const port = await freePort();
    const blocker = net.createServer().listen(port, "127.0.0.1");
    await new Promise((r) => blocker.once("listening", r));
    f.spec("fl", stubSpec(`ssh: { port: ${port} }\ndisks:\n  - size: 64M\n`));
    const failed = await f.qfleet(["reconcile", "--only", "fl"]);
    await new Promise((r) => blocker.close(r));
    expect(failed.exitCode).toBe(1);
    expect(failed.stderr).toContain(`fl: host port ${port} on 127.0.0.1 is already in use`);
    const retried = await f.qfleet(["reconcile", "--only", "fl"]);
    expect(retried.exitCode, retried.stderr).toBe(0);
    expect(retried.stdout).toContain("> start fl");

    f.spec("fl", stubSpec(`state: absent\nssh: { port: ${port} }\ndisks:\n  - size: 64M\n`));
    expect((await f.qfleet(["reconcile", "--only", "fl"])).exitCode).toBe(0);
    expect(existsSync(inst("fl"))).toBe(false);
  });

  it("refuses at plan time what QEMU would refuse: too many vCPUs for the machine, too long a socket path", async () => {
    f.spec("many", stubSpec().replace("vcpus: 1\n", "vcpus: 300\n"));
    const deep = `${f.dir}/${"d".repeat(90)}`;
    f.spec("deep", stubSpec(`vm_dir: ${deep}\n`));
    const plan = await f.qfleet(["plan", "--only", "many,deep"]);
    expect(plan.stdout).toMatch(
      /! refused many: QEMU on local does not take 300 vCPUs for this machine: .*max CPUs supported by machine 'pc-q35-[\d.]+' is 288/,
    );
    expect(plan.stdout).toMatch(/! refused deep: the socket path .*\/console\.sock is \d+ bytes; unix sockets allow at most 107/);
    expect((await f.qfleet(["reconcile", "--only", "many,deep"])).exitCode).toBe(1);
    expect(existsSync(inst("many"))).toBe(false);
    expect(existsSync(`${deep}/deep`)).toBe(false); // (the vm_dir itself is made to hold the reconcile lock)
    f.spec("many", stubSpec("state: absent\n"));
    f.spec("deep", stubSpec("state: absent\n"));
  });

  it("refuses at plan time a host port another QEMU holds, naming it", async () => {
    const port = await freePort();
    f.spec("p1", stubSpec(`ssh: { port: ${port} }\n`));
    expect((await f.qfleet(["reconcile", "--only", "p1"])).exitCode).toBe(0);
    const other = makeFleet({ vmDir: f.vmDir });
    try {
      other.spec("p2", stubSpec(`ssh: { port: ${port} }\n`));
      const plan = await other.qfleet(["plan"]);
      expect(plan.stdout).toContain(`! refused p2: host port ${port} is in use by VM p1 of the fleet at ${f.dir}`);
    } finally {
      await execa("rm", ["-rf", other.dir]); // shares f's vm dir: only its own folder goes
    }
    f.spec("p1", stubSpec(`state: absent\nssh: { port: ${port} }\n`));
  });

  describe("over MCP, protection needs a person", () => {
    beforeAll(async () => {
      f.spec("prot", stubSpec("protected: true\nstate: stopped\n"));
      expect((await f.qfleet(["reconcile", "--only", "prot"])).exitCode).toBe(0);
    });

    it("refuses a patch lifting protected without confirmation, and a delete after it", async () => {
      const mcp = await connectMcp(f);
      try {
        const err = await callError(mcp.client, "apply_vm_spec", { name: "prot", patch: { protected: false } });
        expect(err).toContain("needs confirmation: This lifts protected: true from VM prot");
        expect(readFileSync(`${f.dir}/vms/prot.yaml`, "utf8")).toContain("protected: true");
        expect(await callError(mcp.client, "manage_vm", { name: "prot", action: "delete", confirm: true })).toContain("VM prot is protected");
        const whole = await callError(mcp.client, "apply_vm_spec", {
          name: "prot",
          spec: { vcpus: 1, memory: "32M", accel: "tcg", state: "stopped" },
        });
        expect(whole).toContain("needs confirmation"); // a whole spec that leaves protected out lifts it too
        const absent = await callError(mcp.client, "apply_vm_spec", { name: "prot", patch: { state: "absent" }, reconcile: false });
        expect(absent).toContain("needs confirmation: state: absent deletes VM prot");
        expect(existsSync(`${inst("prot")}/applied.json`)).toBe(true);
      } finally {
        await mcp.close();
      }
    });

    it("asks the person through elicitation, and a 'no' changes nothing while a 'yes' does", async () => {
      const no = await connectMcp(f, { elicit: () => ({ action: "decline" }) });
      try {
        expect(await callError(no.client, "apply_vm_spec", { name: "prot", patch: { protected: false }, confirm: true })).toContain(
          "not confirmed (decline)",
        );
        expect(no.elicited[0]).toContain("lifts protected: true");
      } finally {
        await no.close();
      }
      expect(readFileSync(`${f.dir}/vms/prot.yaml`, "utf8")).toContain("protected: true");
      const yes = await connectMcp(f, { elicit: () => ({ action: "accept", content: { confirm: true } }) });
      try {
        const r = await call<{ success: boolean }>(yes.client, "apply_vm_spec", { name: "prot", patch: { protected: false } });
        expect(r.success).toBe(true);
      } finally {
        await yes.close();
      }
      expect(readFileSync(`${f.dir}/vms/prot.yaml`, "utf8")).toContain("protected: false");
    });
  });

  it("state: absent everywhere stops every QEMU of this file, and keeps the planted links", async () => {
    for (const file of readdirSync(`${f.dir}/vms`)) f.spec(file.replace(/\.yaml$/, ""), stubSpec("state: absent\n"));
    const r = await f.qfleet(["reconcile"]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    for (const p of f.qemuPids()) expect(await waitGone(p)).toBe(true);
    expect(readdirSync(inst("ln"))).toEqual(["disk0.qcow2"]); // the link is not ours to remove
    expect(r.stdout + r.stderr).not.toContain("proj"); // never an instance: nothing to delete
  });
});
