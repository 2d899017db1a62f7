// SPDX-License-Identifier: GPL-2.0
/*
 * The two 8259A PICs of a PC (Intel 8259A datasheet, order 231468) and
 * the PIIX edge/level control registers (ELCR), as KVM_CREATE_IRQCHIP
 * gives them: the master at ports 0x20-0x21, the slave at 0xa0-0xa1
 * cascaded on the master's input 2, the ELCRs at 0x4d0 and 0x4d1.
 *
 * State lives in struct kvm_pic_state, one per chip, as KVM_GET_IRQCHIP
 * returns it, so save and restore are copies. Every field is the
 * datasheet's: irr (requests), imr (mask, OCW1), isr (in service),
 * priority_add (the input that has the lowest priority is priority_add
 * - 1: rotation), irq_base (ICW2), read_reg_select (OCW3 RR/RIS), poll
 * (OCW3 P), special_mask (OCW3 SMM), init_state (which ICW comes next:
 * 0 none, 1 ICW2, 2 ICW3, 3 ICW4), auto_eoi, rotate_on_auto_eoi (OCW2
 * R + no EOI), special_fully_nested_mode (ICW4 SFNM), init4 (ICW1 IC4),
 * elcr (1: level-triggered), elcr_mask (which inputs may be level);
 * last_irr is the input lines' levels, for edge detection.
 *
 * Where the interrupt goes: the master's INT output is the ExtINT input
 * of the local APICs: a vCPU whose LINT0 is unmasked in ExtINT mode (or
 * whose APIC is hardware-disabled) takes it; the run loop then does the
 * interrupt acknowledge cycle (ckvm_pic_read_irq()), which returns the
 * vector, as the INTA bus cycles would.
 *
 * Locking: chip->lock (the irqchip's spinlock) covers the state; every
 * caller is in process context (port I/O from a vCPU thread, the ioctls,
 * the irqfd work, the PIT's worker). The acknowledgement notifiers of a
 * pin run after the lock is dropped, as the IOAPIC's do.
 */
#include <linux/kvm.h>
#include <asm/apicdef.h>

#include "ckvm.h"
#include "irqchip.h"

#define PIC_MASTER_CMD	0x20
#define PIC_SLAVE_CMD	0xa0
#define PIC_ELCR	0x4d0
#define PIC_CASCADE_IR	2

/* ICW1 (A0 = 0, D4 = 1), OCW2 (D4 = D3 = 0), OCW3 (D4 = 0, D3 = 1). */
#define ICW1_IC4	BIT(0)
#define ICW1_SNGL	BIT(1)
#define ICW1_LTIM	BIT(3)
#define ICW1		BIT(4)
#define OCW3		BIT(3)
#define OCW3_RIS	BIT(0)
#define OCW3_RR		BIT(1)
#define OCW3_P		BIT(2)
#define OCW3_SMM	BIT(5)
#define OCW3_ESMM	BIT(6)
#define ICW4_AEOI	BIT(1)
#define ICW4_SFNM	BIT(4)

/* OCW2's R, SL and EOI bits (datasheet, table "Operation Command Word 2"). */
enum {
	OCW2_ROTATE_AEOI_CLEAR = 0,
	OCW2_EOI = 1,
	OCW2_NOP = 2,
	OCW2_SPECIFIC_EOI = 3,
	OCW2_ROTATE_AEOI_SET = 4,
	OCW2_ROTATE_EOI = 5,
	OCW2_SET_PRIORITY = 6,
	OCW2_ROTATE_SPECIFIC_EOI = 7,
};

static bool is_master(struct ckvm_irqchip *chip, struct kvm_pic_state *s)
{
	return s == &chip->pic[0];
}

/*
 * The priority (0 highest) of the best input in @mask, with the rotation
 * of @s, or 8 if @mask is empty.
 */
static int pic_priority(struct kvm_pic_state *s, u8 mask)
{
	int prio;

	for (prio = 0; prio < 8; prio++)
		if (mask & BIT((prio + s->priority_add) & 7))
			return prio;
	return 8;
}

/*
 * The input whose request the chip would raise INT for, or -1: the best
 * unmasked request, if it beats every input in service (datasheet,
 * "Fully Nested Mode"). In special mask mode, masked inputs in service do
 * not hold lower ones back; in special fully nested mode the master lets
 * the slave interrupt again while one of its inputs is in service.
 */
static int pic_pending(struct ckvm_irqchip *chip, struct kvm_pic_state *s)
{
	u8 in_service = s->isr;
	int prio = pic_priority(s, s->irr & ~s->imr);

	if (prio == 8)
		return -1;
	if (s->special_mask)
		in_service &= ~s->imr;
	if (s->special_fully_nested_mode && is_master(chip, s))
		in_service &= ~BIT(PIC_CASCADE_IR);
	if (prio >= pic_priority(s, in_service))
		return -1;
	return (prio + s->priority_add) & 7;
}

/*
 * Drive input @irq of @s to @level. Edge-triggered inputs request on a
 * rising edge, level-triggered ones while high (ELCR).
 *
 * Return: KVM's status: -1 if the input is masked, 0 if a request was
 * already pending (coalesced), 1 otherwise.
 */
static int pic_set_input(struct kvm_pic_state *s, int irq, bool level)
{
	u8 bit = BIT(irq);
	int ret = 1;

	if (level) {
		if ((s->elcr & bit) || !(s->last_irr & bit)) {
			ret = !(s->irr & bit);
			s->irr |= bit;
		}
		s->last_irr |= bit;
	} else {
		if (s->elcr & bit)
			s->irr &= ~bit;
		s->last_irr &= ~bit;
	}
	return (s->imr & bit) ? -1 : ret;
}

/*
 * A vCPU takes the PIC's INT output on its ExtINT input: LINT0 unmasked in
 * ExtINT mode, or an APIC that is hardware-disabled, where LINT0 is the
 * INTR pin itself (SDM 11.4.3).
 */
static bool vcpu_accepts_pic(struct ckvm_vcpu *vcpu)
{
	return ckvm_lapic_accepts_extint(vcpu);
}

/*
 * Recompute the cascade and the master's INT output; chip->lock held.
 * A rising output kicks a vCPU that accepts it (the first one; KVM's
 * choice too), which acknowledges it before its next entry.
 */
static void pic_update(struct ckvm_irqchip *chip)
{
	struct ckvm *vm = chip->vm;
	bool out, was = chip->pic_output;
	int i, nr;

	lockdep_assert_held(&chip->lock);
	/*
	 * The slave's INT is the master's input 2, edge-triggered. It is a
	 * pulse at each update (as KVM's), so that a request the slave
	 * still has after an acknowledge raises a new edge: the slave drops
	 * INT during the INTA cycles it answers.
	 */
	pic_set_input(&chip->pic[0], PIC_CASCADE_IR,
		      pic_pending(chip, &chip->pic[1]) >= 0);
	pic_set_input(&chip->pic[0], PIC_CASCADE_IR, false);
	out = pic_pending(chip, &chip->pic[0]) >= 0;
	chip->pic_output = out;
	if (!out || was)
		return;
	/* Pairs with vCPU creation's release: vcpus[i < nr] are whole. */
	nr = smp_load_acquire(&vm->nr_vcpus);
	for (i = 0; i < nr; i++) {
		struct ckvm_vcpu *vcpu = vm->vcpus[i];

		if (vcpu_accepts_pic(vcpu)) {
			ckvm_make_request(vcpu, CKVM_REQ_EVENT);
			ckvm_vcpu_kick(vcpu);
			return;
		}
	}
}

/*
 * Input @irq of @s leaves the in-service register: note the pin, for the
 * acknowledgement notifiers (slave pins are 8-15, as routes name them).
 */
static void pic_clear_isr(struct ckvm_irqchip *chip, struct kvm_pic_state *s,
			  int irq, unsigned long *acked)
{
	s->isr &= ~BIT(irq);
	__set_bit(irq + (is_master(chip, s) ? 0 : 8), acked);
}

/* The interrupt acknowledge of input @irq (the first INTA pulse). */
static void pic_intack(struct ckvm_irqchip *chip, struct kvm_pic_state *s,
		       int irq, unsigned long *acked)
{
	u8 bit = BIT(irq);

	if (s->auto_eoi) {
		/* AEOI: the request is done at the end of the INTA cycles. */
		if (s->rotate_on_auto_eoi)
			s->priority_add = (irq + 1) & 7;
		__set_bit(irq + (is_master(chip, s) ? 0 : 8), acked);
	} else {
		s->isr |= bit;
	}
	/* A level-triggered request stays while its line is high. */
	if (!(s->elcr & bit))
		s->irr &= ~bit;
}

/* Tell the acknowledgement notifiers; without chip->lock. */
static void pic_notify_acked(struct ckvm *vm, unsigned long acked)
{
	int pin;

	for_each_set_bit(pin, &acked, 16)
		ckvm_notify_acked_irq(vm, pin < 8 ? KVM_IRQCHIP_PIC_MASTER :
					  KVM_IRQCHIP_PIC_SLAVE, pin);
}

/**
 * ckvm_pic_set_irq() - a source drives a PIC input (a GSI route)
 * @vm: the VM, with an in-kernel irqchip (not split).
 * @pin: 0-7 master, 8-15 slave.
 * @source: CKVM_USERSPACE_IRQ_SOURCE_ID, CKVM_IRQFD_RESAMPLE_IRQ_SOURCE_ID
 *	    or CKVM_PIT_IRQ_SOURCE_ID.
 * @level: that source's level; the input's is the OR of its sources'.
 *
 * Process context; takes chip->lock.
 *
 * Return: KVM's status for KVM_IRQ_LINE_STATUS: -1 masked, 0 coalesced,
 * 1 delivered to the chip.
 */
int ckvm_pic_set_irq(struct ckvm *vm, u32 pin, int source, int level)
{
	struct ckvm_irqchip *chip = vm->arch.irqchip;
	unsigned long *states = &chip->pic_irq_states[pin];
	int r;

	spin_lock(&chip->lock);
	if (level)
		__set_bit(source, states);
	else
		__clear_bit(source, states);
	r = pic_set_input(&chip->pic[pin >> 3], pin & 7, *states != 0);
	pic_update(chip);
	spin_unlock(&chip->lock);
	return r;
}

/**
 * ckvm_pic_has_interrupt() - does the PIC raise INT for this vCPU?
 * @vcpu: the vCPU.
 *
 * Return: true if the VM has an in-kernel PIC whose output is high and
 * the vCPU takes it on its ExtINT input.
 */
bool ckvm_pic_has_interrupt(struct ckvm_vcpu *vcpu)
{
	struct ckvm_irqchip *chip = vcpu->vm->arch.irqchip;

	return chip && !chip->split && READ_ONCE(chip->pic_output) &&
	       vcpu_accepts_pic(vcpu);
}

/**
 * ckvm_pic_read_irq() - the interrupt acknowledge cycle
 * @vm: the VM, with an in-kernel PIC.
 *
 * The vCPU that is about to take the PIC's interrupt asks for its vector:
 * the master acknowledges its best input; if that is the cascade, the
 * slave acknowledges its own. A request that went away meanwhile gives
 * the spurious vector of input 7 (datasheet, "Interrupt Sequence").
 * Process context; takes chip->lock.
 *
 * Return: the vector, 0-255.
 */
int ckvm_pic_read_irq(struct ckvm *vm)
{
	struct ckvm_irqchip *chip = vm->arch.irqchip;
	struct kvm_pic_state *m = &chip->pic[0], *sl = &chip->pic[1];
	unsigned long acked = 0;
	int irq, irq2, vector;

	spin_lock(&chip->lock);
	irq = pic_pending(chip, m);
	if (irq < 0) {
		vector = m->irq_base + 7;
	} else {
		pic_intack(chip, m, irq, &acked);
		if (irq == PIC_CASCADE_IR) {
			irq2 = pic_pending(chip, sl);
			if (irq2 >= 0)
				pic_intack(chip, sl, irq2, &acked);
			else
				irq2 = 7;
			vector = sl->irq_base + irq2;
		} else {
			vector = m->irq_base + irq;
		}
	}
	pic_update(chip);
	spin_unlock(&chip->lock);
	pic_notify_acked(vm, acked);
	return vector & 0xff;
}

/* ---- the ports ---- */

/* ICW1: initialization starts (datasheet, "Initialization Command Words"). */
static void pic_icw1(struct ckvm_irqchip *chip, struct kvm_pic_state *s,
		     u8 val, unsigned long *acked)
{
	int irq;

	if (val & (ICW1_SNGL | ICW1_LTIM))
		pr_warn_ratelimited("ckvm: 8259 ICW1 %#x: single or level-triggered mode is not emulated\n",
				    val);
	/*
	 * The edge sense circuit is reset (datasheet, "Initialization
	 * Command Words"): every input counts as low until it is raised
	 * again, and edge-triggered requests are gone. What was in service
	 * counts as acknowledged (QEMU clears the ISR; KVM keeps it).
	 */
	for (irq = 0; irq < 8; irq++)
		if (s->isr & BIT(irq))
			pic_clear_isr(chip, s, irq, acked);
	s->last_irr = 0;
	s->irr &= s->elcr;
	s->imr = 0;
	s->priority_add = 0;
	s->special_mask = 0;
	s->read_reg_select = 0;
	s->poll = 0;
	s->rotate_on_auto_eoi = 0;
	/* Without ICW4 its bits are 0. */
	s->init4 = val & ICW1_IC4;
	if (!s->init4) {
		s->special_fully_nested_mode = 0;
		s->auto_eoi = 0;
	}
	s->init_state = 1;
}

/* OCW2: EOIs, rotation and priority. */
static void pic_ocw2(struct ckvm_irqchip *chip, struct kvm_pic_state *s,
		     u8 val, unsigned long *acked)
{
	int irq, prio;

	switch (val >> 5) {
	case OCW2_ROTATE_AEOI_CLEAR:
	case OCW2_ROTATE_AEOI_SET:
		s->rotate_on_auto_eoi = val >> 7;
		break;
	case OCW2_EOI:
	case OCW2_ROTATE_EOI:
		/* Non-specific: the highest-priority input in service. */
		prio = pic_priority(s, s->isr);
		if (prio == 8)
			break;
		irq = (prio + s->priority_add) & 7;
		pic_clear_isr(chip, s, irq, acked);
		if (val >> 5 == OCW2_ROTATE_EOI)
			s->priority_add = (irq + 1) & 7;
		break;
	case OCW2_SPECIFIC_EOI:
	case OCW2_ROTATE_SPECIFIC_EOI:
		irq = val & 7;
		if (s->isr & BIT(irq))
			pic_clear_isr(chip, s, irq, acked);
		if (val >> 5 == OCW2_ROTATE_SPECIFIC_EOI)
			s->priority_add = (irq + 1) & 7;
		break;
	case OCW2_SET_PRIORITY:
		/* Input L2-L0 gets the lowest priority. */
		s->priority_add = (val + 1) & 7;
		break;
	case OCW2_NOP:
		break;
	}
}

static void pic_write_cmd(struct ckvm_irqchip *chip, struct kvm_pic_state *s,
			  u8 val, unsigned long *acked)
{
	if (val & ICW1) {
		pic_icw1(chip, s, val, acked);
	} else if (val & OCW3) {
		if (val & OCW3_P)
			s->poll = 1;
		if (val & OCW3_RR)
			s->read_reg_select = val & OCW3_RIS;
		if (val & OCW3_ESMM)
			s->special_mask = !!(val & OCW3_SMM);
	} else {
		pic_ocw2(chip, s, val, acked);
	}
}

static void pic_write_data(struct kvm_pic_state *s, u8 val)
{
	switch (s->init_state) {
	case 0:		/* OCW1: the mask */
		s->imr = val;
		break;
	case 1:		/* ICW2: the vector base, T7-T3 */
		s->irq_base = val & 0xf8;
		/* ICW3 follows: a PC's PICs are always cascaded. */
		s->init_state = 2;
		break;
	case 2:		/* ICW3: the cascade wiring, fixed in a PC */
		s->init_state = s->init4 ? 3 : 0;
		break;
	default:	/* ICW4 */
		s->special_fully_nested_mode = !!(val & ICW4_SFNM);
		s->auto_eoi = !!(val & ICW4_AEOI);
		s->init_state = 0;
		break;
	}
}

/*
 * The poll command (OCW3 P): the next read of the chip is an interrupt
 * acknowledge, and returns bit 7 set with the input's number in bits 2:0,
 * or 0 without a request (datasheet, "The Poll Command"). The slave's
 * request also leaves the master's cascade input.
 */
static u8 pic_poll(struct ckvm_irqchip *chip, struct kvm_pic_state *s,
		   unsigned long *acked)
{
	int irq = pic_pending(chip, s);

	s->poll = 0;
	if (irq < 0)
		return 0;
	pic_intack(chip, s, irq, acked);
	if (!is_master(chip, s)) {
		struct kvm_pic_state *m = &chip->pic[0];

		m->irr &= ~BIT(PIC_CASCADE_IR);
		if (m->isr & BIT(PIC_CASCADE_IR))
			pic_clear_isr(chip, m, PIC_CASCADE_IR, acked);
	}
	return 0x80 | irq;
}

static u8 pic_read(struct ckvm_irqchip *chip, struct kvm_pic_state *s,
		   bool a0, unsigned long *acked)
{
	if (s->poll)
		return pic_poll(chip, s, acked);
	if (a0)
		return s->imr;
	return s->read_reg_select ? s->isr : s->irr;
}

/*
 * chip->pic_port[] and ckvm_pic_port.which: the master, the slave (their
 * kvm_pic_state index), the ELCRs.
 */
enum { PIC_DEV_MASTER, PIC_DEV_SLAVE, PIC_DEV_ELCR };

static struct ckvm_irqchip *dev_to_chip(struct ckvm_io_device *dev, int *which)
{
	struct ckvm_pic_port *port = container_of(dev, struct ckvm_pic_port, dev);

	*which = port->which;
	return port->chip;
}

/*
 * Bus op; vCPU thread, vm->srcu held. Only byte accesses reach the chips:
 * wider ones read as 0 and write nothing, as on KVM.
 */
static int pic_port_read(struct ckvm_vcpu *vcpu, struct ckvm_io_device *dev,
			 u64 addr, int len, void *val)
{
	struct ckvm_irqchip *chip;
	unsigned long acked = 0;
	int which;
	u8 v;

	chip = dev_to_chip(dev, &which);
	if (len != 1) {
		memset(val, 0, len);
		return 0;
	}
	spin_lock(&chip->lock);
	if (which == PIC_DEV_ELCR) {
		v = chip->pic[addr & 1].elcr;
	} else {
		v = pic_read(chip, &chip->pic[which], addr & 1, &acked);
		if (acked)
			pic_update(chip);
	}
	spin_unlock(&chip->lock);
	pic_notify_acked(vcpu->vm, acked);
	*(u8 *)val = v;
	return 0;
}

static int pic_port_write(struct ckvm_vcpu *vcpu, struct ckvm_io_device *dev,
			  u64 addr, int len, const void *val)
{
	struct ckvm_irqchip *chip;
	unsigned long acked = 0;
	int which;
	u8 v = *(const u8 *)val;

	chip = dev_to_chip(dev, &which);
	if (len != 1)
		return 0;
	spin_lock(&chip->lock);
	if (which == PIC_DEV_ELCR) {
		struct kvm_pic_state *s = &chip->pic[addr & 1];

		s->elcr = v & s->elcr_mask;
	} else if (addr & 1) {
		pic_write_data(&chip->pic[which], v);
	} else {
		pic_write_cmd(chip, &chip->pic[which], v, &acked);
	}
	pic_update(chip);
	spin_unlock(&chip->lock);
	pic_notify_acked(vcpu->vm, acked);
	return 0;
}

static const struct ckvm_io_device_ops pic_ops = {
	.read = pic_port_read,
	.write = pic_port_write,
	/* No destructor: the devices are part of the irqchip. */
};

/**
 * ckvm_pic_reset() - the PICs' state at KVM_CREATE_IRQCHIP
 * @chip: the new irqchip.
 *
 * KVM's: all zero (uninitialized chips, no mask) but the ELCR masks of the
 * PIIX: IRQs 0, 1, 2, 8 and 13 are always edge-triggered.
 */
void ckvm_pic_reset(struct ckvm_irqchip *chip)
{
	memset(chip->pic, 0, sizeof(chip->pic));
	memset(chip->pic_irq_states, 0, sizeof(chip->pic_irq_states));
	chip->pic[0].elcr_mask = 0xf8;
	chip->pic[1].elcr_mask = 0xde;
	chip->pic_output = false;
}

/**
 * ckvm_pic_register_pio() - put the PICs and ELCRs on the PIO bus
 * @vm: the VM whose irqchip is being created (vm->lock held).
 * @chip: the new irqchip.
 *
 * Takes vm->slots_lock.
 *
 * Return: 0, or -ENOSPC / -ENOMEM (nothing registered then).
 */
int ckvm_pic_register_pio(struct ckvm *vm, struct ckvm_irqchip *chip)
{
	static const u16 port[] = {
		[PIC_DEV_MASTER] = PIC_MASTER_CMD,
		[PIC_DEV_SLAVE] = PIC_SLAVE_CMD,
		[PIC_DEV_ELCR] = PIC_ELCR,
	};
	int i, r = 0;

	mutex_lock(&vm->slots_lock);
	for (i = 0; i < ARRAY_SIZE(port); i++) {
		chip->pic_port[i].dev.ops = &pic_ops;
		chip->pic_port[i].chip = chip;
		chip->pic_port[i].which = i;
		r = ckvm_io_bus_register_dev(vm, CKVM_PIO_BUS, port[i], 2,
					     &chip->pic_port[i].dev);
		if (r)
			break;
	}
	if (r)
		while (i--)
			ckvm_io_bus_unregister_dev(vm, CKVM_PIO_BUS,
						   &chip->pic_port[i].dev);
	mutex_unlock(&vm->slots_lock);
	return r;
}

/**
 * ckvm_pic_unregister_pio() - take the PICs off the PIO bus
 * @vm: the VM.
 * @chip: its irqchip, whose PICs ckvm_pic_register_pio() registered.
 *
 * Takes vm->slots_lock.
 */
void ckvm_pic_unregister_pio(struct ckvm *vm, struct ckvm_irqchip *chip)
{
	int i;

	mutex_lock(&vm->slots_lock);
	for (i = 0; i < ARRAY_SIZE(chip->pic_port); i++)
		ckvm_io_bus_unregister_dev(vm, CKVM_PIO_BUS,
					   &chip->pic_port[i].dev);
	mutex_unlock(&vm->slots_lock);
}

/**
 * ckvm_pic_set_state() - KVM_SET_IRQCHIP of a PIC
 * @vm: the VM.
 * @chip: its irqchip.
 * @id: KVM_IRQCHIP_PIC_MASTER or KVM_IRQCHIP_PIC_SLAVE.
 * @s: the state, taken as it is (as KVM: no field is checked).
 *
 * Takes chip->lock; the output is recomputed (a pending request kicks).
 */
void ckvm_pic_set_state(struct ckvm *vm, struct ckvm_irqchip *chip, int id,
			const struct kvm_pic_state *s)
{
	spin_lock(&chip->lock);
	chip->pic[id] = *s;
	pic_update(chip);
	spin_unlock(&chip->lock);
}
