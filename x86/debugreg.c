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
 *
 * KVM_SET_GUEST_DEBUG (KVM's API document, 4.38) lends them to a debugger
 * in userspace, as KVM does:
 *
 * - KVM_GUESTDBG_USE_SW_BP: the backend intercepts #BP; an INT3 becomes
 *   KVM_EXIT_DEBUG with RIP at the INT3.
 * - KVM_GUESTDBG_USE_HW_BP: the debugger's DR0-3 and DR7 are in the CPU
 *   while the guest runs; the guest's DR7 waits in guest_dr7.
 * - KVM_GUESTDBG_SINGLESTEP: ckvm sets RFLAGS.TF (hidden from
 *   KVM_GET_REGS); an instruction ckvm completes itself ends in
 *   KVM_EXIT_DEBUG at the next entry (ckvm_complete_instruction()).
 * - #DB always exits (the backends intercept it so that a #DB raised by
 *   its own delivery cannot hold the CPU, CVE-2015-8104) and is the
 *   guest's, reflected into it, except that with SINGLESTEP or USE_HW_BP
 *   every #DB is the debugger's (KVM_EXIT_DEBUG with its DR6 status
 *   bits); the backend's DR6 then only collects those, the guest's own
 *   waits in guest_dr6. The guest's MOV DR then always exits and is
 *   emulated against the guest's registers; with the debugger's DR7.GD
 *   it is KVM_EXIT_DEBUG with DR6.BD instead (SDM 17.2.4).
 * - KVM_GUESTDBG_BLOCKIRQ: no external interrupt is injected
 *   (x86/events.c); KVM_GUESTDBG_INJECT_DB/_BP queue a #DB or #BP.
 */
#include <linux/uaccess.h>
#include <asm/debugreg.h>
#include <asm/trapnr.h>
#include <asm/hw_breakpoint.h>

#include "ckvm.h"
#include "x86_ops.h"
#include "x86_state.h"

/* DR7's L0-L3 and G0-G3: a breakpoint is on (SDM 17.2.4). */
#define DR7_ENABLES	0xffULL

/* The debugger's DR0-3 and DR7 are in the CPU and the backend. */
static bool debugger_owns_regs(struct ckvm_vcpu *vcpu)
{
	return vcpu->arch.guest_debug & KVM_GUESTDBG_USE_HW_BP;
}

/**
 * ckvm_clear_dr7_gd() - what delivering the guest's #DB does to its DR7
 * @vcpu: the vCPU, loaded, just exited with the guest's own #DB.
 *
 * The CPU clears DR7.GD as it delivers a #DB (SDM 18.2.4), so that the
 * handler may use the debug registers; an intercepted #DB that is
 * injected again was not delivered, and injection leaves DR7 alone
 * (without this, a general-detect #DB's handler would raise it again at
 * its own MOV DR).
 */
void ckvm_clear_dr7_gd(struct ckvm_vcpu *vcpu)
{
	const struct ckvm_x86_ops *ops = ckvm_x86_ops;
	u64 dr7 = ops->get_dr7(vcpu);

	if (dr7 & CKVM_DR7_GD)
		ops->set_dr7(vcpu, dr7 & ~CKVM_DR7_GD);
}

/**
 * ckvm_guest_debug_owns_db() - is every #DB the debugger's?
 * @vcpu: the vCPU.
 *
 * Return: true while KVM_SET_GUEST_DEBUG single-steps or sets hardware
 * breakpoints: the backend's #DB exits go to the debugger and its DR6 is
 * scratch.
 */
bool ckvm_guest_debug_owns_db(struct ckvm_vcpu *vcpu)
{
	return vcpu->arch.guest_debug &
	       (KVM_GUESTDBG_SINGLESTEP | KVM_GUESTDBG_USE_HW_BP);
}

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
 * DR0-3 are 0 and MOV DR exits again. KVM_SET_GUEST_DEBUG stays in force.
 */
void ckvm_debugreg_reset(struct ckvm_vcpu *vcpu)
{
	memset(vcpu->arch.db, 0, sizeof(vcpu->arch.db));
	vcpu->arch.switch_db_regs = 0;
	vcpu->arch.guest_dr6 = DR6_RESERVED;
	vcpu->arch.guest_dr7 = CKVM_DR7_RESET;
	/* A debugger keeps its registers across the guest's reset, as KVM. */
	if (debugger_owns_regs(vcpu))
		ckvm_x86_ops->set_dr7(vcpu, vcpu->arch.debugger_dr7);
	ckvm_x86_ops->set_dr_intercept(vcpu, true);
	ckvm_x86_ops->update_guest_debug(vcpu);
}

/**
 * ckvm_debugreg_before_entry() - put the guest's DR0-3 into the CPU
 * @vcpu: the vCPU about to enter; interrupts off.
 *
 * Or the debugger's, with KVM_GUESTDBG_USE_HW_BP.
 */
void ckvm_debugreg_before_entry(struct ckvm_vcpu *vcpu)
{
	unsigned long *db = vcpu->arch.db;

	if (unlikely(debugger_owns_regs(vcpu))) {
		db = vcpu->arch.debugger_db;
		set_debugreg(0, 7);
		set_debugreg(db[0], 0);
		set_debugreg(db[1], 1);
		set_debugreg(db[2], 2);
		set_debugreg(db[3], 3);
	} else if (unlikely(vcpu->arch.switch_db_regs)) {
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
 * this file). While a debugger owns #DB (KVM_SET_GUEST_DEBUG) the
 * access is emulated against the guest's registers instead, or, under
 * the debugger's DR7.GD, is KVM_EXIT_DEBUG. Caller holds vm->srcu. Exit
 * handler contract: x86_ops.h.
 *
 * Return: 1, re-enter; 0 with KVM_EXIT_DEBUG or another exit for
 * userspace from the emulator.
 */
int ckvm_exit_dr_access(struct ckvm_vcpu *vcpu)
{
	const struct ckvm_x86_ops *ops = ckvm_x86_ops;

	if (unlikely(ckvm_guest_debug_owns_db(vcpu))) {
		/* General detect: DR7.GD in force faults first (SDM 17.2.4). */
		if (ops->get_dr7(vcpu) & CKVM_DR7_GD) {
			if (debugger_owns_regs(vcpu))
				return ckvm_guest_debug_exit(vcpu, X86_TRAP_DB,
						DR6_RESERVED | CKVM_DR6_BD);
			/* The guest's own GD: its #DB, GD cleared. */
			vcpu->arch.guest_dr6 |= CKVM_DR6_BD;
			ops->set_dr7(vcpu, ops->get_dr7(vcpu) & ~CKVM_DR7_GD);
			ops->queue_exception(vcpu, X86_TRAP_DB, false, 0);
			return 1;
		}
		return ckvm_emulate_instruction(vcpu);
	}
	vcpu->arch.switch_db_regs |= CKVM_DEBUGREG_WONT_EXIT;
	ckvm_x86_ops->set_dr_intercept(vcpu, false);
	return 1;
}

/* The guest's own DR6 and DR7, wherever they are now. */
static u64 guest_dr6(struct ckvm_vcpu *vcpu)
{
	return ckvm_guest_debug_owns_db(vcpu) ? vcpu->arch.guest_dr6 :
						ckvm_x86_ops->get_dr6(vcpu);
}

static u64 guest_dr7(struct ckvm_vcpu *vcpu)
{
	return debugger_owns_regs(vcpu) ? vcpu->arch.guest_dr7 :
					  ckvm_x86_ops->get_dr7(vcpu);
}

static void set_guest_dr6(struct ckvm_vcpu *vcpu, u64 val)
{
	if (ckvm_guest_debug_owns_db(vcpu))
		vcpu->arch.guest_dr6 = val;
	else
		ckvm_x86_ops->set_dr6(vcpu, val);
}

static void set_guest_dr7(struct ckvm_vcpu *vcpu, u64 val)
{
	if (debugger_owns_regs(vcpu)) {
		vcpu->arch.guest_dr7 = val;
		return;
	}
	ckvm_x86_ops->set_dr7(vcpu, val);
	update_bp_enabled(vcpu, val);
}

/**
 * ckvm_get_dr() - the guest's MOV from a debug register, emulated
 * @vcpu: the vCPU, loaded.
 * @dr: 0-7; 4 and 5 are 6 and 7 (the caller raised #UD for them under
 *	CR4.DE, SDM 17.2.2).
 * @val: the value.
 *
 * Return: 0, or -EINVAL for no such register.
 */
int ckvm_get_dr(struct ckvm_vcpu *vcpu, int dr, u64 *val)
{
	switch (dr) {
	case 0 ... 3:
		*val = vcpu->arch.db[dr];
		return 0;
	case 4:
	case 6:
		*val = guest_dr6(vcpu);
		return 0;
	case 5:
	case 7:
		*val = guest_dr7(vcpu);
		return 0;
	default:
		return -EINVAL;
	}
}

/**
 * ckvm_set_dr() - the guest's MOV to a debug register, emulated
 * @vcpu: the vCPU, loaded.
 * @dr: 0-7 (4 and 5 as in ckvm_get_dr()).
 * @val: the value: DR6 and DR7 take bits 31:0, their reserved bits read
 *	 as the CPU has them (DR6 bits 31:16 and 11:4 set, DR7 bit 10 set).
 *
 * Return: 0; -EINVAL for a DR6 or DR7 value with bits 63:32 set (the
 * caller raises #GP(0), SDM 17.2.6) or no such register.
 */
int ckvm_set_dr(struct ckvm_vcpu *vcpu, int dr, u64 val)
{
	switch (dr) {
	case 0 ... 3:
		vcpu->arch.db[dr] = val;
		return 0;
	case 4:
	case 6:
		if (val >> 32)
			return -EINVAL;
		set_guest_dr6(vcpu, (val & ~0xffff0ff0ULL) | DR6_RESERVED);
		return 0;
	case 5:
	case 7:
		if (val >> 32)
			return -EINVAL;
		set_guest_dr7(vcpu, (val & ~0xd800ULL) | CKVM_DR7_RESET);
		return 0;
	default:
		return -EINVAL;
	}
}

static void get_debugregs(struct ckvm_vcpu *vcpu, struct kvm_debugregs *d)
{
	memset(d, 0, sizeof(*d));
	memcpy(d->db, vcpu->arch.db, sizeof(d->db));
	d->dr6 = guest_dr6(vcpu);
	d->dr7 = guest_dr7(vcpu);
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
	set_guest_dr6(vcpu, d->dr6);
	set_guest_dr7(vcpu, d->dr7);
	return 0;
}

/**
 * ckvm_guest_debug_exit() - KVM_EXIT_DEBUG for an intercepted #DB or #BP
 * @vcpu: the vCPU, loaded, just exited with the exception.
 * @vector: X86_TRAP_DB or X86_TRAP_BP.
 * @dr6: for #DB, its DR6 as the CPU reports it (DR6_RESERVED with
 *	 B0-B3, BD, BS), KVM's kvm_debug_exit_arch.dr6; ignored for #BP.
 *
 * Fills kvm_run.debug.arch: the exception, the linear address of RIP
 * (CS base + RIP: at the INT3 or the faulting instruction, after a trap),
 * DR6 and the DR7 in force; the backend's DR6 is cleaned for the next
 * #DB. Exit handler contract: x86_ops.h.
 *
 * Return: 0, for userspace.
 */
int ckvm_guest_debug_exit(struct ckvm_vcpu *vcpu, u8 vector, u64 dr6)
{
	const struct ckvm_x86_ops *ops = ckvm_x86_ops;
	struct kvm_debug_exit_arch *a = &vcpu->run->debug.arch;
	struct kvm_segment cs;

	ops->get_segment(vcpu, &cs, CKVM_SEG_CS);
	vcpu->run->exit_reason = KVM_EXIT_DEBUG;
	a->exception = vector;
	a->pad = 0;
	a->pc = cs.base + vcpu->arch.regs[VCPU_REGS_RIP];
	a->dr6 = vector == X86_TRAP_DB ? dr6 : 0;
	a->dr7 = ops->get_dr7(vcpu);
	if (vector == X86_TRAP_DB && ckvm_guest_debug_owns_db(vcpu))
		ops->set_dr6(vcpu, DR6_RESERVED);
	return 0;
}

/**
 * ckvm_guest_debug_step_exit() - KVM_EXIT_DEBUG after a step ckvm did
 * @vcpu: the vCPU, loaded; ckvm_complete_instruction() finished an
 *	  instruction under KVM_GUESTDBG_SINGLESTEP.
 *
 * The trap the CPU would have taken after it: DR6.BS, RIP past it.
 *
 * Return: 0, for userspace.
 */
int ckvm_guest_debug_step_exit(struct ckvm_vcpu *vcpu)
{
	vcpu->arch.step_exit = false;
	return ckvm_guest_debug_exit(vcpu, X86_TRAP_DB,
				     DR6_RESERVED | DR_STEP);
}

/*
 * KVM_SET_GUEST_DEBUG, KVM's checks and order: unknown flags -EINVAL;
 * INJECT_DB/_BP -EBUSY while an event waits for delivery (KVM: an
 * exception); without KVM_GUESTDBG_ENABLE everything is off. ckvm also
 * refuses a debugger DR7 with bits 63:32 set (-EINVAL), which KVM would
 * hand to VM entry.
 */
static int set_guest_debug(struct ckvm_vcpu *vcpu,
			   const struct kvm_guest_debug *dbg)
{
	const struct ckvm_x86_ops *ops = ckvm_x86_ops;
	struct ckvm_vcpu_arch *arch = &vcpu->arch;
	u32 ctl = dbg->control;
	unsigned long rflags;
	u64 dr6, dr7;

	if (ctl & ~CKVM_GUESTDBG_VALID)
		return -EINVAL;
	if ((ctl & KVM_GUESTDBG_ENABLE) && (ctl & KVM_GUESTDBG_USE_HW_BP) &&
	    (dbg->arch.debugreg[7] >> 32))
		return -EINVAL;
	if (ctl & (KVM_GUESTDBG_INJECT_DB | KVM_GUESTDBG_INJECT_BP)) {
		if (ops->event_queued(vcpu))
			return -EBUSY;
		ops->queue_exception(vcpu, ctl & KVM_GUESTDBG_INJECT_DB ?
				     X86_TRAP_DB : X86_TRAP_BP, false, 0);
	}

	/* The guest's own state, taken back from wherever it is now. */
	rflags = ops->get_rflags(vcpu);
	if (arch->singlestep_tf)
		rflags &= ~X86_EFLAGS_TF;
	dr6 = guest_dr6(vcpu);
	dr7 = guest_dr7(vcpu);

	arch->guest_debug = ctl & KVM_GUESTDBG_ENABLE ?
			    ctl & ~(KVM_GUESTDBG_INJECT_DB | KVM_GUESTDBG_INJECT_BP) : 0;
	if (debugger_owns_regs(vcpu)) {
		memcpy(arch->debugger_db, dbg->arch.debugreg,
		       sizeof(arch->debugger_db));
		arch->debugger_dr7 = dbg->arch.debugreg[7];
		arch->guest_dr7 = dr7;
		ops->set_dr7(vcpu, arch->debugger_dr7);
	} else {
		ops->set_dr7(vcpu, dr7);
		update_bp_enabled(vcpu, dr7);
	}
	if (ckvm_guest_debug_owns_db(vcpu)) {
		arch->guest_dr6 = dr6;
		ops->set_dr6(vcpu, DR6_RESERVED);
	} else {
		ops->set_dr6(vcpu, dr6);
	}

	arch->singlestep_tf = false;
	arch->step_exit = false;
	if ((arch->guest_debug & KVM_GUESTDBG_SINGLESTEP) &&
	    !(rflags & X86_EFLAGS_TF)) {
		arch->singlestep_tf = true;
		rflags |= X86_EFLAGS_TF;
	}
	ops->set_rflags(vcpu, rflags);
	ops->set_dr_intercept(vcpu, true);
	ops->update_guest_debug(vcpu);
	return 0;
}

/**
 * ckvm_debugreg_vcpu_ioctl() - KVM_GET/SET_DEBUGREGS, KVM_SET_GUEST_DEBUG
 * @vcpu: the vCPU, loaded, under vcpu->mutex.
 * @ioctl: the ioctl.
 * @argp: its struct kvm_debugregs or struct kvm_guest_debug.
 *
 * Return: 0 or a negative errno; -ENOIOCTLCMD for another ioctl.
 */
long ckvm_debugreg_vcpu_ioctl(struct ckvm_vcpu *vcpu, unsigned int ioctl,
			      void __user *argp)
{
	struct kvm_guest_debug dbg;
	struct kvm_debugregs d;

	switch (ioctl) {
	case KVM_GET_DEBUGREGS:
		get_debugregs(vcpu, &d);
		return copy_to_user(argp, &d, sizeof(d)) ? -EFAULT : 0;
	case KVM_SET_DEBUGREGS:
		if (copy_from_user(&d, argp, sizeof(d)))
			return -EFAULT;
		return set_debugregs(vcpu, &d);
	case KVM_SET_GUEST_DEBUG:
		if (copy_from_user(&dbg, argp, sizeof(dbg)))
			return -EFAULT;
		return set_guest_debug(vcpu, &dbg);
	default:
		return -ENOIOCTLCMD;
	}
}
