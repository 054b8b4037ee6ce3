import type { ResolvedVm } from "../spec/defaults.js";
import type { Accel } from "./accel.js";

/** The instance files a command line names (state/paths.ts makes them). */
export interface LaunchPaths {
  pidfile: string;
  qmp: string;
  qmpHeld: string;
  serial: string;
  qga: string;
  seed: string;
  console: string;
  vnc: string;
}

/** Everything besides the spec that decides a QEMU command line. */
export interface LaunchContext {
  accel: Accel;
  paths: LaunchPaths;
  /** Required when vm.firmware is uefi; vars is the per-VM copy, not the template. */
  uefi?: { code: string; vars: string };
}

/** QEMU's option parser splits on commas: a literal comma in a value is written twice. */
export const qemuEscape = (v: string): string => v.replaceAll(",", ",,");

export const qemuBinary = (vm: Pick<ResolvedVm, "arch">): string => `qemu-system-${vm.arch}`;

/** The virtio-serial port name qemu-guest-agent listens on in the guest. */
export const QGA_CHANNEL = "org.qemu.guest_agent.0";

/** The device ids the executors address through QMP. */
export const DEVICE_IDS = { cdrom: "cdrom0", netdev: "net0" } as const;

/** The host-side forward rules of a VM, as QEMU's hostfwd syntax (always bound to 127.0.0.1). */
export function hostForwards(vm: Pick<ResolvedVm, "ssh" | "forwards">): string[] {
  const rules = vm.ssh ? [`tcp:127.0.0.1:${vm.ssh.port}-:22`] : [];
  for (const f of vm.forwards) rules.push(`${f.proto}:127.0.0.1:${f.host}-:${f.guest}`);
  return rules;
}

/** The -machine value: q35, or arm's virt (GICv3 above 8 vCPUs: GICv2 takes no more). */
export function machineOption(vm: Pick<ResolvedVm, "arch" | "vcpus">): string {
  if (vm.arch === "x86_64") return "q35";
  return vm.vcpus > 8 ? "virt,gic-version=3" : "virt";
}

/** -cpu: the host's CPU with a hypervisor; under TCG QEMU's default on x86, a Cortex-A57 on arm. */
export function cpuOptions(vm: Pick<ResolvedVm, "arch">, accel: Accel): string[] {
  if (accel !== "tcg") return ["-cpu", "host"];
  return vm.arch === "x86_64" ? [] : ["-cpu", "cortex-a57"];
}

/**
 * Pure: the full argv (binary first) that launches `vm` daemonized, with QMP on a unix socket
 * in its instance directory (and a second one, qmp2.sock, for a process that holds it), the serial console in serial.log, virtio disks with explicit
 * formats, a CD-ROM drive that is always present (empty without `iso`, so an ISO can be
 * inserted live), user-mode networking bound to 127.0.0.1, a NIC without a boot ROM and a
 * memory balloon device (so QMP query-balloon answers; nothing inflates it).
 */
export function buildArgv(vm: ResolvedVm, ctx: LaunchContext): string[] {
  const { paths, accel } = ctx;
  const x86 = vm.arch === "x86_64";
  const a: string[] = [qemuBinary(vm)];
  const opt = (...xs: string[]) => a.push(...xs);

  opt("-name", `${vm.name},process=qfleet-${vm.name},debug-threads=on`);
  opt("-machine", machineOption(vm), "-accel", accel, ...cpuOptions(vm, accel));
  opt("-smp", String(vm.vcpus), "-m", `${Math.ceil(vm.memory / 2 ** 20)}M`);
  opt("-nodefaults", "-no-user-config", "-display", "none");
  opt("-daemonize", "-pidfile", paths.pidfile);
  opt("-qmp", `unix:${qemuEscape(paths.qmp)},server=on,wait=off`);
  // a second QMP monitor, held by a long-lived qfleet (MCP server, watch) for events, so the first stays free for everyone
  opt("-chardev", `socket,id=qmpheld,path=${qemuEscape(paths.qmpHeld)},server=on,wait=off`, "-mon", "chardev=qmpheld,mode=control");
  // the console takes input on a socket (one client at a time) and logs all the guest prints, client or not
  opt("-chardev", `socket,id=serial0,path=${qemuEscape(paths.console)},server=on,wait=off,logfile=${qemuEscape(paths.serial)},logappend=on`);
  opt("-serial", "chardev:serial0");
  if (vm.display === "vnc") opt("-device", x86 ? "VGA,id=video0" : "virtio-gpu-pci,id=video0", "-vnc", `unix:${qemuEscape(paths.vnc)}`);
  opt("-device", "virtio-rng-pci");
  opt("-device", "virtio-balloon-pci,id=balloon0"); // memory figures for the monitor (QMP query-balloon)
  // the guest agent's channel: status reads the guest's addresses and OS, stop and exec fall back on it
  opt("-chardev", `socket,id=qga0,path=${qemuEscape(paths.qga)},server=on,wait=off`);
  opt("-device", "virtio-serial-pci,id=vser0", "-device", `virtserialport,chardev=qga0,name=${QGA_CHANNEL}`);

  if (vm.firmware === "uefi" && ctx.uefi) {
    opt("-drive", `if=pflash,format=raw,unit=0,readonly=on,file=${qemuEscape(ctx.uefi.code)}`);
    opt("-drive", `if=pflash,format=raw,unit=1,file=${qemuEscape(ctx.uefi.vars)}`);
  }

  let bootindex = 1;
  for (const d of vm.disks) {
    opt("-drive", `file=${qemuEscape(d.path)},if=none,id=disk${d.index},format=${d.format},discard=unmap`);
    opt("-device", `virtio-blk-pci,drive=disk${d.index},id=vd${d.index},bootindex=${bootindex++}`);
  }

  if (vm.cloudInit) {
    // the NoCloud seed on virtio: every cloud kernel sees it (Debian's has no AHCI for a CD-ROM)
    opt("-drive", `file=${qemuEscape(paths.seed)},if=none,id=seed0,format=raw,readonly=on`);
    opt("-device", "virtio-blk-pci,drive=seed0,id=vdseed");
  }

  const media = vm.iso ? `,file=${qemuEscape(vm.iso)},format=raw` : "";
  opt("-drive", `if=none,id=cd0,media=cdrom,readonly=on${media}`);
  if (x86) opt("-device", `ide-cd,drive=cd0,id=${DEVICE_IDS.cdrom},bus=ide.0,bootindex=${bootindex}`);
  else opt("-device", "virtio-scsi-pci,id=scsi0", "-device", `scsi-cd,drive=cd0,id=${DEVICE_IDS.cdrom},bus=scsi0.0,bootindex=${bootindex}`);

  const fwds = hostForwards(vm)
    .map((r) => `,hostfwd=${r}`)
    .join("");
  opt("-netdev", `user,id=${DEVICE_IDS.netdev}${fwds}`);
  opt("-device", `virtio-net-pci,netdev=${DEVICE_IDS.netdev},id=nic0,romfile=`);

  if (vm.boot) {
    opt("-kernel", vm.boot.kernel);
    if (vm.boot.initrd) opt("-initrd", vm.boot.initrd);
    if (vm.boot.append) opt("-append", vm.boot.append);
  }
  return a;
}
