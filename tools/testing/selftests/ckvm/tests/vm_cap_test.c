// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_ENABLE_CAP on a VM (KVM_CAP_MAX_VCPU_ID), and the CR4 bits
 * KVM_SET_SREGS accepts before and after the vCPU model is set.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "ckvm_util.h"

#define CR4_OSXSAVE	(1ull << 18)
#define XSAVE_BIT	(1u << 26)	/* CPUID.1:ECX */
#define APIC_BASE_BSP	(1ull << 8)

static int enable_cap(struct kvm_vm *vm, uint32_t cap, uint32_t flags,
		      uint64_t arg0)
{
	struct kvm_enable_cap c = { .cap = cap, .flags = flags };

	c.args[0] = arg0;
	return ioctl(vm->fd, KVM_ENABLE_CAP, &c);
}

int main(void)
{
	struct kvm_cpuid2 *cpuid;
	struct kvm_sregs sregs;
	struct kvm_vm *vm;
	struct kvm_vcpu *v;
	bool xsave = false;
	int max, fd;
	uint32_t i;

	ksft_print_header();
	ksft_set_plan(24);

	ksft_test_result(kvm_check_cap(KVM_CAP_ENABLE_CAP_VM) > 0,
			 "KVM_CAP_ENABLE_CAP_VM\n");
	max = kvm_check_cap(KVM_CAP_MAX_VCPU_ID);
	vm = vm_create_bare();
	CHECK_ERRNO(enable_cap(vm, KVM_CAP_MAX_VCPU_ID, 0, max + 1), EINVAL,
		    "MAX_VCPU_ID above the cap -> EINVAL");
	CHECK_ERRNO(enable_cap(vm, KVM_CAP_MAX_VCPU_ID, 1, 4), EINVAL,
		    "ENABLE_CAP with flags -> EINVAL");
	CHECK_ERRNO(enable_cap(vm, 0xffff, 0, 0), EINVAL,
		    "ENABLE_CAP of an unknown cap -> EINVAL");
	CHECK_ERRNO(ioctl(vm->fd, KVM_ENABLE_CAP, NULL), EFAULT,
		    "ENABLE_CAP, NULL pointer -> EFAULT");
	CHECK_OK(enable_cap(vm, KVM_CAP_MAX_VCPU_ID, 0, 4), "MAX_VCPU_ID = 4");
	CHECK_OK(enable_cap(vm, KVM_CAP_MAX_VCPU_ID, 0, 4),
		 "MAX_VCPU_ID = 4 again is fine");
	CHECK_ERRNO(enable_cap(vm, KVM_CAP_MAX_VCPU_ID, 0, 5), EINVAL,
		    "MAX_VCPU_ID changed a second time -> EINVAL");
	fd = ioctl(vm->fd, KVM_CREATE_VCPU, 3);
	ksft_test_result(fd >= 0, "vCPU id 3 below the new limit\n");
	CHECK_ERRNO(ioctl(vm->fd, KVM_CREATE_VCPU, 4), EINVAL,
		    "vCPU id 4 at the new limit -> EINVAL");
	kvm_vm_free(vm);

	/* CR4 before KVM_SET_CPUID2: every bit KVM can offer is accepted. */
	cpuid = kvm_get_supported_cpuid();
	for (i = 0; i < cpuid->nent; i++)
		if (cpuid->entries[i].function == 1)
			xsave = cpuid->entries[i].ecx & XSAVE_BIT;
	vm = vm_create_bare();
	v = vcpu_create(vm, 0);
	vcpu_get_sregs(v, &sregs);
	sregs.cr4 |= CR4_OSXSAVE;
	if (xsave)
		CHECK_OK(ioctl(v->fd, KVM_SET_SREGS, &sregs),
			 "CR4.OSXSAVE before SET_CPUID2 (XSAVE supported)");
	else
		CHECK_ERRNO(ioctl(v->fd, KVM_SET_SREGS, &sregs), EINVAL,
			    "CR4.OSXSAVE before SET_CPUID2 (XSAVE unsupported)");

	/* After a model without XSAVE, OSXSAVE is reserved. */
	for (i = 0; i < cpuid->nent; i++)
		if (cpuid->entries[i].function == 1)
			cpuid->entries[i].ecx &= ~XSAVE_BIT;
	v = vcpu_create(vm, 1);
	TEST_ASSERT(!ioctl(v->fd, KVM_SET_CPUID2, cpuid), "SET_CPUID2");
	vcpu_get_sregs(v, &sregs);
	sregs.cr4 |= CR4_OSXSAVE;
	CHECK_ERRNO(ioctl(v->fd, KVM_SET_SREGS, &sregs), EINVAL,
		    "CR4.OSXSAVE with a model without XSAVE -> EINVAL");
	sregs.cr4 &= ~CR4_OSXSAVE;
	CHECK_OK(ioctl(v->fd, KVM_SET_SREGS, &sregs), "the same sregs without OSXSAVE");
	kvm_vm_free(vm);

	/* KVM_SET_BOOT_CPU_ID: the BSP flag goes to the chosen vCPU. */
	ksft_test_result(kvm_check_cap(KVM_CAP_SET_BOOT_CPU_ID) > 0,
			 "KVM_CAP_SET_BOOT_CPU_ID\n");
	vm = vm_create_bare();
	if (is_ckvm())
		CHECK_ERRNO(ioctl(vm->fd, KVM_SET_BOOT_CPU_ID, 5000UL), EINVAL,
			    "boot CPU id no vCPU can have -> EINVAL");
	else	/* measured: KVM 6.1 takes any id (and then has no BSP) */
		ksft_test_result_skip("KVM 6.1 accepts any boot CPU id\n");
	CHECK_OK(ioctl(vm->fd, KVM_SET_BOOT_CPU_ID, 1UL), "KVM_SET_BOOT_CPU_ID 1");
	v = vcpu_create(vm, 0);
	vcpu_get_sregs(v, &sregs);
	CHECK_EQ(sregs.apic_base & APIC_BASE_BSP, 0, "vCPU 0 is not the BSP");
	v = vcpu_create(vm, 1);
	vcpu_get_sregs(v, &sregs);
	CHECK_EQ(sregs.apic_base & APIC_BASE_BSP, APIC_BASE_BSP, "vCPU 1 is the BSP");
	CHECK_ERRNO(ioctl(vm->fd, KVM_SET_BOOT_CPU_ID, 0UL), EBUSY,
		    "KVM_SET_BOOT_CPU_ID after vCPUs exist -> EBUSY");
	kvm_vm_free(vm);

	/*
	 * KVM_SET/GET_NR_MMU_PAGES: 0 before the first memslot, then KVM's
	 * default (2% of the guest's pages, at least 64: 327 for 64 MiB),
	 * then what was set; fewer than 64 -> EINVAL.
	 */
	vm = vm_create_bare();
	CHECK_EQ(ioctl(vm->fd, KVM_GET_NR_MMU_PAGES, 0), 0, "NR_MMU_PAGES without memslots: 0");
	kvm_vm_free(vm);
	vm = vm_create();
	CHECK_EQ(ioctl(vm->fd, KVM_GET_NR_MMU_PAGES, 0), 16384 * 20 / 1000,
		 "NR_MMU_PAGES default for 64 MiB of memory");
	CHECK_ERRNO(ioctl(vm->fd, KVM_SET_NR_MMU_PAGES, 63UL), EINVAL,
		    "KVM_SET_NR_MMU_PAGES 63 -> EINVAL");
	CHECK_OK(ioctl(vm->fd, KVM_SET_NR_MMU_PAGES, 100UL), "KVM_SET_NR_MMU_PAGES 100");
	CHECK_EQ(ioctl(vm->fd, KVM_GET_NR_MMU_PAGES, 0), 100, "KVM_GET_NR_MMU_PAGES reads it back");
	kvm_vm_free(vm);
	return ksft_finished();
}
