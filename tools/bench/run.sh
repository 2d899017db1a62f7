#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: the kvmbench workloads on the distro's KVM and on ckvm, in
# one boot of each emulated machine (each workload on the distro modules,
# then on ckvm.ko, the machine reloading the set in between), side by side: QEMU TCG with AMD SVM (against kvm_amd) and
# Bochs with Intel VMX (against kvm_intel), then the shadow-paging
# workloads in a QEMU boot without NPT (-cpu max,-npt: both modules
# shadow the guest's page tables). The tables also go to
# Documentation/performance.rst.
#
# Environment:
#   BENCH_VENDORS    machines, in order: svm (QEMU) and/or vmx (Bochs);
#                    default "svm vmx" (a subset leaves the doc alone)
#   BENCH_WORKLOADS  subset of: out cpuid touch64 touch512 vm slot1 slot100
#                    slot1000 ioctl mmio mmiofd pfault cow cs2 cs16 cs64
#                    (default all; a subset leaves the doc alone)
#   BENCH_SHADOW     shadow-paging workloads, run in one more QEMU boot with
#                    -cpu max,-npt (default: the paging workloads, the
#                    fault ones also with ckvm's oos_shadow=0, and with
#                    pte_update=0; "" skips that boot; set at all, it
#                    leaves the doc alone)
#   BENCH_QEMU       QEMU boot workloads, run in one more QEMU boot (SVM)
#                    with Debian's QEMU in the machine: qemu-boot-test
#                    configurations (default qemu_pc_on_host_1; "" skips
#                    that boot; set at all, it leaves the doc alone). Each
#                    boots Linux to its init 3 times (BENCH_RUNS) on both
#                    modules and also gives the exits by reason per boot.
#   BENCH_RUNS       runs per workload (default: kvmbench's, 7; touch64 5,
#                    touch512 3); median and min/max are over the runs
#   BENCH_MODULES    module sets in run order (default "kvm ckvm")
#   BENCH_TIMEOUT    limit per workload and module, seconds (default 90 on
#                    svm, 240 on vmx; kvmbench starts no new run after 40 s,
#                    see its -t)
#   CPUFLAGS         appended to QEMU's -cpu max (e.g. ",-npt")
#   NO_DOC=1         do not rewrite Documentation/performance.rst
#   REPORT_ONLY=1    no machine: redo the tables from the last run's logs
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
. "$REPO/tools/testing/conformance/lib.sh"
conf_init || exit 1

OUT=$HERE/build
mkdir -p "$OUT"
gcc -static -O2 -Wall -o "$OUT/kvmbench" "$HERE/kvmbench.c" || exit 1

ALL="out cpuid touch64 touch512 vm slot1 slot100 slot1000 ioctl mmio mmiofd pfault cow cs2 cs16 cs64"
# Shadow paging: the paging workloads on kvm_amd and ckvm without NPT,
# and ckvm again with its leaf tables kept write-protected (oos_shadow=0),
# with and without updating the spte on an emulated write (pte_update).
SHADOW_ALL="pfault pfault+wp pfault+wp-upd cow cow+wp cow+wp-upd cs2 cs16 cs64 touch64"
workloads=${BENCH_WORKLOADS:-$ALL}
vendors=${BENCH_VENDORS:-svm vmx}
shadow=${BENCH_SHADOW-$SHADOW_ALL}
qemu_wl=${BENCH_QEMU-qemu_pc_on_host_1}
runs=${BENCH_RUNS:-}
mods=${BENCH_MODULES:-kvm ckvm}
flags0=$CONF_CPUFLAGS
cmd="make bench${BENCH_VENDORS:+ BENCH_VENDORS=\"$vendors\"}${BENCH_WORKLOADS:+ BENCH_WORKLOADS=\"$workloads\"}${BENCH_SHADOW+ BENCH_SHADOW=\"$shadow\"}${BENCH_QEMU+ BENCH_QEMU=\"$qemu_wl\"}${BENCH_RUNS:+ BENCH_RUNS=$runs}${flags0:+ CPUFLAGS=$flags0}"

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
	mmio) echo "MMIO write exit to userspace" ;;
	mmiofd) echo "MMIO write to an ioeventfd (kernel)" ;;
	pfault) echo "guest #PF, handler maps page" ;;
	pfault+wp) echo "guest #PF, oos_shadow=0" ;;
	pfault+wp-upd) echo "guest #PF, oos_shadow=0 pte_update=0" ;;
	cow) echo "guest COW fault (copy 4K, INVLPG)" ;;
	cow+wp) echo "guest COW fault, oos_shadow=0" ;;
	cow+wp-upd) echo "guest COW, oos_shadow=0 pte_update=0" ;;
	cs2) echo "MOV CR3, 2 address spaces" ;;
	cs16) echo "MOV CR3, 16 address spaces" ;;
	cs64) echo "MOV CR3, 64 address spaces" ;;
	qemu_*) echo "QEMU boot to init: ${1#qemu_}" ;;
	*) echo "$1" ;;
	esac
}
fmt_ns() { # ns -> human
	awk -v n="$1" 'BEGIN { if (n >= 1e9) printf "%.2f s", n / 1e9; else if (n >= 1e6) printf "%.2f ms", n / 1e6; else if (n >= 1e3) printf "%.2f us", n / 1e3; else printf "%.0f ns", n }'
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

# The kvmbench command of a workload name: NAME+wp adds oos_shadow=0,
# NAME+wp-upd also pte_update=0 (module parameters ckvm alone has).
bench_cmd() {
	local w=$1 base=${1%%+*} m=""
	case $w in
	*+wp-upd) m="-m oos_shadow=0 -m pte_update=0" ;;
	*+wp) m="-m oos_shadow=0" ;;
	qemu_*)
		# Each boot gets 180 s (one on ckvm takes 20-40 s on quiet cores,
		# 85 s was seen with the cores shared by three other machines).
		echo "/bench/qemu-boot-bench -r ${runs:-3} -t 180 -N $w $w"
		return ;;
	esac
	echo "/bench/kvmbench -s ${runs:+-r $runs }$m -N $w $base"
}

# bench_pass NAME VENDOR CPUFLAGS WORKLOADS: one boot of VENDOR's machine
# (QEMU with -cpu max<CPUFLAGS>, or Bochs), both module sets, unless
# REPORT_ONLY; then the table in $OUT/run-NAME/table.
bench_pass() {
	local name=$1 vendor=$2 flags=$3 wl=$4 t_total t_start m w c k cm km ratio ce ke
	R=$OUT/run-$name
	CONF_VENDOR=$vendor
	CONF_CPUFLAGS=$flags
	local extra=("$OUT/kvmbench:/bench/kvmbench")
	if [ "$vendor" = vmx ]; then
		CONF_TEST_TIMEOUT=${BENCH_TIMEOUT:-240}
	elif [ "$name" = svm-qemu ]; then
		# All the boots of one workload on one module, and some slack.
		CONF_TEST_TIMEOUT=${BENCH_TIMEOUT:-$(( ${runs:-3} * 180 + 60 ))}
		extra+=("$HERE/qemu-boot-bench:/bench/qemu-boot-bench")
	else
		CONF_TEST_TIMEOUT=${BENCH_TIMEOUT:-90}
	fi
	if [ -z "${REPORT_ONLY:-}" ]; then
		rm -rf "$R"
		mkdir -p "$R"
		: >"$R/plan"
		# Workload by workload, each on both modules in turn (the
		# machine reloads the module set between steps): the host's
		# load drifts over the minutes of a pass, and a ratio of two
		# runs seconds apart sees less of it than one of runs a pass
		# apart.
		for w in $wl; do
			for m in $mods; do
				echo "$m $w $(bench_cmd "$w")" >>"$R/plan"
			done
		done
		echo "bench $name: $(grep -c . "$R/plan") steps" >&2
		if [ "$name" = svm-qemu ]; then
			"$REPO/tools/testing/vm/qemu-payload.sh" -k "$CONF_KVER" "$OUT/qemu" \
				>"$R/payload.log" 2>&1 ||
				{ echo "bench: qemu-payload.sh failed ($R/payload.log)" >&2; return 1; }
			extra+=("$OUT/qemu/tree:/")
		fi
		conf_mkinitramfs "$R/initrd.gz" "$R/plan" "${extra[@]}" || return 1
		t_start=$(date +%s)
		conf_run_plan "$R/initrd.gz" "$R/plan" "$R"
		t_total=$(( $(date +%s) - t_start ))
		echo "$t_total" >"$R/total"
		date -u '+%F %H:%M UTC' >"$R/date"
		[ -f "$CONF_CKVM_KO" ] && date -r "$CONF_CKVM_KO" '+%F %T' >"$R/ckvm-date"
		echo "$CONF_TEST_TIMEOUT" >"$R/timeout"
		echo "$wl" >"$R/workloads"
	fi
	[ -d "$R" ] || { echo "bench: no run in $R" >&2; return 1; }
	wl=$(cat "$R/workloads" 2>/dev/null || echo "$wl")

	# RESULT lines are in the serial logs between @@B and @@E of each step.
	cat "$R"/results.* | awk '
		/^@@B / { mod = $3; next }
		/^RESULT / { print mod, $0 }' >"$R/parsed"
	cat "$R"/results.* | awk '
		/^@@B / { mod = $3; next }
		/^STATS / { print mod, $0 }' >"$R/stats"
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
	[ -s "$R/stats" ] && stats_table >>"$R/table"
	# Boots that did not reach init (the reference hangs in nested TCG).
	cat "$R"/results.* | awk '
		/^@@B / { mod = $3; next }
		/^FAILED / { $1 = ""; print "failed on " (mod == "kvm" ? "KVM" : mod) ":" $0 }' >>"$R/table"
	echo "== $name"
	cat "$R/table"
	echo
	echo "exits: to userspace per operation / all exits per operation (vCPU stat \"exits\"; - when not available)"
	echo "command: $cmd; total $(cat "$R/total" 2>/dev/null || echo "?")s; logs in $R"
}

# The exits by reason of the workloads that report them (STATS lines),
# ckvm next to KVM; "-" where a module lacks one. Every QEMU boot, and a
# kvmbench workload (kvmbench -s: the vCPU's binary stats per operation
# over its last run) only where the two modules' exits per operation
# differ by more than 5%: where an exit more or less is to be explained.
stats_table() {
	local w
	for w in $(awk '{ print $3 }' "$R/stats" | awk '!seen[$0]++'); do
		case $w in
		qemu_*)
			echo
			echo "$(describe "$w"): exits by reason per boot (debugfs counters at the guest's init, mean over the boots)" ;;
		*)
			awk -v w="$w" '$3 == w { for (i = 4; i <= NF; i++) if ($i ~ /^exits=/) e[$1] = substr($i, 7) }
				END { exit !(("ckvm" in e) && ("kvm" in e) && e["kvm"] > 0 &&
					     (e["ckvm"] / e["kvm"] > 1.05 || e["ckvm"] / e["kvm"] < 0.95)) }' "$R/stats" || continue
			echo
			echo "$(describe "$w"): exits by reason per operation (kvmbench -s: the vCPU's binary stats over its last run)" ;;
		esac
		awk -v w="$w" '$3 == w {
			for (i = 4; i <= NF; i++) {
				split($i, kv, "=")
				if (!(kv[1] in seen)) { seen[kv[1]] = 1; order[++n] = kv[1] }
				v[$1, kv[1]] = kv[2]
			}
		}
		END {
			printf "    %-20s %12s %12s %7s\n", "counter", "ckvm", "KVM", "ratio"
			for (i = 1; i <= n; i++) {
				c = order[i]
				a = ((("ckvm", c) in v) ? v["ckvm", c] : "-")
				b = ((("kvm", c) in v) ? v["kvm", c] : "-")
				r = (a != "-" && b != "-" && b > 0) ? sprintf("%.3g", a / b) : "-"
				printf "    %-20s %12s %12s %7s\n", c, a, b, r
			}
		}' "$R/stats" | sed 's/^    //'
	done
}

# The doc's section for one pass.
doc_pass() {
	local name=$1 vendor=$2 flags=$3 kvm machine title
	R=$OUT/run-$name
	if [ "$vendor" = vmx ]; then
		kvm=kvm_intel
		machine="Bochs \`\`corei7_haswell_4770\`\` (VMX, EPT, VPID, unrestricted guest), 2 CPUs, 1 GiB"
	else
		kvm=kvm_amd
		machine="$("$CONF_QEMU" --version | head -n1) TCG \`\`-accel tcg,thread=single -cpu max$flags -smp 2 -m 2048\`\`"
	fi
	title="Last run: $name (ckvm against $kvm)"
	echo "$title"
	echo "$title" | tr '[:print:]' '='
	echo
	if [ "$name" = svm-shadow ]; then
		echo "Shadow paging: without NPT both modules shadow the guest's page"
		echo "tables. \`\`+wp\`\`: ckvm with \`\`oos_shadow=0\`\` (the guest's leaf tables stay"
		echo "write-protected, every PTE write is emulated); \`\`+wp-upd\`\`: also"
		echo "\`\`pte_update=0\`\` (the seed's update of the spte on an emulated write"
		echo "turned off). kvm_amd has neither parameter: its column is the same"
		echo "workload with its defaults."
		echo
	fi
	if [ "$name" = svm-qemu ]; then
		echo "QEMU boot: Debian's unmodified QEMU inside the machine boots the"
		echo "Debian kernel with \`\`-accel kvm\`\` (\`\`tools/bench/qemu-boot-bench\`\`,"
		echo "\`\`qemu-boot-test\`\`'s bench mode); the time is from QEMU's start to"
		echo "the guest's init. A boot that does not reach init in 180 s is left out"
		echo "of the times and listed under the table: the reference kvm_amd hangs"
		echo "now and then in nested TCG (Documentation/qemu.rst)."
		echo
	fi
	echo "- date: $(cat "$R/date" 2>/dev/null), $(cat "$R/total" 2>/dev/null) s in all"
	echo "- command: \`\`$cmd\`\`"
	echo "- machine: $machine, guest kernel $CONF_KVER; $(grep -ah '^@@MACHINE' "$R"/results.1 2>/dev/null | head -n1 | cut -d' ' -f2-)"
	echo "- host: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cpus, shared with other jobs"
	echo "- ckvm.ko: $( [ -f "$R/ckvm-date" ] && echo "built $(cat "$R/ckvm-date")" || echo "missing (not built)")"
	echo "- each workload: ${runs:-7 (touch64: 5, touch512: 3)} runs (xN: the runs done; kvmbench starts no new run after 40 s), each in a fresh VM; median and [min..max] of the per-operation time over the runs; ratio = ckvm median / $kvm median"
	echo "- exits: exits to userspace per operation / all exits per operation (vCPU binary stat \"exits\"; - when not available)"
	echo "- a cell other than a time is the workload's status on that module: timeout (killed after $(cat "$R/timeout" 2>/dev/null || echo "?")s), fail, hang, crash, not loaded, not built"
	echo
	echo "::"
	echo
	sed 's/^/    /' "$R/table"
	echo
}

passes=()
for v in $vendors; do
	passes+=("$v $v $flags0")
done
case " $vendors " in
*" svm "*)
	[ -n "$shadow" ] && passes+=("svm-shadow svm ,-npt")
	[ -n "$qemu_wl" ] && passes+=("svm-qemu svm $flags0") ;;
esac

rc=0
for p in "${passes[@]}"; do
	read -r name vendor flags <<<"$p"
	if [ "$name" = svm-shadow ]; then
		bench_pass "$name" "$vendor" "$flags" "$shadow" || rc=1
	elif [ "$name" = svm-qemu ]; then
		bench_pass "$name" "$vendor" "$flags" "$qemu_wl" || rc=1
	else
		bench_pass "$name" "$vendor" "$flags" "$workloads" || rc=1
	fi
done

if [ -z "${NO_DOC:-}" ] && [ -z "${BENCH_WORKLOADS:-}" ] && [ -z "${BENCH_VENDORS:-}" ] &&
   [ -z "${BENCH_SHADOW+x}" ] && [ -z "${BENCH_QEMU+x}" ] && [ $rc = 0 ]; then
	doc=$REPO/Documentation/performance.rst
	{
		cat "$HERE/performance-header.rst"
		for p in "${passes[@]}"; do
			read -r name vendor flags <<<"$p"
			echo
			doc_pass "$name" "$vendor" "$flags"
		done
	} | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' >"$doc"
	echo "wrote $doc"
fi
exit $rc
