#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mkdeb.sh: what `make deb` runs. Builds build/deb/ckvm-dkms_<version>_all.deb
# with dpkg-deb, in Debian's DKMS layout:
#
#   /usr/src/ckvm-<version>/           the module's sources (the files git
#                                      tracks: Kbuild, *.c, include/, x86/,
#                                      mmu/, svm/, vmx/) and dkms.conf
#   /usr/share/ckvm-dkms/ckvm-blacklist-kvm.conf
#                                      opt-in modprobe config (not active)
#   /usr/share/doc/ckvm-dkms/          README.md, copyright
#
# postinst adds the sources to DKMS and builds and installs ckvm.ko for
# every kernel that has headers; prerm removes it (tools/packaging/deb/).
#
# VERSION (environment) overrides the version, which is by default
# 0.1~git<commit date>.<commit>; a tree with uncommitted changes gets
# +dirty. Prints the path of the package on its last line.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
"$repo/tools/testing/vm/deps.sh" --need dpkg-deb git >&2

cd "$repo"
if [ -z "${VERSION:-}" ]; then
	VERSION=0.1~git$(git log -1 --format=%cd --date=format:%Y%m%d).$(git rev-parse --short=7 HEAD)
	[ -z "$(git status --porcelain --untracked-files=no)" ] || VERSION=$VERSION+dirty
fi
case $VERSION in
[0-9]*) ;;
*) echo "ckvm: VERSION '$VERSION' must start with a digit (Debian policy)" >&2; exit 1 ;;
esac

out=$repo/build/deb
stage=$out/ckvm-dkms_${VERSION}_all
rm -rf "$stage"
src=$stage/usr/src/ckvm-$VERSION
mkdir -p "$src" "$stage/DEBIAN" "$stage/usr/share/ckvm-dkms" \
	"$stage/usr/share/doc/ckvm-dkms"

# The module's sources: what Kbuild builds from, as git tracks them.
git ls-files -z -- Kbuild Kconfig Makefile '*.c' '*.h' '*.S' |
	grep -z -v -e '^tools/' |
	while IFS= read -r -d '' f; do
		mkdir -p "$src/$(dirname "$f")"
		cp -p "$f" "$src/$f"
	done
[ -f "$src/Kbuild" ] && [ -f "$src/kvm_main.c" ] || {
	echo "ckvm: no module sources found under $repo" >&2
	exit 1
}

subst() { sed "s/@VERSION@/$VERSION/g; s/@SIZE@/${size:-0}/g" "$1"; }
subst "$here/deb/dkms.conf.in" >"$src/dkms.conf"
install -m 0644 "$here/deb/ckvm-blacklist-kvm.conf" "$stage/usr/share/ckvm-dkms/"
install -m 0644 README.md "$stage/usr/share/doc/ckvm-dkms/README.md"
cat >"$stage/usr/share/doc/ckvm-dkms/copyright" <<EOT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: ckvm

Files: *
License: GPL-2.0
 On Debian systems the full text of the GNU General Public License
 version 2 is in /usr/share/common-licenses/GPL-2.
EOT
for s in postinst prerm; do
	subst "$here/deb/$s" >"$stage/DEBIAN/$s"
	chmod 0755 "$stage/DEBIAN/$s"
done
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
subst "$here/deb/control.in" >"$stage/DEBIAN/control"
find "$stage" -type d -exec chmod 0755 {} +
find "$stage/usr" -type f -exec chmod 0644 {} +

deb=$out/ckvm-dkms_${VERSION}_all.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >&2
echo "$deb"
