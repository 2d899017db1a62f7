#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# compare.sh: what "make fuzz-compare" runs. The same programs of kvmfuzz
# (FUZZ_PROGRAMS ioctl programs and as many hostile guests of FUZZ_SEED)
# on ckvm and on the distro's KVM, one machine after the other (default
# MACHINES="svm svm-kvm"; the first is ckvm, the second the reference),
# every call's result traced ("T MODE PROG OP CALL TARGET ERRNO"), then
# compared call by call: the same op of the same program, same call, a
# different errno (OK = success) is a compatibility difference. The first
# difference of a program is the one that counts (until then both ran the
# same calls with the same results); those after it may follow from it and
# are only counted; a KVM_RUN that one side ended with EINTR (the
# fuzzer's alarm) is timing, counted apart. Each difference is for ckvm to fix or for
# Documentation/fuzzing.rst to explain.
#
# Environment: MACHINES (two: ckvm's, the reference's), FUZZ_SEED
# (default 1), FUZZ_PROGRAMS (default 200), KERNEL (default stock).
# Logs: build/fuzz/compare/.
set -uo pipefail
{

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
cd "$repo" || exit 1

read -r mc mr rest <<<"${MACHINES:-svm svm-kvm}"
[ -n "$mr" ] && [ -z "$rest" ] || { echo "compare.sh: MACHINES must name two machines"; exit 2; }
FUZZ_SEED=${FUZZ_SEED:-1}
FUZZ_PROGRAMS=${FUZZ_PROGRAMS:-200}
export KERNEL=${KERNEL:-stock}
out=build/fuzz/compare
mkdir -p "$out"

make --no-print-directory -C tools/testing/selftests/ckvm build/fuzz_test >"$out/build.log" 2>&1 || {
	tail -n 20 "$out/build.log"; exit 1; }
tdir=$out/tests
rm -rf "$tdir"
mkdir -p "$tdir"
cp tools/testing/selftests/ckvm/build/fuzz_test "$tdir/"

echo "== fuzz-compare: seed $FUZZ_SEED, $FUZZ_PROGRAMS ioctl programs and guests, $mc against $mr (KERNEL=$KERNEL)"
start=$(date +%s)
for m in $mc $mr; do
	TEST_DIR=$tdir SKIP_HOST=1 CONFORMANCE=0 TEST_TIMEOUT=1800 \
		KCMDLINE_EXTRA="kvmfuzz_compare=$FUZZ_PROGRAMS kvmfuzz_seed=$FUZZ_SEED ${KCMDLINE_EXTRA:-}" \
		MACHINES="$m" "$repo/tools/testing/vm/check.sh" >"$out/check-$m.log" 2>&1
	tr -d '\r' <"build/vm/$m/results.log" >"$out/$m.log" 2>/dev/null
	grep -a '^T ' "$out/$m.log" >"$out/$m.trace"
	echo "   $m: $(wc -l <"$out/$m.trace") calls traced; $(grep -a '^# kvmfuzz: ' "$out/$m.log" | sed 's/^# //')"
	grep -a -E '^FAILURE|hung in KVM_RUN' "$out/$m.log" | sed 's/^/   /'
done

# T MODE PROG OP CALL TARGET ERRNO: joined on (MODE, PROG, OP).
awk -v mc="$mc" -v mr="$mr" -v out="$out" '
	FNR == 1 { f++ }
	$1 != "T" { next }
	f == 1 { k = $2 " " $3 " " $4; call[k] = $5; ec[k] = $7; next }
	f == 2 {
		k = $2 " " $3 " " $4; p = $2 " " $3
		if (!(k in call) || call[k] != $5) { skipped++; next }
		both++
		if (ec[k] == $7) { same++; next }
		# How long a KVM_RUN lasts is timing (the alarm of the fuzzer).
		if ($5 == "KVM_RUN" && (ec[k] == "EINTR" || $7 == "EINTR")) { timing++; next }
		d = $5 " " ec[k] " " $7
		if (p in firstdone) { later[d]++; nlater++; next }
		firstdone[p] = 1
		first[d]++; nfirst++
		if (!(d in ex)) ex[d] = "kvmfuzz show -s SEED -p " $3 " " ($2 == "i" ? "ioctl" : "guest") " (op " $4 ")"
	}
	END {
		printf "== %d calls on both (%d same errno), %d differ: %d first in their program, %d after one; %d KVM_RUNs ended by the alarm on one side only; %d not comparable (missing on one side)\n",
		       both, same, nfirst + nlater, nfirst, nlater, timing, skipped
		printf "== first differences: count, call, errno on %s, errno on %s, an example\n", mc, mr
		for (d in first) {
			split(d, a, " ")
			printf "   %5d  %-32s %-12s %-12s %s\n", first[d], a[1], a[2], a[3], ex[d] | "sort -k2,2 -k3"
		}
		close("sort -k2,2 -k3")
		if (nlater) {
			printf "== differences after a first one (may follow from it): count, call, %s, %s\n", mc, mr
			for (d in later) {
				split(d, a, " ")
				printf "   %5d  %-32s %-12s %s\n", later[d], a[1], a[2], a[3] | "sort -k2,2 -k3"
			}
			close("sort -k2,2 -k3")
		}
	}' "$out/$mc.trace" "$out/$mr.trace" | sed "s/-s SEED/-s $FUZZ_SEED/" | tee "$out/diff.txt"
echo "== fuzz-compare took $(($(date +%s) - start))s; logs in $out/"
exit 0
}
