#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# k612-build.sh: what `make check-6.12` runs. ckvm against Debian's 6.12
# kernel (bookworm-backports; Debian 13's kernel is the same series),
# without touching this machine's apt sources or /usr/src:
#
#   1. the kernel root of the 6.12 machines, build/kernel-6.12/root
#      (tools/testing/vm/kroot.sh: a minimal Debian 12 root from the mirror
#      this machine's apt uses, with bookworm-backports in the root's own
#      sources and, from it, linux-image-amd64 and linux-headers-amd64 of
#      6.12), plus sparse and dkms;
#   2. the module's sources copied in and built there against the 6.12
#      headers: W=1 with no warning, then sparse (C=2) with no report;
#   3. make deb's package installed in the root: DKMS must build ckvm.ko
#      for every kernel with headers there (6.12; installed compressed,
#      ckvm.ko.xz, as that kernel's modules are);
#   4. the machines that boot 6.12, K612_MACHINES (default "svm-612
#      svm-kvm-612"; empty: none), with every selftest (TESTS picks),
#      their points added to the total.
#
# The last line is "N passed, N failed" (one per step 1-3, and the
# machines' points). Needs root. The
# root is kept and reused (KROOT_FRESH=1 rebuilds it): about 4 minutes the
# first time on 2 cores, then about 2 (two module builds and a DKMS one).
# The machines that boot 6.12 are the *-612 ones (Documentation/testing.rst).
set -uo pipefail
{

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=$repo/build/k612
pass=0 fail=0

say() { echo "== 6.12: $*"; }
bad() {
	echo "FAIL: 6.12: $*"
	fail=$((fail + 1))
}
total() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
}
die() {
	bad "$*"
	total
}
# shellcheck source=debroot.sh
. "$here/debroot.sh"
in_root() { debroot_in "$root" "$1"; }

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot)"
"$repo/tools/testing/vm/deps.sh" --need debootstrap chroot dpkg-deb || die "missing tools"
mkdir -p "$out"

# 1. the root: the kernel root of the 6.12 machines (kroot.sh), with
# sparse and dkms added.
say "the kernel root of 6.12 (tools/testing/vm/kroot.sh 6.12), with sparse and dkms"
root=$("$repo/tools/testing/vm/kroot.sh" 6.12 2>"$out/kroot.log") ||
	die "kroot.sh 6.12 failed: $(tail -n 3 "$out/kroot.log")"
in_root "apt-get install -y --no-install-recommends sparse dkms" >"$out/apt.log" 2>&1 ||
	in_root "apt-get update && apt-get install -y --no-install-recommends sparse dkms" >"$out/apt.log" 2>&1 ||
	die "apt-get in the root failed: $(tail -n 3 "$out/apt.log")"
kdir=$(ls -d "$root"/usr/src/linux-headers-6.12*-amd64 2>/dev/null | sort -V | tail -n 1)
[ -n "$kdir" ] || die "no 6.12 headers in the root"
kdir=${kdir#"$root"}
kver=${kdir##*/linux-headers-}
pass=$((pass + 1))

# 2. W=1 and sparse against 6.12
rm -rf "$root/src/ckvm"
mkdir -p "$root/src/ckvm"
(cd "$repo" && git ls-files -z -- Kbuild Kconfig Makefile '*.c' '*.h' '*.S' |
	grep -z -v '^tools/' | xargs -0 cp --parents -t "$root/src/ckvm") ||
	die "cannot copy the sources"
say "make W=1 against $kver"
if chroot "$root" make -C "$kdir" M=/src/ckvm W=1 modules >"$out/build.log" 2>&1 &&
   ! grep -qiE 'warning|error' "$out/build.log" && [ -f "$root/src/ckvm/ckvm.ko" ]; then
	pass=$((pass + 1))
else
	bad "W=1 build against $kver ($out/build.log):"
	grep -iE 'warning|error' "$out/build.log" | head -n 20
fi
say "sparse (C=2) against $kver"
chroot "$root" make -C "$kdir" M=/src/ckvm C=2 modules >"$out/sparse.log" 2>&1
if [ $? -eq 0 ] && ! grep -vE '^  (CC|LD|AS|CHECK|MODPOST|BTF)|^make|^Skipping' "$out/sparse.log" | grep -q .; then
	pass=$((pass + 1))
else
	bad "sparse against $kver ($out/sparse.log):"
	grep -vE '^  (CC|LD|AS|CHECK|MODPOST|BTF)|^make|^Skipping' "$out/sparse.log" | head -n 20
fi

# 3. the DKMS package builds for 6.12
say "make deb; apt-get install it in the root"
deb=$("$repo/tools/packaging/mkdeb.sh" 2>"$out/mkdeb.log" | tail -n 1)
[ -f "$deb" ] || die "make deb failed ($out/mkdeb.log)"
cp "$deb" "$root/tmp/"
in_root "dpkg --purge ckvm-dkms" >/dev/null 2>&1
if in_root "apt-get install -y --no-install-recommends /tmp/$(basename "$deb")" >"$out/deb.log" 2>&1 &&
   ko=$(ls "$root/lib/modules/$kver/updates/dkms/ckvm.ko"* 2>/dev/null | head -n 1) &&
   [ -f "$ko" ] &&
   [ "$(chroot "$root" modinfo -F vermagic "${ko#"$root"}" | cut -d' ' -f1)" = "$kver" ]; then
	pass=$((pass + 1))
	say "DKMS built ckvm.ko for $(ls "$root"/lib/modules/*/updates/dkms/ckvm.ko* | sed 's|.*/lib/modules/||; s|/.*||' | tr '\n' ' ')"
else
	bad "installing the package did not build ckvm.ko for $kver ($out/deb.log)"
fi

# 4. the machines that boot 6.12 (K612_MACHINES; empty: none)
machines=${K612_MACHINES-svm-612 svm-kvm-612}
if [ -n "$machines" ]; then
	say "the machines on 6.12: $machines${TESTS:+ (TESTS=$TESTS)}"
	MACHINES=$machines CONFORMANCE=0 SKIP_HOST=1 \
		"$repo/tools/testing/vm/check.sh" >"$out/check.log" 2>&1
	grep -E '^(FAIL|SKIP|machine )' "$out/check.log"
	line=$(tail -n 1 "$out/check.log")
	p=$(echo "$line" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
	f=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
	if [ -n "$p" ] && [ -n "$f" ]; then
		pass=$((pass + p)) fail=$((fail + f))
	else
		bad "the 6.12 machines gave no total ($out/check.log)"
	fi
fi
total
}
