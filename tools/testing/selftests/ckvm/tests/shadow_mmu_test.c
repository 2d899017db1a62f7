// SPDX-License-Identifier: GPL-2.0
/*
 * What the shadow MMU adds to guest paging, tested as the guest and KVM's
 * API see it (on every machine; the shadow-only facts where paging is
 * shadowed, detected from the module's parameters):
 *
 *  - 32-bit paging with 4 KiB and 4 MiB pages and PAE paging with 4 KiB
 *    and 2 MiB pages, a guest writing a page-table entry and then using it;
 *  - 64 address spaces switched round robin: the shadow pages survive the
 *    CR3 switches, counted by the binary stat mmu_cache_miss (no new ones
 *    after the first round);
 *  - KVM_SET_NR_MMU_PAGES / KVM_GET_NR_MMU_PAGES, and the same 64 address
 *    spaces under a limit of 64 shadow pages (mmu_recycled counts);
 *  - dirty logging of writes made through a guest's own (non-identity)
 *    mapping, and the MMU notifier (MADV_DONTNEED, mprotect, munmap and
 *    a new mapping) under such a mapping;
 *  - KVM_SET_TSS_ADDR and KVM_SET_IDENTITY_MAP_ADDR, and real mode with
 *    the TSS elsewhere (VMX without EPT runs it in virtual-8086 mode);
 *  - ckvm only: exits per guest page fault with "update spte on write"
 *    (module parameter pte_update) on and off;
 *  - the guest's CR0 reads: its own value (WP as it set it, while the CPU
 *    runs with WP forced under shadow paging), and no exit for them while
 *    the two agree (SVM: the CR0 read intercept goes, as on KVM).
 */
#include <sys/stat.h>
#include "ckvm_util.h"

/*
 * KVM_GET_NR_MMU_PAGES is gone from KVM after 6.1 (Debian's 6.12 kvm_amd
 * fails it); ckvm keeps it, as 6.1 has it. True (and errno left) when the
 * reference module lacks it: the point is then skipped with the reason.
 */
static bool kvm_lacks_get_nr_mmu_pages(struct kvm_vm *vm)
{
	if (is_ckvm())
		return false;
	errno = 0;
	return ioctl(vm->fd, KVM_GET_NR_MMU_PAGES, 0) == -1 &&
	       (errno == ENOTTY || errno == EINVAL);
}

#define VA_BASE		(2ULL << 39)	/* PML4 index 2 */
#define NR_AS		64
#define ROUNDS		4

#define PTE_P		0x1ULL
#define PTE_W		0x2ULL
#define PTE_U		0x4ULL
#define PTE_A		0x20ULL
#define PTE_D		0x40ULL
#define PTE_PS		0x80ULL

/* ---- the module's paging, stats ---- */

/* "Y"/"1" or "N"/"0" in a module parameter file; -1 if there is none. */
static int read_param(const char *path)
{
	char buf[8] = "";
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -1;
	if (read(fd, buf, sizeof(buf) - 1) < 1)
		buf[0] = 0;
	close(fd);
	return buf[0] == 'Y' || buf[0] == '1';
}

static bool write_param(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok;
}

/* Is the guest's paging shadowed (no NPT/EPT in use)? */
static bool shadow_paging(void)
{
	static const char *const params[] = {
		"/sys/module/ckvm/parameters/tdp",
		"/sys/module/kvm_amd/parameters/npt",
		"/sys/module/kvm_intel/parameters/ept",
	};

	for (unsigned int i = 0; i < 3; i++) {
		int v = read_param(params[i]);

		if (v >= 0)
			return !v;
	}
	return false;
}

/* ---- 32-bit and PAE paging ---- */

/*
 * On entry: EBX = page A (mapped), ESI = the PTE slot of page B (by its
 * identity address), EDI = the low half of B's PTE, EBP = page B. Writes
 * A, reads a value the host put there, writes B's PTE and uses B.
 */
asm(".pushsection .text\n"
    ".code32\n"
    "m32_start:\n"
    "	movl $0x11111111, (%ebx)\n"
    "	mov 4(%ebx), %eax\n"
    "	out %eax, $0x10\n"
    "	mov %edi, (%esi)\n"
    "	mov (%ebp), %eax\n"
    "	out %eax, $0x10\n"
    "	movl $0x22222222, 8(%ebp)\n"
    "	hlt\n"
    "m32_end:\n"
    ".code64\n"
    ".popsection\n");
extern char m32_start[], m32_end[];

static bool expect_out(struct kvm_vcpu *v, uint32_t val)
{
	uint32_t got = 0;
	int r = vcpu_run(v);

	if (!r && v->run->exit_reason == KVM_EXIT_IO && v->run->io.port == 0x10 &&
	    v->run->io.size <= 4)
		memcpy(&got, (char *)v->run + v->run->io.data_offset,
		       v->run->io.size);
	if (got != val)
		ksft_print_msg("want OUT 0x%x, got r=%d exit %u val 0x%x", val, r,
			       v->run->exit_reason, got);
	return got == val;
}

/*
 * @pae: PAE paging, else 32-bit. @large: page A in a 4 MiB (2 MiB) page,
 * else a 4 KiB page in the same table as B (which is then shadowed when
 * the guest writes B's entry).
 */
static void test_mode32(bool pae, bool large)
{
	const char *name = pae ? (large ? "PAE 2 MiB" : "PAE 4 KiB") :
				 (large ? "32-bit 4 MiB" : "32-bit 4 KiB");
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *v = vcpu_create(vm, 0);
	uint64_t pd = vm_alloc_pages(vm, 1), pt = vm_alloc_pages(vm, 1);
	uint64_t pdpt = vm_alloc_pages(vm, 1), pd2 = vm_alloc_pages(vm, 1);
	uint64_t a_gpa = vm_alloc_pages(vm, 1), b_gpa = vm_alloc_pages(vm, 1);
	uint64_t big = 0x1000000;		/* 16 MiB, 4 MiB aligned */
	uint64_t va_a, va_b = 0x40001000, slot;
	struct kvm_sregs s;
	struct kvm_regs r;
	uint32_t *a, *b;

	vcpu_set_cpuid_host(v);
	vm_load_code(vm, CODE_GPA, m32_start, m32_end);
	if (pae) {
		uint64_t *dir = addr_gpa2hva(vm, pd), *tab = addr_gpa2hva(vm, pt);

		/* PDPTE 0: the low 1 GiB; PDPTE 1: va 0x40000000 on. */
		((uint64_t *)addr_gpa2hva(vm, pdpt))[0] = pd | PTE_P;
		((uint64_t *)addr_gpa2hva(vm, pdpt))[1] = pd2 | PTE_P;
		dir[0] = 0 | PTE_P | PTE_W | PTE_PS;		/* 0-2 MiB */
		dir[(big >> 21) & 511] = big | PTE_P | PTE_W | PTE_PS;
		((uint64_t *)addr_gpa2hva(vm, pd2))[(va_b >> 21) & 511] =
			pt | PTE_P | PTE_W;
		tab[0] = a_gpa | PTE_P | PTE_W;		/* va 0x40000000 */
		/* The page table itself, identity-mapped: ESI writes it. */
		dir[(pt >> 21) & 511] = (pt & ~0x1fffffULL) | PTE_P | PTE_W | PTE_PS;
		slot = pt + ((va_b >> 12) & 511) * 8;
	} else {
		uint32_t *dir = addr_gpa2hva(vm, pd), *tab = addr_gpa2hva(vm, pt);

		dir[0] = 0 | PTE_P | PTE_W | PTE_PS;		/* 0-4 MiB */
		dir[big >> 22] = big | PTE_P | PTE_W | PTE_PS;
		dir[va_b >> 22] = pt | PTE_P | PTE_W;
		tab[0] = a_gpa | PTE_P | PTE_W;
		dir[pt >> 22] = (pt & ~0x3fffffULL) | PTE_P | PTE_W | PTE_PS;
		slot = pt + ((va_b >> 12) & 1023) * 4;
	}
	va_a = large ? big + 0x3000 : 0x40000000;
	a = large ? addr_gpa2hva(vm, big + 0x3000) : addr_gpa2hva(vm, a_gpa);
	b = addr_gpa2hva(vm, b_gpa);
	a[1] = 0xa1a1a1a1;
	b[0] = 0xb0b0b0b0;

	vcpu_setup_pm32(v, CODE_GPA, true);
	vcpu_get_sregs(v, &s);
	s.cr3 = pae ? pdpt : pd;
	s.cr4 = pae ? X86_CR4_PAE : X86_CR4_PSE;
	vcpu_set_sregs(v, &s);
	vcpu_get_regs(v, &r);
	r.rbx = va_a;
	r.rsi = slot;
	r.rdi = b_gpa | PTE_P | PTE_W;
	r.rbp = va_b;
	vcpu_set_regs(v, &r);

	ksft_test_result(expect_out(v, 0xa1a1a1a1) && a[0] == 0x11111111,
			 "%s: page written and read\n", name);
	ksft_test_result(expect_out(v, 0xb0b0b0b0),
			 "%s: a PTE the guest wrote is used at once\n", name);
	ksft_test_result(vcpu_run(v) == 0 && v->run->exit_reason == KVM_EXIT_HLT &&
			 b[2] == 0x22222222,
			 "%s: the new page written, HLT\n", name);
	vcpu_free(v);
	kvm_vm_free(vm);
}

/* ---- 64 address spaces ---- */

static uint64_t as_cr3[NR_AS];

/* Round robin over the address spaces; each maps its own page at VA_BASE. */
static void guest_rr(void)
{
	uint64_t bad = 0;

	for (int round = 0; round < ROUNDS; round++) {
		for (int i = 0; i < NR_AS; i++) {
			asm volatile("mov %0, %%cr3" :: "r"(as_cr3[i]) : "memory");
			bad += *(volatile uint64_t *)VA_BASE != 0xa5000000ULL + i;
			*(volatile uint64_t *)(VA_BASE + 8) += 1;
		}
		asm volatile("mov %0, %%cr3" :: "r"((uint64_t)PML4_GPA) : "memory");
		GUEST_SYNC2(round, bad);
	}
	GUEST_DONE();
}

/* One PML4, PDPT, PD and PT per address space, identity map shared. */
static struct kvm_vm *setup_rr(struct kvm_vcpu **vp, uint64_t *data)
{
	struct kvm_vm *vm = vm_create();
	uint64_t *lib_pml4 = addr_gpa2hva(vm, PML4_GPA);

	*vp = vcpu_add(vm, 0, guest_rr);
	for (int i = 0; i < NR_AS; i++) {
		uint64_t pml4 = vm_alloc_pages(vm, 1), pdpt = vm_alloc_pages(vm, 1);
		uint64_t pd = vm_alloc_pages(vm, 1), pt = vm_alloc_pages(vm, 1);
		uint64_t *p;

		data[i] = vm_alloc_pages(vm, 1);
		p = addr_gpa2hva(vm, pml4);
		p[0] = lib_pml4[0];
		p[2] = pdpt | PTE_P | PTE_W;
		((uint64_t *)addr_gpa2hva(vm, pdpt))[0] = pd | PTE_P | PTE_W;
		((uint64_t *)addr_gpa2hva(vm, pd))[0] = pt | PTE_P | PTE_W;
		((uint64_t *)addr_gpa2hva(vm, pt))[0] = data[i] | PTE_P | PTE_W;
		((uint64_t *)addr_gpa2hva(vm, data[i]))[0] = 0xa5000000ULL + i;
		as_cr3[i] = pml4;
	}
	sync_global_to_guest(vm, as_cr3);
	return vm;
}

static void test_round_robin(void)
{
	uint64_t data[NR_AS], miss1 = 0, miss4 = 0, bad = 0;
	struct kvm_vcpu *v;
	struct kvm_vm *vm = setup_rr(&v, data);
	bool ok = true, counts = true;
	struct ucall uc;

	/* Room for every shadow page: the point is reuse, not the limit. */
	TEST_ASSERT(!ioctl(vm->fd, KVM_SET_NR_MMU_PAGES, 4096), "KVM_SET_NR_MMU_PAGES");
	for (int round = 0; round < ROUNDS; round++) {
		ok &= vcpu_run_ucall(v, &uc) == UCALL_SYNC && uc.args[0] == (uint64_t)round;
		bad = uc.args[1];
		if (round == 0)
			miss1 = vm_stat(vm, "mmu_cache_miss");
	}
	miss4 = vm_stat(vm, "mmu_cache_miss");
	ok &= vcpu_run_ucall(v, &uc) == UCALL_DONE;
	for (int i = 0; i < NR_AS; i++)
		counts &= ((uint64_t *)addr_gpa2hva(vm, data[i]))[1] == ROUNDS;
	ksft_test_result(ok && !bad && counts,
			 "64 address spaces, %d rounds: each sees its own page\n", ROUNDS);
	ksft_test_result(miss1 != ~0ULL && miss4 == miss1,
			 "64 address spaces: no new shadow page after round 1 (mmu_cache_miss %llu -> %llu)\n",
			 (unsigned long long)miss1, (unsigned long long)miss4);
	vcpu_free(v);
	kvm_vm_free(vm);
}

static void test_limit(void)
{
	uint64_t data[NR_AS], bad = 0;
	struct kvm_vcpu *v;
	struct kvm_vm *vm = setup_rr(&v, data);
	bool ok = true, counts = true;
	struct ucall uc;
	long n;

	CHECK_ERRNO(ioctl(vm->fd, KVM_SET_NR_MMU_PAGES, 63), EINVAL,
		    "KVM_SET_NR_MMU_PAGES below 64 -> EINVAL");
	CHECK_OK(ioctl(vm->fd, KVM_SET_NR_MMU_PAGES, 64), "KVM_SET_NR_MMU_PAGES 64");
	if (kvm_lacks_get_nr_mmu_pages(vm)) {
		ksft_test_result_skip("KVM_GET_NR_MMU_PAGES reads the limit back: this KVM has no KVM_GET_NR_MMU_PAGES (%s; removed after 6.1)\n",
				      strerror(errno));
	} else {
		n = ioctl(vm->fd, KVM_GET_NR_MMU_PAGES, 0);
		CHECK_EQ(n, 64, "KVM_GET_NR_MMU_PAGES reads the limit back");
	}
	for (int round = 0; round < ROUNDS; round++) {
		ok &= vcpu_run_ucall(v, &uc) == UCALL_SYNC;
		bad += uc.args[1];
	}
	ok &= vcpu_run_ucall(v, &uc) == UCALL_DONE;
	for (int i = 0; i < NR_AS; i++)
		counts &= ((uint64_t *)addr_gpa2hva(vm, data[i]))[1] == ROUNDS;
	ksft_test_result(ok && !bad && counts,
			 "limit of 64 shadow pages: 64 address spaces still right\n");
	if (shadow_paging())
		ksft_test_result(vm_stat(vm, "mmu_recycled") > 0,
				 "limit of 64: pages recycled (mmu_recycled %llu)\n",
				 (unsigned long long)vm_stat(vm, "mmu_recycled"));
	else
		ksft_test_result_skip("limit of 64: nested paging keeps no shadow pages to recycle\n");
	vcpu_free(v);
	kvm_vm_free(vm);
}

/* ---- dirty logging through a guest mapping ---- */

#define LOG_SLOT	1
#define LOG_GPA		0x8000000ULL	/* 128 MiB, 16 pages */
#define LOG_PAGES	16

static void guest_log(uint64_t pt)
{
	/* Map the logging slot at VA_BASE, page i at VA_BASE + i * 4 KiB. */
	for (int i = 0; i < LOG_PAGES; i++)
		((uint64_t *)pt)[i] = (LOG_GPA + i * 4096) | PTE_P | PTE_W;
	for (int pass = 0; pass < 3; pass++) {
		*(volatile uint64_t *)(VA_BASE + 3 * 4096) = pass;
		*(volatile uint64_t *)(VA_BASE + 9 * 4096) = pass;
		GUEST_SYNC(pass);
	}
	GUEST_DONE();
}

static void test_dirty_log(void)
{
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *v = vcpu_add(vm, 0, guest_log);
	uint64_t pdpt = vm_alloc_pages(vm, 1), pd = vm_alloc_pages(vm, 1);
	uint64_t pt = vm_alloc_pages(vm, 1);
	unsigned long bitmap[1];
	struct kvm_dirty_log log = { .slot = LOG_SLOT, .dirty_bitmap = bitmap };
	struct ucall uc;
	bool ok = true;

	vm_add_memslot(vm, LOG_SLOT, LOG_GPA, LOG_PAGES * 4096, KVM_MEM_LOG_DIRTY_PAGES);
	((uint64_t *)addr_gpa2hva(vm, PML4_GPA))[2] = pdpt | PTE_P | PTE_W;
	((uint64_t *)addr_gpa2hva(vm, pdpt))[0] = pd | PTE_P | PTE_W;
	((uint64_t *)addr_gpa2hva(vm, pd))[0] = pt | PTE_P | PTE_W;
	vcpu_args_set(v, 1, pt);
	for (int pass = 0; pass < 3; pass++) {
		ok &= vcpu_run_ucall(v, &uc) == UCALL_SYNC;
		bitmap[0] = 0;
		ok &= !ioctl(vm->fd, KVM_GET_DIRTY_LOG, &log);
		if (bitmap[0] != ((1UL << 3) | (1UL << 9))) {
			ksft_print_msg("pass %d: dirty bitmap 0x%lx", pass, bitmap[0]);
			ok = false;
		}
	}
	ksft_test_result(ok && vcpu_run_ucall(v, &uc) == UCALL_DONE,
			 "dirty log: writes through a guest mapping, 3 rounds, exactly pages 3 and 9\n");
	vcpu_free(v);
	kvm_vm_free(vm);
}

/* ---- the MMU notifier under a guest mapping ---- */

#define NOTIFY_SLOT	2
#define NOTIFY_GPA	0x9000000ULL	/* 144 MiB: 4 pages */

/* The slot's page 1 at VA_BASE (its table is page 0); read or write it. */
static void guest_notify(void)
{
	volatile uint64_t *p = (volatile uint64_t *)VA_BASE;

	for (;;) {
		GUEST_SYNC(*p);
		*p = 0x77;
		GUEST_SYNC(*p);
	}
}

static void test_notifier(void)
{
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *v = vcpu_add(vm, 0, guest_notify);
	uint64_t pdpt = vm_alloc_pages(vm, 1), pd = vm_alloc_pages(vm, 1);
	uint64_t *m;
	struct ucall uc;
	bool ok;
	int r;

	m = vm_add_memslot(vm, NOTIFY_SLOT, NOTIFY_GPA, 4 * 4096, 0);
	((uint64_t *)addr_gpa2hva(vm, PML4_GPA))[2] = pdpt | PTE_P | PTE_W;
	((uint64_t *)addr_gpa2hva(vm, pdpt))[0] = pd | PTE_P | PTE_W;
	((uint64_t *)addr_gpa2hva(vm, pd))[0] = NOTIFY_GPA | PTE_P | PTE_W;
	m[0] = (NOTIFY_GPA + 4096) | PTE_P | PTE_W;	/* the PT, in the slot */
	m[512] = 0xaa;

	ok = vcpu_run_ucall(v, &uc) == UCALL_SYNC && uc.args[0] == 0xaa;
	ok &= vcpu_run_ucall(v, &uc) == UCALL_SYNC && uc.args[0] == 0x77;
	ksft_test_result(ok && m[512] == 0x77,
			 "notifier: guest reads and writes a page its own table maps\n");
	/* The data page drops to zero; the table page stays. */
	TEST_ASSERT(!madvise(m + 512, 4096, MADV_DONTNEED), "madvise");
	ok = vcpu_run_ucall(v, &uc) == UCALL_SYNC && uc.args[0] == 0;
	ok &= vcpu_run_ucall(v, &uc) == UCALL_SYNC && m[512] == 0x77;
	ksft_test_result(ok, "notifier: MADV_DONTNEED: the guest reads zero, its write lands\n");
	/* Read-only to the VMM: the guest reads, its write fails KVM_RUN. */
	m[512] = 0x55;
	TEST_ASSERT(!mprotect(m + 512, 4096, PROT_READ), "mprotect");
	ok = vcpu_run_ucall(v, &uc) == UCALL_SYNC && uc.args[0] == 0x55;
	r = vcpu_run(v);
	ok &= r == -EFAULT;
	TEST_ASSERT(!mprotect(m + 512, 4096, PROT_READ | PROT_WRITE), "mprotect");
	ok &= vcpu_run_ucall(v, &uc) == UCALL_SYNC && m[512] == 0x77;
	ksft_test_result(ok, "notifier: mprotect read-only: reads go on, a write is -EFAULT (%d), then lands\n",
			 r);
	/* A new page at the same address: the guest sees its content. */
	TEST_ASSERT(mmap(m + 512, 4096, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == m + 512,
		    "mmap MAP_FIXED");
	m[512] = 0x99;
	ok = vcpu_run_ucall(v, &uc) == UCALL_SYNC && uc.args[0] == 0x99;
	ok &= vcpu_run_ucall(v, &uc) == UCALL_SYNC && m[512] == 0x77;
	ksft_test_result(ok, "notifier: munmap + new mapping: the guest sees the new page\n");
	vcpu_free(v);
	kvm_vm_free(vm);
}

/* ---- KVM_SET_TSS_ADDR, KVM_SET_IDENTITY_MAP_ADDR ---- */

asm(".pushsection .text\n"
    ".code16\n"
    "rm_start:\n"
    "	mov $0x1234, %ax\n"
    "	out %ax, $0x10\n"
    "	int $0x40\n"			/* through the IVT, in real mode */
    "	out %ax, $0x10\n"
    "	hlt\n"
    "rm_handler:\n"
    "	mov $0x4321, %ax\n"
    "	iret\n"
    "rm_end:\n"
    ".code64\n"
    ".popsection\n");
extern char rm_start[], rm_handler[], rm_end[];

static void test_tss_ident(void)
{
	struct kvm_vm *vm = vm_create();
	uint64_t ident = 0xfeffc000;
	struct kvm_vcpu *v;
	uint16_t *ivt;
	bool ok;

	CHECK_ERRNO(ioctl(vm->fd, KVM_SET_TSS_ADDR, 0xfffff000UL), EINVAL,
		    "KVM_SET_TSS_ADDR: 3 pages past 4 GiB -> EINVAL");
	CHECK_OK(ioctl(vm->fd, KVM_SET_TSS_ADDR, 0xfeffd000UL),
		 "KVM_SET_TSS_ADDR 0xfeffd000");
	CHECK_ERRNO(ioctl(vm->fd, KVM_SET_IDENTITY_MAP_ADDR, (void *)8), EFAULT,
		    "KVM_SET_IDENTITY_MAP_ADDR: bad pointer -> EFAULT");
	CHECK_OK(ioctl(vm->fd, KVM_SET_IDENTITY_MAP_ADDR, &ident),
		 "KVM_SET_IDENTITY_MAP_ADDR before any vCPU");
	v = vcpu_create(vm, 0);
	CHECK_ERRNO(ioctl(vm->fd, KVM_SET_IDENTITY_MAP_ADDR, &ident), EINVAL,
		    "KVM_SET_IDENTITY_MAP_ADDR after a vCPU -> EINVAL");
	vm_load_code(vm, CODE_GPA, rm_start, rm_end);
	ivt = addr_gpa2hva(vm, 0x40 * 4);
	ivt[0] = CODE_GPA + (rm_handler - rm_start);
	ivt[1] = 0;
	vcpu_setup_real_mode(v, 0, CODE_GPA);
	ok = expect_out(v, 0x1234);
	ok &= expect_out(v, 0x4321);
	ok &= vcpu_run(v) == 0 && v->run->exit_reason == KVM_EXIT_HLT;
	ksft_test_result(ok, "real mode with KVM_SET_TSS_ADDR: OUT, INT 0x40 through the IVT, HLT\n");
	vcpu_free(v);
	kvm_vm_free(vm);
}

/* ---- ckvm: exits per guest page fault ---- */

#define FAULT_PAGES	64
#define WARMUP		4

/*
 * A #PF handler that maps the page (the PTE write is what "update spte on
 * write" is about), as guest_demand in paging_test, compactly.
 */
static uint64_t ex_pt;
static volatile uint64_t ex_next, ex_faults;

asm(".pushsection .text\n"
    "ex_pf_entry:\n"
    "	push %rax\n push %rcx\n push %rdx\n push %rsi\n push %rdi\n"
    "	push %r8\n push %r9\n push %r10\n push %r11\n"
    "	sub $8, %rsp\n"
    "	mov %cr2, %rdi\n"
    "	call ex_pf\n"
    "	add $8, %rsp\n"
    "	pop %r11\n pop %r10\n pop %r9\n pop %r8\n pop %rdi\n"
    "	pop %rsi\n pop %rdx\n pop %rcx\n pop %rax\n"
    "	add $8, %rsp\n"
    "	iretq\n"
    ".popsection\n");
extern char ex_pf_entry[];

void ex_pf(uint64_t cr2)
{
	((uint64_t *)ex_pt)[(cr2 - VA_BASE) >> 12] = ex_next | PTE_P | PTE_W | PTE_A | PTE_D;
	ex_next += 4096;
	ex_faults++;
}

static void guest_faults(void)
{
	for (int i = 0; i < FAULT_PAGES; i++) {
		/* The table is shadowed already: touch its first page. */
		(void)*(volatile uint64_t *)(VA_BASE + (FAULT_PAGES + 1) * 4096);
		GUEST_SYNC(i);
		*(volatile uint64_t *)(VA_BASE + i * 4096) = i;
		GUEST_SYNC(i);
	}
	GUEST_DONE();
}

/* Exits for @FAULT_PAGES guest page faults, with the parameters as they are. */
static double exits_per_fault(void)
{
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *v = vcpu_add(vm, 0, guest_faults);
	uint64_t pdpt = vm_alloc_pages(vm, 1), pd = vm_alloc_pages(vm, 1);
	uint64_t pt = vm_alloc_pages(vm, 1), idt = vm_alloc_pages(vm, 1);
	uint64_t *g, h = (uint64_t)ex_pf_entry, total = 0;
	struct kvm_sregs s;
	struct ucall uc;

	((uint64_t *)addr_gpa2hva(vm, PML4_GPA))[2] = pdpt | PTE_P | PTE_W;
	((uint64_t *)addr_gpa2hva(vm, pdpt))[0] = pd | PTE_P | PTE_W;
	((uint64_t *)addr_gpa2hva(vm, pd))[0] = pt | PTE_P | PTE_W;
	((uint64_t *)addr_gpa2hva(vm, pt))[FAULT_PAGES + 1] =
		vm_alloc_pages(vm, 1) | PTE_P | PTE_W | PTE_A | PTE_D;
	ex_pt = pt;
	ex_next = vm_alloc_pages(vm, FAULT_PAGES);
	sync_global_to_guest(vm, ex_pt);
	sync_global_to_guest(vm, ex_next);
	g = addr_gpa2hva(vm, idt);
	g[14 * 2] = (h & 0xffff) | ((uint64_t)SEL_CODE64 << 16) | (0x8eULL << 40) |
		    ((h & 0xffff0000ULL) << 32);
	g[14 * 2 + 1] = h >> 32;
	vcpu_get_sregs(v, &s);
	s.idt.base = idt;
	s.idt.limit = 256 * 16 - 1;
	vcpu_set_sregs(v, &s);
	for (int i = 0; i < FAULT_PAGES; i++) {
		uint64_t before, irq;

		if (vcpu_run_ucall(v, &uc) != UCALL_SYNC)
			return -1;
		before = vcpu_stat(v, "exits");
		irq = vcpu_stat(v, "irq_exits");
		if (vcpu_run_ucall(v, &uc) != UCALL_SYNC)
			return -1;
		/*
		 * The ucall that ends the step is one exit more, and a host
		 * interrupt is none of the fault's. The first steps also map
		 * the handler's code and data.
		 */
		if (i >= WARMUP)
			total += vcpu_stat(v, "exits") - before - 1 -
				 (vcpu_stat(v, "irq_exits") - irq);
	}
	vcpu_run_ucall(v, &uc);
	vcpu_free(v);
	kvm_vm_free(vm);
	return (double)total / (FAULT_PAGES - WARMUP);
}

static void test_exits(void)
{
	const char *upd = "/sys/module/ckvm/parameters/pte_update";
	const char *oos = "/sys/module/ckvm/parameters/oos_shadow";
	double on, off;
	int old_upd, old_oos;

	if (!is_ckvm() || !shadow_paging()) {
		ksft_test_result_skip("exits per fault, pte_update=1: ckvm with shadow paging only\n");
		ksft_test_result_skip("exits per fault, pte_update=0: ckvm with shadow paging only\n");
		return;
	}
	old_upd = read_param(upd);
	old_oos = read_param(oos);
	/* Keep the table write-protected: unsync pages take no exit at all. */
	TEST_ASSERT(write_param(oos, "0"), "write %s", oos);
	TEST_ASSERT(write_param(upd, "1"), "write %s", upd);
	on = exits_per_fault();
	TEST_ASSERT(write_param(upd, "0"), "write %s", upd);
	off = exits_per_fault();
	write_param(upd, old_upd ? "1" : "0");
	write_param(oos, old_oos ? "1" : "0");
	ksft_print_msg("exits per guest page fault: pte_update=1 %.2f, pte_update=0 %.2f", on, off);
	ksft_test_result(on == 2.0,
			 "exits per fault, pte_update=1: 2 (#PF, the PTE write) (%.2f)\n", on);
	ksft_test_result(off == 3.0,
			 "exits per fault, pte_update=0: 3 (and the fault after) (%.2f)\n", off);
}

#define CR0_READS	200

static uint64_t guest_read_cr0(void)
{
	uint64_t cr0;

	asm volatile("mov %%cr0, %0" : "=r"(cr0));
	return cr0;
}

static void guest_cr0(void)
{
	uint64_t cr0 = guest_read_cr0(), x = 0;

	GUEST_SYNC(0);
	for (int i = 0; i < CR0_READS; i++)
		x |= guest_read_cr0();
	GUEST_SYNC(x);
	/* WP off: the guest sees its own CR0, not the CPU's. */
	asm volatile("mov %0, %%cr0" : : "r"(cr0 & ~X86_CR0_WP) : "memory");
	GUEST_SYNC(guest_read_cr0());
	asm volatile("mov %0, %%cr0" : : "r"(cr0) : "memory");
	GUEST_SYNC(guest_read_cr0());
	GUEST_DONE();
}

static void test_cr0_reads(void)
{
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *v = vcpu_add(vm, 0, guest_cr0);
	uint64_t before, irq, extra;
	struct ucall uc;

	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "guest start");
	before = vcpu_stat(v, "exits");
	irq = vcpu_stat(v, "irq_exits");
	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "guest reads");
	/* The ucall is one exit; host interrupts are none of the reads'. */
	extra = vcpu_stat(v, "exits") - before - 1 - (vcpu_stat(v, "irq_exits") - irq);
	ksft_test_result((uc.args[0] & (X86_CR0_PG | X86_CR0_WP)) ==
			 (X86_CR0_PG | X86_CR0_WP) && extra < CR0_READS / 10,
			 "%d CR0 reads of a paging guest with WP: %llu exits (CR0 0x%llx)\n",
			 CR0_READS, (unsigned long long)extra,
			 (unsigned long long)uc.args[0]);
	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "guest WP off");
	ksft_test_result(!(uc.args[0] & X86_CR0_WP) && (uc.args[0] & X86_CR0_PG),
			 "the guest clears CR0.WP and reads it clear (0x%llx)\n",
			 (unsigned long long)uc.args[0]);
	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "guest WP on");
	ksft_test_result(uc.args[0] & X86_CR0_WP,
			 "...sets it again and reads it set (0x%llx)\n",
			 (unsigned long long)uc.args[0]);
	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_DONE, "guest done");
	kvm_vm_free(vm);
}

int main(void)
{
	ksft_print_header();
	ksft_set_plan(4 * 3 + 2 + 5 + 1 + 4 + 6 + 2 + 3);
	test_mode32(false, false);
	test_mode32(false, true);
	test_mode32(true, false);
	test_mode32(true, true);
	test_round_robin();
	test_limit();
	test_dirty_log();
	test_notifier();
	test_tss_ident();
	test_exits();
	test_cr0_reads();
	return ksft_finished();
}
