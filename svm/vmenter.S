/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The SVM world switch. GIF is clear on entry (and RFLAGS.IF set, so that
 * host interrupts exit the guest), so nothing runs on this CPU between the
 * VMLOAD of guest state and the VMLOAD of host state below, when FS, GS,
 * TR and the syscall MSRs hold the guest's values.
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/kvm_vcpu_regs.h>
#include <asm/nospec-branch.h>

#define REG(r)	(__VCPU_REGS_##r * 8)

/*
 * void ckvm_svm_vmrun(unsigned long *regs, u64 vmcb_pa, u64 host_save_pa)
 *
 * @regs: the guest GPRs, indexed by __VCPU_REGS_*; RAX and RSP are taken
 *        from the VMCB by VMRUN and are not touched here.
 */
SYM_FUNC_START(ckvm_svm_vmrun)
	push	%rbp
	mov	%rsp, %rbp
	push	%r15
	push	%r14
	push	%r13
	push	%r12
	push	%rbx
	push	%rdx			/* host_save_pa */
	push	%rsi			/* vmcb_pa */
	push	%rdi			/* regs */

	/* Host FS/GS/TR/LDTR and syscall MSRs out, the guest's in. */
	mov	%rdx, %rax
	vmsave	%rax
	mov	%rsi, %rax
	vmload	%rax

	mov	REG(RCX)(%rdi), %rcx
	mov	REG(RDX)(%rdi), %rdx
	mov	REG(RBX)(%rdi), %rbx
	mov	REG(RBP)(%rdi), %rbp
	mov	REG(RSI)(%rdi), %rsi
	mov	REG(R8)(%rdi), %r8
	mov	REG(R9)(%rdi), %r9
	mov	REG(R10)(%rdi), %r10
	mov	REG(R11)(%rdi), %r11
	mov	REG(R12)(%rdi), %r12
	mov	REG(R13)(%rdi), %r13
	mov	REG(R14)(%rdi), %r14
	mov	REG(R15)(%rdi), %r15
	mov	REG(RDI)(%rdi), %rdi

	/*
	 * GIF=0 and IF=1 (set by the caller, well before this point: no STI
	 * shadow may reach VMRUN): host interrupts become exits.
	 */
	vmrun	%rax

	/* RAX is the VMCB address again; all other GPRs are the guest's. */
	pop	%rax			/* regs */
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

	pop	%rax			/* vmcb_pa */
	vmsave	%rax
	pop	%rax			/* host_save_pa */
	vmload	%rax

	/* The guest must not steer the host's return predictions. */
	FILL_RETURN_BUFFER %rax, RSB_CLEAR_LOOPS, X86_FEATURE_RETPOLINE
	UNTRAIN_RET

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
SYM_FUNC_END(ckvm_svm_vmrun)
