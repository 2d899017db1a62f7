// SPDX-License-Identifier: GPL-2.0
/*
 * The MSR dispatch: the guest's RDMSR and WRMSR, KVM_GET/SET_MSRS on a
 * vCPU, and the MSR lists and feature MSRs of /dev/kvm. The MSRs every
 * backend shares are handled here; the others go, in this order, to
 * msrs.c (MTRRs, MCE and other stored values), kvmclock.c, and the
 * backend (the MSRs that live in its VMCB or VMCS). The MSR filter
 * (msr_filter.c) stands in front of the guest's accesses only.
 */
#include <linux/sched/stat.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/kvm_para.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>

#include "ckvm.h"
#include "x86_ops.h"
#include "cpuid.h"
#include "irqchip.h"
#include "x86_state.h"
#include "trace.h"

/**
 * ckvm_pat_valid() - is @pat a valid IA32_PAT value?
 * @pat: the MSR's value
 *
 * Each of the eight entries is a memory type: 0, 1, 4, 5, 6 or 7 (SDM
 * 11.12.2); 2, 3 and anything above 7 are reserved.
 *
 * Return: true if every entry is valid.
 */
bool ckvm_pat_valid(u64 pat)
{
	int i;

	for (i = 0; i < 8; i++) {
		u8 type = pat >> (i * 8);

		if (type > 7 || type == 2 || type == 3)
			return false;
	}
	return true;
}

/* The guest's linear-address width (SDM 4.1.1): 57 bits with CR4.LA57. */
static u8 guest_virt_addr_bits(struct ckvm_vcpu *vcpu)
{
	return (ckvm_x86_ops->get_cr(vcpu, 4) & X86_CR4_LA57) ? 57 : 48;
}

/**
 * ckvm_is_canonical() - is @la a canonical linear address for the guest?
 * @vcpu: the vCPU; its control block must be loaded (ckvm_vcpu_load())
 * @la: a guest linear address, in bytes
 *
 * Canonical (SDM 3.3.7.1): bits 63 down to the top bit of the guest's
 * linear-address width are all equal. The width follows the guest's CR4,
 * not its CPUID: a guest that owns CR4 (SVM with nested paging) may turn
 * LA57 on whenever the CPU has it.
 *
 * This is the one test of every guest linear address that ckvm stores for
 * the CPU to use as it is: the MSRs of msr_addrs[] below, on the guest's
 * WRMSR and on KVM_SET_MSRS alike. KVM_SET_SREGS does not need it: see
 * set_sregs().
 *
 * Return: true if @la is canonical.
 */
bool ckvm_is_canonical(struct ckvm_vcpu *vcpu, u64 la)
{
	return __is_canonical_address(la, guest_virt_addr_bits(vcpu));
}

/*
 * MSRs that hold a guest linear address (SDM vol. 4, table 2-2), and what
 * a non-canonical value gets. The FS and GS bases, the SWAPGS base and the
 * SYSCALL targets: refused (#GP for the guest; KVM_SET_MSRS stops there).
 * The CPU itself refuses them, VM entry refuses them in the VMCS, and the
 * VMX backend loads KERNEL_GS_BASE, LSTAR and CSTAR into the host CPU
 * around entry, where a non-canonical value would fault: KVM's check since
 * CVE-2014-3610. The SYSENTER targets: made canonical (sign-extended from
 * the guest's width) rather than refused, as KVM does: Intel CPUs refuse a
 * non-canonical one, AMD's keep bits 31:0 only, and a canonical value
 * suits both.
 */
enum msr_addr_rule {
	MSR_ADDR_REFUSE,
	MSR_ADDR_SIGN_EXTEND,
};

static const struct {
	u32 index;
	enum msr_addr_rule rule;
} msr_addrs[] = {
	{ MSR_FS_BASE,			MSR_ADDR_REFUSE },
	{ MSR_GS_BASE,			MSR_ADDR_REFUSE },
	{ MSR_KERNEL_GS_BASE,		MSR_ADDR_REFUSE },
	{ MSR_LSTAR,			MSR_ADDR_REFUSE },
	{ MSR_CSTAR,			MSR_ADDR_REFUSE },
	{ MSR_IA32_SYSENTER_ESP,	MSR_ADDR_SIGN_EXTEND },
	{ MSR_IA32_SYSENTER_EIP,	MSR_ADDR_SIGN_EXTEND },
};

/* Apply msr_addrs[] to a write of @index; 1 if the value is refused. */
static int check_msr_addr(struct ckvm_vcpu *vcpu, u32 index, u64 *data)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(msr_addrs); i++) {
		if (msr_addrs[i].index != index)
			continue;
		if (ckvm_is_canonical(vcpu, *data))
			return 0;
		if (msr_addrs[i].rule == MSR_ADDR_REFUSE)
			return 1;
		*data = __canonical_address(*data, guest_virt_addr_bits(vcpu));
		return 0;
	}
	return 0;
}

static bool efer_valid(struct ckvm_vcpu *vcpu, u64 efer)
{
	u64 ok = EFER_SCE | EFER_LME | EFER_LMA | EFER_NX;

	return !(efer & ~ok);
}

/*
 * @host: KVM_GET_MSRS from userspace rather than the guest's RDMSR.
 * Returns 0, 1 (refused), or CKVM_MSR_UNKNOWN.
 */
static int ckvm_get_msr(struct ckvm_vcpu *vcpu, u32 index, u64 *data,
			bool host)
{
	int r;

	switch (index) {
	case MSR_EFER:
		*data = ckvm_x86_ops->get_efer(vcpu);
		return 0;
	case MSR_IA32_APICBASE:
		*data = vcpu->arch.apic_base;
		return 0;
	case MSR_IA32_TSC:
		*data = rdtsc() + vcpu->arch.tsc_offset;
		return 0;
	case MSR_IA32_TSC_ADJUST:
		*data = vcpu->arch.tsc_adjust;
		return 0;
	case MSR_PLATFORM_INFO:
		if (!host && !READ_ONCE(vcpu->vm->arch.guest_reads_platform_info))
			return 1;
		*data = vcpu->arch.platform_info;
		return 0;
	case MSR_IA32_UCODE_REV:
		*data = vcpu->arch.ucode_rev;
		return 0;
	case APIC_BASE_MSR ... APIC_BASE_MSR + 0xff:
		return ckvm_x2apic_msr_read(vcpu, index, data);
	}
	r = ckvm_msrs_get(vcpu, index, data, host);
	if (r == CKVM_MSR_UNKNOWN)
		r = ckvm_kvmclock_get_msr(vcpu, index, data);
	if (r == CKVM_MSR_UNKNOWN)
		r = ckvm_x86_ops->get_msr(vcpu, index, data);
	return r;
}

/*
 * @host: KVM_SET_MSRS from userspace rather than the guest's WRMSR. Both
 * paths pass the same checks; 1 means #GP or, for KVM_SET_MSRS, stop.
 */
static int ckvm_set_msr(struct ckvm_vcpu *vcpu, u32 index, u64 data, bool host)
{
	u64 old;
	int r;

	if (check_msr_addr(vcpu, index, &data))
		return 1;
	switch (index) {
	case MSR_EFER:
		old = ckvm_x86_ops->get_efer(vcpu);
		if (!efer_valid(vcpu, data))
			return 1;
		/* Userspace restores a whole state, LMA included. */
		if (host) {
			ckvm_x86_ops->set_efer(vcpu, data);
			ckvm_efer_changed(vcpu, old);
			return 0;
		}
		/* LME may not change while paging is on (SDM 2.2.1). */
		if ((ckvm_x86_ops->get_cr(vcpu, 0) & X86_CR0_PG) &&
		    ((old ^ data) & EFER_LME))
			return 1;
		/* LMA belongs to the processor, not to WRMSR. */
		data = (data & ~EFER_LMA) | (old & EFER_LMA);
		ckvm_x86_ops->set_efer(vcpu, data);
		ckvm_efer_changed(vcpu, old);
		return 0;
	case MSR_IA32_TSC:
		/*
		 * As KVM: userspace sets the TSC outright; a guest write also
		 * moves IA32_TSC_ADJUST by the same amount (SDM 17.17.3).
		 */
		if (host) {
			ckvm_set_tsc_offset(vcpu, data - rdtsc());
		} else {
			old = vcpu->arch.tsc_offset;
			ckvm_set_tsc_offset(vcpu, data - rdtsc());
			vcpu->arch.tsc_adjust += vcpu->arch.tsc_offset - old;
		}
		return 0;
	case MSR_IA32_TSC_ADJUST:
		/* Without the CPUID bit KVM ignores the write. */
		if (!ckvm_cpuid_has(vcpu, 7, 1, X86_FEATURE_TSC_ADJUST & 31))
			return 0;
		if (!host)
			ckvm_set_tsc_offset(vcpu, vcpu->arch.tsc_offset +
					     data - vcpu->arch.tsc_adjust);
		vcpu->arch.tsc_adjust = data;
		return 0;
	case MSR_PLATFORM_INFO:
		/*
		 * Read-only for the guest; userspace sets what it reports.
		 * It starts at 0: unlike KVM, ckvm offers no CPUID faulting.
		 */
		if (!host)
			return 1;
		vcpu->arch.platform_info = data;
		return 0;
	case MSR_IA32_UCODE_REV:
		/* The guest writes 0 before CPUID to have it refreshed. */
		if (host)
			vcpu->arch.ucode_rev = data;
		return 0;
	case MSR_IA32_APICBASE:
		if (vcpu->arch.lapic)
			return ckvm_lapic_set_base(vcpu, data, host);
		/*
		 * No local APIC in the kernel: the value is only kept, for
		 * the guest's WRMSR as for userspace (KVM's
		 * kvm_set_apic_base() without one); x2APIC is reserved then.
		 */
		if (data & ckvm_apic_base_reserved(vcpu))
			return 1;
		vcpu->arch.apic_base = data;
		return 0;
	case APIC_BASE_MSR ... APIC_BASE_MSR + 0xff:
		return ckvm_x2apic_msr_write(vcpu, index, data);
	}
	r = ckvm_msrs_set(vcpu, index, data, host);
	if (r == CKVM_MSR_UNKNOWN)
		r = ckvm_kvmclock_set_msr(vcpu, index, data, host);
	if (r == CKVM_MSR_UNKNOWN)
		r = ckvm_x86_ops->set_msr(vcpu, index, data);
	return r;
}

/**
 * ckvm_emulate_rdmsr() - the guest's RDMSR (ECX: the index; EDX:EAX: the value)
 * @vcpu: the vCPU, loaded, in its run loop (vm->srcu held)
 *
 * The MSR filter first, then the handlers; what they refuse, do not know
 * or the filter denies goes to userspace if it asked
 * (KVM_CAP_X86_USER_SPACE_MSR: KVM_EXIT_X86_RDMSR), else #GP (SDM vol. 2,
 * RDMSR). On success the instruction is skipped.
 *
 * Return: 1 to re-enter the guest, 0 to exit to userspace.
 */
int ckvm_emulate_rdmsr(struct ckvm_vcpu *vcpu)
{
	u32 index = vcpu->arch.regs[VCPU_REGS_RCX];
	u64 data = 0;
	int r;

	vcpu->stat.arch.msr_exits++;
	r = CKVM_MSR_FILTERED;
	if (ckvm_msr_allowed(vcpu, index, KVM_MSR_FILTER_READ))
		r = ckvm_get_msr(vcpu, index, &data, false);
	if (r) {
		if (ckvm_msr_user_exit(vcpu, index, false, 0, r))
			return 0;
		trace_ckvm_msr(vcpu->vcpu_id, false, index, 0, true);
		ckvm_inject_gp(vcpu);
		return 1;
	}
	trace_ckvm_msr(vcpu->vcpu_id, false, index, data, false);
	vcpu->arch.regs[VCPU_REGS_RAX] = (u32)data;
	vcpu->arch.regs[VCPU_REGS_RDX] = data >> 32;
	ckvm_x86_ops->skip_instruction(vcpu);
	return 1;
}

/**
 * ckvm_emulate_wrmsr() - the guest's WRMSR (ECX: the index; EDX:EAX: the value)
 * @vcpu: the vCPU, loaded, in its run loop (vm->srcu held)
 *
 * As ckvm_emulate_rdmsr(), with KVM_EXIT_X86_WRMSR (SDM vol. 2, WRMSR).
 *
 * Return: 1 to re-enter the guest, 0 to exit to userspace.
 */
int ckvm_emulate_wrmsr(struct ckvm_vcpu *vcpu)
{
	u32 index = vcpu->arch.regs[VCPU_REGS_RCX];
	u64 data = (vcpu->arch.regs[VCPU_REGS_RDX] << 32) |
		   (u32)vcpu->arch.regs[VCPU_REGS_RAX];

	int r;

	vcpu->stat.arch.msr_exits++;
	r = CKVM_MSR_FILTERED;
	if (ckvm_msr_allowed(vcpu, index, KVM_MSR_FILTER_WRITE))
		r = ckvm_set_msr(vcpu, index, data, false);
	if (r) {
		if (ckvm_msr_user_exit(vcpu, index, true, data, r))
			return 0;
		trace_ckvm_msr(vcpu->vcpu_id, true, index, data, true);
		ckvm_inject_gp(vcpu);
		return 1;
	}
	trace_ckvm_msr(vcpu->vcpu_id, true, index, data, false);
	ckvm_x86_ops->skip_instruction(vcpu);
	return 1;
}

/* What KVM_GET_MSR_INDEX_LIST reports: the MSRs a VMM saves and restores. */
static const u32 msrs_to_save[] = {
	MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
	MSR_STAR, MSR_CSTAR, MSR_KERNEL_GS_BASE, MSR_SYSCALL_MASK, MSR_LSTAR,
	MSR_IA32_CR_PAT, MSR_EFER, MSR_IA32_APICBASE, MSR_IA32_UCODE_REV,
	MSR_IA32_TSC, MSR_IA32_TSC_ADJUST, MSR_PLATFORM_INFO,
	/* x86/kvmclock.c; MSR_KVM_STEAL_TIME last: see ckvm_dev_msr_list() */
	MSR_KVM_SYSTEM_TIME, MSR_KVM_WALL_CLOCK,
	MSR_KVM_SYSTEM_TIME_NEW, MSR_KVM_WALL_CLOCK_NEW,
	/* x86/msrs.c */
	MSR_IA32_MISC_ENABLE, MSR_IA32_POWER_CTL, MSR_K7_HWCR,
	MSR_IA32_MCG_STATUS, MSR_IA32_MCG_CTL,
	MSR_KVM_STEAL_TIME,
};

/*
 * Feature MSRs (KVM_GET_MSR_FEATURE_INDEX_LIST): what the virtual CPU can
 * offer, read on /dev/kvm.
 */
static const u32 feature_msrs[] = {
	MSR_IA32_UCODE_REV,
	MSR_IA32_PERF_CAPABILITIES,
};

static int ckvm_get_feature_msr(u32 index, u64 *data)
{
	switch (index) {
	case MSR_IA32_UCODE_REV:
		/* As KVM: the host's own revision. */
		return rdmsrl_safe(MSR_IA32_UCODE_REV, data) ? 1 : 0;
	case MSR_IA32_PERF_CAPABILITIES:
		/*
		 * No PMU is offered (CPUID.1:ECX.PDCM clear), so no
		 * capabilities: KVM reports 0 here too when it has no
		 * PMU to give, e.g. on AMD.
		 */
		*data = 0;
		return 0;
	default:
		return 1;
	}
}

/* KVM's limit on entries in one KVM_GET_MSRS / KVM_SET_MSRS. */
#define CKVM_MAX_IO_MSRS	256

static long ckvm_dev_msr_list(struct kvm_msr_list __user *argp,
			      const u32 *msrs, u32 nr)
{
	struct kvm_msr_list list;
	u32 n;

	if (copy_from_user(&list, argp, sizeof(list)))
		return -EFAULT;
	n = list.nmsrs;
	/* As KVM: the count goes back even when the array is too small. */
	list.nmsrs = nr;
	if (copy_to_user(argp, &list, sizeof(list)))
		return -EFAULT;
	if (n < nr)
		return -E2BIG;
	if (copy_to_user(argp->indices, msrs, nr * sizeof(*msrs)))
		return -EFAULT;
	return 0;
}

/**
 * ckvm_msr_io() - KVM_GET_MSRS / KVM_SET_MSRS
 * @vcpu: the vCPU, or NULL for KVM_GET_MSRS of the feature MSRs on /dev/kvm
 * @argp: userspace's struct kvm_msrs
 * @set: KVM_SET_MSRS rather than KVM_GET_MSRS (only with a @vcpu)
 *
 * Processes the entries in order and stops at the first MSR that cannot be
 * read or written. Some MSRs write guest memory (kvmclock's
 * MSR_KVM_SYSTEM_TIME publishes its page at once), so the memslots are
 * read under vm->srcu, as in KVM's msr_io(). Context: the vCPU's ioctl
 * lock (vcpu->mutex) held by the caller; takes vm->srcu.
 *
 * Return: how many entries were done; -E2BIG for CKVM_MAX_IO_MSRS entries
 * or more, -EFAULT, -ENOMEM.
 */
long ckvm_msr_io(struct ckvm_vcpu *vcpu, struct kvm_msrs __user *argp,
			bool set)
{
	struct kvm_msr_entry *e;
	struct kvm_msrs hdr;
	long r;
	u32 i;
	int idx;

	if (copy_from_user(&hdr, argp, sizeof(hdr)))
		return -EFAULT;
	if (hdr.nmsrs >= CKVM_MAX_IO_MSRS)
		return -E2BIG;
	e = memdup_user(argp->entries, hdr.nmsrs * sizeof(*e));
	if (IS_ERR(e))
		return PTR_ERR(e);
	if (vcpu) {
		ckvm_vcpu_load(vcpu);
		idx = srcu_read_lock(&vcpu->vm->srcu);
		for (i = 0; i < hdr.nmsrs; i++)
			if (set ? ckvm_set_msr(vcpu, e[i].index, e[i].data, true) :
			    ckvm_get_msr(vcpu, e[i].index, &e[i].data, true))
				break;
		srcu_read_unlock(&vcpu->vm->srcu, idx);
		ckvm_vcpu_put(vcpu);
	} else {
		for (i = 0; i < hdr.nmsrs; i++)
			if (ckvm_get_feature_msr(e[i].index, &e[i].data))
				break;
	}
	r = i;
	if (!set && copy_to_user(argp->entries, e, i * sizeof(*e)))
		r = -EFAULT;
	kfree(e);
	return r;
}

/**
 * ckvm_msr_dev_ioctl() - the MSR ioctls of /dev/kvm
 * @ioctl: KVM_GET_MSR_INDEX_LIST, KVM_GET_MSR_FEATURE_INDEX_LIST or
 *	   KVM_GET_MSRS
 * @argp: the ioctl's userspace argument
 *
 * Return: 0 or, for KVM_GET_MSRS, the number of MSRs read; -E2BIG when the
 * list does not fit (its count is written back), -EFAULT; -ENOTTY for any
 * other @ioctl.
 */
long ckvm_msr_dev_ioctl(unsigned int ioctl, void __user *argp)
{
	switch (ioctl) {
	case KVM_GET_MSR_INDEX_LIST:
		/* Steal time, the last entry, needs the host's sched_info. */
		return ckvm_dev_msr_list(argp, msrs_to_save,
					 ARRAY_SIZE(msrs_to_save) -
					 !sched_info_on());
	case KVM_GET_MSR_FEATURE_INDEX_LIST:
		return ckvm_dev_msr_list(argp, feature_msrs,
					 ARRAY_SIZE(feature_msrs));
	case KVM_GET_MSRS:
		return ckvm_msr_io(NULL, argp, false);
	default:
		return -ENOTTY;
	}
}
