import { existsSync, readFileSync, statSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeFleet, stubSpec, type TestFleet } from "../helpers/fleet.js";
import { qmpQuery } from "../helpers/qmp.js";

const argvOf = (f: TestFleet, name: string) => {
  const pid = readFileSync(`${f.vmDir}/${name}/qemu.pid`, "utf8").trim();
  return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
};

/** UEFI firmware with a per-VM variable store, the aarch64 default, and replace behind its flag. */
describe("firmware and replace (real QEMU, TCG)", () => {
  let f: TestFleet;
  beforeAll(() => {
    f = makeFleet();
  });
  afterAll(() => f.cleanup());

  it("runs x86_64 with UEFI firmware and its own copy of the variable store", async () => {
    f.spec("u1", stubSpec("firmware: uefi\n"));
    const r = await f.qfleet(["reconcile"]);
    expect(r.exitCode, r.stderr).toBe(0);
    const vars = `${f.vmDir}/u1/uefi-vars.fd`;
    expect(statSync(vars).size).toBe(statSync("/usr/share/OVMF/OVMF_VARS_4M.fd").size);
    const argv = argvOf(f, "u1");
    expect(argv).toContain("if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd");
    expect(argv).toContain(`if=pflash,format=raw,unit=1,file=${vars}`);
    expect(await qmpQuery(`${f.vmDir}/u1/qmp.sock`, "query-status")).toMatchObject({ status: "running" });
  });

  it("defaults aarch64 without direct boot to UEFI on the virt machine", async () => {
    f.spec("a1", stubSpec("arch: arm64\nmemory: 128M\n").replace("memory: 32M\n", ""));
    const r = await f.qfleet(["reconcile"]);
    expect(r.exitCode, r.stderr).toBe(0);
    const argv = argvOf(f, "a1");
    expect(argv[0]).toBe("qemu-system-aarch64");
    expect(argv).toEqual(expect.arrayContaining(["virt", "cortex-a57"]));
    expect(argv.some((a) => a.startsWith("if=pflash") && a.includes("AAVMF_CODE"))).toBe(true);
    expect(existsSync(`${f.vmDir}/a1/uefi-vars.fd`)).toBe(true);
  });

  it("refuses an arch change without --allow-replace, and replaces the VM with it", async () => {
    f.spec("u1", stubSpec("firmware: uefi\narch: aarch64\nmemory: 128M\n").replace("memory: 32M\n", ""));
    const refused = await f.qfleet(["reconcile"]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stdout).toMatch(/! refused u1: needs replacing .* --allow-replace/);
    expect(argvOf(f, "u1")[0]).toBe("qemu-system-x86_64");

    const r = await f.qfleet(["reconcile", "--allow-replace"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain("-/+ replace u1");
    expect(argvOf(f, "u1")[0]).toBe("qemu-system-aarch64");
    expect(statSync(`${f.vmDir}/u1/uefi-vars.fd`).size).toBe(statSync("/usr/share/AAVMF/AAVMF_VARS.fd").size);
  });
});
