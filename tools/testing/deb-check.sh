#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# deb-check.sh: what `make deb-check` runs. Proves the DKMS package on a
# Debian root nobody prepared, of this machine's release (Debian 12 or
# 13; DEB_RELEASE=bookworm|trixie to choose):
#
#   1. make deb (tools/packaging/mkdeb.sh),
#   2. a minimal Debian root (debootstrap --variant=minbase RELEASE,
#      from the mirror this machine's apt uses, read with `apt-get
#      indextargets`, as fresh-root.sh does), with dkms and the headers of
#      the kernel the test machines boot (linux-headers-V, V from kver.sh;
#      so the release must have V: on Debian 12 that is bookworm, on
#      Debian 13 trixie; Debian 13 is proven by running this inside the
#      fresh Debian 13 root: RELEASE=trixie FRESH_TARGETS=deb-check
#      make check-fresh),
#   3. apt-get install ./ckvm-dkms_*.deb in it: its postinst must leave
#      ckvm.ko for V under /lib/modules/V/updates/dkms (Debian 13's DKMS
#      compresses it as the kernel's own modules: ckvm.ko.xz), and dkms
#      status must say installed,
#   4. that ckvm.ko, not the one built here, in the svm machine with
#      DEB_TESTS (default "kvm_dev_test io_test trace_test"),
#   5. apt-get remove ckvm-dkms: the module and /usr/src/ckvm-<version>
#      must be gone.
#
# The last line is the total as make check prints it (steps 1-3 and 5 are
# one test each). Needs root. The root stays in build/deb-check/root
# (build/deb-check-trixie/root for Debian 13) and is reused (its apt packages are kept; the package is installed anew):
# DEB_FRESH=1 builds it again. About 5 minutes the first time on 2 cores
# (debootstrap, dkms, gcc, headers), then 2 (a DKMS build and a QEMU
# boot).
set -uo pipefail
{

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck disable=SC1091
release=${DEB_RELEASE:-$(. /etc/os-release 2>/dev/null; echo "${VERSION_CODENAME:-bookworm}")}
out=$repo/build/deb-check
[ "$release" = bookworm ] || out=$repo/build/deb-check-$release
root=$out/root
tests=${DEB_TESTS:-kvm_dev_test io_test trace_test}
pass=0 fail=0

say() { echo "== deb-check: $*"; }
ok() { pass=$((pass + 1)); }
bad() {
	echo "FAIL: deb-check: $*"
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

case $release in
bookworm | trixie) ;;
*) die "DEB_RELEASE=$release: bookworm or trixie" ;;
esac
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot)"
"$repo/tools/testing/vm/deps.sh" --need debootstrap chroot dpkg-deb || die "missing tools"
kver=$(KDIR=$("$here/vm/kver.sh" --kdir) "$here/vm/kver.sh") || die "no kernel headers here (make deps)"
mkdir -p "$out"

# 1. the package
say "make deb"
deb=$("$repo/tools/packaging/mkdeb.sh" 2>"$out/mkdeb.log" | tail -n 1)
if [ -f "$deb" ]; then ok; else die "make deb failed ($out/mkdeb.log)"; fi
version=$(dpkg-deb -f "$deb" Version)

# 2. the root (tools/testing/debroot.sh)
# shellcheck source=debroot.sh
. "$here/debroot.sh"
debroot_repos "$release" "$out/repos" 2>"$out/repos.err" || die "$(cat "$out/repos.err")"
if [ "${DEB_FRESH:-0}" = 1 ] || [ ! -x "$root/usr/sbin/dkms" ]; then
	say "debootstrap --variant=minbase $release $root"
	debroot_bootstrap "$root" "$release" "$out/repos" "$out/debootstrap.log" 2>"$out/repos.err" ||
		die "$(cat "$out/repos.err")"
fi

# in_root COMMAND: sh -c COMMAND chrooted (debroot_in); output to
# $out/root.log.
in_root() {
	echo "# $1" >>"$out/root.log"
	debroot_in "$root" "$1" >>"$out/root.log" 2>&1
}
: >"$out/root.log"
say "apt-get install dkms linux-headers-$kver in the root"
in_root "apt-get update && apt-get install -y --no-install-recommends dkms linux-headers-$kver" ||
	die "apt-get in the root failed: $(tail -n 3 "$out/root.log")"
# An earlier run's package goes first, so that this one builds anew.
in_root "dpkg --purge ckvm-dkms" || true

# 3. install: DKMS builds ckvm.ko for the headers
cp "$deb" "$root/tmp/"
say "apt-get install ./$(basename "$deb") in the root"
ko=$root/lib/modules/$kver/updates/dkms/ckvm.ko
if in_root "apt-get install -y --no-install-recommends /tmp/$(basename "$deb")" &&
   { [ -f "$ko" ] || { [ -f "$ko.xz" ] && ko=$ko.xz; }; } && in_root "dkms status -m ckvm -v '$version' -k $kver | grep -q installed" &&
   [ -f "$root/usr/src/ckvm-$version/dkms.conf" ] &&
   [ "$(chroot "$root" modinfo -F vermagic "${ko#"$root"}" 2>/dev/null | cut -d' ' -f1)" = "$kver" ]; then
	ok
	say "DKMS built $ko for $kver"
else
	die "installing the package did not build ckvm.ko for $kver ($out/root.log): $(tail -n 5 "$out/root.log")"
fi

# 4. that module in the svm machine
case $ko in
*.xz) xz -dc "$ko" >"$out/ckvm.ko" || die "cannot decompress $ko" ;;
*) cp "$ko" "$out/ckvm.ko" ;;
esac
say "the DKMS-built ckvm.ko in the svm machine: $tests"
MACHINES=svm TESTS="$tests" CONFORMANCE=0 SKIP_HOST=1 CKVM_KO_FILE=$out/ckvm.ko \
	"$repo/tools/testing/vm/check.sh" >"$out/check.log" 2>&1
grep -E '^(FAIL|machine svm:)' "$out/check.log"
line=$(tail -n 1 "$out/check.log")
p=$(echo "$line" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
f=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
if [ -n "$p" ] && [ -n "$f" ] && [ "$p" -gt 0 ]; then
	pass=$((pass + p)) fail=$((fail + f))
else
	bad "the svm machine run gave no total ($out/check.log)"
fi

# 5. remove
say "apt-get remove ckvm-dkms"
if in_root "apt-get remove -y ckvm-dkms" && [ ! -e "$ko" ] &&
   [ ! -e "$root/usr/src/ckvm-$version" ]; then
	ok
else
	bad "removing the package left ckvm.ko or its sources ($out/root.log)"
fi
total
}
