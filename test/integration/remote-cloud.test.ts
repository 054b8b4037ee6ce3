import { execa } from "execa";
import { chownSync, statSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureCloudImage } from "../helpers/cloud-image.js";
import { waitGone } from "../helpers/fleet.js";
import { makeLab, type Lab } from "../helpers/sshd-lab.js";

/**
 * The cloud image on a remote host in its own network namespace, reached only through that
 * host's sshd: the seed is made here and copied there as bytes (the host needs no seed tools),
 * and the login as the fleet goes through the host (a forward opened by its sshd), because the
 * guest's port is bound to 127.0.0.1 over there.
 */
describe("remote host: a cloud image becomes ready through the host (real sshd, netns, QEMU, cloud-init)", () => {
  let lab: Lab;
  const port = 2222; // inside the namespace

  beforeAll(async () => {
    const [l, img] = await Promise.all([makeLab("c", { netns: true }), ensureCloudImage()]);
    lab = l;
    const base = path.join(lab.userDir("img"), "base.qcow2");
    await execa("cp", ["--sparse=always", img.path, base]); // the test user cannot read root's cache
    chownSync(base, lab.user.uid, lab.user.gid);
    lab.writeHosts({ r2: lab.entry("r2") });
    lab.f.spec(
      "rc",
      `host: r2\nvcpus: 2\nmemory: 1G\naccel: tcg\ndisks:\n  - path: ${base}\n    overlay: true\nssh: { port: ${port} }\ncloud_init: true\n`,
    );
  }, 25 * 60_000);
  afterAll(() => lab?.teardown());

  it("boots with a seed copied over SFTP and becomes ready: the fleet logs in through the host", async () => {
    const r = await lab.cli(["reconcile"]);
    expect(r.exitCode, r.stderr + r.stdout).toBe(0);
    const seed = statSync(path.join(lab.vmDirs.r2, "rc", "seed.img"));
    expect(seed.uid).toBe(lab.user.uid); // written there by the host's user, not made by a tool here on its disk
    const st = await lab.cli(["status", "rc", "--wait-ssh", "600", "--json"], {}, 700_000);
    expect(st.exitCode, st.stdout + st.stderr).toBe(0);
    const s = JSON.parse(st.stdout);
    expect(s).toMatchObject({ host: "r2", status: "running", ssh_accessible: true, login_ok: true, ssh_user: "qfleet" });
    expect(s.ssh_command).toMatch(
      new RegExp(`^ssh -J ${lab.user.name}@${lab.sshd.r2.address} -i \\S+/\\.qfleet/id_ed25519 .* -p ${port} qfleet@localhost$`),
    );
  }, 720_000);

  it("stops gracefully through the host", async () => {
    const pid = JSON.parse((await lab.cli(["status", "rc", "--json"])).stdout).pid as number;
    const r = await lab.cli(["stop", "rc", "--stop-timeout", "120", "--json"], {}, 300_000);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(["powerdown", "agent"]).toContain(JSON.parse(r.stdout).result.stopMethod);
    expect(await waitGone(pid)).toBe(true);
  }, 300_000);
});
