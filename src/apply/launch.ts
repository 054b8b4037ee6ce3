import { QfleetError, toQfleetError } from "../errors.js";
import type { Host } from "../hosts/host.js";
import type { AccelChoice } from "../qemu/accel.js";
import { buildArgv } from "../qemu/argv.js";
import { probeCaps } from "../qemu/caps.js";
import { SYSTEM_PACKAGES, UEFI_PACKAGES } from "../qemu/firmware.js";
import type { DesiredVm } from "../plan/types.js";
import type { ResolvedVm } from "../spec/defaults.js";
import { filesFor, instancePaths, ownedFiles, socketPathProblem } from "../state/paths.js";
import type { AppliedRecord, InstanceOwner } from "../state/types.js";
import { claimFiles, writeApplied } from "./applied.js";
import { ensureDisks } from "./disks.js";
import { ensureVmImages } from "./images.js";
import { refuseSymlinks } from "./instance.js";

/**
 * Readies an instance's files for a start, under a record that already exists: refuses symbolic
 * links where qemu-fleet writes, lists the files it is about to make in the record (claimFiles),
 * then copies the per-VM UEFI variable store, puts `image:` URLs into the host's image cache
 * (downloads reported through `progress`) and makes or grows the disks.
 */
export async function prepareFiles(
  host: Host,
  vm: ResolvedVm,
  rec: AppliedRecord,
  owner: InstanceOwner,
  seed?: DesiredVm["seed"],
  progress?: (message: string) => void,
): Promise<{ steps: string[]; record: AppliedRecord }> {
  const p = instancePaths(vm.instanceDir);
  const names = filesFor(vm);
  await refuseSymlinks(host, p.dir, names);
  const record = await claimFiles(host, rec, names, owner);
  const steps: string[] = [];
  if (vm.firmware === "uefi" && !(await host.stat(p.uefiVars))) {
    const fw = await uefiFirmware(host, vm);
    await host.run(["cp", fw.vars, p.uefiVars]);
    steps.push("UEFI variable store copied");
  }
  // a seed is (re)written when missing or when its content changed (a new instance-id): cloud-init then runs again
  if (seed && (!(await host.lstat(p.seed)) || rec.vm.cloudInit?.instanceId !== seed.instanceId)) {
    await host.writeFile(p.seed, seed.image(), { mode: 0o600 });
    steps.push(`cloud-init seed written (instance-id ${seed.instanceId})`);
  }
  steps.push(...(await ensureVmImages(host, vm, progress)));
  steps.push(...(await ensureDisks(host, vm, ownedFiles(record))));
  return { steps, record };
}

async function uefiFirmware(host: Host, vm: ResolvedVm) {
  const fw = (await probeCaps(host)).uefi[vm.arch];
  if (!fw)
    throw new QfleetError("MISSING_TOOL", `no UEFI firmware for ${vm.arch} on ${host.name}`, { hint: `install it: ${UEFI_PACKAGES[vm.arch]}` });
  return fw;
}

/**
 * Launches a prepared VM daemonized and records what runs in applied.json. QEMU's own
 * failures become one clear line: a busy host port (naming the port and, when `ss` can tell,
 * the process holding it), a second QEMU on the same instance, a disk locked by another
 * process, a missing qemu-system binary.
 */
export async function launchVm(
  host: Host,
  vm: ResolvedVm,
  accel: AccelChoice,
  previous: AppliedRecord,
  owner: InstanceOwner,
): Promise<{ pid: number; record: AppliedRecord }> {
  const p = instancePaths(vm.instanceDir);
  const tooLong = socketPathProblem(p);
  if (tooLong) throw new QfleetError("BAD_INPUT", tooLong);
  const uefi = vm.firmware === "uefi" ? { code: (await uefiFirmware(host, vm)).code, vars: p.uefiVars } : undefined;
  const argv = buildArgv(vm, { accel: accel.accel, paths: p, uefi });
  await host.remove(p.qmp);
  await host.remove(p.pidfile);
  const r = await host.run(argv, { allowFailure: true, timeoutMs: 60_000 }).catch((e) => {
    const err = toQfleetError(e);
    if (err.code === "MISSING_TOOL")
      throw new QfleetError("MISSING_TOOL", `${argv[0]} is not installed on ${host.name}`, { hint: `install it: ${SYSTEM_PACKAGES[vm.arch]}` });
    throw err;
  });
  if (r.exitCode !== 0) throw await launchError(host, vm, argv, r.stderr, r.exitCode);
  const pid = Number((await host.readFile(p.pidfile)).trim());
  try {
    const record = await writeApplied(host, vm, accel, { argv, startedAt: new Date().toISOString(), previous, owner });
    return { pid, record };
  } catch (e) {
    const err = toQfleetError(e);
    throw new QfleetError(err.code, `QEMU started and runs as pid ${pid}, but its record could not be written: ${err.message}`, {
      hint: "free the space or fix the folder, then reconcile again: the VM is restarted with a complete record",
    });
  }
}

async function launchError(host: Host, vm: ResolvedVm, argv: string[], stderr: string, exitCode: number): Promise<QfleetError> {
  const details = { command: argv, stderr, exitCode };
  const fwd = /Could not set up host forwarding rule '(\w+):[^:]*:(\d+)-/.exec(stderr);
  if (fwd) {
    const holder = await portHolder(host, Number(fwd[2]));
    return new QfleetError("BUSY", `host port ${fwd[2]} on 127.0.0.1 is already in use${holder ? ` by ${holder}` : ""}`, {
      ...details,
      hint: "stop what holds it, or choose another port in the spec",
    });
  }
  if (/Cannot lock pid file/.test(stderr)) return new QfleetError("BUSY", `another QEMU already runs from ${vm.instanceDir}`, details);
  const lock = /Failed to get "write" lock|Is another process using the image \[([^\]]+)\]/.exec(stderr);
  if (lock) return new QfleetError("BUSY", `a disk is in use by another process${lock[1] ? `: ${lock[1]}` : ""}`, details);
  const first = stderr.split("\n").find((l) => l.trim()) ?? `exit ${exitCode}`;
  return new QfleetError("COMMAND_FAILED", `QEMU did not start: ${first.replace(/^qemu-system-\w+: /, "")}`, {
    ...details,
    hint: `the full command is in the error details; the serial console is ${instancePaths(vm.instanceDir).serial}`,
  });
}

/** "pid 123 (nginx)" for a TCP port listened on, when `ss` can tell; null otherwise. */
export async function portHolder(host: Host, port: number): Promise<string | null> {
  const r = await host.run(["ss", "-Hltnp", `sport = :${port}`], { allowFailure: true, timeoutMs: 5000 }).catch(() => null);
  const m = r && /users:\(\("([^"]+)",pid=(\d+)/.exec(r.stdout);
  return m ? `pid ${m[2]} (${m[1]})` : null;
}
