/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for tests of in-kernel MMIO devices (ioeventfd, coalesced MMIO,
 * the xAPIC page, the IOAPIC window): whether guest MMIO reaches the
 * module at all. Both KVM and ckvm (x86/emulate.c) must pass the probe;
 * the tests fail, not skip, when it does not.
 */
#ifndef CKVM_MMIO_UTIL_H
#define CKVM_MMIO_UTIL_H

#include "ckvm_util.h"

/* A guest-physical address above the 64 MiB of vm_create(): no memslot. */
#define MMIO_PROBE_GPA	0xc0000000ULL

static void mmio_probe_guest(void)
{
	*(volatile uint32_t *)MMIO_PROBE_GPA = 0x12345678;
	GUEST_DONE();
}

/*
 * Does a guest write to a gpa without a memslot become KVM_EXIT_MMIO
 * (rather than, say, KVM_EXIT_INTERNAL_ERROR from a broken emulator)?
 */
static inline bool mmio_exits_work(void)
{
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *v = vcpu_add(vm, 0, mmio_probe_guest);
	bool ok = !vcpu_run(v) && v->run->exit_reason == KVM_EXIT_MMIO &&
		  v->run->mmio.phys_addr == MMIO_PROBE_GPA;

	vcpu_free(v);
	kvm_vm_free(vm);
	return ok;
}

#endif
