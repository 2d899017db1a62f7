// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_IOEVENTFD: a guest write to a port or an MMIO address signals an
 * eventfd in the kernel, and the guest goes on without an exit to
 * userspace (KVM API 4.59). Each ioeventfd is a device on the PIO or
 * MMIO bus (iodev.c) that takes a write of its length at its address,
 * and with KVM_IOEVENTFD_FLAG_DATAMATCH only a write of its value; it
 * takes no reads.
 *
 * Validation, errnos and the collision rule are KVM's (checked against
 * the distro KVM by tools/testing/selftests/ckvm/tests/ioeventfd_test.c).
 * As in KVM, the pad field is not looked at.
 *
 * Lifetime: an ioeventfd holds a reference on its eventfd context, so the
 * eventfd may be closed first; signalling a context nobody reads is
 * harmless. It lives until KVM_IOEVENTFD with KVM_IOEVENTFD_FLAG_DEASSIGN
 * or the VM's destruction (its bus destructor).
 */
#include <linux/eventfd.h>
#include <linux/slab.h>

#include "ckvm.h"

struct ckvm_ioeventfd {
	struct list_head link;		/* vm->ioeventfds, slots_lock */
	struct ckvm_io_device dev;
	struct eventfd_ctx *eventfd;
	u64 addr;
	u64 datamatch;
	int len;			/* 0, 1, 2, 4 or 8 */
	enum ckvm_bus bus;
	bool wildcard;			/* no KVM_IOEVENTFD_FLAG_DATAMATCH */
};

static struct ckvm_ioeventfd *to_ioeventfd(struct ckvm_io_device *dev)
{
	return container_of(dev, struct ckvm_ioeventfd, dev);
}

/* KVM's rule: exact address; then exact length and value if it has them. */
static bool ioeventfd_matches(const struct ckvm_ioeventfd *p, u64 addr,
			      int len, const void *val)
{
	u64 v = 0;

	if (addr != p->addr)
		return false;
	if (!p->len)
		return true;
	if (len != p->len)
		return false;
	if (p->wildcard)
		return true;
	memcpy(&v, val, len);	/* x86: little-endian, len <= 8 */
	return v == p->datamatch;
}

/* Bus op: runs in the vCPU thread, vm->srcu held. */
static int ioeventfd_write(struct ckvm_vcpu *vcpu, struct ckvm_io_device *dev,
			   u64 addr, int len, const void *val)
{
	struct ckvm_ioeventfd *p = to_ioeventfd(dev);

	if (!ioeventfd_matches(p, addr, len, val))
		return -EOPNOTSUPP;
	ckvm_eventfd_signal(p->eventfd);
	return 0;
}

static void ioeventfd_free(struct ckvm_ioeventfd *p)
{
	list_del(&p->link);
	eventfd_ctx_put(p->eventfd);
	kfree(p);
}

/* VM destruction: nothing else can see it any more. */
static void ioeventfd_destructor(struct ckvm_io_device *dev)
{
	ioeventfd_free(to_ioeventfd(dev));
}

static const struct ckvm_io_device_ops ioeventfd_ops = {
	.write = ioeventfd_write,
	.destructor = ioeventfd_destructor,
};

/* KVM's: PIO first, then the s390 bus, else MMIO. */
static enum ckvm_bus ioeventfd_bus(u32 flags)
{
	if (flags & KVM_IOEVENTFD_FLAG_PIO)
		return CKVM_PIO_BUS;
	if (flags & KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY)
		return CKVM_VIRTIO_CCW_NOTIFY_BUS;
	return CKVM_MMIO_BUS;
}

/*
 * Would @p take a write that an existing ioeventfd also takes? Same bus
 * and address, and either has no length, or same length and either
 * matches any value or both match the same one. slots_lock held.
 */
static bool ioeventfd_collides(struct ckvm *vm, const struct ckvm_ioeventfd *p)
{
	struct ckvm_ioeventfd *q;

	lockdep_assert_held(&vm->slots_lock);
	list_for_each_entry(q, &vm->ioeventfds, link)
		if (q->bus == p->bus && q->addr == p->addr &&
		    (!q->len || !p->len ||
		     (q->len == p->len &&
		      (q->wildcard || p->wildcard ||
		       q->datamatch == p->datamatch))))
			return true;
	return false;
}

static int ioeventfd_assign(struct ckvm *vm, const struct kvm_ioeventfd *args)
{
	struct eventfd_ctx *eventfd;
	struct ckvm_ioeventfd *p;
	int r;

	/* The checks in KVM's order, for the same errno on the same input. */
	if (args->len != 0 && args->len != 1 && args->len != 2 &&
	    args->len != 4 && args->len != 8)
		return -EINVAL;
	if (args->addr + args->len < args->addr)
		return -EINVAL;
	if (args->flags & ~KVM_IOEVENTFD_VALID_FLAG_MASK)
		return -EINVAL;
	if (!args->len && (args->flags & KVM_IOEVENTFD_FLAG_DATAMATCH))
		return -EINVAL;

	eventfd = eventfd_ctx_fdget(args->fd);	/* -EBADF, -EINVAL */
	if (IS_ERR(eventfd))
		return PTR_ERR(eventfd);
	p = kzalloc(sizeof(*p), GFP_KERNEL_ACCOUNT);
	if (!p) {
		eventfd_ctx_put(eventfd);
		return -ENOMEM;
	}
	p->eventfd = eventfd;
	p->addr = args->addr;
	p->len = args->len;
	p->bus = ioeventfd_bus(args->flags);
	p->wildcard = !(args->flags & KVM_IOEVENTFD_FLAG_DATAMATCH);
	if (!p->wildcard)
		p->datamatch = args->datamatch;
	p->dev.ops = &ioeventfd_ops;
	p->dev.flags = CKVM_IODEV_UNCOUNTED;

	mutex_lock(&vm->slots_lock);
	r = -EEXIST;
	if (ioeventfd_collides(vm, p))
		goto fail;
	r = ckvm_io_bus_register_dev(vm, p->bus, p->addr, p->len, &p->dev);
	if (r)
		goto fail;
	list_add_tail(&p->link, &vm->ioeventfds);
	mutex_unlock(&vm->slots_lock);
	return 0;

fail:
	mutex_unlock(&vm->slots_lock);
	eventfd_ctx_put(eventfd);
	kfree(p);
	return r;
}

/*
 * The ioeventfd with exactly these fd, bus, address, length and
 * datamatch (or none) goes. As KVM, the other fields and flags are not
 * validated here.
 */
static int ioeventfd_deassign(struct ckvm *vm, const struct kvm_ioeventfd *args)
{
	bool wildcard = !(args->flags & KVM_IOEVENTFD_FLAG_DATAMATCH);
	enum ckvm_bus bus = ioeventfd_bus(args->flags);
	struct eventfd_ctx *eventfd;
	struct ckvm_ioeventfd *p;
	int r = -ENOENT;

	eventfd = eventfd_ctx_fdget(args->fd);
	if (IS_ERR(eventfd))
		return PTR_ERR(eventfd);
	mutex_lock(&vm->slots_lock);
	list_for_each_entry(p, &vm->ioeventfds, link) {
		if (p->bus != bus || p->eventfd != eventfd ||
		    p->addr != args->addr || p->len != args->len ||
		    p->wildcard != wildcard ||
		    (!wildcard && p->datamatch != args->datamatch))
			continue;
		/* No vCPU uses it when this returns. */
		ckvm_io_bus_unregister_dev(vm, bus, &p->dev);
		ioeventfd_free(p);
		r = 0;
		break;
	}
	mutex_unlock(&vm->slots_lock);
	eventfd_ctx_put(eventfd);
	return r;
}

/**
 * ckvm_ioeventfd() - KVM_IOEVENTFD
 * @vm: the VM.
 * @args: the request, copied in.
 *
 * Takes vm->slots_lock.
 *
 * Return: 0; -EINVAL for a length other than 0, 1, 2, 4 or 8, a range
 * that wraps, unknown flags, DATAMATCH without a length, or an fd that
 * is not an eventfd; -EBADF for a bad fd; -EEXIST if an ioeventfd
 * already takes some of the same writes; -ENOENT when deassigning one
 * that does not exist; -ENOMEM.
 */
int ckvm_ioeventfd(struct ckvm *vm, const struct kvm_ioeventfd *args)
{
	if (args->flags & KVM_IOEVENTFD_FLAG_DEASSIGN)
		return ioeventfd_deassign(vm, args);
	return ioeventfd_assign(vm, args);
}
