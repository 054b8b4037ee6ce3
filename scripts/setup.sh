#!/usr/bin/env bash
# Installs what qemu-fleet needs and is missing, and does nothing when all is there:
# QEMU (system emulators, qemu-img, firmware) and the tools that build the test guests,
# through the OS package manager (apt-get, dnf or brew), then the npm dependencies (npm ci).
# Safe to run again and again; prints one line when there is nothing to do.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

apt_pkgs=(qemu-system-x86 qemu-system-arm qemu-utils qemu-efi-aarch64 ovmf openssh-client openssh-server iproute2)
dnf_pkgs=(qemu-system-x86 qemu-system-aarch64 qemu-img edk2-ovmf edk2-aarch64 openssh-clients openssh-server iproute)
for deps in scripts/guest-deps.txt scripts/cloud-image-deps.txt; do
  [[ -f $deps ]] || continue
  while read -r p; do [[ -n "$p" && "$p" != \#* ]] && apt_pkgs+=("$p"); done < "$deps"
done

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
  echo "setup: need root to run: $*" >&2; exit 1; fi; }

install_os_packages() {
  if command -v dpkg-query >/dev/null && command -v apt-get >/dev/null; then
    local missing=()
    for p in "${apt_pkgs[@]}"; do
      dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    echo "setup: installing with apt-get: ${missing[*]}" >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  elif command -v dnf >/dev/null; then
    rpm -q "${dnf_pkgs[@]}" >/dev/null 2>&1 && return 0
    echo "setup: installing with dnf: ${dnf_pkgs[*]}" >&2
    as_root dnf install -y "${dnf_pkgs[@]}" >&2
  elif command -v brew >/dev/null; then
    command -v qemu-img >/dev/null && return 0
    echo "setup: installing with brew: qemu" >&2
    brew install qemu >&2
  else
    command -v qemu-img >/dev/null || { echo "setup: no apt-get, dnf or brew found; install QEMU yourself" >&2; exit 1; }
  fi
}

install_npm_deps() {
  # node_modules/.package-lock.json is npm's record of the last install; newer lock = reinstall.
  if [[ -f node_modules/.package-lock.json && ! package-lock.json -nt node_modules/.package-lock.json && -d dist ]]; then
    return 0
  fi
  echo "setup: installing npm dependencies (npm ci)" >&2
  npm ci --no-audit --no-fund >&2
}

node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<19)) { console.error("setup: Node >= 20.19 is needed, this is "+process.version); process.exit(1) }'
install_os_packages
install_npm_deps
echo "setup: ready ($(qemu-img --version | head -n1))" >&2
