// SPDX-License-Identifier: GPL-2.0
/*
 * x86/kvmclock.c: KVM_GET/SET_CLOCK (KVM_CAP_ADJUST_CLOCK), the kvmclock
 * MSRs and the guest's pvclock page, the wall clock, KVM_KVMCLOCK_CTRL,
 * CPUID 0x40000001, and steal time. The guest reads its clock as Linux
 * does (pvclock ABI); what it reads must lie between two KVM_GET_CLOCKs
 * taken around the run.
 */
#include "ckvm_util.h"
#include <time.h>
#include <asm/kvm_para.h>
#include "pvclock.h"

#define NSEC_PER_SEC	1000000000ULL

/* ---- guest ---- */

static void guest_code(uint64_t pvti_gpa, uint64_t wall_gpa)
{
	volatile struct pvclock_vcpu_time_info *p = (void *)pvti_gpa;
	volatile struct pvclock_wall_clock *w = (void *)wall_gpa;
	uint8_t flags;
	uint64_t ns;

	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, pvti_gpa | KVM_MSR_ENABLED);
	for (int i = 0; i < 4; i++) {
		ns = pvclock_read(p, &flags);
		ucall(UCALL_SYNC, 3, ns, flags, p->version);
	}
	GUEST_SYNC(rdmsr(MSR_KVM_SYSTEM_TIME_NEW));
	wrmsr(MSR_KVM_WALL_CLOCK_NEW, wall_gpa);
	ucall(UCALL_SYNC, 3, w->version, w->sec, w->nsec);
	/* KVM_KVMCLOCK_CTRL: the next read sees GUEST_STOPPED. */
	ns = pvclock_read(p, &flags);
	GUEST_SYNC2(ns, flags);
	GUEST_DONE();
}

static void guest_steal(uint64_t st_gpa)
{
	volatile struct kvm_steal_time *st = (void *)st_gpa;

	for (;;)
		ucall(UCALL_SYNC, 3, st->version, st->steal, st->preempted);
}

/* ---- host ---- */

static struct kvm_clock_data get_clock(struct kvm_vm *vm)
{
	struct kvm_clock_data d;

	TEST_ASSERT(!ioctl(vm->fd, KVM_GET_CLOCK, &d), "KVM_GET_CLOCK");
	return d;
}

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static uint32_t kvm_features(void)
{
	struct kvm_cpuid2 *c = kvm_get_supported_cpuid();
	uint32_t f = 0;

	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == KVM_CPUID_FEATURES)
			f = c->entries[i].eax;
	free(c);
	return f;
}

static void test_clock_ioctls(struct kvm_vm *vm)
{
	int cap = kvm_check_cap(KVM_CAP_ADJUST_CLOCK);
	struct kvm_clock_data d, e;
	uint64_t now, tsc;

	ksft_test_result((cap & (KVM_CLOCK_REALTIME | KVM_CLOCK_HOST_TSC)) ==
			 (KVM_CLOCK_REALTIME | KVM_CLOCK_HOST_TSC),
			 "KVM_CAP_ADJUST_CLOCK has KVM_CLOCK_REALTIME and KVM_CLOCK_HOST_TSC (0x%x)\n",
			 cap);
	now = realtime_ns();
	tsc = __builtin_ia32_rdtsc();
	d = get_clock(vm);
	/*
	 * KVM gives CLOCK_REALTIME and the host TSC only while its master
	 * clock is on (host clocksource TSC, TSCs in sync): kvm_amd under
	 * QEMU TCG leaves them out. What it gives must be of that instant.
	 */
	ksft_test_result(!(d.flags & ~(KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME |
				       KVM_CLOCK_HOST_TSC)) &&
			 /* ckvm always gives both (Documentation/api.rst). */
			 (!is_ckvm() || (d.flags & (KVM_CLOCK_REALTIME | KVM_CLOCK_HOST_TSC)) ==
			  (KVM_CLOCK_REALTIME | KVM_CLOCK_HOST_TSC)) &&
			 (!(d.flags & KVM_CLOCK_REALTIME) ||
			  (d.realtime >= now && d.realtime < now + NSEC_PER_SEC)) &&
			 (!(d.flags & KVM_CLOCK_HOST_TSC) ||
			  (d.host_tsc >= tsc && d.host_tsc < __builtin_ia32_rdtsc())),
			 "KVM_GET_CLOCK: known flags; CLOCK_REALTIME and host TSC, if given, of its instant (flags 0x%x)\n",
			 d.flags);
	ksft_test_result(d.clock < 60 * NSEC_PER_SEC,
			 "a new VM's kvmclock starts near 0 (%llu ns)\n",
			 (unsigned long long)d.clock);

	memset(&e, 0, sizeof(e));
	e.clock = 1000 * NSEC_PER_SEC;
	CHECK_OK(ioctl(vm->fd, KVM_SET_CLOCK, &e), "KVM_SET_CLOCK 1000 s");
	d = get_clock(vm);
	ksft_test_result(d.clock >= e.clock && d.clock < e.clock + NSEC_PER_SEC,
			 "KVM_GET_CLOCK then reads 1000 s and a little (%llu)\n",
			 (unsigned long long)d.clock);
	e.clock = 0;
	e.flags = KVM_CLOCK_REALTIME;
	e.realtime = realtime_ns() - 180 * NSEC_PER_SEC;
	CHECK_OK(ioctl(vm->fd, KVM_SET_CLOCK, &e), "KVM_SET_CLOCK 0 with a CLOCK_REALTIME 180 s ago");
	d = get_clock(vm);
	ksft_test_result(d.clock >= 180 * NSEC_PER_SEC && d.clock < 181 * NSEC_PER_SEC,
			 "the clock counts the 180 s since (%llu)\n", (unsigned long long)d.clock);
	CHECK_OK(ioctl(vm->fd, KVM_SET_CLOCK, &d), "KVM_SET_CLOCK of what KVM_GET_CLOCK returned");
	e.flags = 1 << 7;
	CHECK_ERRNO(ioctl(vm->fd, KVM_SET_CLOCK, &e), EINVAL, "KVM_SET_CLOCK unknown flag -> EINVAL");
	CHECK_ERRNO(ioctl(vm->fd, KVM_SET_CLOCK, (void *)8), EFAULT, "KVM_SET_CLOCK bad pointer -> EFAULT");
}

static void test_pvclock(void)
{
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *v = vcpu_add(vm, 0, guest_code);
	uint64_t pvti = vm_alloc_pages(vm, 1), wall = vm_alloc_pages(vm, 1);
	struct kvm_clock_data start, end, d;
	uint32_t f = kvm_features();
	struct ucall uc;
	bool in = true, even = true;
	uint64_t real0, real1, boot;
	int i;

	ksft_test_result((f & (1 << KVM_FEATURE_CLOCKSOURCE)) &&
			 (f & (1 << KVM_FEATURE_CLOCKSOURCE2)),
			 "CPUID 0x40000001: KVM_FEATURE_CLOCKSOURCE and CLOCKSOURCE2 (0x%x)\n", f);
	test_clock_ioctls(vm);
	vcpu_args_set(v, 2, pvti, wall);

	/* The guest's readings lie between two KVM_GET_CLOCKs around them. */
	for (i = 0; i < 4; i++) {
		start = get_clock(vm);
		TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "pvclock read");
		end = get_clock(vm);
		if (uc.args[0] < start.clock || uc.args[0] > end.clock) {
			ksft_print_msg("reading %d: %llu not in [%llu, %llu]", i,
				       (unsigned long long)uc.args[0],
				       (unsigned long long)start.clock,
				       (unsigned long long)end.clock);
			in = false;
		}
		even &= !(uc.args[2] & 1);
		if (i == 1) {
			/* Move the clock between two readings. */
			d = end;
			d.flags = 0;
			d.clock += 3600 * NSEC_PER_SEC;
			TEST_ASSERT(!ioctl(vm->fd, KVM_SET_CLOCK, &d), "SET_CLOCK");
		}
	}
	ksft_test_result(in, "the guest's pvclock reads between KVM_GET_CLOCKs, also after KVM_SET_CLOCK\n");
	ksft_test_result(even, "the pvclock page's version is even when the guest reads it\n");
	ksft_test_result(!!(uc.args[1] & PVCLOCK_TSC_STABLE_BIT) ==
			 !!(end.flags & KVM_CLOCK_TSC_STABLE),
			 "PVCLOCK_TSC_STABLE_BIT as KVM_CLOCK_TSC_STABLE says (flags 0x%llx, 0x%x)\n",
			 (unsigned long long)uc.args[1], end.flags);

	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "rdmsr");
	CHECK_EQ(uc.args[0], pvti | KVM_MSR_ENABLED, "RDMSR of MSR_KVM_SYSTEM_TIME_NEW reads the write");

	real0 = realtime_ns();
	d = get_clock(vm);
	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "wall clock");
	real1 = realtime_ns();
	boot = uc.args[1] * NSEC_PER_SEC + uc.args[2];
	ksft_test_result(!(uc.args[0] & 1) && uc.args[0] &&
			 boot + NSEC_PER_SEC > real0 - d.clock && boot < real1 - d.clock + NSEC_PER_SEC,
			 "MSR_KVM_WALL_CLOCK_NEW: CLOCK_REALTIME when the kvmclock was 0 (version %llu)\n",
			 (unsigned long long)uc.args[0]);

	CHECK_OK(ioctl(v->fd, KVM_KVMCLOCK_CTRL, 0), "KVM_KVMCLOCK_CTRL");
	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "stopped read");
	ksft_test_result(uc.args[1] & PVCLOCK_GUEST_STOPPED,
			 "the guest's next read sees PVCLOCK_GUEST_STOPPED\n");
	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_DONE, "guest done");
	kvm_vm_free(vm);

	/* KVM_KVMCLOCK_CTRL without a pvclock: -EINVAL. */
	vm = vm_create();
	v = vcpu_add(vm, 0, guest_code);
	CHECK_ERRNO(ioctl(v->fd, KVM_KVMCLOCK_CTRL, 0), EINVAL,
		    "KVM_KVMCLOCK_CTRL while the pvclock is off -> EINVAL");
	kvm_vm_free(vm);
}

static void test_steal_time(void)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *v;
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1 };
	uint64_t st;
	struct ucall uc;
	uint64_t v0, v1;

	if (!(kvm_features() & (1 << KVM_FEATURE_STEAL_TIME))) {
		for (int i = 0; i < 5; i++)
			ksft_test_result_skip("steal time: not in CPUID 0x40000001\n");
		return;
	}
	vm = vm_create();
	v = vcpu_add(vm, 0, guest_steal);
	st = vm_alloc_pages(vm, 1);
	vcpu_args_set(v, 1, st);
	m.e.index = MSR_KVM_STEAL_TIME;
	m.e.data = st | KVM_STEAL_RESERVED_MASK;
	CHECK_EQ(ioctl(v->fd, KVM_SET_MSRS, &m), 0, "MSR_KVM_STEAL_TIME with reserved bits: not set");
	m.e.data = st | KVM_MSR_ENABLED;
	CHECK_EQ(ioctl(v->fd, KVM_SET_MSRS, &m), 1, "MSR_KVM_STEAL_TIME enabled");
	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "guest");
	v0 = uc.args[0];
	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "guest");
	v1 = uc.args[0];
	ksft_test_result(!(v0 & 1) && !(v1 & 1) && v0 && v1 > v0,
			 "the steal-time version is even and grows (%llu, %llu)\n",
			 (unsigned long long)v0, (unsigned long long)v1);
	ksft_test_result(uc.args[2] == 0, "preempted is 0 while the guest runs\n");
	m.e.data = 0;
	TEST_ASSERT(ioctl(v->fd, KVM_GET_MSRS, &m) == 1, "GET_MSRS");
	CHECK_EQ(m.e.data, st | KVM_MSR_ENABLED, "KVM_GET_MSRS reads MSR_KVM_STEAL_TIME back");
	kvm_vm_free(vm);
}

int main(void)
{
	ksft_print_header();
	ksft_set_plan(1 + 10 + 7 + 1 + 5);
	test_pvclock();
	test_steal_time();
	return ksft_finished();
}
