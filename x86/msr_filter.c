// SPDX-License-Identifier: GPL-2.0
/*
 * MSR accesses userspace takes over: the filter of KVM_X86_SET_MSR_FILTER
 * and the exits KVM_EXIT_X86_RDMSR / KVM_EXIT_X86_WRMSR of
 * KVM_CAP_X86_USER_SPACE_MSR.
 *
 * A filter is up to KVM_MSR_FILTER_MAX_RANGES ranges, each a base, a
 * count, read and/or write, and a bitmap (1: allowed); the first range
 * that holds the MSR for that kind of access decides, else the default
 * (allow or deny). It applies to the guest's RDMSR and WRMSR only, never
 * to KVM_GET/SET_MSRS, and never to the x2APIC MSRs (KVM's rules).
 *
 * A filter is immutable once published: readers (the vCPU handling an
 * MSR exit) hold vm->srcu; KVM_X86_SET_MSR_FILTER publishes a new one
 * under vm->lock, waits for the readers and frees the old one, then asks
 * every vCPU to update the MSRs its backend lets the guest access
 * without an exit (CKVM_REQ_MSR_FILTER_CHANGED).
 *
 * An access the filter denies, or one ckvm refuses (#GP) or does not know,
 * exits to userspace when userspace enabled that reason
 * (KVM_MSR_EXIT_REASON_FILTER, _INVAL, _UNKNOWN); the next KVM_RUN
 * finishes the instruction with the data and error userspace left in
 * kvm_run.msr.
 */
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "ckvm.h"
#include "x86_ops.h"
#include "x86_state.h"

struct ckvm_msr_filter_range {
	u32 flags;		/* KVM_MSR_FILTER_READ, _WRITE */
	u32 base;
	u32 nmsrs;
	unsigned long *bitmap;
};

struct ckvm_msr_filter {
	bool default_allow;
	int count;
	struct ckvm_msr_filter_range ranges[KVM_MSR_FILTER_MAX_RANGES];
};

#define USER_SPACE_MSR_REASONS	(KVM_MSR_EXIT_REASON_INVAL |		\
				 KVM_MSR_EXIT_REASON_UNKNOWN |		\
				 KVM_MSR_EXIT_REASON_FILTER)

static void filter_free(struct ckvm_msr_filter *f)
{
	int i;

	if (!f)
		return;
	for (i = 0; i < f->count; i++)
		kfree(f->ranges[i].bitmap);
	kfree(f);
}

/**
 * ckvm_msr_allowed() - may the guest access this MSR in the kernel?
 * @vcpu: the vCPU; its thread.
 * @index: the MSR.
 * @type: KVM_MSR_FILTER_READ or KVM_MSR_FILTER_WRITE.
 *
 * Return: false if the VM's filter denies the access.
 */
bool ckvm_msr_allowed(struct ckvm_vcpu *vcpu, u32 index, u32 type)
{
	struct ckvm *vm = vcpu->vm;
	struct ckvm_msr_filter *f;
	bool allowed = true;
	int i, idx;

	if (index >= APIC_BASE_MSR && index <= APIC_BASE_MSR + 0xff)
		return true;
	idx = srcu_read_lock(&vm->srcu);
	f = srcu_dereference(vm->arch.msr_filter, &vm->srcu);
	if (f) {
		allowed = f->default_allow;
		for (i = 0; i < f->count; i++) {
			const struct ckvm_msr_filter_range *r = &f->ranges[i];

			if (index >= r->base && (u64)index < (u64)r->base + r->nmsrs &&
			    (r->flags & type)) {
				allowed = test_bit(index - r->base, r->bitmap);
				break;
			}
		}
	}
	srcu_read_unlock(&vm->srcu, idx);
	return allowed;
}

/*
 * One range, KVM's checks: an empty one is skipped; else read and/or
 * write and nothing else, and a bitmap of at most
 * KVM_MSR_FILTER_MAX_BITMAP_SIZE bytes.
 */
static int filter_add_range(struct ckvm_msr_filter *f,
		     const struct kvm_msr_filter_range *ur)
{
	size_t bytes;
	void *bitmap;

	if (!ur->nmsrs)
		return 0;
	if (!ur->flags || (ur->flags & ~(KVM_MSR_FILTER_READ |
					 KVM_MSR_FILTER_WRITE)))
		return -EINVAL;
	bytes = BITS_TO_LONGS(ur->nmsrs) * sizeof(long);
	if (bytes > KVM_MSR_FILTER_MAX_BITMAP_SIZE)
		return -EINVAL;
	bitmap = memdup_user((void __user *)ur->bitmap, bytes);
	if (IS_ERR(bitmap))
		return PTR_ERR(bitmap);
	f->ranges[f->count++] = (struct ckvm_msr_filter_range) {
		.flags = ur->flags,
		.base = ur->base,
		.nmsrs = ur->nmsrs,
		.bitmap = bitmap,
	};
	return 0;
}

/**
 * ckvm_vm_set_msr_filter() - KVM_X86_SET_MSR_FILTER
 * @vm: the VM.
 * @argp: the struct kvm_msr_filter.
 *
 * KVM's checks: the only flag is KVM_MSR_FILTER_DEFAULT_DENY, and a
 * deny-all filter needs at least one range. Any time, also while vCPUs
 * run: each takes the new filter before its next entry.
 *
 * Return: 0 or a negative errno (the old filter stays).
 */
long ckvm_vm_set_msr_filter(struct ckvm *vm, struct kvm_msr_filter __user *argp)
{
	struct ckvm_msr_filter *new, *old;
	struct kvm_msr_filter *uf;
	bool empty = true;
	long r = 0;
	int i;

	uf = memdup_user(argp, sizeof(*uf));
	if (IS_ERR(uf))
		return PTR_ERR(uf);
	if (uf->flags & ~KVM_MSR_FILTER_DEFAULT_DENY) {
		r = -EINVAL;
		goto out;
	}
	for (i = 0; i < KVM_MSR_FILTER_MAX_RANGES; i++)
		empty &= !uf->ranges[i].nmsrs;
	if (empty && (uf->flags & KVM_MSR_FILTER_DEFAULT_DENY)) {
		r = -EINVAL;
		goto out;
	}
	new = kzalloc(sizeof(*new), GFP_KERNEL_ACCOUNT);
	if (!new) {
		r = -ENOMEM;
		goto out;
	}
	new->default_allow = !(uf->flags & KVM_MSR_FILTER_DEFAULT_DENY);
	for (i = 0; i < KVM_MSR_FILTER_MAX_RANGES; i++) {
		r = filter_add_range(new, &uf->ranges[i]);
		if (r) {
			filter_free(new);
			goto out;
		}
	}

	mutex_lock(&vm->lock);
	old = rcu_dereference_protected(vm->arch.msr_filter,
					lockdep_is_held(&vm->lock));
	rcu_assign_pointer(vm->arch.msr_filter, new);
	synchronize_srcu(&vm->srcu);
	filter_free(old);
	ckvm_make_all_vcpus_request(vm, CKVM_REQ_MSR_FILTER_CHANGED);
	mutex_unlock(&vm->lock);
out:
	kfree(uf);
	return r;
}

/**
 * ckvm_msr_filter_free() - drop the VM's filter
 * @vm: the VM being destroyed (no vCPU runs).
 */
void ckvm_msr_filter_free(struct ckvm *vm)
{
	filter_free(rcu_dereference_protected(vm->arch.msr_filter, 1));
}

/**
 * ckvm_msr_exit_enable() - KVM_ENABLE_CAP(KVM_CAP_X86_USER_SPACE_MSR)
 * @vm: the VM.
 * @reasons: KVM_MSR_EXIT_REASON_* to exit for (0: none).
 *
 * Return: 0, or -EINVAL for an unknown reason bit.
 */
int ckvm_msr_exit_enable(struct ckvm *vm, u64 reasons)
{
	if (reasons & ~(u64)USER_SPACE_MSR_REASONS)
		return -EINVAL;
	WRITE_ONCE(vm->arch.user_space_msr_mask, reasons);
	return 0;
}

/*
 * The next KVM_RUN after a KVM_EXIT_X86_RDMSR or _WRMSR: error non-zero
 * is a #GP, else RDMSR returns data in EDX:EAX; either way the
 * instruction is finished. Each field of kvm_run is read once.
 */
static int complete_msr_exit(struct ckvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	u8 error = READ_ONCE(run->msr.error);
	u64 data = READ_ONCE(run->msr.data);

	if (error) {
		ckvm_inject_gp(vcpu);
		return 1;
	}
	if (vcpu->arch.msr_exit_read) {
		vcpu->arch.regs[VCPU_REGS_RAX] = (u32)data;
		vcpu->arch.regs[VCPU_REGS_RDX] = data >> 32;
	}
	ckvm_x86_ops->skip_instruction(vcpu);
	return 1;
}

/**
 * ckvm_msr_user_exit() - hand a failed RDMSR or WRMSR to userspace?
 * @vcpu: the vCPU in its MSR exit handler.
 * @index: the MSR.
 * @write: WRMSR (with @data) rather than RDMSR.
 * @data: the value a WRMSR writes.
 * @r: why the kernel did not do it: 1 refused, CKVM_MSR_UNKNOWN,
 *     CKVM_MSR_FILTERED.
 *
 * Return: true if kvm_run is filled for the exit (exit handler returns
 * 0), false if the guest gets its #GP.
 */
bool ckvm_msr_user_exit(struct ckvm_vcpu *vcpu, u32 index, bool write,
			u64 data, int r)
{
	struct kvm_run *run = vcpu->run;
	u32 reason;

	switch (r) {
	case CKVM_MSR_UNKNOWN:
		reason = KVM_MSR_EXIT_REASON_UNKNOWN;
		break;
	case CKVM_MSR_FILTERED:
		reason = KVM_MSR_EXIT_REASON_FILTER;
		break;
	default:
		reason = KVM_MSR_EXIT_REASON_INVAL;
		break;
	}
	if (!(READ_ONCE(vcpu->vm->arch.user_space_msr_mask) & reason))
		return false;
	run->exit_reason = write ? KVM_EXIT_X86_WRMSR : KVM_EXIT_X86_RDMSR;
	run->msr.error = 0;
	memset(run->msr.pad, 0, sizeof(run->msr.pad));
	run->msr.reason = reason;
	run->msr.index = index;
	run->msr.data = write ? data : 0;
	vcpu->arch.msr_exit_read = !write;
	vcpu->arch.complete_userspace_io = complete_msr_exit;
	return true;
}
