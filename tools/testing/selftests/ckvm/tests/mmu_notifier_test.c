// SPDX-License-Identifier: GPL-2.0
/*
 * Changes to the VMM's address space reach the guest: after the VMM drops
 * a page (MADV_DONTNEED) or forks and writes (copy-on-write gives the VMM a
 * new page), the guest must see the VMM's current page, not the one it had
 * mapped before. This needs MMU notifiers in the hypervisor.
 */
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ckvm_util.h"

static void guest_code(uint64_t gpa)
{
	volatile uint64_t *p = (volatile uint64_t *)gpa;

	for (;;) {
		uint64_t cmd;

		GUEST_SYNC(*p);
		/* The host says what to do next in the same word's neighbour. */
		cmd = p[1];
		if (cmd == 1)
			*p = 0x77;
		if (cmd == 2)
			break;
	}
	GUEST_DONE();
}

static uint64_t guest_reads(struct kvm_vcpu *v)
{
	struct ucall uc;

	if (vcpu_run_ucall(v, &uc) != UCALL_SYNC)
		return ~0ull;
	return uc.args[0];
}

int main(void)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *v;
	volatile uint64_t *hva;
	struct ucall uc;
	uint64_t gpa, got;
	pid_t child;
	int status;

	ksft_print_header();
	ksft_set_plan(7);

	vm = vm_create();
	gpa = vm_alloc_pages(vm, 1);
	hva = addr_gpa2hva(vm, gpa);
	v = vcpu_add(vm, 0, guest_code);
	vcpu_args_set(v, 1, gpa);

	hva[0] = 0xaa;
	hva[1] = 0;
	got = guest_reads(v);
	CHECK_EQ(got, 0xaa, "guest reads what the host wrote");

	/* The VMM drops the page: the guest must see the fresh zero page. */
	TEST_ASSERT(!madvise((void *)hva, getpagesize(), MADV_DONTNEED), "madvise");
	TEST_ASSERT(hva[0] == 0, "host sees zero after MADV_DONTNEED");
	got = guest_reads(v);
	CHECK_EQ(got, 0, "after MADV_DONTNEED the guest reads zero");

	hva[0] = 0x55;
	got = guest_reads(v);
	CHECK_EQ(got, 0x55, "guest and host share the new page");

	/* The guest writes; the host sees it. */
	hva[1] = 1;
	got = guest_reads(v);
	CHECK_EQ(hva[0], 0x77, "host sees the guest's write to the new page");
	hva[1] = 0;

	/* Fork: the VMM's pages become copy-on-write; its next write copies. */
	child = fork();
	if (!child) {
		usleep(200000);
		_exit(0);
	}
	TEST_ASSERT(child > 0, "fork");
	hva[0] = 0x1234;
	got = guest_reads(v);
	CHECK_EQ(got, 0x1234, "after fork + COW the guest sees the VMM's page");
	waitpid(child, &status, 0);

	hva[1] = 2;
	ksft_test_result(vcpu_run_ucall(v, &uc) == UCALL_DONE, "guest done\n");
	ksft_test_result(WIFEXITED(status) && !WEXITSTATUS(status),
			 "child exited cleanly\n");

	kvm_vm_free(vm);
	return ksft_finished();
}
