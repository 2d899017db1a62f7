// SPDX-License-Identifier: GPL-2.0
/*
 * The VMX exit handlers: one per basic exit reason (SDM appendix C), in a
 * table; the x86/ code does the work and the handlers decode the exit
 * qualification. The contract of a handler is ckvm_x86_ops.handle_exit's
 * (x86_ops.h).
 */
#include <linux/percpu.h>
#include <asm/debugreg.h>
#include <asm/trapnr.h>
#include <asm/vmx.h>

#include "ckvm.h"
#include "x86_ops.h"
#include "x86_state.h"
#include "trace.h"
#include "vmx.h"

/*
 * NMIs (already handled) and, with shadow paging, the exceptions it
 * intercepts: #PF, and in virtual-8086 mode all of them: #GP is an
 * instruction real mode allows and vm86 does not (MOV CR0, LGDT, HLT...),
 * emulated; the others belong to the guest's real mode.
 */
/*
 * RDMSR and WRMSR: real mode may execute them (CPL 0), virtual-8086 mode
 * raises #GP for them (SDM 20.2.7, they are privileged); the instruction
 * emulator does not model MSRs, so they are done as their own exits
 * would do them, the instruction being 2 bytes. Other #GPs: emulated.
 */
static int vm86_handle_gp(struct ckvm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	u64 ip = vmx->seg[CKVM_SEG_CS].base +
		 (u16)vcpu->arch.regs[VCPU_REGS_RIP];
	u8 insn[2];

	if (!ckvm_read_guest(vcpu->vm, ip, insn, sizeof(insn)) &&
	    insn[0] == 0x0f && (insn[1] == 0x30 || insn[1] == 0x32)) {
		vmx->exit_insn_len = 2;
		return insn[1] == 0x30 ? ckvm_emulate_wrmsr(vcpu) :
					 ckvm_emulate_rdmsr(vcpu);
	}
	return ckvm_emulate_instruction(vcpu);
}

/* The DR6 bits of a #DB exit's qualification: B0-B3, BD, BS. */
#define DB_QUAL_BITS	(DR_TRAP_BITS | CKVM_DR6_BD | DR_STEP)

/*
 * The guest's own #DB, which always exits (VMX_EB_ALWAYS), given back to
 * it as the CPU would have delivered it. The exit leaves DR6 alone and
 * puts the status bits in the exit qualification (SDM 27.1, table 28-1):
 * B0-B3 replace DR6's, BD and BS are added (SDM 18.2.3). INT1 (ICEBP)
 * exits as the privileged software exception it is, RIP at the
 * instruction: injected again as such, with its length, so that it
 * pushes the address past it and is not subject to the gate's DPL.
 */
static int reflect_db(struct ckvm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	u32 info = vmx->exit_intr_info;
	u32 len = vmx->exit_insn_len;

	if ((info & INTR_INFO_INTR_TYPE_MASK) != INTR_TYPE_PRIV_SW_EXCEPTION) {
		vmx->dr6 = (vmx->dr6 & ~(u64)DR_TRAP_BITS) |
			   (vmx->exit_qual & DB_QUAL_BITS);
		ckvm_clear_dr7_gd(vcpu);
		ckvm_x86_ops->queue_exception(vcpu, X86_TRAP_DB, false, 0);
		return 1;
	}
	if (!vmx->vm86 && len && len <= 15) {
		vmx->event_inj = X86_TRAP_DB | INTR_TYPE_PRIV_SW_EXCEPTION |
				 INTR_INFO_VALID_MASK;
		vmx->event_inj_len = len;
		return 1;
	}
	/*
	 * In vm86 (real mode without unrestricted guest) the #DB goes
	 * through the guest's IVT by hand (vmx_queue_exception), which
	 * takes no instruction length: RIP moves past INT1 first.
	 */
	vcpu->arch.regs[VCPU_REGS_RIP] += len;
	ckvm_x86_ops->queue_exception(vcpu, X86_TRAP_DB, false, 0);
	return 1;
}

static int handle_exception_nmi(struct ckvm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	u32 info = vmx->exit_intr_info;
	u8 vector = info & INTR_INFO_VECTOR_MASK;
	u32 type = info & INTR_INFO_INTR_TYPE_MASK;

	if (type == INTR_TYPE_NMI_INTR)
		return 1;
	/*
	 * KVM_SET_GUEST_DEBUG's exceptions. A #DB exit leaves DR6 alone and
	 * says in the exit qualification what DR6 would have had: B0-B3,
	 * BD, BS (SDM table 28-1). RIP: at an INT3, past a trap.
	 */
	if (vector == X86_TRAP_DB && ckvm_guest_debug_owns_db(vcpu))
		return ckvm_guest_debug_exit(vcpu, X86_TRAP_DB, DR6_RESERVED |
					     (vmx->exit_qual & DB_QUAL_BITS));
	if (vector == X86_TRAP_BP &&
	    (vcpu->arch.guest_debug & KVM_GUESTDBG_USE_SW_BP))
		return ckvm_guest_debug_exit(vcpu, X86_TRAP_BP, 0);
	if (vector == X86_TRAP_DB)
		return reflect_db(vcpu);
	if (vector == X86_TRAP_AC) {
		/* #AC's error code is 0 (SDM 6.15, interrupt 17). */
		ckvm_x86_ops->queue_exception(vcpu, X86_TRAP_AC, true, 0);
		return 1;
	}
	if (ckvm_tdp || !(info & INTR_INFO_VALID_MASK))
		return ckvm_exit_unexpected(vcpu, EXIT_REASON_EXCEPTION_NMI);
	if (vector == X86_TRAP_PF)
		return ckvm_mmu_page_fault(vcpu, vmx->exit_qual,
					   vmx->exit_error_code);
	if (!vmx->vm86)
		return ckvm_exit_unexpected(vcpu, EXIT_REASON_EXCEPTION_NMI);
	if (vector == X86_TRAP_GP)
		return vm86_handle_gp(vcpu);
	/* INT3, INTO: traps, delivered after the instruction. */
	if (type == INTR_TYPE_SOFT_EXCEPTION)
		vcpu->arch.regs[VCPU_REGS_RIP] += vmx->exit_insn_len;
	if (ckvm_realmode_interrupt(vcpu, vector))
		return ckvm_exit_shutdown(vcpu);
	return 1;
}

/* Exit qualification of an I/O instruction (SDM table 28-5). */
#define IO_QUAL_SIZE_MASK	0x7	/* size - 1 */
#define IO_QUAL_IN		BIT(3)
#define IO_QUAL_STRING		BIT(4)
#define IO_QUAL_REP		BIT(5)
#define IO_QUAL_PORT_SHIFT	16

static int handle_io(struct ckvm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	u64 q = vmx->exit_qual;
	u32 info = vmx->exit_insn_info;
	struct ckvm_pio pio = {
		.port = q >> IO_QUAL_PORT_SHIFT,
		.size = (q & IO_QUAL_SIZE_MASK) + 1,
		.in = q & IO_QUAL_IN,
		.string = q & IO_QUAL_STRING,
		.rep = q & IO_QUAL_REP,
		.addr_bytes = 0,
		.seg = CKVM_SEG_DS,
		.next_rip = vcpu->arch.regs[VCPU_REGS_RIP] + vmx->exit_insn_len,
	};

	if (pio.size == 3 || pio.size > 4)
		return ckvm_exit_unexpected(vcpu, EXIT_REASON_IO_INSTRUCTION);
	/*
	 * The single-step trap is ckvm_complete_instruction()'s when the I/O
	 * completes, here or after userspace: the BS Bochs saves at the exit
	 * is dropped, as in vmx_skip_instruction() (else, after a step over
	 * an OUT to userspace, it fired again at the next entry:
	 * guest_debug_test's robust single-step points on vmx).
	 */
	vmx->pending_dbg &= ~(u64)DR_STEP;
	/*
	 * For INS/OUTS the instruction-information field has the address
	 * size (bits 9:7: 16 << n bits) and the segment (bits 17:15, in the
	 * order ES CS SS DS FS GS that enum ckvm_seg shares). Without it
	 * x86/ takes the code segment's default and DS.
	 */
	if (pio.string && vmcs_conf.has_ins_outs_info) {
		u32 asize = (info >> 7) & 7;
		u32 seg = (info >> 15) & 7;

		if (asize > 2 || seg > CKVM_SEG_GS)
			return ckvm_exit_unexpected(vcpu,
						    EXIT_REASON_IO_INSTRUCTION);
		pio.addr_bytes = 2 << asize;
		pio.seg = seg;
	}
	return ckvm_emulate_pio(vcpu, &pio);
}

/* Exit qualification of a control-register access (SDM table 28-3). */
#define CR_QUAL_CR(q)		((q) & 0xf)
#define CR_QUAL_TYPE(q)		(((q) >> 4) & 3)
#define CR_QUAL_REG(q)		(((q) >> 8) & 0xf)
#define CR_TYPE_MOV_TO		0
#define CR_TYPE_MOV_FROM	1
#define CR_TYPE_CLTS		2

/*
 * Only MOV to CR0/CR4 touching a host-owned bit, and every CR8 access,
 * exit. The rules for the value are x86/'s (the same as KVM_SET_SREGS).
 */
static int handle_cr(struct ckvm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	u64 q = vmx->exit_qual;
	int cr = CR_QUAL_CR(q);
	unsigned long *reg = &vcpu->arch.regs[CR_QUAL_REG(q)];
	u64 val = *reg, cr0 = vmx->cr0;
	struct kvm_segment cs;

	switch (CR_QUAL_TYPE(q)) {
	case CR_TYPE_MOV_TO:
		/* Outside 64-bit mode the operand has 32 bits. */
		ckvm_x86_ops->get_segment(vcpu, &cs, CKVM_SEG_CS);
		if (!(vmx->efer & EFER_LMA) || !cs.l)
			val = (u32)val;
		if (cr != 0 && cr != 3 && cr != 4 && cr != 8)
			return ckvm_exit_unexpected(vcpu, EXIT_REASON_CR_ACCESS);
		if (ckvm_set_cr(vcpu, cr, val)) {
			ckvm_inject_gp(vcpu);
			return 1;
		}
		break;
	case CR_TYPE_MOV_FROM:
		/* CR3 (shadow paging) and CR8 exit; CR0 and CR4 read shadows. */
		if (cr != 3 && cr != 8)
			return ckvm_exit_unexpected(vcpu, EXIT_REASON_CR_ACCESS);
		*reg = ckvm_x86_ops->get_cr(vcpu, cr);
		break;
	case CR_TYPE_CLTS:
		ckvm_set_cr0(vcpu, cr0 & ~X86_CR0_TS);
		break;
	default:	/* LMSW: the source in bits 31:16; PE stays set. */
		val = (cr0 & ~0xfULL) | ((q >> 16) & 0xf) | (cr0 & X86_CR0_PE);
		if (ckvm_set_cr0(vcpu, val)) {
			ckvm_inject_gp(vcpu);
			return 1;
		}
		break;
	}
	ckvm_x86_ops->skip_instruction(vcpu);
	return 1;
}

/* Shadow paging: INVLPG, its linear address in the qualification. */
static int handle_invlpg(struct ckvm_vcpu *vcpu)
{
	ckvm_invlpg(vcpu, to_vmx(vcpu)->exit_qual);
	ckvm_x86_ops->skip_instruction(vcpu);
	return 1;
}

static int handle_ept_violation(struct ckvm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	u64 q = vmx->exit_qual;
	struct ckvm_tdp_fault f = {
		.gpa = vmx->exit_gpa,
		.vectoring = vmx->exit_idt_info & VECTORING_INFO_VALID_MASK,
	};

	/*
	 * The faulting instruction has not completed: no step of it can be
	 * pending. Bochs saves BS here when TF is set; kept, it was taken as
	 * a pending #DB before the MMIO access was emulated (a second step
	 * at the same RIP under KVM_GUESTDBG_SINGLESTEP; guest_debug_test).
	 */
	vmx->pending_dbg &= ~(u64)DR_STEP;
	if (q & EPT_VIOLATION_ACC_WRITE)
		f.access |= CKVM_ACC_WRITE;
	if (q & EPT_VIOLATION_ACC_INSTR)
		f.access |= CKVM_ACC_FETCH;
	/* SDM 28.2.1: the linear address, and whether @gpa is its page. */
	if (q & EPT_VIOLATION_GVA_IS_VALID) {
		f.gva_valid = true;
		f.gva = vmcs_read(GUEST_LINEAR_ADDRESS);
		f.final = q & EPT_VIOLATION_GVA_TRANSLATED;
	}
	return ckvm_mmu_tdp_fault(vcpu, &f);
}

static int handle_triple_fault(struct ckvm_vcpu *vcpu)
{
	return ckvm_exit_shutdown(vcpu);
}

/* The interrupt window is open: close it; the run loop injects. */
static int handle_interrupt_window(struct ckvm_vcpu *vcpu)
{
	to_vmx(vcpu)->irq_window = false;
	return 1;
}

static int handle_nmi_window(struct ckvm_vcpu *vcpu)
{
	to_vmx(vcpu)->nmi_window = false;
	return 1;
}

static int (*const vmx_exit_handlers[])(struct ckvm_vcpu *vcpu) = {
	[EXIT_REASON_EXCEPTION_NMI]		= handle_exception_nmi,
	[EXIT_REASON_EXTERNAL_INTERRUPT]	= ckvm_exit_external_interrupt,
	[EXIT_REASON_TRIPLE_FAULT]		= handle_triple_fault,
	[EXIT_REASON_INIT_SIGNAL]		= ckvm_exit_reenter,
	[EXIT_REASON_INTERRUPT_WINDOW]		= handle_interrupt_window,
	[EXIT_REASON_NMI_WINDOW]		= handle_nmi_window,
	[EXIT_REASON_DR_ACCESS]			= ckvm_exit_dr_access,
	[EXIT_REASON_CPUID]			= ckvm_emulate_cpuid,
	[EXIT_REASON_HLT]			= ckvm_emulate_halt,
	[EXIT_REASON_INVD]			= ckvm_emulate_invd,
	[EXIT_REASON_RDPMC]			= ckvm_exit_inject_gp,
	[EXIT_REASON_VMCALL]			= ckvm_exit_inject_ud,
	[EXIT_REASON_VMCLEAR]			= ckvm_exit_inject_ud,
	[EXIT_REASON_VMLAUNCH]			= ckvm_exit_inject_ud,
	[EXIT_REASON_VMPTRLD]			= ckvm_exit_inject_ud,
	[EXIT_REASON_VMPTRST]			= ckvm_exit_inject_ud,
	[EXIT_REASON_VMREAD]			= ckvm_exit_inject_ud,
	[EXIT_REASON_VMRESUME]			= ckvm_exit_inject_ud,
	[EXIT_REASON_VMWRITE]			= ckvm_exit_inject_ud,
	[EXIT_REASON_VMOFF]			= ckvm_exit_inject_ud,
	[EXIT_REASON_VMON]			= ckvm_exit_inject_ud,
	[EXIT_REASON_CR_ACCESS]			= handle_cr,
	[EXIT_REASON_INVLPG]			= handle_invlpg,
	[EXIT_REASON_IO_INSTRUCTION]		= handle_io,
	[EXIT_REASON_MSR_READ]			= ckvm_emulate_rdmsr,
	[EXIT_REASON_MSR_WRITE]			= ckvm_emulate_wrmsr,
	[EXIT_REASON_MWAIT_INSTRUCTION]		= ckvm_exit_inject_ud,
	[EXIT_REASON_MONITOR_INSTRUCTION]	= ckvm_exit_inject_ud,
	[EXIT_REASON_MCE_DURING_VMENTRY]	= ckvm_exit_reenter,
	[EXIT_REASON_EPT_VIOLATION]		= handle_ept_violation,
	[EXIT_REASON_INVEPT]			= ckvm_exit_inject_ud,
	[EXIT_REASON_PREEMPTION_TIMER]		= ckvm_exit_reenter,
	[EXIT_REASON_INVVPID]			= ckvm_exit_inject_ud,
	[EXIT_REASON_XSETBV]			= ckvm_emulate_xsetbv,
	[EXIT_REASON_VMFUNC]			= ckvm_exit_inject_ud,
};

/**
 * ckvm_vmx_handle_exit() - handle the VM exit vmx_run() just took
 * @vcpu: the vCPU, loaded, under vcpu->mutex, preemption enabled.
 *
 * A failed VM entry (SDM 26.7, 26.8) ends the run with
 * KVM_EXIT_FAIL_ENTRY; otherwise the basic exit reason (SDM appendix C)
 * picks the handler of vmx_exit_handlers[].
 *
 * Return: the contract of ckvm_x86_ops.handle_exit: > 0 to re-enter the
 * guest, 0 to return to userspace with kvm_run filled in, < 0 an errno.
 */
int ckvm_vmx_handle_exit(struct ckvm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	u32 reason = vmx->exit_reason;

	trace_ckvm_exit(vcpu, CKVM_ISA_VMX);
	/*
	 * An event that virtual-8086 mode was delivering when it exited is
	 * the guest's real mode's to take, by hand (vmx_queue_exception).
	 */
	if (vmx_vm86(vmx) && (vmx->event_inj & INTR_INFO_VALID_MASK)) {
		u8 vector = vmx->event_inj & INTR_INFO_VECTOR_MASK;

		vmx->event_inj = 0;
		ckvm_realmode_interrupt(vcpu, vector);
	}
	/* VMLAUNCH/VMRESUME itself failed: KVM reports the VMX error number. */
	if (vmx->vmfail)
		return ckvm_exit_fail_entry(vcpu, vmx->vm_insn_error);
	/* Invalid guest state and friends: KVM reports the full exit reason. */
	if (reason & VMX_EXIT_REASONS_FAILED_VMENTRY)
		return ckvm_exit_fail_entry(vcpu, reason);
	if (reason >= ARRAY_SIZE(vmx_exit_handlers) ||
	    !vmx_exit_handlers[reason])
		return ckvm_exit_unexpected(vcpu, reason);
	return vmx_exit_handlers[reason](vcpu);
}
