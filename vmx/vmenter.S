/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VMX world switch. Interrupts are off on entry; the VM exit comes
 * back at ckvm_vmx_vmexit (the VMCS's HOST_RIP) with the stack pointer
 * that was written to HOST_RSP just before VMLAUNCH/VMRESUME, and with
 * every GPR still holding the guest's value.
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/kvm_vcpu_regs.h>
#include <asm/nospec-branch.h>
#include <asm/segment.h>
#include <asm/unwind_hints.h>

#include "compat.h"

#define REG(r)	(__VCPU_REGS_##r * 8)

/*
 * int ckvm_vmx_vmenter(unsigned long *regs, bool launched,
 *			unsigned long host_rsp_field)
 *
 * @regs: the guest GPRs, indexed by __VCPU_REGS_*; RSP is the VMCS's
 *        GUEST_RSP and is not touched here.
 * @launched: VMRESUME if true, else VMLAUNCH.
 * @host_rsp_field: the encoding of HOST_RSP (from <asm/vmx.h>), so that
 *        the stack pointer the exit returns with is the one of this call.
 *
 * Returns 0 after a VM exit (including a VM-entry failure, which is an
 * exit with bit 31 of the exit reason set) and 1 if the instruction
 * itself failed (VMfailValid or VMfailInvalid): no guest ran.
 */
SYM_FUNC_START(ckvm_vmx_vmenter)
	push	%rbp
	mov	%rsp, %rbp
	push	%r15
	push	%r14
	push	%r13
	push	%r12
	push	%rbx
	push	%rdi			/* regs, found again at 0(%rsp) on exit */

	vmwrite	%rsp, %rdx
	jna	.Lvmfail

	/* ZF set: not launched yet. No instruction below changes flags. */
	test	%sil, %sil

	mov	%rdi, %rax
	mov	REG(RCX)(%rax), %rcx
	mov	REG(RDX)(%rax), %rdx
	mov	REG(RBX)(%rax), %rbx
	mov	REG(RBP)(%rax), %rbp
	mov	REG(RSI)(%rax), %rsi
	mov	REG(RDI)(%rax), %rdi
	mov	REG(R8)(%rax), %r8
	mov	REG(R9)(%rax), %r9
	mov	REG(R10)(%rax), %r10
	mov	REG(R11)(%rax), %r11
	mov	REG(R12)(%rax), %r12
	mov	REG(R13)(%rax), %r13
	mov	REG(R14)(%rax), %r14
	mov	REG(R15)(%rax), %r15
	mov	REG(RAX)(%rax), %rax

	jz	.Lvmlaunch

	/*
	 * A successful VMRESUME/VMLAUNCH continues at ckvm_vmx_vmexit, not
	 * below: tell objtool the stack there is the one here.
	 */
	UNWIND_HINT_SAVE
	vmresume
	jmp	.Lvmfail

.Lvmlaunch:
	vmlaunch
	jmp	.Lvmfail

SYM_INNER_LABEL(ckvm_vmx_vmexit, SYM_L_GLOBAL)
	UNWIND_HINT_RESTORE
	ENDBR

	push	%rax			/* guest RAX */
	mov	8(%rsp), %rax		/* regs */
	popq	REG(RAX)(%rax)
	mov	%rcx, REG(RCX)(%rax)
	mov	%rdx, REG(RDX)(%rax)
	mov	%rbx, REG(RBX)(%rax)
	mov	%rbp, REG(RBP)(%rax)
	mov	%rsi, REG(RSI)(%rax)
	mov	%rdi, REG(RDI)(%rax)
	mov	%r8, REG(R8)(%rax)
	mov	%r9, REG(R9)(%rax)
	mov	%r10, REG(R10)(%rax)
	mov	%r11, REG(R11)(%rax)
	mov	%r12, REG(R12)(%rax)
	mov	%r13, REG(R13)(%rax)
	mov	%r14, REG(R14)(%rax)
	mov	%r15, REG(R15)(%rax)
	xor	%eax, %eax
	jmp	.Lout

.Lvmfail:
	mov	$1, %eax

.Lout:
	add	$8, %rsp		/* regs */

	/* The guest must not steer the host's return predictions. */
	FILL_RETURN_BUFFER %rcx, RSB_CLEAR_LOOPS, X86_FEATURE_RETPOLINE

	/* Leave no guest value in a register the host does not restore. */
	xor	%ecx, %ecx
	xor	%edx, %edx
	xor	%esi, %esi
	xor	%edi, %edi
	xor	%r8d, %r8d
	xor	%r9d, %r9d
	xor	%r10d, %r10d
	xor	%r11d, %r11d

	pop	%rbx
	pop	%r12
	pop	%r13
	pop	%r14
	pop	%r15
	pop	%rbp
	RET
SYM_FUNC_END(ckvm_vmx_vmenter)

/*
 * void ckvm_vmx_do_nmi_irqoff(void)
 *
 * An NMI that arrived in the guest caused the exit and was consumed by
 * it: run the host's NMI handler as if the NMI had hit here, on a frame
 * like the CPU's (SS, RSP, RFLAGS, CS, RIP); its IRET returns below.
 */
SYM_FUNC_START(ckvm_vmx_do_nmi_irqoff)
	push	%rbp
	mov	%rsp, %rbp
	and	$-16, %rsp
	push	$__KERNEL_DS
	push	%rbp
	pushf
	push	$__KERNEL_CS
	call	CKVM_HOST_NMI_ENTRY
	/* IRET restored RSP already; objtool needs to see it done. */
	mov	%rbp, %rsp
	pop	%rbp
	RET
SYM_FUNC_END(ckvm_vmx_do_nmi_irqoff)
