#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# boot-qemu.sh KERNEL INITRD CONSOLE_LOG RESULTS_LOG TIMEOUT_S [EXTRA_CPU_FLAGS]
#
# Boot KERNEL + INITRD in QEMU TCG (-cpu max: AMD SVM with NPT), 2 vCPUs,
# 2 GiB, no network, no monitor. serial0 (the kernel console) goes to
# CONSOLE_LOG, serial1 (the results port) to RESULTS_LOG. CONSOLE_LOG "-"
# puts the console on this terminal (stdio) instead. EXTRA_CPU_FLAGS is
# appended to "-cpu max", e.g. ",-npt" (SVM without nested paging).
#
# Environment: QEMU (binary, default qemu-system-x86_64), KCMDLINE_EXTRA
# (appended to the kernel command line), QEMU_MEM (MiB, default 2048),
# QEMU_SMP (default 2). The kernel command line also gets
# ckvm_emulator=qemu-<version>, which the tests see in their environment.
#
# Exit status: 0 the machine powered itself off; 124 timeout (killed, or
# this script got SIGTERM/SIGINT, which it passes on to QEMU);
# 125 the kernel panicked (console shows "Kernel panic"; the machine
# reboots on panic and -no-reboot ends QEMU); else QEMU's own status.
set -uo pipefail
# The whole script is one block, so bash reads it all before running it:
# editing it while a run is under way cannot derail that run.
{

if [ $# -lt 5 ]; then
	awk 'NR > 3 && /^#/ { sub(/^# ?/, ""); print; next } NR > 3 { exit }' "$0" >&2
	exit 2
fi
kernel=$1 initrd=$2 console=$3 results=$4 tmo=$5 cpuflags=${6:-}

for f in "$kernel" "$initrd"; do
	[ -r "$f" ] || { echo "ckvm: $f not readable" >&2; exit 2; }
done
here=$(cd "$(dirname "$0")" && pwd)
"$here/deps.sh" --need "${QEMU:-qemu-system-x86_64}" || exit 2

# no_timer_check: the kernel's check that the 8254 ticks through the
# IO-APIC counts ticks against a busy loop, and a TCG vCPU that the host
# starves (2 cores, a load of 12) sees none: "IO-APIC + timer doesn't
# work!", a panic before any test (seen 2026-12-01). QEMU wires the PIT
# to IO-APIC pin 2 as the kernel expects.
cmdline="console=ttyS0 tsc=reliable no_timer_check panic=-1 oops=panic panic_on_warn=0 quiet loglevel=4"
# The emulator and its version reach the tests as $ckvm_emulator (the
# kernel hands unknown a=b parameters to init's environment): some tests
# know faults of a given emulator (Documentation/testing.rst).
qver=$("${QEMU:-qemu-system-x86_64}" --version 2>/dev/null |
	sed -n '1s/^QEMU emulator version \([0-9][0-9.]*\).*/\1/p')
cmdline="$cmdline ckvm_emulator=qemu-${qver:-unknown} ${KCMDLINE_EXTRA:-}"

: >"$results"
args=(
	-accel tcg,thread=single
	-cpu "max$cpuflags"
	-smp "${QEMU_SMP:-2}" -m "${QEMU_MEM:-2048}"
	-display none -vga none -monitor none
	-nic none -no-reboot -no-user-config -nodefaults
	-kernel "$kernel" -initrd "$initrd" -append "$cmdline"
)
if [ "$console" = "-" ]; then
	args+=(-serial stdio)
	tflags=(--foreground)
else
	: >"$console"
	args+=(-serial "file:$console")
	tflags=()
fi
args+=(-serial "file:$results")

if [ "$console" = "-" ]; then
	timeout "${tflags[@]}" -k 10 "$tmo" "${QEMU:-qemu-system-x86_64}" "${args[@]}"
	rc=$?
else
	# In the background, so that a TERM to this script (a watchdog giving
	# up on a hung machine) stops QEMU too; it then exits 124.
	timeout -k 10 "$tmo" "${QEMU:-qemu-system-x86_64}" "${args[@]}" </dev/null &
	tpid=$!
	trap 'kill -TERM $tpid 2>/dev/null; wait $tpid; exit 124' TERM INT HUP
	wait $tpid
	rc=$?
fi
case $rc in
124 | 137) exit 124 ;;
0)
	if [ "$console" != "-" ] && grep -q "Kernel panic" "$console" 2>/dev/null; then
		exit 125
	fi
	exit 0
	;;
*) exit $rc ;;
esac
exit
}
