#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# debug-module.sh: build ckvm.ko against the debug kernel of "make
# debug-kernel" (building that first if needed) and print its path. The
# module's sources are copied to build/debug-kernel/ckvm/ and built there,
# so the tree's own ckvm.ko (for the stock kernel) stays as it is. ckvm is
# built with KCOV_INSTRUMENT=y: in the debug kernel only what asks for it
# is instrumented (tools/testing/vm/debug-kernel.config). Log:
# build/debug-kernel/ckvm.log.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
top=$repo/build/debug-kernel
"$here/debug-kernel.sh" >&2
kdir=$(KERNEL=debug "$here/kver.sh" --kdir)
dst=$top/ckvm
mkdir -p "$dst"
# The module's files only: what Kbuild builds.
rsync -a --delete --exclude '/build' --exclude '/tools' --exclude '/.git' \
	--exclude '/Documentation' --exclude '*.o' --exclude '*.ko' --exclude '.*.cmd' \
	--exclude '*.mod' --exclude '*.mod.c' --exclude '*.a' --exclude 'Module.symvers' \
	--exclude 'modules.order' --exclude '.*.d' \
	"$repo/" "$dst/"
if ! make -C "$kdir" M="$dst" W=1 KCOV_INSTRUMENT=y modules >"$top/ckvm.log" 2>&1; then
	tail -n 30 "$top/ckvm.log" >&2
	echo "ckvm: building ckvm.ko for the debug kernel failed ($top/ckvm.log)" >&2
	exit 1
fi
echo "$dst/ckvm.ko"
