#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make conformance: run the upstream KVM selftests of Linux 6.1 on ckvm and
# on the distro's kvm_amd, in the same emulated machine, and write the
# table to Documentation/conformance.rst.
#
# Environment:
#   CONFORMANCE_TESTS    space-separated subset (upstream names, e.g.
#                        "x86_64/cpuid_test set_memory_region_test")
#   CONFORMANCE_MODULES  module sets in run order (default "kvm ckvm")
#   TEST_TIMEOUT         per-test limit in seconds (default 120)
#   CPUFLAGS             appended to -cpu max (e.g. ",-npt")
#   NO_DOC=1             do not rewrite Documentation/conformance.rst
#
# Exit status: 0 when the run completed and every test listed in
# expected-pass passed on ckvm; 1 otherwise.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
conf_init || exit 1

KVM=$("$HERE/build.sh" ${CONFORMANCE_TESTS:-} | tail -n1) || exit 1
# KVER=6.12: build/run-6.12, expected-pass-6.12, conformance-6.12.rst.
OUT=$HERE/build/run${CONF_SERIES:+-$CONF_SERIES}
rm -rf "$OUT"
mkdir -p "$OUT"

# Every x86_64 test of the upstream Makefile, in its order.
if [ -n "${CONFORMANCE_TESTS:-}" ]; then
	tests=$CONFORMANCE_TESTS
else
	# 6.12 lists them in Makefile.kvm, through variables: ask make.
	tests=$(env -u MAKELEVEL -u MAKEFLAGS -u MFLAGS make -s --no-print-directory -C "$KVM" \
		-f Makefile -f "$HERE/print-tests.mk" ckvm-print-tests 2>/dev/null)
	[ -n "$tests" ] || tests=$(sed -n 's/^TEST_GEN_PROGS_x86_64 +\{0,1\}= *//p' "$KVM/Makefile")
fi
mods=${CONFORMANCE_MODULES:-kvm ckvm}

: >"$OUT/plan"
: >"$OUT/nobuild"
adds=()
for t in $tests; do
	b=${t##*/}
	if [ ! -x "$KVM/$t" ]; then
		echo "$t" >>"$OUT/nobuild"
		continue
	fi
	adds+=("$KVM/$t:/tests/$b")
done
for m in $mods; do
	for t in $tests; do
		[ -x "$KVM/$t" ] && echo "$m $t /tests/${t##*/}" >>"$OUT/plan"
	done
done

echo "conformance: $(grep -c . "$OUT/plan") steps ($(echo $tests | wc -w) tests x [$mods]), up to ${CONF_TEST_TIMEOUT}s each" >&2
# The ckvm.ko that goes into the machine (it may be rebuilt during the run).
ckvm_state="ckvm.ko $( [ -f "$CONF_CKVM_KO" ] && echo "built $(date -r "$CONF_CKVM_KO" '+%F %T')" || echo "missing (make module)" )"
conf_mkinitramfs "$OUT/initrd.gz" "$OUT/plan" "${adds[@]}" || exit 1
t_start=$(date +%s)
conf_run_plan "$OUT/initrd.gz" "$OUT/plan" "$OUT"
t_total=$(( $(date +%s) - t_start ))

# results: INDEX MODULE NAME STATUS RC SECS
res() { # module test -> "STATUS SECS"
	awk -v m="$1" -v t="$2" '$2 == m && $3 == t { s = $4; if ($4 == "fail" || $4 == "timeout") s = s "(" $5 ")"; if ($4 == "timeout") s = "timeout"; print s, $6; f = 1 } END { if (!f) print "-", "-" }' "$OUT/results"
}

{
	w=46
	printf '%-*s %-16s %-16s %8s %8s\n' $w "test" "ckvm" "KVM" "ckvm s" "KVM s"
	for t in $tests; do
		if grep -qx "$t" "$OUT/nobuild"; then
			printf '%-*s %-16s %-16s %8s %8s\n' $w "$t" nobuild nobuild - -
			continue
		fi
		read -r cs cx < <(res ckvm "$t")
		read -r ks kx < <(res kvm "$t")
		printf '%-*s %-16s %-16s %8s %8s\n' $w "$t" "$cs" "$ks" "$cx" "$kx"
	done
} >"$OUT/table"

summary() { # module -> one line
	awk -v m="$1" '$2 == m { n[$4]++; t++ } END {
		printf "%d passed, %d failed, %d skipped, %d timed out, %d killed (OOM), %d hung/crashed, %d not loaded (of %d)",
			n["pass"], n["fail"], n["skip"], n["timeout"], n["killed"], n["hang"] + n["crash"], n["notloaded"], t }' "$OUT/results"
}
S_KVM="KVM (distro kvm_amd): $(summary kvm)"
S_CKVM="ckvm: $(summary ckvm)"
nb=$(grep -c . "$OUT/nobuild")

cat "$OUT/table"
echo
echo "$S_CKVM"
echo "$S_KVM"
[ "$nb" -gt 0 ] && echo "not built: $(tr '\n' ' ' <"$OUT/nobuild")"
echo "total time ${t_total}s, logs in $OUT"

# Regressions against expected-pass.
rc=0
list=$(conf_list)
[ -f "$list" ] || list=/dev/null
for t in $(sed 's/#.*//' "$list"); do
	read -r cs _ < <(res ckvm "$t")
	if [ "$cs" != pass ]; then
		echo "REGRESSION: $t is in $(basename "$list") but is '$cs' on ckvm"
		rc=1
	fi
done

if [ -z "${NO_DOC:-}" ] && [ -z "${CONFORMANCE_TESTS:-}" ]; then
	doc=$CONF_REPO/Documentation/conformance${CONF_SERIES:+-$CONF_SERIES}.rst
	{
		cat "$HERE/conformance-header.rst"
		echo
		echo "Last run"
		echo "========"
		echo
		echo "- date: $(date -u '+%F %H:%M UTC'), $t_total s in all"
		echo "- command: \`\`${CONF_SERIES:+KVER=$CONF_SERIES }make conformance\`\` (TEST_TIMEOUT=$CONF_TEST_TIMEOUT${CONF_CPUFLAGS:+, CPUFLAGS=$CONF_CPUFLAGS})"
		echo "- machine: $("$CONF_QEMU" --version | head -n1) TCG \`\`-cpu max$CONF_CPUFLAGS -smp 2 -m 2048\`\`, guest kernel $CONF_KVER; $(grep -ah '^@@MACHINE' "$OUT"/results.1 2>/dev/null | head -n1 | cut -d' ' -f2-)"
		echo "- host: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cpus"
		echo "- $ckvm_state"
		echo "- selftests: $(basename "$(dirname "$(dirname "$(dirname "$(dirname "$KVM")")")")"), built static"
		echo
		echo "Summary:"
		echo
		echo "- $S_CKVM"
		echo "- $S_KVM"
		[ "$nb" -gt 0 ] && echo "- not built: $(tr '\n' ' ' <"$OUT/nobuild")"
		echo
		echo "Results (status per module; fail(N) is exit status N; times in seconds):"
		echo
		echo "::"
		echo
		sed 's/^/    /' "$OUT/table"
	} >"$doc"
	echo "wrote $doc"
fi
exit $rc
