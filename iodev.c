// SPDX-License-Identifier: GPL-2.0
/*
 * The I/O buses of a VM (include/iodev.h): which in-kernel device takes a
 * port I/O or MMIO access of the guest before userspace is asked.
 *
 * A bus is an immutable array of ranges sorted by start address. A range
 * covers an access of @len bytes at @addr when the access lies inside
 * it; a range of length 0 covers every access that starts at its address,
 * whatever the access's length (an ioeventfd without a length).
 *
 * Of the ranges that cover an access, the one that starts nearest below
 * it is asked first, then the next one down, until a device takes the
 * access; ranges with the same start are asked in the order they were
 * registered. So a small device inside a bigger one (an ioeventfd inside
 * a coalesced zone) is asked before it. (KVM asks the range with the
 * lowest start first; no VMM we know of overlaps devices that would both
 * take the same access.)
 *
 * Lookup is a binary search for the last range that starts at or below
 * the address, then a walk down that stops as soon as a range starts
 * further below than the longest range on the bus is long: O(log n) plus
 * the ranges that overlap the address. Registration copies the array.
 */
#include <linux/slab.h>

#include "ckvm.h"

struct ckvm_io_range {
	u64 addr;
	u64 len;			/* 0: any access starting at addr */
	struct ckvm_io_device *dev;	/* READ_ONCE: see io_dead */
};

struct ckvm_io_bus {
	int nr;
	int nr_counted;		/* devices without CKVM_IODEV_UNCOUNTED */
	u64 max_span;		/* the longest range, a length-0 one counting 1 */
	struct ckvm_io_range range[];
};

/*
 * What a range points to after its device was unregistered at a moment
 * when no smaller copy of the bus could be allocated: a device that takes
 * nothing. The next copy of the bus leaves such ranges out.
 */
static const struct ckvm_io_device_ops io_dead_ops;
static struct ckvm_io_device io_dead = {
	.ops = &io_dead_ops,
	.flags = CKVM_IODEV_UNCOUNTED,
};

static struct ckvm_io_bus *bus_get(struct ckvm *vm, enum ckvm_bus idx)
{
	return srcu_dereference_check(vm->buses[idx], &vm->srcu,
				      lockdep_is_held(&vm->slots_lock));
}

static bool range_covers(const struct ckvm_io_range *r, u64 addr, int len)
{
	if (!r->len)
		return addr == r->addr;
	/* The caller saw addr >= r->addr: no sum here can wrap. */
	return len <= r->len && addr - r->addr <= r->len - len;
}

/* Index of the first range that starts above @addr. */
static int bus_upper_bound(const struct ckvm_io_bus *bus, u64 addr)
{
	int lo = 0, hi = bus->nr;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;

		if (bus->range[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * The device of the next range below index *@i that covers the access,
 * or NULL when no range left can. Start with *@i = bus_upper_bound().
 */
static struct ckvm_io_device *next_dev(const struct ckvm_io_bus *bus, int *i,
				       u64 addr, int len)
{
	while (--*i >= 0) {
		const struct ckvm_io_range *r = &bus->range[*i];

		if (addr - r->addr >= bus->max_span)
			return NULL;
		if (range_covers(r, addr, len))
			return READ_ONCE(r->dev);
	}
	return NULL;
}

/**
 * ckvm_io_bus_read() - offer a guest read to the devices of a bus
 * @vcpu: the vCPU that reads; its thread holds vcpu->vm->srcu.
 * @bus: CKVM_MMIO_BUS (guest-physical address) or CKVM_PIO_BUS (port).
 * @addr: the address of the first byte.
 * @len: bytes, 1 to 8.
 * @val: where the device stores the @len bytes it returns.
 *
 * Return: 0 if a device took the read and filled @val, -EOPNOTSUPP if
 * none did (userspace is asked then).
 */
int ckvm_io_bus_read(struct ckvm_vcpu *vcpu, enum ckvm_bus bus, u64 addr,
		     int len, void *val)
{
	struct ckvm_io_bus *b = srcu_dereference(vcpu->vm->buses[bus],
						 &vcpu->vm->srcu);
	struct ckvm_io_device *dev;
	int i;

	if (!b)
		return -EOPNOTSUPP;
	i = bus_upper_bound(b, addr);
	while ((dev = next_dev(b, &i, addr, len)))
		if (dev->ops->read && !dev->ops->read(vcpu, dev, addr, len, val))
			return 0;
	return -EOPNOTSUPP;
}

/**
 * ckvm_io_bus_write() - offer a guest write to the devices of a bus
 * @vcpu: the vCPU that writes; its thread holds vcpu->vm->srcu.
 * @bus: CKVM_MMIO_BUS (guest-physical address) or CKVM_PIO_BUS (port).
 * @addr: the address of the first byte.
 * @len: bytes, 1 to 8.
 * @val: the @len bytes written, in guest (little-endian) order.
 *
 * Return: 0 if a device took the write, -EOPNOTSUPP if none did
 * (userspace is asked then).
 */
int ckvm_io_bus_write(struct ckvm_vcpu *vcpu, enum ckvm_bus bus, u64 addr,
		      int len, const void *val)
{
	struct ckvm_io_bus *b = srcu_dereference(vcpu->vm->buses[bus],
						 &vcpu->vm->srcu);
	struct ckvm_io_device *dev;
	int i;

	if (!b)
		return -EOPNOTSUPP;
	i = bus_upper_bound(b, addr);
	while ((dev = next_dev(b, &i, addr, len)))
		if (dev->ops->write &&
		    !dev->ops->write(vcpu, dev, addr, len, val))
			return 0;
	return -EOPNOTSUPP;
}

static void bus_append(struct ckvm_io_bus *bus, const struct ckvm_io_range *r)
{
	bus->range[bus->nr++] = *r;
	bus->max_span = max(bus->max_span, r->len);
	if (!(r->dev->flags & CKVM_IODEV_UNCOUNTED))
		bus->nr_counted++;
}

/*
 * A new bus: @old (may be NULL) without the ranges of @drop and without
 * dead ones, with @add (may be NULL) placed before the ranges that start
 * where it starts (so that they are asked before it). NULL if nothing is
 * left, ERR_PTR(-ENOMEM).
 */
static struct ckvm_io_bus *bus_build(const struct ckvm_io_bus *old,
				     const struct ckvm_io_range *add,
				     const struct ckvm_io_device *drop)
{
	int nr = old ? old->nr : 0, i;
	struct ckvm_io_bus *new;
	bool placed = !add;

	new = kvmalloc(struct_size(new, range, nr + 1),
		       GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!new)
		return ERR_PTR(-ENOMEM);
	new->nr = 0;
	new->nr_counted = 0;
	new->max_span = 1;
	for (i = 0; i <= nr; i++) {
		const struct ckvm_io_range *r = i < nr ? &old->range[i] : NULL;

		if (!placed && (!r || r->addr >= add->addr)) {
			bus_append(new, add);
			placed = true;
		}
		if (r && r->dev != drop && r->dev != &io_dead)
			bus_append(new, r);
	}
	if (!new->nr) {
		kvfree(new);
		return NULL;
	}
	return new;
}

/* Make @new the bus; when no vCPU can see @old any more, free it. */
static void bus_publish(struct ckvm *vm, enum ckvm_bus idx,
			struct ckvm_io_bus *old, struct ckvm_io_bus *new)
{
	rcu_assign_pointer(vm->buses[idx], new);
	synchronize_srcu_expedited(&vm->srcu);
	kvfree(old);
}

/**
 * ckvm_io_bus_register_dev() - put a device on a bus
 * @vm: the VM; the caller holds vm->slots_lock.
 * @bus: which bus.
 * @addr: first address (guest-physical, or port) of the range.
 * @len: bytes in the range; 0 means every access starting at @addr.
 * @dev: the device, with its ops and flags set. One registration per
 *	 device: ckvm_io_bus_unregister_dev() removes it by this pointer.
 *
 * When it returns, every vCPU sees the device.
 *
 * Return: 0; -ENOSPC if the bus already has CKVM_IO_BUS_MAX_DEVS counted
 * devices; -ENOMEM.
 */
int ckvm_io_bus_register_dev(struct ckvm *vm, enum ckvm_bus bus, u64 addr,
			     u64 len, struct ckvm_io_device *dev)
{
	struct ckvm_io_bus *old = bus_get(vm, bus), *new;
	struct ckvm_io_range r = { .addr = addr, .len = len, .dev = dev };

	lockdep_assert_held(&vm->slots_lock);
	/* As KVM: a full bus takes no device, not even an uncounted one. */
	if (old && old->nr_counted >= CKVM_IO_BUS_MAX_DEVS)
		return -ENOSPC;
	new = bus_build(old, &r, NULL);
	if (IS_ERR(new))
		return PTR_ERR(new);
	bus_publish(vm, bus, old, new);
	return 0;
}

/**
 * ckvm_io_bus_unregister_dev() - take a device off a bus
 * @vm: the VM; the caller holds vm->slots_lock.
 * @bus: the bus it was registered on.
 * @dev: the device; nothing happens if it is not on @bus.
 *
 * Cannot fail: if no smaller copy of the bus can be allocated, the
 * device's range is pointed at a device that takes nothing. When it
 * returns no vCPU uses @dev any more, and the caller may free it.
 */
void ckvm_io_bus_unregister_dev(struct ckvm *vm, enum ckvm_bus bus,
				struct ckvm_io_device *dev)
{
	struct ckvm_io_bus *old = bus_get(vm, bus), *new;
	int i;

	lockdep_assert_held(&vm->slots_lock);
	if (!old)
		return;
	for (i = 0; i < old->nr; i++)
		if (old->range[i].dev == dev)
			break;
	if (i == old->nr)
		return;
	new = bus_build(old, NULL, dev);
	if (!IS_ERR(new)) {
		bus_publish(vm, bus, old, new);
		return;
	}
	for (; i < old->nr; i++) {
		if (old->range[i].dev != dev)
			continue;
		WRITE_ONCE(old->range[i].dev, &io_dead);
		if (!(dev->flags & CKVM_IODEV_UNCOUNTED))
			old->nr_counted--;	/* only writers read it */
	}
	synchronize_srcu_expedited(&vm->srcu);
}

/**
 * ckvm_io_bus_destroy() - free the buses of a dying VM
 * @vm: the VM; nothing else refers to it any more.
 *
 * Calls the destructor of every device still registered, then frees
 * the buses.
 */
void ckvm_io_bus_destroy(struct ckvm *vm)
{
	int b, i;

	for (b = 0; b < CKVM_NR_BUSES; b++) {
		struct ckvm_io_bus *bus = rcu_dereference_protected(vm->buses[b], 1);

		for (i = 0; bus && i < bus->nr; i++) {
			struct ckvm_io_device *dev = bus->range[i].dev;

			if (dev->ops->destructor)
				dev->ops->destructor(dev);
		}
		kvfree(bus);
		RCU_INIT_POINTER(vm->buses[b], NULL);
	}
}
