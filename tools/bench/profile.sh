#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make profile: where the time of one kvmbench workload goes, on the
# distro's KVM and on ckvm, in one boot of the SVM machine. perf (this
# system's, package linux-perf) runs inside the machine: `perf record -a`
# (cpu-clock samples, the only event QEMU TCG offers) around kvmbench,
# then `perf report` by symbol. Where the guest's own time goes differs:
# ckvm's shows up at the instruction after VMRUN (ckvm_arch_vcpu_run),
# while KVM tells perf that the timer interrupt came in guest mode and the
# sample is the guest's, not in this host-only report. The second CPU's
# idle (native_safe_halt) is in both. For looking, not for claims: the
# numbers are make bench's.
#
# Environment: PROFILE_WORKLOAD (default mmiofd; a kvmbench workload),
# PROFILE_MODULES (default "kvm ckvm"), PROFILE_RUNS (kvmbench -r,
# default 5), CPUFLAGS (appended to -cpu max, e.g. ",-npt").
# Output: the two reports on stdout and in tools/bench/build/profile/.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
. "$REPO/tools/testing/conformance/lib.sh"
conf_init || exit 1
"$REPO/tools/testing/vm/deps.sh" --need perf || exit 1

wl=${PROFILE_WORKLOAD:-mmiofd}
OUT=$HERE/build
R=$OUT/profile
rm -rf "$R"
mkdir -p "$R/tree/perf/bin" "$R/tree/perf/lib" "$R/tree/lib64" "$R/tree/bench"
gcc -static -O2 -Wall -o "$OUT/kvmbench" "$HERE/kvmbench.c" || exit 1

# perf and what its loader needs, as qemu-payload.sh does for QEMU.
perf=$(command -v perf)
cp "$perf" "$R/tree/perf/bin/perf"
ldd "$perf" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
	while read -r lib; do
		case "$lib" in
		*/ld-linux-x86-64.so.2) cp -L "$lib" "$R/tree/lib64/" ;;
		*) cp -L "$lib" "$R/tree/perf/lib/" ;;
		esac
	done
cat >"$R/tree/bench/prof" <<'EOS'
#!/bin/sh
export LD_LIBRARY_PATH=/perf/lib
echo 0 >/proc/sys/kernel/kptr_restrict
/perf/bin/perf record -q -a -F 999 -o /tmp/p.data -- /bench/kvmbench -r "$2" "$1"
echo "@@PROFILE $(cut -d' ' -f1 /proc/modules | grep -E '^(ckvm|kvm_amd|kvm_intel)$')"
/perf/bin/perf report -i /tmp/p.data --stdio --no-children --sort dso,sym \
	--percent-limit 0.7 2>/dev/null | grep -v '^#' | grep -v '^$' | head -n 60
echo "@@PROFILE end"
EOS
chmod 755 "$R/tree/bench/prof"
: >"$R/plan"
for m in ${PROFILE_MODULES:-kvm ckvm}; do
	echo "$m prof-$wl /bench/prof $wl ${PROFILE_RUNS:-5}" >>"$R/plan"
done
CONF_TEST_TIMEOUT=300
conf_mkinitramfs "$R/initrd.gz" "$R/plan" "$OUT/kvmbench:/bench/kvmbench" "$R/tree:/" || exit 1
conf_run_plan "$R/initrd.gz" "$R/plan" "$R" || true
cat "$R"/results.* | awk '/^@@PROFILE end/ { p = 0; print ""; next }
	/^@@PROFILE / { p = 1; print "== " $2 ": kvmbench '"$wl"'"; next }
	/^RESULT / { res = $0; next }
	p { print }
	/^@@E / && res { print res; res = "" }' | tee "$R/report"
