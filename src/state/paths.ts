import path from "node:path";

/**
 * The files of one instance directory (`<vm_dir>/<name>/`). Pure: POSIX paths, valid on any
 * host. Unix socket paths are limited to 107 bytes + NUL by the kernel (sun_path is 108).
 */
export interface InstancePaths {
  dir: string;
  applied: string;
  pidfile: string;
  qmp: string;
  serial: string;
  log: string;
  uefiVars: string;
}

export const MAX_SOCKET_PATH = 107;

export function instancePaths(instanceDir: string): InstancePaths {
  const j = (f: string) => path.posix.join(instanceDir, f);
  return {
    dir: instanceDir,
    applied: j("applied.json"),
    pidfile: j("qemu.pid"),
    qmp: j("qmp.sock"),
    serial: j("serial.log"),
    log: j("qemu.log"),
    uefiVars: j("uefi-vars.fd"),
  };
}

/** A message when the QMP socket path is too long for the OS, else null. */
export function socketPathProblem(p: InstancePaths): string | null {
  const len = Buffer.byteLength(p.qmp);
  if (len <= MAX_SOCKET_PATH) return null;
  return `the QMP socket path ${p.qmp} is ${len} bytes; unix sockets allow at most ${MAX_SOCKET_PATH}. Use a shorter vm_dir (spec vm_dir, hosts.yaml vm_dir or QFLEET_VM_DIR)`;
}
