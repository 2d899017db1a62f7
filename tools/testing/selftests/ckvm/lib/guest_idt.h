/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A guest IDT for tests that take exceptions, NMIs or interrupts in the
 * guest. Include it in ONE test file (it defines the handlers).
 *
 * Guest side: call idt_install() first. Every vector 0-255 has a handler
 * that records, in guest globals, the vector, the error code (0 for the
 * vectors without one), the RIP it interrupted, CR2 (#PF) and DR6 (#DB),
 * and counts it in idt_count[]; then it returns, adding idt_skip to the
 * return RIP if idt_skip is set (so a faulting instruction of known length
 * is stepped over; the handler clears idt_skip). For vectors 0x20 and up
 * with idt_eoi set, it writes the x2APIC EOI register first.
 *
 * Host side: read the globals with sync_global_from_guest() or have the
 * guest report them with GUEST_SYNC.
 */
#ifndef CKVM_GUEST_IDT_H
#define CKVM_GUEST_IDT_H

#include "ckvm_util.h"

struct idt_gate64 {
	uint16_t off0, sel;
	uint8_t ist, type;
	uint16_t off1;
	uint32_t off2, rsvd;
} __attribute__((packed));

static struct idt_gate64 guest_idt[256] __attribute__((aligned(16)));

volatile uint64_t idt_vector = ~0ULL, idt_error, idt_rip, idt_cr2, idt_dr6;
volatile uint64_t idt_count[256];
volatile uint64_t idt_skip, idt_eoi, idt_rflags;
extern char idt_stubs[];

/*
 * Each stub: 16 bytes, pushes a dummy error code where the CPU pushes
 * none, then the vector, then jumps to the common part. Vectors with an
 * error code: 8, 10-14, 17, 21, 29, 30.
 */
asm(".pushsection .text\n"
    ".balign 16\n"
    "idt_stubs:\n"
    ".altmacro\n"
    ".macro idt_stub v\n"
    "	.balign 16\n"
    "	.if (\\v == 8) || (\\v >= 10 && \\v <= 14) || (\\v == 17) || (\\v == 21) || (\\v == 29) || (\\v == 30)\n"
    "	.else\n"
    "	pushq $0\n"
    "	.endif\n"
    "	pushq $\\v\n"
    "	jmp idt_common\n"
    ".endm\n"
    ".set i, 0\n"
    ".rept 256\n"
    "	idt_stub %i\n"
    "	.set i, i + 1\n"
    ".endr\n"
    "idt_common:\n"
    /* (%rsp): vector, 8: error code, 16: RIP, 24: CS, 32: RFLAGS */
    "	push %rax\n"
    "	push %rcx\n"
    "	push %rdx\n"
    "	mov 24(%rsp), %rax\n"
    "	mov %rax, idt_vector(%rip)\n"
    "	lea idt_count(%rip), %rcx\n"
    "	incq (%rcx,%rax,8)\n"
    "	mov 32(%rsp), %rcx\n"
    "	mov %rcx, idt_error(%rip)\n"
    "	mov 40(%rsp), %rcx\n"
    "	mov %rcx, idt_rip(%rip)\n"
    "	mov 56(%rsp), %rcx\n"
    "	mov %rcx, idt_rflags(%rip)\n"
    "	cmp $14, %rax\n"
    "	jne 1f\n"
    "	mov %cr2, %rcx\n"
    "	mov %rcx, idt_cr2(%rip)\n"
    "1:	cmp $1, %rax\n"
    "	jne 2f\n"
    "	mov %dr6, %rcx\n"
    "	mov %rcx, idt_dr6(%rip)\n"
    "	mov $0xffff0ff0, %ecx\n"
    "	mov %rcx, %dr6\n"
    "2:	mov idt_skip(%rip), %rcx\n"
    "	add %rcx, 40(%rsp)\n"
    "	movq $0, idt_skip(%rip)\n"
    "	cmp $0x20, %rax\n"
    "	jb 3f\n"
    "	cmpq $0, idt_eoi(%rip)\n"
    "	je 3f\n"
    "	mov $0x80b, %ecx\n"
    "	xor %eax, %eax\n"
    "	xor %edx, %edx\n"
    "	wrmsr\n"
    "3:	pop %rdx\n"
    "	pop %rcx\n"
    "	pop %rax\n"
    "	add $16, %rsp\n"
    "	iretq\n"
    ".popsection\n");

/* Guest side: point every vector at its stub and load the IDT. */
static inline void idt_install(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr;
	int v;

	for (v = 0; v < 256; v++) {
		uint64_t a = (uint64_t)idt_stubs + v * 16;

		guest_idt[v].off0 = a;
		guest_idt[v].sel = SEL_CODE64;
		guest_idt[v].ist = 0;
		guest_idt[v].type = 0x8e;	/* present, DPL 0, interrupt gate */
		guest_idt[v].off1 = a >> 16;
		guest_idt[v].off2 = a >> 32;
		guest_idt[v].rsvd = 0;
	}
	idtr.limit = sizeof(guest_idt) - 1;
	idtr.base = (uint64_t)guest_idt;
	asm volatile("lidt %0" :: "m"(idtr));
}

#endif
