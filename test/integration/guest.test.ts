import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, makeFleet, waitGone, type TestFleet } from "../helpers/fleet.js";
import { ensureGuest, sshRun, type GuestManifest } from "../helpers/guest.js";
import { qmpQuery } from "../helpers/qmp.js";

/** The tiny real Linux guest booted by qfleet, on both arches, to a real SSH server. */
describe("tiny guest through qfleet (real QEMU, TCG, real dropbear)", () => {
  let f: TestFleet;
  let x86: GuestManifest;
  let arm: GuestManifest;
  const ports: Record<string, number> = {};

  beforeAll(async () => {
    f = makeFleet();
    [x86, arm] = await Promise.all([ensureGuest("x86_64"), ensureGuest("aarch64")]);
    ports.x86 = await freePort();
    ports.arm = await freePort();
    f.spec(
      "gx",
      `# boots the golden disk image through an overlay\narch: x86_64\nvcpus: 1\nmemory: 256M\ndisks:\n  - path: ${x86.disk}\n    overlay: true\nssh: { port: ${ports.x86} }\n`,
    );
    f.spec(
      "ga",
      `arch: aarch64\nvcpus: 1\nmemory: 256M\nboot:\n  kernel: ${arm.kernel}\n  initrd: ${arm.initrd}\n  append: "${arm.append}"\nssh: { port: ${ports.arm} }\n`,
    );
    const r = await f.qfleet(["reconcile"]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
  });
  afterAll(() => f.cleanup());

  it("x86_64 from the bootable disk image reaches ssh_accessible, and the base image is never written", async () => {
    const r = await f.qfleet(["status", "gx", "--wait-ssh", "120", "--json"]);
    const st = JSON.parse(r.stdout);
    expect(st).toMatchObject({ status: "running", ssh_accessible: true, accelerator: "tcg", ssh_port: ports.x86 });
    expect(st.ssh_banner).toMatch(/^SSH-2\.0-dropbear/);
    expect(st.ssh_command).toBe(`ssh -p ${ports.x86} root@localhost`);
    const u = await sshRun(ports.x86, "uname -m", x86);
    expect(u.stdout.trim()).toBe("x86_64");
    const blocks = await qmpQuery<{ device: string; inserted?: { file: string; backing_file?: string } }[]>(`${f.vmDir}/gx/qmp.sock`, "query-block");
    expect(blocks.find((b) => b.device === "disk0")?.inserted).toMatchObject({ file: `${f.vmDir}/gx/disk0-overlay.qcow2`, backing_file: x86.disk });
  });

  it("aarch64 with direct kernel boot reaches ssh_accessible", async () => {
    const st = JSON.parse((await f.qfleet(["status", "ga", "--wait-ssh", "120", "--json"])).stdout);
    expect(st).toMatchObject({ status: "running", ssh_accessible: true, accelerator: "tcg" });
    expect(st.accelerator_reason).toMatch(/aarch64 guest on a x86_64 host/);
    expect((await sshRun(ports.arm, "uname -m", arm)).stdout.trim()).toBe("aarch64");
  });

  it("x86_64 stops gracefully through ACPI powerdown", async () => {
    const pid = JSON.parse((await f.qfleet(["status", "gx", "--json"])).stdout).pid;
    const r = await f.qfleet(["stop", "gx", "--json", "--stop-timeout", "60"]);
    const out = JSON.parse(r.stdout);
    expect(out.result.stopMethod).toBe("powerdown");
    expect(await waitGone(pid)).toBe(true);
  });

  it("aarch64 stops within the timeout (powerdown when the guest handles it, else the QMP quit fallback)", async () => {
    const pid = JSON.parse((await f.qfleet(["status", "ga", "--json"])).stdout).pid;
    const r = await f.qfleet(["stop", "ga", "--json", "--stop-timeout", "5"]);
    expect(["powerdown", "quit"]).toContain(JSON.parse(r.stdout).result.stopMethod);
    expect(await waitGone(pid)).toBe(true);
  });
});
