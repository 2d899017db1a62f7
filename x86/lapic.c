// SPDX-License-Identifier: GPL-2.0
/*
 * The local APIC of a vCPU when the VM has an in-kernel irqchip.
 *
 * State lives in a register page laid out as KVM_GET_LAPIC returns it, so
 * save/restore is a copy. The guest reaches the registers through the
 * x2APIC MSRs (0x800-0x8ff) in x2APIC mode, and through the xAPIC page at
 * its APIC base (MMIO, ckvm_lapic_mmio_read/_write) in xAPIC mode. Both
 * share one set of register semantics (lapic_reg_read/_write); where the
 * modes differ (ICR, LDR, DFR, ID, the reserved values that are #GP in
 * x2APIC) the mode decides.
 *
 * Who writes what: IRR and TMR bits are set with atomic bit operations by
 * any sender (another vCPU, the IOAPIC under its lock, the timer in hard
 * interrupt context); everything else belongs to the vCPU's own thread
 * (its run loop and its ioctls, under vcpu->mutex).
 */
#include <linux/hrtimer.h>
#include <linux/slab.h>
#include <asm/apicdef.h>
#include <asm/msr-index.h>

#include "ckvm.h"
#include "cpuid.h"
#include "irqchip.h"
#include "x86_ops.h"
#include "x86_state.h"

/* What the version register reports: version 0x14, six LVT entries. */
#define LAPIC_VERSION		(0x14 | ((6 - 1) << 16))
/* One APIC bus cycle per nanosecond, as in KVM: the timer's clock. */
#define LAPIC_BUS_NS		1
/* A periodic timer faster than this would keep a host CPU busy. */
#define LAPIC_MIN_PERIOD_NS	(200 * NSEC_PER_USEC)

/* Writable bits of each LVT entry (SDM 11.5.1); the rest read as 0. */
#define LVT_TIMER_BITS	(APIC_LVT_MASKED | APIC_LVT_TIMER_PERIODIC | 0xff)
#define LVT_LINT_BITS	(APIC_LVT_MASKED | APIC_LVT_LEVEL_TRIGGER | \
			 APIC_INPUT_POLARITY | APIC_MODE_MASK | 0xff)
#define LVT_OTHER_BITS	(APIC_LVT_MASKED | APIC_MODE_MASK | 0xff)
#define LVT_ERROR_BITS	(APIC_LVT_MASKED | 0xff)

static struct ckvm_lapic *to_lapic(struct ckvm_vcpu *vcpu)
{
	return vcpu->arch.lapic;
}

static u32 *reg_ptr(struct ckvm_lapic *apic, u32 off)
{
	return apic->regs + off;
}

static u32 reg_read(struct ckvm_lapic *apic, u32 off)
{
	return READ_ONCE(*reg_ptr(apic, off));
}

static void reg_write(struct ckvm_lapic *apic, u32 off, u32 val)
{
	WRITE_ONCE(*reg_ptr(apic, off), val);
}

/*
 * ISR, TMR and IRR are 256-bit sets spread over eight registers 16 bytes
 * apart. The atomic bit operations work on unsigned long, which covers
 * the register and 4 bytes of its padding: the registers are 16-byte
 * aligned in the page.
 */
static unsigned long *vec_word(struct ckvm_lapic *apic, u32 base, int vec)
{
	return (unsigned long *)reg_ptr(apic, base + (vec >> 5) * 0x10);
}

static bool vec_test(struct ckvm_lapic *apic, u32 base, int vec)
{
	return reg_read(apic, base + (vec >> 5) * 0x10) & BIT(vec & 31);
}

static int vec_highest(struct ckvm_lapic *apic, u32 base)
{
	int i;

	for (i = 7; i >= 0; i--) {
		u32 v = reg_read(apic, base + i * 0x10);

		if (v)
			return i * 32 + fls(v) - 1;
	}
	return -1;
}

static bool x2apic_mode(struct ckvm_lapic *apic)
{
	return apic->vcpu->arch.apic_base & X2APIC_ENABLE;
}

static bool lapic_enabled(struct ckvm_lapic *apic)
{
	return (apic->vcpu->arch.apic_base & MSR_IA32_APICBASE_ENABLE) &&
	       (reg_read(apic, APIC_SPIV) & APIC_SPIV_APIC_ENABLED);
}

static u32 lapic_id(struct ckvm_lapic *apic)
{
	if (x2apic_mode(apic))
		return apic->vcpu->vcpu_id;
	return reg_read(apic, APIC_ID) >> 24;
}

/* SDM 11.8.3.1: the processor priority, from TPR and the highest ISR. */
static u32 lapic_ppr(struct ckvm_lapic *apic)
{
	u32 tpr = reg_read(apic, APIC_TASKPRI);
	int isrv = vec_highest(apic, APIC_ISR);
	u32 isr_class = isrv < 0 ? 0 : isrv & 0xf0;

	return (tpr & 0xf0) >= isr_class ? tpr & 0xff : isr_class;
}

/* x2APIC logical ID: cluster in bits 31:16, one bit of 16 below. */
static u32 x2apic_ldr(u32 id)
{
	return ((id >> 4) << 16) | BIT(id & 0xf);
}

/* ---- the timer ---- */

static u32 timer_divisor(struct ckvm_lapic *apic)
{
	u32 tdcr = reg_read(apic, APIC_TDCR);
	u32 shift = ((tdcr & 3) | ((tdcr & 8) >> 1)) + 1;

	return 1U << (shift & 7);
}

static bool lapic_accept(struct ckvm_lapic *apic, u8 vector, bool level);

static enum hrtimer_restart lapic_timer_fire(struct hrtimer *timer)
{
	struct ckvm_lapic *apic = container_of(timer, struct ckvm_lapic, timer);
	u32 lvtt = reg_read(apic, APIC_LVTT);

	if (!(lvtt & APIC_LVT_MASKED))
		lapic_accept(apic, lvtt & APIC_VECTOR_MASK, false);
	if (!apic->period_ns)
		return HRTIMER_NORESTART;
	hrtimer_forward_now(timer, ns_to_ktime(apic->period_ns));
	apic->deadline = hrtimer_get_expires(timer);
	return HRTIMER_RESTART;
}

/* (Re)start the count from TMICT, or stop it when TMICT is 0. */
static void lapic_timer_start(struct ckvm_lapic *apic)
{
	u64 ns = (u64)reg_read(apic, APIC_TMICT) * timer_divisor(apic) *
		 LAPIC_BUS_NS;

	hrtimer_cancel(&apic->timer);
	apic->period_ns = 0;
	if (!ns)
		return;
	if (reg_read(apic, APIC_LVTT) & APIC_LVT_TIMER_PERIODIC) {
		ns = max_t(u64, ns, LAPIC_MIN_PERIOD_NS);
		apic->period_ns = ns;
	}
	apic->deadline = ktime_add_ns(ktime_get(), ns);
	hrtimer_start(&apic->timer, apic->deadline, HRTIMER_MODE_ABS_HARD);
}

static u32 lapic_timer_count(struct ckvm_lapic *apic)
{
	s64 left;

	if (!reg_read(apic, APIC_TMICT) || !hrtimer_active(&apic->timer))
		return 0;
	left = ktime_to_ns(ktime_sub(apic->deadline, ktime_get()));
	if (left <= 0)
		return 0;
	return div_u64(left, timer_divisor(apic) * LAPIC_BUS_NS);
}

/* ---- accepting and delivering interrupts ---- */

/* Any context. A disabled APIC drops fixed interrupts (SDM 11.4.7.2). */
static bool lapic_accept(struct ckvm_lapic *apic, u8 vector, bool level)
{
	struct ckvm_vcpu *vcpu = apic->vcpu;

	if (!lapic_enabled(apic))
		return false;
	if (vector < 16) {
		/* Vectors 0-15 are reserved: an error, not an interrupt. */
		set_bit(__ffs(APIC_ESR_RECVILL),
			(unsigned long *)reg_ptr(apic, APIC_ESR));
		return false;
	}
	if (level)
		set_bit(vector & 31, vec_word(apic, APIC_TMR, vector));
	else
		clear_bit(vector & 31, vec_word(apic, APIC_TMR, vector));
	set_bit(vector & 31, vec_word(apic, APIC_IRR, vector));
	ckvm_make_request(vcpu, CKVM_REQ_EVENT);
	ckvm_vcpu_kick(vcpu);
	return true;
}

static bool lapic_match_logical(struct ckvm_lapic *apic, u32 dest)
{
	u32 ldr = reg_read(apic, APIC_LDR);
	u8 id;

	if (x2apic_mode(apic))
		return (dest >> 16) == (ldr >> 16) && (dest & ldr & 0xffff);
	id = ldr >> 24;
	dest &= 0xff;
	/* DFR model: flat (0xf) is a bitmap, cluster (0x0) 4+4 bits. */
	if ((reg_read(apic, APIC_DFR) >> 28) == 0xf)
		return id & dest;
	return (id >> 4) == (dest >> 4) && (id & dest & 0xf);
}

static bool lapic_match(struct ckvm_lapic *apic, struct ckvm_lapic *src,
			const struct ckvm_irq *irq)
{
	switch (irq->shorthand) {
	case APIC_DEST_SELF:
		return apic == src;
	case APIC_DEST_ALLINC:
		return true;
	case APIC_DEST_ALLBUT:
		return apic != src;
	}
	if (irq->dest == irq->broadcast)
		return true;
	if (irq->logical)
		return lapic_match_logical(apic, irq->dest);
	return irq->dest == lapic_id(apic);
}

/*
 * NMI, INIT and SIPI (SDM 10.6.1, 8.4.4): a CPU takes them whether or
 * not its APIC is software-enabled. An NMI is queued for the vCPU
 * (x86/events.c), which delivers it when NMIs are not blocked. INIT
 * resets it (its thread does so before its next entry); the level
 * de-assert form of INIT (trigger level, level 0) does nothing on CPUs
 * since the Pentium 4, nor in KVM. A SIPI is kept with its vector for a
 * CPU in wait-for-SIPI, which ignores it otherwise. Any context.
 */
static bool lapic_accept_event(struct ckvm_lapic *apic, const struct ckvm_irq *irq)
{
	struct ckvm_vcpu *vcpu = apic->vcpu;

	switch (irq->delivery) {
	case APIC_DM_NMI:
		ckvm_vcpu_queue_nmi(vcpu);	/* makes the request, kicks */
		return true;
	case APIC_DM_INIT:
		if (irq->level && !irq->assert)
			return false;
		set_bit(CKVM_APIC_INIT, &vcpu->arch.apic_events);
		break;
	case APIC_DM_STARTUP:
		WRITE_ONCE(vcpu->arch.sipi_vector, irq->vector);
		/* The vector before the bit: the vCPU reads them the other way. */
		smp_wmb();
		set_bit(CKVM_APIC_SIPI, &vcpu->arch.apic_events);
		break;
	default:
		return false;
	}
	ckvm_make_request(vcpu, CKVM_REQ_EVENT);
	ckvm_vcpu_kick(vcpu);
	return true;
}

/**
 * ckvm_lapic_deliver() - deliver an interrupt message to the local APICs
 * @vm: the VM.
 * @src: the sending vCPU for the ICR shorthands, or NULL.
 * @irq: the message.
 *
 * To every local APIC it addresses (lowest priority: to the first one;
 * KVM's arbitration is no more precise than that) that is hardware-
 * enabled. Fixed and lowest-priority interrupts set IRR (a software-
 * disabled APIC drops them); NMI, INIT and SIPI are events for the vCPU
 * (lapic_accept_event()). Any context, also hard interrupts: it only
 * sets bits and kicks. SMI is dropped with a rate-limited message (ckvm
 * has no SMM); so is ExtINT in a message (silently, as KVM: only LINT0
 * takes it).
 *
 * Return: how many local APICs took it (a disabled one does not), or -1
 * if the VM has none (no vCPU yet), as KVM counts for KVM_IRQ_LINE_STATUS
 * and KVM_SIGNAL_MSI.
 */
int ckvm_lapic_deliver(struct ckvm *vm, struct ckvm_vcpu *src,
		       const struct ckvm_irq *irq)
{
	struct ckvm_lapic *from = src ? to_lapic(src) : NULL;
	/* Pairs with vCPU creation's release: vcpus[i < nr] are whole. */
	int i, n = 0, nr = smp_load_acquire(&vm->nr_vcpus);
	bool event;

	if (!nr)
		return -1;
	switch (irq->delivery) {
	case APIC_DM_FIXED:
	case APIC_DM_LOWEST:
		event = false;
		break;
	case APIC_DM_NMI:
	case APIC_DM_INIT:
	case APIC_DM_STARTUP:
		event = true;
		break;
	case APIC_DM_EXTINT:
		return 0;
	default:
		pr_warn_ratelimited("ckvm: delivery mode %#x (vector %#x) is not emulated\n",
				    irq->delivery, irq->vector);
		return 0;
	}
	for (i = 0; i < nr; i++) {
		struct ckvm_lapic *apic = to_lapic(vm->vcpus[i]);

		if (!apic || !lapic_match(apic, from, irq))
			continue;
		if (event) {
			if ((READ_ONCE(apic->vcpu->arch.apic_base) &
			     MSR_IA32_APICBASE_ENABLE) &&
			    lapic_accept_event(apic, irq))
				n++;
			continue;
		}
		if (lapic_accept(apic, irq->vector, irq->level))
			n++;
		if (n && irq->delivery == APIC_DM_LOWEST)
			break;
	}
	return n;
}

/**
 * ckvm_lapic_lint0_nmi() - the PIT's tick on LINT0 in NMI mode
 * @vcpu: a vCPU of the VM; any context.
 *
 * KVM's virtual wire for the old NMI watchdogs: each tick of the
 * in-kernel PIT also reaches every local APIC whose LVT0 is unmasked in
 * NMI mode (SDM 11.5.1: LINT0 with delivery mode NMI), as an NMI. In
 * ExtINT mode LINT0 takes the PIC's output instead (ckvm_pic_*); in the
 * other modes nothing happens (KVM delivers only NMI this way).
 */
void ckvm_lapic_lint0_nmi(struct ckvm_vcpu *vcpu)
{
	struct ckvm_lapic *apic = to_lapic(vcpu);

	if (!apic || !(READ_ONCE(vcpu->arch.apic_base) & MSR_IA32_APICBASE_ENABLE))
		return;
	if ((reg_read(apic, APIC_LVT0) & (APIC_LVT_MASKED | APIC_MODE_MASK)) ==
	    APIC_DM_NMI)
		ckvm_vcpu_queue_nmi(vcpu);
}

/**
 * ckvm_lapic_accepts_extint() - does the vCPU take the PIC's INT output?
 * @vcpu: the vCPU.
 *
 * Through LINT0 when its LVT entry is unmasked in ExtINT mode, or when the
 * APIC is hardware-disabled: LINT0 is then the processor's INTR pin (SDM
 * 11.4.3). Any context: it reads a register and the APIC base.
 *
 * Return: true if it takes it.
 */
bool ckvm_lapic_accepts_extint(struct ckvm_vcpu *vcpu)
{
	struct ckvm_lapic *apic = to_lapic(vcpu);
	u32 lvt0;

	if (!apic)
		return false;
	if (!(READ_ONCE(vcpu->arch.apic_base) & MSR_IA32_APICBASE_ENABLE))
		return true;
	lvt0 = reg_read(apic, APIC_LVT0);
	return (lvt0 & (APIC_LVT_MASKED | APIC_MODE_MASK)) == APIC_DM_EXTINT;
}

/* The vector to inject next, or -1: the highest IRR above the PPR. */
int ckvm_lapic_pending_vector(struct ckvm_vcpu *vcpu)
{
	struct ckvm_lapic *apic = to_lapic(vcpu);
	int irrv;

	if (!apic || !lapic_enabled(apic))
		return -1;
	irrv = vec_highest(apic, APIC_IRR);
	if (irrv < 0 || (irrv & 0xf0) <= (lapic_ppr(apic) & 0xf0))
		return -1;
	return irrv;
}

/* The vector goes to the guest: it is now in service. */
void ckvm_lapic_ack(struct ckvm_vcpu *vcpu, int vector)
{
	struct ckvm_lapic *apic = to_lapic(vcpu);

	clear_bit(vector & 31, vec_word(apic, APIC_IRR, vector));
	*reg_ptr(apic, APIC_ISR + (vector >> 5) * 0x10) |= BIT(vector & 31);
}

static void lapic_eoi(struct ckvm_lapic *apic)
{
	int vec = vec_highest(apic, APIC_ISR);

	if (vec < 0)
		return;
	*reg_ptr(apic, APIC_ISR + (vec >> 5) * 0x10) &= ~BIT(vec & 31);
	ckvm_irqchip_eoi(apic->vcpu, vec, vec_test(apic, APIC_TMR, vec));
}

/*
 * An IPI from the ICR: @icr is its low word, @dest the destination (x2APIC:
 * the whole high word; xAPIC: ICR2 bits 31:24).
 */
static void lapic_send_ipi(struct ckvm_lapic *apic, u32 icr, u32 dest)
{
	struct ckvm_irq irq = {
		.dest = dest,
		.broadcast = x2apic_mode(apic) ? 0xffffffff : 0xff,
		.logical = icr & APIC_DEST_LOGICAL,
		.delivery = icr & APIC_MODE_MASK,
		.vector = icr & APIC_VECTOR_MASK,
		.level = icr & APIC_INT_LEVELTRIG,
		.assert = icr & APIC_INT_ASSERT,
		.shorthand = icr & APIC_DEST_ALLBUT,	/* both shorthand bits */
	};

	ckvm_lapic_deliver(apic->vcpu->vm, apic->vcpu, &irq);
}

u8 ckvm_lapic_get_tpr(struct ckvm_vcpu *vcpu)
{
	return reg_read(to_lapic(vcpu), APIC_TASKPRI);
}

void ckvm_lapic_set_tpr(struct ckvm_vcpu *vcpu, u8 tpr)
{
	reg_write(to_lapic(vcpu), APIC_TASKPRI, tpr);
}

/* ---- the TPR shared with the guest (KVM_SET_VAPIC_ADDR) ---- */

/*
 * QEMU's "kvmvapic" option ROM (the TPR optimization for 32-bit Windows
 * XP and 2003 guests) patches the guest's TPR accesses into accesses of
 * a u32 in guest memory, and KVM keeps that u32 and the TPR in step
 * around each entry: before it, bits 7:0 get the TPR, 15:8 the class of
 * the highest vector in service (bits 7:4 of it), 31:24 the highest
 * vector requested (0 if none); after the exit, the TPR is bits 7:0 of
 * what the guest left there. QEMU sets the address at every reset (0:
 * off) and, once the ROM found the guest's TPR accesses, to the ROM's
 * page. It learns of those accesses from KVM_EXIT_TPR_ACCESS.
 */

/**
 * ckvm_lapic_set_vapic_addr() - KVM_SET_VAPIC_ADDR
 * @vcpu: the vCPU, under vcpu->mutex, with an in-kernel local APIC.
 * @vapic_addr: guest-physical address of the shared u32 (any alignment),
 *	or 0 to stop sharing.
 *
 * Return: 0, or -EINVAL (KVM's answer) when the 4 bytes are not all in
 * memslots. A memslot removed later stops the sharing quietly.
 */
int ckvm_lapic_set_vapic_addr(struct ckvm_vcpu *vcpu, u64 vapic_addr)
{
	struct ckvm_lapic *apic = to_lapic(vcpu);
	int idx, ok = 1;

	if (vapic_addr) {
		if (vapic_addr + sizeof(u32) < vapic_addr)
			return -EINVAL;
		idx = srcu_read_lock(&vcpu->vm->srcu);
		ok = ckvm_gfn_to_memslot(vcpu->vm, vapic_addr >> PAGE_SHIFT) &&
		     ckvm_gfn_to_memslot(vcpu->vm, (vapic_addr + 3) >> PAGE_SHIFT);
		srcu_read_unlock(&vcpu->vm->srcu, idx);
	}
	if (!ok)
		return -EINVAL;
	apic->vapic_addr = vapic_addr;
	return 0;
}

/**
 * ckvm_lapic_sync_to_vapic() - publish the TPR, ISR and IRR to the guest's u32
 * @vcpu: the vCPU, in its thread before entry, with vm->srcu held (not
 *	atomic: the write may fault the VMM's page in).
 *
 * Nothing without an in-kernel APIC or a vAPIC address. The layout is
 * KVM's (see above); a write that fails (slot gone) is dropped.
 */
void ckvm_lapic_sync_to_vapic(struct ckvm_vcpu *vcpu)
{
	struct ckvm_lapic *apic = to_lapic(vcpu);
	int isr, irr;
	u32 data;

	if (!apic || !apic->vapic_addr)
		return;
	isr = max(vec_highest(apic, APIC_ISR), 0);
	irr = max(vec_highest(apic, APIC_IRR), 0);
	data = (reg_read(apic, APIC_TASKPRI) & 0xff) | ((isr & 0xf0) << 8) |
	       ((u32)irr << 24);
	ckvm_write_guest(vcpu->vm, apic->vapic_addr, &data, sizeof(data));
}

/**
 * ckvm_lapic_sync_from_vapic() - take the TPR the guest left in its u32
 * @vcpu: the vCPU, in its thread after an exit, with vm->srcu held.
 */
void ckvm_lapic_sync_from_vapic(struct ckvm_vcpu *vcpu)
{
	struct ckvm_lapic *apic = to_lapic(vcpu);
	u32 data;

	if (!apic || !apic->vapic_addr)
		return;
	if (ckvm_read_guest(vcpu->vm, apic->vapic_addr, &data, sizeof(data)))
		return;
	if ((data & 0xff) != reg_read(apic, APIC_TASKPRI)) {
		reg_write(apic, APIC_TASKPRI, data & 0xff);
		ckvm_make_request(vcpu, CKVM_REQ_EVENT);
	}
}

/**
 * ckvm_lapic_tpr_access_reporting() - KVM_TPR_ACCESS_REPORTING
 * @vcpu: the vCPU, under vcpu->mutex, with an in-kernel local APIC.
 * @ctl: in: enabled (non-zero: report); flags must be 0 (-EINVAL, as
 *	KVM), and so must reserved (KVM ignores it; ckvm refuses it,
 *	-EINVAL). Out: unchanged.
 *
 * While on, every guest read or write of the TPR register (the xAPIC
 * page or the x2APIC MSR, as KVM) ends KVM_RUN with KVM_EXIT_TPR_ACCESS,
 * kvm_run.tpr_access.rip the address of the accessing instruction and
 * is_write set for a write, after the access took effect. CR8 accesses
 * are not reported (they do not exit), nor are they in KVM.
 *
 * Return: 0 or -EINVAL.
 */
int ckvm_lapic_tpr_access_reporting(struct ckvm_vcpu *vcpu,
				    struct kvm_tpr_access_ctl *ctl)
{
	struct ckvm_lapic *apic = to_lapic(vcpu);
	int i;

	if (ctl->flags)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(ctl->reserved); i++)
		if (ctl->reserved[i])
			return -EINVAL;
	apic->tpr_access_reporting = !!ctl->enabled;
	if (!apic->tpr_access_reporting)
		apic->tpr_access_pending = false;
	return 0;
}

/* A guest access of the TPR, while userspace wants to hear of them. */
static void lapic_tpr_access(struct ckvm_lapic *apic, bool write)
{
	if (!apic->tpr_access_reporting)
		return;
	apic->tpr_access_pending = true;
	apic->tpr_access_rip = apic->vcpu->arch.regs[VCPU_REGS_RIP];
	apic->tpr_access_write = write;
}

/**
 * ckvm_lapic_report_tpr_access() - end the run for a reported TPR access
 * @vcpu: the vCPU, in its thread, before an entry.
 *
 * Return: true after filling kvm_run with KVM_EXIT_TPR_ACCESS for the
 * access not reported yet; false if there is none.
 */
bool ckvm_lapic_report_tpr_access(struct ckvm_vcpu *vcpu)
{
	struct ckvm_lapic *apic = to_lapic(vcpu);

	if (!apic || !apic->tpr_access_pending)
		return false;
	apic->tpr_access_pending = false;
	vcpu->run->exit_reason = KVM_EXIT_TPR_ACCESS;
	vcpu->run->tpr_access.rip = apic->tpr_access_rip;
	vcpu->run->tpr_access.is_write = apic->tpr_access_write;
	return true;
}

/* ---- registers ---- */

static void lapic_reset(struct ckvm_lapic *apic)
{
	struct ckvm_vcpu *vcpu = apic->vcpu;
	static const u32 lvts[] = {
		APIC_LVTT, APIC_LVTTHMR, APIC_LVTPC, APIC_LVT1, APIC_LVTERR,
	};
	int i;

	hrtimer_cancel(&apic->timer);
	apic->period_ns = 0;
	memset(apic->regs, 0, KVM_APIC_REG_SIZE);
	reg_write(apic, APIC_ID, vcpu->vcpu_id << 24);
	reg_write(apic, APIC_LVR, LAPIC_VERSION);
	reg_write(apic, APIC_DFR, 0xffffffff);
	reg_write(apic, APIC_SPIV, 0xff);
	for (i = 0; i < ARRAY_SIZE(lvts); i++)
		reg_write(apic, lvts[i], APIC_LVT_MASKED);
	/*
	 * As KVM (its LINT0_REENABLED quirk): the BSP's LINT0 starts as
	 * ExtINT, so a PIC interrupt reaches a guest that never set it up.
	 */
	reg_write(apic, APIC_LVT0,
		  (vcpu->arch.apic_base & MSR_IA32_APICBASE_BSP) ?
		  APIC_DM_EXTINT : APIC_LVT_MASKED);
}

/*
 * INIT (SDM 10.4.7.3): the local APIC is as after power-up but for its
 * APIC ID; the APIC base MSR, and with it the mode, is not the APIC's and
 * stays (an x2APIC keeps its logical ID, which follows from the ID).
 */
static void lapic_init_reset(struct ckvm_lapic *apic)
{
	u32 id = reg_read(apic, APIC_ID);

	lapic_reset(apic);
	reg_write(apic, APIC_ID, id);
	if (x2apic_mode(apic))
		reg_write(apic, APIC_LDR, x2apic_ldr(apic->vcpu->vcpu_id));
}

/* A software-disabled APIC masks every LVT entry (SDM 11.4.7.2). */
static void lapic_write_svr(struct ckvm_lapic *apic, u32 val)
{
	static const u32 lvts[] = {
		APIC_LVTT, APIC_LVTTHMR, APIC_LVTPC, APIC_LVT0, APIC_LVT1,
		APIC_LVTERR,
	};
	int i;

	reg_write(apic, APIC_SPIV, val & 0x3ff);
	if (val & APIC_SPIV_APIC_ENABLED)
		return;
	for (i = 0; i < ARRAY_SIZE(lvts); i++)
		reg_write(apic, lvts[i], reg_read(apic, lvts[i]) | APIC_LVT_MASKED);
}

static void lapic_write_lvt(struct ckvm_lapic *apic, u32 off, u32 val,
			    u32 bits)
{
	if (!(reg_read(apic, APIC_SPIV) & APIC_SPIV_APIC_ENABLED))
		val |= APIC_LVT_MASKED;
	reg_write(apic, off, val & bits);
}

/*
 * MSR_IA32_APICBASE (SDM 10.12.5): the guest may enable and disable the
 * APIC, switch xAPIC -> x2APIC and move the xAPIC page (its MMIO follows
 * at once); x2APIC -> xAPIC and x2APIC without the enable bit are
 * refused (#GP). Userspace restoring a state may make any transition into
 * a valid mode.
 */
bool ckvm_lapic_base_valid(struct ckvm_vcpu *vcpu, u64 base)
{
	if (base & (ckvm_apic_base_reserved(vcpu) & ~X2APIC_ENABLE))
		return false;
	return !(base & X2APIC_ENABLE) ||
	       ((base & MSR_IA32_APICBASE_ENABLE) && ckvm_guest_has_x2apic(vcpu));
}

int ckvm_lapic_set_base(struct ckvm_vcpu *vcpu, u64 base, bool host)
{
	struct ckvm_lapic *apic = to_lapic(vcpu);
	u64 old = vcpu->arch.apic_base;
	u64 en = MSR_IA32_APICBASE_ENABLE, extd = X2APIC_ENABLE;

	if (!ckvm_lapic_base_valid(vcpu, base))
		return 1;
	if (!host && (old & extd) && (base & en) && !(base & extd))
		return 1;
	if (!host && (base & extd) && !(old & en))
		return 1;
	vcpu->arch.apic_base = base;
	if ((base & extd) && !(old & extd))
		reg_write(apic, APIC_LDR, x2apic_ldr(vcpu->vcpu_id));
	if (!(base & en) && (old & en)) {
		/* A hardware-disabled APIC loses its state (SDM 10.4.3). */
		lapic_reset(apic);
		lapic_write_svr(apic, 0xff);
	}
	return 0;
}

/*
 * Read register @off (16-byte aligned) in the current mode; 1 if it does
 * not exist in this mode or is write-only (x2APIC: #GP; xAPIC: ignored).
 * The x2APIC ICR, one 64-bit register, is the caller's.
 */
static int lapic_reg_read(struct ckvm_lapic *apic, u32 off, u32 *val)
{
	bool x2 = x2apic_mode(apic);

	switch (off) {
	case APIC_ID:
		*val = x2 ? apic->vcpu->vcpu_id : reg_read(apic, APIC_ID);
		return 0;
	case APIC_PROCPRI:
		*val = lapic_ppr(apic);
		return 0;
	case APIC_TMCCT:
		*val = lapic_timer_count(apic);
		return 0;
	case APIC_ARBPRI:
		/* xAPIC only; no arbitration priority is kept (as KVM). */
		*val = 0;
		return x2;
	case APIC_DFR:
	case APIC_ICR2:
		if (x2)
			return 1;
		*val = reg_read(apic, off);
		return 0;
	case APIC_TASKPRI:
		lapic_tpr_access(apic, false);
		*val = reg_read(apic, off);
		return 0;
	case APIC_LVR:
	case APIC_LDR:
	case APIC_SPIV:
	case APIC_ESR:
	case APIC_ICR:
	case APIC_LVTT ... APIC_LVTERR:
	case APIC_TMICT:
	case APIC_TDCR:
	case APIC_ISR ... APIC_IRR + 0x70:
		*val = reg_read(apic, off);
		return 0;
	default:
		/* EOI, SELF IPI: write-only; the rest is reserved. */
		return 1;
	}
}

/*
 * Write register @off (16-byte aligned) in the current mode; 1 if the
 * write is refused (x2APIC: #GP; xAPIC: ignored). The x2APIC ICR, one
 * 64-bit register, is the caller's.
 */
static int lapic_reg_write(struct ckvm_lapic *apic, u32 off, u32 val)
{
	bool x2 = x2apic_mode(apic);

	switch (off) {
	case APIC_ID:
		/* Writable in xAPIC mode (as KVM); the vCPU id's in x2APIC. */
		if (x2)
			return 1;
		reg_write(apic, APIC_ID, val & 0xff000000);
		return 0;
	case APIC_TASKPRI:
		lapic_tpr_access(apic, true);
		reg_write(apic, APIC_TASKPRI, val & 0xff);
		return 0;
	case APIC_EOI:
		lapic_eoi(apic);
		return 0;
	case APIC_LDR:
		/* xAPIC: the logical ID in bits 31:24; x2APIC: read-only. */
		if (x2)
			return 1;
		reg_write(apic, APIC_LDR, val & APIC_LDR_MASK);
		return 0;
	case APIC_DFR:
		/* The model in bits 31:28; the rest reads as 1 (SDM 11.6.2.2). */
		if (x2)
			return 1;
		reg_write(apic, APIC_DFR, val | 0x0fffffff);
		return 0;
	case APIC_SPIV:
		lapic_write_svr(apic, val);
		return 0;
	case APIC_ESR:
		/* x2APIC: writes of anything but 0 are reserved. */
		if (x2 && val)
			return 1;
		reg_write(apic, APIC_ESR, 0);
		return 0;
	case APIC_ICR:
		/*
		 * xAPIC: writing the low word sends the IPI to the ICR2
		 * destination. Delivery status (bit 12) reads as idle: IPIs
		 * are instant. The other bits are kept as written (as KVM).
		 */
		if (x2)
			return 1;
		val &= ~APIC_ICR_BUSY;
		reg_write(apic, APIC_ICR, val);
		lapic_send_ipi(apic, val, reg_read(apic, APIC_ICR2) >> 24);
		return 0;
	case APIC_ICR2:
		if (x2)
			return 1;
		reg_write(apic, APIC_ICR2, val & 0xff000000);
		return 0;
	case APIC_LVTT:
		lapic_write_lvt(apic, off, val, LVT_TIMER_BITS);
		return 0;
	case APIC_LVTTHMR:
	case APIC_LVTPC:
		lapic_write_lvt(apic, off, val, LVT_OTHER_BITS);
		return 0;
	case APIC_LVT0:
	case APIC_LVT1:
		lapic_write_lvt(apic, off, val, LVT_LINT_BITS);
		return 0;
	case APIC_LVTERR:
		lapic_write_lvt(apic, off, val, LVT_ERROR_BITS);
		return 0;
	case APIC_TMICT:
		reg_write(apic, APIC_TMICT, val);
		lapic_timer_start(apic);
		return 0;
	case APIC_TDCR:
		reg_write(apic, APIC_TDCR, val & 0xb);
		return 0;
	case APIC_SELF_IPI:
		/* x2APIC only; bits 31:8 are reserved (and KVM 6.1 faults them). */
		if (!x2 || (val & ~APIC_VECTOR_MASK))
			return 1;
		lapic_accept(apic, val, false);
		return 0;
	default:
		/* Read-only (version, PPR, ISR, TMR, IRR, count) or reserved. */
		return 1;
	}
}

/**
 * ckvm_lapic_accept_events() - act on the INIT and SIPI sent to the vCPU
 * @vcpu: the vCPU, in its own thread, loaded; it has a local APIC.
 *
 * INIT (SDM 8.4, 10.4.7.3): the CPU is reset as ckvm_vcpu_init_event()
 * says, its local APIC to its power-up state but for the APIC ID and the
 * APIC base MSR; the BSP then runs at the reset vector, an AP waits for
 * a SIPI (KVM_MP_STATE_INIT_RECEIVED). SIPI to a CPU in wait-for-SIPI:
 * it starts in real mode at vector * 0x1000 (CS = vector << 8, IP = 0);
 * any other CPU ignores it. As KVM: ckvm has no SMM or nested
 * virtualization, where INIT would be held back.
 */
void ckvm_lapic_accept_events(struct ckvm_vcpu *vcpu)
{
	const struct ckvm_x86_ops *ops = ckvm_x86_ops;
	struct kvm_segment cs;
	u8 vector;

	if (!READ_ONCE(vcpu->arch.apic_events))
		return;
	if (test_and_clear_bit(CKVM_APIC_INIT, &vcpu->arch.apic_events)) {
		ckvm_vcpu_init_event(vcpu);
		lapic_init_reset(to_lapic(vcpu));
		vcpu->arch.mp_state =
			(vcpu->arch.apic_base & MSR_IA32_APICBASE_BSP) ?
			KVM_MP_STATE_RUNNABLE : KVM_MP_STATE_INIT_RECEIVED;
	}
	if (test_and_clear_bit(CKVM_APIC_SIPI, &vcpu->arch.apic_events) &&
	    vcpu->arch.mp_state == KVM_MP_STATE_INIT_RECEIVED) {
		/* The bit before the vector (pairs with lapic_accept_event()). */
		smp_rmb();
		vector = READ_ONCE(vcpu->arch.sipi_vector);
		ops->get_segment(vcpu, &cs, CKVM_SEG_CS);
		cs.selector = vector << 8;
		cs.base = (u64)vector << 12;
		ops->set_segment(vcpu, &cs, CKVM_SEG_CS);
		vcpu->arch.regs[VCPU_REGS_RIP] = 0;
		vcpu->arch.mp_state = KVM_MP_STATE_RUNNABLE;
	}
}

/**
 * ckvm_x2apic_msr_read() - RDMSR of an x2APIC register (MSR 0x800-0x8ff)
 * @vcpu: the vCPU, in its thread.
 * @msr: the MSR index.
 * @data: the value read.
 *
 * Return: 0, or 1 for #GP (no in-kernel APIC, not in x2APIC mode, a
 * register that cannot be read in x2APIC mode; SDM 11.12.1.2).
 */
int ckvm_x2apic_msr_read(struct ckvm_vcpu *vcpu, u32 msr, u64 *data)
{
	struct ckvm_lapic *apic = to_lapic(vcpu);
	u32 off = (msr - APIC_BASE_MSR) << 4;
	u32 val;

	if (!apic || !x2apic_mode(apic))
		return 1;
	if (off == APIC_ICR) {
		*data = reg_read(apic, APIC_ICR) |
			(u64)reg_read(apic, APIC_ICR2) << 32;
		return 0;
	}
	if (lapic_reg_read(apic, off, &val))
		return 1;
	*data = val;
	return 0;
}

/**
 * ckvm_x2apic_msr_write() - WRMSR of an x2APIC register (MSR 0x800-0x8ff)
 * @vcpu: the vCPU, in its thread.
 * @msr: the MSR index.
 * @data: the value written.
 *
 * Return: 0, or 1 for #GP (no in-kernel APIC, not in x2APIC mode, a
 * read-only register, reserved bits set; SDM 11.12.1.2).
 */
int ckvm_x2apic_msr_write(struct ckvm_vcpu *vcpu, u32 msr, u64 data)
{
	struct ckvm_lapic *apic = to_lapic(vcpu);
	u32 off = (msr - APIC_BASE_MSR) << 4;

	if (!apic || !x2apic_mode(apic))
		return 1;
	if (off == APIC_ICR) {
		/* Reserved: bits 13, 17:16 and 31:20 of the low half (#GP). */
		if (data & 0xfff32000ULL)
			return 1;
		/* Delivery status (bit 12) reads as idle: IPIs are instant. */
		data &= ~(u64)APIC_ICR_BUSY;
		reg_write(apic, APIC_ICR, (u32)data);
		reg_write(apic, APIC_ICR2, data >> 32);
		lapic_send_ipi(apic, data, data >> 32);
		return 0;
	}
	/* Only the ICR is 64 bits wide; the other high halves are reserved. */
	if (data >> 32)
		return 1;
	return lapic_reg_write(apic, off, data);
}

/* ---- the xAPIC page ---- */

/* The vCPU's APIC page covers @gpa. */
static bool lapic_page_covers(struct ckvm_lapic *apic, u64 gpa)
{
	u64 base = apic->vcpu->arch.apic_base & MSR_IA32_APICBASE_BASE;

	return gpa >= base && gpa - base < PAGE_SIZE;
}

/*
 * KVM's KVM_X86_QUIRK_LAPIC_MMIO_HOLE, on by default: while the APIC is
 * hardware-disabled or in x2APIC mode its page still takes the accesses,
 * reads as all ones and ignores writes.
 */
static bool lapic_page_hole(struct ckvm_lapic *apic)
{
	return !(apic->vcpu->arch.apic_base & MSR_IA32_APICBASE_ENABLE) ||
	       x2apic_mode(apic);
}

/**
 * ckvm_lapic_mmio_read() - a guest MMIO read, if it is in the vCPU's APIC page
 * @vcpu: the vCPU, in its thread.
 * @gpa: guest-physical address of the first byte.
 * @len: bytes, 1 to 8.
 * @val: the bytes read.
 *
 * xAPIC registers are 32 bits wide at 16-byte intervals (SDM 11.4.1); a
 * read of 1, 2 or 4 bytes inside one returns those bytes of it, anything
 * else (reserved registers, reads across a register's end) reads as 0.
 *
 * Return: 0 if the page took the read, -EOPNOTSUPP if @gpa is not in it
 * (or the VM has no in-kernel APIC).
 */
int ckvm_lapic_mmio_read(struct ckvm_vcpu *vcpu, u64 gpa, int len, void *val)
{
	struct ckvm_lapic *apic = to_lapic(vcpu);
	u32 off, reg = 0;

	if (!apic || !lapic_page_covers(apic, gpa))
		return -EOPNOTSUPP;
	if (lapic_page_hole(apic)) {
		memset(val, 0xff, len);
		return 0;
	}
	memset(val, 0, len);
	off = offset_in_page(gpa);
	if ((off & 0xf) + len > 4 || lapic_reg_read(apic, off & ~0xf, &reg))
		return 0;
	memcpy(val, (u8 *)&reg + (off & 0xf), len);
	return 0;
}

/**
 * ckvm_lapic_mmio_write() - a guest MMIO write, if it is in the vCPU's APIC page
 * @vcpu: the vCPU, in its thread.
 * @gpa: guest-physical address of the first byte.
 * @len: bytes, 1 to 8.
 * @val: the bytes written.
 *
 * Only aligned 4-byte writes reach a register (SDM 11.4.1); other writes
 * and writes of read-only or reserved registers are ignored, as by KVM.
 *
 * Return: 0 if the page took the write, -EOPNOTSUPP if @gpa is not in it
 * (or the VM has no in-kernel APIC).
 */
int ckvm_lapic_mmio_write(struct ckvm_vcpu *vcpu, u64 gpa, int len,
			  const void *val)
{
	struct ckvm_lapic *apic = to_lapic(vcpu);
	u32 off, reg;

	if (!apic || !lapic_page_covers(apic, gpa))
		return -EOPNOTSUPP;
	off = offset_in_page(gpa);
	if (lapic_page_hole(apic) || len != 4 || (off & 0xf))
		return 0;
	memcpy(&reg, val, 4);
	lapic_reg_write(apic, off, reg);
	return 0;
}

/**
 * ckvm_mmio_dev_read() - offer a guest MMIO read to the in-kernel devices
 * @vcpu: the vCPU that reads, in its thread with vm->srcu held.
 * @gpa: guest-physical address of the first byte, outside every memslot.
 * @len: bytes, 1 to 8, within one page.
 * @val: the bytes read.
 *
 * The vCPU's own local APIC page comes first (each vCPU has its own, at
 * its own base, so it is not on the VM's bus), then the MMIO bus: the
 * IOAPIC window, ioeventfds (writes only), coalesced zones (writes only).
 * The emulator calls this before it asks userspace (KVM_EXIT_MMIO).
 *
 * Return: 0 if a device took the read, -EOPNOTSUPP if none did.
 */
int ckvm_mmio_dev_read(struct ckvm_vcpu *vcpu, u64 gpa, int len, void *val)
{
	if (!ckvm_lapic_mmio_read(vcpu, gpa, len, val))
		return 0;
	return ckvm_io_bus_read(vcpu, CKVM_MMIO_BUS, gpa, len, val);
}

/**
 * ckvm_mmio_dev_write() - offer a guest MMIO write to the in-kernel devices
 * @vcpu: the vCPU that writes, in its thread with vm->srcu held.
 * @gpa: guest-physical address of the first byte, outside every memslot.
 * @len: bytes, 1 to 8, within one page.
 * @val: the bytes written.
 *
 * In the order of ckvm_mmio_dev_read().
 *
 * Return: 0 if a device took the write, -EOPNOTSUPP if none did.
 */
int ckvm_mmio_dev_write(struct ckvm_vcpu *vcpu, u64 gpa, int len,
			const void *val)
{
	if (!ckvm_lapic_mmio_write(vcpu, gpa, len, val))
		return 0;
	return ckvm_io_bus_write(vcpu, CKVM_MMIO_BUS, gpa, len, val);
}

/* ---- KVM_GET_LAPIC / KVM_SET_LAPIC ---- */

/*
 * The page is in xAPIC format even in x2APIC mode (KVM without
 * KVM_CAP_X2APIC_API): the ID in bits 31:24 of the ID register.
 */
int ckvm_lapic_get_state(struct ckvm_vcpu *vcpu, struct kvm_lapic_state *s)
{
	struct ckvm_lapic *apic = to_lapic(vcpu);

	memcpy(s->regs, apic->regs, KVM_APIC_REG_SIZE);
	*(u32 *)(s->regs + APIC_TMCCT) = lapic_timer_count(apic);
	return 0;
}

int ckvm_lapic_set_state(struct ckvm_vcpu *vcpu, const struct kvm_lapic_state *s)
{
	struct ckvm_lapic *apic = to_lapic(vcpu);

	hrtimer_cancel(&apic->timer);
	memcpy(apic->regs, s->regs, KVM_APIC_REG_SIZE);
	reg_write(apic, APIC_LVR, LAPIC_VERSION);
	/* The x2APIC ID and LDR are the vCPU's: the saved ones are ignored. */
	if (x2apic_mode(apic)) {
		reg_write(apic, APIC_ID, vcpu->vcpu_id << 24);
		reg_write(apic, APIC_LDR, x2apic_ldr(vcpu->vcpu_id));
	}
	reg_write(apic, APIC_TMCCT, 0);
	lapic_timer_start(apic);
	ckvm_make_request(vcpu, CKVM_REQ_EVENT);
	return 0;
}

/* ---- lifetime ---- */

int ckvm_lapic_create(struct ckvm_vcpu *vcpu)
{
	struct ckvm_lapic *apic;

	apic = kzalloc(sizeof(*apic), GFP_KERNEL_ACCOUNT);
	if (!apic)
		return -ENOMEM;
	apic->regs = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!apic->regs) {
		kfree(apic);
		return -ENOMEM;
	}
	apic->vcpu = vcpu;
	hrtimer_init(&apic->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS_HARD);
	apic->timer.function = lapic_timer_fire;
	vcpu->arch.lapic = apic;
	lapic_reset(apic);
	return 0;
}

void ckvm_lapic_free(struct ckvm_vcpu *vcpu)
{
	struct ckvm_lapic *apic = to_lapic(vcpu);

	if (!apic)
		return;
	hrtimer_cancel(&apic->timer);
	free_page((unsigned long)apic->regs);
	kfree(apic);
	vcpu->arch.lapic = NULL;
}
