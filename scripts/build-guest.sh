#!/usr/bin/env bash
# Build the tiny real Linux test guest used by the test suite and `npm run demo`.
#
#   bash scripts/build-guest.sh [--force] [x86_64|aarch64|all]     (default: x86_64)
#
# Output, per arch, in .cache/guest/<arch>/ under the repo root (or $QFLEET_GUEST_DIR/<arch>/):
#   vmlinuz         Debian cloud kernel
#   initrd.img      gzip'd newc cpio of the whole root: busybox-static init, dropbear SSH on
#                   port 22, virtio modules, eth0 10.0.2.15/24 via 10.0.2.2, acpid power button
#   disk.qcow2      x86_64 only: FAT superfloppy + syslinux, boots under SeaBIOS without -kernel
#   id_ed25519      private key for root (a copy of the shared ../id_ed25519), .pub beside it
#   manifest.json   written last; paths in it are relative to its own directory
# Login: root, with the key or the password "qfleet".
# Prints the absolute path of each manifest.json on stdout; progress goes to stderr.
# Idempotent: a complete guest (manifest present, same recipe) is left alone. Debian packages
# are cached in .cache/guest/debs/<debian-arch>/. Host tools: scripts/guest-deps.txt.
set -euo pipefail
umask 022

RECIPE=2                     # bump when the guest's contents change, to force a rebuild
PASSWORD=qfleet
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
TEMPLATES=$SCRIPT_DIR/guest
CACHE=${QFLEET_GUEST_DIR:-$REPO_ROOT/.cache/guest}

# Modules the cloud kernel needs for our devices, in dependency order (no modules.dep).
MODULES=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_mmio
	failover net_failover virtio_net virtio_blk virtio_balloon virtio-rng button evdev)
# Userland packages (besides the kernel) and the shared libraries dropbear needs.
PACKAGES=(busybox-static dropbear-bin openssh-sftp-server libc6 libcrypt1 libtomcrypt1
	libtommath1 libgmp10 zlib1g)
LIBS=(libc.so.6 libcrypt.so.1 libtomcrypt.so.1 libtommath.so.1 libgmp.so.10 libz.so.1)

log() { echo "build-guest: $*" >&2; }
die() { echo "build-guest: error: $*" >&2; exit 1; }

usage() {
	echo "usage: bash scripts/build-guest.sh [--force] [x86_64|aarch64|all]" >&2
	exit "${1:-2}"
}

FORCE=0
TARGET=
for a in "$@"; do
	case "$a" in
	-f | --force) FORCE=1 ;;
	-h | --help) usage 0 ;;
	x86_64 | aarch64 | all)
		[ -z "$TARGET" ] || usage
		TARGET=$a
		;;
	*) die "unknown argument '$a' (expected x86_64, aarch64 or all)" ;;
	esac
done
TARGET=${TARGET:-x86_64}
if [ "$TARGET" = all ]; then ARCHES=(x86_64 aarch64); else ARCHES=("$TARGET"); fi

# ---------------------------------------------------------------------------------------------
# Temp dirs are removed on any exit, so an interrupted build leaves nothing that looks complete.
TMPDIRS=()
cleanup() { [ ${#TMPDIRS[@]} -eq 0 ] || rm -rf "${TMPDIRS[@]}"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# need CMD PACKAGE: record a missing host tool with the Debian package that provides it.
MISSING=()
need() { command -v "$1" >/dev/null 2>&1 || MISSING+=("$1 (Debian package: $2)"); }
check_missing() {
	[ ${#MISSING[@]} -eq 0 ] && return 0
	local m
	for m in "${MISSING[@]}"; do echo "build-guest: error: missing host tool $m" >&2; done
	die "install them with: apt-get install $(printf '%s\n' "${MISSING[@]}" | sed 's/.*package: \(.*\))/\1/' | sort -u | tr '\n' ' ')(see scripts/guest-deps.txt)"
}

arch_info() { # our arch name -> Debian arch, multiarch triplet, dynamic loader, kernel args
	case "$1" in
	x86_64)
		DARCH=amd64 TRIPLET=x86_64-linux-gnu LOADER=ld-linux-x86-64.so.2
		INTERP=/lib64/ld-linux-x86-64.so.2 APPEND="console=ttyS0 quiet" WANT_DISK=1
		ARCH_PACKAGES=() ARCH_LIBS=() ARCH_BINS=()
		;;
	aarch64)
		DARCH=arm64 TRIPLET=aarch64-linux-gnu LOADER=ld-linux-aarch64.so.1
		INTERP=/lib/ld-linux-aarch64.so.1 APPEND="console=ttyAMA0 quiet" WANT_DISK=0
		# QEMU's arm64 'virt' power button is a GPIO line; this kernel has no gpio-keys
		# driver, so gpiomon (libgpiod) watches the line for system_powerdown
		ARCH_PACKAGES=(gpiod libgpiod2) ARCH_LIBS=(libgpiod.so.2) ARCH_BINS=(gpiomon gpiodetect)
		;;
	esac
}

is_complete() { # DIR: manifest written last, same recipe, every artifact present
	local d=$1 f
	[ -f "$d/manifest.json" ] || return 1
	grep -q "\"recipe\": $RECIPE," "$d/manifest.json" || return 1
	for f in vmlinuz initrd.img id_ed25519 id_ed25519.pub; do [ -s "$d/$f" ] || return 1; done
	if [ "$WANT_DISK" = 1 ]; then [ -s "$d/disk.qcow2" ] || return 1; fi
	return 0
}

# ---------------------------------------------------------------------------------------------
# Shared credentials (arch-independent): root's key pair and the guest's SSH host key.
ensure_keys() {
	if [ -s "$CACHE/id_ed25519" ] && [ -s "$CACHE/id_ed25519.pub" ] &&
		[ -s "$CACHE/dropbear_ed25519_host_key" ] && [ -s "$CACHE/ssh_host_ed25519_key.pub" ]; then
		return 0
	fi
	log "generating SSH keys"
	local t
	t=$(mktemp -d "$CACHE/.keys.XXXXXX")
	TMPDIRS+=("$t")
	ssh-keygen -q -t ed25519 -N '' -C qfleet-test -f "$t/id_ed25519"
	ssh-keygen -q -t ed25519 -N '' -C qfleet-guest -f "$t/ssh_host_ed25519_key"
	openssh_to_dropbear "$t/ssh_host_ed25519_key" "$t/dropbear_ed25519_host_key"
	chmod 600 "$t/id_ed25519" "$t/ssh_host_ed25519_key" "$t/dropbear_ed25519_host_key"
	mv -f "$t/ssh_host_ed25519_key" "$t/ssh_host_ed25519_key.pub" "$t/dropbear_ed25519_host_key" "$CACHE/"
	mv -f "$t/id_ed25519.pub" "$CACHE/"
	mv -f "$t/id_ed25519" "$CACHE/" # last: its presence plus the others means "keys complete"
}

# An unencrypted OpenSSH ed25519 private key -> dropbear's key format:
#   string "ssh-ed25519", string (32-byte seed || 32-byte public key).
# Done with base64/od/printf so no dropbear binary has to run on the host (foreign arch).
openssh_to_dropbear() {
	local hex magic kt out
	hex=$(sed '1d;$d' "$1" | tr -d '\n' | base64 -d | od -An -v -tx1 | tr -d ' \n')
	magic=$(printf 'openssh-key-v1' | od -An -v -tx1 | tr -d ' \n')00
	kt=$(printf 'ssh-ed25519' | od -An -v -tx1 | tr -d ' \n')
	# Layout (bytes): magic(15) "none"(8) "none"(8) ""(4) nkeys(4) pubkey(4+51) privlen(4)
	# check1 check2(8) | type at 106 | pub at 121 (4+32) | priv at 157 (4+64)
	[ "${hex:0:30}" = "$magic" ] || die "unexpected OpenSSH key format in $1"
	[ "${hex:212:30}" = "0000000b$kt" ] || die "unexpected OpenSSH key type in $1"
	[ "${hex:314:8}" = "00000040" ] || die "unexpected OpenSSH private key length in $1"
	out="0000000b${kt}00000040${hex:322:128}"
	# shellcheck disable=SC2059
	printf "$(printf %s "$out" | sed 's/../\\x&/g')" >"$2"
	[ "$(wc -c <"$2")" -eq 83 ] || die "could not convert the host key"
}

# ---------------------------------------------------------------------------------------------
# Debian packages, cached in $DEBS. Host arch: the system's apt (apt-get update first if its lists
# lack the packages and we are root). Foreign arch (or no usable system lists): apt with a
# private state under $CACHE/apt/<arch>/, which never touches the host's dpkg configuration.
cached_deb() { # PATTERN-PREFIX -> newest matching cached .deb (or nothing)
	local f best=
	# shellcheck disable=SC2231 # $1 may hold a glob
	for f in "$DEBS"/${1}_*_"$DARCH".deb "$DEBS"/${1}_*_all.deb; do
		[ -f "$f" ] && best+="$f"$'\n'
	done
	[ -n "$best" ] && printf %s "$best" | sort -V | tail -n 1
	return 0
}
cached_kernel() { cached_deb "linux-image-*-cloud-$DARCH"; }

APT_MODE=
apt_setup() {
	APT=(apt-get -q) APTC=(apt-cache)
	[ "$(id -u)" = 0 ] && APT+=(-o APT::Sandbox::User=root)
	if [ "$DARCH" = "$HOST_DARCH" ]; then
		if apt-cache show busybox-static >/dev/null 2>&1 &&
			apt-cache show "linux-image-cloud-$DARCH" >/dev/null 2>&1; then
			APT_MODE=system
			return 0
		elif [ "$(id -u)" = 0 ]; then
			log "apt-get update (the host's package lists are missing)"
			apt-get -q update >&2 || die "apt-get update failed"
			APT_MODE=system
			return 0
		fi
		log "no usable system package lists and not root: using a private apt state"
	fi
	APT_MODE=private
	local s=$CACHE/apt/$DARCH
	mkdir -p "$s/lists/partial" "$s/cache/archives/partial"
	[ -f "$s/status" ] || : >"$s/status"
	local opts=(-o "APT::Architecture=$DARCH" -o "APT::Architectures::=$DARCH"
		-o "Dir::State::Lists=$s/lists" -o "Dir::State::Status=$s/status" -o "Dir::Cache=$s/cache")
	APT+=("${opts[@]}") APTC+=("${opts[@]}")
	if ! compgen -G "$s/lists/*_Packages*" >/dev/null; then apt_update; fi
}
apt_update() {
	log "apt-get update ($APT_MODE state, $DARCH)"
	if [ "$APT_MODE" = system ]; then
		[ "$(id -u)" = 0 ] || return 1
		apt-get -q update >&2
	else
		"${APT[@]}" update >&2
	fi
}
resolve_kernel() { # versioned package behind linux-image-cloud-<arch>
	"${APTC[@]}" depends "linux-image-cloud-$DARCH" 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }'
}
apt_download() {
	local t
	t=$(mktemp -d "$CACHE/.dl.XXXXXX")
	TMPDIRS+=("$t")
	log "downloading ($DARCH): $*"
	if ! (cd "$t" && "${APT[@]}" download "$@" >&2); then
		apt_update || die "cannot refresh package lists for $DARCH"
		rm -f "$t"/*.deb
		(cd "$t" && "${APT[@]}" download "$@" >&2) || die "apt-get download failed ($DARCH): $*"
	fi
	mv -f "$t"/*.deb "$DEBS/"
}
fetch_debs() {
	DEBS=$CACHE/debs/$DARCH
	mkdir -p "$DEBS"
	local p missing=() kpkg
	for p in "${PACKAGES[@]}" "${ARCH_PACKAGES[@]}"; do [ -n "$(cached_deb "$p")" ] || missing+=("$p"); done
	if [ -z "$(cached_kernel)" ] || [ ${#missing[@]} -gt 0 ]; then
		apt_setup
		if [ -z "$(cached_kernel)" ]; then
			kpkg=$(resolve_kernel)
			if [ -z "$kpkg" ]; then
				apt_update || true
				kpkg=$(resolve_kernel)
			fi
			[ -n "$kpkg" ] || die "cannot find the kernel behind linux-image-cloud-$DARCH in apt"
			missing+=("$kpkg")
		fi
		apt_download "${missing[@]}"
	fi
	DEB_FILES=("$(cached_kernel)")
	[ -n "${DEB_FILES[0]}" ] || die "the kernel package ($DARCH) did not download"
	for p in "${PACKAGES[@]}" "${ARCH_PACKAGES[@]}"; do
		DEB_FILES+=("$(cached_deb "$p")")
		[ -n "${DEB_FILES[-1]}" ] || die "package $p ($DARCH) did not download"
	done
}

# ---------------------------------------------------------------------------------------------
build_root() { # PKG ROOT: assemble the guest's root tree from the extracted packages
	local pkg=$1 r=$2 f m found
	# usr-merged layout: every busybox applet lands in /usr/bin, so any PATH finds it
	mkdir -p "$r"/usr/bin "$r"/usr/lib "$r/lib/$TRIPLET" "$r/lib/modules/$KVER" \
		"$r"/etc/init.d "$r"/etc/dropbear "$r"/etc/acpi/PWRF "$r"/root/.ssh \
		"$r"/proc "$r"/sys "$r"/dev "$r"/run "$r"/tmp "$r"/var/log "$r"/mnt
	ln -s usr/bin "$r/bin"
	ln -s usr/bin "$r/sbin"
	ln -s bin "$r/usr/sbin"
	ln -s ../run "$r/var/run"
	chmod 700 "$r/root" "$r/root/.ssh"
	chmod 1777 "$r/tmp"

	install -m 755 "$pkg/bin/busybox" "$r/usr/bin/busybox"
	for f in sh init; do ln -s busybox "$r/usr/bin/$f"; done
	ln -s bin/busybox "$r/init" # the kernel runs /init from an initramfs

	install -m 755 "$pkg/usr/sbin/dropbear" "$r/usr/bin/dropbear"
	install -m 755 "$pkg/usr/lib/openssh/sftp-server" "$r/usr/lib/sftp-server" # dropbear's path
	for f in "${LIBS[@]}" "${ARCH_LIBS[@]}" "$LOADER"; do
		found=
		for d in "$pkg/lib/$TRIPLET" "$pkg/usr/lib/$TRIPLET"; do
			if [ -e "$d/$f" ]; then found=$d/$f; break; fi
		done
		[ -n "$found" ] || die "$f not found in the $DARCH packages"
		cp -L "$found" "$r/lib/$TRIPLET/$f"
	done
	for f in "${ARCH_BINS[@]}"; do install -m 755 "$pkg/usr/bin/$f" "$r/usr/bin/$f"; done
	mkdir -p "$r$(dirname "$INTERP")"
	[ -e "$r$INTERP" ] || ln -s "/lib/$TRIPLET/$LOADER" "$r$INTERP"

	local moddir=$pkg/lib/modules/$KVER
	: >"$r/etc/modules"
	for m in "${MODULES[@]}"; do
		found=$(find "$moddir" -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" | head -n 1)
		if [ -z "$found" ]; then
			grep -q "/$m.ko\$" "$moddir/modules.builtin" 2>/dev/null ||
				log "note: module $m is neither in $KVER's packages nor built in; skipped"
			continue
		fi
		case "$found" in
		*.ko) cp "$found" "$r/lib/modules/$KVER/$m.ko" ;;
		*.ko.xz) xz -dc "$found" >"$r/lib/modules/$KVER/$m.ko" ;;
		*.ko.zst) zstd -qdc "$found" >"$r/lib/modules/$KVER/$m.ko" ;;
		esac
		echo "$m.ko" >>"$r/etc/modules"
	done

	install -m 644 "$TEMPLATES/inittab" "$r/etc/inittab"
	install -m 755 "$TEMPLATES/rcS" "$r/etc/init.d/rcS"
	install -m 755 "$TEMPLATES/getty" "$r/etc/init.d/getty"
	install -m 755 "$TEMPLATES/power-button" "$r/etc/acpi/PWRF/00000080"
	install -m 644 "$TEMPLATES/profile" "$r/etc/profile"

	local hash
	hash=$(openssl passwd -6 "$PASSWORD")
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$r/etc/passwd"
	printf 'root:x:0:\ntty:x:5:\n' >"$r/etc/group"
	printf 'root:%s:%d:0:99999:7:::\n' "$hash" $(($(date +%s) / 86400)) >"$r/etc/shadow"
	chmod 600 "$r/etc/shadow"
	printf '/bin/sh\n/bin/ash\n' >"$r/etc/shells"
	printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n' >"$r/etc/nsswitch.conf"
	echo qfleet >"$r/etc/hostname"
	printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n' >"$r/etc/hosts"
	echo 'nameserver 10.0.2.3' >"$r/etc/resolv.conf"
	install -m 600 "$CACHE/dropbear_ed25519_host_key" "$r/etc/dropbear/dropbear_ed25519_host_key"
	install -m 600 "$CACHE/id_ed25519.pub" "$r/root/.ssh/authorized_keys"
}

make_disk() { # OUT: FAT superfloppy with syslinux, kernel and initrd -> disk.qcow2
	local out=$1 img=$T/disk.raw size
	# 64 MiB, or more if kernel + initrd ever outgrow it
	size=$(($(du -k "$out/vmlinuz" "$out/initrd.img" | awk '{s += $1} END {print s}') / 1024 + 16))
	[ "$size" -ge 64 ] || size=64
	truncate -s "${size}M" "$img"
	mkfs.vfat -n QFLEET "$img" >/dev/null
	syslinux --install "$img"
	sed "s|@APPEND@|$APPEND|" "$TEMPLATES/syslinux.cfg" >"$T/syslinux.cfg"
	MTOOLS_SKIP_CHECK=1 mcopy -i "$img" "$out/vmlinuz" "$out/initrd.img" "$T/syslinux.cfg" ::/
	qemu-img convert -f raw -O qcow2 "$img" "$out/disk.qcow2"
	rm -f "$img"
}

json_str() { # minimal JSON string escaping (our values have no control characters)
	local s=${1//\\/\\\\}
	printf '"%s"' "${s//\"/\\\"}"
}

write_manifest() { # OUT
	local out=$1 hostkey
	hostkey=$(awk '{print $1 " " $2}' "$CACHE/ssh_host_ed25519_key.pub")
	{
		echo "{"
		echo "  \"arch\": $(json_str "$ARCH"),"
		echo "  \"debian_arch\": $(json_str "$DARCH"),"
		echo "  \"kernel\": \"vmlinuz\","
		echo "  \"initrd\": \"initrd.img\","
		[ "$WANT_DISK" = 1 ] && echo "  \"disk\": \"disk.qcow2\","
		echo "  \"append\": $(json_str "$APPEND"),"
		echo "  \"user\": \"root\","
		echo "  \"password\": $(json_str "$PASSWORD"),"
		echo "  \"key\": \"id_ed25519\","
		echo "  \"host_key\": $(json_str "$hostkey"),"
		echo "  \"guest_ip\": \"10.0.2.15\","
		echo "  \"ssh_port\": 22,"
		echo "  \"kernel_version\": $(json_str "$KVER"),"
		echo "  \"built_at\": $(json_str "$(date -u +%Y-%m-%dT%H:%M:%SZ)"),"
		echo "  \"recipe\": $RECIPE,"
		echo "  \"paths_relative_to\": \"manifest directory\""
		echo "}"
	} >"$out/manifest.json.tmp"
	mv -f "$out/manifest.json.tmp" "$out/manifest.json"
}

build_arch() {
	ARCH=$1
	arch_info "$ARCH"
	local dest=$CACHE/$ARCH start=$SECONDS
	if [ "$FORCE" = 0 ] && is_complete "$dest"; then
		log "$ARCH guest is up to date ($dest)"
		echo "$dest/manifest.json"
		return 0
	fi

	MISSING=()
	need apt-get apt
	need dpkg-deb dpkg
	need ssh-keygen openssh-client
	need openssl openssl
	need cpio cpio
	need gzip gzip
	need base64 coreutils
	need od coreutils
	need truncate coreutils
	if [ "$WANT_DISK" = 1 ]; then
		need mkfs.vfat dosfstools
		need syslinux syslinux
		need mcopy mtools
		need qemu-img qemu-utils
	fi
	check_missing

	log "building the $ARCH guest in $dest"
	ensure_keys
	fetch_debs

	T=$(mktemp -d "$CACHE/.build-$ARCH.XXXXXX")
	TMPDIRS+=("$T")
	local pkg=$T/pkg root=$T/root out=$T/out deb
	mkdir -p "$pkg" "$root" "$out"
	for deb in "${DEB_FILES[@]}"; do dpkg-deb -x "$deb" "$pkg"; done
	local vml
	vml=$(find "$pkg/boot" -maxdepth 1 -name 'vmlinuz-*' | sort -V | tail -n 1)
	[ -n "$vml" ] || die "no kernel in $(basename "${DEB_FILES[0]}")"
	KVER=${vml##*/vmlinuz-}
	MISSING=()
	if compgen -G "$pkg/lib/modules/$KVER/kernel/drivers/virtio/*.ko.xz" >/dev/null; then need xz xz-utils; fi
	if compgen -G "$pkg/lib/modules/$KVER/kernel/drivers/virtio/*.ko.zst" >/dev/null; then need zstd zstd; fi
	check_missing
	log "kernel $KVER"

	build_root "$pkg" "$root"
	cp "$vml" "$out/vmlinuz"
	(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) |
		gzip -9n >"$out/initrd.img"
	log "initrd.img: $(du -h "$out/initrd.img" | cut -f1)"
	install -m 600 "$CACHE/id_ed25519" "$out/id_ed25519"
	install -m 644 "$CACHE/id_ed25519.pub" "$out/id_ed25519.pub"
	if [ "$WANT_DISK" = 1 ]; then
		make_disk "$out"
		log "disk.qcow2: $(du -h "$out/disk.qcow2" | cut -f1)"
	fi
	write_manifest "$out"

	# Swap into place with renames on one filesystem: never a half guest at $dest.
	[ -e "$dest" ] && mv "$dest" "$T/old"
	mv "$out" "$dest"
	rm -rf "$T"
	log "$ARCH guest built in $((SECONDS - start)) s"
	echo "$dest/manifest.json"
}

# ---------------------------------------------------------------------------------------------
command -v flock >/dev/null 2>&1 || die "missing host tool flock (Debian package: util-linux)"
command -v dpkg >/dev/null 2>&1 || die "missing host tool dpkg (Debian package: dpkg)"
HOST_DARCH=$(dpkg --print-architecture)
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
if ! flock -n 9; then
	log "waiting for another build (lock $CACHE/.lock)"
	flock 9
fi
# Leftovers of a build that was killed outright (SIGKILL): nobody else builds while we hold the lock.
rm -rf "$CACHE"/.build-* "$CACHE"/.dl.* "$CACHE"/.keys.*
for arch in "${ARCHES[@]}"; do build_arch "$arch"; done
