// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's debug registers (SDM 17.2, APM 13.1.1).
 *
 * DR6 and DR7 belong to the backend: SVM keeps both in the VMCB (VMRUN
 * loads them, #VMEXIT saves them); VMX loads and saves DR7 with the VMCS
 * (the debug-controls entry and exit controls) and switches DR6 itself,
 * which VMX leaves to software. DR0-3 are in no control block: they are
 * in the CPU while the guest runs, and the host may use them (perf, ptrace
 * and kgdb breakpoints) when it does not.
 *
 * So DR0-3 go into the CPU only when the guest needs them, as KVM does:
 *
 * - MOV to or from any debug register exits (SVM DR intercepts, VMX
 *   MOV-DR exiting). The first such exit turns the interception off
 *   (CKVM_DEBUGREG_WONT_EXIT), loads DR0-3 and lets the instruction run
 *   again, natively, as do the guest's further accesses until the next
 *   exit; after it ckvm reads DR0-3 back and intercepts again. A guest
 *   that uses its debug registers pays one exit per stretch of guest
 *   execution, not one per access.
 * - While the guest's DR7 enables a breakpoint (CKVM_DEBUGREG_BP_ENABLED,
 *   known at each read-back and at KVM_SET_DEBUGREGS), DR0-3 are loaded
 *   before every entry, so its breakpoints fire.
 *
 * Around the entry, the host's DR7 is 0 (no host breakpoint may fire on
 * the guest's addresses), and after it the host's breakpoints come back
 * (hw_breakpoint_restore()) if it has any.
 */
#include <linux/uaccess.h>
#include <asm/debugreg.h>
#include <asm/hw_breakpoint.h>

#include "ckvm.h"
#include "x86_ops.h"
#include "x86_state.h"

/* DR7's L0-L3 and G0-G3: a breakpoint is on (SDM 17.2.4). */
#define DR7_ENABLES	0xffULL

static void update_bp_enabled(struct ckvm_vcpu *vcpu, u64 dr7)
{
	if (dr7 & DR7_ENABLES)
		vcpu->arch.switch_db_regs |= CKVM_DEBUGREG_BP_ENABLED;
	else
		vcpu->arch.switch_db_regs &= ~CKVM_DEBUGREG_BP_ENABLED;
}

/**
 * ckvm_debugreg_reset() - debug registers after RESET (SDM 9.1.1)
 * @vcpu: the vCPU; the backend has already reset DR6 and DR7.
 *
 * DR0-3 are 0 and MOV DR exits again.
 */
void ckvm_debugreg_reset(struct ckvm_vcpu *vcpu)
{
	memset(vcpu->arch.db, 0, sizeof(vcpu->arch.db));
	vcpu->arch.switch_db_regs = 0;
	ckvm_x86_ops->set_dr_intercept(vcpu, true);
}

/**
 * ckvm_debugreg_before_entry() - put the guest's DR0-3 into the CPU
 * @vcpu: the vCPU about to enter; interrupts off.
 */
void ckvm_debugreg_before_entry(struct ckvm_vcpu *vcpu)
{
	unsigned long *db = vcpu->arch.db;

	if (unlikely(vcpu->arch.switch_db_regs)) {
		set_debugreg(0, 7);
		set_debugreg(db[0], 0);
		set_debugreg(db[1], 1);
		set_debugreg(db[2], 2);
		set_debugreg(db[3], 3);
	} else if (unlikely(hw_breakpoint_active())) {
		set_debugreg(0, 7);
	}
}

/**
 * ckvm_debugreg_after_exit() - take the guest's DR0-3 back after an exit
 * @vcpu: the vCPU that just exited; interrupts off.
 *
 * After a stretch with native MOV DR: read DR0-3 back, intercept again
 * and see whether DR7 still enables breakpoints. Then the host's
 * breakpoints, if any (the exit left DR7 at 0x400).
 */
void ckvm_debugreg_after_exit(struct ckvm_vcpu *vcpu)
{
	unsigned long *db = vcpu->arch.db;

	if (unlikely(vcpu->arch.switch_db_regs & CKVM_DEBUGREG_WONT_EXIT)) {
		get_debugreg(db[0], 0);
		get_debugreg(db[1], 1);
		get_debugreg(db[2], 2);
		get_debugreg(db[3], 3);
		vcpu->arch.switch_db_regs &= ~CKVM_DEBUGREG_WONT_EXIT;
		ckvm_x86_ops->set_dr_intercept(vcpu, true);
		update_bp_enabled(vcpu, ckvm_x86_ops->get_dr7(vcpu));
	}
	if (unlikely(hw_breakpoint_active()))
		hw_breakpoint_restore();
}

/**
 * ckvm_exit_dr_access() - exit handler for MOV to or from DR0-7
 * @vcpu: the vCPU.
 *
 * Gives the guest its debug registers until the next exit: the
 * instruction runs again, natively, with DR0-3 loaded (see the top of
 * this file). Exit handler contract: x86_ops.h.
 *
 * Return: 1, re-enter.
 */
int ckvm_exit_dr_access(struct ckvm_vcpu *vcpu)
{
	vcpu->arch.switch_db_regs |= CKVM_DEBUGREG_WONT_EXIT;
	ckvm_x86_ops->set_dr_intercept(vcpu, false);
	return 1;
}

static void get_debugregs(struct ckvm_vcpu *vcpu, struct kvm_debugregs *d)
{
	memset(d, 0, sizeof(*d));
	memcpy(d->db, vcpu->arch.db, sizeof(d->db));
	d->dr6 = ckvm_x86_ops->get_dr6(vcpu);
	d->dr7 = ckvm_x86_ops->get_dr7(vcpu);
}

/*
 * KVM's checks: no flags, no bit above 31 in DR6 or DR7 (MOV to them
 * faults on those, SDM 17.2.6). DR0-3 may hold any address: a
 * non-canonical breakpoint never matches. The padding is not looked at,
 * as in KVM.
 */
static int set_debugregs(struct ckvm_vcpu *vcpu, const struct kvm_debugregs *d)
{
	if (d->flags || (d->dr6 >> 32) || (d->dr7 >> 32))
		return -EINVAL;
	memcpy(vcpu->arch.db, d->db, sizeof(vcpu->arch.db));
	ckvm_x86_ops->set_dr6(vcpu, d->dr6);
	ckvm_x86_ops->set_dr7(vcpu, d->dr7);
	update_bp_enabled(vcpu, d->dr7);
	return 0;
}

/**
 * ckvm_debugreg_vcpu_ioctl() - KVM_GET_DEBUGREGS and KVM_SET_DEBUGREGS
 * @vcpu: the vCPU, loaded, under vcpu->mutex.
 * @ioctl: the ioctl.
 * @argp: its struct kvm_debugregs.
 *
 * Return: 0 or a negative errno; -ENOIOCTLCMD for another ioctl.
 */
long ckvm_debugreg_vcpu_ioctl(struct ckvm_vcpu *vcpu, unsigned int ioctl,
			      void __user *argp)
{
	struct kvm_debugregs d;

	switch (ioctl) {
	case KVM_GET_DEBUGREGS:
		get_debugregs(vcpu, &d);
		return copy_to_user(argp, &d, sizeof(d)) ? -EFAULT : 0;
	case KVM_SET_DEBUGREGS:
		if (copy_from_user(&d, argp, sizeof(d)))
			return -EFAULT;
		return set_debugregs(vcpu, &d);
	default:
		return -ENOIOCTLCMD;
	}
}
