#!/usr/bin/env bash
# Build a stock-like Debian 12 (bookworm) amd64 cloud image, used as a test fixture.
#
#   bash scripts/build-cloud-image.sh [--force]
#
# Output, outside the clone, keyed by this script's contents (a changed recipe is a new build):
#   ${QFLEET_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/qemu-fleet}/cloud-image/<sha256 of this
#   script, first 16 hex>/
#     debian-12-cloud-amd64.qcow2   3 GiB virtual, uncompressed qcow2; boot it through an overlay
#     manifest.json                 written last; paths in it are relative to its own directory
# Prints the absolute path of manifest.json on stdout; progress goes to stderr.
#
# The image is built like a vendor cloud image: mmdebstrap --variant=important plus the kernel,
# cloud-init, OpenSSH and qemu-guest-agent; root locked, no authorized_keys, no SSH host keys
# (cloud-init makes them; an `ssh-keygen -A` drop-in is the fallback), an empty machine-id and no
# network config (cloud-init writes it from its datasource). It needs a NoCloud seed (a volume
# labelled `cidata`) or another datasource to get a user and an address. Debian's cloud kernel
# has no AHCI: attach the seed as a virtio disk, not as a q35 CD-ROM. Boot: SeaBIOS -> mbr.bin ->
# extlinux on one MBR partition (ext4 without 64bit, which syslinux cannot read).
#
# Idempotent: a complete build (manifest.json present) is left alone. A flock serialises
# concurrent callers; temp files, mounts and loop devices go on every exit; an interrupted build
# never looks complete. Downloaded .deb files are kept in <cache>/cloud-image/debs/ so a rebuild
# after a recipe change downloads only what changed. Needs root (loop devices, mount, chroot).
# Host tools: scripts/cloud-image-deps.txt.
set -euo pipefail
umask 022

SUITE=bookworm
DEBIAN_MIRROR=${QFLEET_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${QFLEET_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
IMAGE_NAME=debian-12-cloud-amd64.qcow2
DISK_SIZE=$((3 * 1024 * 1024 * 1024))
PART_START=$((1024 * 1024)) # sector 2048
APPEND_CONSOLE="console=tty0 console=ttyS0,115200"
PACKAGES=(systemd systemd-sysv dbus linux-image-cloud-amd64 openssh-server cloud-init
	cloud-guest-utils extlinux syslinux-common ifupdown isc-dhcp-client sudo ca-certificates
	netbase procps iproute2 locales qemu-guest-agent)

SCRIPT_PATH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
HOME=${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}
BASE=${QFLEET_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/qemu-fleet}/cloud-image

log() { echo "build-cloud-image: $*" >&2; }
die() { echo "build-cloud-image: error: $*" >&2; exit 1; }

FORCE=0
for a in "$@"; do
	case "$a" in
	-f | --force) FORCE=1 ;;
	-h | --help)
		echo "usage: bash scripts/build-cloud-image.sh [--force]" >&2
		exit 0
		;;
	*) die "unknown argument '$a' (usage: bash scripts/build-cloud-image.sh [--force])" ;;
	esac
done

command -v sha256sum >/dev/null 2>&1 || die "missing host tool sha256sum (Debian package: coreutils)"
RECIPE=$(sha256sum "$SCRIPT_PATH" | cut -c1-16)
DEST=$BASE/$RECIPE
DEBS=$BASE/debs

is_complete() { # manifest.json is written last, after the image is in place
	[ -s "$DEST/manifest.json" ] && [ -s "$DEST/$IMAGE_NAME" ] &&
		grep -q "\"recipe\": \"$RECIPE\"" "$DEST/manifest.json"
}

# Fast path: no lock needed, a complete build is only ever renamed into place whole.
if [ "$FORCE" = 0 ] && is_complete; then
	log "up to date ($DEST)"
	echo "$DEST/manifest.json"
	exit 0
fi

# ---------------------------------------------------------------------------------------------
# Cleanup on every exit path: the running child (if a signal came), mounts, the loop device, then
# the temp dir. Long steps run in the background and are waited for, so a signal reaches the
# trap at once; mmdebstrap itself, once told, finishes its current step (up to ~40 s) and unmounts
# what it mounted before it exits. After a SIGKILL, the next run cleans up (see below).
T='' MNT='' LOOP='' CHILD=''
cleanup() {
	local rc=$?
	set +e
	if [ -n "$CHILD" ] && kill -0 "$CHILD" 2>/dev/null; then
		kill -TERM "$CHILD" 2>/dev/null
		wait "$CHILD" 2>/dev/null
	fi
	if [ -n "$MNT" ] && mountpoint -q "$MNT"; then
		umount -R "$MNT" 2>/dev/null || umount -R -l "$MNT"
	fi
	[ -z "$LOOP" ] || losetup -d "$LOOP" 2>/dev/null
	[ -z "$T" ] || rm -rf "$T"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

run() { # CMD...: run in the background and wait (stdout goes to stderr)
	local rc=0
	"$@" >&2 &
	CHILD=$!
	wait "$CHILD" || rc=$?
	CHILD=
	return "$rc"
}

MISSING=()
need() { command -v "$1" >/dev/null 2>&1 || MISSING+=("$1 (Debian package: $2)"); }
need flock util-linux
need losetup mount
need mount mount
need mountpoint util-linux
need chroot coreutils
need truncate coreutils
need mmdebstrap mmdebstrap
need sfdisk fdisk
need mkfs.ext4 e2fsprogs
need extlinux extlinux
need qemu-img qemu-utils
need fstrim util-linux
if [ ${#MISSING[@]} -gt 0 ]; then
	for m in "${MISSING[@]}"; do echo "build-cloud-image: error: missing host tool $m" >&2; done
	die "install them with: apt-get install $(printf '%s\n' "${MISSING[@]}" | sed 's/.*package: \(.*\))/\1/' | sort -u | tr '\n' ' ')(see scripts/cloud-image-deps.txt)"
fi
MBR_BIN=
for f in /usr/lib/syslinux/mbr/mbr.bin /usr/lib/EXTLINUX/mbr.bin /usr/share/syslinux/mbr.bin; do
	[ -s "$f" ] && MBR_BIN=$f && break
done
[ -n "$MBR_BIN" ] || die "no syslinux mbr.bin on the host (Debian package: syslinux-common)"
[ "$(id -u)" = 0 ] || die "must run as root (loop devices, mount and chroot)"
[ "$(dpkg --print-architecture 2>/dev/null)" = amd64 ] || die "builds on an amd64 Debian host only"

mkdir -p "$BASE" "$DEBS"
exec 9>"$BASE/.lock"
if ! flock -n 9; then
	log "waiting for another build (lock $BASE/.lock)"
	flock 9
fi
if [ "$FORCE" = 0 ] && is_complete; then # built by whoever held the lock
	log "up to date ($DEST)"
	echo "$DEST/manifest.json"
	exit 0
fi

# Leftovers of a build that was killed outright (SIGKILL): its children inherited the lock fd, so
# holding the lock means none of them still runs. Unmount, detach, delete.
awk -v p="$BASE/.build-" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
	while read -r m; do umount -l "$m" 2>/dev/null || true; done
losetup -l -n -O NAME,BACK-FILE 2>/dev/null | awk -v p="$BASE/.build-" 'index($2, p) == 1 { print $1 }' |
	while read -r l; do losetup -d "$l" 2>/dev/null || true; done
rm -rf "$BASE"/.build-*

START=$SECONDS
T=$(mktemp -d "$BASE/.build-$RECIPE.XXXXXX")
RAW=$T/disk.raw
MNT=$T/root
OUT=$T/out
mkdir -p "$MNT" "$OUT"
log "building $IMAGE_NAME in $DEST"

# ---------------------------------------------------------------------------------------------
# Disk: one bootable MBR partition from 1 MiB to the end, ext4 without 64bit, through an offset
# loop device (this host kind has no partition scanning).
truncate -s "$DISK_SIZE" "$RAW"
printf 'label: dos\nstart=%d, type=83, bootable\n' $((PART_START / 512)) | sfdisk -q "$RAW" >&2
LOOP=$(losetup -f --show -o "$PART_START" --sizelimit $((DISK_SIZE - PART_START)) "$RAW")
FS_UUID=$(cat /proc/sys/kernel/random/uuid)
# Inode tables and journal zeroed now, so the guest's ext4lazyinit has nothing to do under TCG.
mkfs.ext4 -q -F -O ^64bit -L debian-root -U "$FS_UUID" -E lazy_itable_init=0,lazy_journal_init=0 "$LOOP" >&2
mount -o noatime "$LOOP" "$MNT"

# ---------------------------------------------------------------------------------------------
# Root filesystem. The .deb cache is copied in before apt downloads and the (pruned) archive is
# copied back out before mmdebstrap empties it; essential/unlink is skipped so mmdebstrap keeps
# the essential packages it downloaded there too.
log "mmdebstrap $SUITE (--variant=important, ${#PACKAGES[@]} extra packages)"
export QF_DEBS=$DEBS
include=$(IFS=,; echo "${PACKAGES[*]}")
# shellcheck disable=SC2016 # the hooks are sh code run by mmdebstrap with $1 = the chroot
run mmdebstrap --variant=important --mode=root --arch=amd64 --components=main \
	--include="$include" \
	--dpkgopt=force-unsafe-io \
	--skip=essential/unlink \
	--setup-hook='mkdir -p "$1/var/cache/apt/archives" && for f in "$QF_DEBS"/*.deb; do [ ! -e "$f" ] || cp "$f" "$1/var/cache/apt/archives/"; done' \
	--customize-hook='chroot "$1" apt-get -q -o APT::Sandbox::User=root autoclean >&2' \
	--customize-hook='rm -f "$QF_DEBS"/*.deb && cp "$1"/var/cache/apt/archives/*.deb "$QF_DEBS"/' \
	"$SUITE" "$MNT" \
	"deb $DEBIAN_MIRROR $SUITE main" \
	"deb $DEBIAN_MIRROR $SUITE-updates main" \
	"deb $SECURITY_MIRROR $SUITE-security main"
log "mmdebstrap done after $((SECONDS - START)) s; $(find "$DEBS" -name '*.deb' | wc -l) .deb files cached"

R=$MNT
KVER=$(find "$R/boot" -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' | sed 's/^vmlinuz-//' | sort -V | tail -n 1)
[ -n "$KVER" ] || die "no kernel in /boot"
[ -s "$R/boot/initrd.img-$KVER" ] || die "no initrd for kernel $KVER"
log "kernel $KVER"

# mmdebstrap leftovers and host copies
rm -f "$R/etc/dpkg/dpkg.cfg.d/99mmdebstrap" "$R/etc/apt/apt.conf.d/99mmdebstrap"
rm -f "$R/etc/resolv.conf" # dhclient writes it
echo localhost >"$R/etc/hostname"
cat >"$R/etc/hosts" <<'EOF'
127.0.0.1	localhost
::1		localhost ip6-localhost ip6-loopback
ff02::1		ip6-allnodes
ff02::2		ip6-allrouters
EOF
cat >"$R/etc/fstab" <<EOF
# <file system>	<mount point>	<type>	<options>	<dump>	<pass>
UUID=$FS_UUID	/	ext4	rw,discard,errors=remount-ro,x-systemd.growfs	0	1
EOF
echo 'LANG=C.UTF-8' >"$R/etc/default/locale"

# Network: only loopback; cloud-init renders the rest into /etc/network/interfaces.d/.
cat >"$R/etc/network/interfaces" <<'EOF'
# Network interfaces are configured by cloud-init in /etc/network/interfaces.d/.
source /etc/network/interfaces.d/*

auto lo
iface lo inet loopback
EOF
mkdir -p "$R/etc/network/interfaces.d"

# Accounts and credentials: no password, no keys, no host keys, no machine identity.
chroot "$R" passwd -l root >&2
rm -rf "$R/root/.ssh"
rm -f "$R"/etc/ssh/ssh_host_*
: >"$R/etc/machine-id"
rm -f "$R/var/lib/dbus/machine-id"
rm -f "$R/var/lib/systemd/random-seed" "$R/var/lib/systemd/credential.secret"

# sshd refuses to start without host keys, and the unit tests its config (`sshd -t`) first:
# generate any missing key before that. cloud-init's ssh module normally made them already.
mkdir -p "$R/etc/systemd/system/ssh.service.d"
cat >"$R/etc/systemd/system/ssh.service.d/10-host-keys.conf" <<'EOF'
# Vendor cloud images ship without SSH host keys; cloud-init makes them on first boot.
# Fallback for boots without cloud-init: make any missing key before sshd checks its config.
[Service]
ExecStartPre=
ExecStartPre=/usr/bin/ssh-keygen -A
ExecStartPre=/usr/sbin/sshd -t
EOF

mkdir -p "$R/etc/cloud/cloud.cfg.d"
cat >"$R/etc/cloud/cloud.cfg.d/01_qemu-fleet.cfg" <<'EOF'
# Written by qemu-fleet's scripts/build-cloud-image.sh
manage_etc_hosts: true
locale: C.UTF-8
EOF

# Services. qemu-guest-agent has no [Install] section in Debian: udev starts it through
# SYSTEMD_WANTS when the virtio-serial port org.qemu.guest_agent.0 shows up.
chroot "$R" systemctl enable ssh.service >&2
for u in cloud-init-local.service cloud-init.service cloud-config.service cloud-final.service; do
	chroot "$R" systemctl is-enabled -q "$u" || die "$u is not enabled in the image"
done
grep -qs 'org.qemu.guest_agent.0' "$R"/lib/udev/rules.d/*qemu-guest-agent*.rules ||
	die "qemu-guest-agent's udev rule is missing: the agent would not start"
[ -s "$R/lib/systemd/system/qemu-guest-agent.service" ] || die "no qemu-guest-agent.service"

DEFAULT_USER=$(awk '/^[[:space:]]*default_user:/ { d = 1; next }
	d && /^[[:space:]]*name:/ { print $2; exit }' "$R/etc/cloud/cloud.cfg")

# Boot loader: extlinux in /boot/extlinux, syslinux's mbr.bin in the first 440 bytes.
mkdir -p "$R/boot/extlinux"
cat >"$R/boot/extlinux/extlinux.conf" <<EOF
default debian
prompt 0
timeout 0

label debian
	kernel /boot/vmlinuz-$KVER
	initrd /boot/initrd.img-$KVER
	append root=UUID=$FS_UUID ro $APPEND_CONSOLE
EOF
extlinux --install "$R/boot/extlinux" >&2 2>&1
dd if="$MBR_BIN" of="$RAW" bs=440 count=1 conv=notrunc status=none

# Give freed blocks back to the sparse file, then detach before converting.
fstrim "$MNT" >&2 || true
USED_KB=$(df -k --output=used "$MNT" | tail -n 1 | tr -d ' ')
umount "$MNT"
losetup -d "$LOOP"
LOOP=

log "qemu-img convert -O qcow2"
run qemu-img convert -f raw -O qcow2 "$RAW" "$OUT/$IMAGE_NAME"
rm -f "$RAW"
IMAGE_BYTES=$(stat -c %s "$OUT/$IMAGE_NAME")

json_str() { # minimal JSON string escaping (our values have no control characters)
	local s=${1//\\/\\\\}
	printf '"%s"' "${s//\"/\\\"}"
}
BUILD_SECONDS=$((SECONDS - START))
{
	echo "{"
	echo "  \"recipe\": \"$RECIPE\","
	echo "  \"image\": $(json_str "$IMAGE_NAME"),"
	echo "  \"format\": \"qcow2\","
	echo "  \"distribution\": \"debian\","
	echo "  \"release\": \"12\","
	echo "  \"suite\": \"$SUITE\","
	echo "  \"arch\": \"x86_64\","
	echo "  \"debian_arch\": \"amd64\","
	echo "  \"kernel_version\": $(json_str "$KVER"),"
	echo "  \"append\": $(json_str "root=UUID=$FS_UUID ro $APPEND_CONSOLE"),"
	echo "  \"root_fs_uuid\": \"$FS_UUID\","
	if [ -n "$DEFAULT_USER" ]; then
		echo "  \"default_user\": $(json_str "$DEFAULT_USER"),"
	else
		echo "  \"default_user\": null,"
	fi
	echo "  \"virtual_size\": $DISK_SIZE,"
	echo "  \"image_bytes\": $IMAGE_BYTES,"
	echo "  \"root_fs_used_bytes\": $((USED_KB * 1024)),"
	echo "  \"built_at\": $(json_str "$(date -u +%Y-%m-%dT%H:%M:%SZ)"),"
	echo "  \"build_seconds\": $BUILD_SECONDS,"
	echo "  \"paths_relative_to\": \"manifest directory\""
	echo "}"
} >"$OUT/manifest.json"

# Swap into place with renames on one filesystem: never a half image at $DEST.
[ -e "$DEST" ] && mv "$DEST" "$T/old"
mv "$OUT" "$DEST"
log "built in $BUILD_SECONDS s: $DEST/$IMAGE_NAME ($((IMAGE_BYTES / 1024 / 1024)) MiB, kernel $KVER)"
echo "$DEST/manifest.json"
