// SPDX-License-Identifier: GPL-2.0
/*
 * The vCPU and VM state ioctls that save and restore what the register
 * ioctls of x86.c do not: FPU and XSAVE state, XCR0, KVM_GET/SET_SREGS2
 * (with the PDPTEs), the kvm_run sync-regs area, the TSS and identity
 * map addresses; and the one dispatch of every state ioctl to its file
 * (events.c, debugreg.c, kvmclock.c, msrs.c, msr_filter.c).
 *
 * The guest's FPU state is the kernel's guest fpstate (fpu_alloc_guest_fpstate
 * in x86.c): between two KVM_RUNs it is in memory, in the XSAVE layout the
 * kernel chose, and the kernel's own helpers convert it to and from the
 * UABI layout of struct kvm_xsave (fpu_copy_guest_fpstate_to_uabi,
 * fpu_copy_uabi_to_guest_fpstate), as KVM does.
 */
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/fpu/api.h>
#include <asm/fpu/xcr.h>

#include "ckvm.h"
#include "x86_ops.h"
#include "cpuid.h"
#include "x86_state.h"

/* ---- KVM_SET_TSS_ADDR, KVM_SET_IDENTITY_MAP_ADDR ---- */

/*
 * The real-mode TSS takes three pages, which must end below 4 GiB: KVM
 * refuses an address above 4 GiB - 3 pages. Not frozen: KVM takes it at
 * any time, also after KVM_RUN. ckvm's backends run real mode natively
 * (unrestricted guest, SVM), so it is only stored, for a backend that
 * would need it (VMX without unrestricted guest).
 */
static long set_tss_addr(struct ckvm *vm, unsigned long addr)
{
	if (addr > (u32)(-3 * PAGE_SIZE))
		return -EINVAL;
	mutex_lock(&vm->lock);
	vm->arch.tss_addr = addr;
	vm->arch.tss_addr_set = true;
	mutex_unlock(&vm->lock);
	return 0;
}

/*
 * The page of the identity-mapped page table that real mode without
 * unrestricted guest runs on. Freeze rule: only before the first vCPU
 * (-EINVAL after, checked before the argument is read, as KVM). KVM
 * checks no range.
 */
static long set_identity_map_addr(struct ckvm *vm, u64 __user *argp)
{
	u64 addr;
	long r = -EINVAL;

	mutex_lock(&vm->lock);
	if (ckvm_vm_has_vcpus(vm))
		goto out;
	r = -EFAULT;
	if (copy_from_user(&addr, argp, sizeof(addr)))
		goto out;
	vm->arch.ept_identity_map_addr = addr;
	r = 0;
out:
	mutex_unlock(&vm->lock);
	return r;
}

/* ---- FPU and XSAVE ---- */

static struct fxregs_state *guest_fxsave(struct ckvm_vcpu *vcpu)
{
	return &vcpu->arch.guest_fpu.fpstate->regs.fxsave;
}

static void get_fpu(struct ckvm_vcpu *vcpu, struct kvm_fpu *fpu)
{
	struct fxregs_state *fx = guest_fxsave(vcpu);

	memset(fpu, 0, sizeof(*fpu));
	memcpy(fpu->fpr, fx->st_space, sizeof(fpu->fpr));
	fpu->fcw = fx->cwd;
	fpu->fsw = fx->swd;
	fpu->ftwx = fx->twd;
	fpu->last_opcode = fx->fop;
	fpu->last_ip = fx->rip;
	fpu->last_dp = fx->rdp;
	memcpy(fpu->xmm, fx->xmm_space, sizeof(fpu->xmm));
	fpu->mxcsr = fx->mxcsr;
}

/*
 * The legacy area of the XSAVE image. MXCSR bits 31:16 are reserved and
 * XRSTOR faults on them (SDM 10.5.1.1): -EINVAL. KVM takes any value and
 * then faults in the host when it loads the state. The x87 and SSE
 * components are marked in use, or XRSTOR would load their init values.
 */
static int set_fpu(struct ckvm_vcpu *vcpu, const struct kvm_fpu *fpu)
{
	struct fpstate *fps = vcpu->arch.guest_fpu.fpstate;
	struct fxregs_state *fx = &fps->regs.fxsave;

	if (fpu->mxcsr >> 16)
		return -EINVAL;
	memcpy(fx->st_space, fpu->fpr, sizeof(fpu->fpr));
	fx->cwd = fpu->fcw;
	fx->swd = fpu->fsw;
	fx->twd = fpu->ftwx;
	fx->fop = fpu->last_opcode;
	fx->rip = fpu->last_ip;
	fx->rdp = fpu->last_dp;
	memcpy(fx->xmm_space, fpu->xmm, sizeof(fpu->xmm));
	fx->mxcsr = fpu->mxcsr;
	fps->regs.xsave.header.xfeatures |= XFEATURE_MASK_FPSSE;
	return 0;
}

static int xsave2_size;

/**
 * ckvm_xsave2_size() - KVM_CHECK_EXTENSION(KVM_CAP_XSAVE2)
 *
 * Return: the bytes of struct kvm_xsave userspace needs for
 * KVM_GET_XSAVE2: what XSAVE needs for the host's XCR0 (CPUID.0xD.0:EBX),
 * at least the 4 KiB of struct kvm_xsave.
 */
int ckvm_xsave2_size(void)
{
	if (!xsave2_size)
		xsave2_size = max_t(u32, cpuid_ebx(0xd),
				    sizeof(struct kvm_xsave));
	return xsave2_size;
}

/*
 * KVM_GET_XSAVE fills 4 KiB; a guest state that does not fit (AMX) needs
 * KVM_GET_XSAVE2 (-EINVAL, as KVM). The image holds the components ckvm
 * offers (KVM_X86_XCOMP_GUEST_SUPP); a host component the guest cannot
 * have (MPX, PKRU) is reported in its init state.
 */
static long get_xsave(struct ckvm_vcpu *vcpu, void __user *argp, bool xsave2)
{
	unsigned int size = vcpu->arch.guest_fpu.uabi_size;
	void *buf;
	long r = 0;

	if (!xsave2 && size > sizeof(struct kvm_xsave))
		return -EINVAL;
	if (!xsave2)
		size = sizeof(struct kvm_xsave);
	buf = kzalloc(size, GFP_KERNEL_ACCOUNT);
	if (!buf)
		return -ENOMEM;
	/* Only what the guest can have: no host state it never saw (MPX...). */
	ckvm_fpu_copy_to_uabi(&vcpu->arch.guest_fpu, buf, size,
			      ckvm_cpuid_supported_xcr0());
	if (copy_to_user(argp, buf, size))
		r = -EFAULT;
	kfree(buf);
	return r;
}

/*
 * The kernel checks the image: XSTATE_BV within the features ckvm offers
 * and PKRU (which KVM offers with a PKU host, so a state saved there
 * loads here; the guest cannot use it), XCOMP_BV and the reserved header
 * bytes zero, MXCSR's reserved bits clear; -EINVAL otherwise.
 */
static long set_xsave(struct ckvm_vcpu *vcpu, void __user *argp)
{
	unsigned int size = vcpu->arch.guest_fpu.uabi_size;
	u64 xcr0 = ckvm_cpuid_supported_xcr0() | XFEATURE_MASK_PKRU;
	u32 pkru = 0;
	void *buf;
	long r;

	buf = memdup_user(argp, max_t(unsigned int, size,
				      sizeof(struct kvm_xsave)));
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	r = fpu_copy_uabi_to_guest_fpstate(&vcpu->arch.guest_fpu, buf, xcr0,
					   &pkru);
	kfree(buf);
	return r;
}

/* ---- XCRs ---- */

static void get_xcrs(struct ckvm_vcpu *vcpu, struct kvm_xcrs *x)
{
	memset(x, 0, sizeof(*x));
	x->nr_xcrs = 1;
	x->xcrs[0].xcr = XCR_XFEATURE_ENABLED_MASK;
	x->xcrs[0].value = vcpu->arch.xcr0;
}

/*
 * KVM's rules: no flags, at most KVM_MAX_XCRS entries; only XCR0 is
 * looked at (the first entry for it), with the rules of XSETBV; other
 * XCR numbers are ignored.
 */
static int set_xcrs(struct ckvm_vcpu *vcpu, const struct kvm_xcrs *x)
{
	u32 i;

	if (x->flags || x->nr_xcrs > KVM_MAX_XCRS)
		return -EINVAL;
	for (i = 0; i < x->nr_xcrs; i++) {
		if (x->xcrs[i].xcr != XCR_XFEATURE_ENABLED_MASK)
			continue;
		if (!ckvm_xcr0_valid(vcpu, x->xcrs[i].value))
			return -EINVAL;
		vcpu->arch.xcr0 = x->xcrs[i].value;
		break;
	}
	return 0;
}

/* ---- KVM_GET/SET_SREGS2 ---- */

/* kvm_sregs2 starts as kvm_sregs does, up to apic_base. */
#define SREGS_COMMON	offsetof(struct kvm_sregs, interrupt_bitmap)
static_assert(offsetof(struct kvm_sregs2, flags) == SREGS_COMMON);
static_assert(offsetof(struct kvm_sregs2, apic_base) ==
	      offsetof(struct kvm_sregs, apic_base));

static bool pae_paging(u64 cr0, u64 cr4, u64 efer)
{
	return (cr0 & X86_CR0_PG) && (cr4 & X86_CR4_PAE) && !(efer & EFER_LMA);
}

/* The PDPTEs: the backend's registers, else guest memory at CR3[31:5]. */
static void get_pdptrs(struct ckvm_vcpu *vcpu, u64 cr3, u64 pdptrs[4])
{
	int idx;

	if (ckvm_x86_ops->get_pdptrs) {
		ckvm_x86_ops->get_pdptrs(vcpu, pdptrs);
		return;
	}
	idx = srcu_read_lock(&vcpu->vm->srcu);
	if (ckvm_read_guest(vcpu->vm, cr3 & GENMASK_ULL(31, 5), pdptrs,
			    4 * sizeof(u64)))
		memset(pdptrs, 0, 4 * sizeof(u64));
	srcu_read_unlock(&vcpu->vm->srcu, idx);
}

static void get_sregs2(struct ckvm_vcpu *vcpu, struct kvm_sregs2 *s2)
{
	struct kvm_sregs s;

	ckvm_get_sregs(vcpu, &s);
	memset(s2, 0, sizeof(*s2));
	memcpy(s2, &s, SREGS_COMMON);
	if (pae_paging(s.cr0, s.cr4, s.efer)) {
		get_pdptrs(vcpu, s.cr3, (u64 *)s2->pdptrs);
		s2->flags |= KVM_SREGS2_FLAGS_PDPTRS_VALID;
	}
}

/*
 * KVM's rules: the one flag, and PDPTEs only for PAE paging (as the new
 * CR0, CR4 and EFER say). Without them, the PDPTEs are loaded from
 * memory, as a MOV to CR3 would; with them, they replace those.
 */
static int set_sregs2(struct ckvm_vcpu *vcpu, const struct kvm_sregs2 *s2)
{
	bool pdptrs = s2->flags & KVM_SREGS2_FLAGS_PDPTRS_VALID;
	struct kvm_sregs s;
	int r;

	if (s2->flags & ~KVM_SREGS2_FLAGS_PDPTRS_VALID)
		return -EINVAL;
	if (pdptrs && !pae_paging(s2->cr0, s2->cr4, s2->efer))
		return -EINVAL;
	memset(&s, 0, sizeof(s));
	memcpy(&s, s2, SREGS_COMMON);
	r = ckvm_set_sregs(vcpu, &s);
	if (r)
		return r;
	if (pdptrs && ckvm_x86_ops->set_pdptrs)
		ckvm_x86_ops->set_pdptrs(vcpu, (const u64 *)s2->pdptrs);
	return 0;
}

/* ---- the kvm_run sync-regs area (KVM_CAP_SYNC_REGS) ---- */

/**
 * ckvm_sync_regs_in() - load the registers userspace marked dirty
 * @vcpu: the vCPU, loaded, under vcpu->mutex.
 * @dirty: kvm_run.kvm_dirty_regs as KVM_RUN read it (valid bits only).
 *
 * Each set is copied out of kvm_run once, then checked and loaded as its
 * ioctl would (KVM_SET_REGS, KVM_SET_SREGS, KVM_SET_VCPU_EVENTS). As in
 * KVM, the bit of each set loaded is cleared in kvm_run, and the first
 * set refused ends the loading: -EINVAL for KVM_RUN.
 *
 * Return: 0 or -EINVAL.
 */
int ckvm_sync_regs_in(struct ckvm_vcpu *vcpu, u64 dirty)
{
	struct kvm_run *run = vcpu->run;
	struct kvm_sync_regs *s;
	int r = 0;

	s = kmalloc(sizeof(*s), GFP_KERNEL_ACCOUNT);
	if (!s)
		return -ENOMEM;
	memcpy(s, &run->s.regs, sizeof(*s));
	if (dirty & KVM_SYNC_X86_REGS) {
		ckvm_set_regs(vcpu, &s->regs);
		run->kvm_dirty_regs &= ~KVM_SYNC_X86_REGS;
	}
	if (dirty & KVM_SYNC_X86_SREGS) {
		r = ckvm_set_sregs(vcpu, &s->sregs);
		if (r)
			goto out;
		run->kvm_dirty_regs &= ~KVM_SYNC_X86_SREGS;
	}
	if (dirty & KVM_SYNC_X86_EVENTS) {
		r = ckvm_set_vcpu_events(vcpu, &s->events);
		if (r)
			goto out;
		run->kvm_dirty_regs &= ~KVM_SYNC_X86_EVENTS;
	}
out:
	kfree(s);
	return r ? -EINVAL : 0;
}

/**
 * ckvm_sync_regs_out() - store the registers userspace asked to see
 * @vcpu: the vCPU, loaded, under vcpu->mutex.
 * @valid: kvm_run.kvm_valid_regs as KVM_RUN read it (valid bits only).
 */
void ckvm_sync_regs_out(struct ckvm_vcpu *vcpu, u64 valid)
{
	struct kvm_sync_regs *s = &vcpu->run->s.regs;

	if (valid & KVM_SYNC_X86_REGS)
		ckvm_get_regs(vcpu, &s->regs);
	if (valid & KVM_SYNC_X86_SREGS)
		ckvm_get_sregs(vcpu, &s->sregs);
	if (valid & KVM_SYNC_X86_EVENTS)
		ckvm_get_vcpu_events(vcpu, &s->events);
}

/* ---- dispatch ---- */

/* The ioctls of this file that move a struct in and out. */
static long state_ioctl(struct ckvm_vcpu *vcpu, unsigned int ioctl,
			void __user *argp)
{
	union {
		struct kvm_fpu fpu;
		struct kvm_xcrs xcrs;
		struct kvm_sregs2 sregs2;
	} *u;
	long r;

	u = kzalloc(sizeof(*u), GFP_KERNEL_ACCOUNT);
	if (!u)
		return -ENOMEM;
	switch (ioctl) {
	case KVM_GET_FPU:
		get_fpu(vcpu, &u->fpu);
		r = copy_to_user(argp, &u->fpu, sizeof(u->fpu)) ? -EFAULT : 0;
		break;
	case KVM_SET_FPU:
		r = -EFAULT;
		if (!copy_from_user(&u->fpu, argp, sizeof(u->fpu)))
			r = set_fpu(vcpu, &u->fpu);
		break;
	case KVM_GET_XCRS:
		get_xcrs(vcpu, &u->xcrs);
		r = copy_to_user(argp, &u->xcrs, sizeof(u->xcrs)) ? -EFAULT : 0;
		break;
	case KVM_SET_XCRS:
		r = -EFAULT;
		if (!copy_from_user(&u->xcrs, argp, sizeof(u->xcrs)))
			r = set_xcrs(vcpu, &u->xcrs);
		break;
	case KVM_GET_SREGS2:
		get_sregs2(vcpu, &u->sregs2);
		r = copy_to_user(argp, &u->sregs2, sizeof(u->sregs2)) ?
		    -EFAULT : 0;
		break;
	case KVM_SET_SREGS2:
		r = -EFAULT;
		if (!copy_from_user(&u->sregs2, argp, sizeof(u->sregs2)))
			r = set_sregs2(vcpu, &u->sregs2);
		break;
	default:
		r = -ENOIOCTLCMD;
		break;
	}
	kfree(u);
	return r;
}

/**
 * ckvm_state_vcpu_ioctl() - the vCPU ioctls of the state files
 * @vcpu: the vCPU, under vcpu->mutex.
 * @ioctl: the ioctl.
 * @argp: its argument.
 *
 * Loads the vCPU (the backends' accessors need their control block) and
 * hands the ioctl to its file.
 *
 * Return: the ioctl's result; -EINVAL for an ioctl no vCPU knows (KVM's
 * answer).
 */
long ckvm_state_vcpu_ioctl(struct ckvm_vcpu *vcpu, unsigned int ioctl,
			   void __user *argp)
{
	long r;

	switch (ioctl) {
	case KVM_GET_XSAVE:
	case KVM_GET_XSAVE2:
	case KVM_SET_XSAVE:
		/* The fpstate is memory between two KVM_RUNs: no load needed. */
		if (ioctl == KVM_SET_XSAVE)
			return set_xsave(vcpu, argp);
		return get_xsave(vcpu, argp, ioctl == KVM_GET_XSAVE2);
	}

	ckvm_vcpu_load(vcpu);
	r = ckvm_events_vcpu_ioctl(vcpu, ioctl, argp);
	if (r == -ENOIOCTLCMD)
		r = ckvm_debugreg_vcpu_ioctl(vcpu, ioctl, argp);
	if (r == -ENOIOCTLCMD)
		r = state_ioctl(vcpu, ioctl, argp);
	if (r == -ENOIOCTLCMD)
		r = ckvm_kvmclock_vcpu_ioctl(vcpu, ioctl, argp);
	if (r == -ENOIOCTLCMD)
		r = ckvm_mce_vcpu_ioctl(vcpu, ioctl, argp);
	ckvm_vcpu_put(vcpu);
	return r == -ENOIOCTLCMD ? -EINVAL : r;
}

/**
 * ckvm_state_vm_ioctl() - the VM ioctls of the state files
 * @vm: the VM.
 * @ioctl: the ioctl.
 * @arg: its argument.
 *
 * Return: the ioctl's result; -ENOTTY for one no VM knows (KVM's answer).
 */
long ckvm_state_vm_ioctl(struct ckvm *vm, unsigned int ioctl,
			 unsigned long arg)
{
	void __user *argp = (void __user *)arg;

	switch (ioctl) {
	case KVM_SET_TSS_ADDR:
		return set_tss_addr(vm, arg);
	case KVM_SET_IDENTITY_MAP_ADDR:
		return set_identity_map_addr(vm, argp);
	case KVM_X86_SET_MSR_FILTER:
		return ckvm_vm_set_msr_filter(vm, argp);
	default:
		return ckvm_kvmclock_vm_ioctl(vm, ioctl, arg);
	}
}

/* KVM_GET_DEVICE_ATTR on /dev/kvm: group 0 only, as KVM. */
static long dev_attr(unsigned int ioctl, struct kvm_device_attr __user *argp)
{
	struct kvm_device_attr attr;
	u64 xcomp;

	if (copy_from_user(&attr, argp, sizeof(attr)))
		return -EFAULT;
	if (attr.group)
		return -ENXIO;
	switch (attr.attr) {
	case KVM_X86_XCOMP_GUEST_SUPP:
		if (ioctl == KVM_HAS_DEVICE_ATTR)
			return 0;
		/* The XSAVE features a guest may enable. */
		xcomp = ckvm_cpuid_supported_xcr0();
		if (put_user(xcomp, (u64 __user *)(unsigned long)attr.addr))
			return -EFAULT;
		return 0;
	default:
		return -ENXIO;
	}
}

/**
 * ckvm_state_dev_ioctl() - the /dev/kvm ioctls of the state files
 * @ioctl: KVM_GET_DEVICE_ATTR, KVM_HAS_DEVICE_ATTR or
 *	   KVM_X86_GET_MCE_CAP_SUPPORTED.
 * @arg: its argument.
 *
 * Return: the ioctl's result; -EINVAL for one /dev/kvm does not know.
 */
long ckvm_state_dev_ioctl(unsigned int ioctl, unsigned long arg)
{
	switch (ioctl) {
	case KVM_GET_DEVICE_ATTR:
	case KVM_HAS_DEVICE_ATTR:
		return dev_attr(ioctl, (void __user *)arg);
	case KVM_X86_GET_MCE_CAP_SUPPORTED:
		return ckvm_mce_get_cap_supported((void __user *)arg);
	default:
		return -EINVAL;
	}
}

/**
 * ckvm_state_check_extension() - the capabilities of the state files
 * @ext: a KVM_CAP_*.
 *
 * Each is reported exactly as implemented; see Documentation/state.rst.
 *
 * Return: the capability's value, 0 if not offered.
 */
int ckvm_state_check_extension(long ext)
{
	switch (ext) {
	case KVM_CAP_SET_TSS_ADDR:
	case KVM_CAP_SET_IDENTITY_MAP_ADDR:
	case KVM_CAP_XSAVE:
	case KVM_CAP_XCRS:
	case KVM_CAP_VCPU_EVENTS:
	case KVM_CAP_DEBUGREGS:
	case KVM_CAP_SREGS2:
	case KVM_CAP_USER_NMI:
	case KVM_CAP_X86_TRIPLE_FAULT_EVENT:
	case KVM_CAP_SYS_ATTRIBUTES:
	case KVM_CAP_VCPU_ATTRIBUTES:
	case KVM_CAP_X86_USER_SPACE_MSR:
	case KVM_CAP_X86_MSR_FILTER:
	case KVM_CAP_GET_TSC_KHZ:
	case KVM_CAP_KVMCLOCK_CTRL:
		return 1;
	case KVM_CAP_XSAVE2:
		return ckvm_xsave2_size();
	case KVM_CAP_SYNC_REGS:
		return KVM_SYNC_X86_VALID_FIELDS;
	case KVM_CAP_ADJUST_CLOCK:
		return KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME | KVM_CLOCK_HOST_TSC;
	case KVM_CAP_MCE:
		return CKVM_MAX_MCE_BANKS;
	default:
		return 0;
	}
}

/**
 * ckvm_state_enable_cap() - KVM_ENABLE_CAP on a VM for the state files
 * @vm: the VM.
 * @cap: the capability and its arguments (flags already checked).
 *
 * KVM_CAP_X86_TRIPLE_FAULT_EVENT (args[0]: on or off, any time, as KVM)
 * and KVM_CAP_X86_USER_SPACE_MSR (args[0]: KVM_MSR_EXIT_REASON_* mask).
 *
 * Return: 0, or -EINVAL for another capability or a bad argument.
 */
int ckvm_state_enable_cap(struct ckvm *vm, const struct kvm_enable_cap *cap)
{
	switch (cap->cap) {
	case KVM_CAP_X86_TRIPLE_FAULT_EVENT:
		WRITE_ONCE(vm->arch.triple_fault_event, !!cap->args[0]);
		return 0;
	case KVM_CAP_X86_USER_SPACE_MSR:
		return ckvm_msr_exit_enable(vm, cap->args[0]);
	default:
		return -EINVAL;
	}
}
