#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# debug-kernel.sh [--print]
#
# What "make debug-kernel" runs: build Debian's 6.1 kernel
# (/usr/src/linux-source-6.1.tar.xz) with the checkers of issue 12 (KASAN,
# lockdep, PROVE_RCU, DEBUG_LIST, kmemleak, DEBUG_ATOMIC_SLEEP, KFENCE,
# KCOV, DEBUG_VM, debug objects, hung task and stall detectors): "make
# tinyconfig" plus tools/testing/vm/debug-kernel.config, nothing more, so
# that it builds in reasonable time on 2 cores and boots quickly in the
# emulators. Built once into build/debug-kernel/ and reused: it is rebuilt
# only when the config fragment or the source tarball changes.
#
#   build/debug-kernel/obj/               the build tree (KDIR for ckvm.ko)
#   build/debug-kernel/obj/arch/x86/boot/bzImage
#   build/debug-kernel/root/lib/modules/V the kvm modules (kvm, kvm-amd,
#                                         kvm-intel, irqbypass)
#   build/debug-kernel/build.log, build-time
#
# --print: print "V" of a finished build and exit 0, or exit 1 if there is
# none (nothing is built).
#
# Environment: DEBUG_KERNEL_JOBS (default 2), DEBUG_KERNEL_NICE (10).
set -euo pipefail
{

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
top=$repo/build/debug-kernel
src_tar=$(ls /usr/src/linux-source-6.1.tar.xz 2>/dev/null || true)
frag=$here/debug-kernel.config
obj=$top/obj
root=$top/root

stamp_of() {	# what a finished build was made from
	{ cat "$frag"; stat -c '%s %Y' "$src_tar"; } | md5sum | cut -d' ' -f1
}

if [ "${1:-}" = "--print" ]; then
	[ -f "$top/done" ] && [ -n "$src_tar" ] &&
		[ "$(sed -n 1p "$top/done")" = "$(stamp_of)" ] || exit 1
	sed -n 2p "$top/done"
	exit 0
fi

"$here/deps.sh" --need /usr/src/linux-source-6.1.tar.xz bison flex bc \
	/usr/include/gelf.h /usr/include/openssl/ssl.h xz gcc make perl || exit 1

want=$(stamp_of)
if [ -f "$top/done" ] && [ "$(sed -n 1p "$top/done")" = "$want" ]; then
	echo "ckvm: debug kernel $(sed -n 2p "$top/done") is built ($top); built in $(cat "$top/build-time")"
	exit 0
fi

mkdir -p "$top"
exec 9>"$top/.lock"
flock 9
start=$(date +%s)
srcdir=$top/linux-source-6.1
if [ ! -f "$top/src-extracted" ] || [ "$(cat "$top/src-extracted")" != "$(stat -c '%s %Y' "$src_tar")" ]; then
	echo "ckvm: extracting $src_tar"
	rm -rf "$srcdir"
	tar -C "$top" -xJf "$src_tar"
	stat -c '%s %Y' "$src_tar" >"$top/src-extracted"
fi

jobs=${DEBUG_KERNEL_JOBS:-2}
kmake() { nice -n "${DEBUG_KERNEL_NICE:-10}" make -C "$srcdir" O="$obj" -j"$jobs" "$@"; }
mkdir -p "$obj"
echo "ckvm: configuring (tinyconfig + $frag)"
kmake tinyconfig >"$top/build.log" 2>&1
# Fragment lines override; olddefconfig fills in the rest.
"$srcdir/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "$frag" >>"$top/build.log" 2>&1
kmake olddefconfig >>"$top/build.log" 2>&1
bad=0
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*) opt=${line%%=*} ;;
	"# CONFIG_"*" is not set") opt=${line#\# }; opt=${opt%% *} ;;
	*) continue ;;
	esac
	got=$(grep -E "^$opt=|^# $opt is not set" "$obj/.config" || echo "(absent)")
	if [ "$got" != "$line" ]; then
		echo "ckvm: debug kernel config: wanted '$line', got '$got'" >&2
		bad=1
	fi
done <"$frag"
[ $bad -eq 0 ] || { echo "ckvm: fix $frag (a dependency is missing)" >&2; exit 1; }

echo "ckvm: building (nice, -j$jobs; log $top/build.log)"
if ! kmake bzImage modules >>"$top/build.log" 2>&1; then
	tail -n 30 "$top/build.log" >&2
	echo "ckvm: debug kernel build failed ($top/build.log)" >&2
	exit 1
fi
rm -rf "$root"
kmake INSTALL_MOD_PATH="$root" INSTALL_MOD_STRIP=1 modules_install >>"$top/build.log" 2>&1
v=$(cat "$obj/include/config/kernel.release")
secs=$(($(date +%s) - start))
echo "${secs}s ($((secs / 60)) min, -j$jobs, $(nproc) cores)" >"$top/build-time"
printf '%s\n%s\n' "$want" "$v" >"$top/done"
echo "ckvm: debug kernel $v built in $(cat "$top/build-time")"
exit 0
}
