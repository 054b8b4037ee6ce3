import type { Host } from "../hosts/host.js";
import type { ResolvedVm } from "../spec/defaults.js";
import type { Accel } from "./accel.js";
import { cpuOptions, machineOption, qemuBinary } from "./argv.js";

/** vCPUs every machine type qemu-fleet launches takes (arm virt with GICv2 stops at 8): no probe below. */
export const VCPUS_ANY_MACHINE_TAKES = 8;

const cache = new WeakMap<Host, Map<string, Promise<string | null>>>();

/**
 * Whether the QEMU on `host` accepts this VM's vCPU count with its machine type and
 * accelerator, asked of that QEMU itself (the limit depends on the version, the machine, the
 * interrupt controller and the accelerator: q35 lists 288 but TCG stops at 255). Above
 * VCPUS_ANY_MACHINE_TAKES it starts the machine paused with no devices and quits at once.
 * Returns QEMU's own reason, or null when the count is fine or QEMU cannot be asked (launch
 * reports a missing binary).
 */
export function vcpuProblem(host: Host, vm: Pick<ResolvedVm, "arch" | "vcpus">, accel: Accel): Promise<string | null> {
  if (vm.vcpus <= VCPUS_ANY_MACHINE_TAKES) return Promise.resolve(null);
  const key = `${vm.arch}/${accel}/${vm.vcpus}`;
  const perHost = cache.get(host) ?? cache.set(host, new Map()).get(host)!;
  let p = perHost.get(key);
  if (!p) {
    p = ask(host, vm, accel);
    perHost.set(key, p);
  }
  return p;
}

async function ask(host: Host, vm: Pick<ResolvedVm, "arch" | "vcpus">, accel: Accel): Promise<string | null> {
  const argv = [qemuBinary(vm), "-machine", machineOption(vm), "-accel", accel, ...cpuOptions(vm, accel), "-smp", String(vm.vcpus), "-m", "64M"];
  argv.push("-nodefaults", "-no-user-config", "-display", "none", "-S", "-qmp", "stdio");
  const input = '{"execute":"qmp_capabilities"}\n{"execute":"quit"}\n';
  const r = await host.run(argv, { input, allowFailure: true, timeoutMs: 30_000 }).catch(() => null);
  if (!r || r.exitCode === 0) return null;
  const why =
    r.stderr
      .split("\n")
      .find((l) => l.trim())
      ?.replace(/^qemu-system-\w+: /, "") ?? `exit ${r.exitCode}`;
  return `QEMU on ${host.name} does not take ${vm.vcpus} vCPUs for this machine: ${why}`;
}
