#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run.sh: what "make run" runs. Builds ckvm.ko, boots the emulated
# machine for $VENDOR with the console on this terminal, loads the module
# and runs the job, then powers off. Exit status: the job's.
#
# The job (RUN_JOB):
#   qemu  (make run) Debian's own QEMU, unmodified, with -accel kvm boots
#         the Debian kernel inside the machine (qemu-payload.sh); the
#         guest's console is this terminal; its script prints the CPUs
#         online, the memory, a timer sleep and a file written to and read
#         back from a virtio-blk disk, and powers off (qemu-boot-test run)
#   vmm   (make run-vmm) tools/vmm's demo guest: a line in real, protected
#         and long mode
#
# Environment:
#   VENDOR       svm (QEMU TCG, AMD SVM) | vmx (Bochs, Intel VMX)
#   MODULE       ckvm (default) | kvm: the distro's kvm_amd/kvm_intel
#                instead of ckvm.ko (the reference)
#   RUN_JOB      qemu (default) | vmm
#   RUN_QEMU     the QEMU configuration (qemu-boot-test's names; default
#                qemu_pc_on_host_2: pc, in-kernel irqchip, -cpu host, 2 vCPUs;
#                on svm ckvm loads with virq=1, see Documentation/qemu.rst)
#   RUN_TIMEOUT  seconds before the machine is killed (default 900 for
#                the QEMU job, 300 for the VMM; Bochs: 5400 and 900)
#   RUN_CMD      command to run inside instead of the job's
#   RUN_ADD      extra files for the machine, "SRC:DEST ..." (DEST absolute)
#   RUN_CMD_TIMEOUT  seconds before the command is killed inside the
#                machine, which then shows the kernel log tail (default
#                600 for the QEMU job, 60 for the VMM; Bochs: 4800, 600)
#   KERNEL       stock (default) | debug: the debug kernel of "make
#                debug-kernel" and a ckvm.ko built for it
#   KVER         the Debian kernel series to boot (kver.sh; e.g. 6.12,
#                from its kernel root, built on first use as root)
# Logs: build/run/.
set -uo pipefail
# The whole script is one block, so bash reads it all before running it:
# editing it while a run is under way cannot derail that run.
{

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
cd "$repo" || exit 1
# KVER: the machine's kernel (kver.sh); a kernel of a kernel root gets
# its root built on first use and a ckvm.ko built for it there (kroot.sh).
kseries=$("$here/kver.sh" --series) || exit 1
if [ -n "$kseries" ]; then
	"$here/kroot.sh" "$kseries" >/dev/null || exit 1
	KDIR=${KDIR:-$(KVER="" "$here/kver.sh" --kdir)}
else
	KDIR=${KDIR:-$("$here/kver.sh" --kdir)}
fi
export KDIR

VENDOR=${VENDOR:-svm}
MODULE=${MODULE:-ckvm}
RUN_JOB=${RUN_JOB:-qemu}
MAKE=${MAKE:-make}

case "$VENDOR" in
svm) emu=qemu what="QEMU TCG" ;;
vmx)
	emu=bochs
	# Measured 2026-12-01 on 2 loaded cores: the QEMU job took 52.7 min.
	if [ "$RUN_JOB" = qemu ]; then
		what="Bochs (the QEMU job: most of an hour)"
	else
		what="Bochs (a few minutes)"
	fi ;;
*)
	echo "ckvm: unknown VENDOR '$VENDOR' (svm or vmx)" >&2
	exit 1 ;;
esac

case "$MODULE" in
ckvm)
	machine=$VENDOR
	if [ "${KERNEL:-stock}" = debug ]; then
		ko=$("$here/debug-module.sh") || exit 1
	elif [ -n "$kseries" ]; then
		ko=$("$here/kroot.sh" "$kseries" --module) || exit 1
	else
		$MAKE --no-print-directory module || exit 1
		ko=$repo/ckvm.ko
	fi ;;
kvm)
	machine=$VENDOR-kvm
	ko=none ;;
*)
	echo "ckvm: unknown MODULE '$MODULE' (ckvm or kvm)" >&2
	exit 1 ;;
esac

slow=1
[ "$emu" = bochs ] && slow=8
params=""
adds=()
case "$RUN_JOB" in
qemu)
	"$here/qemu-payload.sh" build/qemu || exit 1
	adds+=(-t build/qemu/tree)
	cmd="/qemu/boot-test run ${RUN_QEMU:-qemu_pc_on_host_2}"
	# As the svm-qemu machine: V_IRQ injection around QEMU TCG's
	# duplicate EVENTINJ delivery (Documentation/qemu.rst).
	[ "$machine" = svm ] && params="virq=1"
	cmd_tmo=$((600 * slow)) run_tmo=$((900 * slow))
	[ $slow -gt 1 ] && cmd_tmo=4800 run_tmo=5400
	what_job="Debian's QEMU boots Linux inside it" ;;
vmm)
	$MAKE --no-print-directory vmm || exit 1
	adds+=(-a tools/vmm/build/vmm:/bin/vmm -a tools/vmm/build/demo.bin:/demo.bin)
	cmd="/bin/vmm /demo.bin"
	cmd_tmo=60 run_tmo=300
	[ $slow -gt 1 ] && cmd_tmo=600 run_tmo=900
	what_job="the demo guest of tools/vmm" ;;
*)
	echo "ckvm: unknown RUN_JOB '$RUN_JOB' (qemu or vmm)" >&2
	exit 1 ;;
esac
for a in ${RUN_ADD:-}; do
	adds+=(-a "$a")
done
kernel=$("$here/kver.sh" --kernel) || exit 1
if [ "${KERNEL:-stock}" = debug ]; then
	KCMDLINE_EXTRA="kasan_multi_shot ${KCMDLINE_EXTRA:-}"
	export KCMDLINE_EXTRA
fi
dir=build/run
mkdir -p "$dir"
exec 9>build/.run.lock
if ! flock -n 9; then
	echo "ckvm: waiting for another run.sh in this tree (build/.run.lock)"
	flock 9
fi
"$here/mkinitramfs.sh" -m "$machine" -c "$ko" -p "$params" \
	-r "${RUN_CMD:-$cmd}" -T "${RUN_CMD_TIMEOUT:-$cmd_tmo}" "${adds[@]}" \
	"$dir/initramfs.cpio.gz" || exit 1

echo "ckvm: booting $machine ($kernel) in $what; then $what_job; this takes a while..."
"$here/boot-$emu.sh" "$kernel" "$dir/initramfs.cpio.gz" - "$dir/results.log" \
	"${RUN_TIMEOUT:-$run_tmo}"
brc=$?

line=$(grep -a '^@@CKVM-END run rc=' "$dir/results.log" | tr -d '\r' | tail -n 1)
if [ -n "$line" ]; then
	rc=${line##*rc=}
	echo "ckvm: the job ($RUN_JOB) exited with status $rc"
	exit "$rc"
fi
if grep -aq '^@@CKVM-END module load rc=[1-9]' "$dir/results.log"; then
	echo "ckvm: loading the module failed (see above)" >&2
elif [ $brc -eq 124 ]; then
	echo "ckvm: the machine timed out (RUN_TIMEOUT)" >&2
else
	echo "ckvm: the machine stopped before the job finished (boot status $brc)" >&2
fi
exit 1
exit
}
