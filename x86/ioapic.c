// SPDX-License-Identifier: GPL-2.0
/*
 * The IOAPIC of the in-kernel irqchip: 24 input pins, each with a
 * redirection entry that turns a pin into an interrupt message for the
 * local APICs (82093AA datasheet; KVM's register layout in
 * struct kvm_ioapic_state).
 *
 * Userspace drives the pins (KVM_IRQ_LINE) and programs the entries
 * (KVM_SET_IRQCHIP). The guest's own window at IO_APIC_DEFAULT_PHYS_BASE
 * needs MMIO emulation, which ckvm does not have yet.
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

/* Send pin @pin's message if its entry lets it through; chip->lock held. */
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
	};
	int n;

	lockdep_assert_held(&chip->lock);
	if (e->fields.mask || (irq.level && e->fields.remote_irr))
		return 0;
	n = ckvm_lapic_deliver(vm, NULL, &irq);
	if (n < 0)
		pr_warn_ratelimited("ckvm: IOAPIC pin %d: delivery mode %#x is not emulated\n",
				    pin, irq.delivery);
	if (irq.level && n > 0)
		e->fields.remote_irr = 1;
	return n;
}

/*
 * Drive pin @pin to @level; chip->lock held. Returns how many local APICs
 * took an interrupt because of it.
 */
int ckvm_ioapic_set_line(struct ckvm *vm, struct ckvm_irqchip *chip, int pin,
			 bool level)
{
	u32 bit = BIT(pin);
	bool was = chip->ioapic.irr & bit;

	lockdep_assert_held(&chip->lock);
	if (!level) {
		chip->ioapic.irr &= ~bit;
		return 0;
	}
	chip->ioapic.irr |= bit;
	/* Edge-triggered: only a rising edge is an interrupt. */
	if (!chip->ioapic.redirtbl[pin].fields.trig_mode && was)
		return 0;
	return ioapic_service(vm, chip, pin);
}

/*
 * A local APIC took the EOI of a level-triggered @vector: the entries
 * with that vector may send again.
 */
void ckvm_ioapic_eoi(struct ckvm *vm, u8 vector)
{
	struct ckvm_irqchip *chip = vm->arch.irqchip;
	int pin;

	spin_lock(&chip->lock);
	for (pin = 0; pin < KVM_IOAPIC_NUM_PINS; pin++) {
		typeof(chip->ioapic.redirtbl[0]) *e =
			&chip->ioapic.redirtbl[pin];

		if (e->fields.vector != vector || !e->fields.trig_mode)
			continue;
		e->fields.remote_irr = 0;
		if (chip->ioapic.irr & BIT(pin))
			ioapic_service(vm, chip, pin);
	}
	spin_unlock(&chip->lock);
}
