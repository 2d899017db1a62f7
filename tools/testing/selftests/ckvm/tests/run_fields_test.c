// SPDX-License-Identifier: GPL-2.0
/*
 * What userspace writes into the shared kvm_run page (issue 14, kind 3):
 * every field is read once per KVM_RUN and checked as KVM checks it.
 * Expected results measured on Debian's 6.1 kvm_amd and kvm_intel:
 *
 *  - kvm_valid_regs / kvm_dirty_regs: a bit KVM_CAP_SYNC_REGS does not
 *    report is EINVAL, before anything else, even with immediate_exit.
 *  - cr8 (no in-kernel local APIC): loaded into CR8 by every KVM_RUN, also
 *    one that returns EINTR for immediate_exit; bits 63:4 are EINVAL.
 *    Every KVM_RUN writes cr8, apic_base and if_flag back.
 *  - With an in-kernel local APIC, cr8 is not read at all.
 *  - padding1 is not checked.
 *  - immediate_exit counts as KVM_RUN found it when it started: setting it
 *    while the guest runs does not end that KVM_RUN.
 */
#include <pthread.h>
#include <time.h>

#include "ckvm_util.h"

#define KVM_SYNC_BITS	64

static void guest_cr8(void)
{
	uint64_t cr8;

	asm volatile("mov %%cr8, %0" : "=r"(cr8));
	GUEST_SYNC(cr8);
	cr8 = 9;
	asm volatile("mov %0, %%cr8" :: "r"(cr8));
	asm volatile("sti; nop" ::: "memory");
	GUEST_SYNC(0);
	GUEST_DONE();
}

static uint64_t rip_of(struct kvm_vcpu *v)
{
	struct kvm_regs r;

	vcpu_get_regs(v, &r);
	return r.rip;
}

/* KVM_RUN; -errno or 0. */
static int run(struct kvm_vcpu *v)
{
	return vcpu_run(v);
}

static void test_sync_regs_masks(void)
{
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *v = vcpu_add(vm, 0, guest_cr8);
	uint64_t sync = kvm_check_cap(KVM_CAP_SYNC_REGS);
	uint64_t rip = rip_of(v);
	int bad_valid = 0, bad_dirty = 0, tried = 0, bit, r;

	ksft_print_msg("KVM_CAP_SYNC_REGS: 0x%llx", (unsigned long long)sync);
	/* The smallest input: one undefined bit in either mask. */
	v->run->kvm_valid_regs = 1ULL << 3;
	CHECK_EQ(run(v), -EINVAL, "kvm_valid_regs bit 3 (undefined) -> EINVAL");
	v->run->kvm_valid_regs = 0;
	v->run->kvm_dirty_regs = 1ULL << 3;
	CHECK_EQ(run(v), -EINVAL, "kvm_dirty_regs bit 3 (undefined) -> EINVAL");
	v->run->kvm_dirty_regs = 0;

	/*
	 * Every bit the capability does not report, in each mask. On the
	 * reference only bits 31:0: Debian 13's kvm_amd (6.12.118) checks
	 * the masks against a u32 (sync_valid_fields in
	 * kvm_arch_vcpu_ioctl_run()) and runs the guest with any of bits
	 * 63:32 (measured; 6.1 refuses them).
	 */
	for (bit = 0; bit < KVM_SYNC_BITS; bit++) {
		if (sync & (1ULL << bit))
			continue;
		if (!is_ckvm() && bit >= 32)
			continue;
		tried++;
		v->run->kvm_valid_regs = 1ULL << bit;
		bad_valid += run(v) == -EINVAL;
		v->run->kvm_valid_regs = 0;
		v->run->kvm_dirty_regs = 1ULL << bit;
		bad_dirty += run(v) == -EINVAL;
		v->run->kvm_dirty_regs = 0;
	}
	CHECK_EQ(bad_valid + bad_dirty, 2 * tried,
		 "every bit outside KVM_CAP_SYNC_REGS (the reference: of bits 31:0), in either mask -> EINVAL");
	/*
	 * Checked before immediate_exit is looked at (EINVAL, not EINTR):
	 * so on ckvm and KVM 6.1; 6.12 looks at immediate_exit first (EINTR).
	 */
	v->run->immediate_exit = 1;
	v->run->kvm_valid_regs = is_ckvm() ? 1ULL << 63 : 1ULL << 3;
	r = run(v);
	ksft_test_result(r == -EINVAL || (!is_ckvm() && r == -EINTR),
			 "bad kvm_valid_regs with immediate_exit -> EINVAL%s (%d)\n",
			 is_ckvm() ? "" : " (KVM 6.12: EINTR)", r);
	v->run->kvm_valid_regs = 0;
	v->run->immediate_exit = 0;
	CHECK_EQ(rip_of(v), rip, "the guest never ran");

	/* The bits the capability reports are taken. */
	if (sync) {
		struct ucall uc;

		v->run->kvm_valid_regs = sync;
		ksft_test_result(vcpu_run_ucall(v, &uc) == UCALL_SYNC &&
				 v->run->s.regs.regs.rip == rip_of(v),
				 "kvm_valid_regs = KVM_CAP_SYNC_REGS: runs, registers synced\n");
		v->run->kvm_valid_regs = 0;
	} else {
		ksft_test_result_skip("kvm_valid_regs = KVM_CAP_SYNC_REGS: no register sync offered (ckvm: not yet)\n");
	}
	kvm_vm_free(vm);
}

static void test_cr8(void)
{
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *v = vcpu_add(vm, 0, guest_cr8);
	struct kvm_sregs s;
	struct ucall uc;
	int r;

	/* Without an in-kernel local APIC: bits 63:4 are EINVAL. */
	v->run->cr8 = 0x10;
	CHECK_EQ(run(v), -EINVAL, "run->cr8 = 0x10 -> EINVAL");
	CHECK_EQ(v->run->cr8, 0, "the failed KVM_RUN wrote the vCPU's CR8 (0) back");
	v->run->cr8 = 1ULL << 63;
	v->run->immediate_exit = 1;
	CHECK_EQ(run(v), -EINVAL, "run->cr8 bit 63 with immediate_exit -> EINVAL");

	/* Loaded by every KVM_RUN, also one that ends at immediate_exit. */
	v->run->cr8 = 5;
	CHECK_EQ(run(v), -EINTR, "run->cr8 = 5, immediate_exit -> EINTR");
	vcpu_get_sregs(v, &s);
	CHECK_EQ(s.cr8, 5, "... and CR8 is 5");
	CHECK_EQ(v->run->apic_base, 0xfee00900, "KVM_RUN reports apic_base");
	v->run->immediate_exit = 0;

	/* run->cr8 wins over KVM_SET_SREGS, as in KVM. */
	s.cr8 = 3;
	vcpu_set_sregs(v, &s);
	v->run->cr8 = 7;
	memset(v->run->padding1, 0xa5, sizeof(v->run->padding1));
	r = vcpu_run_ucall(v, &uc);
	ksft_test_result(r == UCALL_SYNC && uc.args[0] == 7,
			 "the guest reads the CR8 of run->cr8 (7; padding1 not checked): %llu\n",
			 (unsigned long long)uc.args[0]);
	CHECK_EQ(v->run->if_flag, 0, "if_flag 0 while the guest has IF=0");
	r = vcpu_run_ucall(v, &uc);
	ksft_test_result(r == UCALL_SYNC && v->run->cr8 == 9 && v->run->if_flag == 1,
			 "the guest's MOV to CR8 (9) and STI show in run->cr8, if_flag (%llu, %u)\n",
			 (unsigned long long)v->run->cr8, v->run->if_flag);
	kvm_vm_free(vm);

	/* With an in-kernel local APIC KVM does not read run->cr8. */
	vm = vm_create();
	TEST_ASSERT(!ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0), "KVM_CREATE_IRQCHIP");
	v = vcpu_add(vm, 0, guest_cr8);
	v->run->cr8 = 0x10;
	r = vcpu_run_ucall(v, &uc);
	ksft_test_result(r == UCALL_SYNC && uc.args[0] == 0,
			 "with an in-kernel LAPIC, run->cr8 = 0x10 is ignored (CR8 %llu)\n",
			 (unsigned long long)uc.args[0]);
	kvm_vm_free(vm);
}

/* ---- immediate_exit read once ---- */

volatile uint64_t go;

static void guest_spin(void)
{
	/* IF=1: host interrupts exit to the host on every vendor. */
	asm volatile("sti" ::: "memory");
	while (!go)
		asm volatile("pause" ::: "memory");
	GUEST_SYNC(1);
	GUEST_DONE();
}

struct flipper {
	struct kvm_vcpu *v;
	uint64_t *go;		/* the guest's copy of go */
};

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* While the guest spins: set immediate_exit, let exits happen, then free it. */
static void *flip(void *arg)
{
	struct flipper *f = arg;

	sleep_ms(100);
	__atomic_store_n(&f->v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	sleep_ms(200);
	__atomic_store_n(f->go, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void test_immediate_exit_once(void)
{
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *v = vcpu_add(vm, 0, guest_spin);
	struct flipper f = { .v = v, .go = addr_gpa2hva(vm, (uint64_t)&go) };
	pthread_t th;
	struct ucall uc;
	int r;

	TEST_ASSERT(!pthread_create(&th, NULL, flip, &f), "pthread_create");
	r = vcpu_run_ucall(v, &uc);
	pthread_join(th, NULL);
	ksft_test_result(r == UCALL_SYNC,
			 "immediate_exit set while the guest runs does not end that KVM_RUN\n");
	CHECK_EQ(run(v), -EINTR, "... the next KVM_RUN sees it -> EINTR");
	v->run->immediate_exit = 0;
	ksft_test_result(vcpu_run_ucall(v, &uc) == UCALL_DONE, "guest done\n");
	kvm_vm_free(vm);
}

int main(void)
{
	ksft_print_header();
	kvm_open();
	ksft_set_plan(6 + 10 + 3);
	test_sync_regs_masks();
	test_cr8();
	test_immediate_exit_once();
	return ksft_finished();
}
