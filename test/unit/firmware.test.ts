import { describe, expect, it } from "vitest";
import { prepareFiles } from "../../src/apply/launch.js";
import type { Host } from "../../src/hosts/host.js";
import { resolveVm, type ResolvedVm } from "../../src/spec/defaults.js";
import type { VmSpec } from "../../src/spec/schema.js";

/** A host with no UEFI firmware installed: only what the probe and prepareFiles touch. */
const bareHost = {
  name: "bare",
  run: async () => ({ stdout: "Linux x86_64\n", stderr: "", exitCode: 0 }),
  systemFacts: async () => ({ sys: "Linux", machine: "x86_64", kvmRw: false }),
  list: async () => [],
  stat: async () => null,
  lstat: async () => null,
  mkdir: async () => undefined,
  writeFile: async () => undefined,
} as unknown as Host;
const owner = { id: "test-fleet-1", dir: "/fleet", machine: "m" };
const prepare = (vm: ResolvedVm) =>
  prepareFiles(
    bareHost,
    vm,
    { version: 1, vm, hash: "h", argv: [], accel: "tcg", accelReason: "test", createdAt: "", appliedAt: "", owner, files: [] },
    owner,
  );

const spec = (over: Partial<VmSpec>): VmSpec =>
  ({
    name: "fw",
    host: "local",
    vcpus: 1,
    memory: 2 ** 25,
    state: "running",
    disks: [],
    accel: "tcg",
    forwards: [],
    protected: false,
    ...over,
  }) as VmSpec;

describe("missing UEFI firmware", () => {
  it("is an error that names the package to install, per arch", async () => {
    const x86 = resolveVm(spec({ firmware: "uefi" }), { hostArch: "x86_64", envVmDir: "/vms" });
    await expect(prepare(x86)).rejects.toMatchObject({
      code: "MISSING_TOOL",
      message: "no UEFI firmware for x86_64 on bare",
      hint: expect.stringMatching(/apt-get install ovmf.*edk2-ovmf.*brew install qemu/),
    });
    const arm = resolveVm(spec({ arch: "aarch64" }), { hostArch: "x86_64", envVmDir: "/vms" });
    await expect(prepare(arm)).rejects.toMatchObject({ hint: expect.stringMatching(/qemu-efi-aarch64.*edk2-aarch64/) });
  });
});
