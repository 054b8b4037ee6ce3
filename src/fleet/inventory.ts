import { toQfleetError } from "../errors.js";
import { HostRegistry } from "../hosts/registry.js";
import { LOCAL, thisMachine } from "../hosts/local.js";
import { chooseAccel, type AccelSetting } from "../qemu/accel.js";
import { probeCaps } from "../qemu/caps.js";
import { vcpuProblem } from "../qemu/limits.js";
import type { DesiredVm, FleetSelf } from "../plan/types.js";
import { DEFAULT_VM_DIR, resolveVm } from "../spec/defaults.js";
import { loadFleet, type Fleet } from "../spec/load.js";
import { discoverHost } from "../state/discover.js";
import { instancePaths, socketPathProblem } from "../state/paths.js";
import type { HostState } from "../state/types.js";

/** Everything a command needs to compare specs with reality. */
export interface Inventory {
  fleet: Fleet;
  registry: HostRegistry;
  desired: DesiredVm[];
  hosts: HostState[];
  /** vm dirs per host that reconcile locks and discovery scans. */
  vmDirs: Map<string, string[]>;
  /** The fleet these specs belong to, as plans and executors name it. */
  self: FleetSelf;
}

/**
 * Loads the specs of `dir`, resolves them per host (arch default, accelerator, vm_dir) and
 * discovers what each host really has. Contract: a host that cannot be probed or inspected
 * becomes a HostState with `error` (its VMs are unknown), never an exception; invalid specs
 * are in fleet.issues / fleet.invalid and resolve to nothing.
 */
/** The specs alone, read locally: no host is contacted (for commands that only read or write specs). */
export const loadSpecs = (dir: string): Promise<Fleet> => loadFleet(LOCAL, dir);

export interface InventoryOptions {
  discover?: boolean;
  beforeDiscover?: (inv: Inventory) => Promise<void>;
  /** One-call SSH passwords by host name (an MCP call's ssh_pwd): held in memory only. */
  passwords?: Record<string, string>;
  /** Hosts to inspect even when no spec names them (to list their instances). */
  alsoHosts?: string[];
}

export async function loadInventory(dir: string, opts: InventoryOptions = {}): Promise<Inventory> {
  const fleet = await loadFleet(LOCAL, dir);
  const registry = new HostRegistry(fleet.hosts);
  for (const [name, pwd] of Object.entries(opts.passwords ?? {})) registry.withPassword(name, pwd);
  const env = process.env.QFLEET_VM_DIR || undefined;
  const names = [...new Set(["local", ...fleet.specs.map((s) => s.spec.host), ...(opts.alsoHosts ?? [])])];
  const desired: DesiredVm[] = [];
  const vmDirs = new Map<string, string[]>();
  const errors = new Map<string, string>();

  await Promise.all(
    names.map(async (name) => {
      const settings = registry.settings(name);
      const dirs = new Set([settings.vm_dir || env || DEFAULT_VM_DIR]);
      try {
        const host = registry.get(name);
        const caps = await probeCaps(host);
        for (const s of fleet.specs.filter((x) => x.spec.host === name)) {
          const vm = resolveVm(s.spec, { hostArch: caps.arch === "other" ? "x86_64" : caps.arch, hostVmDir: settings.vm_dir, envVmDir: env, file: s.file });
          dirs.add(vm.vmDir);
          const accel = chooseAccel(vm.arch, vm.accel, settings.accel as AccelSetting | undefined, caps);
          const launchProblems = [socketPathProblem(instancePaths(vm.instanceDir)), await vcpuProblem(host, vm, accel.accel)].filter((p) => p !== null);
          desired.push({ vm, accel, ...(launchProblems.length && { launchProblems }) });
        }
      } catch (e) {
        errors.set(name, toQfleetError(e).message);
        registry.markFailed(name, toQfleetError(e)); // not used again this run: its VMs are unknown
        for (const s of fleet.specs.filter((x) => x.spec.host === name)) {
          const vm = resolveVm(s.spec, { hostArch: "x86_64", hostVmDir: settings.vm_dir, envVmDir: env, file: s.file });
          desired.push({ vm, accel: { accel: "tcg", reason: "host not reached" } });
        }
      }
      vmDirs.set(name, [...dirs].sort());
    }),
  );
  desired.sort((a, b) => a.vm.name.localeCompare(b.vm.name));
  const self: FleetSelf = { id: fleet.identity?.id ?? null, dir: fleet.dir, machine: thisMachine() };
  const inv: Inventory = { fleet, registry, desired, hosts: [], vmDirs, self };
  if (opts.discover === false) return inv;
  await opts.beforeDiscover?.(inv);
  inv.hosts = await discoverAll(inv, errors);
  return inv;
}

async function discoverAll(inv: Inventory, errors: Map<string, string>): Promise<HostState[]> {
  return Promise.all(
    [...inv.vmDirs.entries()].map(async ([name, dirs]): Promise<HostState> => {
      if (errors.has(name)) return { host: name, vms: [], unmanaged: [], error: errors.get(name) };
      try {
        return await discoverHost(inv.registry.get(name), dirs);
      } catch (e) {
        return { host: name, vms: [], unmanaged: [], error: toQfleetError(e).message };
      }
    }),
  );
}
