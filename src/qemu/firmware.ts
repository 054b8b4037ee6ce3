import type { Arch } from "../spec/schema.js";

/**
 * Where UEFI firmware lives on the systems we support, per guest arch, best first.
 * `code` is the read-only image, `vars` the template copied once per VM into its instance
 * directory. BIOS needs no file: SeaBIOS ships inside qemu-system-x86.
 */
export interface UefiCandidate {
  code: string;
  vars: string;
}

const brewPrefixes = ["/opt/homebrew/share/qemu", "/usr/local/share/qemu"];

export const UEFI_CANDIDATES: Record<Arch, UefiCandidate[]> = {
  x86_64: [
    { code: "/usr/share/OVMF/OVMF_CODE_4M.fd", vars: "/usr/share/OVMF/OVMF_VARS_4M.fd" }, // Debian 12, Ubuntu 22.04+
    { code: "/usr/share/OVMF/OVMF_CODE.fd", vars: "/usr/share/OVMF/OVMF_VARS.fd" }, // older Debian/Ubuntu
    { code: "/usr/share/edk2/ovmf/OVMF_CODE.fd", vars: "/usr/share/edk2/ovmf/OVMF_VARS.fd" }, // Fedora
    { code: "/usr/share/edk2/x64/OVMF_CODE.4m.fd", vars: "/usr/share/edk2/x64/OVMF_VARS.4m.fd" }, // Arch
    ...brewPrefixes.map((p) => ({ code: `${p}/edk2-x86_64-code.fd`, vars: `${p}/edk2-i386-vars.fd` })),
  ],
  aarch64: [
    { code: "/usr/share/AAVMF/AAVMF_CODE.fd", vars: "/usr/share/AAVMF/AAVMF_VARS.fd" }, // Debian/Ubuntu
    { code: "/usr/share/edk2/aarch64/QEMU_EFI-pflash.raw", vars: "/usr/share/edk2/aarch64/vars-template-pflash.raw" }, // Fedora
    { code: "/usr/share/edk2/aarch64/QEMU_CODE.fd", vars: "/usr/share/edk2/aarch64/QEMU_VARS.fd" }, // Arch
    ...brewPrefixes.map((p) => ({ code: `${p}/edk2-aarch64-code.fd`, vars: `${p}/edk2-arm-vars.fd` })),
  ],
};

export const UEFI_PACKAGES: Record<Arch, string> = {
  x86_64: "Debian/Ubuntu `apt-get install ovmf`, Fedora `dnf install edk2-ovmf`, macOS `brew install qemu`",
  aarch64: "Debian/Ubuntu `apt-get install qemu-efi-aarch64`, Fedora `dnf install edk2-aarch64`, macOS `brew install qemu`",
};

/** The package that provides qemu-system-<arch>, for "not installed" hints. */
export const SYSTEM_PACKAGES: Record<Arch, string> = {
  x86_64: "Debian/Ubuntu `apt-get install qemu-system-x86`, Fedora `dnf install qemu-system-x86`, macOS `brew install qemu`",
  aarch64: "Debian/Ubuntu `apt-get install qemu-system-arm`, Fedora `dnf install qemu-system-aarch64`, macOS `brew install qemu`",
};
