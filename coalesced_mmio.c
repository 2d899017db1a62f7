// SPDX-License-Identifier: GPL-2.0
/*
 * Coalesced MMIO and PIO (KVM API 4.116, KVM_CAP_COALESCED_MMIO and
 * KVM_CAP_COALESCED_PIO): guest writes into a registered zone are not
 * exits; they are appended to a ring that userspace reads on its next
 * exit, in order. It suits device registers whose writes have no
 * immediate effect (QEMU uses it for the VGA window and the RTC index
 * port).
 *
 * The ring is one page per VM, mapped in every vCPU's mmap at page
 * KVM_COALESCED_MMIO_PAGE_OFFSET: struct kvm_coalesced_mmio_ring, whose
 * 'last' the kernel advances after filling an entry and whose 'first'
 * userspace advances after consuming one. One entry always stays free,
 * so a full ring has last + 1 == first; a write that finds it full, or
 * that is longer than an entry holds (8 bytes), is not coalesced and
 * exits to userspace as usual. 'last' lives in a page userspace can
 * write, so it is range-checked before use.
 *
 * Each zone is a device on the MMIO or PIO bus (iodev.c) with a write
 * operation only: reads in a zone go to userspace. Validation and errnos
 * are KVM's.
 */
#include <linux/slab.h>

#include "ckvm.h"

struct ckvm_coalesced_zone {
	struct list_head link;		/* vm->coalesced_zones, slots_lock */
	struct ckvm_io_device dev;
	struct ckvm *vm;
	struct kvm_coalesced_mmio_zone zone;
};

static struct ckvm_coalesced_zone *to_zone(struct ckvm_io_device *dev)
{
	return container_of(dev, struct ckvm_coalesced_zone, dev);
}

/* Does [addr, addr + len) lie inside the zone? (KVM's test, u64 safe.) */
static bool zone_covers(const struct kvm_coalesced_mmio_zone *z, u64 addr,
			u64 len)
{
	return addr + len >= addr && addr >= z->addr &&
	       addr + len <= z->addr + z->size;
}

/* Bus op: runs in the vCPU thread, vm->srcu held. */
static int coalesced_write(struct ckvm_vcpu *vcpu, struct ckvm_io_device *dev,
			   u64 addr, int len, const void *val)
{
	struct ckvm_coalesced_zone *z = to_zone(dev);
	struct kvm_coalesced_mmio_ring *ring = z->vm->coalesced_ring;
	struct kvm_coalesced_mmio *e;
	u32 last;

	if (!zone_covers(&z->zone, addr, len) || len > sizeof(e->data))
		return -EOPNOTSUPP;
	spin_lock(&z->vm->coalesced_lock);
	last = READ_ONCE(ring->last);
	if (last >= KVM_COALESCED_MMIO_MAX ||
	    (last + 1) % KVM_COALESCED_MMIO_MAX == READ_ONCE(ring->first)) {
		spin_unlock(&z->vm->coalesced_lock);
		return -EOPNOTSUPP;	/* full: userspace empties it */
	}
	e = &ring->coalesced_mmio[last];
	e->phys_addr = addr;
	e->len = len;
	e->pio = z->zone.pio;
	memcpy(e->data, val, len);
	/* The entry is whole before userspace can see it. */
	smp_wmb();
	WRITE_ONCE(ring->last, (last + 1) % KVM_COALESCED_MMIO_MAX);
	spin_unlock(&z->vm->coalesced_lock);
	return 0;
}

/* VM destruction: nothing else can see it any more. */
static void coalesced_destructor(struct ckvm_io_device *dev)
{
	struct ckvm_coalesced_zone *z = to_zone(dev);

	list_del(&z->link);
	kfree(z);
}

static const struct ckvm_io_device_ops coalesced_ops = {
	.write = coalesced_write,
	.destructor = coalesced_destructor,
};

/**
 * ckvm_coalesced_mmio_init() - give a new VM its (empty) ring
 * @vm: the VM being created.
 *
 * Return: 0 or -ENOMEM.
 */
int ckvm_coalesced_mmio_init(struct ckvm *vm)
{
	vm->coalesced_ring = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!vm->coalesced_ring)
		return -ENOMEM;
	spin_lock_init(&vm->coalesced_lock);
	INIT_LIST_HEAD(&vm->coalesced_zones);
	return 0;
}

/**
 * ckvm_coalesced_mmio_free() - free the ring of a dying VM
 * @vm: the VM; its zones went with its buses (ckvm_io_bus_destroy()).
 *
 * A vCPU mapping that still holds the page keeps its own reference.
 */
void ckvm_coalesced_mmio_free(struct ckvm *vm)
{
	free_page((unsigned long)vm->coalesced_ring);
}

/**
 * ckvm_register_coalesced_mmio() - KVM_REGISTER_COALESCED_MMIO
 * @vm: the VM.
 * @zone: copied in; pio 0 is an MMIO zone, 1 a port zone.
 *
 * Zones may overlap each other and anything else; as in KVM, neither the
 * size nor the address is checked. Takes vm->slots_lock.
 *
 * Return: 0; -EINVAL if pio is neither 0 nor 1; -ENOSPC if the bus has
 * CKVM_IO_BUS_MAX_DEVS devices already (ioeventfds not counted); -ENOMEM.
 */
int ckvm_register_coalesced_mmio(struct ckvm *vm,
				 const struct kvm_coalesced_mmio_zone *zone)
{
	struct ckvm_coalesced_zone *z;
	int r;

	if (zone->pio != 0 && zone->pio != 1)
		return -EINVAL;
	z = kzalloc(sizeof(*z), GFP_KERNEL_ACCOUNT);
	if (!z)
		return -ENOMEM;
	z->vm = vm;
	z->zone = *zone;
	z->dev.ops = &coalesced_ops;

	mutex_lock(&vm->slots_lock);
	r = ckvm_io_bus_register_dev(vm, zone->pio ? CKVM_PIO_BUS : CKVM_MMIO_BUS,
				     zone->addr, zone->size, &z->dev);
	if (!r)
		list_add_tail(&z->link, &vm->coalesced_zones);
	mutex_unlock(&vm->slots_lock);
	if (r)
		kfree(z);
	return r;
}

/**
 * ckvm_unregister_coalesced_mmio() - KVM_UNREGISTER_COALESCED_MMIO
 * @vm: the VM.
 * @zone: copied in.
 *
 * KVM's rule: every zone of the same kind (MMIO or PIO) that contains
 * all of @zone goes; none is not an error. Takes vm->slots_lock.
 *
 * Return: 0, or -EINVAL if pio is neither 0 nor 1.
 */
int ckvm_unregister_coalesced_mmio(struct ckvm *vm,
				   const struct kvm_coalesced_mmio_zone *zone)
{
	struct ckvm_coalesced_zone *z, *tmp;

	if (zone->pio != 0 && zone->pio != 1)
		return -EINVAL;
	mutex_lock(&vm->slots_lock);
	list_for_each_entry_safe(z, tmp, &vm->coalesced_zones, link) {
		if (z->zone.pio != zone->pio ||
		    !zone_covers(&z->zone, zone->addr, zone->size))
			continue;
		/* No vCPU uses it when this returns. */
		ckvm_io_bus_unregister_dev(vm, zone->pio ? CKVM_PIO_BUS :
					   CKVM_MMIO_BUS, &z->dev);
		list_del(&z->link);
		kfree(z);
	}
	mutex_unlock(&vm->slots_lock);
	return 0;
}
