import type { Host } from "../hosts/host.js";
import type { Arch } from "../spec/schema.js";
import type { AccelFacts } from "./accel.js";
import { UEFI_CANDIDATES, type UefiCandidate } from "./firmware.js";

/** What a host can run, probed once per Host object and cached for the process. */
export interface HostCaps extends AccelFacts {
  /** UEFI firmware found per guest arch (absent: none installed). */
  uefi: Partial<Record<Arch, UefiCandidate>>;
}

const cache = new WeakMap<Host, Promise<HostCaps>>();

export function probeCaps(host: Host): Promise<HostCaps> {
  let p = cache.get(host);
  if (!p) {
    p = probe(host);
    cache.set(host, p);
    p.catch(() => cache.delete(host));
  }
  return p;
}

export function normaliseArch(machine: string): Arch | "other" {
  if (machine === "x86_64" || machine === "amd64") return "x86_64";
  if (machine === "aarch64" || machine === "arm64") return "aarch64";
  return "other";
}

async function probe(host: Host): Promise<HostCaps> {
  const [facts, modules, uefi] = await Promise.all([host.systemFacts(), host.list("/sys/module").catch(() => [] as string[]), findUefi(host)]);
  const { sys, machine, kvmRw: kvmDevice } = facts;
  const os = sys === "Linux" ? "linux" : sys === "Darwin" ? "darwin" : "other";
  return { os, arch: normaliseArch(machine ?? ""), kvmDevice, kvmModules: modules.filter((m) => /^kvm(_|$)/.test(m)), uefi };
}

async function findUefi(host: Host): Promise<Partial<Record<Arch, UefiCandidate>>> {
  const out: Partial<Record<Arch, UefiCandidate>> = {};
  for (const arch of Object.keys(UEFI_CANDIDATES) as Arch[]) {
    for (const c of UEFI_CANDIDATES[arch]) {
      const [code, vars] = await Promise.all([host.stat(c.code), host.stat(c.vars)]);
      if (code && vars) {
        out[arch] = c;
        break;
      }
    }
  }
  return out;
}
