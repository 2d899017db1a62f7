// SPDX-License-Identifier: GPL-2.0
/*
 * The VM ioctls of the in-kernel irqchip: KVM_CREATE_IRQCHIP,
 * KVM_GET_IRQCHIP, KVM_SET_IRQCHIP and KVM_IRQ_LINE.
 *
 * Of the two 8259 PICs only the state is kept (saved and restored as
 * userspace wrote it): the PIC itself, its I/O ports and its ExtINT path
 * to LINT0 are not emulated yet. That is also why KVM_CAP_IRQCHIP is not
 * reported: a VMM that asks (QEMU does) keeps its own interrupt
 * controllers, and only programs that create the irqchip unconditionally
 * (the KVM selftests) get this one.
 */
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "ckvm.h"
#include "irqchip.h"

/* The state after creation: KVM's, i.e. all zero but the ELCR masks. */
static void pic_reset(struct ckvm_irqchip *chip)
{
	memset(chip->pic, 0, sizeof(chip->pic));
	/* Which lines may be level-triggered (PIIX ELCR). */
	chip->pic[0].elcr_mask = 0xf8;
	chip->pic[1].elcr_mask = 0xde;
}

static int irqchip_create(struct ckvm *vm)
{
	struct ckvm_irqchip *chip;
	int r = 0;

	chip = kzalloc(sizeof(*chip), GFP_KERNEL_ACCOUNT);
	if (!chip)
		return -ENOMEM;
	spin_lock_init(&chip->lock);
	pic_reset(chip);
	ckvm_ioapic_reset(chip);

	/*
	 * vm->lock: vCPU creation reads the pointer to give each a LAPIC.
	 * Freeze rules (as KVM): one irqchip per VM, and none once a vCPU
	 * exists, which would have no local APIC.
	 */
	mutex_lock(&vm->lock);
	if (vm->arch.irqchip)
		r = -EEXIST;
	else if (ckvm_vm_has_vcpus(vm))
		r = -EINVAL;
	else	/* the chip is whole before ioctls without vm->lock see it */
		smp_store_release(&vm->arch.irqchip, chip);
	mutex_unlock(&vm->lock);
	if (r)
		kfree(chip);
	return r;
}

void ckvm_irqchip_free(struct ckvm *vm)
{
	kfree(vm->arch.irqchip);
	vm->arch.irqchip = NULL;
}

static int irqchip_get(struct ckvm_irqchip *chip, struct kvm_irqchip *s)
{
	spin_lock(&chip->lock);
	switch (s->chip_id) {
	case KVM_IRQCHIP_PIC_MASTER:
	case KVM_IRQCHIP_PIC_SLAVE:
		s->chip.pic = chip->pic[s->chip_id];
		break;
	default: /* KVM_IRQCHIP_IOAPIC */
		s->chip.ioapic = chip->ioapic;
		break;
	}
	spin_unlock(&chip->lock);
	return 0;
}

static int irqchip_set(struct ckvm *vm, struct ckvm_irqchip *chip,
		       const struct kvm_irqchip *s)
{
	u32 pending;
	int pin;

	spin_lock(&chip->lock);
	switch (s->chip_id) {
	case KVM_IRQCHIP_PIC_MASTER:
	case KVM_IRQCHIP_PIC_SLAVE:
		chip->pic[s->chip_id] = s->chip.pic;
		break;
	default: /* KVM_IRQCHIP_IOAPIC */
		/*
		 * As KVM: take the entries, then raise again the pins the
		 * saved IRR says were waiting, so they reach the APICs.
		 */
		pending = s->chip.ioapic.irr;
		chip->ioapic = s->chip.ioapic;
		chip->ioapic.irr = 0;
		for (pin = 0; pin < KVM_IOAPIC_NUM_PINS; pin++)
			if (pending & BIT(pin))
				ckvm_ioapic_set_line(vm, chip, pin, true);
		break;
	}
	spin_unlock(&chip->lock);
	return 0;
}

/*
 * GSIs 0-23 are the IOAPIC's pins (KVM's default routing). KVM also
 * routes GSIs 0-15 to the PICs, which ckvm does not emulate; a GSI with
 * no route is accepted and does nothing, as in KVM.
 */
static int irq_line(struct ckvm *vm, struct ckvm_irqchip *chip,
		    const struct kvm_irq_level *line)
{
	if (line->irq >= KVM_IOAPIC_NUM_PINS)
		return 0;
	spin_lock(&chip->lock);
	ckvm_ioapic_set_line(vm, chip, line->irq, line->level);
	spin_unlock(&chip->lock);
	return 0;
}

long ckvm_irqchip_vm_ioctl(struct ckvm *vm, unsigned int ioctl,
			   unsigned long arg)
{
	/* Pairs with the release in irqchip_create(). */
	struct ckvm_irqchip *chip = smp_load_acquire(&vm->arch.irqchip);
	void __user *argp = (void __user *)arg;
	struct kvm_irq_level line;
	struct kvm_irqchip *s;
	long r;

	if (ioctl == KVM_CREATE_IRQCHIP)
		return irqchip_create(vm);
	if (ioctl == KVM_IRQ_LINE) {
		if (copy_from_user(&line, argp, sizeof(line)))
			return -EFAULT;
		if (!chip)
			return -ENXIO;
		return irq_line(vm, chip, &line);
	}

	/* KVM_GET_IRQCHIP, KVM_SET_IRQCHIP */
	s = memdup_user(argp, sizeof(*s));
	if (IS_ERR(s))
		return PTR_ERR(s);
	r = -ENXIO;
	if (!chip)
		goto out;
	r = -EINVAL;
	if (s->chip_id > KVM_IRQCHIP_IOAPIC)
		goto out;
	if (ioctl == KVM_SET_IRQCHIP) {
		r = irqchip_set(vm, chip, s);
		goto out;
	}
	r = irqchip_get(chip, s);
	if (!r && copy_to_user(argp, s, sizeof(*s)))
		r = -EFAULT;
out:
	kfree(s);
	return r;
}
