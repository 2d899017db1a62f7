// SPDX-License-Identifier: GPL-2.0
/*
 * Regression test of a bug kvmfuzz found (issue 12; make fuzz, svm, debug
 * kernel, seed 202612014, ioctl program 42), reduced by hand to the ops
 * that matter.
 *
 * WARNING: suspicious RCU usage, include/ckvm.h: suspicious
 * rcu_dereference_check() usage, from ckvm_memslots <- ckvm_gfn_to_memslot
 * <- ckvm_write_guest <- ckvm_kvmclock_set_msr <- ckvm_set_msr <-
 * ckvm_msr_io <- KVM_SET_MSRS: a host write of MSR_KVM_SYSTEM_TIME_NEW
 * publishes the kvmclock page in guest memory at once, and KVM_SET_MSRS
 * read the memslots without vm->srcu (a memslot update could free them
 * under it). Fixed by ckvm_msr_io() taking vm->srcu, as KVM's msr_io().
 *
 * On a stock kernel the access goes unnoticed (and the test checks only
 * that both writes are taken); the debug kernel (make fuzz, KERNEL=debug)
 * is what fails it, through /init's check of the kernel log.
 */
#include "../../../fuzz/fuzz_exec.h"

#define MSR_KVM_WALL_CLOCK_NEW	0x4b564d00
#define MSR_KVM_SYSTEM_TIME_NEW	0x4b564d01

static const uint8_t slot0[32] = {
	0, 0, 0, 0, 0, 0, 0, 0,			/* slot 0, flags 0 */
	0, 0, 0, 0, 0, 0, 0, 0,			/* gpa 0 */
	0, 0, 0x20, 0, 0, 0, 0, 0,		/* 2 MiB */
	0, 0, 0, 0, 0, 0, 0, 0,			/* userspace_addr: fixed up */
};

/* struct kvm_msrs with one entry: nmsrs, pad, {index, reserved, data}. */
#define MSRS1(index, data) { \
	1, 0, 0, 0, 0, 0, 0, 0, \
	(index) & 0xff, ((index) >> 8) & 0xff, ((index) >> 16) & 0xff, (index) >> 24, \
	0, 0, 0, 0, \
	(data) & 0xff, ((data) >> 8) & 0xff, ((data) >> 16) & 0xff, 0, 0, 0, 0, 0 }

/* The kvmclock page at gpa 0x10000 (bit 0: enabled); the wall clock at 0x11000. */
static const uint8_t system_time[24] = MSRS1(MSR_KVM_SYSTEM_TIME_NEW, 0x10001);
static const uint8_t wall_clock[24] = MSRS1(MSR_KVM_WALL_CLOCK_NEW, 0x11000);

static const struct fz_op ops[] = {
	{ .kind = OP_OPEN_KVM, .target = T_NONE, .expect = 0 },
	{ .kind = OP_CREATE_VM, .target = T_KVM, .expect = 0 },
	{ .kind = OP_MAP, .target = T_NONE, .flags = FZ_MAP_ANON, .val = 0x200000,
	  .expect = FZ_ANY },
	{ .kind = OP_IOCTL, .target = T_VM, .nr = KVM_SET_USER_MEMORY_REGION,
	  .base = BASE_BYTES, .len = 32, .bytes = slot0,
	  .nfix = 1, .fix = { { 24, FIX_MAP_PTR, 0, 0 } }, .expect = 0 },
	{ .kind = OP_CREATE_VCPU, .target = T_VM, .expect = 0 },
	{ .kind = OP_CPUID_HOST, .target = T_VCPU, .expect = 0 },
	{ .kind = OP_IOCTL, .target = T_VCPU, .nr = KVM_SET_MSRS, .base = BASE_BYTES,
	  .len = sizeof(system_time), .bytes = system_time, .expect = 0 },
	{ .kind = OP_IOCTL, .target = T_VCPU, .nr = KVM_SET_MSRS, .base = BASE_BYTES,
	  .len = sizeof(wall_clock), .bytes = wall_clock, .expect = 0 },
};

int main(void)
{
	struct fz_stats *st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE,
				   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	static struct fz_exec x;
	int status;
	pid_t pid;

	printf("TAP version 13\n1..1\n");
	if (access("/dev/kvm", R_OK | W_OK)) {
		printf("ok 1 # SKIP no /dev/kvm\n");
		return 4;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		fz_exec_init(&x, st);
		fz_exec_prog(&x, ops, sizeof(ops) / sizeof(ops[0]));
		fflush(stdout);
		_exit(x.mismatches ? 1 : 0);
	}
	waitpid(pid, &status, 0);
	printf("%sok 1 KVM_SET_MSRS of the kvmclock MSRs from the host (status %#x)\n",
	       WIFEXITED(status) && !WEXITSTATUS(status) ? "" : "not ", status);
	return !(WIFEXITED(status) && !WEXITSTATUS(status));
}
