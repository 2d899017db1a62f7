// SPDX-License-Identifier: GPL-2.0
/*
 * The guest page walker behind the emulator: a MOVS whose source is MMIO
 * is emulated (the CPU stops at the MMIO read), so its destination is
 * translated by ckvm's walker, not by the CPU. Through 4 KiB guest pages
 * with chosen rights the destination gets:
 *  - written, with the PTE's Accessed and Dirty bits set;
 *  - a #PF delivered to the guest's handler, with CR2 and the error code
 *    the CPU gives: not present (W), read-only with CR0.WP (P|W), a
 *    reserved bit (RSVD|P|W), and at CPL 3 a supervisor page (P|W|U), a
 *    missing page (W|U), a read-only page (P|W|U);
 *  - no fault for a read-only page with CR0.WP = 0;
 *  - with CR4.SMAP (where the CPU has it): a #PF for a supervisor write to
 *    a user page with RFLAGS.AC = 0, none with AC = 1.
 * The registers of a faulting MOVS are left as they were.
 */
#include "ckvm_util.h"

#define MMIO_GPA	0xd0000000ULL
#define VA_BASE		0x40000000ULL	/* PD 1, entry 0: a 4 KiB table */
#define VA(i)		(VA_BASE + (i) * 4096ULL)

enum { P_RAM, P_NP, P_MMIO, P_RO, P_RSVD, P_SUP, P_SUPMMIO, P_RAM2, NR_P };

#define SEL_UCODE	(6 * 8 + 3)
#define SEL_UDATA	(7 * 8 + 3)

/* Written by the #PF handler; the asm refers to them by name. */
volatile uint64_t pf_count, pf_cr2, pf_err, pf_resume;

asm(".pushsection .text\n"
    ".globl pf_handler\n"
    "pf_handler:\n"
    "	push %rax\n"
    "	mov %cr2, %rax\n"
    "	mov %rax, pf_cr2(%rip)\n"
    "	mov 8(%rsp), %rax\n"
    "	mov %rax, pf_err(%rip)\n"
    "	incq pf_count(%rip)\n"
    "	mov pf_resume(%rip), %rax\n"
    "	mov %rax, 16(%rsp)\n"		/* resume after the MOVS */
    "	pop %rax\n"
    "	add $8, %rsp\n"
    "	iretq\n"
    ".popsection\n");
extern char pf_handler[];

/* MOVSQ @src -> @dst; report step, #PFs taken, CR2, error, RSI moved. */
static void step(int n, uint64_t src, uint64_t dst)
{
	uint64_t count = pf_count, s = src, d = dst;

	asm volatile("lea 1f(%%rip), %%rax\n\t"
		     "mov %%rax, pf_resume(%%rip)\n\t"
		     "movsq\n\t"
		     "1:" : "+S"(s), "+D"(d) :: "rax", "memory");
	ucall(UCALL_SYNC, 5, (uint64_t)n, pf_count - count, pf_cr2, pf_err,
	      (uint64_t)(s != src) | ((uint64_t)(d != dst) << 1));
}

static void guest_user(void)
{
	step(10, VA(P_MMIO), VA(P_RAM2));
	step(11, VA(P_MMIO), VA(P_SUP));
	step(12, VA(P_MMIO), VA(P_NP));
	step(13, VA(P_MMIO), VA(P_RO));
	GUEST_DONE();
}

/*
 * In a VM of its own where only the pages at VA_BASE are user pages: with
 * CR4.SMAP the kernel's own stack, code and data must be supervisor pages.
 */
static void guest_smap(void)
{
	uint64_t cr4;

	asm volatile("mov %%cr4, %0" : "=r"(cr4));
	asm volatile("mov %0, %%cr4" :: "r"(cr4 | (1UL << 21)));
	step(6, VA(P_SUPMMIO), VA(P_RAM));	/* AC = 0 */
	asm volatile("stac" ::: "cc");
	step(7, VA(P_SUPMMIO), VA(P_RAM));	/* AC = 1 */
	asm volatile("clac" ::: "cc");
	GUEST_DONE();
}

static void guest_code(uint64_t user_stack)
{
	uint64_t cr0;

	step(1, VA(P_MMIO), VA(P_RAM));
	step(2, VA(P_MMIO), VA(P_NP));
	step(3, VA(P_MMIO), VA(P_RO));
	step(4, VA(P_MMIO), VA(P_RSVD));
	asm volatile("mov %%cr0, %0" : "=r"(cr0));
	asm volatile("mov %0, %%cr0" :: "r"(cr0 & ~X86_CR0_WP));
	step(5, VA(P_MMIO), VA(P_RO));
	asm volatile("mov %0, %%cr0" :: "r"(cr0));
	/* To CPL 3 (IOPL 3, for the ucall's OUT). */
	asm volatile("push %0\n\t"
		     "push %1\n\t"
		     "pushfq\n\t"
		     "orq $0x3000, (%%rsp)\n\t"
		     "push %2\n\t"
		     "push %3\n\t"
		     "iretq"
		     :: "i"(SEL_UDATA), "r"(user_stack), "i"(SEL_UCODE),
			"r"((uint64_t)guest_user) : "memory");
}

static uint64_t gdt_entry(uint8_t access, uint8_t flags)
{
	return 0xffffULL | ((uint64_t)access << 40) | (0xfULL << 48) |
	       ((uint64_t)flags << 52);
}

/* MMIO exits served from a pattern; returns the next ucall. */
static int run_mmio(struct kvm_vcpu *v, struct ucall *uc, int *mmio_exits)
{
	int r;

	for (;;) {
		r = vcpu_run(v);

		if (r) {
			ksft_print_msg("KVM_RUN: %s", strerror(-r));
			return UCALL_NONE;
		}
		if (v->run->exit_reason != KVM_EXIT_MMIO)
			break;
		(*mmio_exits)++;
		if (!v->run->mmio.is_write)
			for (uint32_t i = 0; i < v->run->mmio.len; i++)
				v->run->mmio.data[i] = 0xa0 + ((v->run->mmio.phys_addr + i) & 0x3f);
	}
	r = get_ucall(v, uc);
	if (r == UCALL_NONE) {
		struct kvm_regs regs;

		vcpu_get_regs(v, &regs);
		ksft_print_msg("unexpected exit %u (%s) at rip 0x%llx", v->run->exit_reason,
			       exit_reason_str(v->run->exit_reason), (unsigned long long)regs.rip);
	}
	if (r == UCALL_ABORT)
		ksft_print_msg("guest assertion at %s:%llu: %s", uc->file,
			       (unsigned long long)uc->line, uc->expr);
	return r;
}

/*
 * The next step's report: @faults #PFs (0 or 1) with @cr2/@err, registers
 * unchanged after a fault, both moved otherwise.
 */
static bool expect_step(struct kvm_vcpu *v, int n, int faults, uint64_t cr2, uint64_t err,
			int want_mmio)
{
	struct ucall uc;
	int mmio = 0;
	bool ok;

	ok = run_mmio(v, &uc, &mmio) == UCALL_SYNC && uc.args[0] == (uint64_t)n &&
	     uc.args[1] == (uint64_t)faults && mmio == want_mmio &&
	     (!faults || (uc.args[2] == cr2 && uc.args[3] == err)) &&
	     uc.args[4] == (faults ? 0 : 3);
	if (!ok)
		ksft_print_msg("step %d: got step %llu, %llu #PF, cr2 0x%llx err 0x%llx, regs moved %llu, %d MMIO exits; want %d #PF cr2 0x%llx err 0x%llx, %d exits",
			       n, (unsigned long long)uc.args[0], (unsigned long long)uc.args[1],
			       (unsigned long long)uc.args[2], (unsigned long long)uc.args[3],
			       (unsigned long long)uc.args[4], mmio, faults,
			       (unsigned long long)cr2, (unsigned long long)err, want_mmio);
	return ok;
}

/*
 * A VM running @guest with the 4 KiB table at VA_BASE, an IDT with the
 * #PF handler, a TSS and user segments. @all_user: every page is a user
 * page (for CPL 3); else only those at VA_BASE are.
 */
static struct kvm_vm *setup(void *guest, bool all_user, struct kvm_vcpu **vp,
			    uint64_t **ptp, uint64_t *page)
{
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *v = vcpu_add(vm, 0, guest);
	uint64_t *p, *pt, idt_gpa, tss_gpa, pt_gpa;
	struct kvm_sregs s;
	int i;

	p = addr_gpa2hva(vm, PML4_GPA);
	p[0] |= 4;
	p = addr_gpa2hva(vm, PDPT_GPA);
	for (i = 0; i < 4; i++)
		if (all_user || i == 1)
			p[i] |= 4;
	p = addr_gpa2hva(vm, PD_GPA);
	for (i = 0; i < 4 * 512 && all_user; i++)
		p[i] |= 4;
	pt_gpa = vm_alloc_pages(vm, 1);
	pt = addr_gpa2hva(vm, pt_gpa);
	for (i = 0; i < NR_P; i++)
		page[i] = vm_alloc_pages(vm, 1);
	pt[P_RAM] = page[P_RAM] | 0x7;			/* A and D clear */
	pt[P_NP] = 0;
	pt[P_MMIO] = MMIO_GPA | 0x7;
	pt[P_RO] = page[P_RO] | 0x5;
	pt[P_RSVD] = page[P_RSVD] | 0x7 | (1ULL << 63);	/* NX without EFER.NXE */
	pt[P_SUP] = page[P_SUP] | 0x3;
	pt[P_SUPMMIO] = (MMIO_GPA + 0x1000) | 0x3;
	pt[P_RAM2] = page[P_RAM2] | 0x7;
	p[512] = pt_gpa | 0x7;				/* gva 1 GiB */

	/* IDT with the #PF handler, a TSS for CPL 3 -> 0, user segments. */
	idt_gpa = vm_alloc_pages(vm, 1);
	p = addr_gpa2hva(vm, idt_gpa);
	p[14 * 2] = ((uint64_t)pf_handler & 0xffff) | ((uint64_t)SEL_CODE64 << 16) |
		    (0x8eULL << 40) | ((((uint64_t)pf_handler >> 16) & 0xffff) << 48);
	p[14 * 2 + 1] = (uint64_t)pf_handler >> 32;
	tss_gpa = vm_alloc_pages(vm, 2);
	*(uint64_t *)((char *)addr_gpa2hva(vm, tss_gpa) + 4) = tss_gpa + 2 * 4096;
	p = addr_gpa2hva(vm, GDT_GPA);
	p[6] = gdt_entry(0xfb, 0xa);
	p[7] = gdt_entry(0xf3, 0xc);

	vcpu_get_sregs(v, &s);
	s.gdt.limit = 8 * 8 - 1;
	s.idt.base = idt_gpa;
	s.idt.limit = 256 * 16 - 1;
	memset(&s.tr, 0, sizeof(s.tr));
	s.tr.base = tss_gpa;
	s.tr.limit = 0x67;
	s.tr.selector = 0x40;
	s.tr.type = 11;
	s.tr.present = 1;
	vcpu_set_sregs(v, &s);
	*vp = v;
	*ptp = pt;
	return vm;
}

int main(void)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *v;
	uint64_t *pt, page[NR_P], ustack;
	uint32_t a, b, c, d;
	struct ucall uc;
	int mmio = 0;

	ksft_print_header();
	ksft_set_plan(14);
	vm = setup(guest_code, true, &v, &pt, page);
	ustack = vm_alloc_pages(vm, 4) + 4 * 4096 - 8;
	vcpu_args_set(v, 1, ustack);

	ksft_test_result(expect_step(v, 1, 0, 0, 0, 1) &&
			 *(uint64_t *)addr_gpa2hva(vm, page[P_RAM]) == 0xa7a6a5a4a3a2a1a0ULL,
			 "CPL 0: MOVSQ MMIO -> RAM through a 4 KiB page: data arrives");
	CHECK_EQ(pt[P_RAM] & 0x60, 0x60, "the walk set Accessed and Dirty in the guest PTE");
	ksft_test_result(expect_step(v, 2, 1, VA(P_NP), 0x2, 1),
			 "CPL 0: destination not present: #PF, CR2, error W");
	ksft_test_result(expect_step(v, 3, 1, VA(P_RO), 0x3, 1),
			 "CPL 0: read-only destination, CR0.WP = 1: #PF, error P|W");
	ksft_test_result(expect_step(v, 4, 1, VA(P_RSVD), 0xb, 1),
			 "CPL 0: reserved bit (NX, EFER.NXE = 0): #PF, error RSVD|P|W");
	ksft_test_result(expect_step(v, 5, 0, 0, 0, 1),
			 "CPL 0: read-only destination, CR0.WP = 0: written");
	ksft_test_result(expect_step(v, 10, 0, 0, 0, 1) &&
			 (pt[P_RAM2] & 0x60) == 0x60,
			 "CPL 3: MOVSQ MMIO -> user RAM: written, A and D set");
	ksft_test_result(expect_step(v, 11, 1, VA(P_SUP), 0x7, 1),
			 "CPL 3: supervisor destination: #PF, error P|W|U");
	ksft_test_result(expect_step(v, 12, 1, VA(P_NP), 0x6, 1),
			 "CPL 3: destination not present: #PF, error W|U");
	ksft_test_result(expect_step(v, 13, 1, VA(P_RO), 0x7, 1),
			 "CPL 3: read-only destination: #PF, error P|W|U");
	ksft_test_result(run_mmio(v, &uc, &mmio) == UCALL_DONE && !mmio &&
			 !*(uint64_t *)addr_gpa2hva(vm, page[P_SUP]) &&
			 !*(uint64_t *)addr_gpa2hva(vm, page[P_RSVD]),
			 "CPL 3: done; faulting destinations were never written");
	vcpu_free(v);
	kvm_vm_free(vm);

	cpuid_count(7, 0, &a, &b, &c, &d);
	if (!(b & (1u << 20))) {
		ksft_test_result_skip("SMAP, AC = 0: the CPU has no SMAP (CPUID.7.EBX[20])");
		ksft_test_result_skip("SMAP, AC = 1: the CPU has no SMAP (CPUID.7.EBX[20])");
		ksft_test_result_skip("SMAP: the CPU has no SMAP (CPUID.7.EBX[20])");
		return ksft_finished();
	}
	vm = setup(guest_smap, false, &v, &pt, page);
	ksft_test_result(expect_step(v, 6, 1, VA(P_RAM), 0x3, 1),
			 "CPL 0, CR4.SMAP, AC = 0: write to a user page: #PF, error P|W");
	ksft_test_result(expect_step(v, 7, 0, 0, 0, 1),
			 "CPL 0, CR4.SMAP, AC = 1 (STAC): write to a user page allowed");
	ksft_test_result(run_mmio(v, &uc, &mmio) == UCALL_DONE, "SMAP: done");
	vcpu_free(v);
	kvm_vm_free(vm);
	return ksft_finished();
}
