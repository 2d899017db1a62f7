/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The I/O buses of a VM: the in-kernel devices a guest's port I/O and
 * MMIO reach before userspace is asked (iodev.c).
 *
 * A device is a set of operations and one address range per
 * registration; the same device may be registered on several ranges. A
 * bus is an immutable array of ranges sorted by start address, published
 * with RCU like the memslots: readers (vCPUs handling an exit) hold
 * vm->srcu, writers hold vm->slots_lock and free what they replaced after
 * synchronize_srcu().
 *
 * Device operations return 0 when the device took the access and
 * -EOPNOTSUPP when it did not (not its address or length, data that does
 * not match), in which case the next device that covers the address is
 * asked. They run in the vCPU thread with vm->srcu held, in process
 * context: they may take a mutex (the PIT's), not wait for long.
 */
#ifndef CKVM_IODEV_H
#define CKVM_IODEV_H

#include <linux/types.h>

struct ckvm;
struct ckvm_vcpu;
struct ckvm_io_device;

/* KVM's bus numbers. */
enum ckvm_bus {
	CKVM_MMIO_BUS,
	CKVM_PIO_BUS,
	/*
	 * s390's: KVM accepts ioeventfds for it on x86 too, and no x86
	 * access ever reaches them. Kept so KVM_IOEVENTFD answers alike.
	 */
	CKVM_VIRTIO_CCW_NOTIFY_BUS,
	CKVM_NR_BUSES
};

struct ckvm_io_device_ops {
	/* Either may be NULL: the device never takes that kind of access. */
	int (*read)(struct ckvm_vcpu *vcpu, struct ckvm_io_device *dev,
		    u64 addr, int len, void *val);
	int (*write)(struct ckvm_vcpu *vcpu, struct ckvm_io_device *dev,
		     u64 addr, int len, const void *val);
	/* VM destruction: free the device. NULL if its owner frees it. */
	void (*destructor)(struct ckvm_io_device *dev);
};

/* Flags of a device. */
/*
 * Not counted against CKVM_IO_BUS_MAX_DEVS: an ioeventfd, which is
 * limited by the file descriptors of the process instead (as in KVM; a
 * bus with CKVM_IO_BUS_MAX_DEVS counted devices takes no more of either).
 */
#define CKVM_IODEV_UNCOUNTED	BIT(0)

struct ckvm_io_device {
	const struct ckvm_io_device_ops *ops;
	unsigned int flags;
};

/* KVM's NR_IOBUS_DEVS: counted devices per bus. */
#define CKVM_IO_BUS_MAX_DEVS	1000

int ckvm_io_bus_read(struct ckvm_vcpu *vcpu, enum ckvm_bus bus, u64 addr,
		     int len, void *val);
int ckvm_io_bus_write(struct ckvm_vcpu *vcpu, enum ckvm_bus bus, u64 addr,
		      int len, const void *val);
int ckvm_io_bus_register_dev(struct ckvm *vm, enum ckvm_bus bus, u64 addr,
			     u64 len, struct ckvm_io_device *dev);
void ckvm_io_bus_unregister_dev(struct ckvm *vm, enum ckvm_bus bus,
				struct ckvm_io_device *dev);
void ckvm_io_bus_destroy(struct ckvm *vm);

struct kvm_ioeventfd;
struct kvm_coalesced_mmio_zone;

/* ioeventfd.c */
int ckvm_ioeventfd(struct ckvm *vm, const struct kvm_ioeventfd *args);

/* coalesced_mmio.c */
int ckvm_coalesced_mmio_init(struct ckvm *vm);
void ckvm_coalesced_mmio_free(struct ckvm *vm);
int ckvm_register_coalesced_mmio(struct ckvm *vm,
				 const struct kvm_coalesced_mmio_zone *zone);
int ckvm_unregister_coalesced_mmio(struct ckvm *vm,
				   const struct kvm_coalesced_mmio_zone *zone);

#endif
