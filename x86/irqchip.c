// SPDX-License-Identifier: GPL-2.0
/*
 * The VM ioctls of the in-kernel irqchip: KVM_CREATE_IRQCHIP,
 * KVM_GET_IRQCHIP, KVM_SET_IRQCHIP, KVM_IRQ_LINE, KVM_IRQ_LINE_STATUS and
 * KVM_SIGNAL_MSI; and x86's side of GSI routing (irq_routing.c): what an
 * irqchip or MSI route does, and KVM's default routes.
 *
 * The chips themselves are x86/lapic.c, x86/ioapic.c and x86/i8259.c.
 */
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/apicdef.h>

#include "ckvm.h"
#include "irqchip.h"

/* ---- routes ---- */

/* The 8259 PICs' input pins (0-7 master, 8-15 slave). */
static int pic_set_irq(struct ckvm *vm, const struct ckvm_irq_route *e,
		       int source, int level, bool line_status)
{
	return ckvm_pic_set_irq(vm, e->irqchip.pin, source, level);
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
		.assert = true,
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
 * ckvm_irqchip_split() - has the VM a split irqchip?
 * @vm: the VM.
 *
 * Return: true after KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP): the local
 * APICs are in the kernel, the IOAPIC and the PICs in userspace.
 */
bool ckvm_irqchip_split(struct ckvm *vm)
{
	struct ckvm_irqchip *chip = ckvm_arch_irqchip_in_kernel(vm) ?
				    vm->arch.irqchip : NULL;

	return chip && chip->split;
}

/**
 * ckvm_arch_irqfd_allowed() - may an irqfd be assigned?
 * @vm: the VM.
 * @resample: a resampling irqfd (KVM_IRQFD_FLAG_RESAMPLE).
 *
 * KVM's rule: any in-kernel irqchip for an irqfd; for a resampling one,
 * whose line must be held until the EOI, an in-kernel IOAPIC and PIC
 * (not a split irqchip).
 *
 * Return: true if allowed.
 */
bool ckvm_arch_irqfd_allowed(struct ckvm *vm, bool resample)
{
	if (!ckvm_arch_irqchip_in_kernel(vm))
		return false;
	return !resample || !ckvm_irqchip_split(vm);
}

/**
 * ckvm_arch_set_routing_entry() - check one KVM_SET_GSI_ROUTING entry
 * @vm: the VM.
 * @e: the route being built (gsi and type set): gets its set operation.
 * @ue: the entry as userspace gave it.
 *
 * KVM's x86 rules: an irqchip route names a PIC pin 0-7 or an IOAPIC
 * pin 0-23 (a slave PIC pin is kept as 8-15), and there is none with a
 * split irqchip, whose PICs and IOAPIC are userspace's; an MSI route is
 * taken as it is. Hyper-V SINT and Xen event channel routes are not
 * offered.
 *
 * Return: 0 or -EINVAL.
 */
int ckvm_arch_set_routing_entry(struct ckvm *vm, struct ckvm_irq_route *e,
				const struct kvm_irq_routing_entry *ue)
{
	switch (ue->type) {
	case KVM_IRQ_ROUTING_IRQCHIP:
		if (ckvm_irqchip_split(vm))
			return -EINVAL;
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

/**
 * ckvm_arch_irq_routing_update() - the routes or ack notifiers changed
 * @vm: the VM; vm->irq_lock held.
 *
 * Which edge-triggered EOIs the IOAPIC must see depends on both.
 */
void ckvm_arch_irq_routing_update(struct ckvm *vm)
{
	struct ckvm_irqchip *chip = vm->arch.irqchip;

	lockdep_assert_held(&vm->irq_lock);
	if (!chip || chip->split)
		return;
	spin_lock(&chip->lock);
	ckvm_ioapic_update_eoi_vectors(chip);
	spin_unlock(&chip->lock);
}

/**
 * ckvm_irqchip_eoi() - a local APIC retired a vector
 * @vcpu: its vCPU, in its own thread.
 * @vector: the vector that left ISR.
 * @level: its TMR bit: it was level-triggered.
 *
 * The in-kernel IOAPIC sees the EOIs it asked for (level-triggered
 * vectors, and the edge-triggered ones of eoi_vectors). With a split
 * irqchip the EOI of a level-triggered vector of the userspace IOAPIC's
 * MSI routes (the GSIs below nr_reserved_ioapic_pins) goes to userspace:
 * the vCPU's next entry becomes KVM_EXIT_IOAPIC_EOI instead.
 */
void ckvm_irqchip_eoi(struct ckvm_vcpu *vcpu, u8 vector, bool level)
{
	struct ckvm *vm = vcpu->vm;
	struct ckvm_irqchip *chip = vm->arch.irqchip;
	int idx;

	if (chip->split) {
		if (!level)
			return;
		idx = srcu_read_lock(&vm->irq_srcu);
		if (ckvm_irq_reserved_level_msi(vm, chip->nr_reserved_ioapic_pins,
						vector))
			vcpu->arch.pending_ioapic_eoi = vector;
		srcu_read_unlock(&vm->irq_srcu, idx);
		return;
	}
	if (level || test_bit(vector, chip->eoi_vectors))
		ckvm_ioapic_eoi(vm, vector);
}

/* ---- what the run loop injects ---- */

/**
 * ckvm_cpu_has_interrupt() - has the in-kernel irqchip an interrupt for the vCPU?
 * @vcpu: the vCPU, in its own thread.
 *
 * An ExtINT (the PIC's output through LINT0, or in split mode the vector
 * userspace's PIC gave with KVM_INTERRUPT) comes before the local
 * APIC's highest pending vector above its priority, as in KVM. Whether
 * the guest can take it now (RFLAGS.IF, shadows) is the caller's.
 *
 * Return: true if ckvm_cpu_get_interrupt() would give a vector.
 */
bool ckvm_cpu_has_interrupt(struct ckvm_vcpu *vcpu)
{
	if (!vcpu->arch.lapic)
		return false;
	if (ckvm_pic_has_interrupt(vcpu))
		return true;
	if (vcpu->arch.pending_extint >= 0 && ckvm_lapic_accepts_extint(vcpu))
		return true;
	return ckvm_lapic_pending_vector(vcpu) >= 0;
}

/**
 * ckvm_cpu_get_interrupt() - take that interrupt for injection
 * @vcpu: the vCPU, in its own thread, about to inject.
 *
 * ExtINT: the PIC's interrupt acknowledge gives the vector (or the split
 * mode's queued vector is taken); else the local APIC's vector moves from
 * IRR to ISR.
 *
 * Return: the vector, or -1 if there is none.
 */
int ckvm_cpu_get_interrupt(struct ckvm_vcpu *vcpu)
{
	int vector;

	if (!vcpu->arch.lapic)
		return -1;
	if (ckvm_pic_has_interrupt(vcpu))
		return ckvm_pic_read_irq(vcpu->vm);
	if (vcpu->arch.pending_extint >= 0 && ckvm_lapic_accepts_extint(vcpu)) {
		vector = vcpu->arch.pending_extint;
		vcpu->arch.pending_extint = -1;
		return vector;
	}
	vector = ckvm_lapic_pending_vector(vcpu);
	if (vector >= 0)
		ckvm_lapic_ack(vcpu, vector);
	return vector;
}

/* Is irqchip input @pin (a route's) masked? chip->lock held. */
static bool route_masked(struct ckvm_irqchip *chip, const struct ckvm_irq_route *e)
{
	u32 pin = e->irqchip.pin;

	if (e->irqchip.irqchip == KVM_IRQCHIP_IOAPIC)
		return chip->ioapic.redirtbl[pin].fields.mask;
	return chip->pic[pin >> 3].imr & BIT(pin & 7);
}

/**
 * ckvm_irqchip_gsi_masked() - can no interrupt controller take this GSI?
 * @vm: the VM, with an in-kernel irqchip (not split).
 * @gsi: the GSI.
 *
 * The PIT asks it for GSI 0: ticks that every chip masks are dropped
 * (KVM learns the same from its mask notifiers). Process context; takes
 * chip->lock.
 *
 * Return: true if the GSI has no route, or only irqchip routes whose
 * inputs are all masked (an IOAPIC entry's mask bit, a PIC's IMR bit).
 */
bool ckvm_irqchip_gsi_masked(struct ckvm *vm, u32 gsi)
{
	struct ckvm_irqchip *chip = vm->arch.irqchip;
	struct ckvm_irq_route routes[CKVM_NR_IRQCHIPS];
	bool masked = true;
	int i, n, idx;

	idx = srcu_read_lock(&vm->irq_srcu);
	n = ckvm_irq_map_gsi(vm, gsi, routes);
	srcu_read_unlock(&vm->irq_srcu, idx);
	if (!chip || !n)
		return true;
	spin_lock(&chip->lock);
	for (i = 0; i < n && masked; i++)
		masked = routes[i].type == KVM_IRQ_ROUTING_IRQCHIP &&
			 route_masked(chip, &routes[i]);
	spin_unlock(&chip->lock);
	return masked;
}

/**
 * ckvm_irqchip_queue_extint() - KVM_INTERRUPT with a split irqchip
 * @vcpu: the vCPU, under vcpu->mutex.
 * @vector: the vector userspace's PIC acknowledged for it.
 *
 * With the PICs in userspace (KVM_CAP_SPLIT_IRQCHIP) KVM_INTERRUPT gives
 * the vector of an ExtINT, which the vCPU takes through LINT0 like the
 * in-kernel PIC's. Without any in-kernel irqchip KVM_INTERRUPT is not
 * this function's (the interrupt is queued for injection directly).
 *
 * Return: 0; -ENXIO when the PIC is in the kernel (as KVM); -EEXIST when
 * an earlier vector was not taken yet (as KVM).
 */
int ckvm_irqchip_queue_extint(struct ckvm_vcpu *vcpu, u8 vector)
{
	struct ckvm_irqchip *chip = vcpu->vm->arch.irqchip;

	if (!chip || !chip->split)
		return -ENXIO;
	if (vcpu->arch.pending_extint >= 0)
		return -EEXIST;
	vcpu->arch.pending_extint = vector;
	ckvm_make_request(vcpu, CKVM_REQ_EVENT);
	return 0;
}

/* ---- ioctls ---- */

/*
 * KVM_CREATE_IRQCHIP (@split false), or KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP)
 * with @nr_reserved IOAPIC routes (@split true): only the local APICs,
 * no PIC or IOAPIC devices, and no routes at all (userspace sets its
 * MSI routes).
 */
static int irqchip_create(struct ckvm *vm, bool split, u32 nr_reserved)
{
	struct ckvm_irqchip *chip;
	int r = 0;

	chip = kzalloc(sizeof(*chip), GFP_KERNEL_ACCOUNT);
	if (!chip)
		return -ENOMEM;
	spin_lock_init(&chip->lock);
	chip->vm = vm;
	chip->split = split;
	chip->nr_reserved_ioapic_pins = nr_reserved;
	ckvm_pic_reset(chip);
	ckvm_ioapic_reset(chip);

	/*
	 * vm->lock: vCPU creation reads the pointer to give each a LAPIC.
	 * Freeze rules (as KVM): one irqchip per VM, and none once a vCPU
	 * exists, which would have no local APIC (KVM_CREATE_IRQCHIP:
	 * -EINVAL; the split capability: -EEXIST).
	 */
	mutex_lock(&vm->lock);
	if (vm->arch.irqchip)
		r = -EEXIST;
	else if (ckvm_vm_has_vcpus(vm))
		r = split ? -EEXIST : -EINVAL;
	else if (split)
		r = ckvm_set_irq_routing(vm, NULL, 0);
	else
		r = ckvm_pic_register_pio(vm, chip);
	if (!r && !split) {
		r = ckvm_ioapic_register_mmio(vm, chip);
		if (r)
			ckvm_pic_unregister_pio(vm, chip);
	}
	if (!r && !split) {
		/* As KVM, the routes exist before the chip is seen. */
		r = set_default_routing(vm);
		if (r) {
			ckvm_pic_unregister_pio(vm, chip);
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

/**
 * ckvm_irqchip_enable_split() - KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP)
 * @vm: the VM.
 * @nr_reserved: args[0]: the GSIs 0 .. @nr_reserved - 1 are the userspace
 *		 IOAPIC's pins, whose level-triggered EOIs exit to userspace.
 *
 * Return: 0; -EINVAL for more than CKVM_MAX_IRQ_ROUTES pins; -EEXIST if
 * the VM has an irqchip or a vCPU already (as KVM); -ENOMEM.
 */
int ckvm_irqchip_enable_split(struct ckvm *vm, u64 nr_reserved)
{
	if (nr_reserved > CKVM_MAX_IRQ_ROUTES)
		return -EINVAL;
	return irqchip_create(vm, true, nr_reserved);
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

	if (s->chip_id != KVM_IRQCHIP_IOAPIC) {
		ckvm_pic_set_state(vm, chip, s->chip_id, &s->chip.pic);
		return 0;
	}
	/*
	 * As KVM: take the entries, then raise again the pins the saved IRR
	 * says were waiting, so they reach the APICs.
	 */
	spin_lock(&chip->lock);
	pending = s->chip.ioapic.irr;
	chip->ioapic = s->chip.ioapic;
	chip->ioapic.irr = 0;
	ckvm_ioapic_update_eoi_vectors(chip);
	for (pin = 0; pin < KVM_IOAPIC_NUM_PINS; pin++)
		if (pending & BIT(pin))
			ckvm_ioapic_set_line(vm, chip, pin, true);
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
		return irqchip_create(vm, false, 0);
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
	/* A split irqchip's PICs and IOAPIC are userspace's (as KVM). */
	r = -ENXIO;
	if (!chip || chip->split)
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
