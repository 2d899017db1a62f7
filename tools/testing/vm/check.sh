#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check.sh: what "make check" runs (the Makefile installs deps first).
#
#  host:     build ckvm.ko (W=1, no warnings allowed), sparse (C=2, no
#            warnings), checkpatch (no ERRORs), build the selftests, the
#            emulator's differential test (DIFFTEST_CASES cases, default
#            300000, or DIFFTEST_SECONDS, default 60, whichever comes first)
#            and the VMM; one point each.
#  machines: for each of $MACHINES, boot the emulated machine with the
#            selftests and count their results.
#  then tools/testing/conformance/check.sh, if it exists.
#
# Prints "machine <name>: N passed, N failed, N skipped" per machine and,
# as the last line, "N passed, N failed[, N skipped]". Exit 0 iff nothing
# failed.
#
# Environment:
#   MACHINES      machines to run (default all twelve of machines.sh but
#                 the *-q10-qemu and vmx*-qemu ones: svm, svm-kvm,
#                 svm-shadow, svm-kvm-shadow, svm-q10, svm-kvm-q10, vmx,
#                 vmx-kvm, vmx-shadow, vmx-kvm-shadow, svm-qemu,
#                 svm-kvm-qemu). The *-qemu machines boot Linux in Debian's
#                 QEMU inside the machine, one test per QEMU configuration
#                 (QEMU_TESTS). The *-q10 machines run Debian 13's QEMU,
#                 built on first use by qemu-trixie.sh (as root; else they
#                 skip); the *-q10-qemu ones run it inside too. The Intel VMX machines boot in Bochs (about 3-5
#                 minutes each); MACHINES="svm svm-kvm" for a quick
#                 AMD-only run.
#   TESTS         only run test programs whose name matches one of these
#                 shell globs (space separated), e.g. TESTS="vm_* smoke"
#   QEMU_TESTS    the QEMU boots of the *-qemu machines when TESTS is not
#                 set: globs, or "all" for every configuration of
#                 qemu-payload.sh (default: the machine's M_QEMU_TESTS;
#                 on svm-qemu the eight configurations of issue 11
#                 with 2 vCPUs, qemu_q35_on_model_1 and
#                 qemu_pc_on_host_2_migrate: 20-30 s each on quiet
#                 cores, 1-1.5 minutes at a load of 7, 2-4.5 at 13;
#                 on the references and Bochs qemu_pc_on_host_2 alone)
#   TEST_TIMEOUT  per-test timeout in seconds inside the machine (120)
#   TEST_DIR      where the test programs are
#                 (default tools/testing/selftests/ckvm/build)
#   MACHINE_TIMEOUT  whole-boot timeout per machine in seconds
#                 (default 180 + M_BOOT_GRACE + TEST_TIMEOUT per test, at
#                 most M_MAX_TIMEOUT (900; svm-qemu 1800) + M_BOOT_GRACE, both from machines.sh),
#                 shared by all its boots
#   MAX_BOOTS     boots per machine: after a test kills or hangs the
#                 machine, it is restarted at the next test (default 6)
#   STALL_GRACE   a machine whose results port is silent for TEST_TIMEOUT
#                 + STALL_GRACE seconds (default 60) is declared hung
#   SKIP_HOST=1   skip the host checks (the module is still built)
#   CONFORMANCE=0 skip tools/testing/conformance/check.sh
#   CKVM_KO_FILE  test this ckvm.ko in the machines instead of the one
#                 built here (tools/testing/deb-check.sh: DKMS's)
#   CHECK_LOCK, PREBUILT_KO  (make fuzz) the lock file of this run (default
#                 build/.check.lock), and a ckvm.ko built before: nothing
#                 is built then
#   KVER=SERIES   boot Debian's kernel of that series (6.12: from
#                 bookworm-backports, in the kernel root of kroot.sh, built
#                 on first use as root) on every machine, with a ckvm.ko
#                 built for it (W=1, no warnings) and its kvm modules; the
#                 *-612 machines do so whatever KVER is
#   KERNEL=debug  boot the debug kernel (make debug-kernel: KASAN, lockdep,
#                 kmemleak, ...) with a ckvm.ko built for it, and the kvm
#                 modules of that build on the *-kvm machines
# Logs: build/host/*.log, build/vm/<machine>/{console,results}.log (all
# boots; console.N.log, results.N.log per boot).
set -uo pipefail
# The whole script is one block, so bash reads it all before running it:
# editing it while a run is under way cannot derail that run.
{

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
cd "$repo" || exit 1
# KVER picks the machines' kernel (kver.sh); the host points build for
# this machine's own (KDIR).
run_kver=${KVER:-}
unset KVER
KDIR=${KDIR:-$("$here/kver.sh" --kdir)}
export KDIR
# shellcheck source=machines.sh
. "$here/machines.sh"

MACHINES=${MACHINES:-svm svm-kvm svm-shadow svm-kvm-shadow svm-q10 svm-kvm-q10 vmx vmx-kvm vmx-shadow vmx-kvm-shadow svm-qemu svm-kvm-qemu}
TEST_TIMEOUT=${TEST_TIMEOUT:-120}
TEST_DIR=${TEST_DIR:-$repo/tools/testing/selftests/ckvm/build}
export TEST_TIMEOUT VENDOR="${VENDOR:-svm}"
MAKE=${MAKE:-make}

TP=0 TF=0 TS=0
mkdir -p build/host build/vm

# One check at a time per tree: they share build/ and the module objects.
# (make fuzz runs one per machine at once, each with its own CHECK_LOCK
# and the module it built before, PREBUILT_KO.)
lock=${CHECK_LOCK:-build/.check.lock}
exec 9>"$lock"
if ! flock -n 9; then
	echo "== waiting for another check.sh in this tree ($lock)"
	flock 9
fi

say() { echo "== $*"; }
machine_line() {	# name pass fail skip
	echo "machine $1: $2 passed, $3 failed, $4 skipped"
	TP=$((TP + $2)) TF=$((TF + $3)) TS=$((TS + $4))
}

# ---------------------------------------------------------------- host
hp=0 hf=0 hs=0
hpass() { hp=$((hp + 1)); }
hfail() { hf=$((hf + 1)); echo "FAIL: host: $1"; }
show() { sed -n "1,${2:-40}p" | sed 's/^/    | /'; }

module_ok=0
if [ "${SKIP_HOST:-0}" != 1 ]; then
	say "host: make module (W=1)"
	# A failed build leaves an older ckvm.ko behind: never test that one.
	$MAKE --no-print-directory module >build/host/module.log 2>&1
	rc=$?
	if [ $rc -eq 0 ] && [ -f ckvm.ko ]; then module_ok=1; fi
	if [ $rc -ne 0 ]; then
		hfail "module build (make module exited $rc; build/host/module.log)"
		grep -E 'error|warning:' build/host/module.log | show 40
	elif grep -q 'warning:' build/host/module.log; then
		hfail "module build has warnings (build/host/module.log)"
		grep 'warning:' build/host/module.log | show 40
	else
		hpass
	fi

	say "host: make sparse (C=2)"
	$MAKE --no-print-directory sparse >build/host/sparse.log 2>&1
	rc=$?
	if [ $rc -ne 0 ]; then
		hfail "sparse (make sparse exited $rc; build/host/sparse.log)"
		grep -E 'error|warning:' build/host/sparse.log | show 40
	elif grep -qE 'warning:|error:' build/host/sparse.log; then
		hfail "sparse reports problems (build/host/sparse.log)"
		grep -E 'warning:|error:' build/host/sparse.log | show 40
	else
		hpass
	fi

	say "host: checkpatch"
	cp=build/checkpatch/checkpatch.pl
	if [ ! -f "$cp" ]; then
		src=$(ls /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | tail -n 1)
		if [ -n "$src" ]; then
			top=$(basename "$src" .tar.xz)
			rm -rf build/checkpatch.tmp && mkdir -p build/checkpatch.tmp
			tar -C build/checkpatch.tmp -xJf "$src" \
				"$top/scripts/checkpatch.pl" "$top/scripts/spelling.txt" \
				"$top/scripts/const_structs.checkpatch" 2>build/host/checkpatch-extract.log &&
				rm -rf build/checkpatch &&
				mv "build/checkpatch.tmp/$top/scripts" build/checkpatch
			rm -rf build/checkpatch.tmp
		fi
	fi
	if [ ! -f "$cp" ]; then
		hfail "checkpatch: cannot extract scripts/checkpatch.pl from /usr/src/linux-source-*.tar.xz"
	else
		files=$(find ./*.c include x86 mmu svm vmx \
			\( -name '*.c' -o -name '*.h' -o -name '*.S' \) -type f 2>/dev/null |
			grep -v '\.mod\.c$' | LC_ALL=C sort)
		: >build/host/checkpatch.log
		if [ -n "$files" ]; then
			# shellcheck disable=SC2086
			perl "$cp" --no-tree -f --terse --no-summary --no-color $files \
				>build/host/checkpatch.log 2>&1
		fi
		nerr=$(grep -c 'ERROR:' build/host/checkpatch.log)
		if [ "$nerr" -gt 0 ]; then
			hfail "checkpatch: $nerr ERRORs (build/host/checkpatch.log)"
			grep 'ERROR:' build/host/checkpatch.log | show 40
		else
			hpass
		fi
	fi

	say "host: make selftests"
	if $MAKE --no-print-directory selftests >build/host/selftests.log 2>&1; then
		hpass
	else
		hfail "selftests build (build/host/selftests.log)"
		tail -n 30 build/host/selftests.log | show 30
	fi

	say "host: emulator differential test"
	# x86/decode.c + x86/emulate.c against this CPU, built with the
	# host's gcc (tools/testing/emulator/difftest.c; Documentation/emulator.rst).
	if $MAKE --no-print-directory -C tools/testing/emulator >build/host/difftest.log 2>&1 &&
		tools/testing/emulator/build/difftest -n "${DIFFTEST_CASES:-300000}" \
			-t "${DIFFTEST_SECONDS:-60}" >>build/host/difftest.log 2>&1; then
		hpass
		tail -n 1 build/host/difftest.log | sed 's/^/   /'
		# A host kernel without 32-bit code (ia32_emulation=off) cannot
		# run the compatibility-mode cases natively: a skip, with why.
		if grep -q '^SKIP ' build/host/difftest.log; then
			hs=$((hs + 1))
			grep '^SKIP ' build/host/difftest.log | sed 's/^SKIP /   skipped: emulator differential test, /'
		fi
	else
		hfail "emulator differential test (build/host/difftest.log)"
		grep -A12 -E 'MISMATCH|error' build/host/difftest.log | show 40
	fi

	say "host: make vmm"
	if $MAKE --no-print-directory vmm >build/host/vmm.log 2>&1; then
		hpass
	else
		hfail "vmm build (build/host/vmm.log)"
		tail -n 30 build/host/vmm.log | show 30
	fi
	machine_line host $hp $hf $hs
elif [ -n "${PREBUILT_KO:-}" ]; then
	[ -f "$PREBUILT_KO" ] && module_ok=1
else
	$MAKE --no-print-directory module >build/host/module.log 2>&1 &&
		[ -f ckvm.ko ] && module_ok=1
fi

# ------------------------------------------------------------ machines
# KERNEL=debug: the machines boot the debug kernel (make debug-kernel),
# with a ckvm.ko built against it; KASAN reports every bug, not the first.
if [ "${KERNEL:-stock}" = debug ]; then
	say "debug kernel and ckvm.ko for it"
	if [ -n "${PREBUILT_KO:-}" ]; then
		dko=$PREBUILT_KO
		[ $module_ok -eq 1 ] && module_ok=2
	elif dko=$("$here/debug-module.sh" 2>build/host/debug-module.log); then
		[ $module_ok -eq 1 ] && module_ok=2
	else
		echo "FAIL: debug kernel or its ckvm.ko (build/host/debug-module.log)"
		tail -n 20 build/host/debug-module.log | show 20
		TF=$((TF + 1))
		module_ok=0
	fi
	KCMDLINE_EXTRA="kasan_multi_shot ${KCMDLINE_EXTRA:-}"
	export KCMDLINE_EXTRA
fi
kernel=$("$here/kver.sh" --kernel)
kernel_rc=$?

# kernel_for KVER: the guest kernel of KVER and a ckvm.ko for it, in
# kf_kernel and kf_ko; returns 0, 4 (skip: the kernel root needs root
# to be built) or 1, with the reason in kf_why. Once per KVER a run.
declare -A kfc_kernel kfc_ko kfc_rc kfc_why
kernel_for() {
	local kv=$1 series r
	if [ -z "${kfc_rc[$kv]:-}" ]; then
		kfc_kernel[$kv]="" kfc_ko[$kv]=none kfc_why[$kv]="" kfc_rc[$kv]=0
		series=$(echo "$kv" | sed -n 's/^\([0-9]*\.[0-9]*\).*/\1/p')
		if [ "${KERNEL:-stock}" = debug ]; then
			kfc_rc[$kv]=1 kfc_why[$kv]="KERNEL=debug and a machine of kernel $kv do not go together"
		elif r=$(KVER=$kv "$here/kver.sh" --root 2>/dev/null) && [ -z "$r" ]; then
			# This machine's headers: the tree's ckvm.ko if it is for them.
			if [ "$(KVER=$kv "$here/kver.sh")" = "$("$here/kver.sh")" ]; then
				kfc_kernel[$kv]=$(KVER=$kv "$here/kver.sh" --kernel 2>&1) || kfc_rc[$kv]=1
				kfc_ko[$kv]=$ko
			else
				kfc_rc[$kv]=1 kfc_why[$kv]="KVER=$kv: this tree's ckvm.ko is built for KDIR=$KDIR"
			fi
		else
			say "kernel $kv: its root (kroot.sh $series) and ckvm.ko for it"
			kfc_ko[$kv]=$("$here/kroot.sh" "$series" --module 2>build/host/kroot-$series.log)
			kfc_rc[$kv]=$?
			if [ "${kfc_rc[$kv]}" -eq 0 ]; then
				kfc_kernel[$kv]=$(KVER=$kv "$here/kver.sh" --kernel 2>&1) || kfc_rc[$kv]=1
			else
				kfc_ko[$kv]=none
			fi
			[ "${kfc_rc[$kv]}" -eq 4 ] || [ "${kfc_rc[$kv]}" -eq 0 ] || kfc_rc[$kv]=1
		fi
		[ "${kfc_rc[$kv]}" -ne 0 ] && [ -z "${kfc_why[$kv]}" ] &&
			kfc_why[$kv]="kernel $kv: $(tail -n 1 build/host/kroot-$series.log 2>/dev/null)"
	fi
	kf_kernel=${kfc_kernel[$kv]} kf_ko=${kfc_ko[$kv]} kf_why=${kfc_why[$kv]}
	return "${kfc_rc[$kv]}"
}

# select_tests DIR: the test programs of DIR matching TESTS, into tests[].
select_tests() {
	local t f hit pat
	tests=()
	[ -d "$1" ] || return 0
	for t in $(ls "$1" | LC_ALL=C sort); do
		f=$1/$t
		[ -f "$f" ] && [ -x "$f" ] || continue
		if [ -n "${TESTS:-}" ]; then
			hit=0
			for pat in $TESTS; do
				# shellcheck disable=SC2254
				case "$t" in $pat) hit=1 ;; esac
			done
			[ $hit -eq 1 ] || continue
		fi
		tests+=("$f")
	done
}
select_tests "$TEST_DIR"
sel_tests=("${tests[@]}")
ntests=${#tests[@]}
if [ -n "${TESTS:-}" ] && [ "$ntests" -eq 0 ]; then
	echo "ckvm: warning: TESTS='$TESTS' matches no program in $TEST_DIR"
fi
# The QEMU machines' tests: one program per QEMU boot configuration
# (qemu-payload.sh), built on first use.
# One payload per QEMU that runs inside: build/qemu for the host's,
# build/qemu-trixie for M_QEMU_INSIDE=qemu-trixie.sh (Debian 13's QEMU).
declare -A qemu_payload_rcs=()

ko=none
[ $module_ok -eq 1 ] && ko=${PREBUILT_KO:-$repo/ckvm.ko}
[ $module_ok -eq 2 ] && ko=$dko
# CKVM_KO_FILE: test this ckvm.ko instead (built elsewhere: DKMS, deb-check).
# KVER: every machine boots that kernel (and conformance too).
if [ -n "$run_kver" ]; then
	kernel_for "$run_kver"
	kernel_rc=$?
	kernel=$kf_kernel ko=$kf_ko
	[ $kernel_rc -ne 0 ] && echo "FAIL: $kf_why"
	[ $kernel_rc -eq 1 ] && TF=$((TF + 1))
fi
if [ -n "${CKVM_KO_FILE:-}" ]; then
	[ -f "$CKVM_KO_FILE" ] || { echo "ckvm: CKVM_KO_FILE=$CKVM_KO_FILE not found" >&2; exit 1; }
	ko=$CKVM_KO_FILE
fi

MAX_BOOTS=${MAX_BOOTS:-6}

# boot_watch INITRD CONSOLE RESULTS TIMEOUT FIRST_TEST: boot the machine
# ($m, $M_CPUFLAGS) and watch the results port: a machine whose results
# stop growing for $stall seconds (every test is killed inside after
# TEST_TIMEOUT, so that is a hung kernel; before the first result,
# M_BOOT_GRACE more) is stopped. Sets brc (boot-qemu.sh
# status, 124 when stopped) and hung (1 when stopped here).
boot_watch() {
	local pid sz last=-1 since now grace
	QEMU=${m_qemu:-${QEMU:-qemu-system-x86_64}} \
		KCMDLINE_EXTRA="ckvm_start=$5 ${KCMDLINE_EXTRA:-}" \
		"$here/boot-$M_EMU.sh" "$m_kernel" "$1" "$2" "$3" "$4" \
		"$M_CPUFLAGS" >>"$dir/qemu.log" 2>&1 </dev/null &
	pid=$!
	hung=0
	since=$(date +%s)
	while kill -0 "$pid" 2>/dev/null; do
		sleep 2
		sz=$(stat -c %s "$3" 2>/dev/null || echo 0)
		now=$(date +%s)
		# The silence allowed before the first result includes the boot.
		grace=0
		[ "$sz" = 0 ] && grace=$M_BOOT_GRACE
		if [ "$sz" != "$last" ]; then
			last=$sz since=$now
		elif [ $((now - since)) -ge $((stall + grace)) ]; then
			hung=1
			kill -TERM "$pid" 2>/dev/null
			break
		fi
	done
	wait "$pid"
	brc=$?
	[ $hung -eq 1 ] && brc=124
}

# A restarted boot loads the module again: keep that "module load" result
# only if it failed.
drop_passing_load() {
	awk '
	/^@@CKVM-BEGIN module load\r?$/ { buf = $0 "\n"; inb = 1; next }
	inb {
		buf = buf $0 "\n"
		if ($0 ~ /^@@CKVM-END module load rc=/) {
			if ($0 !~ /rc=0\r?$/) printf "%s", buf
			inb = 0
		}
		next
	}
	{ print }
	END { if (inb) printf "%s", buf }'
}

for m in $MACHINES; do
	dir=build/vm/$m
	rm -rf "$dir"
	mkdir -p "$dir"
	if ! machine_setup "$m" 2>"$dir/setup.err"; then
		echo "FAIL: machine $m: $(cat "$dir/setup.err")"
		machine_line "$m" 0 1 0
		continue
	fi
	if [ ! -x "$here/boot-$M_EMU.sh" ]; then
		echo "FAIL: machine $m: no $here/boot-$M_EMU.sh for $M_EMU machines"
		machine_line "$m" 0 1 0
		continue
	fi
	# A machine on another QEMU (M_QEMU): its wrapper, built on demand
	# (exit 4: cannot be built here, e.g. not root: the machine skips).
	m_qemu=
	if [ -n "$M_QEMU" ]; then
		m_qemu=$("$here/$M_QEMU" --print 2>"$dir/setup.err")
		qrc=$?
		if [ $qrc -eq 4 ]; then
			echo "SKIP: machine $m: $(tail -n 1 "$dir/setup.err")"
			machine_line "$m" 0 0 1
			continue
		elif [ $qrc -ne 0 ]; then
			echo "FAIL: machine $m: $M_QEMU failed: $(tail -n 3 "$dir/setup.err")"
			machine_line "$m" 0 1 0
			continue
		fi
	fi
	# The machine's kernel: its own (M_KVER), else the run's.
	m_kver=${M_KVER:-$run_kver} m_kernel=$kernel m_ko=$ko
	if [ -n "$M_KVER" ] && [ "$M_KVER" != "$run_kver" ]; then
		kernel_for "$M_KVER"
		krc=$?
		m_kernel=$kf_kernel m_ko=$kf_ko
		[ -n "${CKVM_KO_FILE:-}" ] && m_ko=$CKVM_KO_FILE
		if [ $krc -eq 4 ]; then
			echo "SKIP: machine $m: $kf_why"
			machine_line "$m" 0 0 1
			continue
		elif [ $krc -ne 0 ]; then
			echo "FAIL: machine $m: $kf_why"
			machine_line "$m" 0 1 0
			continue
		fi
	elif [ $kernel_rc -ne 0 ]; then
		echo "FAIL: machine $m: no guest kernel${run_kver:+ $run_kver} (see above)"
		machine_line "$m" 0 1 0
		continue
	fi
	trees=()
	tests=("${sel_tests[@]}")
	if [ "$M_PAYLOAD" = qemu ]; then
		qemu_payload=build/qemu qp_log=build/host/qemu-payload.log qp_args=()
		if [ -n "$M_QEMU_INSIDE" ]; then
			qp=${M_QEMU_INSIDE%.sh}
			qemu_payload=build/qemu-${qp#qemu-}
			qp_log=build/host/qemu-payload-${qp#qemu-}.log
			qp_args=(-r "$("$here/$M_QEMU_INSIDE" --root 2>/dev/null)")
		fi
		if [ -z "${qemu_payload_rcs[$qemu_payload]:-}" ]; then
			"$here/qemu-payload.sh" "${qp_args[@]}" "$qemu_payload" >"$qp_log" 2>&1
			qemu_payload_rcs[$qemu_payload]=$?
		fi
		if [ "${qemu_payload_rcs[$qemu_payload]}" -ne 0 ]; then
			echo "FAIL: machine $m: qemu-payload.sh failed ($qp_log)"
			show 20 <"$qp_log"
			machine_line "$m" 0 1 0
			continue
		fi
		# The QEMU boots of the machine: those TESTS names, else
		# QEMU_TESTS, else the machine's own (M_QEMU_TESTS).
		if [ -n "${TESTS:-}" ]; then
			select_tests "$qemu_payload/tests"
		elif [ "${QEMU_TESTS:-}" = all ]; then
			TESTS="qemu_*" select_tests "$qemu_payload/tests"
		else
			TESTS="${QEMU_TESTS:-$M_QEMU_TESTS}" select_tests "$qemu_payload/tests"
		fi
		trees=(-t "$qemu_payload/tree")
	fi
	ntests=${#tests[@]}
	if [ -n "${TESTS:-}" ] && [ "$ntests" -eq 0 ]; then
		say "machine $m: no test program matches TESTS, not booted"
		continue
	fi
	mtt=${M_TEST_TIMEOUT:-$TEST_TIMEOUT}
	[ "$mtt" -lt "$TEST_TIMEOUT" ] && mtt=$TEST_TIMEOUT
	stall=$((mtt + ${STALL_GRACE:-60}))
	say "machine $m: $M_DESC, $ntests test program(s)${m_kver:+, kernel $m_kver}"
	if ! KVER=$m_kver "$here/mkinitramfs.sh" -m "$m" -c "$m_ko" -T "$mtt" -p "$M_PARAMS" "${trees[@]}" \
		"$dir/initramfs.cpio.gz" "${tests[@]}" >"$dir/mkinitramfs.log" 2>&1; then
		echo "FAIL: machine $m: mkinitramfs failed"
		show 20 <"$dir/mkinitramfs.log"
		machine_line "$m" 0 1 0
		continue
	fi
	# A slow emulator (Bochs) gets its boot time on top.
	mtmo=${MACHINE_TIMEOUT:-$((180 + M_BOOT_GRACE + ntests * mtt))}
	[ -z "${MACHINE_TIMEOUT:-}" ] && [ "$mtmo" -gt $((M_MAX_TIMEOUT + M_BOOT_GRACE)) ] &&
		mtmo=$((M_MAX_TIMEOUT + M_BOOT_GRACE))
	start=$(date +%s)
	deadline=$((start + mtmo))
	first_test=0 nboot=0 extra=0
	: >"$dir/results.log"
	: >"$dir/console.log"
	while :; do
		nboot=$((nboot + 1))
		left=$((deadline - $(date +%s)))
		if [ $left -lt 30 ]; then
			echo "FAIL: machine $m: out of time (MACHINE_TIMEOUT=${mtmo}s) before test #$first_test"
			extra=$((extra + 1))
			break
		fi
		con=$dir/console.$nboot.log res=$dir/results.$nboot.log
		[ $nboot -gt 1 ] && echo "@@CKVM-NOTE boot $nboot starts at test #$first_test" >>"$dir/results.log"
		boot_watch "$dir/initramfs.cpio.gz" "$con" "$res" "$left" "$first_test"
		cat "$con" >>"$dir/console.log"
		if [ $nboot -eq 1 ]; then
			cat "$res" >>"$dir/results.log"
		else
			drop_passing_load <"$res" >>"$dir/results.log"
		fi
		if [ $brc -eq 0 ] && grep -aq '^@@CKVM-DONE' "$res"; then
			break
		fi
		case $brc in
		124) if [ $hung -eq 1 ]; then
			why="hung (no results output for ${stall}s)"
		     else
			why="timed out (MACHINE_TIMEOUT=${mtmo}s)"
		     fi ;;
		125) why="kernel panic" ;;
		0) why="stopped before finishing (no @@CKVM-DONE)" ;;
		*) why="QEMU exited $brc: $(tail -c 300 "$dir/qemu.log")" ;;
		esac
		open=$("$here/parse-results.sh" "$res" | sed -n 's/^OPEN //p')
		echo "FAIL: machine $m: $why${open:+ in \"$open\"}; last 40 console lines ($con):"
		first=$(grep -anE 'Kernel panic|BUG:|Oops|general protection' "$con" | head -n 1)
		[ -n "$first" ] && echo "    first sign of trouble, console line ${first%%:*}: ${first#*:}"
		tail -n 40 "$con" | sed 's/^/    | /'
		# The block that was open counts as the failure; else count one.
		[ -z "$open" ] && extra=$((extra + 1))
		idx=-1
		for i in "${!tests[@]}"; do
			[ "$(basename "${tests[$i]}")" = "$open" ] && idx=$i
		done
		if [ "$idx" -ge 0 ] && [ $((idx + 1)) -lt "$ntests" ] && [ $nboot -lt "$MAX_BOOTS" ]; then
			first_test=$((idx + 1))
			echo "   restarting $m at test #$first_test (${tests[$first_test]##*/})"
			continue
		fi
		break
	done
	secs=$(($(date +%s) - start))
	"$here/parse-results.sh" "$dir/results.log" >"$dir/parsed.txt" 2>&1
	# -a: a serial port that lost bytes may have left a NUL in the log.
	grep -av '^OPEN ' "$dir/parsed.txt" | sed '$d'
	read -r _ p f s _ <<<"$(tail -n 1 "$dir/parsed.txt")"
	p=${p:-0} f=${f:-0} s=${s:-0}
	f=$((f + extra))
	echo "   ($m took ${secs}s; logs in $dir/)"
	machine_line "$m" "$p" "$f" "$s"
done

# --------------------------------------------------------- conformance
conf=tools/testing/conformance/check.sh
if [ "${CONFORMANCE:-1}" != 0 ] && [ -f "$conf" ] && [ -x "$conf" ]; then
	say "conformance: $conf"
	export CKVM_KO=$ko CKVM_KERNEL=$kernel CKVM_VM_DIR=$here MACHINES
	[ -n "$run_kver" ] && export KVER=$run_kver
	"$conf" 2>&1 | tee build/host/conformance.log
	crc=${PIPESTATUS[0]}
	seen=0 cf=0
	while read -r line; do
		if [[ $line =~ ^machine\ [^:]+:\ ([0-9]+)\ passed,\ ([0-9]+)\ failed(,\ ([0-9]+)\ skipped)?$ ]]; then
			seen=1
			TP=$((TP + BASH_REMATCH[1])) TF=$((TF + BASH_REMATCH[2]))
			cf=$((cf + BASH_REMATCH[2]))
			TS=$((TS + ${BASH_REMATCH[4]:-0}))
		fi
	done <build/host/conformance.log
	if [ "$crc" -ne 0 ] && [ $cf -eq 0 ]; then
		echo "FAIL: conformance: $conf exited $crc without reporting a failure"
		TF=$((TF + 1))
	elif [ $seen -eq 0 ]; then
		echo "FAIL: conformance: $conf printed no 'machine <name>: ...' line"
		TF=$((TF + 1))
	fi
fi

# ---------------------------------------------------------------- total
if [ $TS -gt 0 ]; then
	echo "$TP passed, $TF failed, $TS skipped"
else
	echo "$TP passed, $TF failed"
fi
[ $TF -eq 0 ]
exit
}
