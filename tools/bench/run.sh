#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: the kvmbench workloads on the distro's kvm_amd and on ckvm,
# in one boot of the emulated machine (distro modules first, unloaded,
# then ckvm.ko), side by side; the table also goes to
# Documentation/performance.rst.
#
# Environment:
#   BENCH_WORKLOADS  subset of: out cpuid touch64 touch512 vm slot1 slot100
#                    slot1000 ioctl pfault cow cs2 cs16 cs64 (default all; a
#                    subset leaves the doc alone)
#   BENCH_SHADOW     shadow-paging workloads, run in a second boot with
#                    -cpu max,-npt (default: the paging workloads, each
#                    also with ckvm's oos_shadow=0, and with pte_update=0;
#                    "" skips the second boot; a subset leaves the doc)
#   BENCH_RUNS       runs per workload (default: kvmbench's, 7; touch64 5,
#                    touch512 3); median and min/max are over the runs
#   BENCH_MODULES    module sets in run order (default "kvm ckvm")
#   BENCH_TIMEOUT    limit per workload and module, seconds (default 90;
#                    kvmbench starts no new run after 40 s, see its -t)
#   CPUFLAGS         appended to -cpu max (e.g. ",-npt")
#   NO_DOC=1         do not rewrite Documentation/performance.rst
#   REPORT_ONLY=1    no machine: redo the table from the last run's logs
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
. "$REPO/tools/testing/conformance/lib.sh"
TEST_TIMEOUT=${BENCH_TIMEOUT:-90}
conf_init || exit 1

OUT=$HERE/build
mkdir -p "$OUT"
gcc -static -O2 -Wall -o "$OUT/kvmbench" "$HERE/kvmbench.c" || exit 1

ALL="out cpuid touch64 touch512 vm slot1 slot100 slot1000 ioctl pfault cow cs2 cs16 cs64"
# Shadow paging: the paging workloads on kvm_amd and ckvm without NPT,
# and ckvm again with its leaf tables kept write-protected (oos_shadow=0),
# with and without updating the spte on an emulated write (pte_update).
SHADOW_ALL="pfault pfault+wp pfault+wp-upd cow cow+wp cow+wp-upd cs2 cs16 cs64 touch64"
workloads=${BENCH_WORKLOADS:-$ALL}
shadow=${BENCH_SHADOW-$SHADOW_ALL}
runs=${BENCH_RUNS:-}
mods=${BENCH_MODULES:-kvm ckvm}
cmd="make bench${BENCH_WORKLOADS:+ BENCH_WORKLOADS=\"$workloads\"}${BENCH_SHADOW+ BENCH_SHADOW=\"$shadow\"}${BENCH_RUNS:+ BENCH_RUNS=$runs}${CONF_CPUFLAGS:+ CPUFLAGS=$CONF_CPUFLAGS}"

# The kvmbench command of a workload name: NAME+wp adds oos_shadow=0,
# NAME+wp-upd also pte_update=0 (module parameters ckvm alone has).
bench_cmd() {
	local w=$1 base=${1%%+*} m=""
	case $w in
	*+wp-upd) m="-m oos_shadow=0 -m pte_update=0" ;;
	*+wp) m="-m oos_shadow=0" ;;
	esac
	echo "/bench/kvmbench ${runs:+-r $runs }$m -N $w $base"
}

# bench_pass DIR CPUFLAGS WORKLOADS: one boot, both module sets, a table
# in DIR/table.
bench_pass() {
	local R=$1 flags=$2 wl=$3 m w
	CONF_CPUFLAGS=$flags
	if [ -z "${REPORT_ONLY:-}" ]; then
		rm -rf "$R"
		mkdir -p "$R"
		: >"$R/plan"
		for m in $mods; do
			for w in $wl; do
				echo "$m $w $(bench_cmd "$w")" >>"$R/plan"
			done
		done
		echo "bench: $(grep -c . "$R/plan") steps, -cpu max$flags" >&2
		conf_mkinitramfs "$R/initrd.gz" "$R/plan" "$OUT/kvmbench:/bench/kvmbench" || return 1
		t_start=$(date +%s)
		conf_run_plan "$R/initrd.gz" "$R/plan" "$R"
		t_total=$(( $(date +%s) - t_start ))
		echo "$t_total" >"$R/total"
		date -u '+%F %H:%M UTC' >"$R/date"
		[ -f "$CONF_CKVM_KO" ] && date -r "$CONF_CKVM_KO" '+%F %T' >"$R/ckvm-date"
	else
		t_total=$(cat "$R/total" 2>/dev/null || echo "?")
	fi
	bench_table "$R" "$wl"
}



describe() {
	case $1 in
	out) echo "OUT exit to userspace + KVM_RUN" ;;
	cpuid) echo "CPUID exit handled in kernel" ;;
	touch64) echo "first touch, 64 MiB (per 4K page)" ;;
	touch512) echo "first touch, 512 MiB (per 4K page)" ;;
	vm) echo "VM + vCPU create/destroy" ;;
	slot1) echo "memslot add+delete, 1 present" ;;
	slot100) echo "memslot add+delete, 100 present" ;;
	slot1000) echo "memslot add+delete, 1000 present" ;;
	ioctl) echo "KVM_RUN, immediate_exit=1" ;;
	pfault) echo "guest #PF, handler maps page" ;;
	pfault+wp) echo "guest #PF, oos_shadow=0" ;;
	pfault+wp-upd) echo "guest #PF, oos_shadow=0 pte_update=0" ;;
	cow) echo "guest COW fault (copy 4K, INVLPG)" ;;
	cow+wp) echo "guest COW fault, oos_shadow=0" ;;
	cow+wp-upd) echo "guest COW, oos_shadow=0 pte_update=0" ;;
	cs2) echo "MOV CR3, 2 address spaces" ;;
	cs16) echo "MOV CR3, 16 address spaces" ;;
	cs64) echo "MOV CR3, 64 address spaces" ;;
	*) echo "$1" ;;
	esac
}
fmt_ns() { # ns -> human
	awk -v n="$1" 'BEGIN { if (n >= 1e6) printf "%.2f ms", n / 1e6; else if (n >= 1e3) printf "%.2f us", n / 1e3; else printf "%.0f ns", n }'
}
cell() { # module workload -> "median (min-max)" or the step status
	local line st
	line=$(awk -v m="$1" -v w="$2" '$1 == m && $3 == w' "$R/parsed" | tail -n1)
	if [ -n "$line" ]; then
		local med min max nr
		med=$(echo "$line" | sed 's/.*median=\([0-9.]*\).*/\1/')
		min=$(echo "$line" | sed 's/.*min=\([0-9.]*\).*/\1/')
		max=$(echo "$line" | sed 's/.*max=\([0-9.]*\).*/\1/')
		nr=$(echo "$line" | sed 's/.*runs=\([0-9]*\).*/\1/')
		echo "$(fmt_ns "$med") [$(fmt_ns "$min")..$(fmt_ns "$max")] x$nr|$med"
		return
	fi
	st=$(awk -v m="$1" -v w="$2" '$2 == m && $3 == w { print $4 }' "$R/results")
	case $st in
	notloaded) [ -f "$CONF_CKVM_KO" ] || [ "$1" != ckvm ] && echo "not loaded|" || echo "not built|" ;;
	"") echo "-|" ;;
	*) echo "$st|" ;;
	esac
}
exits() { # module workload -> "uexits/kexits"
	awk -v m="$1" -v w="$2" '$1 == m && $3 == w {
		for (i = 4; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		if (v["uexits"] == "-" && v["kexits"] == "-") print "n/a"; else print v["uexits"] "/" v["kexits"] }' "$R/parsed" | tail -n1
}

# bench_table DIR WORKLOADS: the RESULT lines of DIR's logs as a table.
bench_table() {
	local R=$1 wl=$2 w c k cm km ratio ce ke
	# RESULT lines are in the serial logs between @@B and @@E of each step.
	cat "$R"/results.* | awk '
		/^@@B / { mod = $3; next }
		/^RESULT / { print mod, $0 }' >"$R/parsed"
	{
		printf '%-36s %-38s %-38s %7s %-11s %-11s\n' "workload (time per operation)" "ckvm median [min..max] xRUNS" "KVM median [min..max] xRUNS" "ratio" "exits ckvm" "exits KVM"
		for w in $wl; do
			c=$(cell ckvm "$w") k=$(cell kvm "$w")
			cm=${c#*|} km=${k#*|}
			ratio=-
			[ -n "$cm" ] && [ -n "$km" ] && ratio=$(awk -v a="$cm" -v b="$km" 'BEGIN { if (b > 0) printf "%.3g", a / b; else print "-" }')
			ce=$(exits ckvm "$w") ke=$(exits kvm "$w")
			printf '%-36s %-38s %-38s %7s %-11s %-11s\n' "$(describe "$w")" "${c%%|*}" "${k%%|*}" "$ratio" "${ce:--}" "${ke:--}"
		done
	} >"$R/table"
}

flags0=$CONF_CPUFLAGS
t_all=0
bench_pass "$OUT/run" "$flags0" "$workloads" || exit 1
t_all=$((t_all + ${t_total:-0}))
if [ -n "$shadow" ]; then
	bench_pass "$OUT/run-shadow" ",-npt" "$shadow" || exit 1
	t_all=$((t_all + ${t_total:-0}))
fi
cat "$OUT/run/table"
if [ -n "$shadow" ]; then
	echo
	echo "shadow paging (-cpu max,-npt):"
	cat "$OUT/run-shadow/table"
fi
echo
echo "exits: to userspace per operation / all exits per operation (vCPU stat \"exits\"; - when not available)"
echo "command: $cmd; total ${t_all}s; logs in $OUT/run and $OUT/run-shadow"

if [ -z "${NO_DOC:-}" ] && [ -z "${BENCH_WORKLOADS:-}" ] && [ -z "${BENCH_SHADOW+x}" ]; then
	R=$OUT/run
	doc=$REPO/Documentation/performance.rst
	{
		cat "$HERE/performance-header.rst"
		echo
		echo "Last run"
		echo "========"
		echo
		echo "- date: $(cat "$R/date" 2>/dev/null), $t_all s in all"
		echo "- command: \`\`$cmd\`\`"
		echo "- machine: QEMU TCG \`\`-accel tcg,thread=single -cpu max$flags0 -smp 2 -m 2048\`\` (and \`\`-cpu max,-npt\`\` for shadow paging), guest kernel $CONF_KVER; $(grep -ah '^@@MACHINE' "$R"/results.1 2>/dev/null | head -n1 | cut -d' ' -f2-)"
		echo "- host: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cpus, shared with other jobs"
		echo "- ckvm.ko: $( [ -f "$R/ckvm-date" ] && echo "built $(cat "$R/ckvm-date")" || echo "missing (not built)")"
		echo "- each workload: ${runs:-7 (touch64: 5, touch512: 3)} runs (xN: the runs done; kvmbench starts no new run after 40 s), each in a fresh VM; median and [min..max] of the per-operation time over the runs; ratio = ckvm median / KVM median"
		echo "- exits: exits to userspace per operation / all exits per operation (vCPU binary stat \"exits\"; - when not available)"
		echo "- a cell other than a time is the workload's status on that module: timeout (killed after ${CONF_TEST_TIMEOUT}s), fail, hang, crash, not loaded, not built"
		echo
		echo "Nested paging (NPT)"
		echo "-------------------"
		echo
		echo "::"
		echo
		sed 's/^/    /' "$R/table"
		if [ -f "$OUT/run-shadow/table" ]; then
			echo
			echo "Shadow paging (-cpu max,-npt: kvm_amd and ckvm without NPT)"
			echo "------------------------------------------------------------"
			echo
			echo "\`\`+wp\`\`: ckvm with \`\`oos_shadow=0\`\` (the guest's leaf tables stay"
			echo "write-protected, every PTE write is emulated); \`\`+wp-upd\`\`: also"
			echo "\`\`pte_update=0\`\` (the seed's update of the spte on an emulated write"
			echo "turned off). kvm_amd has neither parameter: its column is the same"
			echo "workload with its defaults."
			echo
			echo "::"
			echo
			sed 's/^/    /' "$OUT/run-shadow/table"
		fi
	} >"$doc"
	echo "wrote $doc"
fi
