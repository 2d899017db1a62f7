#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# deps.sh             install the Debian packages that every target needs
#                     (make run, make check, make bench, make conformance,
#                     make profile)
# deps.sh --need X... check that each program or file X is there; for a
#                     missing one, name the package it comes from and fail
# deps.sh --list      print the package list
#
# The table below is the one list: each Debian package, and the programs
# and files of it that some script of ours uses. Packages are installed by
# name with --no-install-recommends, so nothing may come in only as
# another package's Recommends: whatever a script runs or reads is in the
# table under the package that ships it. After installing, every program
# and file of the table is checked, so a wrong entry fails here, not an
# hour later inside a test machine. .ci/run proves the list in a freshly
# bootstrapped Debian 12 root (tools/testing/fresh-root.sh).
#
# Not listed: what a minbase Debian 12 root has by Priority: required
# (bash, coreutils, util-linux for flock/setsid/unshare, findutils, grep,
# sed, gzip, tar, mawk, perl-base, debianutils).
set -euo pipefail

# The kernel source of the release (checkpatch, the conformance
# selftests): Debian 12 has linux-source-6.1, Debian 13 linux-source-6.12.
case "$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")" in
trixie) ksrc=6.12 ;;
*) ksrc=6.1 ;;
esac

# package             programs (bare names) and files (absolute paths)
TABLE="
make                  make
git                   git
build-essential       gcc ld objcopy
libc6-dev             /usr/lib/x86_64-linux-gnu/libc.a
perl                  perl
linux-headers-amd64
linux-image-amd64
linux-source-$ksrc     /usr/src/linux-source-$ksrc.tar.xz
xz-utils              xz
zstd                  zstd
rsync                 rsync
sparse                sparse
file                  file
cpio                  cpio
procps                ps
busybox-static        busybox
qemu-system-x86       qemu-system-x86_64
bochs                 bochs
bochsbios             /usr/share/bochs/BIOS-bochs-latest
vgabios               /usr/share/vgabios/vgabios.bin
isolinux              /usr/lib/ISOLINUX/isolinux.bin
syslinux-common       /usr/lib/syslinux/modules/bios/ldlinux.c32
xorriso               xorriso
debootstrap           debootstrap
dpkg                  dpkg-deb
bison                 bison
flex                  flex
bc                    bc
libelf-dev            /usr/include/gelf.h
libssl-dev            /usr/include/openssl/ssl.h
linux-perf            perf
"

# Lines of the table as "package item..." without blank lines.
rows() { printf '%s\n' "$TABLE" | sed '/^[[:space:]]*$/d'; }

# present ITEM: a program on PATH (bare name) or a readable file.
present() {
	case "$1" in
	/*) [ -r "$1" ] ;;
	*) command -v "$1" >/dev/null 2>&1 ;;
	esac
}

# package_of ITEM: the package of the table that provides ITEM.
package_of() {
	rows | awk -v it="$1" '{ for (i = 2; i <= NF; i++) if ($i == it) { print $1; exit } }'
}

# need ITEM...: report every missing item with its package; 1 if any.
need() {
	local it pkg bad=0
	for it in "$@"; do
		present "$it" && continue
		pkg=$(package_of "$it")
		echo "ckvm: $it is missing: it comes from the Debian package" \
		     "${pkg:-(none: it is not in the table of deps.sh, a bug)};" \
		     "run 'make deps' as root" >&2
		bad=1
	done
	return $bad
}

case "${1:-}" in
--need)
	shift
	need "$@"
	exit
	;;
--list)
	rows | awk '{ print $1 }'
	exit 0
	;;
"") ;;
*)
	awk 'NR > 3 && /^#/ { sub(/^# ?/, ""); print; next } NR > 3 { exit }' "$0" >&2
	exit 2
	;;
esac

pkgs=$(rows | awk '{ print $1 }')
missing=""
for p in $pkgs; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
missing=${missing# }

if [ -n "$missing" ]; then
	cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing"
	if [ "$(id -u)" -ne 0 ]; then
		echo "ckvm: missing packages ($missing); as root run: $cmd" >&2
		exit 1
	fi
	echo "ckvm: installing missing packages: $missing" >&2
	apt-get update
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
fi

# Every program and file of the table, whether just installed or not: an
# installed package that lacks what we use means the table is wrong.
# shellcheck disable=SC2046
if ! need $(rows | awk '{ for (i = 2; i <= NF; i++) print $i }'); then
	echo "ckvm: make deps: the packages are installed but the above is missing" >&2
	exit 1
fi
