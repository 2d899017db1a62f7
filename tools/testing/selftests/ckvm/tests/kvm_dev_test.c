// SPDX-License-Identifier: GPL-2.0
/* /dev/kvm system ioctls: API version, CREATE_VM, CHECK_EXTENSION,
 * GET_VCPU_MMAP_SIZE, GET_SUPPORTED_CPUID, unknown ioctls. */
#include "ckvm_util.h"

static struct kvm_cpuid_entry2 *find(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return &c->entries[i];
	return NULL;
}

int main(void)
{
	int kvm, vm, r;

	ksft_print_header();
	kvm = kvm_open();
	ksft_set_plan(33);

	CHECK_EQ(ioctl(kvm, KVM_GET_API_VERSION, 0), 12, "KVM_GET_API_VERSION == 12");
	/* kvm_dev_ioctl: a non-zero argument is rejected */
	CHECK_ERRNO(ioctl(kvm, KVM_GET_API_VERSION, 0x1234), EINVAL, "KVM_GET_API_VERSION arg != 0 -> EINVAL");

	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	CHECK_OK(vm, "KVM_CREATE_VM type 0");
	CHECK_OK(ioctl(kvm, KVM_CREATE_VM, 0) >= 0 ? 0 : -1, "second KVM_CREATE_VM type 0");
	CHECK_ERRNO(ioctl(kvm, KVM_CREATE_VM, 1), EINVAL, "KVM_CREATE_VM type 1 -> EINVAL");
	CHECK_ERRNO(ioctl(kvm, KVM_CREATE_VM, 0xffffffffUL), EINVAL,
		    "KVM_CREATE_VM type 0xffffffff -> EINVAL");
	CHECK_ERRNO(ioctl(kvm, KVM_CREATE_VM, 0x100), EINVAL, "KVM_CREATE_VM type 0x100 -> EINVAL");

	ksft_test_result(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY) > 0, "CAP_USER_MEMORY > 0");
	int nr_vcpus = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	int max_vcpus = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	int max_id = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPU_ID);
	int slots = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	ksft_print_msg("NR_VCPUS %d MAX_VCPUS %d MAX_VCPU_ID %d NR_MEMSLOTS %d",
		       nr_vcpus, max_vcpus, max_id, slots);
	ksft_test_result(nr_vcpus > 0, "CAP_NR_VCPUS > 0");
	ksft_test_result(max_vcpus > 0 && max_vcpus >= nr_vcpus, "CAP_MAX_VCPUS > 0 and >= NR_VCPUS");
	ksft_test_result(max_id >= max_vcpus, "CAP_MAX_VCPU_ID >= MAX_VCPUS");
	ksft_test_result(slots > 0, "CAP_NR_MEMSLOTS > 0");
	ksft_test_result(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) > 0,
			 "CAP_IMMEDIATE_EXIT > 0");
	CHECK_EQ(ioctl(kvm, KVM_CHECK_EXTENSION, 0x7fffffff), 0, "nonsense cap 0x7fffffff -> 0");
	CHECK_EQ(ioctl(kvm, KVM_CHECK_EXTENSION, 100000), 0, "nonsense cap 100000 -> 0");
	/* the same query on a VM fd (KVM_CAP_CHECK_EXTENSION_VM) */
	ksft_test_result(ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY) > 0 &&
			 ioctl(vm, KVM_CHECK_EXTENSION, 0x7fffffff) == 0,
			 "KVM_CHECK_EXTENSION on a VM fd");

	long sz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	ksft_print_msg("VCPU_MMAP_SIZE %ld", sz);
	ksft_test_result(sz >= 4096 && sz % 4096 == 0, "KVM_GET_VCPU_MMAP_SIZE >= 4096, page multiple");

	/* GET_SUPPORTED_CPUID */
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 1024 * sizeof(c->entries[0]));
	c->nent = 1;
	CHECK_ERRNO(ioctl(kvm, KVM_GET_SUPPORTED_CPUID, c), E2BIG, "GET_SUPPORTED_CPUID nent=1 -> E2BIG");
	c->nent = 0;
	CHECK_ERRNO(ioctl(kvm, KVM_GET_SUPPORTED_CPUID, c), E2BIG, "GET_SUPPORTED_CPUID nent=0 -> E2BIG");
	CHECK_ERRNO(ioctl(kvm, KVM_GET_SUPPORTED_CPUID, NULL), EFAULT, "GET_SUPPORTED_CPUID NULL -> EFAULT");
	c->nent = 256;
	r = ioctl(kvm, KVM_GET_SUPPORTED_CPUID, c);
	ksft_print_msg("supported cpuid: %u entries", c->nent);
	ksft_test_result(r == 0 && c->nent > 1 && c->nent <= 256, "GET_SUPPORTED_CPUID nent=256 works");
	struct kvm_cpuid_entry2 *e0 = find(c, 0, 0), *e1 = find(c, 1, 0);
	ksft_test_result(e0 && e0->eax >= 1, "leaf 0 present, max leaf >= 1");
	ksft_test_result(e1 != NULL, "leaf 1 present");
	if (!is_ckvm() && e1 && (e1->ecx & (1u << 5)))
		/* kvm_intel with nested=1 offers VMX to its guests. */
		ksft_test_result_skip("leaf 1 ECX.VMX: kvm_intel offers nested VMX");
	else
		ksft_test_result(e1 && !(e1->ecx & (1u << 5)),
				 "leaf 1 ECX.VMX (bit 5) not advertised (no nested virtualization)");
	struct kvm_cpuid_entry2 *x0 = find(c, 0x80000000, 0);
	ksft_test_result(x0 && x0->eax >= 0x80000001 && find(c, 0x80000001, 0),
			 "leaf 0x80000000/0x80000001 present");
	/* kvm clamps nent above KVM_MAX_CPUID_ENTRIES instead of failing */
	int n256 = c->nent;
	c->nent = 1024;
	r = ioctl(kvm, KVM_GET_SUPPORTED_CPUID, c);
	ksft_test_result(r == 0 && (int)c->nent == n256, "GET_SUPPORTED_CPUID nent=1024 works, same count");
	/* nent exactly the needed count works, one less is E2BIG */
	c->nent = n256;
	CHECK_OK(ioctl(kvm, KVM_GET_SUPPORTED_CPUID, c), "GET_SUPPORTED_CPUID nent=exact works");
	c->nent = n256 - 1;
	CHECK_ERRNO(ioctl(kvm, KVM_GET_SUPPORTED_CPUID, c), E2BIG, "GET_SUPPORTED_CPUID nent=exact-1 -> E2BIG");
	free(c);

	/* unknown ioctls. Measured on kvm_amd (6.1): /dev/kvm -> EINVAL
	 * (kvm_arch_dev_ioctl default), VM fd -> ENOTTY, vCPU fd -> EINVAL. */
	CHECK_ERRNO(ioctl(kvm, _IO(KVMIO, 0xfe), 0), EINVAL, "unknown KVMIO ioctl on /dev/kvm -> EINVAL");
	CHECK_ERRNO(ioctl(kvm, _IO('x', 0x42), 0), EINVAL, "foreign ioctl on /dev/kvm -> EINVAL");
	CHECK_ERRNO(ioctl(vm, _IO(KVMIO, 0xfe), 0), ENOTTY, "unknown ioctl on VM fd -> ENOTTY");
	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	TEST_ASSERT(vcpu >= 0, "create vcpu");
	CHECK_ERRNO(ioctl(vcpu, _IO(KVMIO, 0xfe), 0), EINVAL, "unknown ioctl on vCPU fd -> EINVAL");
	/* system ioctls are not VM ioctls */
	CHECK_ERRNO(ioctl(vm, KVM_GET_API_VERSION, 0), ENOTTY, "KVM_GET_API_VERSION on VM fd -> ENOTTY");
	close(vcpu);
	close(vm);
	close(kvm);
	return ksft_finished();
}
