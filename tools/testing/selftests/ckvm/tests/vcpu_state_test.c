// SPDX-License-Identifier: GPL-2.0
/*
 * The vCPU and VM state ioctls of x86/state.c: KVM_SET_TSS_ADDR,
 * KVM_SET_IDENTITY_MAP_ADDR, KVM_GET/SET_FPU, KVM_GET/SET_XSAVE,
 * KVM_GET_XSAVE2, KVM_GET/SET_XCRS, KVM_GET/SET_SREGS2, the kvm_run
 * sync-regs area, KVM_SET_SIGNAL_MASK, the TSC frequency and offset, and
 * KVM_GET_DEVICE_ATTR on /dev/kvm. Good and bad inputs; every value
 * checked from the guest's side too. Expected values are kvm_amd's and
 * kvm_intel's (measured on svm-kvm and vmx-kvm); where ckvm differs, the
 * point says so.
 */
#include "ckvm_util.h"
#include <signal.h>
#include <stddef.h>
#include <pthread.h>

#define XMM_PATTERN0	0x0123456789abcdefULL
#define XMM_PATTERN1	0xfedcba9876543210ULL

/* ---- guests ---- */

/* Report xmm0 (both halves), the x87 control word and MXCSR; set xmm1. */
static void guest_fpu(void)
{
	uint64_t x[2];
	uint16_t fcw;
	uint32_t mxcsr;

	asm volatile("movdqu %%xmm0, %0" : "=m"(x));
	asm volatile("fnstcw %0" : "=m"(fcw));
	asm volatile("stmxcsr %0" : "=m"(mxcsr));
	ucall(UCALL_SYNC, 4, x[0], x[1], (uint64_t)fcw, (uint64_t)mxcsr);
	x[0] = XMM_PATTERN1;
	x[1] = ~XMM_PATTERN1;
	asm volatile("movdqu %0, %%xmm1" : : "m"(x));
	GUEST_SYNC(1);
	asm volatile("movdqu %%xmm2, %0" : "=m"(x));
	GUEST_SYNC2(x[0], x[1]);
	GUEST_DONE();
}

static void guest_xgetbv(void)
{
	uint32_t lo, hi;

	for (;;) {
		asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
		GUEST_SYNC(((uint64_t)hi << 32) | lo);
	}
}

/* Set CR4.OSXSAVE itself (with NPT/EPT no exit) and read XCR0 at once. */
static void guest_osxsave_xgetbv(void)
{
	uint64_t cr4;
	uint32_t lo, hi;

	asm volatile("mov %%cr4, %0" : "=r"(cr4));
	asm volatile("mov %0, %%cr4" :: "r"(cr4 | X86_CR4_OSXSAVE));
	asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	GUEST_SYNC(((uint64_t)hi << 32) | lo);
	GUEST_DONE();
}

/* Report RBX; an OUT to the ucall port per turn. */
static void guest_rbx(void)
{
	for (;;) {
		uint64_t rbx;

		asm volatile("mov %%rbx, %0" : "=r"(rbx));
		GUEST_SYNC(rbx);
	}
}

static void guest_rdtsc(void)
{
	for (;;) {
		uint32_t lo, hi;

		asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
		GUEST_SYNC(((uint64_t)hi << 32) | lo);
	}
}

/* 32-bit PAE paging, then the ucall OUT; nothing else. */
extern char pae_start[], pae_end[];
asm(".pushsection .text\n"
    ".code32\n"
    "pae_start:\n"
    "	mov $0xe0, %dx\n"
    "	out %eax, (%dx)\n"
    "	hlt\n"
    "pae_end:\n"
    ".code64\n"
    ".popsection\n");

/* ---- helpers ---- */

static bool run_sync(struct kvm_vcpu *v, struct ucall *uc)
{
	return vcpu_run_ucall(v, uc) == UCALL_SYNC;
}

/* ---- VM-wide addresses ---- */

/* kvm_intel loaded with unrestricted_guest=N (as ept=0 makes it). */
static bool tss_slot_fixed(void)
{
	FILE *f = fopen("/sys/module/kvm_intel/parameters/unrestricted_guest", "r");
	bool fixed = false;

	if (f) {
		fixed = fgetc(f) == 'N';
		fclose(f);
	}
	return fixed;
}

static void test_tss_identity(void)
{
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *v;
	struct ucall uc;
	uint64_t ident = 0xfeffc000ULL;

	CHECK_OK(ioctl(vm->fd, KVM_SET_TSS_ADDR, 0xfeffd000UL),
		 "KVM_SET_TSS_ADDR 0xfeffd000");
	/*
	 * kvm_intel without unrestricted guest (ept=0) backs the TSS with a
	 * private memslot made by the first call: later calls are EEXIST
	 * there. ckvm (tdp=0 too) moves its TSS pages instead.
	 */
	if (tss_slot_fixed())
		CHECK_ERRNO(ioctl(vm->fd, KVM_SET_TSS_ADDR, 0xffffd000UL), EEXIST,
			    "KVM_SET_TSS_ADDR again: EEXIST (kvm_intel without unrestricted guest)");
	else
		CHECK_OK(ioctl(vm->fd, KVM_SET_TSS_ADDR, 0xffffd000UL),
			 "KVM_SET_TSS_ADDR 0xffffd000 (the last 3 pages below 4 GiB)");
	CHECK_ERRNO(ioctl(vm->fd, KVM_SET_TSS_ADDR, 0xffffd001UL), EINVAL,
		    "KVM_SET_TSS_ADDR 0xffffd001 (crosses 4 GiB) -> EINVAL");
	CHECK_ERRNO(ioctl(vm->fd, KVM_SET_TSS_ADDR, 0x100000000UL), EINVAL,
		    "KVM_SET_TSS_ADDR above 4 GiB -> EINVAL");
	CHECK_ERRNO(ioctl(vm->fd, KVM_SET_IDENTITY_MAP_ADDR, (void *)8), EFAULT,
		    "KVM_SET_IDENTITY_MAP_ADDR with a bad pointer -> EFAULT");
	CHECK_OK(ioctl(vm->fd, KVM_SET_IDENTITY_MAP_ADDR, &ident),
		 "KVM_SET_IDENTITY_MAP_ADDR before the first vCPU");
	v = vcpu_add(vm, 0, guest_rbx);
	CHECK_ERRNO(ioctl(vm->fd, KVM_SET_IDENTITY_MAP_ADDR, &ident), EINVAL,
		    "KVM_SET_IDENTITY_MAP_ADDR once a vCPU exists -> EINVAL (freeze rule)");
	TEST_ASSERT(run_sync(v, &uc), "guest runs");
	if (tss_slot_fixed())
		CHECK_ERRNO(ioctl(vm->fd, KVM_SET_TSS_ADDR, 0xfeffd000UL), EEXIST,
			    "KVM_SET_TSS_ADDR after KVM_RUN: EEXIST (kvm_intel without unrestricted guest)");
	else
		CHECK_OK(ioctl(vm->fd, KVM_SET_TSS_ADDR, 0xfeffd000UL),
			 "KVM_SET_TSS_ADDR after KVM_RUN: taken (never frozen)");
	kvm_vm_free(vm);
}

/* ---- FPU and XSAVE ---- */

static void test_fpu_xsave(void)
{
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *v = vcpu_add(vm, 0, guest_fpu);
	int size2 = kvm_check_cap(KVM_CAP_XSAVE2);
	struct kvm_xsave *xs, *xs2;
	struct kvm_fpu fpu;
	struct ucall uc;
	uint64_t *q;
	uint32_t *w;

	/*
	 * SDM 9.1.1: FCW 0x37f, MXCSR 0x1f80 after RESET. kvm_amd and
	 * kvm_intel report MXCSR 0 (measured).
	 */
	TEST_ASSERT(!ioctl(v->fd, KVM_GET_FPU, &fpu), "KVM_GET_FPU");
	ksft_test_result(fpu.fcw == 0x37f && fpu.mxcsr == (is_ckvm() ? 0x1f80 : 0),
			 "KVM_GET_FPU after reset: FCW 0x37f, MXCSR %s (got 0x%x, 0x%x)\n",
			 is_ckvm() ? "0x1f80" : "0 (KVM)", fpu.fcw, fpu.mxcsr);

	memcpy(&fpu.xmm[0][0], &(uint64_t){ XMM_PATTERN0 }, 8);
	memcpy(&fpu.xmm[0][8], &(uint64_t){ ~XMM_PATTERN0 }, 8);
	fpu.fcw = 0x27f;
	fpu.mxcsr = 0x1f80 | 0x6000;	/* round toward zero */
	CHECK_OK(ioctl(v->fd, KVM_SET_FPU, &fpu), "KVM_SET_FPU");
	TEST_ASSERT(run_sync(v, &uc), "guest reports its FPU");
	/*
	 * KVM writes the legacy region only; on an XSAVE host a fresh
	 * vCPU's XSTATE_BV then says "init" and the guest gets the init
	 * values (measured: XMM0 0, FCW 0x37f). ckvm marks x87 and SSE in
	 * use, so the guest gets what was set.
	 */
	if (is_ckvm())
		ksft_test_result(uc.args[0] == XMM_PATTERN0 && uc.args[1] == ~XMM_PATTERN0 &&
				 uc.args[2] == 0x27f && uc.args[3] == (0x1f80 | 0x6000),
				 "the guest sees KVM_SET_FPU's XMM0, FCW and MXCSR\n");
	else
		ksft_test_result_skip("the guest sees KVM_SET_FPU's XMM0, FCW and MXCSR: KVM leaves XSTATE_BV alone, the guest sees the init state (XMM0 0x%llx, FCW 0x%llx)\n",
				      (unsigned long long)uc.args[0],
				      (unsigned long long)uc.args[2]);

	TEST_ASSERT(run_sync(v, &uc), "guest wrote xmm1");
	TEST_ASSERT(!ioctl(v->fd, KVM_GET_FPU, &fpu), "KVM_GET_FPU");
	ksft_test_result(!memcmp(&fpu.xmm[1][0], &(uint64_t){ XMM_PATTERN1 }, 8),
			 "KVM_GET_FPU shows the guest's XMM1\n");

	if (is_ckvm()) {
		struct kvm_fpu bad = fpu;

		bad.mxcsr = 0x10000;
		CHECK_ERRNO(ioctl(v->fd, KVM_SET_FPU, &bad), EINVAL,
			    "KVM_SET_FPU with a reserved MXCSR bit -> EINVAL");
	} else {
		ksft_test_result_skip("KVM_SET_FPU with a reserved MXCSR bit: KVM takes it (and faults in the host when it loads it); ckvm refuses it\n");
	}

	/* XSAVE: the legacy region has XMM1 at 160 + 16; XSTATE_BV at 512. */
	xs = calloc(1, sizeof(*xs));
	TEST_ASSERT(!ioctl(v->fd, KVM_GET_XSAVE, xs), "KVM_GET_XSAVE");
	q = (uint64_t *)((char *)xs->region + 160 + 16);
	ksft_test_result(q[0] == XMM_PATTERN1 && q[1] == ~XMM_PATTERN1 &&
			 (((uint64_t *)xs->region)[64] & 3),
			 "KVM_GET_XSAVE: XMM1 in the legacy region, x87/SSE in XSTATE_BV\n");
	q = (uint64_t *)((char *)xs->region + 160 + 32);
	q[0] = 0x1111222233334444ULL;
	q[1] = 0x5555666677778888ULL;
	((uint64_t *)xs->region)[64] |= 2;
	CHECK_OK(ioctl(v->fd, KVM_SET_XSAVE, xs), "KVM_SET_XSAVE");
	TEST_ASSERT(run_sync(v, &uc), "guest reports xmm2");
	ksft_test_result(uc.args[0] == 0x1111222233334444ULL &&
			 uc.args[1] == 0x5555666677778888ULL,
			 "the guest sees KVM_SET_XSAVE's XMM2\n");

	/* The XSAVE header must be a plain one: no unknown feature, no XCOMP_BV. */
	xs2 = calloc(1, sizeof(*xs2));
	memcpy(xs2, xs, sizeof(*xs));
	((uint64_t *)xs2->region)[64] |= 1ULL << 63;
	CHECK_ERRNO(ioctl(v->fd, KVM_SET_XSAVE, xs2), EINVAL,
		    "KVM_SET_XSAVE with XSTATE_BV bit 63 -> EINVAL");
	memcpy(xs2, xs, sizeof(*xs));
	((uint64_t *)xs2->region)[65] = 1ULL << 63 | 3;
	CHECK_ERRNO(ioctl(v->fd, KVM_SET_XSAVE, xs2), EINVAL,
		    "KVM_SET_XSAVE with XCOMP_BV set (compacted) -> EINVAL");
	memcpy(xs2, xs, sizeof(*xs));
	w = (uint32_t *)xs2->region;
	w[6] = 0xffff0000;	/* MXCSR reserved bits */
	CHECK_ERRNO(ioctl(v->fd, KVM_SET_XSAVE, xs2), EINVAL,
		    "KVM_SET_XSAVE with reserved MXCSR bits -> EINVAL");
	free(xs2);

	ksft_test_result(size2 >= (int)sizeof(struct kvm_xsave),
			 "KVM_CAP_XSAVE2 is at least 4096 (%d)\n", size2);
	if (size2 >= (int)sizeof(struct kvm_xsave)) {
		char *buf = calloc(1, size2);

		CHECK_OK(ioctl(v->fd, KVM_GET_XSAVE2, buf), "KVM_GET_XSAVE2");
		TEST_ASSERT(!ioctl(v->fd, KVM_GET_XSAVE, xs), "KVM_GET_XSAVE");
		ksft_test_result(!memcmp(buf, xs->region, 576),
				 "KVM_GET_XSAVE2 and KVM_GET_XSAVE agree (legacy region, header)\n");
		free(buf);
	} else {
		ksft_test_result(false, "KVM_GET_XSAVE2: no size\n");
	}
	free(xs);
	kvm_vm_free(vm);
}

/* ---- XCRs ---- */

static uint64_t supported_xcr0(void)
{
	struct kvm_cpuid2 *c = kvm_get_supported_cpuid();
	uint64_t x = 1;

	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == 0xd && c->entries[i].index == 0)
			x = c->entries[i].eax | ((uint64_t)c->entries[i].edx << 32);
	free(c);
	return x;
}

static void test_xcrs(void)
{
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *v = vcpu_add(vm, 0, guest_xgetbv);
	uint64_t want = supported_xcr0() & 7;
	struct kvm_xcrs x = {}, y;
	struct kvm_sregs s;
	struct ucall uc;

	TEST_ASSERT(!ioctl(v->fd, KVM_GET_XCRS, &x), "KVM_GET_XCRS");
	ksft_test_result(x.nr_xcrs == 1 && x.flags == 0 && x.xcrs[0].xcr == 0 &&
			 x.xcrs[0].value == 1,
			 "KVM_GET_XCRS after reset: one XCR, XCR0 = 1 (x87)\n");
	{
		/* The guest's own XCR0, not the host's, from its first XGETBV. */
		struct kvm_vm *vm2 = vm_create();
		struct kvm_vcpu *v2 = vcpu_add(vm2, 0, guest_osxsave_xgetbv);

		TEST_ASSERT(run_sync(v2, &uc), "xgetbv after CR4.OSXSAVE");
		CHECK_EQ(uc.args[0], 1, "XCR0 when the guest has just set CR4.OSXSAVE: 1 (x87)");
		kvm_vm_free(vm2);
	}

	vcpu_get_sregs(v, &s);
	s.cr4 |= X86_CR4_OSXSAVE;
	vcpu_set_sregs(v, &s);
	x.nr_xcrs = 1;
	x.xcrs[0].xcr = 0;
	x.xcrs[0].value = want;
	CHECK_OK(ioctl(v->fd, KVM_SET_XCRS, &x), "KVM_SET_XCRS XCR0 = 0x%llx",
		 (unsigned long long)want);
	TEST_ASSERT(run_sync(v, &uc), "xgetbv");
	CHECK_EQ(uc.args[0], want, "the guest's XGETBV reads KVM_SET_XCRS's XCR0");

	y = x;
	y.xcrs[0].value = 0;
	CHECK_ERRNO(ioctl(v->fd, KVM_SET_XCRS, &y), EINVAL, "XCR0 = 0 (no x87) -> EINVAL");
	y.xcrs[0].value = 5;
	CHECK_ERRNO(ioctl(v->fd, KVM_SET_XCRS, &y), EINVAL,
		    "XCR0 with AVX but not SSE -> EINVAL");
	y.xcrs[0].value = 1ULL << 62;
	CHECK_ERRNO(ioctl(v->fd, KVM_SET_XCRS, &y), EINVAL,
		    "XCR0 with an unsupported feature -> EINVAL");
	y = x;
	y.flags = 1;
	CHECK_ERRNO(ioctl(v->fd, KVM_SET_XCRS, &y), EINVAL, "KVM_SET_XCRS flags -> EINVAL");
	y = x;
	y.nr_xcrs = KVM_MAX_XCRS + 1;
	CHECK_ERRNO(ioctl(v->fd, KVM_SET_XCRS, &y), EINVAL,
		    "KVM_SET_XCRS with 17 XCRs -> EINVAL");
	y = x;
	y.xcrs[0].xcr = 1;
	y.xcrs[0].value = 3;
	CHECK_OK(ioctl(v->fd, KVM_SET_XCRS, &y), "KVM_SET_XCRS of XCR1 only: ignored, 0");
	TEST_ASSERT(!ioctl(v->fd, KVM_GET_XCRS, &y), "KVM_GET_XCRS");
	CHECK_EQ(y.xcrs[0].value, want, "XCR0 unchanged by it");
	kvm_vm_free(vm);
}

/* ---- SREGS2 ---- */

#define SREGS_COMMON	offsetof(struct kvm_sregs, interrupt_bitmap)

static void test_sregs2(void)
{
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *v = vcpu_add(vm, 0, guest_rbx);
	struct kvm_sregs2 s2, t;
	struct kvm_sregs s;
	uint64_t *pdpt;
	struct ucall uc;
	int i;

	TEST_ASSERT(kvm_check_cap(KVM_CAP_SREGS2) > 0, "KVM_CAP_SREGS2");
	vcpu_get_sregs(v, &s);
	TEST_ASSERT(!ioctl(v->fd, KVM_GET_SREGS2, &s2), "KVM_GET_SREGS2");
	ksft_test_result(!memcmp(&s, &s2, SREGS_COMMON) && s2.flags == 0,
			 "KVM_GET_SREGS2 in long mode: KVM_GET_SREGS's fields, no PDPTEs\n");
	t = s2;
	t.flags = 2;
	CHECK_ERRNO(ioctl(v->fd, KVM_SET_SREGS2, &t), EINVAL, "KVM_SET_SREGS2 unknown flag -> EINVAL");
	t = s2;
	t.flags = KVM_SREGS2_FLAGS_PDPTRS_VALID;
	CHECK_ERRNO(ioctl(v->fd, KVM_SET_SREGS2, &t), EINVAL,
		    "KVM_SET_SREGS2 with PDPTEs outside PAE paging -> EINVAL");
	t = s2;
	t.cr0 = X86_CR0_PG | X86_CR0_ET;	/* PG without PE */
	t.efer = 0;
	t.cs.l = 0;
	CHECK_ERRNO(ioctl(v->fd, KVM_SET_SREGS2, &t), EINVAL,
		    "KVM_SET_SREGS2 with KVM_SET_SREGS's checks (PG without PE) -> EINVAL");
	CHECK_OK(ioctl(v->fd, KVM_SET_SREGS2, &s2), "KVM_SET_SREGS2 of what it read");
	TEST_ASSERT(run_sync(v, &uc), "guest runs after SET_SREGS2");

	/* 32-bit PAE paging: a PDPT at DATA_GPA with four entries. */
	pdpt = addr_gpa2hva(vm, DATA_GPA);
	for (i = 0; i < 4; i++)
		pdpt[i] = (PD_GPA + i * 4096) | 1;
	vm_load_code(vm, CODE_GPA, pae_start, pae_end);
	vcpu_setup_pm32(v, CODE_GPA, false);
	vcpu_get_sregs(v, &s);
	s.cr3 = DATA_GPA;
	s.cr4 = X86_CR4_PAE;
	s.cr0 |= X86_CR0_PG;
	vcpu_set_sregs(v, &s);
	TEST_ASSERT(!ioctl(v->fd, KVM_GET_SREGS2, &s2), "KVM_GET_SREGS2");
	ksft_test_result((s2.flags & KVM_SREGS2_FLAGS_PDPTRS_VALID) &&
			 !memcmp(s2.pdptrs, pdpt, sizeof(s2.pdptrs)),
			 "KVM_GET_SREGS2 in PAE paging: the PDPTEs, loaded from CR3\n");
	CHECK_OK(ioctl(v->fd, KVM_SET_SREGS2, &s2),
		 "KVM_SET_SREGS2 with the PDPTEs in PAE paging");
	ksft_test_result(vcpu_run(v) == 0 && v->run->exit_reason == KVM_EXIT_IO,
			 "the PAE guest runs on them\n");
	kvm_vm_free(vm);
}

/* ---- sync regs ---- */

static void test_sync_regs(void)
{
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *v = vcpu_add(vm, 0, guest_rbx);
	struct kvm_run *run = v->run;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct ucall uc;
	int cap = kvm_check_cap(KVM_CAP_SYNC_REGS);

	CHECK_EQ(cap, KVM_SYNC_X86_VALID_FIELDS, "KVM_CAP_SYNC_REGS: regs, sregs, events");
	run->kvm_valid_regs = 1 << 3;
	CHECK_ERRNO(ioctl(v->fd, KVM_RUN, 0), EINVAL, "an unknown kvm_valid_regs bit -> EINVAL");
	run->kvm_valid_regs = 0;
	run->kvm_dirty_regs = KVM_SYNC_X86_REGS | (1 << 5);
	CHECK_ERRNO(ioctl(v->fd, KVM_RUN, 0), EINVAL, "an unknown kvm_dirty_regs bit -> EINVAL");
	run->kvm_dirty_regs = 0;

	run->kvm_valid_regs = KVM_SYNC_X86_VALID_FIELDS;
	TEST_ASSERT(run_sync(v, &uc), "guest");
	vcpu_get_regs(v, &regs);
	vcpu_get_sregs(v, &sregs);
	ksft_test_result(!memcmp(&regs, &run->s.regs.regs, sizeof(regs)) &&
			 !memcmp(&sregs, &run->s.regs.sregs, sizeof(sregs)),
			 "kvm_valid_regs: the sync area holds KVM_GET_REGS's and KVM_GET_SREGS's values\n");

	run->s.regs.regs.rbx = 0x1234abcd;
	run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
	TEST_ASSERT(run_sync(v, &uc), "guest");
	ksft_test_result(uc.args[0] == 0x1234abcd && !(run->kvm_dirty_regs & KVM_SYNC_X86_REGS),
			 "kvm_dirty_regs REGS: the guest sees the sync area's RBX; the bit is cleared\n");

	run->s.regs.sregs.cr0 = X86_CR0_PG | X86_CR0_ET;	/* PG without PE */
	run->kvm_dirty_regs = KVM_SYNC_X86_SREGS;
	CHECK_ERRNO(ioctl(v->fd, KVM_RUN, 0), EINVAL,
		    "kvm_dirty_regs SREGS with an invalid CR0 -> EINVAL");
	run->kvm_dirty_regs = 0;
	run->kvm_valid_regs = 0;
	TEST_ASSERT(run_sync(v, &uc), "guest runs on");
	kvm_vm_free(vm);
}

/* ---- signal mask ---- */

static void on_usr1(int sig __attribute__((unused)))
{
}

static void test_sigmask(void)
{
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *v = vcpu_add(vm, 0, guest_rbx);
	/* struct kvm_signal_mask: the kernel's 8-byte mask right after len. */
	struct {
		uint32_t len;
		uint8_t set[8];
	} __attribute__((packed)) m;
	sigset_t blocked, pending, old;
	struct ucall uc;
	int r;

	signal(SIGUSR1, on_usr1);
	memset(&m, 0, sizeof(m));
	m.len = 4;
	CHECK_ERRNO(ioctl(v->fd, KVM_SET_SIGNAL_MASK, &m), EINVAL,
		    "KVM_SET_SIGNAL_MASK with len 4 -> EINVAL");
	CHECK_ERRNO(ioctl(v->fd, KVM_SET_SIGNAL_MASK, (void *)8), EFAULT,
		    "KVM_SET_SIGNAL_MASK with a bad pointer -> EFAULT");

	/* QEMU's use: SIGUSR1 blocked in the thread, open while in KVM_RUN. */
	sigemptyset(&blocked);
	sigaddset(&blocked, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &blocked, &old);
	m.len = 8;
	memset(m.set, 0, sizeof(m.set));
	CHECK_OK(ioctl(v->fd, KVM_SET_SIGNAL_MASK, &m), "KVM_SET_SIGNAL_MASK (nothing blocked)");
	raise(SIGUSR1);
	r = ioctl(v->fd, KVM_RUN, 0);
	sigpending(&pending);
	ksft_test_result(r == -1 && errno == EINTR && v->run->exit_reason == KVM_EXIT_INTR &&
			 sigismember(&pending, SIGUSR1),
			 "a signal the thread blocks but the vCPU mask does not: KVM_RUN -> EINTR, still pending after\n");

	/* The vCPU mask blocks it: the guest runs to its ucall. */
	m.set[(SIGUSR1 - 1) / 8] |= 1 << ((SIGUSR1 - 1) % 8);
	CHECK_OK(ioctl(v->fd, KVM_SET_SIGNAL_MASK, &m), "KVM_SET_SIGNAL_MASK (SIGUSR1)");
	ksft_test_result(run_sync(v, &uc),
			 "a pending signal the vCPU mask blocks does not stop KVM_RUN\n");
	CHECK_OK(ioctl(v->fd, KVM_SET_SIGNAL_MASK, NULL), "KVM_SET_SIGNAL_MASK NULL (none)");
	{
		struct timespec ts = { 0, 0 };

		sigtimedwait(&blocked, NULL, &ts);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	kvm_vm_free(vm);
}

/* ---- TSC ---- */

static void test_tsc(void)
{
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *v = vcpu_add(vm, 0, guest_rdtsc);
	long khz = ioctl(v->fd, KVM_GET_TSC_KHZ, 0);
	uint64_t offset = 1ULL << 40, got, before, after;
	struct kvm_device_attr attr = {
		.group = KVM_VCPU_TSC_CTRL, .attr = KVM_VCPU_TSC_OFFSET,
		.addr = (uint64_t)&offset,
	};
	struct ucall uc;

	ksft_test_result(kvm_check_cap(KVM_CAP_GET_TSC_KHZ) && khz > 0,
			 "KVM_GET_TSC_KHZ: %ld kHz\n", khz);
	CHECK_OK(ioctl(v->fd, KVM_SET_TSC_KHZ, khz), "KVM_SET_TSC_KHZ of the current frequency");
	CHECK_OK(ioctl(v->fd, KVM_SET_TSC_KHZ, 0), "KVM_SET_TSC_KHZ 0 (the host's)");
	if (!kvm_check_cap(KVM_CAP_TSC_CONTROL)) {
		CHECK_ERRNO(ioctl(v->fd, KVM_SET_TSC_KHZ, khz / 2), EINVAL,
			    "KVM_SET_TSC_KHZ of half the frequency without TSC scaling -> EINVAL");
		if (is_ckvm())
			CHECK_ERRNO(ioctl(v->fd, KVM_SET_TSC_KHZ, khz * 2), EINVAL,
				    "KVM_SET_TSC_KHZ of twice the frequency without TSC scaling -> EINVAL");
		else
			ksft_test_result_skip("KVM_SET_TSC_KHZ of twice the frequency: KVM takes it (it catches the TSC up at each entry); ckvm refuses it\n");
	} else {
		ksft_test_result_skip("KVM_SET_TSC_KHZ below the host's: this CPU scales the TSC\n");
		ksft_test_result_skip("KVM_SET_TSC_KHZ above the host's: this CPU scales the TSC\n");
	}
	/* KVM keeps a refused frequency as the vCPU's; set it back. */
	CHECK_OK(ioctl(v->fd, KVM_SET_TSC_KHZ, khz), "KVM_SET_TSC_KHZ back to the host's");
	CHECK_EQ(ioctl(v->fd, KVM_GET_TSC_KHZ, 0), khz, "KVM_GET_TSC_KHZ reads it");

	CHECK_OK(ioctl(v->fd, KVM_HAS_DEVICE_ATTR, &attr), "vCPU KVM_HAS_DEVICE_ATTR KVM_VCPU_TSC_OFFSET");
	CHECK_OK(ioctl(v->fd, KVM_SET_DEVICE_ATTR, &attr), "KVM_SET_DEVICE_ATTR TSC offset 2^40");
	before = __builtin_ia32_rdtsc() + offset;
	TEST_ASSERT(run_sync(v, &uc), "rdtsc");
	after = __builtin_ia32_rdtsc() + offset;
	got = uc.args[0];
	ksft_test_result(got >= before && got <= after,
			 "the guest's TSC is the host's plus the offset\n");
	offset = 0;
	CHECK_OK(ioctl(v->fd, KVM_GET_DEVICE_ATTR, &attr), "KVM_GET_DEVICE_ATTR TSC offset");
	CHECK_EQ(offset, 1ULL << 40, "KVM_GET_DEVICE_ATTR reads the offset back");
	attr.attr = 1;
	CHECK_ERRNO(ioctl(v->fd, KVM_HAS_DEVICE_ATTR, &attr), ENXIO, "an unknown TSC attribute -> ENXIO");
	attr.group = 7;
	attr.attr = 0;
	CHECK_ERRNO(ioctl(v->fd, KVM_GET_DEVICE_ATTR, &attr), ENXIO, "an unknown attribute group -> ENXIO");
	kvm_vm_free(vm);
}

/* ---- /dev/kvm attributes ---- */

static void test_dev_attr(void)
{
	int kvm = kvm_open();
	uint64_t val = 0;
	struct kvm_device_attr attr = {
		.group = 0, .attr = KVM_X86_XCOMP_GUEST_SUPP, .addr = (uint64_t)&val,
	};

	TEST_ASSERT(kvm_check_cap(KVM_CAP_SYS_ATTRIBUTES), "KVM_CAP_SYS_ATTRIBUTES");
	CHECK_OK(ioctl(kvm, KVM_HAS_DEVICE_ATTR, &attr), "/dev/kvm KVM_HAS_DEVICE_ATTR XCOMP_GUEST_SUPP");
	CHECK_OK(ioctl(kvm, KVM_GET_DEVICE_ATTR, &attr), "/dev/kvm KVM_GET_DEVICE_ATTR XCOMP_GUEST_SUPP");
	ksft_test_result((val & 3) == 3 && val == supported_xcr0(),
			 "XCOMP_GUEST_SUPP is KVM_GET_SUPPORTED_CPUID's XCR0 (0x%llx)\n",
			 (unsigned long long)val);
	attr.attr = 5;
	CHECK_ERRNO(ioctl(kvm, KVM_GET_DEVICE_ATTR, &attr), ENXIO, "/dev/kvm: unknown attribute -> ENXIO");
	attr.attr = 0;
	/* Not 1: KVM 6.12 has group 1, KVM_X86_GRP_SEV. */
	attr.group = 2;
	CHECK_ERRNO(ioctl(kvm, KVM_GET_DEVICE_ATTR, &attr), ENXIO, "/dev/kvm: unknown group -> ENXIO");
	attr.group = 0;
	attr.addr = 8;
	CHECK_ERRNO(ioctl(kvm, KVM_GET_DEVICE_ATTR, &attr), EFAULT, "/dev/kvm: bad address -> EFAULT");
	close(kvm);
}

int main(void)
{
	ksft_print_header();
	ksft_set_plan(1 + 8 + 14 + 11 + 8 + 6 + 7 + 14 + 6);
	{
		static const long caps[] = {
			KVM_CAP_SET_TSS_ADDR, KVM_CAP_SET_IDENTITY_MAP_ADDR,
			KVM_CAP_XSAVE, KVM_CAP_XCRS, KVM_CAP_VCPU_EVENTS,
			KVM_CAP_DEBUGREGS, KVM_CAP_SREGS2, KVM_CAP_USER_NMI,
			KVM_CAP_KVMCLOCK_CTRL,
			KVM_CAP_VCPU_ATTRIBUTES, KVM_CAP_X86_USER_SPACE_MSR,
			KVM_CAP_X86_MSR_FILTER, KVM_CAP_X86_TRIPLE_FAULT_EVENT,
		};
		bool ok = true;

		for (unsigned int i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
			if (kvm_check_cap(caps[i]) <= 0) {
				ksft_print_msg("capability %ld not reported", caps[i]);
				ok = false;
			}
		ksft_test_result(ok, "the state capabilities are reported\n");
	}
	test_tss_identity();
	test_fpu_xsave();
	test_xcrs();
	test_sregs2();
	test_sync_regs();
	test_sigmask();
	test_tsc();
	test_dev_attr();
	return ksft_finished();
}
