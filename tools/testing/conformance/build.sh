#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the upstream KVM selftests (x86_64 + generic) of linux-source-6.1
# (or of linux-source-$CONF_SERIES, KVER=6.12: build/linux-source-6.12/),
# statically linked, into tools/testing/conformance/build/.
#
#   build.sh              build every test
#   build.sh NAME...      build only these tests (e.g. x86_64/cpuid_test)
#
# Prints the directory holding the binaries (…/tools/testing/selftests/kvm)
# on the last line of stdout. Tests that fail to build are listed on stderr
# and simply absent; the runner reports them as "nobuild".
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
B=$HERE/build
# CONF_SERIES (lib.sh's conf_init, from KVER): the selftests of that
# series' linux-source, installed in its kernel root (kroot.sh --source);
# else this machine's linux-source (6.1 on Debian 12, 6.12 on Debian 13).
series=${CONF_SERIES:-}
if [ -z "$series" ]; then
	# (|| true: with pipefail a missing 6.1 tarball, Debian 13's case,
	# would end the script here, silently.)
	TARBALL=${LINUX_SOURCE_TARBALL:-$(ls /usr/src/linux-source-6.1.tar.* 2>/dev/null | head -n1 || true)}
	[ -n "$TARBALL" ] || TARBALL=$(ls /usr/src/linux-source-*.tar.* 2>/dev/null | sort -V | tail -n1 || true)
	series=6.1
	[ -n "$TARBALL" ] && series=$(basename "$TARBALL" | sed 's/^linux-source-//; s/\.tar\..*//')
else
	TARBALL=${LINUX_SOURCE_TARBALL:-$("$HERE/../vm/kroot.sh" "$series" --source)} || exit 1
fi
top=linux-source-$series
LOG=$B/build.log
[ "$series" = 6.1 ] || LOG=$B/build-$series.log
SRC=$B/$top
KVM=$SRC/tools/testing/selftests/kvm
JOBS=${JOBS:-2}

mkdir -p "$B"
# check.sh and run.sh may run at the same time: one extraction/build at once.
exec 9>"$B/.build.lock"
flock 9
if [ ! -f "$SRC/.ckvm-extracted" ]; then
	[ -n "$TARBALL" ] && [ -f "$TARBALL" ] || {
		echo "conformance: no /usr/src/$top.tar.* (Debian package $top); run 'make deps' as root" >&2
		exit 1
	}
	"$HERE/../vm/deps.sh" --need xz || exit 1
	echo "conformance: extracting $TARBALL (tools, scripts, uapi) ..." >&2
	rm -rf "$SRC"
	# headers_install needs the top Makefile, scripts/, include/uapi and
	# arch/x86; the selftests need tools/. Everything big is left out.
	tar -C "$B" -xf "$TARBALL" \
		--exclude="$top/drivers" --exclude="$top/sound" \
		--exclude="$top/fs" --exclude="$top/net" \
		--exclude="$top/Documentation" --exclude="$top/debian" \
		--exclude="$top/arch/[a-wyz]*" \
		--exclude="$top/tools/perf" --exclude="$top/samples"
	if [ "$series" = 6.1 ]; then
		# Debian's 6.1 stable backport of dirty_log_test uses TEST_ASSERT_EQ,
		# which the 6.1 selftest library does not have yet.
		sed -i '0,/^#include "guest_modes.h"/s//#include "guest_modes.h"\n#ifndef TEST_ASSERT_EQ\n#define TEST_ASSERT_EQ(a, b) TEST_ASSERT((a) == (b), "%s == %s failed", #a, #b)\n#endif/' \
			"$KVM/dirty_log_test.c"
		# steal_time.c includes <asm/kvm.h> before anything defines
		# __DECLARE_FLEX_ARRAY (tools/include's linux/types.h does not).
		sed -i 's|^#include <asm/kvm.h>|#include <linux/stddef.h>\n#include <asm/kvm.h>|' "$KVM/steal_time.c"
	fi
	touch "$SRC/.ckvm-extracted"
fi

if [ ! -f "$SRC/usr/include/linux/kvm.h" ]; then
	"$HERE/../vm/deps.sh" --need rsync gcc make || exit 1
	echo "conformance: make headers_install ..." >&2
	make -s -C "$SRC" ARCH=x86 headers_install INSTALL_HDR_PATH="$SRC/usr" >/dev/null
fi

targets=()
for t in "$@"; do targets+=("$KVM/$t"); done

# EXTRA_CFLAGS reaches both the compile and the link line: -static.
# Run as a top-level make: under `make check` MAKELEVEL is inherited, and
# kselftest's lib.mk then leaves OUTPUT empty, so no test has a rule.
if ! env -u MAKELEVEL -u MAKEFLAGS -u MFLAGS \
	make -k -j"$JOBS" -C "$KVM" EXTRA_CFLAGS=-static "${targets[@]}" >"$LOG" 2>&1; then
	echo "conformance: some selftests failed to build (see $LOG)" >&2
fi
echo "$KVM"
