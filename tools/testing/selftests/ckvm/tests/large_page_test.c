// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory backed by 2 MiB transparent huge pages, which the
 * hypervisor may map with 2 MiB nested pages: every 4 KiB page must still
 * be the right one, also after the VMM drops half of a huge page (which
 * splits it) and after the guest writes.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "ckvm_util.h"

#define GPA		0x40000000ull	/* 1 GiB, inside the identity map */
#define SIZE		(8ull << 20)
#define HUGE		(2ull << 20)
#define NPAGES		(SIZE / 4096)
#define DROP_FROM	(HUGE / 2)	/* drop [1 MiB, 2 MiB) */

/* cmd 0: count pages whose first word is not their index, dropped pages
 * expected zero; cmd 1: write ~index into every page. */
static void guest_code(void)
{
	volatile uint64_t *cmd = (volatile uint64_t *)(GPA + SIZE - 8);

	for (;;) {
		uint64_t bad = 0, i;

		if (*cmd == 2)
			break;
		for (i = 0; i < NPAGES - 1; i++) {
			volatile uint64_t *p = (volatile uint64_t *)(GPA + i * 4096);

			if (*cmd == 1) {
				*p = ~i;
				continue;
			}
			if (*cmd == 3 && i * 4096 >= DROP_FROM && i * 4096 < HUGE) {
				bad += *p != 0;
				continue;
			}
			bad += *p != i;
		}
		GUEST_SYNC(bad);
	}
	GUEST_DONE();
}

static long anon_huge_kb(void *addr)
{
	char line[256];
	long kb = -1;
	bool in = false;
	FILE *f = fopen("/proc/self/smaps", "r");
	unsigned long a = (unsigned long)addr, lo, hi;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
			in = a >= lo && a < hi;
		else if (in && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

int main(void)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *v;
	struct ucall uc;
	volatile uint64_t *cmd;
	uint8_t *raw, *mem;
	uint64_t i, bad;
	long kb;

	ksft_print_header();
	ksft_set_plan(7);

	vm = vm_create();
	raw = mmap(NULL, SIZE + HUGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(raw != MAP_FAILED, "mmap");
	mem = (uint8_t *)(((uintptr_t)raw + HUGE - 1) & ~(HUGE - 1));
	madvise(mem, SIZE, MADV_HUGEPAGE);
	for (i = 0; i < NPAGES; i++)
		*(uint64_t *)(mem + i * 4096) = i;
	cmd = (volatile uint64_t *)(mem + SIZE - 8);
	*cmd = 0;
	kb = anon_huge_kb(mem);
	if (kb > 0)
		ksft_test_result(true, "VMM memory is THP-backed (%ld kB)\n", kb);
	else
		ksft_test_result_skip("no THP backing here (AnonHugePages %ld): the 4K path is tested instead\n",
				      kb);

	TEST_ASSERT(!__vm_set_region(vm, 1, 0, GPA, SIZE, mem), "slot 1");
	vm_track_memslot(vm, 1, GPA, SIZE, 0, mem);
	v = vcpu_add(vm, 0, guest_code);

	bad = vcpu_run_ucall(v, &uc) == UCALL_SYNC ? uc.args[0] : ~0ull;
	CHECK_EQ(bad, 0, "guest sees every 4K page of the huge pages");

	/* Drop the second half of the first huge page: the VMM splits it. */
	TEST_ASSERT(!madvise(mem + DROP_FROM, HUGE - DROP_FROM, MADV_DONTNEED),
		    "madvise");
	*cmd = 3;
	bad = vcpu_run_ucall(v, &uc) == UCALL_SYNC ? uc.args[0] : ~0ull;
	CHECK_EQ(bad, 0, "after a partial MADV_DONTNEED: zeros there, data elsewhere");

	*cmd = 1;
	ksft_test_result(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "guest wrote every page\n");
	for (bad = 0, i = 0; i < NPAGES - 1; i++)
		bad += *(uint64_t *)(mem + i * 4096) != ~i;
	CHECK_EQ(bad, 0, "host sees every guest write");

	*cmd = 0;
	for (i = 0; i < NPAGES - 1; i++)
		*(uint64_t *)(mem + i * 4096) = i;
	bad = vcpu_run_ucall(v, &uc) == UCALL_SYNC ? uc.args[0] : ~0ull;
	CHECK_EQ(bad, 0, "guest sees the host's rewrite of every page");

	*cmd = 2;
	ksft_test_result(vcpu_run_ucall(v, &uc) == UCALL_DONE, "guest done\n");
	kvm_vm_free(vm);
	return ksft_finished();
}
