#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Called by `make check` (tools/testing/vm/check.sh): build the upstream
# selftests listed in expected-pass (KVER=6.12: expected-pass-6.12, the
# selftests of linux-source-6.12), run them against ckvm in one machine
# boot with nested paging and in one without (-cpu max,-npt: the shadow
# MMU), and print one line on stdout for each:
#   machine conformance: N passed, N failed, N skipped
#   machine conformance-shadow: N passed, N failed, N skipped
# (CONFORMANCE_SHADOW=0 leaves the second out.)
# Exit status non-zero when any listed test did not pass or skip (a listed
# test that now skips counts as skipped, and is reported on stderr).
# Progress and per-test results go to stderr; logs to build/check/.
# An empty list prints "0 passed, 0 failed, 0 skipped" without booting.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)

# The list of the selftests' series (conf_list: KVER=6.12 or a Debian 13
# machine: expected-pass-6.12).
. "$HERE/lib.sh"
list=$(conf_list)
[ -f "$list" ] || { echo "conformance: no $list" >&2; echo "machine conformance: 0 passed, 1 failed, 0 skipped"; exit 1; }
tests=$(sed 's/#.*//' "$list" | tr -s ' \t' '\n' | grep . || true)
if [ -z "$tests" ]; then
	echo "machine conformance: 0 passed, 0 failed, 0 skipped"
	exit 0
fi

if ! conf_init; then
	echo "machine conformance: 0 passed, $(echo "$tests" | wc -l) failed, 0 skipped"
	exit 1
fi
KVM=$("$HERE/build.sh" $tests | tail -n1)
# conf_check DIR NAME CPUFLAGS: one boot of the listed tests, logs in
# build/DIR; prints the machine line of NAME.
conf_check() {
	CONF_CPUFLAGS=$3
	OUT=$HERE/build/$1
	rm -rf "$OUT"
	mkdir -p "$OUT"
	: >"$OUT/plan"
	adds=()
	nobuild=0
	for t in $tests; do
		if [ -x "$KVM/$t" ]; then
			echo "ckvm $t /tests/${t##*/}" >>"$OUT/plan"
			adds+=("$KVM/$t:/tests/${t##*/}")
		else
			echo "conformance: $t: not built (see $HERE/build/build.log)" >&2
			nobuild=$((nobuild + 1))
		fi
	done
	if [ -s "$OUT/plan" ]; then
		conf_mkinitramfs "$OUT/initrd.gz" "$OUT/plan" "${adds[@]}" || exit 1
		conf_run_plan "$OUT/initrd.gz" "$OUT/plan" "$OUT"
	else
		: >"$OUT/results"
	fi
	while read -r _ _ name st rc secs; do
		echo "conformance: $name: $st (rc $rc, ${secs}s)" >&2
	done <"$OUT/results"
	p=$(awk '$4 == "pass"' "$OUT/results" | wc -l)
	s=$(awk '$4 == "skip"' "$OUT/results" | wc -l)
	f=$(( $(echo "$tests" | wc -l) - p - s ))
	[ "$s" -gt 0 ] && echo "$2: $s listed test(s) skipped on ckvm" >&2
	echo "machine $2: $p passed, $f failed, $s skipped"
	[ "$f" -eq 0 ]
}

status=0
conf_check check conformance "$CONF_CPUFLAGS" || status=1
if [ "${CONFORMANCE_SHADOW:-1}" != 0 ]; then
	conf_check check-shadow conformance-shadow ",-npt" || status=1
fi
exit $status
