/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest side of the pvclock ABI (KVM's Documentation/virt/kvm/x86/
 * msr.rst, MSR_KVM_SYSTEM_TIME_NEW): the per-vCPU time page and the wall
 * clock, and the read a guest does of them, for the tests that read the
 * kvmclock inside the guest. Guest code only.
 */
#ifndef CKVM_PVCLOCK_H
#define CKVM_PVCLOCK_H

#include <stdint.h>

struct pvclock_vcpu_time_info {
	uint32_t version, pad0;
	uint64_t tsc_timestamp, system_time;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags, pad[2];
} __attribute__((packed));

struct pvclock_wall_clock {
	uint32_t version, sec, nsec;
} __attribute__((packed));

#define PVCLOCK_TSC_STABLE_BIT	(1 << 0)
#define PVCLOCK_GUEST_STOPPED	(1 << 1)

static inline uint64_t g_rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/*
 * The guest's clock in ns: retried while the version is odd (the host is
 * updating the page) or moved during the read. @flags (may be NULL) gets
 * the page's flags of that read.
 */
static inline uint64_t pvclock_read(volatile struct pvclock_vcpu_time_info *p,
				    uint8_t *flags)
{
	uint32_t v;
	uint64_t ns;
	uint8_t f;

	do {
		uint64_t delta;

		v = p->version;
		asm volatile("" ::: "memory");
		delta = g_rdtsc() - p->tsc_timestamp;
		if (p->tsc_shift >= 0)
			delta <<= p->tsc_shift;
		else
			delta >>= -p->tsc_shift;
		ns = p->system_time +
		     (uint64_t)(((unsigned __int128)delta * p->tsc_to_system_mul) >> 32);
		f = p->flags;
		asm volatile("" ::: "memory");
	} while ((v & 1) || v != p->version);
	if (flags)
		*flags = f;
	return ns;
}

#endif
