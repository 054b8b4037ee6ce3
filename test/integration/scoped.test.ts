import { writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, makeFleet, stubSpec, type TestFleet } from "../helpers/fleet.js";

/**
 * A command about one VM resolves, locks and inspects only that VM's host and instance: a
 * remote host that cannot be reached, or another VM's broken spec, does not touch it. The
 * whole-fleet run still reports both. Real QEMU (a stub VM) and a host port nobody listens on.
 */
describe("one-VM commands are scoped to that VM", () => {
  let f: TestFleet;
  beforeAll(async () => {
    f = makeFleet();
    const closed = await freePort(); // nothing listens: connecting is refused at once
    writeFileSync(`${f.dir}/hosts.yaml`, `hosts:\n  far:\n    address: 127.0.0.1\n    port: ${closed}\n    host_key_policy: accept-new\n`);
    f.spec("remote1", stubSpec("host: far\n"));
    f.spec("broken", "memory: lots\n");
    f.spec("here", stubSpec());
  });
  afterAll(() => f.cleanup());

  it("reconcile --only, status and plan of a local VM neither reach the far host nor fail on another's spec", async () => {
    const r = await f.qfleet(["reconcile", "--only", "here"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toMatch(/far|remote1|broken/);
    const st = await f.qfleet(["status", "here", "--json"]);
    expect(st.exitCode).toBe(0);
    expect(JSON.parse(st.stdout)).toMatchObject({ name: "here", status: "running", reasons: [] });
    const plan = await f.qfleet(["plan", "--only", "here", "-v"]);
    expect(plan.stdout).toContain("unchanged here");
    expect(plan.stdout).not.toContain("remote1");
  });

  it("the whole-fleet run still reports the unreachable host's VM as unknown and the broken spec", async () => {
    const r = await f.qfleet(["reconcile"]);
    expect(r.exitCode).toBe(3);
    expect(r.stdout).toContain("? unknown remote1 on far: host far could not be inspected");
    expect(r.stderr).toContain("vms/broken.yaml:1:9: memory:");
  });
});
