import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { qemuPidsMentioning } from "../helpers/fleet.js";
import { call, callError, connectMcp } from "../helpers/mcp-client.js";
import { makeLab, type Lab } from "../helpers/sshd-lab.js";

/** manage_vm and list_vms with the second reference's host/ssh_* arguments, against a real sshd. */
describe("MCP tools on a remote host (real sshd on 127.0.0.1, real QEMU)", () => {
  let lab: Lab;
  let remote: Record<string, unknown>;
  beforeAll(async () => {
    lab = await makeLab("m");
    mkdirSync(path.join(lab.home, ".ssh"), { mode: 0o700 });
    copyFileSync(lab.knownHosts, path.join(lab.home, ".ssh", "known_hosts")); // the host key is known, as for a real host
    remote = { host: lab.sshd.r1.address, ssh_port: lab.sshd.r1.port, ssh_user: lab.user.name, ssh_key: lab.key };
  });
  afterAll(() => lab?.teardown());

  const env = () => ({ HOME: lab.home, SSH_AUTH_SOCK: "" });

  it("manage_vm create with host/ssh_port/ssh_user/ssh_key adds the host to hosts.yaml (no secret) and runs the VM there", async () => {
    const m = await connectMcp(lab.f, { env: env() });
    try {
      const r = await call<{ data: { host: string } }>(m.client, "manage_vm", {
        name: "rv1",
        action: "create",
        memory: "32M",
        vcpus: 1,
        vm_dir: lab.vmDirs.r1,
        ...remote,
      });
      expect(r).toMatchObject({ success: true, message: "VM rv1 created successfully", data: { host: lab.sshd.r1.address, vm_name: "rv1" } });
      const hosts = readFileSync(path.join(lab.f.dir, "hosts.yaml"), "utf8");
      expect(hosts).toContain(`port: ${lab.sshd.r1.port}`);
      expect(hosts).toContain(`user: ${lab.user.name}`);
      const spec = readFileSync(path.join(lab.f.dir, "vms", "rv1.yaml"), "utf8");
      const hostName = /^host: (\S+)$/m.exec(spec)?.[1];
      expect(hostName).toBeTruthy();
      expect(hosts).toContain(`${hostName}:`);
      expect(qemuPidsMentioning(`${lab.vmDirs.r1}/rv1/`)).toHaveLength(1);

      const listed = await call<{ data: { host: string; vms: { name: string; status: string; host: string }[] } }>(m.client, "list_vms", remote);
      expect(listed.data.vms).toEqual([expect.objectContaining({ name: "rv1", status: "running", host: hostName })]);
      expect(await call(m.client, "manage_vm", { name: "rv1", action: "stop" })).toMatchObject({ success: true });
      expect(qemuPidsMentioning(`${lab.vmDirs.r1}/rv1/`)).toHaveLength(0);
    } finally {
      await m.close();
    }
  });

  it("ssh_pwd is refused without the opt-in, and with it serves that one call and is written nowhere", async () => {
    const pwdArgs = { host: lab.sshd.r1.address, ssh_port: lab.sshd.r1.port, ssh_user: lab.user.name, ssh_pwd: lab.user.password };
    const plain = await connectMcp(lab.f, { env: env() });
    try {
      expect(await callError(plain.client, "list_vms", pwdArgs)).toMatch(/ssh_pwd is refused.*--allow-ssh-password/s);
    } finally {
      await plain.close();
    }
    const m = await connectMcp(lab.f, { env: env(), args: ["--allow-ssh-password"] });
    try {
      const listed = await call<{ data: { vms: { name: string }[] } }>(m.client, "list_vms", pwdArgs);
      expect(listed.data.vms.map((v) => v.name)).toContain("rv1");
    } finally {
      await m.close();
    }
    for (const f of ["hosts.yaml", "vms/rv1.yaml"]) expect(readFileSync(path.join(lab.f.dir, f), "utf8")).not.toContain(lab.user.password);
    expect(existsSync(path.join(lab.f.dir, "hosts.yaml"))).toBe(true);
  });
});
