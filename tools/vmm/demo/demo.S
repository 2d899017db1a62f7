/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Demo guest for tools/vmm: starts in real mode at 0x1000:0000 (linear
 * 0x10000, where vmm loads it), prints a line in each of real, 32-bit
 * protected and 64-bit long mode on port 0x3f8, then writes 0 to port
 * 0x501 (vmm exits with that status).
 *
 * Memory used: the image at 0x10000, the stack just below it, and
 * identity-mapped page tables at 0x1000 (PML4), 0x2000 (PDPT) and
 * 0x3000 (PD, 512 x 2 MiB pages = the first 1 GiB).
 */
#define SERIAL		0x3f8
#define EXIT_PORT	0x501
#define LOAD		0x10000
#define PML4		0x1000
#define PDPT		0x2000
#define PD		0x3000
#define MSR_EFER	0xc0000080
#define EFER_LME	(1 << 8)
#define CR0_PE		(1 << 0)
#define CR0_PG		(1 << 31)
#define CR4_PAE		(1 << 5)

	.text
	.code16
	.globl	_start
_start:
	cli
	mov	%cs, %ax		/* 0x1000: real-mode offsets are from LOAD */
	mov	%ax, %ds
	xor	%ax, %ax
	mov	%ax, %ss
	mov	$0xfff0, %sp

	mov	$(msg_real - _start), %si
	mov	$SERIAL, %dx
1:	lodsb
	test	%al, %al
	jz	2f
	outb	%al, %dx
	jmp	1b
2:
	lgdtl	(gdt_desc - _start)
	mov	%cr0, %eax
	or	$CR0_PE, %eax
	mov	%eax, %cr0
	ljmpl	$0x08, $pm32

	.code32
pm32:
	mov	$0x10, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %fs
	mov	%ax, %gs
	mov	%ax, %ss
	mov	$(LOAD - 0x10), %esp

	mov	$msg_prot, %esi
	call	puts32

	/* Identity page tables: zero 3 pages, then link them. */
	mov	$PML4, %edi
	mov	$(3 * 1024), %ecx
	xor	%eax, %eax
	cld
	rep stosl
	movl	$(PDPT | 3), PML4
	movl	$(PD | 3), PDPT
	mov	$PD, %edi
	mov	$0x83, %eax		/* present, writable, 2 MiB page */
	mov	$512, %ecx
3:	mov	%eax, (%edi)
	movl	$0, 4(%edi)
	add	$(1 << 21), %eax
	add	$8, %edi
	loop	3b

	mov	$PML4, %eax
	mov	%eax, %cr3
	mov	%cr4, %eax
	or	$CR4_PAE, %eax
	mov	%eax, %cr4
	mov	$MSR_EFER, %ecx
	rdmsr
	or	$EFER_LME, %eax
	wrmsr
	mov	%cr0, %eax
	and	$0x9fffffff, %eax	/* caches on: clear CD, NW */
	or	$CR0_PG, %eax
	mov	%eax, %cr0
	ljmp	$0x18, $lm64

puts32:
	mov	$SERIAL, %dx
1:	lodsb
	test	%al, %al
	jz	2f
	outb	%al, %dx
	jmp	1b
2:	ret

	.code64
lm64:
	mov	$(LOAD - 0x10), %rsp
	lea	msg_long(%rip), %rsi
	mov	$SERIAL, %dx
1:	lodsb
	test	%al, %al
	jz	2f
	outb	%al, %dx
	jmp	1b
2:
	mov	$EXIT_PORT, %dx
	xor	%eax, %eax
	outb	%al, %dx
3:	hlt
	jmp	3b

	/* Data lives in .text too: real-mode code addresses it by offset from _start. */
	.balign	8
gdt:
	.quad	0			/* null */
	.quad	0x00cf9a000000ffff	/* 0x08: 32-bit code, flat */
	.quad	0x00cf92000000ffff	/* 0x10: data, flat */
	.quad	0x00af9a000000ffff	/* 0x18: 64-bit code */
gdt_end:
gdt_desc:
	.word	gdt_end - gdt - 1
	.long	gdt

msg_real:
	.asciz	"Hello from real mode\n"
msg_prot:
	.asciz	"Hello from protected mode\n"
msg_long:
	.asciz	"Hello from long mode\n"
