// SPDX-License-Identifier: GPL-2.0
/*
 * The 8254 programmable interval timer of a PC (Intel 8254 datasheet,
 * order 231164), as KVM_CREATE_PIT2 gives it: three counters at ports
 * 0x40-0x42, the control word register at 0x43, and, with
 * KVM_PIT_SPEAKER_DUMMY, port 0x61 (the gate of counter 2, the speaker
 * data bit and counter 2's output, as a PC's system control port B).
 * Counter 0's output is IRQ0, GSI 0 of the in-kernel irqchip.
 *
 * State lives in struct kvm_pit_state2 (KVM_GET_PIT2 returns it as it
 * is): per counter the initial count (count, 1 to 0x10000), when it was
 * loaded (count_load_time, host CLOCK_MONOTONIC in ns), the mode, the
 * access mode (rw_mode: 1 LSB, 2 MSB, 3 LSB then MSB) and where a read
 * or write of that access is (read_state, write_state: 3 and 4 are the
 * two bytes of mode 3), the latches (latched_count, count_latched,
 * status, status_latched) and the gate. A counter counts at 1.193182 MHz
 * from count_load_time; its value and output are computed from the time
 * elapsed, never stepped.
 *
 * Counter 0 in modes 0-4 has an hrtimer (one-shot in modes 0, 1 and 4,
 * periodic in 2 and 3, no faster than every 200 us as KVM) whose expiry
 * is a tick; a kthread worker pulses GSI 0 for each tick. With
 * reinjection (KVM_REINJECT_CONTROL, on by default as in KVM) a tick is
 * pulsed only once the guest acknowledged the one before (its EOI reaches
 * the acknowledgement notifier of GSI 0), and ticks the guest could not
 * take yet are counted and delivered later, one per acknowledgement (the
 * vCPU thread that acknowledges pulses the next one itself), so
 * a guest that counts ticks for its time keeps it; ticks while GSI 0 is
 * masked everywhere are dropped. Without reinjection every tick is
 * pulsed at once and lost ticks stay lost.
 *
 * Locking: pit->lock (a mutex; port I/O, the ioctls and the worker are
 * process context) covers the state; the timer callback only counts and
 * queues the work.
 */
#include <linux/hrtimer.h>
#include <linux/kthread.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/apicdef.h>

#include "ckvm.h"
#include "irqchip.h"

#define PIT_BASE	0x40
#define PIT_SPEAKER	0x61
#define PIT_FREQ	1193182		/* Hz, KVM's KVM_PIT_FREQ */
/* A periodic tick faster than this would keep a host CPU busy (KVM's). */
#define PIT_MIN_PERIOD_NS	(200 * NSEC_PER_USEC)

/* read_state, write_state, count_latched (KVM's numbers). */
enum { RW_LSB = 1, RW_MSB = 2, RW_WORD0 = 3, RW_WORD1 = 4 };

struct ckvm_pit {
	struct ckvm *vm;
	struct ckvm_io_device dev;		/* ports 0x40-0x43 */
	struct ckvm_io_device speaker_dev;	/* port 0x61 */
	bool has_speaker;
	struct mutex lock;			/* state; timer (re)starts */
	struct kvm_pit_state2 state;
	/* Counter 0's ticks. */
	struct hrtimer timer;
	u64 period_ns;				/* 0: one-shot */
	struct kthread_worker *worker;
	struct kthread_work expired;
	atomic_t reinject;
	atomic_t pending;	/* ticks not delivered yet (reinjection) */
	atomic_t irq_ack;	/* the last tick delivered was acknowledged */
	struct ckvm_irq_ack_notifier ack;
	bool ack_registered;			/* under lock */
};

static struct ckvm_pit *vm_pit(struct ckvm *vm)
{
	/* Pairs with the release in pit_create(). */
	return smp_load_acquire(&vm->arch.pit);
}

/* ---- a counter's value and output, from the time since its load ---- */

/* Input clock ticks since counter @c was loaded or last triggered. */
static u64 pit_elapsed(struct kvm_pit_channel_state *c)
{
	s64 ns = ktime_to_ns(ktime_get()) - c->count_load_time;

	return ns <= 0 ? 0 : mul_u64_u32_div(ns, PIT_FREQ, NSEC_PER_SEC);
}

/*
 * The counting element (datasheet, "Mode Definitions"): modes 0, 1, 4
 * and 5 count down and wrap from 0 to 0xffff; mode 2 reloads at 1, mode
 * 3 counts down by two, twice per period.
 */
static u16 pit_count(struct kvm_pit_channel_state *c)
{
	u64 d = pit_elapsed(c);
	u32 n = c->count ?: 0x10000;

	switch (c->mode) {
	case 2:
		return n - do_div(d, n);
	case 3:
		d *= 2;
		return n - do_div(d, n);
	default:
		return (n - d) & 0xffff;
	}
}

/*
 * OUT (datasheet, the waveforms of each mode): mode 0 goes high at the
 * terminal count, mode 1 is low for the count after a trigger, mode 2 is
 * low for the one clock before the reload, mode 3 is high for the first
 * half of each period, modes 4 and 5 are low for the one clock at the
 * terminal count. A gate held low keeps modes 2 and 3 high.
 */
static int pit_out(struct kvm_pit_channel_state *c)
{
	u64 d = pit_elapsed(c);
	u32 n = c->count ?: 0x10000;
	u64 q = d;
	u32 r = do_div(q, n);

	switch (c->mode) {
	case 0:
		return d >= n;
	case 1:
		return d < n;
	case 2:
		return !c->gate || r != n - 1;
	case 3:
		return !c->gate || r < (n + 1) / 2;
	case 4:
	case 5:
		return d != n;
	default:
		return 1;
	}
}

/* ---- counter 0's ticks ---- */

static enum hrtimer_restart pit_timer_fire(struct hrtimer *timer)
{
	struct ckvm_pit *pit = container_of(timer, struct ckvm_pit, timer);

	if (atomic_read(&pit->reinject))
		atomic_inc(&pit->pending);
	kthread_queue_work(pit->worker, &pit->expired);
	if (!pit->period_ns)
		return HRTIMER_NORESTART;
	hrtimer_add_expires_ns(timer, pit->period_ns);
	return HRTIMER_RESTART;
}

/*
 * A tick is a pulse on GSI 0. Process context (the worker, or the vCPU
 * thread that acknowledged the tick before), no irqchip lock held.
 */
static void pit_tick(struct ckvm_pit *pit)
{
	struct ckvm *vm = pit->vm;
	int i, nr;

	if (atomic_read(&pit->reinject)) {
		/* Nobody can take it: forget the ticks, as KVM's mask notifier. */
		if (ckvm_irqchip_gsi_masked(vm, 0)) {
			atomic_set(&pit->pending, 0);
			atomic_set(&pit->irq_ack, 1);
			return;
		}
		/* The last one is not acknowledged yet: its EOI sends this. */
		if (!atomic_xchg(&pit->irq_ack, 0))
			return;
	}
	ckvm_set_irq(vm, CKVM_PIT_IRQ_SOURCE_ID, 0, 1, false);
	ckvm_set_irq(vm, CKVM_PIT_IRQ_SOURCE_ID, 0, 0, false);
	/* KVM's virtual wire: the tick is also an NMI on LINT0 in NMI mode. */
	nr = smp_load_acquire(&vm->nr_vcpus);	/* pairs with vCPU creation */
	for (i = 0; i < nr; i++)
		ckvm_lapic_lint0_nmi(vm->vcpus[i]);
}

/* The worker: the ticks of the timer. */
static void pit_expired(struct kthread_work *work)
{
	pit_tick(container_of(work, struct ckvm_pit, expired));
}

/*
 * The guest's EOI of GSI 0 (or the PIC's acknowledgement): the next
 * waiting tick goes at once, from this vCPU thread (process context, no
 * irqchip lock held: the IOAPIC and PIC call their notifiers without
 * it). Not through the worker, as KVM does: it saves a wakeup and a
 * context switch per tick. (Chosen when Bochs's MWAIT lost the worker's
 * wakeups on the vmx machine; boot-bochs.sh now idles in HLT.)
 */
static void pit_irq_acked(struct ckvm_irq_ack_notifier *kian)
{
	struct ckvm_pit *pit = container_of(kian, struct ckvm_pit, ack);

	atomic_set(&pit->irq_ack, 1);
	/* irq_ack is set before pending is read (pairs with the worker). */
	smp_mb__after_atomic();
	if (atomic_dec_if_positive(&pit->pending) > 0)
		pit_tick(pit);
}

/* Stop counter 0's ticks; pit->lock held. */
static void pit_timer_stop(struct ckvm_pit *pit)
{
	hrtimer_cancel(&pit->timer);
	kthread_flush_work(&pit->expired);
	atomic_set(&pit->pending, 0);
	atomic_set(&pit->irq_ack, 1);
}

/*
 * (Re)start counter 0's ticks from its count, as the load of a count does;
 * pit->lock held. No ticks without the in-kernel IOAPIC (KVM's rule: a
 * split irqchip's PIT is userspace's) or while the HPET has taken IRQ0
 * over (KVM_PIT_FLAGS_HPET_LEGACY).
 */
static void pit_timer_start(struct ckvm_pit *pit)
{
	struct kvm_pit_channel_state *c = &pit->state.channels[0];
	/* Pairs with the release in KVM_CREATE_IRQCHIP. */
	struct ckvm_irqchip *chip = smp_load_acquire(&pit->vm->arch.irqchip);
	u64 ns;

	pit_timer_stop(pit);
	pit->period_ns = 0;
	if (!chip || chip->split || (pit->state.flags & KVM_PIT_FLAGS_HPET_LEGACY))
		return;
	if (c->mode > 4)
		return;		/* mode 5 needs a gate edge, which counter 0 never sees */
	ns = mul_u64_u32_div(c->count ?: 0x10000, NSEC_PER_SEC, PIT_FREQ);
	if (c->mode == 2 || c->mode == 3)
		pit->period_ns = max_t(u64, ns, PIT_MIN_PERIOD_NS);
	hrtimer_start(&pit->timer, ktime_add_ns(c->count_load_time, ns),
		      HRTIMER_MODE_ABS_HARD);
}

/* A new count for counter @ch (0 is 0x10000); pit->lock held. */
static void pit_load(struct ckvm_pit *pit, int ch, u32 val)
{
	struct kvm_pit_channel_state *c = &pit->state.channels[ch];

	c->count = val ?: 0x10000;
	c->count_load_time = ktime_to_ns(ktime_get());
	if (ch == 0)
		pit_timer_start(pit);
}

/*
 * The gate (counter 2's, from port 0x61): a rising edge starts modes 1
 * and 5 and restarts modes 2 and 3 (datasheet, "Gate"). Modes 0 and 4
 * would pause while it is low, which is not emulated (nor by KVM).
 */
static void pit_set_gate(struct kvm_pit_channel_state *c, u8 gate)
{
	if (gate && !c->gate && (c->mode == 1 || c->mode == 2 ||
				 c->mode == 3 || c->mode == 5))
		c->count_load_time = ktime_to_ns(ktime_get());
	c->gate = gate;
}

static void pit_latch_count(struct kvm_pit_channel_state *c)
{
	/* A second latch before the first is read is ignored. */
	if (c->count_latched)
		return;
	c->latched_count = pit_count(c);
	c->count_latched = c->rw_mode;
}

static void pit_latch_status(struct kvm_pit_channel_state *c)
{
	if (c->status_latched)
		return;
	/* OUT, access, mode, BCD; the null count bit 6 is 0 (as KVM). */
	c->status = pit_out(c) << 7 | c->rw_mode << 4 | c->mode << 1 | c->bcd;
	c->status_latched = 1;
}

/* ---- the ports ---- */

/* The control word (datasheet, "Control Word Format"); pit->lock held. */
static void pit_write_control(struct ckvm_pit *pit, u8 val)
{
	struct kvm_pit_channel_state *c;
	int ch = val >> 6, access = (val >> 4) & 3;

	if (ch == 3) {
		/* Read-back: COUNT (bit 5) and STATUS (bit 4) are active low. */
		for (ch = 0; ch < 3; ch++) {
			if (!(val & (2 << ch)))
				continue;
			c = &pit->state.channels[ch];
			if (!(val & 0x20))
				pit_latch_count(c);
			if (!(val & 0x10))
				pit_latch_status(c);
		}
		return;
	}
	c = &pit->state.channels[ch];
	if (!access) {
		pit_latch_count(c);
		return;
	}
	c->rw_mode = access;
	c->read_state = access;
	c->write_state = access;
	c->mode = (val >> 1) & 7;
	if (c->mode > 5)
		c->mode -= 4;	/* 6 and 7 are 2 and 3 */
	c->bcd = val & 1;	/* kept and reported; counting is binary (KVM) */
}

static void pit_write_count(struct ckvm_pit *pit, int ch, u8 val)
{
	struct kvm_pit_channel_state *c = &pit->state.channels[ch];

	switch (c->write_state) {
	case RW_MSB:
		pit_load(pit, ch, val << 8);
		break;
	case RW_WORD0:
		c->write_latch = val;
		c->write_state = RW_WORD1;
		break;
	case RW_WORD1:
		pit_load(pit, ch, c->write_latch | val << 8);
		c->write_state = RW_WORD0;
		break;
	default:	/* RW_LSB, and a state restored out of range */
		pit_load(pit, ch, val);
		break;
	}
}

static u8 pit_read_count(struct kvm_pit_channel_state *c)
{
	u16 count;

	if (c->status_latched) {
		c->status_latched = 0;
		return c->status;
	}
	if (c->count_latched) {
		count = c->latched_count;
		switch (c->count_latched) {
		case RW_MSB:
			c->count_latched = 0;
			return count >> 8;
		case RW_WORD0:
			c->count_latched = RW_MSB;
			return count;
		default:
			c->count_latched = 0;
			return count;
		}
	}
	count = pit_count(c);
	switch (c->read_state) {
	case RW_MSB:
		return count >> 8;
	case RW_WORD0:
		c->read_state = RW_WORD1;
		return count;
	case RW_WORD1:
		c->read_state = RW_WORD0;
		return count >> 8;
	default:
		return count;
	}
}

/*
 * Bus ops; vCPU thread, vm->srcu held, process context. Any access width
 * is taken as a byte access, as KVM takes it: the low byte is written, a
 * read gives the byte zero-extended. The control word register reads 0.
 */
static int pit_port_read(struct ckvm_vcpu *vcpu, struct ckvm_io_device *dev,
			 u64 addr, int len, void *val)
{
	struct ckvm_pit *pit = container_of(dev, struct ckvm_pit, dev);
	u32 v = 0;

	mutex_lock(&pit->lock);
	if (addr - PIT_BASE < 3)
		v = pit_read_count(&pit->state.channels[addr - PIT_BASE]);
	mutex_unlock(&pit->lock);
	memcpy(val, &v, min_t(int, len, sizeof(v)));
	return 0;
}

static int pit_port_write(struct ckvm_vcpu *vcpu, struct ckvm_io_device *dev,
			  u64 addr, int len, const void *val)
{
	struct ckvm_pit *pit = container_of(dev, struct ckvm_pit, dev);
	u8 v = *(const u8 *)val;

	mutex_lock(&pit->lock);
	if (addr - PIT_BASE == 3)
		pit_write_control(pit, v);
	else
		pit_write_count(pit, addr - PIT_BASE, v);
	mutex_unlock(&pit->lock);
	return 0;
}

/*
 * Port 0x61 as a PC's system control port B: bit 0 counter 2's gate, bit 1
 * the speaker data enable, bit 4 the refresh toggle (every 2^14 ns here,
 * as KVM's approximation of 15 us), bit 5 counter 2's output.
 */
static int speaker_port_read(struct ckvm_vcpu *vcpu, struct ckvm_io_device *dev,
			     u64 addr, int len, void *val)
{
	struct ckvm_pit *pit = container_of(dev, struct ckvm_pit, speaker_dev);
	struct kvm_pit_channel_state *c = &pit->state.channels[2];
	u32 v;

	mutex_lock(&pit->lock);
	v = c->gate | !!(pit->state.flags & KVM_PIT_FLAGS_SPEAKER_DATA_ON) << 1 |
	    ((ktime_to_ns(ktime_get()) >> 14) & 1) << 4 | pit_out(c) << 5;
	mutex_unlock(&pit->lock);
	memcpy(val, &v, min_t(int, len, sizeof(v)));
	return 0;
}

static int speaker_port_write(struct ckvm_vcpu *vcpu, struct ckvm_io_device *dev,
			      u64 addr, int len, const void *val)
{
	struct ckvm_pit *pit = container_of(dev, struct ckvm_pit, speaker_dev);
	u8 v = *(const u8 *)val;

	mutex_lock(&pit->lock);
	if (v & 2)
		pit->state.flags |= KVM_PIT_FLAGS_SPEAKER_DATA_ON;
	else
		pit->state.flags &= ~KVM_PIT_FLAGS_SPEAKER_DATA_ON;
	pit_set_gate(&pit->state.channels[2], v & 1);
	mutex_unlock(&pit->lock);
	return 0;
}

static const struct ckvm_io_device_ops pit_ops = {
	.read = pit_port_read,
	.write = pit_port_write,
};

static const struct ckvm_io_device_ops speaker_ops = {
	.read = speaker_port_read,
	.write = speaker_port_write,
};

/* ---- reinjection ---- */

/* Turn reinjection on or off; pit->lock held. */
static void pit_set_reinject(struct ckvm_pit *pit, bool on)
{
	/* The ack notifier takes irq_lock and waits for SRCU readers. */
	if (on && !pit->ack_registered) {
		atomic_set(&pit->pending, 0);
		atomic_set(&pit->irq_ack, 1);
		ckvm_register_irq_ack_notifier(pit->vm, &pit->ack);
		pit->ack_registered = true;
	} else if (!on && pit->ack_registered) {
		ckvm_unregister_irq_ack_notifier(pit->vm, &pit->ack);
		pit->ack_registered = false;
	}
	atomic_set(&pit->reinject, on);
}

/* ---- lifetime ---- */

/* KVM's reset state: modes 0xff (none), gates 1 1 0, counts 0x10000. */
static void pit_reset(struct ckvm_pit *pit)
{
	int i;

	pit->state.flags = 0;
	for (i = 0; i < 3; i++) {
		struct kvm_pit_channel_state *c = &pit->state.channels[i];

		memset(c, 0, sizeof(*c));
		c->mode = 0xff;
		c->gate = i != 2;
		pit_load(pit, i, 0);
	}
}

static int pit_create(struct ckvm *vm, u32 flags)
{
	struct ckvm_pit *pit;
	int r;

	pit = kzalloc(sizeof(*pit), GFP_KERNEL_ACCOUNT);
	if (!pit)
		return -ENOMEM;
	pit->vm = vm;
	mutex_init(&pit->lock);
	hrtimer_init(&pit->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS_HARD);
	pit->timer.function = pit_timer_fire;
	kthread_init_work(&pit->expired, pit_expired);
	pit->worker = kthread_create_worker(0, "ckvm-pit/%d", vm->pid);
	if (IS_ERR(pit->worker)) {
		r = PTR_ERR(pit->worker);
		kfree(pit);
		return r;
	}
	pit->ack.gsi = 0;
	pit->ack.irq_acked = pit_irq_acked;
	pit->dev.ops = &pit_ops;
	pit->speaker_dev.ops = &speaker_ops;
	pit->has_speaker = flags & KVM_PIT_SPEAKER_DUMMY;

	mutex_lock(&pit->lock);
	pit_reset(pit);
	pit_set_reinject(pit, true);
	mutex_unlock(&pit->lock);

	mutex_lock(&vm->slots_lock);
	r = ckvm_io_bus_register_dev(vm, CKVM_PIO_BUS, PIT_BASE, 4, &pit->dev);
	if (!r && pit->has_speaker) {
		r = ckvm_io_bus_register_dev(vm, CKVM_PIO_BUS, PIT_SPEAKER, 1,
					     &pit->speaker_dev);
		if (r)
			ckvm_io_bus_unregister_dev(vm, CKVM_PIO_BUS, &pit->dev);
	}
	mutex_unlock(&vm->slots_lock);
	if (r) {
		mutex_lock(&pit->lock);
		pit_timer_stop(pit);
		pit_set_reinject(pit, false);
		mutex_unlock(&pit->lock);
		kthread_destroy_worker(pit->worker);
		kfree(pit);
		return r;
	}
	/* The PIT is whole before ioctls without vm->lock see it. */
	smp_store_release(&vm->arch.pit, pit);
	return 0;
}

/**
 * ckvm_pit_free() - stop and free the VM's PIT
 * @vm: the VM, going away: no vCPU runs, no ioctl comes.
 *
 * Called before the vCPUs are freed: a tick being delivered kicks them.
 * Takes vm->slots_lock and vm->irq_lock.
 */
void ckvm_pit_free(struct ckvm *vm)
{
	struct ckvm_pit *pit = vm->arch.pit;

	if (!pit)
		return;
	mutex_lock(&pit->lock);
	pit->state.channels[0].mode = 0xff;
	pit_timer_stop(pit);
	pit_set_reinject(pit, false);
	mutex_unlock(&pit->lock);
	kthread_destroy_worker(pit->worker);
	mutex_lock(&vm->slots_lock);
	ckvm_io_bus_unregister_dev(vm, CKVM_PIO_BUS, &pit->dev);
	if (pit->has_speaker)
		ckvm_io_bus_unregister_dev(vm, CKVM_PIO_BUS, &pit->speaker_dev);
	mutex_unlock(&vm->slots_lock);
	kfree(pit);
	vm->arch.pit = NULL;
}

/* ---- ioctls ---- */

/*
 * KVM_SET_PIT(2): the state as given, each count loaded again now (the
 * saved load times mean nothing on this host; KVM does the same).
 * Clearing KVM_PIT_FLAGS_HPET_LEGACY lets counter 0 tick again, from its
 * count. pit->lock held.
 */
static void pit_set_state(struct ckvm_pit *pit, const struct kvm_pit_channel_state *ch,
			  u32 flags)
{
	int i;

	memcpy(pit->state.channels, ch, sizeof(pit->state.channels));
	pit->state.flags = flags;
	for (i = 0; i < 3; i++)
		pit_load(pit, i, pit->state.channels[i].count);
}

/* Every valid KVM_PIT_FLAGS_* of KVM_SET_PIT2. */
#define PIT_STATE2_FLAGS (KVM_PIT_FLAGS_HPET_LEGACY | KVM_PIT_FLAGS_SPEAKER_DATA_ON)

/*
 * A saved channel that no 8254 can be in: a count above 0x10000 (KVM
 * takes it and then counts from it; ckvm refuses it), a mode above 5 but
 * KVM's "none" (0xff), an access mode or latch state outside 0-4.
 */
static bool pit_channel_valid(const struct kvm_pit_channel_state *c)
{
	return c->count <= 0x10000 && (c->mode <= 5 || c->mode == 0xff) &&
	       c->rw_mode <= 3 && c->read_state <= RW_WORD1 &&
	       c->write_state <= RW_WORD1 && c->count_latched <= RW_WORD1 &&
	       c->gate <= 1 && c->bcd <= 1 && c->status_latched <= 1;
}

/**
 * ckvm_pit_vm_ioctl() - the PIT's VM ioctls
 * @vm: the VM.
 * @ioctl: KVM_CREATE_PIT(2), KVM_GET/SET_PIT, KVM_GET/SET_PIT2 or
 *	   KVM_REINJECT_CONTROL.
 * @arg: the ioctl's argument.
 *
 * KVM_CREATE_PIT2 takes only KVM_PIT_SPEAKER_DUMMY in flags and zero
 * padding (KVM takes anything); KVM_CREATE_PIT is it with the speaker.
 * As KVM, a PIT needs no in-kernel irqchip and may come after vCPUs exist;
 * its counter 0 ticks only while the in-kernel IOAPIC exists (not with a
 * split irqchip). The other ioctls need a PIT.
 *
 * Return: 0 or -errno: -EEXIST (a PIT exists), -ENXIO (no PIT), -EINVAL
 * (flags, reserved fields, a state no 8254 can be in), -EFAULT, -ENOMEM.
 */
long ckvm_pit_vm_ioctl(struct ckvm *vm, unsigned int ioctl, unsigned long arg)
{
	void __user *argp = (void __user *)arg;
	struct ckvm_pit *pit;
	union {
		struct kvm_pit_config config;
		struct kvm_pit_state state;
		struct kvm_pit_state2 state2;
		struct kvm_reinject_control reinject;
	} *u;
	long r;
	int i;

	u = kzalloc(sizeof(*u), GFP_KERNEL);
	if (!u)
		return -ENOMEM;
	if (ioctl == KVM_CREATE_PIT2 || ioctl == KVM_CREATE_PIT) {
		r = -EFAULT;
		if (ioctl == KVM_CREATE_PIT)
			u->config.flags = KVM_PIT_SPEAKER_DUMMY;
		else if (copy_from_user(&u->config, argp, sizeof(u->config)))
			goto out;
		r = -EINVAL;
		if ((u->config.flags & ~KVM_PIT_SPEAKER_DUMMY) ||
		    memchr_inv(u->config.pad, 0, sizeof(u->config.pad)))
			goto out;
		mutex_lock(&vm->lock);
		r = vm->arch.pit ? -EEXIST : pit_create(vm, u->config.flags);
		mutex_unlock(&vm->lock);
		goto out;
	}

	pit = vm_pit(vm);
	switch (ioctl) {
	case KVM_SET_PIT:
	case KVM_SET_PIT2:
	case KVM_REINJECT_CONTROL:
		r = -EFAULT;
		if (copy_from_user(u, argp, ioctl == KVM_SET_PIT ? sizeof(u->state) :
				   ioctl == KVM_SET_PIT2 ? sizeof(u->state2) :
				   sizeof(u->reinject)))
			goto out;
		break;
	}
	r = -ENXIO;
	if (!pit)
		goto out;

	switch (ioctl) {
	case KVM_GET_PIT:
	case KVM_GET_PIT2:
		mutex_lock(&pit->lock);
		u->state2 = pit->state;
		mutex_unlock(&pit->lock);
		memset(u->state2.reserved, 0, sizeof(u->state2.reserved));
		r = copy_to_user(argp, u, ioctl == KVM_GET_PIT ? sizeof(u->state) :
				 sizeof(u->state2)) ? -EFAULT : 0;
		break;
	case KVM_SET_PIT:
	case KVM_SET_PIT2:
		r = -EINVAL;
		if (ioctl == KVM_SET_PIT2 &&
		    ((u->state2.flags & ~PIT_STATE2_FLAGS) ||
		     memchr_inv(u->state2.reserved, 0, sizeof(u->state2.reserved))))
			break;
		for (i = 0; i < 3; i++)
			if (!pit_channel_valid(&u->state.channels[i]))
				goto out;
		mutex_lock(&pit->lock);
		pit_set_state(pit, u->state.channels,
			      ioctl == KVM_SET_PIT2 ? u->state2.flags :
			      pit->state.flags);
		mutex_unlock(&pit->lock);
		r = 0;
		break;
	default: /* KVM_REINJECT_CONTROL */
		r = -EINVAL;
		if (memchr_inv(u->reinject.reserved, 0, sizeof(u->reinject.reserved)))
			break;
		mutex_lock(&pit->lock);
		pit_set_reinject(pit, u->reinject.pit_reinject);
		mutex_unlock(&pit->lock);
		r = 0;
		break;
	}
out:
	kfree(u);
	return r;
}
