#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Write Documentation/api.rst: every ioctl and capability of the KVM API
(from the uapi <linux/kvm.h> ckvm builds against) with its status in ckvm.

The status of each implemented item is kept here, next to the list, so
that the table is regenerated whole whenever the API grows:

    tools/docs/api-status.py > Documentation/api.rst
"""
import re
import sys

HEADER = sys.argv[1] if len(sys.argv) > 1 else "/usr/include/linux/kvm.h"

# name -> (status, note). Anything not listed is "missing".
STATUS = {
    # /dev/kvm
    "KVM_GET_API_VERSION": ("done", "12"),
    "KVM_CREATE_VM": ("done", "machine type 0 only; others -EINVAL"),
    "KVM_CHECK_EXTENSION": ("done", "on /dev/kvm and VM fds"),
    "KVM_GET_VCPU_MMAP_SIZE": ("done", "3 pages: kvm_run, port I/O data, "
        "the coalesced MMIO ring"),
    "KVM_GET_SUPPORTED_CPUID": ("done", "host CPUID through an allow-list; "
        "x2APIC, TSC_ADJUST and the KVM signature leaf emulated"),
    # VM fd
    "KVM_CREATE_VCPU": ("done", "ids below KVM_CAP_MAX_VCPU_ID; "
        "fixes the freeze rules below"),
    "KVM_SET_USER_MEMORY_REGION": ("done",
        "create, delete, move, flags (KVM_MEM_LOG_DIRTY_PAGES, "
        "KVM_MEM_READONLY); address space 0 only; same path as "
        "KVM_SET_USER_MEMORY_REGION2"),
    "KVM_SET_USER_MEMORY_REGION2": ("done", "the same slots and checks "
        "(one path in kvm_main.c); no guest_memfd: KVM_MEM_GUEST_MEMFD "
        "-EINVAL, guest_memfd and guest_memfd_offset unused; nonzero "
        "pad1/pad2 -EINVAL (KVM ignores them)"),
    "KVM_GET_DIRTY_LOG": ("done", "write-protect based (rmap), NPT, EPT "
        "and shadow paging alike"),
    "KVM_SET_NR_MMU_PAGES": ("done", "the limit on shadow pages (also the "
        "direct pages of NPT/EPT); below 64 -EINVAL; LRU pages zapped"),
    "KVM_GET_NR_MMU_PAGES": ("done", "the limit in force (KVM's default: "
        "2% of the memslots' pages, at least 64; 0 before the first slot)"),
    "KVM_SET_TSS_ADDR": ("done", "VMX without unrestricted guest (tdp=0): "
        "the vm86 TSS's 3 pages (ckvm's own, mapped there with paging off); "
        "must end below 4 GiB; default 0xfffbd000"),
    "KVM_SET_IDENTITY_MAP_ADDR": ("done", "kept; ckvm needs no identity "
        "map (no EPT without unrestricted guest: shadow paging); -EINVAL "
        "after the first vCPU"),
    "KVM_CAP_MMU_SHADOW_CACHE_CONTROL": ("done", ""),
    "KVM_CAP_SET_TSS_ADDR": ("done", ""),
    "KVM_CAP_SET_IDENTITY_MAP_ADDR": ("done", ""),
    "KVM_CAP_READONLY_MEM": ("done", "reads native, writes KVM_EXIT_MMIO; "
        "the flag cannot change on a slot"),
    "KVM_CAP_EXIT_ON_EMULATION_FAILURE": ("done", "no #UD; the run ends "
        "whatever the CPL"),
    # vCPU fd
    "KVM_RUN": ("done", "immediate_exit (-EINTR, exit_reason kept), "
        "signals (-EINTR, KVM_EXIT_INTR); kvm_run fields below; "
        "KVM_EXIT_MMIO and emulation failures: Documentation/emulator.rst"),
    "KVM_GET_REGS": ("done", ""),
    "KVM_SET_REGS": ("done", ""),
    "KVM_GET_SREGS": ("done", "segments reported as kvm_amd does"),
    "KVM_SET_SREGS": ("partial",
        "KVM's validity rules; interrupt_bitmap ignored (no pending-IRQ report)"),
    "KVM_SET_CPUID2": ("done", "unchangeable once the vCPU entered the guest "
        "(the same table again is taken); KVM's checks of a new table: "
        "0x80000008 linear-address width 0, 48 or 57 (-EINVAL), AMX in 0xD.0 "
        "without arch_prctl permission (-EPERM)"),
    "KVM_GET_CPUID2": ("done", ""),
    "KVM_GET_MSR_INDEX_LIST": ("done", "the MSRs ckvm saves and restores"),
    "KVM_GET_MSRS": ("done", "vCPU fd; feature MSRs on /dev/kvm"),
    "KVM_SET_MSRS": ("done", "incl. IA32_TSC (offset) and IA32_TSC_ADJUST; "
        "addresses checked as below"),
    "KVM_GET_MP_STATE": ("done", "RUNNABLE, HALTED; with an in-kernel "
        "irqchip UNINITIALIZED (APs at creation), INIT_RECEIVED, "
        "SIPI_RECEIVED, AP_RESET_HOLD"),
    "KVM_SET_MP_STATE": ("done", "the states above (KVM's checks); HALTED "
        "wakes for a queued event"),
    # in-kernel irqchip
    "KVM_CREATE_IRQCHIP": ("done", "a local APIC per vCPU (xAPIC page and "
        "x2APIC MSRs, timer, IPIs incl. NMI, INIT and SIPI), the IOAPIC and "
        "the two 8259 PICs with ELCR, KVM's default GSI routes; see "
        "Documentation/irqchip.rst"),
    "KVM_CAP_IRQCHIP": ("done", "KVM_CREATE_IRQCHIP and the ioctls below"),
    "KVM_CAP_IOAPIC_POLARITY_IGNORED": ("done", "the IOAPIC takes a line's "
        "level as it is"),
    "KVM_CAP_SPLIT_IRQCHIP": ("done", "KVM_ENABLE_CAP: local APICs in the "
        "kernel, IOAPIC and PICs userspace's; KVM_EXIT_IOAPIC_EOI for the "
        "reserved pins' level-triggered vectors; ExtINTs through "
        "KVM_INTERRUPT"),
    "KVM_CREATE_PIT": ("done", "as KVM_CREATE_PIT2 with flags 0"),
    "KVM_CREATE_PIT2": ("done", "counters 0-2 at ports 0x40-0x43, modes "
        "0-5; KVM_PIT_SPEAKER_DUMMY: port 0x61; counter 0 is GSI 0, "
        "reinjected as KVM does"),
    "KVM_GET_PIT": ("done", ""),
    "KVM_SET_PIT": ("done", ""),
    "KVM_GET_PIT2": ("done", ""),
    "KVM_SET_PIT2": ("done", "flags: KVM_PIT_FLAGS_HPET_LEGACY, "
        "KVM_PIT_FLAGS_SPEAKER_DATA_ON"),
    "KVM_REINJECT_CONTROL": ("done", "on by default, as KVM"),
    "KVM_CAP_PIT": ("done", ""),
    "KVM_CAP_PIT2": ("done", ""),
    "KVM_CAP_PIT_STATE2": ("done", ""),
    "KVM_CAP_REINJECT_CONTROL": ("done", ""),
    "KVM_SET_VAPIC_ADDR": ("done", "TPR, highest ISR class and IRR shared "
        "through the u32 at the address around each entry (QEMU's "
        "kvmvapic); -EINVAL outside the memslots or without an in-kernel "
        "APIC"),
    "KVM_TPR_ACCESS_REPORTING": ("done", "KVM_EXIT_TPR_ACCESS for each "
        "guest TPR access (xAPIC page, x2APIC MSR); flags -EINVAL; taken "
        "without an in-kernel APIC, as KVM"),
    "KVM_CAP_VAPIC": ("done", "KVM_SET_VAPIC_ADDR, KVM_TPR_ACCESS_REPORTING"),
    "KVM_GET_IRQCHIP": ("done", "PIC master/slave, IOAPIC"),
    "KVM_SET_IRQCHIP": ("done", "PIC master/slave, IOAPIC"),
    "KVM_IRQ_LINE": ("done", "through the GSI routes (default: GSI n to "
        "IOAPIC pin n, 0-23, and GSIs 0-15 to the PIC pins as KVM wires "
        "them)"),
    "KVM_IRQ_LINE_STATUS": ("partial", "KVM's status for PIC, IOAPIC and "
        "MSI routes; the RTC (GSI 8) is not tracked for coalescing"),
    "KVM_CAP_IRQ_INJECT_STATUS": ("done", "KVM_IRQ_LINE_STATUS"),
    "KVM_CREATE_DEVICE": ("partial", "no device type (KVM's only one on x86 "
        "is VFIO): -ENODEV for every type, as KVM for a type it lacks"),
    "KVM_SET_GSI_ROUTING": ("done", "irqchip (IOAPIC and PIC pins) and MSI "
        "entries, KVM's checks; no Hyper-V SINT or Xen event channel routes"),
    "KVM_CAP_IRQ_ROUTING": ("done", "4096 routes"),
    "KVM_SIGNAL_MSI": ("done", "8-bit destination (no KVM_CAP_X2APIC_API); "
        "fixed and lowest-priority delivery"),
    "KVM_CAP_SIGNAL_MSI": ("done", ""),
    "KVM_IRQFD": ("done", "plain and resampling; MSI routes delivered in "
        "the signaller's context, irqchip routes from a work item"),
    "KVM_CAP_IRQFD": ("done", ""),
    "KVM_CAP_IRQFD_RESAMPLE": ("done", ""),
    "KVM_IOEVENTFD": ("done", "PIO and MMIO, datamatch, no length, "
        "KVM's checks and errnos; guest MMIO reaches them through the "
        "instruction emulator"),
    "KVM_CAP_IOEVENTFD": ("done", ""),
    "KVM_CAP_IOEVENTFD_ANY_LENGTH": ("done", ""),
    "KVM_CAP_IOEVENTFD_NO_LENGTH": ("done", ""),
    "KVM_REGISTER_COALESCED_MMIO": ("done", "MMIO and PIO zones; guest "
        "MMIO reaches the MMIO ones through the instruction emulator"),
    "KVM_UNREGISTER_COALESCED_MMIO": ("done", "every zone containing the "
        "range, as KVM"),
    "KVM_CAP_COALESCED_MMIO": ("done", "page offset 2"),
    "KVM_CAP_COALESCED_PIO": ("done", ""),
    "KVM_GET_LAPIC": ("done", "xAPIC-format ID (no KVM_CAP_X2APIC_API)"),
    "KVM_SET_LAPIC": ("done", ""),
    "KVM_CAP_MP_STATE": ("done", ""),
    "KVM_ENABLE_CAP": ("partial", "VM fd: KVM_CAP_MAX_VCPU_ID, "
        "KVM_CAP_MSR_PLATFORM_INFO, KVM_CAP_EXIT_ON_EMULATION_FAILURE, "
        "KVM_CAP_X86_TRIPLE_FAULT_EVENT, KVM_CAP_X86_USER_SPACE_MSR"),
    "KVM_CAP_MSR_PLATFORM_INFO": ("done", "MSR_PLATFORM_INFO starts at 0 "
        "(no CPUID faulting)"),
    "KVM_SET_BOOT_CPU_ID": ("done", "-EINVAL for an id no vCPU can have"),
    "KVM_CAP_SET_BOOT_CPU_ID": ("done", ""),
    "KVM_CAP_ENABLE_CAP_VM": ("done", ""),
    "KVM_CAP_GET_MSR_FEATURES": ("done", ""),
    "KVM_GET_MSR_FEATURE_INDEX_LIST": ("done", "MSR_IA32_UCODE_REV"),
    "KVM_GET_STATS_FD": ("done",
        "VM and vCPU fds; counters below (Binary statistics)"),
    "KVM_CAP_BINARY_STATS_FD": ("done", ""),
    # the vCPU and VM state API (issue 11 item 1): x86/state.c,
    # events.c, debugreg.c, kvmclock.c, msrs.c, msr_filter.c; tests
    # vcpu_state_test, events_test, debugregs_test, kvmclock_test,
    # msr_state_test, msr_filter_test, save_restore_test
    "KVM_GET_FPU": ("done", "from the guest fpstate"),
    "KVM_SET_FPU": ("done", "MXCSR reserved bits -EINVAL"),
    "KVM_GET_XSAVE": ("done", "UABI layout, 4 KiB"),
    "KVM_SET_XSAVE": ("done", "KVM's checks (xstate_bv, MXCSR)"),
    "KVM_GET_XSAVE2": ("done", "KVM_CAP_XSAVE2 bytes"),
    "KVM_CAP_XSAVE": ("done", ""),
    "KVM_CAP_XSAVE2": ("done", "size of the UABI buffer"),
    "KVM_GET_XCRS": ("done", "XCR0"),
    "KVM_SET_XCRS": ("done", "XCR0 as XSETBV checks it against guest CPUID"),
    "KVM_CAP_XCRS": ("done", ""),
    "KVM_GET_SREGS2": ("done", "with the PDPTEs under PAE paging"),
    "KVM_SET_SREGS2": ("done", "KVM_SREGS2_FLAGS_PDPTRS_VALID only"),
    "KVM_CAP_SREGS2": ("done", ""),
    "KVM_CAP_SYNC_REGS": ("done", "regs, sregs, events"),
    "KVM_GET_VCPU_EVENTS": ("done", "NMI pending/masked, interrupt shadow, "
        "SMM fields all 0, triple fault"),
    "KVM_SET_VCPU_EVENTS": ("partial", "no exception payload "
        "(KVM_CAP_EXCEPTION_PAYLOAD not offered), no SMM (only 0 taken)"),
    "KVM_CAP_VCPU_EVENTS": ("done", ""),
    "KVM_CAP_X86_TRIPLE_FAULT_EVENT": ("done", ""),
    "KVM_NMI": ("done", "at most two pending, KVM's rule"),
    "KVM_CAP_USER_NMI": ("done", ""),
    "KVM_INTERRUPT": ("done", "without an in-kernel irqchip; -ENXIO with "
        "one, as KVM"),
    "KVM_GET_DEBUGREGS": ("done", ""),
    "KVM_SET_DEBUGREGS": ("done", "DR6/DR7 bits 63:32 -EINVAL, flags 0"),
    "KVM_CAP_DEBUGREGS": ("done", ""),
    "KVM_SET_GUEST_DEBUG": ("partial", "SINGLESTEP (also over instructions "
        "ckvm emulates), USE_SW_BP, USE_HW_BP, DR7.GD, BLOCKIRQ (tested); "
        "INJECT_DB/BP give the guest a #DB or #BP (a hardware exception: it "
        "returns to the RIP where the guest stopped; DR6 untouched) at the "
        "next KVM_RUN, with or without ENABLE (tested), -EBUSY while any "
        "event waits (KVM: an exception; tested: a second injection); "
        "unknown flags -EINVAL (KVM 6.1 takes them), a debugger DR7 with "
        "bits 63:32 -EINVAL (KVM takes it); the guest's MOV DR emulated "
        "meanwhile"),
    "KVM_CAP_INTERNAL_ERROR_DATA": ("done", "every KVM_EXIT_INTERNAL_ERROR "
        "fills ndata and data[]; QEMU 10 requires it"),
    "KVM_CAP_X86_ROBUST_SINGLESTEP": ("done", "KVM_GUESTDBG_SINGLESTEP over "
        "OUT/IN and MMIO through userspace, coalesced MMIO, CPUID, RDMSR, "
        "WRMSR, HLT: KVM_EXIT_DEBUG right past it (guest_debug_test; kvm_amd "
        "loses the step after an MMIO write and a HLT to userspace); QEMU 10 "
        "requires it"),
    "KVM_CAP_SET_GUEST_DEBUG": ("done", "KVM_SET_GUEST_DEBUG"),
    "KVM_CAP_SET_GUEST_DEBUG2": ("done", "the KVM_GUESTDBG_* flags taken, "
        "as KVM's KVM_GUESTDBG_VALID_MASK"),
    "KVM_SET_SIGNAL_MASK": ("done", "len 8"),
    "KVM_GET_CLOCK": ("done", "always KVM_CLOCK_REALTIME and "
        "KVM_CLOCK_HOST_TSC (KVM: only with its master clock); "
        "KVM_CLOCK_TSC_STABLE when the host TSC is"),
    "KVM_SET_CLOCK": ("done", "KVM_CLOCK_REALTIME counts the time since"),
    "KVM_CAP_ADJUST_CLOCK": ("done", "TSC_STABLE | REALTIME | HOST_TSC"),
    "KVM_KVMCLOCK_CTRL": ("done", "PVCLOCK_GUEST_STOPPED; -EINVAL while "
        "the guest has no pvclock"),
    "KVM_CAP_KVMCLOCK_CTRL": ("done", ""),
    "KVM_GET_TSC_KHZ": ("done", ""),
    "KVM_SET_TSC_KHZ": ("partial", "the host frequency only (250 ppm): no "
        "TSC scaling, KVM_CAP_TSC_CONTROL 0"),
    "KVM_CAP_GET_TSC_KHZ": ("done", ""),
    "KVM_GET_DEVICE_ATTR": ("partial", "vCPU: KVM_VCPU_TSC_OFFSET; "
        "/dev/kvm: KVM_X86_XCOMP_GUEST_SUPP"),
    "KVM_SET_DEVICE_ATTR": ("partial", "vCPU: KVM_VCPU_TSC_OFFSET"),
    "KVM_HAS_DEVICE_ATTR": ("partial", "as KVM_GET_DEVICE_ATTR"),
    "KVM_CAP_SYS_ATTRIBUTES": ("done", ""),
    "KVM_CAP_VCPU_ATTRIBUTES": ("done", ""),
    "KVM_X86_GET_MCE_CAP_SUPPORTED": ("done", "MCG_CTL_P | MCG_SER_P"),
    "KVM_X86_SETUP_MCE": ("done", "1-32 banks; MCG_CAP 8:0 on SVM, "
        "as kvm_amd"),
    "KVM_X86_SET_MCE": ("partial", "corrected errors logged, uncorrected "
        "ones #MC or shutdown; no CMCI for a UCNA"),
    "KVM_CAP_MCE": ("done", "32 banks"),
    "KVM_X86_SET_MSR_FILTER": ("done", "KVM's checks; x2APIC MSRs and "
        "KVM_GET/SET_MSRS never filtered"),
    "KVM_CAP_X86_MSR_FILTER": ("done", ""),
    "KVM_CAP_X86_USER_SPACE_MSR": ("done", "reasons INVAL, UNKNOWN, "
        "FILTER"),
    # capabilities
    "KVM_CAP_USER_MEMORY": ("done", ""),
    # Missing, and what QEMU does without them (issue 11).
    "KVM_SMI": ("missing", "no SMM: QEMU sees KVM_CAP_X86_SMM 0 and runs "
        "its machines without SMM (SeaBIOS boots without it; OVMF builds "
        "that need SMM do not)"),
    "KVM_CAP_X86_SMM": ("missing", "0: QEMU leaves SMM out of the guest"),
    "KVM_GET_NESTED_STATE": ("missing", "no nested SVM/VMX (the CPUID of "
        "KVM_GET_SUPPORTED_CPUID has neither): QEMU sees "
        "KVM_CAP_NESTED_STATE 0 and saves no nested state"),
    "KVM_SET_NESTED_STATE": ("missing", "as KVM_GET_NESTED_STATE"),
    "KVM_CAP_NESTED_STATE": ("missing", "0: no nested virtualization"),
    "KVM_SET_PMU_EVENT_FILTER": ("missing", "no PMU is offered (no "
        "CPUID.1:ECX.PDCM, MSR_IA32_PERF_CAPABILITIES 0): QEMU sets no "
        "filter unless asked to"),
    "KVM_CAP_PMU_EVENT_FILTER": ("missing", "0: no PMU"),
    "KVM_CAP_USER_MEMORY2": ("done", "KVM_SET_USER_MEMORY_REGION2 (KVM 6.8)"),
    "KVM_CAP_GUEST_MEMFD": ("missing", "0 on /dev/kvm and on every VM: no "
        "KVM_CREATE_GUEST_MEMFD, so QEMU keeps to KVM_SET_USER_MEMORY_REGION"),
    "KVM_CAP_NR_VCPUS": ("done", "64"),
    "KVM_CAP_MAX_VCPUS": ("done", "64"),
    "KVM_CAP_MAX_VCPU_ID": ("done", "1024"),
    "KVM_CAP_NR_MEMSLOTS": ("done", "32764"),
    "KVM_CAP_IMMEDIATE_EXIT": ("done", ""),
    "KVM_CAP_EXT_CPUID": ("done", "KVM_GET_SUPPORTED_CPUID"),
    "KVM_CAP_DESTROY_MEMORY_REGION_WORKS": ("done", ""),
    "KVM_CAP_JOIN_MEMORY_REGIONS_WORKS": ("done", ""),
}

text = open(HEADER).read()
vm_at = text.index("ioctls for VM fds")
vcpu_at = text.index("ioctls for vcpu fds")
dev_at = text.index("ioctls for fds returned by KVM_CREATE_DEVICE")

ioctls = {"/dev/kvm": [], "VM fd": [], "vCPU fd": [], "device fd": []}
for m in re.finditer(r"^#define\s+(KVM_\w+)\s+_IO\w*\(KVMIO", text, re.M):
    pos, name = m.start(), m.group(1)
    if pos < vm_at:
        scope = "/dev/kvm"
    elif dev_at < pos < vcpu_at:
        scope = "device fd"
    elif pos < vcpu_at:
        scope = "VM fd"
    else:
        scope = "vCPU fd"
    ioctls[scope].append(name)
caps = re.findall(r"^#define\s+(KVM_CAP_\w+)\s+\d+", text, re.M)

# Later than the header (include/compat.h defines them for older ones):
# listed after the header's own, where the header lacks them.
LATER = {"VM fd": ["KVM_SET_USER_MEMORY_REGION2"],
         "caps": ["KVM_CAP_USER_MEMORY2", "KVM_CAP_GUEST_MEMFD"]}
for n in LATER["VM fd"]:
    if n not in ioctls["VM fd"]:
        ioctls["VM fd"].append(n)
caps += [n for n in LATER["caps"] if n not in caps]


def row(name):
    status, note = STATUS.get(name, ("missing", ""))
    return (name, status, note)


def table(rows):
    w = [max(len(r[i]) for r in rows + [("name", "status", "notes")])
         for i in range(3)]
    w = [max(x, 5) for x in w]
    line = " ".join("=" * x for x in w)
    out = [line, " ".join(h.ljust(w[i]) for i, h in
                          enumerate(("name", "status", "notes"))).rstrip(), line]
    out += [" ".join(c.ljust(w[i]) for i, c in enumerate(r)).rstrip()
            for r in rows]
    out.append(line)
    return "\n".join(out)


allrows = [row(n) for s in ioctls.values() for n in s] + [row(c) for c in caps]
count = {k: sum(1 for r in allrows if r[1] == k)
         for k in ("done", "partial", "missing")}

print(""".. SPDX-License-Identifier: GPL-2.0

=====================================
The KVM API in ckvm: what is there
=====================================

Every ioctl and capability that the KVM uapi header defines, with its
status in ckvm: **done** (behaves as in KVM, tested in
``tools/testing/selftests/ckvm``), **partial** (works, with the limits
noted) or **missing** (the ioctl returns -ENOTTY on a VM fd and -EINVAL on
/dev/kvm and vCPU fds, as KVM does for ioctls it does not know; the
capability reads as 0 from KVM_CHECK_EXTENSION).

Generated by ``tools/docs/api-status.py`` from the header ckvm builds
against; the statuses live in that script. Do not edit this file by hand.

Summary: %d done, %d partial, %d missing.
""" % (count["done"], count["partial"], count["missing"]))

for scope, names in ioctls.items():
    title = "ioctls on %s" % scope
    print(title)
    print("=" * len(title))
    print()
    print(table([row(n) for n in names]))
    print()
title = "Capabilities (KVM_CHECK_EXTENSION)"
print(title)
print("=" * len(title))
print()
print(table([row(c) for c in caps]))

# The counters are listed here by hand: keep in step with vm_stats_desc and
# vcpu_stats_desc in stats.c and x86/x86.c.
print("""
Freeze rules
============

A VM-wide setting that vCPUs are built from cannot change once they exist.
Each rule is checked in one place, the validation step of its ioctl, under
``vm->lock`` (``ckvm_vm_has_vcpus()``), which vCPU creation holds
throughout. KVM's rules are those of Debian's 6.1 kernel, measured on
kvm_amd and kvm_intel (``tools/testing/selftests/ckvm/tests/vm_cap_test.c``,
``irqchip_test.c``, ``msr_test.c``) or, for what the emulated test CPUs do
not offer, read from its source. Where ckvm lacks the setting, the test
checks the rule as soon as its capability is offered.

=================================== =========================================== ======================
setting                             KVM 6.1                                     ckvm
=================================== =========================================== ======================
``KVM_CAP_MAX_VCPU_ID``             fixed by the first ``KVM_CREATE_VCPU`` (at  same
                                    the default if unset; one refused for its
                                    id fixes nothing) or by itself; then only
                                    the same value, else EINVAL; 0 leaves it
                                    unset
``KVM_SET_BOOT_CPU_ID``             EBUSY once a vCPU exists; any id accepted   EBUSY as KVM; EINVAL
                                                                                for an id no vCPU can
                                                                                have
``KVM_CREATE_IRQCHIP``              EEXIST if there is one (also a split one),  same
                                    EINVAL once a vCPU exists
``KVM_CAP_SPLIT_IRQCHIP``           EEXIST once a vCPU or an irqchip exists     same
``KVM_SET_IDENTITY_MAP_ADDR``       EINVAL once a vCPU exists                   same
``KVM_SET_TSS_ADDR``                never frozen, also after ``KVM_RUN``;       never frozen, EINVAL
                                    EINVAL within 3 pages below 4 GiB;          as KVM; no EEXIST,
                                    kvm_intel without unrestricted guest:       also with tdp=0 (a new
                                    EEXIST after the first call                 address zaps the shadow
                                                                                pages)
``KVM_CAP_PMU_CAPABILITY``          EINVAL once a vCPU exists                   not offered yet
``KVM_CAP_X86_NOTIFY_VMEXIT``       EINVAL once a vCPU exists                   not offered yet
``KVM_SET_TSC_KHZ`` (VM fd)         never frozen: the default of vCPUs created  not offered yet
                                    later
``KVM_CAP_X2APIC_API``              never frozen in 6.1                         not offered yet
``KVM_CAP_X86_DISABLE_EXITS``       never frozen in 6.1 (later kernels freeze)  not offered yet
``KVM_CAP_MSR_PLATFORM_INFO``       never frozen (read by each guest RDMSR)     same
``KVM_SET_CPUID2`` (vCPU fd)        once the vCPU entered the guest (a KVM_RUN  same
                                    that did not enter does not count): only
                                    the same table (padding aside), else EINVAL
=================================== =========================================== ======================

Addresses that must be canonical
================================

One rule, ``ckvm_is_canonical()`` (x86/x86.c), with the guest's
linear-address width (57 bits with CR4.LA57, else 48), on the guest's
WRMSR and on ``KVM_SET_MSRS`` alike, as KVM (since CVE-2014-3610):

- ``FS_BASE``, ``GS_BASE``, ``KERNEL_GS_BASE``, ``LSTAR``, ``CSTAR``: a
  non-canonical value is refused: #GP for the guest, ``KVM_SET_MSRS``
  stops at that entry. On SVM the guest's own WRMSR of these goes to the
  CPU (not intercepted, as in kvm_amd); QEMU's TCG takes non-canonical
  values there. The VMX backend also tries a new STAR, LSTAR, CSTAR or
  SFMASK on the CPU before it takes it, as it loads them into the host.
- ``SYSENTER_ESP``, ``SYSENTER_EIP``: made canonical (sign-extended), as
  KVM; SVM then keeps bits 31:0 as kvm_amd does.
- Segment, descriptor-table and RIP values from ``KVM_SET_SREGS`` and
  ``KVM_SET_REGS`` are taken as they are, as in KVM: VM entry judges them
  (VMX: ``KVM_EXIT_FAIL_ENTRY``, reason 0x80000021; SVM: the guest runs).
  ckvm never loads them into the host.
- Physical addresses: ``IA32_APIC_BASE`` (MSR and ``KVM_SET_SREGS``) and
  long-mode CR3 reserve the bits from the guest's MAXPHYADDR up:
  CPUID 0x80000008 EAX[7:0], or 36 without that leaf, as KVM.
- Debug registers: ``KVM_SET_DEBUGREGS`` checks bits 63:32 of DR6 and DR7
  (-EINVAL), as KVM, and no address (KVM checks none).

kvm_run fields
==============

Userspace may rewrite the shared ``kvm_run`` page at any time, so
``KVM_RUN`` reads each field it takes from there exactly once, at its
start, and checks it as KVM does, before anything else (also before
``immediate_exit`` ends the call):

======================================= ==============================================
field                                   what ckvm does with it
======================================= ==============================================
``immediate_exit``                      as found at the start of ``KVM_RUN``: finish
                                        a pending exit, then -EINTR; setting it while
                                        the guest runs does not end that call
``kvm_valid_regs``, ``kvm_dirty_regs``  a bit ``KVM_CAP_SYNC_REGS`` does not report
                                        (regs, sregs, events are) is -EINVAL; the
                                        dirty sets are loaded before the guest runs,
                                        the valid ones stored on return
``cr8``                                 without an in-kernel local APIC: bits 63:4
                                        are -EINVAL, else loaded into CR8; with one,
                                        not read
``request_interrupt_window``            without an in-kernel PIC: exit with
                                        ``KVM_EXIT_IRQ_WINDOW_OPEN`` once a
                                        ``KVM_INTERRUPT`` would be delivered (KVM
                                        checks nothing in it)
``padding1``                            not checked (KVM checks none of it)
exit data                               completing an exit reads ckvm's own record of
                                        it and the port I/O page's data once, never
                                        ``kvm_run``'s exit fields
======================================= ==============================================

Every ``KVM_RUN`` returns ``cr8``, ``apic_base`` and ``if_flag`` in
``kvm_run``, also when it fails, as KVM's ``post_kvm_run_save()``;
``ready_for_interrupt_injection`` as KVM: 1 with the PIC in the kernel,
else 1 when a ``KVM_INTERRUPT`` would be delivered at the next entry.

Binary statistics
=================

``KVM_GET_STATS_FD`` on a VM fd or a vCPU fd returns a new read-only fd
(``stats.c``): the header, the id string (``kvm-<pid>`` for the VM,
``kvm-<pid>/vcpu-<id>`` for a vCPU, ``<pid>`` being the thread that created
the VM), the descriptors (names of up to 48 bytes with the NUL) and the
values, one u64 each, read live. ``read``/``pread`` work at any offset
(past the end they return 0), ``write`` fails with EBADF and ``pwrite``
with ESPIPE. The fd holds a reference on the VM, so it stays readable
after the VM and vCPU fds are closed. Differences from KVM 6.1: ``lseek``
really moves the file position (KVM's ``noop_llseek`` does not); the vCPU
id string uses the VM creator's pid (KVM's uses the thread that created
the vCPU); and the set of counters, which uses KVM's name where KVM has
the same counter:

========================= ========== ==============================================
counter                   type       what it counts
========================= ========== ==============================================
*VM*
remote_tlb_flush_requests cumulative TLB flushes requested of all vCPUs (zaps, dirty log)
memslot_updates           cumulative memslot snapshots published (create, delete, move, flags)
pages_4k                  instant    4 KiB guest pages mapped in the nested page tables
pages_2m                  instant    2 MiB guest pages mapped in the nested page tables
*vCPU*
run_ioctls                cumulative KVM_RUN calls
exits                     cumulative exits from the guest, all reasons
io_exits                  cumulative port I/O exits (to userspace unless an in-kernel device takes them)
halt_exits                cumulative HLT exits
irq_exits                 cumulative exits for a host external interrupt
signal_exits              cumulative KVM_RUN returning -EINTR for a pending signal
cpuid_exits               cumulative CPUID exits (handled in the kernel)
msr_exits                 cumulative RDMSR/WRMSR exits (handled in the kernel)
pf_taken                  cumulative nested page faults (NPT/EPT violations)
pf_fixed                  cumulative ... that left a mapping in place
tlb_flush                 cumulative guest TLB flushes done for a flush request
mmio_exits                cumulative KVM_EXIT_MMIO exits (one per fragment)
insn_emulation            cumulative instructions emulated (one per run of one)
insn_emulation_fail       cumulative instructions that could not be emulated
========================= ========== ==============================================

``run_ioctls``, ``memslot_updates``, ``cpuid_exits`` and ``msr_exits`` are
ckvm's own; KVM has the others under the same names (and many more).""")
