#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kver.sh [--kernel] [KDIR]
# kver.sh --kdir
# kver.sh --moddir
# kver.sh --root
# kver.sh --series
#
# Print the kernel version V that KDIR was built for (KDIR is
# /usr/src/linux-headers-V or /lib/modules/V/build; default $KDIR).
# With --kernel print the matching Debian kernel image /boot/vmlinuz-V
# instead, failing with a clear message if it is not installed. With
# --kdir print $KDIR, or the top-level Makefile's default when it is unset.
# With --moddir print /lib/modules/V (where the distro kvm modules are).
# With --root print the private root the kernel comes from (nothing when
# it is this machine's own). With --series print the series of KVER when
# it is a kernel of a kernel root (built or not), else nothing.
#
# KVER=SERIES|VERSION (e.g. KVER=6.12): that Debian kernel instead; if
# this machine has its headers, as if KDIR named them; else from the
# kernel root of kroot.sh (build/kernel-SERIES/root): V, --kernel,
# --kdir and --moddir are paths inside it (ckvm.ko for it is built
# chrooted there: kroot.sh SERIES --module). Fails with a clear message
# if that root has not been built.
#
# KERNEL=debug: the debug kernel of "make debug-kernel"
# (tools/testing/vm/debug-kernel.sh) instead: V is its release, --kernel
# its bzImage, --kdir its build tree (what ckvm.ko for it is built
# against), --moddir its modules_install tree. Fails with a clear message
# if it has not been built.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
if [ "${KERNEL:-stock}" = debug ]; then
	if [ -n "${KVER:-}" ]; then
		echo "ckvm: KERNEL=debug and KVER=$KVER do not go together (the debug kernel is built from the host's linux-source)" >&2
		exit 1
	fi
	top=$(cd "$here/../../.." && pwd)/build/debug-kernel
	if ! v=$("$here/debug-kernel.sh" --print); then
		echo "ckvm: KERNEL=debug: the debug kernel is not built (make debug-kernel)" >&2
		exit 1
	fi
	case "${1:-}" in
	--kernel) echo "$top/obj/arch/x86/boot/bzImage" ;;
	--kdir) echo "$top/obj" ;;
	--moddir) echo "$top/root/lib/modules/$v" ;;
	--root | --series) ;;
	*) echo "$v" ;;
	esac
	exit 0
fi
case "${KERNEL:-stock}" in
stock) ;;
*) echo "ckvm: KERNEL=$KERNEL: unknown (stock or debug)" >&2; exit 1 ;;
esac

# KVER: a Debian kernel series (6.12) or version (6.12.95+deb12-amd64).
# One whose headers this machine has is taken from here; any other from
# the kernel root of kroot.sh (build/kernel-SERIES/root, built as root by
# make check, make run, make bench or kroot.sh itself).
if [ -n "${KVER:-}" ]; then
	host_kdir=""
	if [ -d "/usr/src/linux-headers-$KVER" ]; then
		host_kdir=/usr/src/linux-headers-$KVER
	else
		host_kdir=$(ls -d "/usr/src/linux-headers-$KVER".*-amd64 \
			"/usr/src/linux-headers-$KVER"-*-amd64 2>/dev/null | sort -V | tail -n 1 || true)
	fi
	if [ -n "$host_kdir" ]; then
		export KDIR=$host_kdir
		case "${1:-}" in --root | --series) exit 0 ;; esac
	else
		series=$(echo "$KVER" | sed -n 's/^\([0-9]*\.[0-9]*\).*/\1/p')
		top=$(cd "$here/../../.." && pwd)/build/kernel-$series
		if [ "${1:-}" = --series ]; then
			echo "${series:-$KVER}"
			exit 0
		fi
		if [ -z "$series" ] || [ ! -f "$top/.ready" ]; then
			echo "ckvm: KVER=$KVER: no such kernel here and no kernel root" \
			     "build/kernel-${series:-?} (as root: tools/testing/vm/kroot.sh ${series:-SERIES}," \
			     "or make check KVER=$KVER)" >&2
			exit 1
		fi
		v=$(cat "$top/.ready")
		case "$KVER" in
		"$series" | "$v") ;;
		*) echo "ckvm: KVER=$KVER: the kernel root build/kernel-$series has $v" >&2; exit 1 ;;
		esac
		case "${1:-}" in
		--kernel) echo "$top/root/boot/vmlinuz-$v" ;;
		--kdir) echo "$top/root/usr/src/linux-headers-$v" ;;
		--moddir) echo "$top/root/lib/modules/$v" ;;
		--root) echo "$top/root" ;;
		*) echo "$v" ;;
		esac
		exit 0
	fi
fi
case "${1:-}" in --root | --series) exit 0 ;; esac
if [ "${1:-}" = "--moddir" ]; then
	echo "/lib/modules/$("$0")"
	exit 0
fi

# The top-level Makefile's default: the running kernel's build tree, else
# the newest Debian linux-headers-*-amd64.
default_kdir() {
	local d=/lib/modules/$(uname -r)/build
	if [ -d "$d" ]; then
		echo "$d"
	else
		ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -n 1
	fi
}

if [ "${1:-}" = "--kdir" ]; then
	kdir=${KDIR:-$(default_kdir)}
	[ -n "$kdir" ] && echo "$kdir"
	exit 0
fi
want_kernel=0
if [ "${1:-}" = "--kernel" ]; then
	want_kernel=1
	shift
fi
kdir=${1:-${KDIR:-$(default_kdir)}}
if [ -z "$kdir" ]; then
	echo "ckvm: KDIR is not set (no kernel headers? run 'make deps' as root)" >&2
	exit 1
fi

# Resolve symlinks (/lib/modules/V/build -> /usr/src/linux-headers-V).
real=$(readlink -f "$kdir" 2>/dev/null || echo "$kdir")
v=""
for d in "$kdir" "$real"; do
	d=${d%/}
	case "$d" in
	/lib/modules/*/build) v=${d#/lib/modules/}; v=${v%/build} ;;
	*/linux-headers-*) v=${d##*/linux-headers-} ;;
	esac
	[ -n "$v" ] && break
done
if [ -z "$v" ] && [ -f "$real/include/config/kernel.release" ]; then
	v=$(cat "$real/include/config/kernel.release")
fi
if [ -z "$v" ]; then
	echo "ckvm: cannot tell the kernel version of KDIR=$kdir" \
	     "(expected /usr/src/linux-headers-V or /lib/modules/V/build)" >&2
	exit 1
fi

if [ "$want_kernel" -eq 1 ]; then
	if [ ! -r "/boot/vmlinuz-$v" ]; then
		echo "ckvm: guest kernel /boot/vmlinuz-$v is missing; it must match KDIR=$kdir" \
		     "(as root: apt-get install linux-image-$v)" >&2
		exit 1
	fi
	if [ ! -d "/lib/modules/$v/kernel" ]; then
		echo "ckvm: /lib/modules/$v is missing (as root: apt-get install linux-image-$v)" >&2
		exit 1
	fi
	echo "/boot/vmlinuz-$v"
else
	echo "$v"
fi
