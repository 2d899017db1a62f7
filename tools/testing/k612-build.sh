#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# k612-build.sh: what `make check-6.12` runs. ckvm against Debian's 6.12
# kernel (bookworm-backports; Debian 13's kernel is the same series),
# without touching this machine's apt sources or /usr/src:
#
#   1. a minimal Debian 12 root, build/k612/root (debootstrap, from the
#      mirror this machine's apt uses, read with `apt-get indextargets`),
#      with bookworm-backports in the root's own sources and, from it,
#      linux-headers-amd64 (6.12), plus sparse, make and dkms;
#   2. the module's sources copied in and built there against the 6.12
#      headers: W=1 with no warning, then sparse (C=2) with no report;
#   3. make deb's package installed in the root: DKMS must build ckvm.ko
#      for every kernel with headers there (6.12, and 6.1 if present;
#      6.12's is installed compressed, ckvm.ko.xz, as that kernel's are).
#
# The last line is "N passed, N failed" (one per step). Needs root. The
# root is kept and reused (K612_FRESH=1 rebuilds it): about 4 minutes the
# first time on 2 cores, then about 2 (two module builds and a DKMS one).
# It does not boot 6.12: see Documentation/testing.rst.
set -uo pipefail
{

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=$repo/build/k612
root=$out/root
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
in_root() {
	local prop=private
	unshare -m true 2>/dev/null || prop=unchanged
	unshare -m --propagation "$prop" sh -c '
		mount -t proc proc "$1/proc" || exit 1
		DEBIAN_FRONTEND=noninteractive chroot "$1" sh -c "$2"
	' sh "$root" "$1"
}

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot)"
"$repo/tools/testing/vm/deps.sh" --need debootstrap chroot dpkg-deb || die "missing tools"
mkdir -p "$out"

# 1. the root
apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT) $(IDENTIFIER)' 2>/dev/null |
	awk '$4 == "Packages" && $2 ~ /^bookworm(-updates|-security)?$/ { print $1, $2, $3 }' |
	sort -u >"$out/repos"
mirror=$(awk '$2 == "bookworm" { print $1; exit }' "$out/repos")
[ -n "$mirror" ] || die "this machine's apt has no bookworm repository (apt-get indextargets)"
if [ "${K612_FRESH:-0}" = 1 ] || [ ! -x "$root/usr/bin/make" ]; then
	if [ -e "$root" ]; then
		grep -q " $(readlink -f "$root")/" /proc/self/mounts &&
			die "something is mounted under $root"
		rm -rf --one-file-system "$root" || die "cannot remove $root"
	fi
	say "debootstrap --variant=minbase bookworm $root"
	debootstrap --variant=minbase bookworm "$root" "$mirror" >"$out/debootstrap.log" 2>&1 ||
		die "debootstrap failed: $(tail -n 3 "$out/debootstrap.log")"
	awk '{ print "deb", $1, $2, $3 }' "$out/repos" >"$root/etc/apt/sources.list"
	apt-config dump 2>/dev/null |
		grep -E '^Acquire::(https?::Proxy|Check-Valid-Until|Check-Date) ' \
		>"$root/etc/apt/apt.conf.d/90ckvm-host" || true
	cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
fi
# The backports of the root only: this machine's sources are not touched.
echo "deb $mirror bookworm-backports main" >"$root/etc/apt/sources.list.d/backports.list"
say "apt-get install -t bookworm-backports linux-headers-amd64 sparse make dkms (in the root)"
in_root "apt-get update && apt-get install -y --no-install-recommends -t bookworm-backports linux-headers-amd64 && apt-get install -y --no-install-recommends sparse make gcc dkms" \
	>"$out/apt.log" 2>&1 || die "apt-get in the root failed: $(tail -n 3 "$out/apt.log")"
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
total
}
