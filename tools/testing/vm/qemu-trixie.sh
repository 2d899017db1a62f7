#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# qemu-trixie.sh [--print | --root]
#
# Debian 13's QEMU (10.0) next to Debian 12's (7.2), for the svm-q10
# machines (Documentation/testing.rst, "Interrupt shadows"): builds a
# minimal Debian 13 (trixie) root with debootstrap from the mirror this
# machine's apt uses for bookworm (read from `apt-get indextargets`, never
# a host name of ours), installs qemu-system-x86 in it without
# Recommends, and writes the wrapper build/trixie/qemu-system-x86_64,
# which runs that QEMU with the root's own dynamic loader, libraries,
# modules and firmware, without chroot, so that paths outside the root
# (kernel, initramfs, logs) work as with the host's QEMU. An existing
# working wrapper is kept (the root is built once: about 2 minutes and
# 400 MB). --print prints the wrapper's path, --root the root's (whose
# QEMU qemu-payload.sh -r puts inside the *-q10-qemu machines).
#
# Needs root the first time (debootstrap, chroot, apt-get inside).
# Environment: TRIXIE_DIR (default <repo>/build/trixie).
# Exit status: 0 with a working wrapper; 4 (skip) if the root is still to
# be built and this is not root; else 1 with a message.
set -uo pipefail
{

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
dir=${TRIXIE_DIR:-$repo/build/trixie}
root=$dir/root
wrapper=$dir/qemu-system-x86_64

die() {
	echo "ckvm: qemu-trixie: $*" >&2
	exit 1
}

works() {
	[ -x "$wrapper" ] && "$wrapper" --version 2>/dev/null | grep -q '^QEMU emulator version'
}

if works; then
	[ "${1:-}" = --print ] && echo "$wrapper"
	[ "${1:-}" = --root ] && echo "$root"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "ckvm: qemu-trixie: building the Debian 13 root needs root (debootstrap); run make check as root once" >&2
	exit 4
fi
"$here/deps.sh" --need debootstrap chroot >&2 || exit 1

mkdir -p "$dir"
# bookworm's mirror serves trixie too; on a Debian 13 machine (its own
# QEMU is 10 then, but the root keeps the machines alike) trixie's.
mirror=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(IDENTIFIER)' 2>/dev/null |
	awk '$3 == "Packages" && ($2 == "bookworm" || $2 == "trixie") { print $1; exit }')
[ -n "$mirror" ] || die "this machine's apt has no bookworm or trixie repository (apt-get indextargets)"

if [ ! -x "$root/usr/bin/qemu-system-x86_64" ]; then
	if [ -e "$root" ]; then
		grep -q " $(readlink -f "$root")/" /proc/self/mounts &&
			die "something is mounted under $root"
		rm -rf --one-file-system "$root" || die "cannot remove $root"
	fi
	echo "ckvm: qemu-trixie: debootstrap --variant=minbase trixie $root (log: $dir/debootstrap.log)" >&2
	debootstrap --variant=minbase trixie "$root" "$mirror" >"$dir/debootstrap.log" 2>&1 ||
		die "debootstrap failed: $(tail -n 3 "$dir/debootstrap.log")"
	echo "deb $mirror trixie main" >"$root/etc/apt/sources.list"
	apt-config dump 2>/dev/null |
		grep -E '^Acquire::(https?::Proxy|Check-Valid-Until|Check-Date) ' \
		>"$root/etc/apt/apt.conf.d/90ckvm-host" || true
	cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
	echo "ckvm: qemu-trixie: apt-get install qemu-system-x86 in the root (log: $dir/apt.log)" >&2
	# /proc for the maintainer scripts, in a mount namespace of its own
	# and unmounted again. Inside a chroot (CI's fresh root, itself in a
	# private namespace) unshare cannot make "/" private: keep it as is.
	prop=private
	unshare -m true 2>/dev/null || prop=unchanged
	unshare -m --propagation "$prop" sh -c '
		mount -t proc proc "$1/proc" || exit 1
		DEBIAN_FRONTEND=noninteractive chroot "$1" sh -c \
			"apt-get update && apt-get install -y --no-install-recommends qemu-system-x86 && apt-get clean"
		rc=$?
		umount "$1/proc"
		exit $rc
	' sh "$root" >"$dir/apt.log" 2>&1 ||
		die "apt-get in the root failed: $(tail -n 3 "$dir/apt.log")"
fi

# Firmware: Debian's QEMU looks in /usr/share/qemu, /usr/share/seabios and
# /usr/lib/ipxe/qemu, and the first of these links into the others by
# absolute paths: the wrapper's -L directory holds the root's files of
# all three (the first found wins), so that none comes from the host's.
fw=$dir/firmware
rm -rf "$fw"
mkdir -p "$fw"
for d in usr/share/qemu usr/share/seabios usr/lib/ipxe/qemu; do
	for f in "$root/$d"/*; do
		[ -e "$f" ] || [ -L "$f" ] || continue
		n=$fw/$(basename "$f")
		[ -e "$n" ] && continue
		t=$(readlink "$f" || true)
		case $t in
		/*) ln -s "$root$t" "$n" ;;
		*) ln -s "$f" "$n" ;;
		esac
	done
done

cat >"$wrapper" <<EOF
#!/bin/sh
# Debian 13's QEMU from $root (made by tools/testing/vm/qemu-trixie.sh).
export QEMU_MODULE_DIR=$root/usr/lib/x86_64-linux-gnu/qemu
exec $root/usr/lib64/ld-linux-x86-64.so.2 \\
	--library-path $root/usr/lib/x86_64-linux-gnu:$root/lib/x86_64-linux-gnu \\
	$root/usr/bin/qemu-system-x86_64 -L $fw "\$@"
EOF
chmod +x "$wrapper"
works || die "$wrapper does not run: $("$wrapper" --version 2>&1 | tail -n 2)"
[ "${1:-}" = --print ] && echo "$wrapper"
[ "${1:-}" = --root ] && echo "$root"
exit 0
}
