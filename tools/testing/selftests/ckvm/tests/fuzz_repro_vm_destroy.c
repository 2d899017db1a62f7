// SPDX-License-Identifier: GPL-2.0
/*
 * Regression test of a bug kvmfuzz found (issue 12), in the form of its
 * reproducers: the lifecycle stress ("close() of the VM fd racing
 * KVM_RUN") on the debug kernel, reduced by hand to the ops that matter.
 *
 * BUG: KASAN: use-after-free in ckvm_make_request, from
 * ckvm_make_all_vcpus_request <- ckvm_mmu_zap_gfn_range <-
 * mmu_notifier_unregister <- ckvm_mmu_vm_destroy <- ckvm_vm_put <-
 * ckvm_vcpu_release: the VM's destruction freed its vCPUs first and
 * unregistered the MMU notifier afterwards, whose ->release zaps the
 * mappings and flushes every vCPU's TLB: a write into each freed vCPU.
 * Any other thread's munmap during the destruction did the same. Fixed by
 * ckvm_arch_vm_release() (the notifier goes first, as in KVM).
 *
 * The VM fd is closed before the vCPU fd, so the last reference goes with
 * the vCPU; the vCPU has run, so there are mappings to zap. On a stock
 * kernel the write lands in freed memory silently: the debug kernel
 * (make fuzz, KERNEL=debug) is what fails it, through /init's check of
 * the kernel log.
 */
#include "../../../fuzz/fuzz_exec.h"

static const uint8_t slot0[32] = {
	0, 0, 0, 0, 0, 0, 0, 0,			/* slot 0, flags 0 */
	0, 0, 0, 0, 0, 0, 0, 0,			/* gpa 0 */
	0, 0, 0x20, 0, 0, 0, 0, 0,		/* 2 MiB */
	0, 0, 0, 0, 0, 0, 0, 0,			/* userspace_addr: fixed up */
};
static const uint8_t code[] = { 0xf4 };	/* hlt */

static const struct fz_op ops[] = {
	{ .kind = OP_OPEN_KVM, .target = T_NONE, .expect = 0 },
	{ .kind = OP_CREATE_VM, .target = T_KVM, .expect = FZ_ANY },
	{ .kind = OP_MAP, .target = T_NONE, .flags = FZ_MAP_ANON, .val = 0x200000,
	  .expect = FZ_ANY },
	{ .kind = OP_IOCTL, .target = T_VM, .nr = KVM_SET_USER_MEMORY_REGION,
	  .base = BASE_BYTES, .len = 32, .bytes = slot0,
	  .nfix = 1, .fix = { { 24, FIX_MAP_PTR, 0, 0 } }, .expect = 0 },
	{ .kind = OP_CREATE_VCPU, .target = T_VM, .expect = FZ_ANY },
	/* Real mode, CS base 0, IP 0x1000: a HLT. */
	{ .kind = OP_WRITE_MEM, .target = T_MAP, .val = 0x1000, .len = 1, .bytes = code,
	  .expect = FZ_ANY },
	{ .kind = OP_IOCTL, .target = T_VCPU, .nr = KVM_SET_SREGS, .base = BASE_GET,
	  .getnr = KVM_GET_SREGS, .len = sizeof(struct kvm_sregs),
	  .nmut = 2, .mut = { { offsetof(struct kvm_sregs, cs.base), 8, 0 },
			      { offsetof(struct kvm_sregs, cs.selector), 2, 0 } },
	  .expect = 0 },
	{ .kind = OP_IOCTL, .target = T_VCPU, .nr = KVM_SET_REGS, .base = BASE_GET,
	  .getnr = KVM_GET_REGS, .len = sizeof(struct kvm_regs),
	  .nmut = 2, .mut = { { offsetof(struct kvm_regs, rip), 8, 0x1000 },
			      { offsetof(struct kvm_regs, rflags), 8, 2 } },
	  .expect = 0 },
	{ .kind = OP_RUN, .target = T_VCPU, .val = 5000, .flags = FZ_RUN_EXPECT,
	  .nr = KVM_EXIT_HLT, .expect = FZ_ANY },
	/* The VM fd, then the vCPU (with its kvm_run mapping): the last put. */
	{ .kind = OP_CLOSE, .target = T_VM, .expect = 0 },
	{ .kind = OP_CLOSE, .target = T_KVM, .expect = 0 },
	{ .kind = OP_CLOSE, .target = T_VCPU, .flags = 1, .expect = 0 },
};

int main(void)
{
	struct fz_stats *st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE,
				   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	static struct fz_exec x;
	int status, i, bad = 0;

	printf("TAP version 13\n1..1\n");
	if (access("/dev/kvm", R_OK | W_OK)) {
		printf("ok 1 # SKIP no /dev/kvm\n");
		return 4;
	}
	/* A few times: the freed vCPUs may be reused in between. */
	for (i = 0; i < 20 && !bad; i++) {
		pid_t pid;

		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			fz_exec_init(&x, st);
			fz_exec_prog(&x, ops, sizeof(ops) / sizeof(ops[0]));
			fflush(stdout);
			_exit(x.mismatches ? 1 : 0);
		}
		waitpid(pid, &status, 0);
		bad = !WIFEXITED(status) || WEXITSTATUS(status);
	}
	printf("%sok 1 VM destroyed by its last vCPU's close, 20 times (status %#x)\n",
	       bad ? "not " : "", status);
	return bad;
}
