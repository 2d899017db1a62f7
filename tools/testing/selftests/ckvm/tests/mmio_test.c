// SPDX-License-Identifier: GPL-2.0
/*
 * MMIO through the instruction emulator: KVM_EXIT_MMIO for guest accesses
 * to a gpa no memslot covers, in every CPU mode and through every kind of
 * guest page table.
 *
 *  - real mode, 32-bit protected mode (no paging, 32-bit paging with 4 MiB
 *    and with 4 KiB pages, PAE paging) and 64-bit mode: MMIO writes and
 *    reads of 1, 2, 4 and 8 bytes and 16-byte SSE moves; each exit's
 *    address, length, direction and data are checked, and what the guest
 *    read (the data the host left in kvm_run) comes back through OUT;
 *    a MOVS from MMIO to RAM leaves the guest's PTE Accessed and Dirty;
 *  - REP STOS and REP MOVS to, from and between MMIO pages, over page
 *    boundaries, over the edge of a memslot (an access half RAM, half
 *    MMIO is split), upwards and downwards;
 *  - KVM_MEM_READONLY slots: reads from memory, writes as MMIO, memory
 *    never written; the bad inputs of the flag;
 *  - the guest's CPUID vendor, not the host's, chooses where the vendors
 *    differ: MOVSXD with a 16-bit operand reads 4 bytes of MMIO in an
 *    AuthenticAMD guest, 2 in a GenuineIntel one;
 *  - an instruction the emulator does not know on MMIO: KVM_EXIT_INTERNAL_ERROR
 *    with KVM_INTERNAL_ERROR_EMULATION and its bytes, with and without
 *    KVM_CAP_EXIT_ON_EMULATION_FAILURE.
 *
 * The host plays a memory-like device: what the guest writes is stored,
 * what it reads comes from there, and every exit is logged.
 */
#include "ckvm_util.h"

/* ---- the device ---- */

struct mmio_rec {
	uint64_t addr;
	uint32_t len;
	bool write;
	uint64_t data;		/* first 8 bytes */
};

#define MAX_LOG 512
static struct mmio_rec mlog[MAX_LOG];
static int nlog;

struct region {
	uint64_t gpa, size;
	uint8_t *mem;
};
static struct region regions[4];
static int nregions;
static bool stray;		/* an exit outside every region */

static void dev_reset(void)
{
	nlog = 0;
	nregions = 0;
	stray = false;
}

/* A device region at @gpa; its bytes start as pattern(offset). */
static uint8_t pattern(uint64_t off)
{
	return (uint8_t)(off * 13 + 7);
}

static uint8_t *dev_add(uint64_t gpa, uint64_t size)
{
	struct region *r = &regions[nregions++];

	r->gpa = gpa;
	r->size = size;
	r->mem = malloc(size);
	for (uint64_t i = 0; i < size; i++)
		r->mem[i] = pattern(i);
	return r->mem;
}

static void dev_mmio(struct kvm_run *run)
{
	struct mmio_rec *rec = &mlog[nlog < MAX_LOG ? nlog++ : MAX_LOG - 1];

	rec->addr = run->mmio.phys_addr;
	rec->len = run->mmio.len;
	rec->write = run->mmio.is_write;
	rec->data = 0;
	for (int i = 0; i < nregions; i++) {
		struct region *r = &regions[i];
		uint64_t off = run->mmio.phys_addr - r->gpa;

		if (run->mmio.phys_addr < r->gpa || off + run->mmio.len > r->size)
			continue;
		if (run->mmio.is_write)
			memcpy(r->mem + off, run->mmio.data, run->mmio.len);
		else
			memcpy(run->mmio.data, r->mem + off, run->mmio.len);
		memcpy(&rec->data, run->mmio.data, run->mmio.len > 8 ? 8 : run->mmio.len);
		return;
	}
	stray = true;
}

/* KVM_RUN until an exit that is not MMIO; MMIO goes to the device. */
static int run_dev(struct kvm_vcpu *v)
{
	for (;;) {
		int r = vcpu_run(v);

		if (r)
			return r;
		if (v->run->exit_reason != KVM_EXIT_MMIO)
			return 0;
		dev_mmio(v->run);
	}
}

static int run_dev_ucall(struct kvm_vcpu *v, struct ucall *uc)
{
	int r = run_dev(v);

	if (r) {
		ksft_print_msg("KVM_RUN: %s", strerror(-r));
		return UCALL_NONE;
	}
	r = get_ucall(v, uc);
	if (r == UCALL_ABORT)
		ksft_print_msg("guest assertion failed at %s:%llu: %s (0x%llx vs 0x%llx)",
			       uc->file, (unsigned long long)uc->line, uc->expr,
			       (unsigned long long)uc->args[0], (unsigned long long)uc->args[1]);
	else if (r == UCALL_NONE)
		ksft_print_msg("unexpected exit %u (%s)", v->run->exit_reason,
			       exit_reason_str(v->run->exit_reason));
	return r;
}

#define ANY_DATA	0xdeadbeefcafef00dULL

/*
 * Does log entry @i say this (@data ANY_DATA: whatever the data)? Prints
 * the difference if not.
 */
static bool rec_is(int i, uint64_t addr, uint32_t len, bool write, uint64_t data)
{
	struct mmio_rec *r = &mlog[i];
	uint64_t m = data == ANY_DATA ? 0 : len >= 8 ? ~0ULL : (1ULL << (len * 8)) - 1;

	if (i < nlog && r->addr == addr && r->len == len && r->write == write &&
	    (r->data & m) == (data & m))
		return true;
	if (i >= nlog)
		ksft_print_msg("exit %d: none (%d exits), want %s 0x%llx len %u", i, nlog,
			       write ? "write" : "read", (unsigned long long)addr, len);
	else
		ksft_print_msg("exit %d: %s 0x%llx len %u data 0x%llx; want %s 0x%llx len %u data 0x%llx",
			       i, r->write ? "write" : "read", (unsigned long long)r->addr,
			       r->len, (unsigned long long)r->data, write ? "write" : "read",
			       (unsigned long long)addr, len, (unsigned long long)(data & m));
	return false;
}

static uint64_t pat_le(uint64_t off, int len)
{
	uint64_t v = 0;

	for (int i = 0; i < len && i < 8; i++)
		v |= (uint64_t)pattern(off + i) << (8 * i);
	return v;
}

/* ---- real and 32-bit protected mode ---- */

/* The MMIO hole of the small-mode VMs: a VGA-like window below 1 MiB. */
#define LOW_MMIO	0xa0000ULL
#define LOW_MMIO_END	0xc0000ULL

/*
 * The same accesses in both: writes of 1, 2, 4 bytes, reads of 1, 2, 4
 * (each sent out on port 0x10), an 8-byte read and write (CMPXCHG8B, which
 * finds what it expects), a 16-byte read and write (MOVDQU), then a MOVS
 * from MMIO to RAM.
 */
asm(".pushsection .text\n"
    ".code16\n"
    "rm_start:\n"
    "	mov $0xa000, %ax\n"
    "	mov %ax, %ds\n"
    "	xor %ax, %ax\n"
    "	mov %ax, %es\n"
    "	movb $0x11, 0x0\n"
    "	movw $0x2222, 0x2\n"
    "	movl $0x33333333, 0x4\n"
    "	mov 0x10, %al\n"
    "	out %al, $0x10\n"
    "	mov 0x12, %ax\n"
    "	out %ax, $0x10\n"
    "	mov 0x14, %eax\n"
    "	out %eax, $0x10\n"
    "	mov $0xcec1b4a7, %eax\n"	/* the device's bytes 0x20-0x27 */
    "	mov $0x02f5e8db, %edx\n"
    "	mov $0x55667788, %ebx\n"
    "	mov $0x11223344, %ecx\n"
    "	cmpxchg8b 0x20\n"
    "	movdqu 0x30, %xmm1\n"
    "	movdqu %xmm1, 0x40\n"
    "	mov $0x50, %si\n"
    "	mov $0x1000, %di\n"		/* es:0x1000 = 0x1000: RAM */
    "	movsl\n"
    "	hlt\n"
    "rm_end:\n"
    ".code32\n"
    "pm_start:\n"
    "	movb $0x11, 0xa0000\n"
    "	movw $0x2222, 0xa0002\n"
    "	movl $0x33333333, 0xa0004\n"
    "	mov 0xa0010, %al\n"
    "	out %al, $0x10\n"
    "	mov 0xa0012, %ax\n"
    "	out %ax, $0x10\n"
    "	mov 0xa0014, %eax\n"
    "	out %eax, $0x10\n"
    "	mov $0xcec1b4a7, %eax\n"
    "	mov $0x02f5e8db, %edx\n"
    "	mov $0x55667788, %ebx\n"
    "	mov $0x11223344, %ecx\n"
    "	cmpxchg8b 0xa0020\n"
    "	movdqu 0xa0030, %xmm1\n"
    "	movdqu %xmm1, 0xa0040\n"
    "	mov $0xa0050, %esi\n"
    "	mov $0x10000, %edi\n"		/* DATA_GPA */
    "	movsl\n"
    "	hlt\n"
    "pm_end:\n"
    ".code64\n"
    ".popsection\n");
extern char rm_start[], rm_end[], pm_start[], pm_end[];

/* A VM with slot 0 cut in two around [LOW_MMIO, LOW_MMIO_END). */
static struct kvm_vm *vm_with_low_hole(void)
{
	struct kvm_vm *vm = vm_create();
	uint8_t *hva = addr_gpa2hva(vm, 0);

	TEST_ASSERT(!__vm_set_region(vm, 0, 0, 0, 0, hva), "delete slot 0");
	TEST_ASSERT(!__vm_set_region(vm, 0, 0, 0, LOW_MMIO, hva), "slot 0 below the hole");
	TEST_ASSERT(!__vm_set_region(vm, 1, 0, LOW_MMIO_END, MAIN_MEM_SIZE - LOW_MMIO_END,
				     hva + LOW_MMIO_END), "slot 1 above the hole");
	vm_track_memslot(vm, 0, 0, LOW_MMIO, 0, hva);
	vm_track_memslot(vm, 1, LOW_MMIO_END, MAIN_MEM_SIZE - LOW_MMIO_END, 0,
			 hva + LOW_MMIO_END);
	return vm;
}

enum small_mode { M_REAL, M_PM32, M_PSE, M_PG4K, M_PAE, NR_SMALL };
static const char *const small_name[NR_SMALL] = {
	"real mode", "32-bit, no paging", "32-bit paging, 4 MiB pages",
	"32-bit paging, 4 KiB pages", "PAE paging, 4 KiB pages",
};

/*
 * Page tables for the 4 KiB modes, identity-mapping the first 2 MiB;
 * returns the PTE (32-bit or PAE) that maps @data_gpa, A and D clear.
 */
static void *setup_small_paging(struct kvm_vm *vm, struct kvm_sregs *s, enum small_mode m,
				uint64_t data_gpa, bool *pae)
{
	*pae = m == M_PAE;
	if (m == M_PSE) {
		uint32_t *pd = addr_gpa2hva(vm, PD32_GPA);

		pd[0] &= ~0x60u;	/* the 4 MiB page: A, D clear */
		s->cr3 = PD32_GPA;
		s->cr4 |= X86_CR4_PSE;
		return pd;
	}
	if (m == M_PG4K) {
		uint64_t pd_gpa = vm_alloc_pages(vm, 1), pt_gpa = vm_alloc_pages(vm, 1);
		uint32_t *pd = addr_gpa2hva(vm, pd_gpa), *pt = addr_gpa2hva(vm, pt_gpa);

		for (uint32_t i = 0; i < 1024; i++)
			pt[i] = (i << 12) | 0x3;
		pd[0] = pt_gpa | 0x3;
		s->cr3 = pd_gpa;
		return &pt[data_gpa >> 12];
	}
	/* PAE: a PDPT (32 bytes), a PD whose first entry is a 4 KiB table. */
	uint64_t pdpt_gpa = vm_alloc_pages(vm, 1), pd_gpa = vm_alloc_pages(vm, 1);
	uint64_t pt_gpa = vm_alloc_pages(vm, 1);
	uint64_t *pdpt = addr_gpa2hva(vm, pdpt_gpa), *pd = addr_gpa2hva(vm, pd_gpa);
	uint64_t *pt = addr_gpa2hva(vm, pt_gpa);

	for (uint64_t i = 0; i < 512; i++) {
		pt[i] = (i << 12) | 0x3;
		pd[i] = (i << 21) | 0x83;
	}
	pd[0] = pt_gpa | 0x3;
	pdpt[0] = pd_gpa | 0x1;
	s->cr3 = pdpt_gpa;
	s->cr4 |= X86_CR4_PAE;
	return &pt[data_gpa >> 12];
}

static bool expect_out(struct kvm_vcpu *v, int size, uint64_t val)
{
	uint64_t d = 0;
	int r = run_dev(v);

	if (!r && v->run->exit_reason == KVM_EXIT_IO && v->run->io.port == 0x10 &&
	    v->run->io.size == size && v->run->io.direction == KVM_EXIT_IO_OUT) {
		memcpy(&d, (char *)v->run + v->run->io.data_offset, size);
		if (d == val)
			return true;
	}
	ksft_print_msg("want OUT 0x10 size %d value 0x%llx; got r=%d exit %u (%s) size %d value 0x%llx",
		       size, (unsigned long long)val, r, v->run->exit_reason,
		       exit_reason_str(v->run->exit_reason), v->run->io.size,
		       (unsigned long long)d);
	return false;
}

/* 9 points per mode. */
static void test_small_mode(enum small_mode m)
{
	struct kvm_vm *vm = vm_with_low_hole();
	struct kvm_vcpu *v = vcpu_create(vm, 0);
	const char *name = small_name[m];
	uint64_t data = m == M_REAL ? 0x1000 : DATA_GPA;
	struct kvm_sregs s;
	void *pte = NULL;
	bool pae = false, ok;
	uint8_t *dev;
	int i = 0;

	dev_reset();
	dev = dev_add(LOW_MMIO, LOW_MMIO_END - LOW_MMIO);
	if (m == M_REAL) {
		vm_load_code(vm, CODE_GPA, rm_start, rm_end);
		vcpu_setup_real_mode(v, 0, CODE_GPA);
	} else {
		vm_load_code(vm, CODE_GPA, pm_start, pm_end);
		vcpu_setup_pm32(v, CODE_GPA, false);
	}
	memset(addr_gpa2hva(vm, data), 0, 4);
	vcpu_get_sregs(v, &s);
	s.cr4 |= X86_CR4_OSFXSR;	/* the SSE moves */
	if (m >= M_PSE) {
		s.cr0 |= X86_CR0_PG;
		pte = setup_small_paging(vm, &s, m, data, &pae);
	}
	vcpu_set_sregs(v, &s);

	ksft_test_result(expect_out(v, 1, pattern(0x10)) && rec_is(0, LOW_MMIO, 1, true, 0x11) &&
			 rec_is(1, LOW_MMIO + 2, 2, true, 0x2222) &&
			 rec_is(2, LOW_MMIO + 4, 4, true, 0x33333333) &&
			 dev[0] == 0x11 && dev[2] == 0x22 && dev[7] == 0x33,
			 "%s: MMIO writes of 1, 2, 4 bytes", name);
	ksft_test_result(rec_is(3, LOW_MMIO + 0x10, 1, false, pat_le(0x10, 1)),
			 "%s: 1-byte MMIO read returns the device's byte", name);
	ksft_test_result(expect_out(v, 2, pat_le(0x12, 2)) &&
			 rec_is(4, LOW_MMIO + 0x12, 2, false, pat_le(0x12, 2)),
			 "%s: 2-byte MMIO read", name);
	ksft_test_result(expect_out(v, 4, pat_le(0x14, 4)) &&
			 rec_is(5, LOW_MMIO + 0x14, 4, false, pat_le(0x14, 4)),
			 "%s: 4-byte MMIO read", name);
	ok = !run_dev(v) && v->run->exit_reason == KVM_EXIT_HLT;
	ksft_test_result(ok, "%s: runs to HLT", name);
	i = 6;
	ksft_test_result(rec_is(i, LOW_MMIO + 0x20, 8, false, pat_le(0x20, 8)) &&
			 rec_is(i + 1, LOW_MMIO + 0x20, 8, true, 0x1122334455667788ULL),
			 "%s: 8-byte MMIO read and write (CMPXCHG8B)", name);
	i += 2;
	ksft_test_result(rec_is(i, LOW_MMIO + 0x30, 8, false, pat_le(0x30, 8)) &&
			 rec_is(i + 1, LOW_MMIO + 0x38, 8, false, pat_le(0x38, 8)) &&
			 rec_is(i + 2, LOW_MMIO + 0x40, 8, true, pat_le(0x30, 8)) &&
			 rec_is(i + 3, LOW_MMIO + 0x48, 8, true, pat_le(0x38, 8)),
			 "%s: 16-byte MOVDQU read and write, as two 8-byte exits each", name);
	i += 4;
	ksft_test_result(rec_is(i, LOW_MMIO + 0x50, 4, false, pat_le(0x50, 4)) && nlog == i + 1 &&
			 !stray && *(uint32_t *)addr_gpa2hva(vm, data) == pat_le(0x50, 4),
			 "%s: MOVS from MMIO to RAM (%d exits in all)", name, nlog);
	if (!pte) {
		ksft_test_result(true, "%s: no page tables to update", name);
	} else {
		uint64_t e = pae || m == M_PAE ? *(uint64_t *)pte : *(uint32_t *)pte;

		CHECK_EQ(e & 0x60, 0x60, "%s: the walk set Accessed and Dirty in the data's PTE", name);
	}
	vcpu_free(v);
	kvm_vm_free(vm);
}

/* ---- 64-bit mode ---- */

#define MMIO64		0xd0000000ULL	/* 3 pages, no memslot */
#define EDGE		MAIN_MEM_SIZE	/* slot 0 ends here; MMIO above */

static uint8_t ram_buf[3 * 4096] __attribute__((aligned(4096)));

static void guest_mmio64(void)
{
	volatile uint8_t *m = (volatile uint8_t *)MMIO64;
	uint64_t q;
	uint8_t x[16] __attribute__((aligned(16)));

	*(volatile uint8_t *)(m + 0) = 0x11;
	*(volatile uint16_t *)(m + 2) = 0x2222;
	*(volatile uint32_t *)(m + 4) = 0x33333333;
	*(volatile uint64_t *)(m + 8) = 0x4444444444444444ULL;
	GUEST_SYNC(*(volatile uint8_t *)(m + 0x10));
	GUEST_SYNC(*(volatile uint16_t *)(m + 0x12));
	GUEST_SYNC(*(volatile uint32_t *)(m + 0x14));
	GUEST_SYNC(*(volatile uint64_t *)(m + 0x18));
	/* MOVDQU/MOVDQA load and store; MOVD, MOVQ between MMIO and XMM */
	asm volatile("movdqu (%0), %%xmm2; movdqa %%xmm2, (%1)" :: "r"(m + 0x21), "r"(x) : "memory");
	GUEST_SYNC2(*(uint64_t *)x, *(uint64_t *)(x + 8));
	asm volatile("movdqa (%0), %%xmm3; movdqa %%xmm3, (%1)" :: "r"(m + 0x40), "r"(m + 0x60) : "memory");
	asm volatile("movdqu (%0), %%xmm4; movdqu %%xmm4, (%1)" :: "r"(x), "r"(m + 0x81) : "memory");
	GUEST_SYNC(0);
	/* Not emulated by KVM 6.1: ckvm only (see the host side). */
	asm volatile("movd (%1), %%xmm5; movq %%xmm5, %0" : "=r"(q) : "r"(m + 0xa0) : "memory");
	GUEST_SYNC(q);
	asm volatile("movq %0, %%xmm6; movq %%xmm6, (%1)" :: "r"(0x0102030405060708ULL), "r"(m + 0xb0) : "memory");
	GUEST_DONE();
}

static void test_mmio64(void)
{
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *v = vcpu_add(vm, 0, guest_mmio64);
	struct ucall uc;
	uint8_t *dev;
	bool ok;

	dev_reset();
	dev = dev_add(MMIO64, 3 * 4096);
	ok = run_dev_ucall(v, &uc) == UCALL_SYNC && uc.args[0] == pattern(0x10);
	ksft_test_result(ok && rec_is(0, MMIO64, 1, true, 0x11) && rec_is(1, MMIO64 + 2, 2, true, 0x2222) &&
			 rec_is(2, MMIO64 + 4, 4, true, 0x33333333) &&
			 rec_is(3, MMIO64 + 8, 8, true, 0x4444444444444444ULL) &&
			 dev[2] == 0x22 && dev[15] == 0x44,
			 "64-bit: MMIO writes of 1, 2, 4, 8 bytes");
	ksft_test_result(ok && rec_is(4, MMIO64 + 0x10, 1, false, pattern(0x10)),
			 "64-bit: 1-byte MMIO read");
	ok = run_dev_ucall(v, &uc) == UCALL_SYNC && uc.args[0] == pat_le(0x12, 2);
	ksft_test_result(ok && rec_is(5, MMIO64 + 0x12, 2, false, pat_le(0x12, 2)), "64-bit: 2-byte MMIO read");
	ok = run_dev_ucall(v, &uc) == UCALL_SYNC && uc.args[0] == pat_le(0x14, 4);
	ksft_test_result(ok && rec_is(6, MMIO64 + 0x14, 4, false, pat_le(0x14, 4)), "64-bit: 4-byte MMIO read");
	ok = run_dev_ucall(v, &uc) == UCALL_SYNC && uc.args[0] == pat_le(0x18, 8);
	ksft_test_result(ok && rec_is(7, MMIO64 + 0x18, 8, false, pat_le(0x18, 8)), "64-bit: 8-byte MMIO read");
	ok = run_dev_ucall(v, &uc) == UCALL_SYNC && uc.args[0] == pat_le(0x21, 8) &&
	     uc.args[1] == pat_le(0x29, 8);
	ksft_test_result(ok && rec_is(8, MMIO64 + 0x21, 8, false, pat_le(0x21, 8)) &&
			 rec_is(9, MMIO64 + 0x29, 8, false, pat_le(0x29, 8)),
			 "64-bit: 16-byte MOVDQU read, unaligned, two 8-byte exits");
	ok = run_dev_ucall(v, &uc) == UCALL_SYNC;
	ksft_test_result(ok && rec_is(10, MMIO64 + 0x40, 8, false, pat_le(0x40, 8)) &&
			 rec_is(11, MMIO64 + 0x48, 8, false, pat_le(0x48, 8)) &&
			 rec_is(12, MMIO64 + 0x60, 8, true, pat_le(0x40, 8)) &&
			 rec_is(13, MMIO64 + 0x68, 8, true, pat_le(0x48, 8)),
			 "64-bit: MOVDQA MMIO to XMM to MMIO");
	ksft_test_result(ok && rec_is(14, MMIO64 + 0x81, 8, true, pat_le(0x21, 8)) &&
			 rec_is(15, MMIO64 + 0x89, 8, true, pat_le(0x29, 8)) &&
			 !memcmp(dev + 0x81, dev + 0x21, 16),
			 "64-bit: MOVDQU store to MMIO");
	if (!is_ckvm()) {
		/* KVM 6.1's emulator has no MOVD/MOVQ (0F 6E/7E, 66 0F D6). */
		ksft_test_result(!run_dev(v) && v->run->exit_reason == KVM_EXIT_INTERNAL_ERROR,
				 "64-bit, KVM: MOVD on MMIO is an emulation failure (exit %u)",
				 v->run->exit_reason);
		ksft_test_result(nlog == 16 && !stray, "64-bit, KVM: 16 exits before it");
		goto out;
	}
	ok = run_dev_ucall(v, &uc) == UCALL_SYNC && uc.args[0] == pat_le(0xa0, 4);
	ksft_test_result(ok && rec_is(16, MMIO64 + 0xa0, 4, false, pat_le(0xa0, 4)),
			 "64-bit: MOVD MMIO to XMM zero-extends");
	ok = run_dev_ucall(v, &uc) == UCALL_DONE;
	ksft_test_result(ok && rec_is(17, MMIO64 + 0xb0, 8, true, 0x0102030405060708ULL) &&
			 nlog == 18 && !stray, "64-bit: MOVQ XMM to MMIO (%d exits in all)", nlog);
out:
	vcpu_free(v);
	kvm_vm_free(vm);
}

/* ---- REP strings ---- */

static void guest_strings(void)
{
	uint8_t *m = (uint8_t *)MMIO64, *p, *q;
	uint64_t n;
	int i;

	/* 1: REP STOSD over the boundary of two MMIO pages */
	p = m + 0xff8;
	n = 6;
	asm volatile("cld; rep stosl" : "+D"(p), "+c"(n) : "a"(0x5a5a5a5a) : "memory");
	GUEST_ASSERT(n == 0 && p == m + 0xff8 + 24);
	/* 2: REP MOVSB RAM -> MMIO over a page boundary */
	for (i = 0; i < 64; i++)
		ram_buf[i] = 0xc0 + i;
	p = ram_buf;
	q = m + 0x1ff0;
	n = 40;
	asm volatile("rep movsb" : "+S"(p), "+D"(q), "+c"(n) :: "memory");
	GUEST_ASSERT(n == 0 && p == ram_buf + 40 && q == m + 0x1ff0 + 40);
	/* 3: REP MOVSQ MMIO -> RAM over a page boundary (reads step 1 back) */
	p = m + 0xff0;
	q = ram_buf + 0x100;
	n = 5;
	asm volatile("rep movsq" : "+S"(p), "+D"(q), "+c"(n) :: "memory");
	GUEST_ASSERT(n == 0 && *(uint64_t *)(ram_buf + 0x108) == 0x5a5a5a5a5a5a5a5aULL);
	GUEST_ASSERT(*(uint32_t *)(ram_buf + 0x118) == 0x5a5a5a5a);
	GUEST_SYNC2(*(uint64_t *)(ram_buf + 0x100), *(uint64_t *)(ram_buf + 0x120));
	/* 4: REP MOVSW MMIO -> MMIO, downwards */
	p = m + 0x2106;
	q = m + 0x2206;
	n = 4;
	asm volatile("std; rep movsw; cld" : "+S"(p), "+D"(q), "+c"(n) :: "memory");
	GUEST_ASSERT(n == 0 && p == m + 0x20fe && q == m + 0x21fe);
	/* 5: REP MOVSQ RAM -> RAM | MMIO over the end of the memslot */
	p = ram_buf;
	q = (uint8_t *)(EDGE - 16);
	n = 4;
	asm volatile("rep movsq" : "+S"(p), "+D"(q), "+c"(n) :: "memory");
	GUEST_ASSERT(n == 0 && q == (uint8_t *)(EDGE + 16));
	GUEST_ASSERT(*(uint64_t *)(EDGE - 8) == *(uint64_t *)(ram_buf + 8));
	/* 6: one 8-byte store half in RAM, half in MMIO */
	*(volatile uint64_t *)(EDGE - 4) = 0x1122334455667788ULL;
	GUEST_ASSERT(*(volatile uint32_t *)(EDGE - 4) == 0x55667788);
	/* 7: an 8-byte load the other way round */
	GUEST_SYNC(*(volatile uint64_t *)(EDGE - 2));
	/* 8: REP STOSB with rCX = 0 touches nothing */
	p = m;
	n = 0;
	asm volatile("rep stosb" : "+D"(p), "+c"(n) : "a"(0) : "memory");
	GUEST_ASSERT(p == m);
	GUEST_DONE();
}

static void test_strings(void)
{
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *v = vcpu_add(vm, 0, guest_strings);
	struct ucall uc;
	uint8_t *dev, *edge;
	bool ok = true;
	int i, j;

	dev_reset();
	dev = dev_add(MMIO64, 3 * 4096);
	edge = dev_add(EDGE, 4096);
	ok = run_dev_ucall(v, &uc) == UCALL_SYNC;
	for (i = 0; i < 6; i++)
		ok &= rec_is(i, MMIO64 + 0xff8 + 4 * i, 4, true, 0x5a5a5a5a);
	ksft_test_result(ok, "REP STOSD over an MMIO page boundary: 6 exits of 4 bytes");
	ok = true;
	for (j = 0; j < 40; j++)
		ok &= rec_is(i + j, MMIO64 + 0x1ff0 + j, 1, true, 0xc0 + j);
	ksft_test_result(ok && dev[0x1ff0] == 0xc0 && dev[0x2017] == 0xc0 + 39,
			 "REP MOVSB RAM to MMIO over a page boundary: 40 exits of 1 byte");
	i += j;
	ok = uc.args[0] == pat_le(0xff0, 8) && uc.args[1] == pat_le(0x1010, 8);
	for (j = 0; j < 5; j++)
		ok &= rec_is(i + j, MMIO64 + 0xff0 + 8 * j, 8, false, ANY_DATA);
	ksft_test_result(ok, "REP MOVSQ MMIO to RAM over a page boundary: 5 reads, data in RAM");
	i += j;
	ok = run_dev_ucall(v, &uc) == UCALL_SYNC;
	for (j = 0; j < 4; j++)
		ok &= rec_is(i + 2 * j, MMIO64 + 0x2106 - 2 * j, 2, false, pat_le(0x2106 - 2 * j, 2)) &&
		      rec_is(i + 2 * j + 1, MMIO64 + 0x2206 - 2 * j, 2, true, pat_le(0x2106 - 2 * j, 2));
	ksft_test_result(ok && !memcmp(dev + 0x2200, dev + 0x2100, 8),
			 "REP MOVSW MMIO to MMIO downwards: read, write, read, write...");
	i += 8;
	/*
	 * The guest's copy of ram_buf, not this process's; step 6 has
	 * overwritten the first 4 bytes of the MMIO side since.
	 */
	ok = rec_is(i, EDGE, 8, true, ANY_DATA) && rec_is(i + 1, EDGE + 8, 8, true, ANY_DATA) &&
	     !memcmp(edge + 4, (uint8_t *)addr_gpa2hva(vm, (uint64_t)ram_buf) + 20, 12);
	ksft_test_result(ok, "REP MOVSQ over the end of a memslot: RAM part native, 2 MMIO exits");
	i += 2;
	ksft_test_result(rec_is(i, EDGE, 4, true, 0x11223344) && edge[0] == 0x44,
			 "8-byte store over the memslot edge: 4 bytes to RAM, one 4-byte MMIO exit");
	i++;
	{
		uint64_t mm = 0;

		memcpy(&mm, edge, 6);
		ksft_test_result(rec_is(i, EDGE, 6, false, mm) && uc.args[0] == (0x5566 | (mm << 16)),
				 "8-byte load over the memslot edge: 2 bytes from RAM, a 6-byte MMIO read");
	}
	i++;
	ok = run_dev_ucall(v, &uc) == UCALL_DONE;
	ksft_test_result(ok && nlog == i && !stray, "REP STOSB with rCX = 0: no exit (%d exits in all)", nlog);
	vcpu_free(v);
	kvm_vm_free(vm);
}

/* ---- read-only memory ---- */

#define RO_GPA	0x6000000ULL

static void guest_ro(void)
{
	volatile uint8_t *ro = (volatile uint8_t *)RO_GPA;
	uint8_t *p;
	uint64_t n;

	GUEST_SYNC(*(volatile uint64_t *)ro);	/* read: no exit */
	ro[8] = 0x42;				/* write: MMIO */
	GUEST_SYNC(ro[8]);			/* memory did not change */
	p = (uint8_t *)ro + 0xffe;
	n = 4;
	asm volatile("rep stosb" : "+D"(p), "+c"(n) : "a"(0x99) : "memory");
	asm volatile("incl (%0)" :: "r"(ro + 0x100) : "memory");
	GUEST_DONE();
}

static void test_readonly(void)
{
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *v;
	struct ucall uc;
	uint8_t *ro, copy[8192];
	bool ok;
	int i;

	CHECK_EQ(kvm_check_cap(KVM_CAP_READONLY_MEM), 1, "KVM_CAP_READONLY_MEM is 1");
	ro = vm_add_memslot(vm, 2, RO_GPA, 8192, KVM_MEM_READONLY);
	for (i = 0; i < 8192; i++)
		ro[i] = pattern(i);
	memcpy(copy, ro, sizeof(copy));
	CHECK_ERRNO(__vm_set_region(vm, 2, 0, RO_GPA, 8192, ro), EINVAL,
		    "clearing KVM_MEM_READONLY of a slot: EINVAL");
	CHECK_ERRNO(__vm_set_region(vm, 0, KVM_MEM_READONLY, 0, MAIN_MEM_SIZE,
				    addr_gpa2hva(vm, 0)), EINVAL,
		    "setting KVM_MEM_READONLY on a slot: EINVAL");
	CHECK_ERRNO(__vm_set_region(vm, 3, 1u << 2, RO_GPA + 0x100000, 4096, ro), EINVAL,
		    "unknown slot flag: EINVAL");

	v = vcpu_add(vm, 0, guest_ro);
	dev_reset();
	dev_add(RO_GPA, 8192);
	ok = run_dev_ucall(v, &uc) == UCALL_SYNC && uc.args[0] == pat_le(0, 8);
	ksft_test_result(ok && nlog == 0, "read-only slot: reads run natively (no exit)");
	ok = run_dev_ucall(v, &uc) == UCALL_SYNC && uc.args[0] == pattern(8);
	ksft_test_result(ok && rec_is(0, RO_GPA + 8, 1, true, 0x42),
			 "read-only slot: a write exits as KVM_EXIT_MMIO with its data");
	ksft_test_result(ok, "read-only slot: the guest reads the old byte after the write");
	ok = run_dev_ucall(v, &uc) == UCALL_DONE;
	for (i = 0; i < 4; i++)
		ok &= rec_is(1 + i, RO_GPA + 0xffe + i, 1, true, 0x99);
	ksft_test_result(ok, "read-only slot: REP STOSB over its page boundary, 4 exits");
	ksft_test_result(rec_is(5, RO_GPA + 0x100, 4, true, pat_le(0x100, 4) + 1) && nlog == 6,
			 "read-only slot: INC reads memory, writes as MMIO");
	ksft_test_result(!memcmp(ro, copy, sizeof(copy)), "read-only slot: memory never written");
	vcpu_free(v);
	kvm_vm_free(vm);
}

/* ---- the guest's CPU vendor ---- */

/*
 * MOVSXD with a 16-bit operand size (66 63 /r, movsxd ax, [rdi]): Intel
 * reads a word, AMD a doubleword and keeps its low word. The emulator
 * follows the vendor of the guest's CPUID leaf 0, whatever the host's:
 * the length of the MMIO exit shows which one it followed.
 */
static void guest_movsxd16(void)
{
	uint16_t ax = 0;

	asm volatile(".byte 0x66, 0x63, 0x07" : "+a"(ax) : "D"(MMIO64 + 0x10) : "memory");
	GUEST_SYNC(ax);
	GUEST_DONE();
}

/* KVM_SET_CPUID2 with the supported leaves and @vendor's name in leaf 0. */
static void set_cpuid_vendor(struct kvm_vcpu *v, const char *vendor)
{
	struct kvm_cpuid2 *c = kvm_get_supported_cpuid();

	for (uint32_t i = 0; i < c->nent; i++) {
		if (c->entries[i].function)
			continue;
		memcpy(&c->entries[i].ebx, vendor, 4);
		memcpy(&c->entries[i].edx, vendor + 4, 4);
		memcpy(&c->entries[i].ecx, vendor + 8, 4);
	}
	TEST_ASSERT(!ioctl(v->fd, KVM_SET_CPUID2, c), "KVM_SET_CPUID2 (%s)", vendor);
	free(c);
}

/* 3 points. */
static void test_vendor(bool amd)
{
	const char *name = amd ? "AuthenticAMD" : "GenuineIntel";
	uint32_t len = amd ? 4 : 2;
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *v = vcpu_add(vm, 0, guest_movsxd16);
	struct ucall uc;
	bool ok;

	set_cpuid_vendor(v, name);
	dev_reset();
	dev_add(MMIO64, 4096);
	ok = run_dev_ucall(v, &uc) == UCALL_SYNC && uc.args[0] == pat_le(0x10, 2);
	ksft_test_result(ok, "%s guest: MOVSXD ax, [MMIO] gives the low word (%#llx)",
			 name, (unsigned long long)uc.args[0]);
	if (!amd && !is_ckvm())
		ksft_test_result_skip("KVM 6.1's emulator reads a doubleword for either vendor (%u bytes here)\n",
				      nlog ? mlog[0].len : 0);
	else
		ksft_test_result(rec_is(0, MMIO64 + 0x10, len, false, ANY_DATA) && nlog == 1,
				 "%s guest: MOVSXD with a 16-bit operand reads %u bytes of MMIO",
				 name, len);
	ksft_test_result(run_dev_ucall(v, &uc) == UCALL_DONE, "%s guest: done", name);
	vcpu_free(v);
	kvm_vm_free(vm);
}

/* ---- what the emulator does not know ---- */

static void guest_unknown(void)
{
	asm volatile("flds (%0)" :: "r"(MMIO64) : "memory");
	GUEST_DONE();
}

/* 4 points each. */
static void test_unknown(bool exit_cap)
{
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *v;
	struct kvm_run *run;
	const char *how = exit_cap ? "with KVM_CAP_EXIT_ON_EMULATION_FAILURE" : "by default";
	struct ucall uc;
	int r;

	if (exit_cap) {
		struct kvm_enable_cap cap = { .cap = KVM_CAP_EXIT_ON_EMULATION_FAILURE, .args = { 1 } };

		CHECK_OK(ioctl(vm->fd, KVM_ENABLE_CAP, &cap), "enable KVM_CAP_EXIT_ON_EMULATION_FAILURE");
		cap.args[0] = 2;
		CHECK_ERRNO(ioctl(vm->fd, KVM_ENABLE_CAP, &cap), EINVAL,
			    "KVM_CAP_EXIT_ON_EMULATION_FAILURE with args[0] = 2: EINVAL");
	} else {
		CHECK_EQ(kvm_check_cap(KVM_CAP_EXIT_ON_EMULATION_FAILURE), 1,
			 "KVM_CAP_EXIT_ON_EMULATION_FAILURE is offered");
		ksft_test_result(true, "(no second cap check)");
	}
	v = vcpu_add(vm, 0, guest_unknown);
	dev_reset();
	dev_add(MMIO64, 4096);
	r = run_dev(v);
	run = v->run;
	ksft_test_result(!r && run->exit_reason == KVM_EXIT_INTERNAL_ERROR &&
			 run->emulation_failure.suberror == KVM_INTERNAL_ERROR_EMULATION &&
			 run->emulation_failure.ndata >= 3 &&
			 (run->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES) &&
			 run->emulation_failure.insn_size >= 2 && run->emulation_failure.insn_size <= 15 &&
			 run->emulation_failure.insn_bytes[0] == 0xd9 &&
			 (run->emulation_failure.insn_bytes[1] & 0xf8) == 0,
			 "FLD on MMIO %s: INTERNAL_ERROR/EMULATION with its bytes (exit %u ndata %u flags 0x%llx size %u byte0 0x%x)",
			 how, run->exit_reason, run->emulation_failure.ndata,
			 (unsigned long long)run->emulation_failure.flags, run->emulation_failure.insn_size,
			 run->emulation_failure.insn_bytes[0]);
	if (exit_cap) {
		struct kvm_regs regs;

		/* As emulator_error_test: step over it, the guest goes on. */
		vcpu_get_regs(v, &regs);
		regs.rip += 2;
		vcpu_set_regs(v, &regs);
		ksft_test_result(run_dev_ucall(v, &uc) == UCALL_DONE && nlog == 0,
				 "%s: the guest continues past it", how);
	} else {
		ksft_test_result(nlog == 0, "%s: no MMIO exit before the failure", how);
	}
	vcpu_free(v);
	kvm_vm_free(vm);
}

int main(void)
{
	ksft_print_header();
	ksft_set_plan(NR_SMALL * 9 + 10 + 9 + 9 + 8 + 1 + 6);
	/* The internal-error exits below fill ndata and data[] (QEMU 10 requires the cap). */
	CHECK_EQ(kvm_check_cap(KVM_CAP_INTERNAL_ERROR_DATA), 1,
		 "KVM_CAP_INTERNAL_ERROR_DATA is 1");
	for (int m = 0; m < NR_SMALL; m++)
		test_small_mode(m);
	test_mmio64();
	test_strings();
	test_readonly();
	test_vendor(true);
	test_vendor(false);
	test_unknown(false);
	test_unknown(true);
	return ksft_finished();
}
