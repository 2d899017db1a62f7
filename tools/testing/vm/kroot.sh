#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kroot.sh SERIES [--print | --module | --source]
#
# A Debian kernel that this machine does not have installed, for the test
# machines (KVER=SERIES, the *-612 machines): a minimal Debian 12 root,
# build/kernel-SERIES/root, with that series' linux-image-amd64 (the
# guest kernel, /boot/vmlinuz-V, and its modules, the distro kvm_amd and
# kvm_intel of the reference machines), linux-headers-amd64 and a
# compiler to build ckvm.ko against them. The root is bootstrapped from
# the mirror this machine's apt uses (tools/testing/debroot.sh); the
# series' suite is added to the root's own sources, never to this
# machine's. Built once (about 3 minutes on 2 cores and 1.4 GB), then
# reused; KROOT_FRESH=1 builds it again.
#
#   (none), --print  make sure the root is there; print its path
#   --module         also build ckvm.ko (W=1) against V's headers inside
#                    the root (the headers' Makefile names
#                    /usr/src/linux-headers-V-common by absolute path, so
#                    the build runs chrooted); fails on any warning; print
#                    the module's path. Log: build/kernel-SERIES/module.log
#   --source         also install linux-source-SERIES there; print the
#                    path of its tarball (tools/testing/conformance)
#
# Series known (the Debian 12 suite that has them):
#   6.12   bookworm-backports (Debian 13's kernel series too)
#
# Needs root (debootstrap, chroot). Exit status: 0; 4 (skip) if the root
# is to be built, or the module built, and this is not root; else 1 with
# a message on stderr.
set -uo pipefail
{

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
# shellcheck source=../debroot.sh
. "$repo/tools/testing/debroot.sh"

die() {
	echo "ckvm: kroot $series: $*" >&2
	exit 1
}

series=${1:-}
what=${2:---print}
case "$series" in
6.12) suite=bookworm-backports ;;
"") echo "usage: kroot.sh SERIES [--print|--module|--source]" >&2; exit 2 ;;
*) echo "ckvm: kroot: no Debian 12 suite known for kernel series '$series' (known: 6.12)" >&2
   exit 1 ;;
esac
dir=$repo/build/kernel-$series
root=$dir/root
ready=$dir/.ready

if [ "${KROOT_FRESH:-0}" = 1 ] || [ ! -f "$ready" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "ckvm: kroot $series: building the root of Debian's $series kernel needs root (debootstrap); run it as root once" >&2
		exit 4
	fi
	"$here/deps.sh" --need debootstrap chroot >&2 || exit 1
	mkdir -p "$dir"
	exec 8>"$dir.lock"
	flock 8
	if [ "${KROOT_FRESH:-0}" = 1 ] || [ ! -f "$ready" ]; then
		rm -f "$ready"
		debroot_repos bookworm "$dir/repos" || die "no mirror"
		echo "ckvm: kroot $series: debootstrap bookworm $root (log: $dir/debootstrap.log)" >&2
		debroot_bootstrap "$root" bookworm "$dir/repos" "$dir/debootstrap.log" || die "no root"
		echo "deb $DEBROOT_MIRROR $suite main" >"$root/etc/apt/sources.list.d/$suite.list"
		echo "ckvm: kroot $series: apt-get install -t $suite linux-image-amd64 linux-headers-amd64 (log: $dir/apt.log)" >&2
		debroot_in "$root" "export INITRD=No; apt-get update &&
			apt-get install -y --no-install-recommends -t $suite linux-image-amd64 linux-headers-amd64 &&
			apt-get install -y --no-install-recommends make gcc perl xz-utils kmod && apt-get clean" \
			>"$dir/apt.log" 2>&1 || die "apt-get in the root failed: $(tail -n 3 "$dir/apt.log")"
		v=$(ls -d "$root/usr/src/linux-headers-$series".*-amd64 2>/dev/null | sort -V | tail -n 1)
		v=${v##*/linux-headers-}
		[ -n "$v" ] && [ -r "$root/boot/vmlinuz-$v" ] && [ -d "$root/lib/modules/$v/kernel" ] ||
			die "no $series kernel, modules and headers of one version in the root ($dir/apt.log)"
		echo "$v" >"$ready"
	fi
	exec 8>&-
fi
v=$(cat "$ready")

case "$what" in
--print)
	echo "$root" ;;
--source)
	src=$(ls "$root/usr/src/linux-source-$series".tar.* 2>/dev/null | head -n 1)
	if [ -z "$src" ]; then
		[ "$(id -u)" -eq 0 ] || { echo "ckvm: kroot $series: linux-source-$series is not in the root; run as root once" >&2; exit 4; }
		echo "ckvm: kroot $series: apt-get install -t $suite linux-source-$series (log: $dir/apt.log)" >&2
		debroot_in "$root" "export INITRD=No; apt-get update && apt-get install -y --no-install-recommends -t $suite linux-source-$series && apt-get clean" \
			>>"$dir/apt.log" 2>&1 || die "apt-get install linux-source-$series failed: $(tail -n 3 "$dir/apt.log")"
		src=$(ls "$root/usr/src/linux-source-$series".tar.* 2>/dev/null | head -n 1)
		[ -n "$src" ] || die "linux-source-$series has no /usr/src/linux-source-$series.tar.*"
	fi
	echo "$src" ;;
--module)
	[ "$(id -u)" -eq 0 ] || { echo "ckvm: kroot $series: building ckvm.ko for $v needs root (chroot)" >&2; exit 4; }
	exec 8>"$dir.lock"
	flock 8
	# The module's files only (what Kbuild builds), as the tree has them
	# now, committed or not.
	mkdir -p "$root/src/ckvm-machines"
	rsync -a --delete --exclude '/build' --exclude '/tools' --exclude '/.git' \
		--exclude '/Documentation' --exclude '*.o' --exclude '*.ko' --exclude '.*.cmd' \
		--exclude '*.mod' --exclude '*.mod.c' --exclude '*.a' --exclude 'Module.symvers' \
		--exclude 'modules.order' --exclude '.*.d' --exclude '.git*' \
		"$repo/" "$root/src/ckvm-machines/" || die "cannot copy the sources"
	if chroot "$root" make -C "/usr/src/linux-headers-$v" M=/src/ckvm-machines W=1 modules \
		>"$dir/module.log" 2>&1 && [ -f "$root/src/ckvm-machines/ckvm.ko" ] &&
		! grep -q 'warning:' "$dir/module.log"; then
		echo "$root/src/ckvm-machines/ckvm.ko"
	else
		grep -E 'error|warning:' "$dir/module.log" | head -n 20 >&2
		die "building ckvm.ko for $v failed or warned ($dir/module.log)"
	fi ;;
*)
	echo "usage: kroot.sh SERIES [--print|--module|--source]" >&2
	exit 2 ;;
esac
exit 0
}
