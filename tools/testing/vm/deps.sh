#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install the Debian packages that building and testing ckvm needs.
# Fast no-op when everything is already installed; needs root otherwise.
set -euo pipefail

PKGS="build-essential linux-headers-amd64 linux-image-amd64 qemu-system-x86
busybox-static cpio sparse linux-source-6.1 bochs bochsbios vgabios isolinux
xorriso"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
missing=${missing# }

[ -z "$missing" ] && exit 0

cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing"
if [ "$(id -u)" -ne 0 ]; then
	echo "ckvm: missing packages ($missing); as root run: $cmd" >&2
	exit 1
fi

echo "ckvm: installing missing packages: $missing" >&2
apt-get update
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
