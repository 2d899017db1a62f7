// SPDX-License-Identifier: GPL-2.0
/*
 * Time: the kvmclock (KVM's paravirtual clock), steal time, the TSC
 * frequency and offset ioctls.
 *
 * The kvmclock of a VM is one clock, read the same from every vCPU and
 * from userspace (KVM_GET_CLOCK): nanoseconds since a base that
 * KVM_SET_CLOCK may move. ckvm defines it from one snapshot of the host,
 * a TSC value and the CLOCK_MONOTONIC_RAW nanoseconds taken together (the
 * "master clock" of KVM), and the host's TSC frequency:
 *
 *   kvmclock = master_ns + kvmclock_offset + ns(host TSC - master_tsc)
 *
 * where ns() is the scaling of struct pvclock_vcpu_time_info, the very
 * formula the guest applies to the pvclock page ckvm writes for each vCPU
 * (tsc_timestamp = master_tsc + the vCPU's TSC offset, system_time =
 * master_ns + kvmclock_offset, the multiplier and shift of the host's TSC
 * frequency): what the guest reads and what KVM_GET_CLOCK returns agree
 * to the tick. The snapshot is taken when the VM is created and at every
 * KVM_SET_CLOCK, never behind the guest's back, so the clock never jumps;
 * it runs at the rate the host's TSC calibration says, as a guest's TSC
 * clocksource would (the guest's NTP corrects both alike). The pvclock
 * page is rewritten when its MSR is written, when the vCPU's TSC offset
 * changes, at KVM_SET_CLOCK and for KVM_KVMCLOCK_CTRL; it carries
 * PVCLOCK_TSC_STABLE_BIT (all vCPUs share the one snapshot) when the
 * host's TSC is stable and the guest uses MSR_KVM_SYSTEM_TIME_NEW, as in
 * KVM.
 *
 * Steal time: the time the vCPU thread waited for a host CPU
 * (sched_info.run_delay), added to the guest's struct kvm_steal_time at
 * the first entry after each time the thread is scheduled in.
 *
 * The TSC runs at the host's frequency: no CPU ckvm runs on here scales
 * it, so KVM_CAP_TSC_CONTROL is 0 and KVM_SET_TSC_KHZ takes only the
 * host's frequency, within KVM's tolerance of 250 ppm.
 */
#include <linux/kvm_para.h>
#include <linux/math64.h>
#include <linux/sched.h>
#include <linux/sched/stat.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <asm/pvclock-abi.h>
#include <asm/tsc.h>

#include "ckvm.h"
#include "x86_ops.h"
#include "x86_state.h"

/* What KVM_CAP_ADJUST_CLOCK reports; KVM_SET_CLOCK takes these flags. */
#define CKVM_CLOCK_FLAGS	(KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME | \
				 KVM_CLOCK_HOST_TSC)

/* KVM's tolerance for a TSC frequency without scaling: 250 ppm. */
#define CKVM_TSC_TOLERANCE_PPM	250

/* The TSC scaling of the pvclock ABI: ns = ((ticks << shift) * mul) >> 32. */
struct pvclock_scale {
	u32 mul;
	s8 shift;
};

static struct pvclock_scale host_scale;
/* Constant rate, never stopped, never marked unstable. */
static bool host_tsc_stable;

/*
 * The multiplier and shift for @hz ticks a second: mul / 2^32 * 2^shift =
 * 10^9 / hz, with mul in [2^31, 2^32) for 32 significant bits.
 */
static struct pvclock_scale pvclock_scale_for(u64 hz)
{
	struct pvclock_scale s = { .shift = 0 };
	u64 mul;

	mul = mul_u64_u64_div_u64(NSEC_PER_SEC, 1ULL << 32, hz);
	while (mul >= (1ULL << 32) && s.shift < 31) {
		s.shift++;
		mul = mul_u64_u64_div_u64(NSEC_PER_SEC, 1ULL << (32 - s.shift), hz);
	}
	while (mul < (1ULL << 31) && s.shift > -31) {
		s.shift--;
		mul = mul_u64_u64_div_u64(NSEC_PER_SEC << 1, 1ULL << (31 - s.shift),
					  hz);
	}
	s.mul = mul;
	return s;
}

static u64 pvclock_ns(u64 ticks, struct pvclock_scale s)
{
	if (s.shift >= 0)
		ticks <<= s.shift;
	else
		ticks >>= -s.shift;
	return mul_u64_u32_shr(ticks, s.mul, 32);
}

/**
 * ckvm_kvmclock_init() - module-wide time setup
 *
 * The scaling of the host's TSC frequency (tsc_khz) and whether the host
 * TSC is stable (constant rate, no stop in C-states, not marked unstable).
 *
 * Return: 0, or -ENODEV without a calibrated TSC.
 */
int ckvm_kvmclock_init(void)
{
	if (!tsc_khz) {
		pr_err("ckvm: the host's TSC frequency is not known\n");
		return -ENODEV;
	}
	host_scale = pvclock_scale_for((u64)tsc_khz * 1000);
	host_tsc_stable = boot_cpu_has(X86_FEATURE_CONSTANT_TSC) &&
			  boot_cpu_has(X86_FEATURE_NONSTOP_TSC) &&
			  !check_tsc_unstable();
	return 0;
}

/*
 * A host TSC value and the CLOCK_MONOTONIC_RAW (and CLOCK_REALTIME) ns of
 * the same instant, as near as two reads with interrupts off get (6.1's
 * ktime_get_snapshot() does not say whether its counter is the TSC).
 */
static void host_snapshot(u64 *tsc, u64 *raw_ns, u64 *real_ns)
{
	unsigned long flags;

	local_irq_save(flags);
	*raw_ns = ktime_get_raw_ns();
	*tsc = rdtsc_ordered();
	if (real_ns)
		*real_ns = ktime_get_real_ns();
	local_irq_restore(flags);
}

/**
 * ckvm_kvmclock_vm_init() - a new VM's kvmclock starts at 0
 * @vm: the VM being created.
 */
void ckvm_kvmclock_vm_init(struct ckvm *vm)
{
	spin_lock_init(&vm->arch.pvclock_lock);
	host_snapshot(&vm->arch.master_tsc, &vm->arch.master_ns, NULL);
	vm->arch.kvmclock_offset = -(s64)vm->arch.master_ns;
	vm->arch.default_tsc_khz = tsc_khz;
}

/* The kvmclock at host TSC value @tsc. */
static u64 kvmclock_at(struct ckvm *vm, u64 tsc)
{
	u64 master_tsc, ns;

	spin_lock(&vm->arch.pvclock_lock);
	master_tsc = vm->arch.master_tsc;
	ns = vm->arch.master_ns + vm->arch.kvmclock_offset;
	spin_unlock(&vm->arch.pvclock_lock);
	return ns + pvclock_ns(tsc - master_tsc, host_scale);
}

static void request_all_clock_updates(struct ckvm *vm)
{
	/* Pairs with the release that publishes a new vCPU. */
	int i, n = smp_load_acquire(&vm->nr_vcpus);

	for (i = 0; i < n; i++) {
		ckvm_make_request(vm->vcpus[i], CKVM_REQ_CLOCK_UPDATE);
		ckvm_vcpu_kick(vm->vcpus[i]);
	}
}

/*
 * KVM_GET_CLOCK: the kvmclock now, with the host TSC and CLOCK_REALTIME
 * of the same instant (KVM_CLOCK_HOST_TSC, KVM_CLOCK_REALTIME), for
 * userspace to carry the clock across a migration.
 */
static long get_clock(struct ckvm *vm, struct kvm_clock_data __user *argp)
{
	struct kvm_clock_data data;
	u64 raw;

	memset(&data, 0, sizeof(data));
	host_snapshot(&data.host_tsc, &raw, &data.realtime);
	data.clock = kvmclock_at(vm, data.host_tsc);
	data.flags = KVM_CLOCK_HOST_TSC | KVM_CLOCK_REALTIME;
	if (host_tsc_stable)
		data.flags |= KVM_CLOCK_TSC_STABLE;
	return copy_to_user(argp, &data, sizeof(data)) ? -EFAULT : 0;
}

/*
 * KVM_SET_CLOCK: the kvmclock reads data.clock now, or, with
 * KVM_CLOCK_REALTIME, data.clock plus the CLOCK_REALTIME nanoseconds that
 * passed since data.realtime (never less). A new snapshot is taken; every
 * vCPU's pvclock page is rewritten before it next runs. The flags
 * KVM_GET_CLOCK returns are accepted, others are -EINVAL; the pads are
 * not looked at (as KVM).
 */
static long set_clock(struct ckvm *vm, struct kvm_clock_data __user *argp)
{
	struct kvm_clock_data data;
	u64 tsc, raw, real;

	if (copy_from_user(&data, argp, sizeof(data)))
		return -EFAULT;
	if (data.flags & ~CKVM_CLOCK_FLAGS)
		return -EINVAL;
	host_snapshot(&tsc, &raw, &real);
	if ((data.flags & KVM_CLOCK_REALTIME) && real > data.realtime)
		data.clock += real - data.realtime;
	spin_lock(&vm->arch.pvclock_lock);
	vm->arch.master_tsc = tsc;
	vm->arch.master_ns = raw;
	vm->arch.kvmclock_offset = data.clock - raw;
	spin_unlock(&vm->arch.pvclock_lock);
	request_all_clock_updates(vm);
	return 0;
}

/*
 * The guest's pvclock page (struct pvclock_vcpu_time_info): version odd
 * while it changes, even when done (the guest retries a read that saw it
 * odd or changing). A page outside guest memory is not written (as KVM).
 */
static void write_pvclock(struct ckvm_vcpu *vcpu)
{
	struct ckvm_pvclock *pv = &vcpu->arch.pvclock;
	struct ckvm *vm = vcpu->vm;
	struct pvclock_vcpu_time_info ti;

	memset(&ti, 0, sizeof(ti));
	spin_lock(&vm->arch.pvclock_lock);
	ti.tsc_timestamp = vm->arch.master_tsc + vcpu->arch.tsc_offset;
	ti.system_time = vm->arch.master_ns + vm->arch.kvmclock_offset;
	spin_unlock(&vm->arch.pvclock_lock);
	ti.tsc_to_system_mul = host_scale.mul;
	ti.tsc_shift = host_scale.shift;
	if (host_tsc_stable && !READ_ONCE(vm->arch.old_kvmclock))
		ti.flags |= PVCLOCK_TSC_STABLE_BIT;
	if (pv->guest_stopped) {
		ti.flags |= PVCLOCK_GUEST_STOPPED;
		pv->guest_stopped = false;
	}

	pv->version += 2;
	ti.version = pv->version - 1;
	if (ckvm_write_guest(vm, pv->gpa, &ti.version, sizeof(ti.version)))
		return;
	/* The odd version is seen before the fields change... */
	smp_wmb();
	ckvm_write_guest(vm, pv->gpa, &ti, sizeof(ti));
	/* ...and the fields before the even one (the guest's smp_rmb()s). */
	smp_wmb();
	ti.version = pv->version;
	ckvm_write_guest(vm, pv->gpa, &ti.version, sizeof(ti.version));
}

/* Add the time the vCPU thread waited for a CPU to the steal-time area. */
static void record_steal_time(struct ckvm_vcpu *vcpu)
{
	struct ckvm_steal_time *st = &vcpu->arch.steal;
	gpa_t gpa = st->msr & KVM_STEAL_VALID_BITS;
	struct kvm_steal_time g;
	u64 run_delay = current->sched_info.run_delay;

	if (!st->enabled)
		return;
	if (ckvm_read_guest(vcpu->vm, gpa, &g, sizeof(g)))
		return;
	/* Odd from a guest's stray write: start from the next even one. */
	if (g.version & 1)
		g.version++;
	g.version++;
	ckvm_write_guest(vcpu->vm, gpa + offsetof(struct kvm_steal_time, version),
			 &g.version, sizeof(g.version));
	/* Odd version first, then the fields: as the pvclock page. */
	smp_wmb();
	g.steal += run_delay - st->last_run_delay;
	st->last_run_delay = run_delay;
	g.preempted = 0;
	ckvm_write_guest(vcpu->vm, gpa, &g.steal, sizeof(g.steal));
	ckvm_write_guest(vcpu->vm, gpa + offsetof(struct kvm_steal_time, preempted),
			 &g.preempted, sizeof(g.preempted));
	/* The fields before the even version. */
	smp_wmb();
	g.version++;
	ckvm_write_guest(vcpu->vm, gpa + offsetof(struct kvm_steal_time, version),
			 &g.version, sizeof(g.version));
}

/**
 * ckvm_kvmclock_before_entry() - the time requests of an entry
 * @vcpu: the vCPU; its thread, under vcpu->mutex and vm->srcu.
 *
 * Rewrites the pvclock page (CKVM_REQ_CLOCK_UPDATE) and the steal-time
 * area (CKVM_REQ_STEAL_UPDATE) when asked to.
 */
void ckvm_kvmclock_before_entry(struct ckvm_vcpu *vcpu)
{
	if (ckvm_check_request(vcpu, CKVM_REQ_CLOCK_UPDATE) &&
	    vcpu->arch.pvclock.enabled)
		write_pvclock(vcpu);
	if (ckvm_check_request(vcpu, CKVM_REQ_STEAL_UPDATE))
		record_steal_time(vcpu);
}

/**
 * ckvm_kvmclock_vcpu_load() - the vCPU thread got a CPU
 * @vcpu: the vCPU being loaded; preemption off.
 *
 * The time it waited for it is steal time for the guest.
 */
void ckvm_kvmclock_vcpu_load(struct ckvm_vcpu *vcpu)
{
	if (vcpu->arch.steal.enabled)
		ckvm_make_request(vcpu, CKVM_REQ_STEAL_UPDATE);
}

/**
 * ckvm_kvmclock_vcpu_reset() - time state of a new or reset vCPU
 * @vcpu: the vCPU.
 *
 * The kvmclock and steal time MSRs are off (KVM clears them at reset);
 * the TSC frequency of a new vCPU is the VM's.
 */
void ckvm_kvmclock_vcpu_reset(struct ckvm_vcpu *vcpu)
{
	vcpu->arch.pvclock.msr = 0;
	vcpu->arch.pvclock.enabled = false;
	vcpu->arch.pvclock.guest_stopped = false;
	vcpu->arch.steal.msr = 0;
	vcpu->arch.steal.enabled = false;
	if (!vcpu->arch.tsc_khz)
		vcpu->arch.tsc_khz = READ_ONCE(vcpu->vm->arch.default_tsc_khz);
}

/* MSR_KVM_WALL_CLOCK(_NEW): CLOCK_REALTIME when the kvmclock read 0. */
static void write_wall_clock(struct ckvm *vm, gpa_t gpa)
{
	struct pvclock_wall_clock wc = { .version = 1 };
	u64 tsc, raw, real, boot;
	u32 rem;

	if (!gpa)
		return;
	host_snapshot(&tsc, &raw, &real);
	boot = real - kvmclock_at(vm, tsc);
	wc.sec = div_u64_rem(boot, NSEC_PER_SEC, &rem);
	wc.nsec = rem;
	if (ckvm_write_guest(vm, gpa, &wc.version, sizeof(wc.version)))
		return;
	/* Odd version, fields, even version: as the pvclock page. */
	smp_wmb();
	ckvm_write_guest(vm, gpa, &wc, sizeof(wc));
	/* The fields before the even version. */
	smp_wmb();
	wc.version = 2;
	ckvm_write_guest(vm, gpa, &wc.version, sizeof(wc.version));
}

/**
 * ckvm_kvmclock_get_msr() - read one of the KVM paravirtual time MSRs
 * @vcpu: the vCPU, under vcpu->mutex.
 * @index: the MSR.
 * @data: its value.
 *
 * Return: 0, or CKVM_MSR_UNKNOWN if @index is not one of them.
 */
int ckvm_kvmclock_get_msr(struct ckvm_vcpu *vcpu, u32 index, u64 *data)
{
	switch (index) {
	case MSR_KVM_SYSTEM_TIME:
	case MSR_KVM_SYSTEM_TIME_NEW:
		*data = vcpu->arch.pvclock.msr;
		return 0;
	case MSR_KVM_WALL_CLOCK:
	case MSR_KVM_WALL_CLOCK_NEW:
		*data = READ_ONCE(vcpu->vm->arch.wall_clock_msr);
		return 0;
	case MSR_KVM_STEAL_TIME:
		if (!sched_info_on())
			return CKVM_MSR_UNKNOWN;
		*data = vcpu->arch.steal.msr;
		return 0;
	default:
		return CKVM_MSR_UNKNOWN;
	}
}

/**
 * ckvm_kvmclock_set_msr() - write one of the KVM paravirtual time MSRs
 * @vcpu: the vCPU, under vcpu->mutex.
 * @index: the MSR.
 * @data: the value (bit 0: enable; the rest a guest-physical address).
 * @host: from KVM_SET_MSRS rather than the guest's WRMSR.
 *
 * As KVM, whatever the guest's CPUID says: the wall clock is written at
 * once (not at address 0); the pvclock page before the next entry; the
 * steal-time area's address must be 64-byte aligned (bits 5:1 reserved).
 *
 * Return: 0, 1 if refused (#GP), or CKVM_MSR_UNKNOWN.
 */
int ckvm_kvmclock_set_msr(struct ckvm_vcpu *vcpu, u32 index, u64 data,
			  bool host)
{
	struct ckvm_pvclock *pv = &vcpu->arch.pvclock;

	switch (index) {
	case MSR_KVM_WALL_CLOCK:
	case MSR_KVM_WALL_CLOCK_NEW:
		WRITE_ONCE(vcpu->vm->arch.wall_clock_msr, data);
		write_wall_clock(vcpu->vm, data);
		return 0;
	case MSR_KVM_SYSTEM_TIME:
	case MSR_KVM_SYSTEM_TIME_NEW:
		pv->msr = data;
		pv->enabled = data & KVM_MSR_ENABLED;
		pv->gpa = data & ~(u64)KVM_MSR_ENABLED;
		if (vcpu->vcpu_id == 0 && !host)
			WRITE_ONCE(vcpu->vm->arch.old_kvmclock,
				   index == MSR_KVM_SYSTEM_TIME);
		ckvm_make_request(vcpu, CKVM_REQ_CLOCK_UPDATE);
		return 0;
	case MSR_KVM_STEAL_TIME:
		if (!sched_info_on())
			return CKVM_MSR_UNKNOWN;
		if (data & KVM_STEAL_RESERVED_MASK)
			return 1;
		vcpu->arch.steal.msr = data;
		vcpu->arch.steal.enabled = data & KVM_MSR_ENABLED;
		if (vcpu->arch.steal.enabled) {
			vcpu->arch.steal.last_run_delay =
				current->sched_info.run_delay;
			ckvm_make_request(vcpu, CKVM_REQ_STEAL_UPDATE);
		}
		return 0;
	default:
		return CKVM_MSR_UNKNOWN;
	}
}

/**
 * ckvm_kvmclock_cpuid_features() - CPUID 0x40000001 EAX
 *
 * Return: the KVM_FEATURE_* bits ckvm implements: the kvmclock (both
 * MSR pairs) and its stable bit, no port-0x80 delay needed, steal time
 * where the host keeps sched_info.
 */
u32 ckvm_kvmclock_cpuid_features(void)
{
	u32 f = BIT(KVM_FEATURE_CLOCKSOURCE) | BIT(KVM_FEATURE_NOP_IO_DELAY) |
		BIT(KVM_FEATURE_CLOCKSOURCE2) |
		BIT(KVM_FEATURE_CLOCKSOURCE_STABLE_BIT);

	if (sched_info_on())
		f |= BIT(KVM_FEATURE_STEAL_TIME);
	return f;
}

/* Within KVM's tolerance of the host's frequency. */
static bool tsc_khz_ok(u32 khz)
{
	u64 lo = (u64)tsc_khz * (1000000 - CKVM_TSC_TOLERANCE_PPM);
	u64 hi = (u64)tsc_khz * (1000000 + CKVM_TSC_TOLERANCE_PPM);

	return (u64)khz * 1000000 >= lo && (u64)khz * 1000000 <= hi;
}

/*
 * KVM_SET_TSC_KHZ on a vCPU: 0 means the host's. Without TSC scaling the
 * host's frequency within 250 ppm is taken (and reported back), anything
 * else is -EINVAL (KVM emulates a higher one by catching the TSC up at
 * each entry, which ckvm does not do).
 */
static long set_tsc_khz(struct ckvm_vcpu *vcpu, unsigned long arg)
{
	u32 khz = arg;

	if (!khz)
		khz = tsc_khz;
	if (!tsc_khz_ok(khz))
		return -EINVAL;
	vcpu->arch.tsc_khz = khz;
	return 0;
}

/* KVM_{HAS,GET,SET}_DEVICE_ATTR on a vCPU: KVM_VCPU_TSC_OFFSET. */
static long vcpu_tsc_attr(struct ckvm_vcpu *vcpu, unsigned int ioctl,
			  struct kvm_device_attr __user *argp)
{
	struct kvm_device_attr attr;
	u64 __user *uaddr;
	u64 offset;

	if (copy_from_user(&attr, argp, sizeof(attr)))
		return -EFAULT;
	if (attr.group != KVM_VCPU_TSC_CTRL || attr.attr != KVM_VCPU_TSC_OFFSET)
		return -ENXIO;
	uaddr = (u64 __user *)(unsigned long)attr.addr;
	switch (ioctl) {
	case KVM_HAS_DEVICE_ATTR:
		return 0;
	case KVM_GET_DEVICE_ATTR:
		return put_user(vcpu->arch.tsc_offset, uaddr) ? -EFAULT : 0;
	default:
		if (get_user(offset, uaddr))
			return -EFAULT;
		ckvm_set_tsc_offset(vcpu, offset);
		return 0;
	}
}

/**
 * ckvm_kvmclock_vcpu_ioctl() - the time ioctls of a vCPU
 * @vcpu: the vCPU, loaded, under vcpu->mutex.
 * @ioctl: the ioctl.
 * @argp: its argument.
 *
 * KVM_KVMCLOCK_CTRL (-EINVAL while the pvclock is off, as KVM),
 * KVM_GET/SET_TSC_KHZ and the TSC offset attribute.
 *
 * Return: 0 or a negative errno; -ENOIOCTLCMD for another ioctl.
 */
long ckvm_kvmclock_vcpu_ioctl(struct ckvm_vcpu *vcpu, unsigned int ioctl,
			      void __user *argp)
{
	switch (ioctl) {
	case KVM_KVMCLOCK_CTRL:
		if (!vcpu->arch.pvclock.enabled)
			return -EINVAL;
		vcpu->arch.pvclock.guest_stopped = true;
		ckvm_make_request(vcpu, CKVM_REQ_CLOCK_UPDATE);
		return 0;
	case KVM_GET_TSC_KHZ:
		return vcpu->arch.tsc_khz;
	case KVM_SET_TSC_KHZ:
		return set_tsc_khz(vcpu, (unsigned long)argp);
	case KVM_HAS_DEVICE_ATTR:
	case KVM_GET_DEVICE_ATTR:
	case KVM_SET_DEVICE_ATTR:
		return vcpu_tsc_attr(vcpu, ioctl, argp);
	default:
		return -ENOIOCTLCMD;
	}
}

/**
 * ckvm_kvmclock_vm_ioctl() - the time ioctls of a VM
 * @vm: the VM.
 * @ioctl: KVM_GET_CLOCK, KVM_SET_CLOCK, KVM_GET_TSC_KHZ or KVM_SET_TSC_KHZ.
 * @arg: its argument.
 *
 * The VM's TSC frequency is the default of vCPUs created later: 0 means
 * the host's; any value is stored, as KVM without TSC scaling does, and
 * a vCPU whose frequency it cannot be keeps the host's.
 *
 * Return: the ioctl's result; -ENOTTY for another ioctl.
 */
long ckvm_kvmclock_vm_ioctl(struct ckvm *vm, unsigned int ioctl,
			    unsigned long arg)
{
	u32 khz;

	switch (ioctl) {
	case KVM_GET_CLOCK:
		return get_clock(vm, (void __user *)arg);
	case KVM_SET_CLOCK:
		return set_clock(vm, (void __user *)arg);
	case KVM_GET_TSC_KHZ:
		return READ_ONCE(vm->arch.default_tsc_khz);
	case KVM_SET_TSC_KHZ:
		khz = arg ?: tsc_khz;
		WRITE_ONCE(vm->arch.default_tsc_khz, khz);
		return 0;
	default:
		return -ENOTTY;
	}
}

/**
 * ckvm_kvmclock_vcpu_create() - the TSC frequency of a new vCPU
 * @vcpu: the vCPU being created, under vm->lock.
 */
void ckvm_kvmclock_vcpu_create(struct ckvm_vcpu *vcpu)
{
	u32 khz = READ_ONCE(vcpu->vm->arch.default_tsc_khz);

	vcpu->arch.tsc_khz = tsc_khz_ok(khz) ? khz : tsc_khz;
}
