// SPDX-License-Identifier: GPL-2.0
/*
 * Errnos that make fuzz-compare found to differ between ckvm and the
 * distro's KVM (Documentation/fuzzing.rst), pinned to KVM 6.1's answers:
 *
 * - KVM_CREATE_DEVICE: KVM reads the argument (EFAULT) and answers ENODEV
 *   for a device type it has not, with or without KVM_CREATE_DEVICE_TEST;
 *   ckvm has none (it answered ENOTTY, an unknown ioctl).
 * - KVM_SET_CPUID2 before the vCPU first entered the guest
 *   (kvm_check_cpuid()): CPUID 0xD.0 EDX:EAX asking for a dynamic XSAVE
 *   feature (AMX tile data, bit 18) that the process was not granted with
 *   arch_prctl(ARCH_REQ_XCOMP_GUEST_PERM) is EPERM, also when the 0xD
 *   entry does not flag its index significant (then it is 0xD.0 for KVM:
 *   kvmfuzz's seed 1, ioctl program 0, op 18); a linear-address width in
 *   0x80000008 EAX[15:8] other than 0, 48 or 57 is EINVAL.
 * - KVM_SET_CPUID2 after the vCPU entered the guest
 *   (kvm_cpuid_check_equal()): the same table again is taken, also with
 *   other bytes in the entries' padding; a changed value or another
 *   number of entries is EINVAL. A KVM_RUN that did not enter the guest
 *   (immediate_exit) does not fix the table yet.
 */
#include <signal.h>

#include "ckvm_util.h"

#ifndef KVM_DEV_TYPE_FSL_MPIC_20
#define KVM_DEV_TYPE_FSL_MPIC_20 1
#endif
#define XTILE_DATA	(1u << 18)	/* XFEATURE_MASK_XTILE_DATA */

static void on_usr1(int sig __attribute__((unused)))
{
}

static void guest_hlt(void)
{
	for (;;)
		halt();
}

static void test_create_device(void)
{
	struct kvm_vm *vm = vm_create_bare();
	struct kvm_create_device cd = { .type = 0xff };

	CHECK_ERRNO(ioctl(vm->fd, KVM_CREATE_DEVICE, NULL), EFAULT,
		    "KVM_CREATE_DEVICE NULL -> EFAULT");
	CHECK_ERRNO(ioctl(vm->fd, KVM_CREATE_DEVICE, &cd), ENODEV,
		    "KVM_CREATE_DEVICE of type 0xff -> ENODEV");
	cd.type = KVM_DEV_TYPE_FSL_MPIC_20;
	cd.flags = KVM_CREATE_DEVICE_TEST;
	CHECK_ERRNO(ioctl(vm->fd, KVM_CREATE_DEVICE, &cd), ENODEV,
		    "KVM_CREATE_DEVICE_TEST of a type x86 lacks (FSL MPIC) -> ENODEV");
	kvm_vm_free(vm);
}

/* A copy of @c with room for one more entry. */
static struct kvm_cpuid2 *cpuid_copy(const struct kvm_cpuid2 *c)
{
	size_t sz = sizeof(*c) + (c->nent + 1) * sizeof(c->entries[0]);
	struct kvm_cpuid2 *n = calloc(1, sz);

	TEST_ASSERT(n, "calloc");
	memcpy(n, c, sizeof(*c) + c->nent * sizeof(c->entries[0]));
	return n;
}

static struct kvm_cpuid_entry2 *find(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return &c->entries[i];
	return NULL;
}

static void test_cpuid_check(void)
{
	struct kvm_vm *vm = vm_create_bare();
	struct kvm_vcpu *v = vcpu_create(vm, 0);
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 2 * sizeof(c->entries[0]));
	struct {
		struct kvm_cpuid2 h;
		struct kvm_cpuid_entry2 e[4];
	} g = { .h.nent = 4 };

	TEST_ASSERT(c, "calloc");
	c->nent = 1;
	c->entries[0] = (struct kvm_cpuid_entry2){ .function = 0xd, .index = 0,
		.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 0x3 | XTILE_DATA };
	CHECK_ERRNO(ioctl(v->fd, KVM_SET_CPUID2, c), EPERM,
		    "SET_CPUID2 with AMX tile data in 0xD.0 EAX, not permitted -> EPERM");
	/* kvmfuzz's table: function 0xd, index 2, no significant-index flag. */
	c->entries[0] = (struct kvm_cpuid_entry2){ .function = 0xd, .index = 2,
		.eax = 0x16d5966a, .ebx = 0x6519df73 };
	CHECK_ERRNO(ioctl(v->fd, KVM_SET_CPUID2, c), EPERM,
		    "SET_CPUID2 with 0xD (index not significant) asking AMX -> EPERM");
	c->entries[0] = (struct kvm_cpuid_entry2){ .function = 0xd, .index = 0,
		.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .edx = XTILE_DATA };
	CHECK_OK(ioctl(v->fd, KVM_SET_CPUID2, c),
		 "SET_CPUID2 with bit 50 of 0xD.0 (EDX bit 18, not dynamic) taken");

	c->entries[0] = (struct kvm_cpuid_entry2){ .function = 0x80000008, .eax = 0x2830 };
	CHECK_ERRNO(ioctl(v->fd, KVM_SET_CPUID2, c), EINVAL,
		    "SET_CPUID2 with 40 linear-address bits in 0x80000008 -> EINVAL");
	c->entries[0].eax = 0x3930;	/* 57 */
	CHECK_OK(ioctl(v->fd, KVM_SET_CPUID2, c), "SET_CPUID2 with 57 linear-address bits taken");
	c->entries[0].eax = 0x0030;	/* 0: not given */
	CHECK_OK(ioctl(v->fd, KVM_SET_CPUID2, c), "SET_CPUID2 with 0 linear-address bits taken");
	c->entries[0].eax = 0x3030;	/* 48 */
	CHECK_OK(ioctl(v->fd, KVM_SET_CPUID2, c), "SET_CPUID2 with 48 linear-address bits taken");
	/* The refused tables did not replace the last one taken. */
	/* (KVM 6.1 leaves nent as given when GET_CPUID2 succeeds.) */
	ksft_test_result(ioctl(v->fd, KVM_GET_CPUID2, &g) == 0 &&
			 g.e[0].function == 0x80000008 && g.e[0].eax == 0x3030,
			 "GET_CPUID2 after the refused tables: the last one taken");

	free(c);
	vcpu_free(v);
	kvm_vm_free(vm);
}

static void test_cpuid_after_run(void)
{
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *v = vcpu_add(vm, 0, guest_hlt);
	struct kvm_cpuid2 *sup = kvm_get_supported_cpuid(), *c, *g;
	struct kvm_cpuid_entry2 *e;
	int r;

	c = cpuid_copy(sup);
	g = cpuid_copy(sup);
	TEST_ASSERT(!ioctl(v->fd, KVM_SET_CPUID2, sup), "SET_CPUID2");

	/* A KVM_RUN that never enters the guest does not fix the model. */
	v->run->immediate_exit = 1;
	r = vcpu_run(v);
	v->run->immediate_exit = 0;
	e = find(c, 0x80000001, 0);
	TEST_ASSERT(e, "0x80000001 in the supported table");
	e->ecx ^= 1u << 6;	/* SSE4A, not a bit that follows the vCPU's state */
	ksft_print_msg("KVM_RUN with immediate_exit: %d", r);
	CHECK_OK(ioctl(v->fd, KVM_SET_CPUID2, c),
		 "SET_CPUID2 changed after a KVM_RUN that did not enter the guest: taken");
	e->ecx ^= 1u << 6;
	TEST_ASSERT(!ioctl(v->fd, KVM_SET_CPUID2, c), "SET_CPUID2 back");

	/* Nor one that a pending signal ends before the entry. */
	{
		struct sigaction sa = { .sa_handler = on_usr1 };
		struct kvm_signal_mask *sm = calloc(1, sizeof(*sm) + 8);
		sigset_t block;

		TEST_ASSERT(sm, "calloc");
		sigemptyset(&block);
		sigaddset(&block, SIGUSR1);
		sigaction(SIGUSR1, &sa, NULL);
		sigprocmask(SIG_BLOCK, &block, NULL);
		raise(SIGUSR1);
		sm->len = 8;	/* nothing blocked inside KVM_RUN */
		TEST_ASSERT(!ioctl(v->fd, KVM_SET_SIGNAL_MASK, sm), "KVM_SET_SIGNAL_MASK");
		r = vcpu_run(v);
		ksft_test_result(r == -EINTR && v->run->exit_reason == KVM_EXIT_INTR,
				 "KVM_RUN with a signal pending: EINTR, KVM_EXIT_INTR (%d, %s)",
				 r, exit_reason_str(v->run->exit_reason));
		TEST_ASSERT(!ioctl(v->fd, KVM_SET_SIGNAL_MASK, NULL), "KVM_SET_SIGNAL_MASK NULL");
		sigprocmask(SIG_UNBLOCK, &block, NULL);	/* the handler runs */
		free(sm);
	}
	e->ecx ^= 1u << 6;
	CHECK_OK(ioctl(v->fd, KVM_SET_CPUID2, c),
		 "SET_CPUID2 changed after a KVM_RUN that a signal ended before entry: taken");
	e->ecx ^= 1u << 6;
	TEST_ASSERT(!ioctl(v->fd, KVM_SET_CPUID2, c), "SET_CPUID2 back");

	r = vcpu_run(v);
	ksft_test_result(r == 0 && v->run->exit_reason == KVM_EXIT_HLT,
			 "the guest ran to HLT (%d, %s)", r, exit_reason_str(v->run->exit_reason));

	CHECK_OK(ioctl(v->fd, KVM_SET_CPUID2, c), "after entry: the same table again is taken");
	for (uint32_t i = 0; i < c->nent; i++)
		c->entries[i].padding[0] = 0xa5a5a5a5 + i;
	CHECK_OK(ioctl(v->fd, KVM_SET_CPUID2, c),
		 "after entry: the same table with other padding bytes is taken");
	e->ecx ^= 1u << 6;
	CHECK_ERRNO(ioctl(v->fd, KVM_SET_CPUID2, c), EINVAL,
		    "after entry: a changed entry -> EINVAL");
	e->ecx ^= 1u << 6;
	c->nent--;
	CHECK_ERRNO(ioctl(v->fd, KVM_SET_CPUID2, c), EINVAL,
		    "after entry: one entry fewer -> EINVAL");
	c->nent++;
	g->nent = sup->nent + 1;
	r = ioctl(v->fd, KVM_GET_CPUID2, g);
	e = find(g, 0x80000001, 0);
	ksft_print_msg("GET_CPUID2: %d; 0x80000001 ECX %#x, set %#x", r, e ? e->ecx : 0,
		       find(c, 0x80000001, 0)->ecx);
	ksft_test_result(r == 0 && e &&
			 e->ecx == find(c, 0x80000001, 0)->ecx,
			 "the table of the first entry is still the vCPU's");
	free(c);
	free(g);
	vcpu_free(v);
	kvm_vm_free(vm);
}

int main(void)
{
	kvm_open();
	ksft_print_header();
	ksft_set_plan(20);
	test_create_device();
	test_cpuid_check();
	test_cpuid_after_run();
	return ksft_finished();
}
