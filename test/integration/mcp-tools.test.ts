import { execa } from "execa";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, isAlive, makeFleet, waitGone, type TestFleet } from "../helpers/fleet.js";
import { ensureGuest, sshRun, type GuestManifest } from "../helpers/guest.js";
import { call, callError, connectMcp } from "../helpers/mcp-client.js";

const sha = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");
const virtualSize = async (p: string) => JSON.parse((await execa("qemu-img", ["info", "-U", "--output=json", p])).stdout)["virtual-size"] as number;

/** Every tool through a real MCP client against the built server, real qemu-img and real QEMU. */
describe("MCP tools (real client, real QEMU)", () => {
  let f: TestFleet;
  let mcp: Awaited<ReturnType<typeof connectMcp>>;
  let guest: GuestManifest;
  beforeAll(async () => {
    f = makeFleet();
    guest = await ensureGuest("x86_64");
    mcp = await connectMcp(f);
  });
  afterAll(async () => {
    await mcp?.close();
    await f.cleanup();
  });

  it("image tools: info, convert (with progress), overlay, resize; bad input is an error result", async () => {
    const raw = `${f.dir}/img.raw`;
    await execa("qemu-img", ["create", "-f", "raw", raw, "8M"]);
    const info = await call(mcp.client, "qemu_image_info", { image_path: raw });
    expect(info).toMatchObject({ format: "raw", "virtual-size": 8 * 2 ** 20, "virtual-size-human": "8.0 MB" });
    expect(await callError(mcp.client, "qemu_image_info", { image_path: `${f.dir}/nope.qcow2` })).toMatch(/no such file/);

    const progress: number[] = [];
    const r = await mcp.client.callTool({ name: "qemu_image_convert", arguments: { image_path: raw, output_format: "qcow2" } }, undefined, {
      onprogress: (p) => void progress.push(p.progress),
    });
    expect(r.structuredContent).toMatchObject({ success: true, output_path: `${f.dir}/img.qcow2`, output_format: "qcow2", output_size: "8.0 MB" });
    expect(progress.length).toBeGreaterThan(0);
    expect(await call(mcp.client, "qemu_image_info", { image_path: `${f.dir}/img.qcow2` })).toMatchObject({ format: "qcow2", "cluster-size": 65536 });
    expect(await callError(mcp.client, "qemu_image_convert", { image_path: raw, output_format: "qcow2" })).toMatch(/exists/);
    expect(await callError(mcp.client, "qemu_image_convert", { image_path: raw, output_format: "iso" })).toMatch(/Invalid|invalid/);

    const ov = await call(mcp.client, "qemu_create_overlay", { base_image: `${f.dir}/img.qcow2` });
    expect(ov).toMatchObject({ success: true, overlay_path: `${f.dir}/img-overlay.qcow2`, backing_file: `${f.dir}/img.qcow2` });
    expect(await callError(mcp.client, "qemu_create_overlay", { base_image: `${f.dir}/img.qcow2` })).toMatch(/exists/);

    expect(await call(mcp.client, "qemu_image_resize", { image_path: raw, size: "+8M" })).toMatchObject({ success: true, new_size: 16 * 2 ** 20 });
    expect(await callError(mcp.client, "qemu_image_resize", { image_path: raw, size: "ten" })).toMatch(/like \+10G/);
  });

  it("a shrink without confirmation changes nothing; with confirm: true it shrinks", async () => {
    const raw = `${f.dir}/img.raw`;
    const before = sha(raw);
    const msg = await callError(mcp.client, "qemu_image_resize", { image_path: raw, size: "-8M" });
    expect(msg).toMatch(/needs confirmation: shrinking .* loses data/);
    expect(sha(raw)).toBe(before);
    expect(await virtualSize(raw)).toBe(16 * 2 ** 20);
    expect(await call(mcp.client, "qemu_image_resize", { image_path: raw, size: "-8M", confirm: true })).toMatchObject({ new_size: 8 * 2 ** 20 });
  });

  it("qemu_boot_vm boots the golden disk image on an overlay and qemu_vm_status sees SSH come up", async () => {
    const port = await freePort();
    const boot = await call<{ name: string; pid: number; ssh_port: number; accelerator: string; ssh_command: string }>(mcp.client, "qemu_boot_vm", {
      image_path: guest.disk!,
      name: "golden",
      ssh_port: port,
      memory: "256M",
      cpus: 1,
      cloud_init: false, // the tiny guest is no cloud image: root logs in with its own key
    });
    expect(boot).toMatchObject({
      success: true,
      name: "golden",
      ssh_port: port,
      accelerator: "tcg",
      ssh_command: `ssh -p ${port} root@localhost`,
      ssh_user: "root",
    });
    expect(isAlive(boot.pid)).toBe(true);
    expect(readFileSync(`${f.dir}/vms/golden.yaml`, "utf8")).toMatch(/overlay: true/);
    let st: Record<string, unknown> = {};
    for (const end = Date.now() + 120_000; Date.now() < end && !st.ssh_accessible;) st = await call(mcp.client, "qemu_vm_status", { name: "golden" });
    expect(st).toMatchObject({
      ssh_port: port,
      status: "running",
      process_running: true,
      ssh_accessible: true,
      message: `VM is running and SSH accessible on port ${port}`,
    });
    expect((await sshRun(port, "uname -m", guest)).stdout.trim()).toBe("x86_64");
    expect(await call(mcp.client, "qemu_vm_status", { ssh_port: port })).toMatchObject({ name: "golden", ssh_accessible: true });

    const busy = await callError(mcp.client, "qemu_boot_vm", { image_path: guest.disk!, name: "golden2", ssh_port: port });
    expect(busy).toMatch(new RegExp(`port ${port} .* in use`));
    expect(existsSync(`${f.dir}/vms/golden2.yaml`)).toBe(false);

    const listed = await call<{ vms: { name: string; managed: boolean; pid: number }[] }>(mcp.client, "qemu_list_vms");
    expect(listed.vms).toContainEqual(expect.objectContaining({ name: "golden", managed: true, pid: boot.pid }));
    const stop = await call(mcp.client, "qemu_stop_vm", { ssh_port: port });
    expect(stop).toMatchObject({ success: true, name: "golden", managed: true, method: "powerdown" });
    expect(await waitGone(boot.pid)).toBe(true);
    expect(readFileSync(`${f.dir}/vms/golden.yaml`, "utf8")).toMatch(/^state: stopped$/m);
    expect(await callError(mcp.client, "qemu_stop_vm", {})).toMatch(/exactly one of name, pid or ssh_port/);
  });

  it("qemu_boot_vm does not take a port a QEMU in another network namespace forwards (the plan would refuse it)", async () => {
    const port = await freePort();
    const qemu = `exec qemu-system-x86_64 -machine q35 -accel tcg -m 32M -nodefaults -display none -netdev user,id=n0,hostfwd=tcp:127.0.0.1:${port}-:22 -device virtio-net-pci,netdev=n0,romfile=`;
    const other = execa("unshare", ["-n", "sh", "-c", `ip link set lo up && ${qemu}`], { reject: false });
    try {
      await expect.poll(() => readFileSync(`/proc/${other.pid}/cmdline`, "utf8").startsWith("qemu-system-"), { timeout: 10_000 }).toBe(true);
      const busy = await callError(mcp.client, "qemu_boot_vm", { image_path: guest.disk!, name: "golden3", ssh_port: port });
      expect(busy).toMatch(new RegExp(`port ${port} .* in use by QEMU pid ${other.pid}`));
      expect(existsSync(`${f.dir}/vms/golden3.yaml`)).toBe(false);
    } finally {
      other.kill("SIGKILL");
      await other;
    }
  });

  it("manage_vm: create writes a valid spec, modify keeps comments and says it restarts, delete needs confirmation", async () => {
    const created = await call<{ data: { details: { spec_file: string } } }>(mcp.client, "manage_vm", {
      name: "m1",
      action: "create",
      memory: "32M",
      vcpus: 1,
      disk: "size=64M",
    });
    expect(created).toMatchObject({
      success: true,
      message: "VM m1 created successfully",
      data: { host: "localhost", vm_name: "m1", action: "create" },
    });
    expect(await callError(mcp.client, "manage_vm", { name: "m1", action: "create" })).toMatch(/VM already exists/);
    const file = created.data.details.spec_file;
    writeFileSync(file, `# owned by the QA team\n${readFileSync(file, "utf8")}`);
    const pid = Number(readFileSync(`${f.vmDir}/m1/qemu.pid`, "utf8"));

    const mod = await call<{ data: { details: { restarted: boolean; changes: { field: string }[] } } }>(mcp.client, "manage_vm", {
      name: "m1",
      action: "modify",
      memory: "48M",
    });
    expect(mod.data.details.restarted).toBe(true);
    expect(mod.data.details.changes.map((c) => c.field)).toEqual(["memory"]);
    expect(readFileSync(file, "utf8")).toMatch(/^# owned by the QA team$/m);
    expect((await f.qfleet(["validate"])).exitCode).toBe(0);
    expect(await waitGone(pid)).toBe(true);

    const listed = await call<{ data: { vms: { name: string; memory: string; status: string }[] } }>(mcp.client, "list_vms", { filter_name: "m" });
    expect(listed.data.vms).toContainEqual(expect.objectContaining({ name: "m1", memory: "48.0 MB", status: "running" }));
    expect(await callError(mcp.client, "list_vms", { status: "sleeping" })).toMatch(/Invalid|invalid/);

    const refused = await callError(mcp.client, "manage_vm", { name: "m1", action: "delete" });
    expect(refused).toMatch(/needs confirmation: Deleting VM m1/);
    expect(existsSync(file)).toBe(true);
    expect(existsSync(`${f.vmDir}/m1/disk0.qcow2`)).toBe(true);
    expect(await call(mcp.client, "manage_vm", { name: "m1", action: "delete", confirm: true })).toMatchObject({
      success: true,
      message: "VM m1 deleted successfully",
    });
    expect(existsSync(file)).toBe(false);
    expect(existsSync(`${f.vmDir}/m1`)).toBe(false);
  });

  it("manage_vm refuses a password without the opt-in, naming the safe ways, before touching hosts.yaml", async () => {
    const pwd = await callError(mcp.client, "manage_vm", { name: "r1", action: "create", host: "10.9.9.9", ssh_user: "ops", ssh_pwd: "hunter2" });
    expect(pwd).toMatch(/ssh_pwd is refused/);
    expect(pwd).toMatch(/--allow-ssh-password/);
    expect(pwd).toMatch(/password_env/);
    expect(pwd).not.toContain("hunter2");
    expect(existsSync(`${f.dir}/vms/r1.yaml`)).toBe(false);
    expect(existsSync(`${f.dir}/hosts.yaml`)).toBe(false);
  });

  it("declarative tools: apply_vm_spec validates with line and field, writes, reconciles; get/list specs; plan; reconcile", async () => {
    const bad = await callError(mcp.client, "apply_vm_spec", { name: "d1", spec: { memory: "lots", vcpus: 1 } });
    expect(bad).toMatch(/vms\/d1\.yaml:\d+:\d+: memory/);
    expect(existsSync(`${f.dir}/vms/d1.yaml`)).toBe(false);
    const ok = await call<{ success: boolean; plan_text: string }>(mcp.client, "apply_vm_spec", {
      name: "d1",
      spec: { memory: "32M", vcpus: 1, accel: "tcg" },
    });
    expect(ok.success).toBe(true);
    expect(ok.plan_text).toContain("+ create d1");
    const spec = await call<{ yaml: string; spec: { memory: number }; valid: boolean }>(mcp.client, "get_vm_spec", { name: "d1" });
    expect(spec).toMatchObject({ valid: true, spec: { memory: 32 * 2 ** 20 } });
    expect(spec.yaml).toMatch(/^# yaml-language-server: \$schema=/);
    expect(await callError(mcp.client, "get_vm_spec", { name: "nope" })).toMatch(/no spec vms\/nope\.yaml/);
    const specs = await call<{ specs: { name: string }[] }>(mcp.client, "list_vm_specs");
    expect(specs.specs.map((s) => s.name)).toContain("d1");

    await call(mcp.client, "apply_vm_spec", { name: "d1", patch: { vcpus: 2 }, reconcile: false });
    const plan = await call<{ text: string }>(mcp.client, "plan", { names: ["d1"] });
    expect(plan.text).toContain("~ update (restart) d1");
    expect(await callError(mcp.client, "plan", { names: ["../x"] })).toMatch(/Invalid|invalid/);
    const progress: string[] = [];
    const rec = await mcp.client.callTool({ name: "reconcile", arguments: { names: ["d1"] } }, undefined, {
      onprogress: (p) => void progress.push(String(p.message)),
      timeout: 120_000,
    });
    expect(rec.structuredContent).toMatchObject({ success: true });
    expect(progress.some((m) => m.includes("d1"))).toBe(true);

    const absent = await callError(mcp.client, "apply_vm_spec", { name: "d1", patch: { state: "absent" } });
    expect(absent).toMatch(/needs confirmation/);
    expect(readFileSync(`${f.dir}/vms/d1.yaml`, "utf8")).not.toMatch(/absent/);
    expect(await callError(mcp.client, "reconcile", { prune: "yes" })).toMatch(/Invalid|invalid/);
  });

  it("monitor_vm_status samples a running VM with a progress notification per sample; count 0 and a stopped VM are clear errors", async () => {
    const seen = mcp.progress.length;
    const r = await mcp.client.callTool(
      { name: "monitor_vm_status", arguments: { name: "d1", metrics: "cpu,memory", interval: 1, count: 2 } },
      undefined,
      {
        onprogress: () => undefined,
        timeout: 60_000,
      },
    );
    expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
    const data = (
      r.structuredContent as {
        data: {
          host: string;
          vm_name: string;
          timestamp: string[];
          metrics_data: { memory: { configured_bytes: number[] }; cpu: { percent: unknown[] } };
        };
      }
    ).data;
    expect(data).toMatchObject({ host: "localhost", vm_name: "d1" });
    expect(data.timestamp).toHaveLength(2);
    expect(data.metrics_data.memory.configured_bytes).toEqual([32 * 2 ** 20, 32 * 2 ** 20]);
    expect(data.metrics_data.cpu.percent).toHaveLength(2);
    expect(mcp.progress.slice(seen).map((p) => p.progress)).toEqual([1, 2]); // as sent on the wire, one per sample
    expect(await callError(mcp.client, "monitor_vm_status", { name: "d1", count: 0 })).toMatch(/count 0 .* cannot work inside one tool call/);
    expect(await callError(mcp.client, "monitor_vm_status", { name: "golden" })).toMatch(/not running/);
  });

  it("resources: spec, status and the serial console tail of a VM", async () => {
    const { resources } = await mcp.client.listResources();
    expect(resources.map((r) => r.uri)).toEqual(
      expect.arrayContaining(["qfleet://vm/d1/spec", "qfleet://vm/d1/status", "qfleet://vm/golden/console"]),
    );
    const spec = await mcp.client.readResource({ uri: "qfleet://vm/d1/spec" });
    expect((spec.contents[0] as { text: string }).text).toMatch(/vcpus: 2/);
    const status = JSON.parse(((await mcp.client.readResource({ uri: "qfleet://vm/d1/status" })).contents[0] as { text: string }).text);
    expect(status).toMatchObject({ name: "d1", status: "running" });
    const console = ((await mcp.client.readResource({ uri: "qfleet://vm/golden/console" })).contents[0] as { text: string }).text;
    expect(console.length).toBeGreaterThan(100); // the tiny guest's boot messages and login prompt
  });
});

describe("MCP elicitation (a client that can ask the person)", () => {
  let f: TestFleet;
  beforeAll(() => {
    f = makeFleet();
    f.spec("e1", "vcpus: 1\nmemory: 32M\naccel: tcg\n");
  });
  afterAll(() => f.cleanup());

  it("asks the person; a decline changes nothing even with confirm: true, an accept deletes", async () => {
    expect((await f.qfleet(["reconcile"])).exitCode).toBe(0);
    let answer = false;
    const m = await connectMcp(f, { elicit: () => ({ action: answer ? "accept" : "decline", content: answer ? { confirm: true } : undefined }) });
    try {
      const declined = await callError(m.client, "manage_vm", { name: "e1", action: "delete", confirm: true });
      expect(declined).toMatch(/not confirmed \(decline\)/);
      expect(m.elicited[0]).toMatch(/Deleting VM e1/);
      expect(existsSync(`${f.vmDir}/e1/applied.json`)).toBe(true);
      answer = true;
      expect(await call(m.client, "manage_vm", { name: "e1", action: "delete" })).toMatchObject({ success: true });
      expect(existsSync(`${f.vmDir}/e1`)).toBe(false);
    } finally {
      await m.close();
    }
  });
});
