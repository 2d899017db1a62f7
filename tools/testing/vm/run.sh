#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run.sh: what "make run" runs. Builds ckvm.ko and tools/vmm, boots the
# emulated machine for $VENDOR with the console on this terminal, loads the
# module, runs "/bin/vmm /demo.bin" (the demo guest prints a line in real,
# protected and long mode) and powers off. Exit status: the VMM's.
#
# Environment:
#   VENDOR       svm (QEMU TCG, AMD SVM) | vmx (Bochs, Intel VMX)
#   MODULE       ckvm (default) | kvm: the distro's kvm_amd/kvm_intel
#                instead of ckvm.ko (the reference)
#   RUN_TIMEOUT  seconds before the machine is killed (default 300; 900
#                with VENDOR=vmx)
#   RUN_CMD      command to run inside instead of "/bin/vmm /demo.bin"
#   RUN_ADD      extra files for the machine, "SRC:DEST ..." (DEST absolute)
#   RUN_CMD_TIMEOUT  seconds before the command is killed inside the
#                machine, which then shows the kernel log tail (default 60)
#   KERNEL       stock (default) | debug: the debug kernel of "make
#                debug-kernel" and a ckvm.ko built for it
# Logs: build/run/.
set -uo pipefail
# The whole script is one block, so bash reads it all before running it:
# editing it while a run is under way cannot derail that run.
{

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
cd "$repo" || exit 1
KDIR=${KDIR:-$("$here/kver.sh" --kdir)}
export KDIR

VENDOR=${VENDOR:-svm}
MODULE=${MODULE:-ckvm}
MAKE=${MAKE:-make}

case "$VENDOR" in
svm) emu=qemu what="QEMU TCG" ;;
vmx) emu=bochs what="Bochs (a few minutes)" ;;
*)
	echo "ckvm: unknown VENDOR '$VENDOR' (svm or vmx)" >&2
	exit 1 ;;
esac

case "$MODULE" in
ckvm)
	machine=$VENDOR
	if [ "${KERNEL:-stock}" = debug ]; then
		$MAKE --no-print-directory vmm || exit 1
		ko=$("$here/debug-module.sh") || exit 1
	else
		$MAKE --no-print-directory module vmm || exit 1
		ko=$repo/ckvm.ko
	fi ;;
kvm)
	machine=$VENDOR-kvm
	$MAKE --no-print-directory vmm || exit 1
	ko=none ;;
*)
	echo "ckvm: unknown MODULE '$MODULE' (ckvm or kvm)" >&2
	exit 1 ;;
esac

adds=()
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
"$here/mkinitramfs.sh" -m "$machine" -c "$ko" \
	-r "${RUN_CMD:-/bin/vmm /demo.bin}" -T "${RUN_CMD_TIMEOUT:-60}" \
	-a tools/vmm/build/vmm:/bin/vmm -a tools/vmm/build/demo.bin:/demo.bin "${adds[@]}" \
	"$dir/initramfs.cpio.gz" || exit 1

echo "ckvm: booting $machine ($kernel) in $what; this takes a while..."
"$here/boot-$emu.sh" "$kernel" "$dir/initramfs.cpio.gz" - "$dir/results.log" \
	"${RUN_TIMEOUT:-$([ "$emu" = bochs ] && echo 900 || echo 300)}"
brc=$?

line=$(grep -a '^@@CKVM-END run rc=' "$dir/results.log" | tr -d '\r' | tail -n 1)
if [ -n "$line" ]; then
	rc=${line##*rc=}
	echo "ckvm: vmm exited with status $rc"
	exit "$rc"
fi
if grep -aq '^@@CKVM-END module load rc=[1-9]' "$dir/results.log"; then
	echo "ckvm: loading the module failed (see above)" >&2
elif [ $brc -eq 124 ]; then
	echo "ckvm: the machine timed out (RUN_TIMEOUT)" >&2
else
	echo "ckvm: the machine stopped before the VMM finished (boot status $brc)" >&2
fi
exit 1
exit
}
