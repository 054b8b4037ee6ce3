import type { Arch } from "../spec/schema.js";

export type Accel = "kvm" | "hvf" | "tcg";
export type AccelSetting = Accel | "auto";

/** What a host offers for hardware acceleration, as probed (see caps.ts). */
export interface AccelFacts {
  os: "linux" | "darwin" | "other";
  arch: Arch | "other";
  /** /dev/kvm exists and this user can open it read-write. */
  kvmDevice: boolean;
  /** The loaded KVM backend module, e.g. kvm_intel, kvm_amd, kvm_pvm; "kvm" alone on aarch64. */
  kvmModules: string[];
}

export interface AccelChoice {
  accel: Accel;
  reason: string;
}

/**
 * Picks the accelerator for one VM. Contract: an explicit setting (spec, then host entry) wins;
 * `auto` takes KVM only when the device is usable AND the backend is a real one (kvm_intel or
 * kvm_amd on x86, KVM on aarch64 Linux) for the host's own arch, HVF on macOS for the host's own
 * arch, TCG otherwise. The reason is a sentence a person can read in status and plan.
 */
export function chooseAccel(vmArch: Arch, setting: AccelSetting, hostSetting: AccelSetting | undefined, f: AccelFacts): AccelChoice {
  if (setting !== "auto") return { accel: setting, reason: `set in the spec (accel: ${setting})` };
  if (hostSetting && hostSetting !== "auto") return { accel: hostSetting, reason: `set for this host in hosts.yaml (accel: ${hostSetting})` };
  if (f.arch !== vmArch) return { accel: "tcg", reason: `${vmArch} guest on a ${f.arch} host: software emulation (TCG)` };
  if (f.os === "darwin") return { accel: "hvf", reason: "macOS Hypervisor.framework for the host's own arch" };
  if (f.os !== "linux") return { accel: "tcg", reason: "no supported hypervisor on this OS: TCG" };
  if (!f.kvmDevice) return { accel: "tcg", reason: "/dev/kvm is missing or not writable for this user: TCG" };
  const real = vmArch === "x86_64" ? ["kvm_intel", "kvm_amd"] : ["kvm"];
  const backend = f.kvmModules.find((m) => real.includes(m));
  if (!backend) {
    const seen = f.kvmModules.filter((m) => m !== "kvm").join(", ") || "none";
    return { accel: "tcg", reason: `/dev/kvm is backed by ${seen}, not ${real.join(" or ")}: it cannot run a Linux guest reliably, so TCG` };
  }
  return { accel: "kvm", reason: `KVM (${backend})` };
}
