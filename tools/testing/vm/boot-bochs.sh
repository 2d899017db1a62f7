#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# boot-bochs.sh KERNEL INITRD CONSOLE_LOG RESULTS_LOG TIMEOUT_S
#
# Boot KERNEL + INITRD in Bochs with an Intel CPU that has VMX with EPT,
# VPID and unrestricted guest (cpu model corei7_haswell_4770), no network.
# Bochs has no -kernel option, so both go on an isolinux CD image built
# here. com1 (the kernel console) goes to CONSOLE_LOG, com2 (the results
# port) to RESULTS_LOG; CONSOLE_LOG "-" puts the console on this terminal.
# Same interface and exit statuses as boot-qemu.sh.
#
# Debian's Bochs has no headless display: it runs with the rfb display,
# which listens on all addresses, so Bochs runs in a network namespace of
# its own (unshare -n) where nothing outside this script can reach it.
#
# Environment: BOCHS (binary, default bochs), KCMDLINE_EXTRA (appended to
# the kernel command line), BOCHS_MEM (MiB, default 1024), BOCHS_SMP
# (default 2), BOCHS_IPS (emulated instructions per emulated second,
# default 15000000: about what Bochs runs here, so that the guest clock
# keeps pace with the wall clock and in-guest timeouts mean seconds),
# BOCHS_LOG (Bochs's own log, default bochs.log beside RESULTS_LOG).
#
# Exit status: 0 the machine powered itself off; 124 timeout (killed, or
# this script got SIGTERM/SIGINT, which it passes on to Bochs);
# 125 the kernel panicked (console shows "Kernel panic"); else Bochs's
# own status. Bochs exits 1 when the guest powers off: that is 0 here.
set -uo pipefail
# The whole script is one block, so bash reads it all before running it:
# editing it while a run is under way cannot derail that run.
{

if [ $# -lt 5 ]; then
	awk 'NR > 3 && /^#/ { sub(/^# ?/, ""); print; next } NR > 3 { exit }' "$0" >&2
	exit 2
fi
kernel=$1 initrd=$2 console=$3 results=$4 tmo=$5

for f in "$kernel" "$initrd"; do
	[ -r "$f" ] || { echo "ckvm: $f not readable" >&2; exit 2; }
done
isolinux=/usr/lib/ISOLINUX/isolinux.bin
ldlinux=/usr/lib/syslinux/modules/bios/ldlinux.c32
here=$(cd "$(dirname "$0")" && pwd)
"$here/deps.sh" --need "${BOCHS:-bochs}" xorriso $isolinux $ldlinux \
	/usr/share/bochs/BIOS-bochs-latest /usr/share/vgabios/vgabios.bin || exit 2

# idle=halt: an idle CPU of the machine waits in HLT, not MWAIT. In
# MWAIT, Bochs's CPU missed the wakeup a task woken onto it relies on
# (Linux writes the idle CPU's flags and sends no IPI), and ran the task
# only at its next timer interrupt: measured in pit_test on vmx-shadow,
# a kthread worker woken while the vCPU thread spun on the other CPU ran
# no tick in 220 ms in 4 of 6 runs (and in one CI run none in 1.2 s);
# with idle=halt 6 of 6 runs gave every tick.
cmdline="console=ttyS0 tsc=reliable idle=halt panic=-1 oops=panic panic_on_warn=0 quiet loglevel=4"
# As boot-qemu.sh: the emulator reaches the tests as $ckvm_emulator.
bver=$(dpkg-query -W -f='${Version}' bochs 2>/dev/null | sed 's/[+~-].*//')
cmdline="$cmdline ckvm_emulator=bochs-${bver:-unknown} ${KCMDLINE_EXTRA:-}"

work=$(mktemp -d "${TMPDIR:-/tmp}/ckvm-bochs.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/cd/isolinux"
cp "$isolinux" "$ldlinux" "$work/cd/isolinux/"
cp "$kernel" "$work/cd/vmlinuz"
cp "$initrd" "$work/cd/initrd.img"
cat >"$work/cd/isolinux/isolinux.cfg" <<EOF
default ckvm
prompt 0
timeout 0
label ckvm
  kernel /vmlinuz
  append initrd=/initrd.img $cmdline
EOF
if ! xorriso -as mkisofs -quiet -o "$work/boot.iso" -b isolinux/isolinux.bin \
	-c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table \
	"$work/cd" >"$work/xorriso.log" 2>&1; then
	echo "ckvm: xorriso failed:" >&2
	cat "$work/xorriso.log" >&2
	exit 2
fi

: >"$results"
if [ "$console" = "-" ]; then
	com1="mode=file, dev=/dev/stdout"
else
	: >"$console"
	com1="mode=file, dev=$console"
fi
blog=${BOCHS_LOG:-$(dirname "$results")/bochs.log}

# The speaker and sound plugins abort Bochs without a sound device; the
# debugger prompt is answered by the -rc file ("c": continue).
cat >"$work/bochsrc" <<EOF
plugin_ctrl: speaker=0, sb16=0, es1370=0, e1000=0, ne2k=0, pcipnic=0
sound: driver=dummy
display_library: rfb, options="timeout=0"
config_interface: textconfig
cpu: model=corei7_haswell_4770, count=${BOCHS_SMP:-2}, ips=${BOCHS_IPS:-15000000}, reset_on_triple_fault=1
memory: guest=${BOCHS_MEM:-1024}, host=${BOCHS_MEM:-1024}
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/vgabios/vgabios.bin
pci: enabled=1, chipset=i440fx
ata0-master: type=cdrom, path="$work/boot.iso", status=inserted
boot: cdrom
com1: enabled=1, $com1
com2: enabled=1, mode=file, dev=$results
mouse: enabled=0
log: $blog
panic: action=fatal
error: action=ignore
info: action=ignore
debug: action=ignore
EOF
echo c >"$work/rc"
args=(-q -f "$work/bochsrc" -rc "$work/rc")

# Own network namespace (unshare -n): the rfb display's socket stays there.
if [ "$console" = "-" ]; then
	# Bochs's own chatter goes to its log, the guest console to the terminal.
	timeout --foreground -k 10 "$tmo" unshare -n -- "${BOCHS:-bochs}" "${args[@]}" \
		</dev/null 2>>"$blog"
	rc=$?
else
	# In the background, so that a TERM to this script (a watchdog giving
	# up on a hung machine) stops Bochs too; it then exits 124.
	timeout -k 10 "$tmo" unshare -n -- "${BOCHS:-bochs}" "${args[@]}" \
		</dev/null >"$work/stdout.log" 2>&1 &
	tpid=$!
	trap 'kill -TERM $tpid 2>/dev/null; wait $tpid; rm -rf "$work"; exit 124' TERM INT HUP
	wait $tpid
	rc=$?
fi
case $rc in
124 | 137) exit 124 ;;
0 | 1)
	if [ "$console" != "-" ] && grep -q "Kernel panic" "$console" 2>/dev/null; then
		exit 125
	fi
	exit 0
	;;
*)
	[ -f "$work/stdout.log" ] && tail -n 20 "$work/stdout.log" >&2
	exit $rc ;;
esac
exit
}
