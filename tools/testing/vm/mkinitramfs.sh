#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mkinitramfs.sh [options] OUTPUT [TEST_PROGRAM...]
#
# Build a busybox initramfs (cpio newc, gzip) for a ckvm test machine:
# busybox and its applets, /init (tools/testing/vm/init), /etc/ckvm.conf,
# /modules/ckvm.ko (if given/built), the distro's kvm modules of kernel V,
# and /tests/<basename> for every TEST_PROGRAM (static executables).
#
# Options:
#   -m MACHINE    machine name written to the config (default svm); /init
#                 picks the module set from it
#   -k KVER       kernel version V for /lib/modules/V (default: from KDIR)
#   -c CKVM_KO    ckvm.ko to include (default: <repo>/ckvm.ko if it exists;
#                 "none" to leave it out)
#   -r CMD        "run" mode: /init runs CMD (via sh -c) instead of tests
#   -T SECONDS    per-test timeout inside the machine (default
#                 $TEST_TIMEOUT, else 120)
#   -p PARAMS     module parameters for the last module loaded (ckvm.ko or
#                 kvm-amd/kvm-intel), e.g. "tdp=0"
#   -a SRC:DEST   add file SRC at absolute path DEST (repeatable)
#   -t TREE       merge directory TREE into the root (repeatable), e.g.
#                 the QEMU payload of qemu-payload.sh
set -euo pipefail
# The whole script is one block, so bash reads it all before running it:
# editing it while a run is under way cannot derail that run.
{

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)

machine=svm
kver=""
ckvm_ko=""
mode=tests
run_cmd=""
timeout_s=${TEST_TIMEOUT:-120}
params=""
extras=()
trees=()

usage() { awk 'NR > 3 && /^#/ { sub(/^# ?/, ""); print; next } NR > 3 { exit }' "$0" >&2; exit 2; }

while getopts "m:k:c:r:T:p:a:t:h" o; do
	case $o in
	m) machine=$OPTARG ;;
	k) kver=$OPTARG ;;
	c) ckvm_ko=$OPTARG ;;
	r) mode=run; run_cmd=$OPTARG ;;
	T) timeout_s=$OPTARG ;;
	p) params=$OPTARG ;;
	a) extras+=("$OPTARG") ;;
	t) trees+=("$OPTARG") ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || usage
out=$1
shift

[ -n "$kver" ] || kver=$("$here/kver.sh")
# The distro kvm modules: /lib/modules/V, or the debug build's (KERNEL=debug).
moddir=$("$here/kver.sh" --moddir)
case "$moddir" in */$kver) ;; *) moddir=/lib/modules/$kver ;; esac
if [ -z "$ckvm_ko" ] && [ -f "$repo/ckvm.ko" ]; then
	ckvm_ko=$repo/ckvm.ko
fi
[ "$ckvm_ko" = none ] && ckvm_ko=""

"$here/deps.sh" --need file cpio busybox || exit 1
bb=$(command -v busybox || true)
case "$(file -b "${bb:-/nonexistent}" 2>/dev/null)" in
*statically*) ;;
*) for c in /bin/busybox /usr/bin/busybox; do
	if file -b "$c" 2>/dev/null | grep -q statically; then bb=$c; break; fi
   done ;;
esac
[ -x "${bb:-}" ] || { echo "ckvm: no static busybox (Debian package busybox-static); run 'make deps' as root" >&2; exit 1; }

stage=$(mktemp -d "${TMPDIR:-/tmp}/ckvm-initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT

mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,modules,tests,root}
cp "$bb" "$stage/bin/busybox"
for a in $("$bb" --list); do
	[ "$a" = busybox ] && continue
	ln -sf busybox "$stage/bin/$a"
done
cp "$here/init" "$stage/init"
chmod 755 "$stage/init"
# The kernel opens /dev/console before /init mounts devtmpfs.
mknod -m 600 "$stage/dev/console" c 5 1 2>/dev/null || true
mknod -m 666 "$stage/dev/null" c 1 3 2>/dev/null || true

# Modules: the distro's kvm set (uncompressed or .xz/.zst) and ckvm.ko.
add_mod() {
	local name=$1 rel=$2 f
	for f in "$moddir/$rel" "$moddir/$rel.xz" "$moddir/$rel.zst"; do
		[ -f "$f" ] || continue
		case "$f" in
		*.xz) xz -dc "$f" >"$stage/modules/$name.ko" ;;
		*.zst) zstd -qdc "$f" >"$stage/modules/$name.ko" ;;
		*) cp "$f" "$stage/modules/$name.ko" ;;
		esac
		return 0
	done
	echo "ckvm: warning: $moddir/$rel not found" >&2
}
case "$machine" in
*-kvm | *-kvm-*)
	add_mod irqbypass kernel/virt/lib/irqbypass.ko
	add_mod ccp kernel/drivers/crypto/ccp/ccp.ko
	add_mod kvm kernel/arch/x86/kvm/kvm.ko
	add_mod kvm-amd kernel/arch/x86/kvm/kvm-amd.ko
	add_mod kvm-intel kernel/arch/x86/kvm/kvm-intel.ko
	;;
esac
if [ -n "$ckvm_ko" ]; then
	[ -f "$ckvm_ko" ] || { echo "ckvm: $ckvm_ko not found" >&2; exit 1; }
	cp "$ckvm_ko" "$stage/modules/ckvm.ko"
fi

for t in "$@"; do
	[ -f "$t" ] || { echo "ckvm: test program $t not found" >&2; exit 1; }
	cp "$t" "$stage/tests/$(basename "$t")"
	chmod 755 "$stage/tests/$(basename "$t")"
done

for e in "${extras[@]}"; do
	src=${e%%:*}
	dst=${e#*:}
	case "$dst" in /*) ;; *) echo "ckvm: -a $e: DEST must be absolute" >&2; exit 2 ;; esac
	[ -f "$src" ] || { echo "ckvm: $src not found" >&2; exit 1; }
	mkdir -p "$stage$(dirname "$dst")"
	cp "$src" "$stage$dst"
done

for t in "${trees[@]}"; do
	[ -d "$t" ] || { echo "ckvm: -t $t: not a directory" >&2; exit 1; }
	cp -a "$t/." "$stage/"
done

q() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
{
	echo "# written by tools/testing/vm/mkinitramfs.sh"
	echo "CKVM_MACHINE=$(q "$machine")"
	echo "CKVM_MODE=$(q "$mode")"
	echo "CKVM_RUN=$(q "$run_cmd")"
	echo "CKVM_TEST_TIMEOUT=$(q "$timeout_s")"
	echo "CKVM_MODPARAMS=$(q "$params")"
} >"$stage/etc/ckvm.conf"

mkdir -p "$(dirname "$out")"
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) |
	gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
exit
}
