// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_SET_USER_MEMORY_REGION2 and KVM_CAP_USER_MEMORY2 (KVM api.rst
 * 4.141): the same memslots as KVM_SET_USER_MEMORY_REGION, both ioctls
 * on one set of slots; good calls, unknown flags, KVM_MEM_GUEST_MEMFD
 * (ckvm has no guest_memfd), the reserved pad fields, overlap with a slot
 * of the other ioctl, bad pointers, and the guest's view.
 *
 * The reference: KVM has the ioctl since 6.8, so the 6.12 kvm_amd has it
 * and the 6.1 one answers ENOTTY (those points skip there); ckvm always
 * has it.
 */
#include "ckvm_util.h"
#include <stddef.h>

/* 6.1's <linux/kvm.h> lacks them; KVM's numbers and layout (6.8). */
#ifndef KVM_SET_USER_MEMORY_REGION2
struct kvm_userspace_memory_region2 {
	__u32 slot;
	__u32 flags;
	__u64 guest_phys_addr;
	__u64 memory_size;
	__u64 userspace_addr;
	__u64 guest_memfd_offset;
	__u32 guest_memfd;
	__u32 pad1;
	__u64 pad2[14];
};
#define KVM_SET_USER_MEMORY_REGION2 _IOW(KVMIO, 0x49, struct kvm_userspace_memory_region2)
#endif
/* The same 160 bytes as the kernel's (include/compat.h asserts it too). */
_Static_assert(sizeof(struct kvm_userspace_memory_region2) == 160, "region2 ABI");
#ifndef KVM_CAP_USER_MEMORY2
#define KVM_CAP_USER_MEMORY2 231
#endif
#ifndef KVM_CAP_GUEST_MEMFD
#define KVM_CAP_GUEST_MEMFD 234
#endif
#ifndef KVM_MEM_GUEST_MEMFD
#define KVM_MEM_GUEST_MEMFD (1u << 2)
#endif

_Static_assert(sizeof(struct kvm_userspace_memory_region2) == 160, "KVM's layout");
_Static_assert(offsetof(struct kvm_userspace_memory_region2, guest_memfd_offset) ==
	       sizeof(struct kvm_userspace_memory_region), "region is region2's head");

#define SLOT_A	0x10000000ULL
#define SLOT_B	0x20000000ULL
#define SZ	(2ULL << 20)

static void guest_code(uint64_t gpa)
{
	GUEST_SYNC(*(volatile uint64_t *)gpa);
	*(volatile uint64_t *)(gpa + 8) = 0x5151;
	GUEST_DONE();
}

static int set_region2(struct kvm_vm *vm, struct kvm_userspace_memory_region2 *r)
{
	return ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION2, r);
}

static struct kvm_userspace_memory_region2 region2(uint32_t slot, uint32_t flags,
						   uint64_t gpa, uint64_t size, void *hva)
{
	struct kvm_userspace_memory_region2 r = {
		.slot = slot, .flags = flags, .guest_phys_addr = gpa,
		.memory_size = size, .userspace_addr = (uintptr_t)hva,
	};
	return r;
}

#define NR_REGION2_POINTS 21

int main(void)
{
	struct kvm_userspace_memory_region2 r;
	struct kvm_vm *vm;
	int kvm_fd, cap, rc, e;
	char *m, *hva;

	ksft_print_header();
	ksft_set_plan(4 + NR_REGION2_POINTS);
	kvm_fd = kvm_open();
	vm = vm_create();
	m = mmap(NULL, 4 * SZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(m != MAP_FAILED, "mmap");
	hva = (char *)(((uintptr_t)m + SZ - 1) & ~(SZ - 1));

	/* Points on every kernel. */
	cap = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY2);
	r = region2(1, 0, SLOT_A, SZ, hva);
	errno = 0;
	rc = set_region2(vm, &r);
	e = errno;
	ksft_test_result((cap > 0 && rc == 0) || (cap == 0 && rc == -1 && e == ENOTTY && !is_ckvm()),
			 "KVM_CAP_USER_MEMORY2 (%d) says whether KVM_SET_USER_MEMORY_REGION2 works (%d, %s)",
			 cap, rc, rc ? strerror(e) : "ok");
	/*
	 * No guest_memfd in ckvm: the capability stays 0 on a VM. KVM 6.12
	 * reports it on /dev/kvm when built with private memory, and on a
	 * VM only for VM types that have it (not the default type 0).
	 */
	CHECK_EQ(ioctl(vm->fd, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD), 0,
		 "KVM_CAP_GUEST_MEMFD on a default VM: 0");
	if (is_ckvm())
		CHECK_EQ(ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD), 0,
			 "KVM_CAP_GUEST_MEMFD on /dev/kvm: 0 (ckvm has no guest_memfd)");
	else
		ksft_test_result_skip("KVM_CAP_GUEST_MEMFD on /dev/kvm: KVM reports it when built with private memory (%d)",
				      ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD));
	/* The old ioctl never takes KVM_MEM_GUEST_MEMFD (6.1: unknown flag). */
	CHECK_ERRNO(__vm_set_region(vm, 2, KVM_MEM_GUEST_MEMFD, SLOT_B, SZ, hva + SZ), EINVAL,
		    "KVM_SET_USER_MEMORY_REGION with KVM_MEM_GUEST_MEMFD -> EINVAL");

	if (rc) {
		for (int i = 0; i < NR_REGION2_POINTS; i++)
			ksft_test_result_skip("KVM_SET_USER_MEMORY_REGION2 point %d: this KVM has no such ioctl (added in 6.8): %s",
					      i + 1, strerror(e));
		return ksft_finished();
	}
	vm_track_memslot(vm, 1, SLOT_A, SZ, 0, hva);

	/* The slot made by REGION2 is guest memory like any other. */
	{
		struct kvm_vcpu *v = vcpu_add(vm, 0, guest_code);
		struct ucall uc;

		*(uint64_t *)hva = 0x1234abcd5678ef00ULL;
		vcpu_args_set(v, 1, SLOT_A);
		ksft_test_result(vcpu_run_ucall(v, &uc) == UCALL_SYNC && uc.args[0] == 0x1234abcd5678ef00ULL,
				 "guest reads host data through a REGION2 slot");
		ksft_test_result(vcpu_run_ucall(v, &uc) == UCALL_DONE &&
				 ((uint64_t *)hva)[1] == 0x5151,
				 "guest write through a REGION2 slot reaches the host");
		vcpu_free(v);
	}
	CHECK_OK(set_region2(vm, &r), "REGION2 again, unchanged -> 0");

	/* Flags. */
	r = region2(2, 0x80, SLOT_B, SZ, hva + SZ);
	CHECK_ERRNO(set_region2(vm, &r), EINVAL, "REGION2 unknown flag 0x80 -> EINVAL");
	r.flags = 1u << 31;
	CHECK_ERRNO(set_region2(vm, &r), EINVAL, "REGION2 unknown flag bit 31 -> EINVAL");
	r.flags = KVM_MEM_GUEST_MEMFD;
	CHECK_ERRNO(set_region2(vm, &r), EINVAL, "REGION2 KVM_MEM_GUEST_MEMFD on a VM without guest_memfd -> EINVAL");
	r.flags = KVM_MEM_GUEST_MEMFD | KVM_MEM_READONLY;
	CHECK_ERRNO(set_region2(vm, &r), EINVAL, "REGION2 KVM_MEM_GUEST_MEMFD | READONLY -> EINVAL");
	/* Without the flag guest_memfd and its offset mean nothing (as KVM). */
	r = region2(2, KVM_MEM_READONLY, SLOT_B, SZ, hva + SZ);
	r.guest_memfd = -1;
	r.guest_memfd_offset = 0x1234;
	CHECK_OK(set_region2(vm, &r), "REGION2 READONLY slot, guest_memfd fields ignored without the flag -> 0");

	/* Reserved fields. KVM 6.12 does not look at them; ckvm refuses. */
	r = region2(3, 0, SLOT_B + SZ, SZ, hva + 2 * SZ);
	r.pad1 = 1;
	errno = 0;
	rc = set_region2(vm, &r);
	e = errno;
	if (is_ckvm())
		ksft_test_result(rc == -1 && e == EINVAL, "REGION2 nonzero pad1 -> EINVAL (%d, %s)", rc, strerror(e));
	else
		ksft_test_result_skip("REGION2 nonzero pad1: KVM does not check it (%d); ckvm refuses it", rc);
	r.pad1 = 0;
	r.pad2[13] = 1ULL << 63;
	r.slot = 4;
	r.guest_phys_addr = SLOT_B + 2 * SZ;
	errno = 0;
	rc = set_region2(vm, &r);
	e = errno;
	if (is_ckvm())
		ksft_test_result(rc == -1 && e == EINVAL, "REGION2 nonzero pad2[13] -> EINVAL (%d, %s)", rc, strerror(e));
	else
		ksft_test_result_skip("REGION2 nonzero pad2[13]: KVM does not check it (%d); ckvm refuses it", rc);

	/* One set of slots for both ioctls. */
	r = region2(5, 0, SLOT_A + SZ / 2, SZ, hva + 3 * SZ);
	CHECK_ERRNO(set_region2(vm, &r), EEXIST, "REGION2 overlapping a REGION2 slot -> EEXIST");
	CHECK_OK(__vm_set_region(vm, 6, 0, SLOT_B + 8 * SZ, SZ, hva + 3 * SZ), "REGION slot 6");
	r = region2(5, 0, SLOT_B + 8 * SZ + SZ - 4096, 8192, hva + 2 * SZ);
	CHECK_ERRNO(set_region2(vm, &r), EEXIST, "REGION2 overlapping a REGION slot -> EEXIST");
	CHECK_ERRNO(__vm_set_region(vm, 5, 0, SLOT_A, 4096, hva + 2 * SZ), EEXIST,
		    "REGION overlapping a REGION2 slot -> EEXIST");
	r = region2(6, KVM_MEM_LOG_DIRTY_PAGES, SLOT_B + 8 * SZ, SZ, hva + 3 * SZ);
	CHECK_OK(set_region2(vm, &r), "REGION2 turns on dirty logging of a REGION slot");
	{
		uint64_t bitmap[SZ / 4096 / 64] = { 0 };
		struct kvm_dirty_log log = { .slot = 6, .dirty_bitmap = bitmap };

		CHECK_OK(ioctl(vm->fd, KVM_GET_DIRTY_LOG, &log), "KVM_GET_DIRTY_LOG of that slot");
	}
	r = region2(6, 0, 0, 0, NULL);
	CHECK_OK(set_region2(vm, &r), "REGION2 deletes a REGION slot");

	/* Bad input. */
	r = region2(7, 0, SLOT_B + 0x800, SZ, hva + 3 * SZ);
	CHECK_ERRNO(set_region2(vm, &r), EINVAL, "REGION2 misaligned gpa -> EINVAL");
	r = region2(7, 0, 0xfffffffffffff000ULL, 0x2000, hva + 3 * SZ);
	CHECK_ERRNO(set_region2(vm, &r), EINVAL, "REGION2 gpa+size wraps -> EINVAL");
	CHECK_ERRNO(ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION2, (void *)8), EFAULT, "REGION2 bad pointer -> EFAULT");
	/*
	 * The old ioctl reads only its 32 bytes: its struct at the end of
	 * the last mapped page works.
	 */
	{
		char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		struct kvm_userspace_memory_region *r1;

		TEST_ASSERT(p != MAP_FAILED, "mmap");
		munmap(p + 4096, 4096);
		r1 = (void *)(p + 4096 - sizeof(*r1));
		*r1 = (struct kvm_userspace_memory_region){
			.slot = 7, .guest_phys_addr = SLOT_B + 12 * SZ,
			.memory_size = SZ, .userspace_addr = (uintptr_t)(hva + 3 * SZ),
		};
		CHECK_OK(ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, r1),
			 "REGION reads only struct kvm_userspace_memory_region (end of a page)");
		munmap(p, 4096);
	}
	kvm_vm_free(vm);
	munmap(m, 4 * SZ);
	close(kvm_fd);
	return ksft_finished();
}
