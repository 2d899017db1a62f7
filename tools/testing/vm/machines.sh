# SPDX-License-Identifier: GPL-2.0
#
# The test machines. Sourced by check.sh and run.sh (and usable by other
# harnesses): machine_setup NAME sets
#   M_EMU       qemu | bochs
#   M_CPUFLAGS  appended to QEMU's "-cpu max" (e.g. ",-npt")
#   M_PARAMS    module parameters for the last module /init loads
#   M_DESC      one line of description
#   M_BOOT_GRACE  seconds a boot may take beyond a QEMU boot (Bochs: 300)
#   M_MAX_TIMEOUT the most a machine's boots may take together, before
#               M_BOOT_GRACE (900; svm-qemu 1800: its ten QEMU boots)
#   M_QEMU      empty: the host's QEMU; else a script in this directory
#               that makes another QEMU and prints its path with --print
#   M_PAYLOAD   empty: the machine runs the selftests; "qemu": it runs
#               Debian's QEMU inside (qemu-payload.sh), and its tests are
#               QEMU boots of a Linux guest, one per configuration
#   M_QEMU_INSIDE  with M_PAYLOAD=qemu: empty, the host's QEMU runs inside;
#               else a script as M_QEMU whose --root names the Debian root
#               whose QEMU runs inside (qemu-payload.sh -r): the
#               *-q10-qemu machines run Debian 13's QEMU 10 outside and in
#   M_TEST_TIMEOUT  seconds per test program if more than TEST_TIMEOUT
#   M_QEMU_TESTS  (M_PAYLOAD=qemu) the QEMU boots make check runs by
#               default (check.sh's QEMU_TESTS overrides)
#   M_KVER      empty: the run's kernel (KVER, else this machine's); else
#               the Debian kernel series the machine boots (kver.sh KVER=),
#               with a ckvm.ko built for it and its own kvm modules
# and returns 1 (with a message on stderr) for an unknown machine.
#
# /init derives the module set from the name: svm, vmx and svm-<variant>
# load ckvm.ko; svm-kvm and vmx-kvm (and *-kvm-<variant>) load the
# distro's kvm modules. To add a machine: add a case here (and, if it needs
# a new module set, a case in init); see Documentation/testing.rst.

MACHINES_ALL="svm svm-kvm svm-shadow svm-kvm-shadow svm-q10 svm-kvm-q10 vmx vmx-kvm
	vmx-shadow vmx-kvm-shadow svm-qemu svm-kvm-qemu svm-q10-qemu svm-kvm-q10-qemu
	vmx-qemu vmx-kvm-qemu svm-612 svm-kvm-612 vmx-612 vmx-kvm-612"

machine_setup() {
	M_EMU=qemu
	M_CPUFLAGS=""
	M_PARAMS=""
	M_BOOT_GRACE=0
	M_MAX_TIMEOUT=900
	M_QEMU=""
	M_PAYLOAD=""
	M_QEMU_INSIDE=""
	M_TEST_TIMEOUT=""
	M_QEMU_TESTS=""
	M_KVER=""
	case "$1" in
	*-612)
		# The machine without -612, on Debian's 6.12 kernel
		# (bookworm-backports, Debian 13's series; kroot.sh).
		machine_setup "${1%-612}" || return 1
		M_KVER=6.12
		M_DESC="$M_DESC, Debian's 6.12 kernel"
		return 0 ;;
	*-qemu)
		# The machine without -qemu, with QEMU inside: a boot of the
		# inner Linux takes 15-40 s on SVM, several minutes on Bochs.
		machine_setup "${1%-qemu}" || return 1
		M_DESC="$M_DESC; Debian's QEMU inside boots Linux"
		M_PAYLOAD=qemu
		# The QEMU of the machine runs inside too (Debian 13's QEMU 10).
		M_QEMU_INSIDE=$M_QEMU
		[ -n "$M_QEMU_INSIDE" ] && M_DESC="$M_DESC (that QEMU inside too)"
		# ckvm on QEMU's SVM: interrupts as V_IRQ, around the
		# emulator's duplicate EVENTINJ (Documentation/qemu.rst).
		case "$1" in
		svm-qemu | svm-q10-qemu | svm-shadow-qemu)
			M_PARAMS="${M_PARAMS:+$M_PARAMS }virq=1"
			M_DESC="$M_DESC (ckvm virq=1)" ;;
		esac
		# ckvm boots to init in 25-40 s here on a quiet host, 60-90 s
		# with three other emulators on the same 2 cores, 110-176 s
		# at a load of 12 (measured 2026-12-01); 300 s (the boot's
		# share of the test's 330, for _migrate both boots') tells a
		# hang on ckvm, where only a hang pays it. The references
		# hang often: 180 s of 210 there. QEMU_BOOT_TIMEOUT: the
		# test's limit.
		case "$1" in
		*-kvm-*) M_TEST_TIMEOUT=${QEMU_BOOT_TIMEOUT:-210} ;;
		*) M_TEST_TIMEOUT=${QEMU_BOOT_TIMEOUT:-330} ;;
		esac
		[ "$M_EMU" = bochs ] && M_TEST_TIMEOUT=1200
		# The boots make check runs: on ckvm every configuration of
		# issue 11 with 2 vCPUs (pc and q35, kernel-irqchip on and
		# split, -cpu host and a named model; the split ones bring
		# the second vCPU up by INIT/SIPI through QEMU's IOAPIC),
		# one with 1 vCPU, and the save and restore: ten boots of
		# 20-30 s each on quiet cores, so the machine may take up
		# to 1800 s (M_MAX_TIMEOUT). The references (kvm_amd hangs
		# often in these nested boots; a hang costs the whole
		# 210 s) and Bochs (minutes per boot) do one.
		case "$1" in
		*-kvm-* | vmx*)	M_QEMU_TESTS=qemu_pc_on_host_2 ;;
		*)	M_QEMU_TESTS="qemu_pc_on_host_2 qemu_pc_on_model_2 qemu_pc_split_host_2 qemu_pc_split_model_2 qemu_q35_on_host_2 qemu_q35_on_model_2 qemu_q35_split_host_2 qemu_q35_split_model_2 qemu_q35_on_model_1 qemu_pc_on_host_2_migrate"
			M_MAX_TIMEOUT=1800 ;;
		esac
		return 0 ;;
	svm)		M_DESC="QEMU TCG -cpu max (SVM+NPT), ckvm.ko" ;;
	svm-kvm)	M_DESC="QEMU TCG -cpu max (SVM+NPT), distro kvm_amd (reference)" ;;
	svm-shadow)	M_DESC="QEMU TCG -cpu max,-npt (SVM, shadow MMU), ckvm.ko"
			M_CPUFLAGS=",-npt" ;;
	svm-kvm-shadow)	M_DESC="QEMU TCG -cpu max,-npt, distro kvm_amd (reference)"
			M_CPUFLAGS=",-npt" ;;
	svm-q10)	M_DESC="Debian 13's QEMU 10 TCG -cpu max (SVM+NPT), ckvm.ko"
			M_QEMU=qemu-trixie.sh ;;
	svm-kvm-q10)	M_DESC="Debian 13's QEMU 10 TCG -cpu max, distro kvm_amd (reference)"
			M_QEMU=qemu-trixie.sh ;;
	vmx)		M_DESC="Bochs corei7_haswell_4770 (VMX+EPT), ckvm.ko"
			M_EMU=bochs M_BOOT_GRACE=300 ;;
	vmx-kvm)	M_DESC="Bochs corei7_haswell_4770, distro kvm_intel (reference)"
			M_EMU=bochs M_BOOT_GRACE=300 ;;
	vmx-shadow)	M_DESC="Bochs corei7_haswell_4770, ckvm.ko tdp=0 (shadow MMU, vm86 real mode)"
			M_EMU=bochs M_BOOT_GRACE=300 M_PARAMS="tdp=0" ;;
	vmx-kvm-shadow)	M_DESC="Bochs corei7_haswell_4770, distro kvm_intel ept=0 (reference)"
			M_EMU=bochs M_BOOT_GRACE=300 M_PARAMS="ept=0" ;;
	*)
		echo "ckvm: unknown machine '$1' (known: $MACHINES_ALL)" >&2
		return 1 ;;
	esac
	return 0
}
