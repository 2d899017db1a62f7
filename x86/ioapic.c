// SPDX-License-Identifier: GPL-2.0
/*
 * The IOAPIC of the in-kernel irqchip: 24 input pins, each with a
 * redirection entry that turns a pin into an interrupt message for the
 * local APICs (82093AA datasheet; KVM's register layout in
 * struct kvm_ioapic_state).
 *
 * Userspace drives the pins (KVM_IRQ_LINE) and may program the entries
 * (KVM_SET_IRQCHIP); the guest programs them through the register window
 * at IO_APIC_DEFAULT_PHYS_BASE, a device on the MMIO bus: IOREGSEL at
 * offset 0x00 selects a register, IOWIN at 0x10 reads or writes it
 * (82093AA 3.1). Registers: 0x00 ID, 0x01 version, 0x02 arbitration ID,
 * 0x10 + 2n and 0x11 + 2n the low and high halves of entry n.
 *
 * irr bit n is the level of input pin n, as in KVM. An edge-triggered
 * pin sends its message on each rising edge; a level-triggered one when
 * the line is high and Remote IRR is clear, which it sets until the EOI,
 * and then sends again if the line is still high.
 */
#include <linux/kvm.h>
#include <asm/apicdef.h>

#include "ckvm.h"
#include "irqchip.h"

void ckvm_ioapic_reset(struct ckvm_irqchip *chip)
{
	int i;

	memset(&chip->ioapic, 0, sizeof(chip->ioapic));
	chip->ioapic.base_address = IO_APIC_DEFAULT_PHYS_BASE;
	for (i = 0; i < KVM_IOAPIC_NUM_PINS; i++)
		chip->ioapic.redirtbl[i].fields.mask = 1;
}

/*
 * Send pin @pin's message if its entry lets it through; chip->lock held.
 * Returns -1 if the entry is masked or waits for an EOI (Remote IRR),
 * else how many local APICs took it.
 */
static int ioapic_service(struct ckvm *vm, struct ckvm_irqchip *chip, int pin)
{
	typeof(chip->ioapic.redirtbl[0]) *e =
			&chip->ioapic.redirtbl[pin];
	struct ckvm_irq irq = {
		.dest = e->fields.dest_id,
		.broadcast = 0xff,
		.logical = e->fields.dest_mode,
		.delivery = e->fields.delivery_mode << 8,
		.vector = e->fields.vector,
		.level = e->fields.trig_mode,
		.assert = true,
	};
	int n;

	lockdep_assert_held(&chip->lock);
	if (e->fields.mask || (irq.level && e->fields.remote_irr))
		return -1;
	n = ckvm_lapic_deliver(vm, NULL, &irq);
	if (irq.level && n > 0)
		e->fields.remote_irr = 1;
	return n;
}

/**
 * ckvm_ioapic_set_line() - drive an IOAPIC input pin
 * @vm: the VM.
 * @chip: its irqchip; the caller holds chip->lock.
 * @pin: 0 to KVM_IOAPIC_NUM_PINS - 1.
 * @level: the pin's new level.
 *
 * An edge-triggered pin sends on a rising edge only, a level-triggered
 * one whenever it is driven high (and its entry lets it through).
 *
 * Return: KVM's status: 1 for a lowered line; 0 for a rising edge that
 * was not one (coalesced); else what ioapic_service() returned.
 */
int ckvm_ioapic_set_line(struct ckvm *vm, struct ckvm_irqchip *chip, int pin,
			 bool level)
{
	u32 bit = BIT(pin);
	bool was = chip->ioapic.irr & bit;

	lockdep_assert_held(&chip->lock);
	if (!level) {
		chip->ioapic.irr &= ~bit;
		return 1;
	}
	chip->ioapic.irr |= bit;
	/* Edge-triggered: only a rising edge is an interrupt. */
	if (!chip->ioapic.redirtbl[pin].fields.trig_mode && was)
		return 0;
	return ioapic_service(vm, chip, pin);
}

/**
 * ckvm_ioapic_set_irq() - a source drives an IOAPIC pin (a GSI route)
 * @vm: the VM, with an in-kernel irqchip.
 * @pin: 0 to KVM_IOAPIC_NUM_PINS - 1.
 * @source: CKVM_USERSPACE_IRQ_SOURCE_ID or CKVM_IRQFD_RESAMPLE_IRQ_SOURCE_ID.
 * @level: that source's level.
 *
 * The pin's level is the OR of its sources'. Process context; takes
 * chip->lock.
 *
 * Return: as ckvm_ioapic_set_line().
 */
int ckvm_ioapic_set_irq(struct ckvm *vm, u32 pin, int source, int level)
{
	struct ckvm_irqchip *chip = vm->arch.irqchip;
	unsigned long *states = &chip->irq_states[pin];
	int r;

	spin_lock(&chip->lock);
	if (level)
		__set_bit(source, states);
	else
		__clear_bit(source, states);
	r = ckvm_ioapic_set_line(vm, chip, pin, *states != 0);
	spin_unlock(&chip->lock);
	return r;
}

/**
 * ckvm_ioapic_update_eoi_vectors() - which EOIs the IOAPIC must see
 * @chip: the irqchip; chip->lock held.
 *
 * The vectors of level-triggered entries, and of edge-triggered ones
 * whose pin's GSI has an acknowledgement notifier (KVM tells those of
 * edge-triggered EOIs too: the PIT counts its ticks by them). Called
 * when an entry, the routes or the notifiers change.
 */
void ckvm_ioapic_update_eoi_vectors(struct ckvm_irqchip *chip)
{
	struct ckvm *vm = chip->vm;
	int pin, idx;

	lockdep_assert_held(&chip->lock);
	bitmap_zero(chip->eoi_vectors, 256);
	idx = srcu_read_lock(&vm->irq_srcu);
	for (pin = 0; pin < KVM_IOAPIC_NUM_PINS; pin++) {
		typeof(chip->ioapic.redirtbl[0]) *e = &chip->ioapic.redirtbl[pin];

		if (e->fields.trig_mode ||
		    ckvm_irq_has_ack_notifier(vm, KVM_IRQCHIP_IOAPIC, pin))
			__set_bit(e->fields.vector, chip->eoi_vectors);
	}
	srcu_read_unlock(&vm->irq_srcu, idx);
}

/*
 * A local APIC took the EOI of @vector, level-triggered or one of
 * eoi_vectors: the entries with that vector may send again. First the
 * GSIs' acknowledgement notifiers run, without chip->lock (a resampling
 * irqfd lowers its line there, so the pin does not send again at once;
 * the PIT sends its next tick); then Remote IRR of the level-triggered
 * ones is cleared and a pin whose line is still high sends again.
 */
void ckvm_ioapic_eoi(struct ckvm *vm, u8 vector)
{
	struct ckvm_irqchip *chip = vm->arch.irqchip;
	unsigned long pins = 0;
	int pin;

	spin_lock(&chip->lock);
	for (pin = 0; pin < KVM_IOAPIC_NUM_PINS; pin++) {
		typeof(chip->ioapic.redirtbl[0]) *e =
			&chip->ioapic.redirtbl[pin];

		if (e->fields.vector == vector)
			__set_bit(pin, &pins);
	}
	spin_unlock(&chip->lock);
	if (!pins)
		return;

	for_each_set_bit(pin, &pins, KVM_IOAPIC_NUM_PINS)
		ckvm_notify_acked_irq(vm, KVM_IRQCHIP_IOAPIC, pin);

	spin_lock(&chip->lock);
	for_each_set_bit(pin, &pins, KVM_IOAPIC_NUM_PINS) {
		typeof(chip->ioapic.redirtbl[0]) *e =
			&chip->ioapic.redirtbl[pin];

		/* Reprogrammed meanwhile: not this EOI's any more. */
		if (e->fields.vector != vector || !e->fields.trig_mode)
			continue;
		e->fields.remote_irr = 0;
		if (chip->ioapic.irr & BIT(pin))
			ioapic_service(vm, chip, pin);
	}
	spin_unlock(&chip->lock);
}

/* ---- the register window ---- */

/* Version 0x11 with 24 entries, as KVM's. */
#define IOAPIC_VERSION	(0x11 | ((KVM_IOAPIC_NUM_PINS - 1) << 16))

static struct ckvm_irqchip *to_chip(struct ckvm_io_device *dev)
{
	return container_of(dev, struct ckvm_irqchip, ioapic_dev);
}

/* The register IOREGSEL selects; chip->lock held. */
static u32 ioapic_read_indirect(struct ckvm_irqchip *chip)
{
	u32 sel = chip->ioapic.ioregsel, pin = (sel - 0x10) >> 1;
	u64 e = ~0ULL;	/* what a register beyond the entries reads */

	switch (sel) {
	case 0x00:	/* ID */
	case 0x02:	/* arbitration ID: the ID, as in KVM */
		return (chip->ioapic.id & 0xf) << 24;
	case 0x01:
		return IOAPIC_VERSION;
	}
	if (sel >= 0x10 && pin < KVM_IOAPIC_NUM_PINS)
		e = chip->ioapic.redirtbl[pin].bits;
	return (sel & 1) ? e >> 32 : (u32)e;
}

/*
 * Write the register IOREGSEL selects; chip->lock held. In an entry,
 * Remote IRR and delivery status are read-only; an edge-triggered entry
 * clears Remote IRR (Linux relies on it as an EOI); a level-triggered
 * one whose line is high sends at once.
 */
static void ioapic_write_indirect(struct ckvm_irqchip *chip, u32 val)
{
	u32 sel = chip->ioapic.ioregsel, pin = (sel - 0x10) >> 1;
	typeof(chip->ioapic.redirtbl[0]) *e, old;

	if (sel == 0x00) {
		chip->ioapic.id = (val >> 24) & 0xf;
		return;
	}
	if (sel < 0x10 || pin >= KVM_IOAPIC_NUM_PINS)
		return;		/* version, arbitration ID, nothing: read-only */
	e = &chip->ioapic.redirtbl[pin];
	old = *e;
	if (sel & 1)
		e->bits = (u32)e->bits | (u64)val << 32;
	else
		e->bits = (e->bits & ~0xffffffffULL) | val;
	e->fields.remote_irr = old.fields.remote_irr;
	e->fields.delivery_status = old.fields.delivery_status;
	if (e->fields.vector != old.fields.vector ||
	    e->fields.trig_mode != old.fields.trig_mode)
		ckvm_ioapic_update_eoi_vectors(chip);
	if (!e->fields.trig_mode)
		e->fields.remote_irr = 0;
	else if (chip->ioapic.irr & BIT(pin))
		ioapic_service(chip->vm, chip, pin);
}

static bool ioapic_window_covers(struct ckvm_irqchip *chip, u64 addr)
{
	u64 base = chip->ioapic.base_address;

	return addr >= base && addr - base < IOAPIC_MEM_LENGTH;
}

/* Bus op; vCPU thread, vm->srcu held. Other offsets read as 0. */
static int ioapic_mmio_read(struct ckvm_vcpu *vcpu, struct ckvm_io_device *dev,
			    u64 addr, int len, void *val)
{
	struct ckvm_irqchip *chip = to_chip(dev);
	u64 v = 0;

	spin_lock(&chip->lock);
	if (!ioapic_window_covers(chip, addr)) {
		/* KVM_SET_IRQCHIP moved the base away (as KVM: it vanishes). */
		spin_unlock(&chip->lock);
		return -EOPNOTSUPP;
	}
	switch (addr - chip->ioapic.base_address) {
	case 0x00:
		v = chip->ioapic.ioregsel;
		break;
	case 0x10:
		v = ioapic_read_indirect(chip);
		break;
	}
	spin_unlock(&chip->lock);
	memcpy(val, &v, len);
	return 0;
}

/* Bus op; vCPU thread, vm->srcu held. Other offsets ignore writes. */
static int ioapic_mmio_write(struct ckvm_vcpu *vcpu, struct ckvm_io_device *dev,
			     u64 addr, int len, const void *val)
{
	struct ckvm_irqchip *chip = to_chip(dev);
	u32 v = 0;

	/* A wider write gives its low 32 bits (as KVM). */
	memcpy(&v, val, min(len, 4));
	spin_lock(&chip->lock);
	if (!ioapic_window_covers(chip, addr)) {
		spin_unlock(&chip->lock);
		return -EOPNOTSUPP;
	}
	switch (addr - chip->ioapic.base_address) {
	case 0x00:
		chip->ioapic.ioregsel = v & 0xff;
		break;
	case 0x10:
		ioapic_write_indirect(chip, v);
		break;
	}
	spin_unlock(&chip->lock);
	return 0;
}

static const struct ckvm_io_device_ops ioapic_mmio_ops = {
	.read = ioapic_mmio_read,
	.write = ioapic_mmio_write,
	/* No destructor: the chip is freed with the VM's irqchip. */
};

/**
 * ckvm_ioapic_register_mmio() - put the IOAPIC's window on the MMIO bus
 * @vm: the VM, whose irqchip is being created (vm->lock held, no vCPU yet).
 * @chip: the new irqchip.
 *
 * At IO_APIC_DEFAULT_PHYS_BASE, as KVM: a base_address changed later by
 * KVM_SET_IRQCHIP does not move it. Takes vm->slots_lock.
 *
 * Return: 0, -ENOSPC (the bus is full of coalesced zones) or -ENOMEM.
 */
int ckvm_ioapic_register_mmio(struct ckvm *vm, struct ckvm_irqchip *chip)
{
	int r;

	chip->vm = vm;
	chip->ioapic_dev.ops = &ioapic_mmio_ops;
	mutex_lock(&vm->slots_lock);
	r = ckvm_io_bus_register_dev(vm, CKVM_MMIO_BUS, IO_APIC_DEFAULT_PHYS_BASE,
				     IOAPIC_MEM_LENGTH, &chip->ioapic_dev);
	mutex_unlock(&vm->slots_lock);
	return r;
}
