import { toQfleetError } from "../errors.js";
import { LOCAL, thisMachine } from "../hosts/local.js";
import { HostRegistry } from "../hosts/registry.js";
import { imageCacheDir } from "../images/cache-dir.js";
import { chooseAccel, type AccelSetting } from "../qemu/accel.js";
import { probeCaps } from "../qemu/caps.js";
import { vcpuProblem } from "../qemu/limits.js";
import type { Host } from "../hosts/host.js";
import type { Accel } from "../qemu/accel.js";
import type { DesiredVm, FleetSelf, LaunchProblem } from "../plan/types.js";
import { DEFAULT_VM_DIR, resolveVm, type ResolvedVm } from "../spec/defaults.js";
import { loadFleet, type Fleet, type LoadedSpec } from "../spec/load.js";
import { instancePaths, socketPathProblem } from "../state/paths.js";
import { withSeed } from "./seed.js";

/**
 * A fleet's specs resolved for the hosts they run on: what a run is about, before it locks or
 * looks at anything. With `only`, everything is scoped to those VMs: only their hosts are
 * probed, only their vm_dirs locked and scanned, and only their spec problems fail the run.
 */
export interface Resolved {
  fleet: Fleet;
  registry: HostRegistry;
  desired: DesiredVm[];
  /** The vm_dirs per host that a run locks and discovery scans. */
  vmDirs: Map<string, string[]>;
  /** The VM names the run is about; undefined: the whole fleet. */
  scope?: string[];
  /** Hosts that could not be probed, with why: their VMs are unknown, never orphaned. */
  hostErrors: Map<string, string>;
  /** The fleet these specs belong to, as plans and executors name it. */
  self: FleetSelf;
}

export interface ResolveOptions {
  only?: string[];
  /** One-call SSH passwords by host name (an MCP call's ssh_pwd): held in memory only. */
  passwords?: Record<string, string>;
  /** Hosts to inspect even when no spec in scope names them (to list or find their instances). */
  alsoHosts?: string[];
}

export async function resolveFleet(dir: string, opts: ResolveOptions = {}): Promise<Resolved> {
  const fleet = await loadFleet(LOCAL, dir);
  const registry = new HostRegistry(fleet.hosts);
  for (const [name, pwd] of Object.entries(opts.passwords ?? {})) registry.withPassword(name, pwd);
  const scope = opts.only?.length ? [...new Set(opts.only)] : undefined;
  const specs = scope ? fleet.specs.filter((s) => scope.includes(s.name)) : fleet.specs;
  // a name in scope without a spec may be an orphan: looked for in this machine's default vm_dir
  const orphanNames = scope ? scope.filter((n) => !specs.some((s) => s.name === n)) : [];
  const hostNames = [...new Set([...(scope && !orphanNames.length ? [] : ["local"]), ...specs.map((s) => s.spec.host), ...(opts.alsoHosts ?? [])])];
  const env = process.env.QFLEET_VM_DIR || undefined;
  const desired: DesiredVm[] = [];
  const vmDirs = new Map<string, string[]>();
  const hostErrors = new Map<string, string>();

  await Promise.all(
    hostNames.map(async (name) => {
      const settings = registry.settings(name);
      const mine = specs.filter((s) => s.spec.host === name);
      const dirs = new Set(
        !scope || (name === "local" && orphanNames.length) || opts.alsoHosts?.includes(name) ? [settings.vm_dir || env || DEFAULT_VM_DIR] : [],
      );
      try {
        const host = registry.get(name);
        for (const s of mine) {
          const d = await resolveOn(host, settings, s, fleet.dir);
          desired.push(d);
          dirs.add(d.vm.vmDir);
        }
      } catch (e) {
        const err = toQfleetError(e);
        hostErrors.set(name, err.message);
        registry.markFailed(name, err); // not used again this run: its VMs are unknown
        for (const s of mine) desired.push(unreached(s, settings.vm_dir, env));
      }
      vmDirs.set(name, [...dirs].sort());
    }),
  );
  desired.sort((a, b) => a.vm.name.localeCompare(b.vm.name));
  const self: FleetSelf = { id: fleet.identity?.id ?? null, dir: fleet.dir, machine: thisMachine() };
  return { fleet, registry, desired, vmDirs, ...(scope && { scope }), hostErrors, self };
}

/**
 * One spec on its host: the machine's defaults filled in (arch, vm_dir: spec > hosts.yaml >
 * $QFLEET_VM_DIR > default, the image cache there for `image:` disks), the accelerator chosen,
 * and what QEMU there would refuse.
 */
export async function resolveOn(host: Host, settings: { vm_dir?: string; accel?: string }, s: LoadedSpec, fleetDir: string): Promise<DesiredVm> {
  const caps = await probeCaps(host);
  const hostArch = caps.arch === "other" ? "x86_64" : caps.arch;
  const imageCache = s.spec.disks.some((d) => d.image !== undefined) ? await imageCacheDir(host) : undefined;
  const bare = resolveVm(s.spec, {
    hostArch,
    hostVmDir: settings.vm_dir,
    envVmDir: process.env.QFLEET_VM_DIR || undefined,
    file: s.file,
    imageCache,
  });
  const { vm, seed, problem } = await withSeed(fleetDir, bare);
  const accel = chooseAccel(vm.arch, vm.accel, settings.accel as AccelSetting | undefined, caps);
  const launchProblems = [...(await launchProblemsOf(host, vm, accel.accel)), ...(problem ? [problem] : [])];
  return { vm, accel, ...(launchProblems.length && { launchProblems }), ...(seed && { seed }) };
}

/** What QEMU on `host` would refuse about `vm` before it starts: too long a socket path, too many vCPUs. */
export async function launchProblemsOf(host: Host, vm: ResolvedVm, accel: Accel): Promise<LaunchProblem[]> {
  const socket = socketPathProblem(instancePaths(vm.instanceDir));
  const vcpus = await vcpuProblem(host, vm, accel);
  return [...(socket ? [{ field: "vm_dir" as const, message: socket }] : []), ...(vcpus ? [{ field: "vcpus" as const, message: vcpus }] : [])];
}

/** A VM on a host that could not be probed: resolved with guesses, only ever planned as unknown. */
function unreached(s: LoadedSpec, hostVmDir: string | undefined, envVmDir: string | undefined): DesiredVm {
  const vm = resolveVm(s.spec, { hostArch: "x86_64", hostVmDir, envVmDir, file: s.file });
  return { vm, accel: { accel: "tcg", reason: "host not reached" } };
}
