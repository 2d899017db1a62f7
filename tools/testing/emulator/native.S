/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Run one instruction on this CPU with a chosen register state.
 *
 * run_native() loads ns_in (GPRs, RFLAGS, XMM0-15; layout in difftest.c,
 * struct cpu_state) and jumps to *native_code, where the instruction is
 * followed by "jmp *native_back". native_back stores everything into
 * ns_out and returns to the caller. A fault in between is caught by the
 * caller's signal handler (on an alternate stack), which siglongjmp()s.
 */
	.text
	.globl run_native
	.type run_native, @function
run_native:
	push %rbx
	push %rbp
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, host_rsp(%rip)
	lea ns_in(%rip), %rax
	movdqu 144(%rax), %xmm0
	movdqu 160(%rax), %xmm1
	movdqu 176(%rax), %xmm2
	movdqu 192(%rax), %xmm3
	movdqu 208(%rax), %xmm4
	movdqu 224(%rax), %xmm5
	movdqu 240(%rax), %xmm6
	movdqu 256(%rax), %xmm7
	movdqu 272(%rax), %xmm8
	movdqu 288(%rax), %xmm9
	movdqu 304(%rax), %xmm10
	movdqu 320(%rax), %xmm11
	movdqu 336(%rax), %xmm12
	movdqu 352(%rax), %xmm13
	movdqu 368(%rax), %xmm14
	movdqu 384(%rax), %xmm15
	pushq 128(%rax)
	popfq
	mov 8(%rax), %rcx
	mov 16(%rax), %rdx
	mov 24(%rax), %rbx
	mov 32(%rax), %rsp
	mov 40(%rax), %rbp
	mov 48(%rax), %rsi
	mov 56(%rax), %rdi
	mov 64(%rax), %r8
	mov 72(%rax), %r9
	mov 80(%rax), %r10
	mov 88(%rax), %r11
	mov 96(%rax), %r12
	mov 104(%rax), %r13
	mov 112(%rax), %r14
	mov 120(%rax), %r15
	mov 0(%rax), %rax
	jmp *native_code(%rip)

	/*
	 * The same for compatibility mode: DS = 0x2b (flat), ES and GS =
	 * native_seg (the test's LDT data segment), then a far jump to
	 * native_code in the 32-bit code segment 0x23. The instruction is
	 * followed by a far jump back to 64-bit code, which jumps here.
	 */
	.globl run_native32
	.type run_native32, @function
run_native32:
	push %rbx
	push %rbp
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, host_rsp(%rip)
	mov $0x2b, %eax
	mov %eax, %ds
	movzwl native_seg(%rip), %eax
	mov %eax, %es
	mov %eax, %gs
	mov native_code(%rip), %rax
	mov %eax, native_far(%rip)
	lea ns_in(%rip), %rax
	movdqu 144(%rax), %xmm0
	movdqu 160(%rax), %xmm1
	movdqu 176(%rax), %xmm2
	movdqu 192(%rax), %xmm3
	movdqu 208(%rax), %xmm4
	movdqu 224(%rax), %xmm5
	movdqu 240(%rax), %xmm6
	movdqu 256(%rax), %xmm7
	pushq 128(%rax)
	popfq
	mov 8(%rax), %rcx
	mov 16(%rax), %rdx
	mov 24(%rax), %rbx
	mov 32(%rax), %rsp
	mov 40(%rax), %rbp
	mov 48(%rax), %rsi
	mov 56(%rax), %rdi
	mov 0(%rax), %rax
	ljmpl *native_far(%rip)
	.size run_native32, . - run_native32

	.data
native_far:
	.long 0
	.word 0x23
	.text

	.globl native_back
native_back:
	mov %rax, ns_out+0(%rip)
	mov %rcx, ns_out+8(%rip)
	mov %rdx, ns_out+16(%rip)
	mov %rbx, ns_out+24(%rip)
	mov %rsp, ns_out+32(%rip)
	mov %rbp, ns_out+40(%rip)
	mov %rsi, ns_out+48(%rip)
	mov %rdi, ns_out+56(%rip)
	mov %r8, ns_out+64(%rip)
	mov %r9, ns_out+72(%rip)
	mov %r10, ns_out+80(%rip)
	mov %r11, ns_out+88(%rip)
	mov %r12, ns_out+96(%rip)
	mov %r13, ns_out+104(%rip)
	mov %r14, ns_out+112(%rip)
	mov %r15, ns_out+120(%rip)
	mov host_rsp(%rip), %rsp
	pushfq
	pop %rax
	mov %rax, ns_out+128(%rip)
	cld
	lea ns_out(%rip), %rax
	movdqu %xmm0, 144(%rax)
	movdqu %xmm1, 160(%rax)
	movdqu %xmm2, 176(%rax)
	movdqu %xmm3, 192(%rax)
	movdqu %xmm4, 208(%rax)
	movdqu %xmm5, 224(%rax)
	movdqu %xmm6, 240(%rax)
	movdqu %xmm7, 256(%rax)
	movdqu %xmm8, 272(%rax)
	movdqu %xmm9, 288(%rax)
	movdqu %xmm10, 304(%rax)
	movdqu %xmm11, 320(%rax)
	movdqu %xmm12, 336(%rax)
	movdqu %xmm13, 352(%rax)
	movdqu %xmm14, 368(%rax)
	movdqu %xmm15, 384(%rax)
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbp
	pop %rbx
	ret
	.size run_native, . - run_native

	.section .note.GNU-stack, "", @progbits
