// SPDX-License-Identifier: GPL-2.0
/*
 * The VM ioctls of the in-kernel irqchip: KVM_CREATE_IRQCHIP,
 * KVM_GET_IRQCHIP, KVM_SET_IRQCHIP, KVM_IRQ_LINE, KVM_IRQ_LINE_STATUS and
 * KVM_SIGNAL_MSI; and x86's side of GSI routing (irq_routing.c): what an
 * irqchip or MSI route does, and KVM's default routes.
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
#include <asm/apicdef.h>

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

/* ---- routes ---- */

/*
 * The 8259 PICs' input pins (0-7 master, 8-15 slave): the hook for the
 * PIC, which ckvm does not emulate yet. Until then a PIC route, like one
 * of KVM's default routes for GSIs 0-15, acts on nothing.
 */
static int pic_set_irq(struct ckvm *vm, const struct ckvm_irq_route *e,
		       int source, int level, bool line_status)
{
	return -1;
}

static int ioapic_set_irq(struct ckvm *vm, const struct ckvm_irq_route *e,
			  int source, int level, bool line_status)
{
	return ckvm_ioapic_set_irq(vm, e->irqchip.pin, source, level);
}

/*
 * An MSI (SDM 11.11): destination ID in address bits 19:12, logical
 * destination in bit 2; vector, delivery mode and trigger mode in the
 * data. Without KVM_CAP_X2APIC_API the destination is 8 bits (0xff:
 * broadcast) and address_hi is not looked at.
 */
static void msi_to_irq(const struct ckvm_irq_route *e, struct ckvm_irq *irq)
{
	*irq = (struct ckvm_irq) {
		.dest = (e->msi.address_lo >> 12) & 0xff,
		.broadcast = 0xff,
		.logical = e->msi.address_lo & BIT(2),
		.delivery = e->msi.data & APIC_MODE_MASK,
		.vector = e->msi.data & APIC_VECTOR_MASK,
		.level = e->msi.data & BIT(15),
	};
}

/* Any context: the local APICs only set bits and kick. */
static int msi_set_irq(struct ckvm *vm, const struct ckvm_irq_route *e,
		       int source, int level, bool line_status)
{
	struct ckvm_irq irq;

	if (!level)
		return -1;	/* an MSI has no level to lower */
	msi_to_irq(e, &irq);
	return ckvm_lapic_deliver(vm, NULL, &irq);
}

/**
 * ckvm_arch_irqchip_in_kernel() - has the VM an in-kernel irqchip?
 * @vm: the VM.
 *
 * Return: true once KVM_CREATE_IRQCHIP has succeeded.
 */
bool ckvm_arch_irqchip_in_kernel(struct ckvm *vm)
{
	/* Pairs with the release in irqchip_create(). */
	return smp_load_acquire(&vm->arch.irqchip);
}

/**
 * ckvm_arch_set_routing_entry() - check one KVM_SET_GSI_ROUTING entry
 * @vm: the VM.
 * @e: the route being built (gsi and type set): gets its set operation.
 * @ue: the entry as userspace gave it.
 *
 * KVM's x86 rules: an irqchip route names a PIC pin 0-7 or an IOAPIC
 * pin 0-23 (a slave PIC pin is kept as 8-15); an MSI route is taken as
 * it is. Hyper-V SINT and Xen event channel routes are not offered.
 *
 * Return: 0 or -EINVAL.
 */
int ckvm_arch_set_routing_entry(struct ckvm *vm, struct ckvm_irq_route *e,
				const struct kvm_irq_routing_entry *ue)
{
	switch (ue->type) {
	case KVM_IRQ_ROUTING_IRQCHIP:
		e->irqchip.irqchip = ue->u.irqchip.irqchip;
		e->irqchip.pin = ue->u.irqchip.pin;
		switch (ue->u.irqchip.irqchip) {
		case KVM_IRQCHIP_PIC_MASTER:
		case KVM_IRQCHIP_PIC_SLAVE:
			if (ue->u.irqchip.pin >= 8)
				return -EINVAL;
			if (ue->u.irqchip.irqchip == KVM_IRQCHIP_PIC_SLAVE)
				e->irqchip.pin += 8;
			e->set = pic_set_irq;
			return 0;
		case KVM_IRQCHIP_IOAPIC:
			if (ue->u.irqchip.pin >= KVM_IOAPIC_NUM_PINS)
				return -EINVAL;
			e->set = ioapic_set_irq;
			return 0;
		default:
			return -EINVAL;
		}
	case KVM_IRQ_ROUTING_MSI:
		e->msi.address_lo = ue->u.msi.address_lo;
		e->msi.address_hi = ue->u.msi.address_hi;
		e->msi.data = ue->u.msi.data;
		e->set = msi_set_irq;
		return 0;
	default:
		return -EINVAL;
	}
}

/**
 * ckvm_arch_set_irq_inatomic() - raise a route where sleeping and the
 * irqchip's lock are not allowed (an irqfd's wakeup)
 * @vm: the VM.
 * @e: the route (type 0: none or several).
 *
 * Return: 0 if it was delivered (an MSI), -EWOULDBLOCK if it needs
 * process context (ckvm_set_irq()).
 */
int ckvm_arch_set_irq_inatomic(struct ckvm *vm, const struct ckvm_irq_route *e)
{
	if (e->type != KVM_IRQ_ROUTING_MSI)
		return -EWOULDBLOCK;
	msi_set_irq(vm, e, CKVM_USERSPACE_IRQ_SOURCE_ID, 1, false);
	return 0;
}

/*
 * KVM's default routes (KVM_CREATE_IRQCHIP): GSI n is IOAPIC pin n for
 * n < 24, and GSIs 0-15 also go to the PICs' pins (master 0-7, slave
 * 0-7).
 */
static int set_default_routing(struct ckvm *vm)
{
	struct kvm_irq_routing_entry *e;
	u32 gsi, n = 0;
	int r;

	e = kcalloc(KVM_IOAPIC_NUM_PINS + 16, sizeof(*e), GFP_KERNEL);
	if (!e)
		return -ENOMEM;
	for (gsi = 0; gsi < KVM_IOAPIC_NUM_PINS; gsi++) {
		e[n].gsi = gsi;
		e[n].type = KVM_IRQ_ROUTING_IRQCHIP;
		e[n].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
		e[n++].u.irqchip.pin = gsi;
		if (gsi >= 16)
			continue;
		e[n].gsi = gsi;
		e[n].type = KVM_IRQ_ROUTING_IRQCHIP;
		e[n].u.irqchip.irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER :
						   KVM_IRQCHIP_PIC_SLAVE;
		e[n++].u.irqchip.pin = gsi % 8;
	}
	r = ckvm_set_irq_routing(vm, e, n);
	kfree(e);
	return r;
}

/* ---- ioctls ---- */

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
	else
		r = ckvm_ioapic_register_mmio(vm, chip);
	if (!r) {
		/* As KVM, the routes exist before the chip is seen. */
		r = set_default_routing(vm);
		if (r) {
			mutex_lock(&vm->slots_lock);
			ckvm_io_bus_unregister_dev(vm, CKVM_MMIO_BUS,
						   &chip->ioapic_dev);
			mutex_unlock(&vm->slots_lock);
		}
	}
	if (!r)	/* the chip is whole before ioctls without vm->lock see it */
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
 * KVM_SIGNAL_MSI: -EINVAL without an in-kernel irqchip or with flags but
 * KVM_MSI_VALID_DEVID (as KVM; the device ID means nothing on x86).
 * Returns how many local APICs took it, or -1 (-EPERM to userspace, as
 * KVM) if the VM has no local APIC.
 */
static int signal_msi(struct ckvm *vm, const struct kvm_msi *msi)
{
	struct ckvm_irq_route e = {
		.type = KVM_IRQ_ROUTING_MSI,
		.msi = {
			.address_lo = msi->address_lo,
			.address_hi = msi->address_hi,
			.data = msi->data,
		},
	};

	if (!ckvm_arch_irqchip_in_kernel(vm) ||
	    (msi->flags & ~KVM_MSI_VALID_DEVID))
		return -EINVAL;
	return msi_set_irq(vm, &e, CKVM_USERSPACE_IRQ_SOURCE_ID, 1, false);
}

long ckvm_irqchip_vm_ioctl(struct ckvm *vm, unsigned int ioctl,
			   unsigned long arg)
{
	/* Pairs with the release in irqchip_create(). */
	struct ckvm_irqchip *chip = smp_load_acquire(&vm->arch.irqchip);
	void __user *argp = (void __user *)arg;
	struct kvm_irq_level line;
	struct kvm_irqchip *s;
	struct kvm_msi msi;
	long r;

	if (ioctl == KVM_CREATE_IRQCHIP)
		return irqchip_create(vm);
	if (ioctl == KVM_IRQ_LINE || ioctl == KVM_IRQ_LINE_STATUS) {
		/* Through the GSI routes; a GSI without one does nothing. */
		if (copy_from_user(&line, argp, sizeof(line)))
			return -EFAULT;
		if (!chip)
			return -ENXIO;
		line.status = ckvm_set_irq(vm, CKVM_USERSPACE_IRQ_SOURCE_ID,
					   line.irq, line.level,
					   ioctl == KVM_IRQ_LINE_STATUS);
		if (ioctl == KVM_IRQ_LINE_STATUS &&
		    copy_to_user(argp, &line, sizeof(line)))
			return -EFAULT;
		return 0;
	}
	if (ioctl == KVM_SIGNAL_MSI) {
		if (copy_from_user(&msi, argp, sizeof(msi)))
			return -EFAULT;
		return signal_msi(vm, &msi);
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
