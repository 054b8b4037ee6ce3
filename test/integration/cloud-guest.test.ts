import { execa } from "execa";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureCloudImage, type CloudImage } from "../helpers/cloud-image.js";
import { isAlive, makeFleet, waitGone, type TestFleet } from "../helpers/fleet.js";
import { call, callError, connectMcp } from "../helpers/mcp-client.js";

/**
 * A stock-like Debian 12 cloud image (no user, no keys, no network config) from nothing to a
 * working login, through a real MCP client over stdio and real QEMU under TCG: qemu_boot_vm
 * gives it a cloud-init seed, waits until a login as the fleet works, and then vm_exec,
 * vm_copy_to/from, the printed ssh_command, the guest agent and a graceful stop all work.
 */
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe("a stock cloud image through MCP (real QEMU, TCG, cloud-init)", () => {
  let f: TestFleet;
  let img: CloudImage;
  let mcp: Awaited<ReturnType<typeof connectMcp>>;
  let boot: Record<string, unknown>;

  beforeAll(async () => {
    [img, f] = await Promise.all([ensureCloudImage(), Promise.resolve(makeFleet())]);
    mcp = await connectMcp(f, { env: { QFLEET_STOP_TIMEOUT: "120" } });
  }, 25 * 60_000);
  afterAll(async () => {
    await mcp?.close();
    await f?.cleanup();
  });

  it("qemu_boot_vm boots it with a seed and waits until the fleet can log in", async () => {
    boot = await call(mcp.client, "qemu_boot_vm", { image_path: img.path, name: "deb", memory: "1G", cpus: 2, disk_size: "5G", wait_s: 600 });
    expect(boot).toMatchObject({ success: true, name: "deb", ssh_user: "qfleet", login_ok: true, accelerator: "tcg" });
    expect(String(boot.ssh_command)).toContain(`-i ${f.dir}/.qfleet/id_ed25519`);
    expect(String(boot.ssh_command)).toMatch(/ qfleet@localhost$/);
    expect(readFileSync(`${f.dir}/vms/deb.yaml`, "utf8")).toMatch(/cloud_init: true/);
    expect(readFileSync(`${f.dir}/.gitignore`, "utf8")).toMatch(/^\.qfleet\/$/m);
    expect(readFileSync(`${f.dir}/vms/deb.yaml`, "utf8")).not.toMatch(/PRIVATE|BEGIN/); // no key in the spec
  }, 700_000);

  it("vm_exec returns /etc/os-release, bounded and timed", async () => {
    const r = await call<{ exit_code: number; stdout: string; via: string }>(mcp.client, "vm_exec", { name: "deb", command: "cat /etc/os-release" });
    expect(r).toMatchObject({ exit_code: 0, via: "ssh" });
    expect(r.stdout).toContain("VERSION_CODENAME=bookworm");
    const slow = await call<{ timed_out: boolean; success: boolean }>(mcp.client, "vm_exec", { name: "deb", command: "sleep 60", timeout_s: 3 });
    expect(slow).toMatchObject({ timed_out: true, success: false });
    const left = await call<{ stdout: string }>(mcp.client, "vm_exec", { name: "deb", command: "pgrep -x sleep || echo none" });
    expect(left.stdout.trim()).toBe("none");
  });

  it("the root filesystem grew to the disk size, and the guest agent reports the address", async () => {
    const df = await call<{ stdout: string }>(mcp.client, "vm_exec", { name: "deb", command: "df -B1 --output=size / | tail -1" });
    expect(Number(df.stdout.trim())).toBeGreaterThan(4.5 * 2 ** 30);
    const st = await call<{ guest: { addresses: string[]; os?: string }; cloud_init: string; login_ok: boolean }>(mcp.client, "qemu_vm_status", {
      name: "deb",
    });
    expect(st.login_ok).toBe(true);
    expect(st.guest.addresses.join(" ")).toContain("10.0.2.15/24");
    expect(st.guest.os).toMatch(/Debian GNU\/Linux 12/);
  });

  it("copies a file both ways with equal checksums, and never overwrites silently", async () => {
    const data = randomBytes(3 * 2 ** 20);
    writeFileSync(`${f.dir}/up.bin`, data);
    const up = await call<{ bytes: number }>(mcp.client, "vm_copy_to", { name: "deb", local_path: "up.bin", guest_path: "/home/qfleet/up.bin" });
    expect(up.bytes).toBe(data.length);
    const inGuest = await call<{ stdout: string }>(mcp.client, "vm_exec", { name: "deb", command: "sha256sum /home/qfleet/up.bin" });
    expect(inGuest.stdout.split(" ")[0]).toBe(sha(data));
    expect(await callError(mcp.client, "vm_copy_to", { name: "deb", local_path: "up.bin", guest_path: "/home/qfleet/up.bin" })).toMatch(/exists/);
    const down = await call<{ bytes: number }>(mcp.client, "vm_copy_from", {
      name: "deb",
      guest_path: "/home/qfleet/up.bin",
      local_path: "down.bin",
    });
    expect(down.bytes).toBe(data.length);
    expect(sha(readFileSync(`${f.dir}/down.bin`))).toBe(sha(data));
    expect(await callError(mcp.client, "vm_copy_from", { name: "deb", guest_path: "/home/qfleet/up.bin", local_path: "down.bin" })).toMatch(/exists/);
  });

  it("the ssh_command logs in exactly as printed", async () => {
    const r = await execa("sh", ["-c", `${boot.ssh_command} -o BatchMode=yes sudo -n cat /etc/hostname`], {
      reject: false,
      timeout: 60_000,
      stdin: "ignore",
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe("deb");
  });

  it("vm_exec falls back to the guest agent when SSH cannot log in", async () => {
    await call(mcp.client, "vm_exec", { name: "deb", command: "sudo systemctl stop ssh.socket ssh.service" });
    const r = await call<{ via: string; stdout: string; ssh_error: string }>(mcp.client, "vm_exec", { name: "deb", command: "id -un" });
    expect(r.via).toBe("agent");
    expect(r.stdout.trim()).toBe("root"); // the agent runs as root
    expect(r.ssh_error).toBeTruthy();
    await call(mcp.client, "vm_exec", { name: "deb", command: "systemctl start ssh.service" });
  });

  it("a live snapshot brings back a file deleted in the guest, with the guest still running", async () => {
    await call(mcp.client, "vm_exec", { name: "deb", command: "echo golden > /home/qfleet/keep.txt && sync" });
    const made = await call<{ success: boolean }>(mcp.client, "vm_snapshot", { name: "deb", action: "create", tag: "before" });
    expect(made.success).toBe(true);
    const list = await call<{ snapshots: { tag: string; ram: boolean }[] }>(mcp.client, "vm_snapshot", { name: "deb", action: "list" });
    expect(list.snapshots).toContainEqual(expect.objectContaining({ tag: "before", ram: true }));
    await call(mcp.client, "vm_exec", { name: "deb", command: "rm /home/qfleet/keep.txt && sync" });
    expect(await callError(mcp.client, "vm_snapshot", { name: "deb", action: "revert", tag: "before" })).toMatch(/needs confirmation/);
    const back = await call<{ success: boolean }>(mcp.client, "vm_snapshot", { name: "deb", action: "revert", tag: "before", confirm: true });
    expect(back.success).toBe(true);
    const r = await call<{ stdout: string }>(mcp.client, "vm_exec", { name: "deb", command: "cat /home/qfleet/keep.txt" });
    expect(r.stdout.trim()).toBe("golden");
    expect(isAlive(Number(boot.pid))).toBe(true); // the same QEMU: reverted live, not restarted
  });

  it("vm_reset goes back to the base image: a new overlay, cloud-init again, the file gone", async () => {
    const r = await call<{ success: boolean; reset: string[] }>(mcp.client, "vm_reset", { name: "deb", confirm: true });
    expect(r.success).toBe(true);
    expect(r.reset[0]).toMatch(/disk0-overlay\.qcow2$/);
    const st = await call<{ login_ok: boolean; pid: number }>(mcp.client, "qemu_vm_status", { name: "deb", wait_s: 600 });
    expect(st.login_ok).toBe(true);
    boot.pid = st.pid;
    const gone = await call<{ stdout: string }>(mcp.client, "vm_exec", {
      name: "deb",
      command: "test -e /home/qfleet/keep.txt && echo there || echo gone",
    });
    expect(gone.stdout.trim()).toBe("gone");
  }, 700_000);

  it("stops gracefully (ACPI or the guest agent, never quit or kill)", async () => {
    const pid = Number(boot.pid);
    const stop = await call<{ method: string }>(mcp.client, "qemu_stop_vm", { name: "deb" });
    expect(["powerdown", "agent"]).toContain(stop.method);
    expect(await waitGone(pid)).toBe(true);
    expect(isAlive(pid)).toBe(false);
  });
});
