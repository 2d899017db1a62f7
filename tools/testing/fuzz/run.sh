#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run.sh: what "make fuzz" runs. Boots each machine of $MACHINES (default
# "svm vmx": ckvm on QEMU's SVM and on Bochs's VMX) on the debug kernel
# (KERNEL=debug, default; make debug-kernel is built first if needed) and
# runs kvmfuzz there for FUZZ_SECONDS (default 1800): the lifecycle stress,
# then ioctl programs and hostile guests from FUZZ_SEED (default: the
# date, printed, so a run can be repeated). A KASAN report, lockdep
# splat, WARN, BUG, RCU stall, hung task or kmemleak report fails the run
# (/init judges the kernel log after the program, kvmfuzz after each of
# its programs). Prints per machine what was executed (calls, KVM_RUNs,
# guests, distinct (call, errno) pairs) and every failure with its
# reduced C reproducer, which is also saved as
# build/fuzz/<machine>/fuzz_repro_<seed>_<n>.c (copy it to
# tools/testing/selftests/ckvm/tests/ to make it a regression test).
# With a reference machine (svm-kvm, vmx-kvm) in MACHINES, the (call,
# errno) pairs that only one of ckvm and the distro's KVM produced are
# listed: each is a compatibility difference to fix or document.
#
# Any machine of machines.sh can be named: svm-q10 runs the SVM machine
# under Debian 13's QEMU 10 (qemu-trixie.sh builds it once, as root;
# TRIXIE_DIR names an existing one), where QEMU 7.2 aborted a 30-minute
# run on its own lock assertion (Documentation/fuzzing.rst).
#
# Environment: MACHINES, FUZZ_SECONDS, FUZZ_SEED, KERNEL (debug | stock),
# MACHINE_TIMEOUT (seconds for a machine's boot and run; default
# FUZZ_SECONDS + 1500, or FUZZ_SECONDS + 10500 with KERNEL=debug: Bochs
# took 30 minutes to boot the debug kernel, up to 40 more to load the
# module, and its leak scans take minutes each),
# STALL_GRACE (check.sh's; default 3600 with KERNEL=debug, else 60),
# FUZZ_REPROS (0: not the fuzz_repro_* regression programs; default 1).
# Logs: build/vm/<machine>/ (check.sh's), build/fuzz/.
set -uo pipefail
{

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
cd "$repo" || exit 1

MACHINES=${MACHINES:-svm vmx}
FUZZ_SECONDS=${FUZZ_SECONDS:-1800}
FUZZ_SEED=${FUZZ_SEED:-$(date +%Y%m%d%H%M)}
export KERNEL=${KERNEL:-debug}
out=build/fuzz
mkdir -p "$out"

# The regression tests of what it found run there too (the debug kernel
# is what catches most of them), unless FUZZ_REPROS=0: under Bochs on the
# debug kernel they and their kmemleak scans take about 20 minutes
# (make check runs them on the stock kernel either way).
repros=()
if [ "${FUZZ_REPROS:-1}" != 0 ]; then
	for f in tools/testing/selftests/ckvm/tests/fuzz_repro_*.c; do
		[ -e "$f" ] && repros+=("build/$(basename "$f" .c)")
	done
fi
make --no-print-directory -C tools/testing/selftests/ckvm build/fuzz_test "${repros[@]}" \
	>"$out/build.log" 2>&1 || {
	tail -n 20 "$out/build.log"
	echo "ckvm: building the fuzzer failed ($out/build.log)"
	exit 1
}
tdir=$out/tests
rm -rf "$tdir"
mkdir -p "$tdir"
cp tools/testing/selftests/ckvm/build/fuzz_test "$tdir/"
for r in "${repros[@]}"; do
	cp "tools/testing/selftests/ckvm/$r" "$tdir/" || exit 1
done

# The module, once; then every machine at once (each emulator is one
# thread: 2 machines keep 2 cores busy).
if [ "$KERNEL" = debug ]; then
	ko=$("$repo/tools/testing/vm/debug-module.sh" 2>"$out/module.log") || {
		tail -n 20 "$out/module.log"; exit 1; }
else
	make --no-print-directory module >"$out/module.log" 2>&1 || {
		tail -n 20 "$out/module.log"; exit 1; }
	ko=$repo/ckvm.ko
fi
# The results port is silent until /init runs: Bochs took 37 minutes to
# boot the debug kernel on shared cores, longer than the program's own
# limit, so the machine's stall limit waits that long on top.
# The program's limit: its budget, 10 minutes for the reducer and the
# last leak scan, and with KERNEL=debug 30 more: under Bochs that scan
# took more than 10 minutes, and the limit killed the program in it.
stall_grace=60
test_timeout=$((FUZZ_SECONDS + 600))
machine_timeout=$((FUZZ_SECONDS + 600 + 900))
if [ "$KERNEL" = debug ]; then
	stall_grace=3600
	test_timeout=$((test_timeout + 1800))
	machine_timeout=$((machine_timeout + 1800 + 7200))
fi
echo "== make fuzz: seed $FUZZ_SEED, ${FUZZ_SECONDS}s per machine, KERNEL=$KERNEL, machines: $MACHINES"
start=$(date +%s)
pids=()
for m in $MACHINES; do
	TEST_DIR=$tdir SKIP_HOST=1 CONFORMANCE=0 PREBUILT_KO=$ko CHECK_LOCK=build/.check-$m.lock \
		TEST_TIMEOUT=$test_timeout \
		MACHINE_TIMEOUT=${MACHINE_TIMEOUT:-$machine_timeout} \
		STALL_GRACE=${STALL_GRACE:-$stall_grace} \
		KCMDLINE_EXTRA="kvmfuzz_seconds=$FUZZ_SECONDS kvmfuzz_seed=$FUZZ_SEED ${KCMDLINE_EXTRA:-}" \
		MACHINES="$m" "$repo/tools/testing/vm/check.sh" >"$out/check-$m.log" 2>&1 &
	pids+=($!)
done
crc=0
for p in "${pids[@]}"; do
	wait "$p" || crc=1
done
for m in $MACHINES; do
	cat "$out/check-$m.log"
done >"$out/check.log"

nfail=0
for m in $MACHINES; do
	res=build/vm/$m/results.log
	mkdir -p "$out/$m"
	rm -f "$out/$m"/fuzz_repro_*.c
	echo "== $m"
	[ -f "$res" ] || { echo "   no results (see $out/check.log)"; nfail=$((nfail + 1)); continue; }
	tr -d '\r' <"$res" >"$out/$m/results.log"
	grep -a '^# kvmfuzz: ' "$out/$m/results.log" | sed 's/^# /   /'
	grep -a '^# life: ' "$out/$m/results.log" | sed 's/^# /   /'
	grep -a '^PAIR ' "$out/$m/results.log" | awk '{ print $2, $3 }' | sort -u >"$out/$m/pairs"
	grep -a -E '^FAILURE|^ckvm-init: the kernel reported|^ckvm-init: .* fails for it' \
		"$out/$m/results.log" | sed 's/^/   /'
	# The reproducers, one file each.
	awk -v dir="$out/$m" '
		/^@@REPRO-BEGIN / { n = split($2, p, "/"); f = dir "/" p[n]; next }
		/^@@REPRO-END/ { close(f); f = ""; next }
		f != "" { print > f }' "$out/$m/results.log"
	for f in "$out/$m"/fuzz_repro_*.c; do
		[ -f "$f" ] && echo "   reproducer: $f"
	done
	n=$(grep -ac '^FAILURE' "$out/$m/results.log")
	nfail=$((nfail + n))
done
# ckvm against the reference, machine by machine.
for m in $MACHINES; do
	case $m in *-kvm*) continue ;; esac
	ref=${m%%-*}-kvm${m#"${m%%-*}"}
	[ -s "$out/$m/pairs" ] && [ -s "$out/$ref/pairs" ] || continue
	echo "== (call, errno) pairs of $m but not of $ref (and the other way):"
	comm -23 "$out/$m/pairs" "$out/$ref/pairs" | sed 's/^/   ckvm only: /'
	comm -13 "$out/$m/pairs" "$out/$ref/pairs" | sed 's/^/   kvm only:  /'
done
grep -a -E '^machine |^FAIL|passed, ' "$out/check.log" | sed 's/^/   /'
echo "== make fuzz took $(($(date +%s) - start))s; seed $FUZZ_SEED; logs in $out/ and build/vm/<machine>/"
[ $crc -eq 0 ] && [ $nfail -eq 0 ]
exit
}
