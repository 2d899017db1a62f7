// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_IRQFD (KVM API 4.75, KVM_CAP_IRQFD, KVM_CAP_IRQFD_RESAMPLE): an
 * eventfd whose signal raises a GSI of the in-kernel irqchip, so a device
 * in another thread or process (vhost, VFIO, a userspace device model)
 * interrupts the guest without going through the VMM's vCPU threads.
 *
 * A plain irqfd pulses its GSI (high, then low) on each signal. A
 * resampling irqfd (KVM_IRQFD_FLAG_RESAMPLE) raises it and holds it high
 * as its own source (a level-triggered line) until the guest EOIs the
 * interrupt; then the line is lowered and the irqfd's resamplefd is
 * signalled, so the device can check whether it still needs service and
 * signal again. The irqfds of one GSI share one resampler, which is that
 * GSI's acknowledgement notifier.
 *
 * An MSI route is delivered at once, in the waker's context (the local
 * APICs only set bits and kick); an irqchip route takes the irqchip's
 * lock, so it is delivered from a work item.
 *
 * Lifetimes. The eventfd's wakeup (irqfd_wakeup()) runs with its wait
 * queue lock held and interrupts off, from any context. An irqfd is
 * active while on vm->irqfds.items; deassigning it, closing its eventfd
 * (EPOLLHUP) or closing the VM fd takes it off (irqfd_deactivate()) and
 * queues its shutdown on ckvm_irqfd_cleanup_wq, which unhooks it from the
 * wait queue, waits for its injection work and frees it. Irqfds take no
 * reference on the VM: the VM fd's release (ckvm_irqfd_release()) shuts
 * them all down and waits before the VM can go away, and no irqfd can be
 * assigned after it.
 */
#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/poll.h>
#include <linux/seqlock.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "ckvm.h"

struct ckvm_irqfd_resampler {
	struct ckvm *vm;
	/* Its irqfds: RCU list, read under vm->irq_srcu, written under resampler_lock. */
	struct list_head irqfds;
	struct ckvm_irq_ack_notifier notifier;
	struct list_head link;		/* vm->irqfds.resamplers */
};

struct ckvm_irqfd {
	struct ckvm *vm;
	u32 gsi;
	struct eventfd_ctx *eventfd;
	/* With KVM_IRQFD_FLAG_RESAMPLE; NULL otherwise. */
	struct eventfd_ctx *resamplefd;
	struct ckvm_irqfd_resampler *resampler;
	struct list_head resampler_link;
	/* The GSI's route if it has exactly one, else type 0; for the wakeup. */
	struct ckvm_irq_route route;
	seqcount_spinlock_t route_seq;	/* writers hold vm->irqfds.lock */
	wait_queue_entry_t wait;
	poll_table pt;
	struct work_struct inject;
	struct work_struct shutdown;
	struct list_head link;		/* vm->irqfds.items; empty: inactive */
};

/* Shutdowns of every VM: flushing it waits for all of them. */
static struct workqueue_struct *ckvm_irqfd_cleanup_wq;

/* Work: drive an irqchip route, which may not be done in the wakeup. */
static void irqfd_inject(struct work_struct *work)
{
	struct ckvm_irqfd *irqfd = container_of(work, struct ckvm_irqfd, inject);
	struct ckvm *vm = irqfd->vm;

	if (irqfd->resampler) {
		ckvm_set_irq(vm, CKVM_IRQFD_RESAMPLE_IRQ_SOURCE_ID, irqfd->gsi, 1,
			     false);
		return;
	}
	ckvm_set_irq(vm, CKVM_USERSPACE_IRQ_SOURCE_ID, irqfd->gsi, 1, false);
	ckvm_set_irq(vm, CKVM_USERSPACE_IRQ_SOURCE_ID, irqfd->gsi, 0, false);
}

/*
 * The guest EOIed the GSI: lower the line once for all the irqfds that
 * hold it (lowering it per irqfd could race with one that raises it
 * again), then tell each of them.
 */
static void irqfd_resampler_ack(struct ckvm_irq_ack_notifier *kian)
{
	struct ckvm_irqfd_resampler *resampler =
		container_of(kian, struct ckvm_irqfd_resampler, notifier);
	struct ckvm *vm = resampler->vm;
	struct ckvm_irqfd *irqfd;
	int idx;

	ckvm_set_irq(vm, CKVM_IRQFD_RESAMPLE_IRQ_SOURCE_ID, kian->gsi, 0, false);
	idx = srcu_read_lock(&vm->irq_srcu);
	list_for_each_entry_srcu(irqfd, &resampler->irqfds, resampler_link,
				 srcu_read_lock_held(&vm->irq_srcu))
		ckvm_eventfd_signal(irqfd->resamplefd);
	srcu_read_unlock(&vm->irq_srcu, idx);
}

/* Join the resampler of the irqfd's GSI, making it if it is the first. */
static int irqfd_resampler_attach(struct ckvm_irqfd *irqfd)
{
	struct ckvm *vm = irqfd->vm;
	struct ckvm_irqfd_resampler *r;

	mutex_lock(&vm->irqfds.resampler_lock);
	list_for_each_entry(r, &vm->irqfds.resamplers, link)
		if (r->notifier.gsi == irqfd->gsi)
			goto found;
	r = kzalloc(sizeof(*r), GFP_KERNEL_ACCOUNT);
	if (!r) {
		mutex_unlock(&vm->irqfds.resampler_lock);
		return -ENOMEM;
	}
	r->vm = vm;
	INIT_LIST_HEAD(&r->irqfds);
	r->notifier.gsi = irqfd->gsi;
	r->notifier.irq_acked = irqfd_resampler_ack;
	list_add(&r->link, &vm->irqfds.resamplers);
	ckvm_register_irq_ack_notifier(vm, &r->notifier);
found:
	irqfd->resampler = r;
	list_add_rcu(&irqfd->resampler_link, &r->irqfds);
	mutex_unlock(&vm->irqfds.resampler_lock);
	return 0;
}

/* Leave the resampler; the last one out lowers the line and frees it. */
static void irqfd_resampler_detach(struct ckvm_irqfd *irqfd)
{
	struct ckvm_irqfd_resampler *r = irqfd->resampler;
	struct ckvm *vm = irqfd->vm;

	mutex_lock(&vm->irqfds.resampler_lock);
	list_del_rcu(&irqfd->resampler_link);
	synchronize_srcu(&vm->irq_srcu);	/* no ack walks past it now */
	if (list_empty(&r->irqfds)) {
		list_del(&r->link);
		ckvm_unregister_irq_ack_notifier(vm, &r->notifier);
		ckvm_set_irq(vm, CKVM_IRQFD_RESAMPLE_IRQ_SOURCE_ID,
			     r->notifier.gsi, 0, false);
		kfree(r);
	}
	mutex_unlock(&vm->irqfds.resampler_lock);
}

/* Work on ckvm_irqfd_cleanup_wq: the irqfd is inactive; free it. */
static void irqfd_shutdown(struct work_struct *work)
{
	struct ckvm_irqfd *irqfd = container_of(work, struct ckvm_irqfd, shutdown);
	u64 cnt;

	/* An assign still under way (it holds irq_srcu) has hooked it in. */
	synchronize_srcu(&irqfd->vm->irq_srcu);
	/* No wakeup runs or starts after this... */
	eventfd_ctx_remove_wait_queue(irqfd->eventfd, &irqfd->wait, &cnt);
	/* ...so none queues the injection again after it is done. */
	flush_work(&irqfd->inject);
	if (irqfd->resampler) {
		irqfd_resampler_detach(irqfd);
		eventfd_ctx_put(irqfd->resamplefd);
	}
	eventfd_ctx_put(irqfd->eventfd);
	kfree(irqfd);
}

/* Caller holds vm->irqfds.lock, or vm->irq_srcu (then it may be stale). */
static bool irqfd_is_active(struct ckvm_irqfd *irqfd)
{
	return !list_empty(&irqfd->link);
}

static void irqfd_deactivate(struct ckvm_irqfd *irqfd)
{
	lockdep_assert_held(&irqfd->vm->irqfds.lock);
	list_del_init(&irqfd->link);
	queue_work(ckvm_irqfd_cleanup_wq, &irqfd->shutdown);
}

/*
 * The eventfd's wakeup: any context, its wait queue lock held and
 * interrupts off. EPOLLIN: it was signalled; EPOLLHUP: it is closing.
 */
static int irqfd_wakeup(wait_queue_entry_t *wait, unsigned int mode, int sync,
			void *key)
{
	struct ckvm_irqfd *irqfd = container_of(wait, struct ckvm_irqfd, wait);
	__poll_t flags = key_to_poll(key);
	struct ckvm *vm = irqfd->vm;
	struct ckvm_irq_route route;
	unsigned long iflags;
	unsigned int seq;
	int idx;
	u64 cnt;

	if (flags & EPOLLIN) {
		eventfd_ctx_do_read(irqfd->eventfd, &cnt);
		idx = srcu_read_lock(&vm->irq_srcu);
		do {
			seq = read_seqcount_begin(&irqfd->route_seq);
			route = irqfd->route;
		} while (read_seqcount_retry(&irqfd->route_seq, seq));
		/* Inactive: the route may be stale; the work finds the real one. */
		if (!irqfd_is_active(irqfd) ||
		    ckvm_arch_set_irq_inatomic(vm, &route) == -EWOULDBLOCK)
			schedule_work(&irqfd->inject);
		srcu_read_unlock(&vm->irq_srcu, idx);
	}
	if (flags & EPOLLHUP) {
		spin_lock_irqsave(&vm->irqfds.lock, iflags);
		/* Deassign or release may have taken it off already. */
		if (irqfd_is_active(irqfd))
			irqfd_deactivate(irqfd);
		spin_unlock_irqrestore(&vm->irqfds.lock, iflags);
	}
	return 0;
}

static void irqfd_ptable_queue_proc(struct file *file, wait_queue_head_t *wqh,
				    poll_table *pt)
{
	struct ckvm_irqfd *irqfd = container_of(pt, struct ckvm_irqfd, pt);

	add_wait_queue(wqh, &irqfd->wait);
}

/* Cache the irqfd's route; vm->irqfds.lock and irq_srcu (or irq_lock) held. */
static void irqfd_update_route(struct ckvm *vm, struct ckvm_irqfd *irqfd)
{
	struct ckvm_irq_route routes[CKVM_NR_IRQCHIPS];
	int n = ckvm_irq_map_gsi(vm, irqfd->gsi, routes);

	lockdep_assert_held(&vm->irqfds.lock);
	write_seqcount_begin(&irqfd->route_seq);
	if (n == 1)
		irqfd->route = routes[0];
	else
		irqfd->route.type = 0;	/* none, or several: the work's */
	write_seqcount_end(&irqfd->route_seq);
}

/**
 * ckvm_irqfd_routing_update() - the routing table changed
 * @vm: the VM; the caller holds vm->irq_lock and has published the table.
 */
void ckvm_irqfd_routing_update(struct ckvm *vm)
{
	struct ckvm_irqfd *irqfd;

	lockdep_assert_held(&vm->irq_lock);
	spin_lock_irq(&vm->irqfds.lock);
	list_for_each_entry(irqfd, &vm->irqfds.items, link)
		irqfd_update_route(vm, irqfd);
	spin_unlock_irq(&vm->irqfds.lock);
}

static int irqfd_assign(struct ckvm *vm, const struct kvm_irqfd *args)
{
	struct eventfd_ctx *eventfd = NULL;
	struct ckvm_irqfd *irqfd, *tmp;
	struct file *file;
	__poll_t events;
	int r, idx;

	/*
	 * KVM's x86 answer without an in-kernel irqchip, and for a
	 * resampling irqfd without an in-kernel IOAPIC and PIC (split).
	 */
	if (!ckvm_arch_irqfd_allowed(vm, args->flags & KVM_IRQFD_FLAG_RESAMPLE))
		return -EINVAL;
	irqfd = kzalloc(sizeof(*irqfd), GFP_KERNEL_ACCOUNT);
	if (!irqfd)
		return -ENOMEM;
	irqfd->vm = vm;
	irqfd->gsi = args->gsi;
	INIT_LIST_HEAD(&irqfd->link);
	INIT_LIST_HEAD(&irqfd->resampler_link);
	INIT_WORK(&irqfd->inject, irqfd_inject);
	INIT_WORK(&irqfd->shutdown, irqfd_shutdown);
	seqcount_spinlock_init(&irqfd->route_seq, &vm->irqfds.lock);

	file = fget(args->fd);
	if (!file) {
		kfree(irqfd);
		return -EBADF;
	}
	eventfd = eventfd_ctx_fileget(file);
	if (IS_ERR(eventfd)) {
		r = PTR_ERR(eventfd);
		eventfd = NULL;
		goto fail;
	}
	irqfd->eventfd = eventfd;

	if (args->flags & KVM_IRQFD_FLAG_RESAMPLE) {
		irqfd->resamplefd = eventfd_ctx_fdget(args->resamplefd);
		if (IS_ERR(irqfd->resamplefd)) {
			r = PTR_ERR(irqfd->resamplefd);
			irqfd->resamplefd = NULL;
			goto fail;
		}
		r = irqfd_resampler_attach(irqfd);
		if (r)
			goto fail;
	}

	init_waitqueue_func_entry(&irqfd->wait, irqfd_wakeup);
	init_poll_funcptr(&irqfd->pt, irqfd_ptable_queue_proc);

	spin_lock_irq(&vm->irqfds.lock);
	list_for_each_entry(tmp, &vm->irqfds.items, link) {
		if (tmp->eventfd == eventfd) {
			/* One eventfd raises one GSI (KVM's -EBUSY). */
			spin_unlock_irq(&vm->irqfds.lock);
			r = -EBUSY;
			goto fail;
		}
	}
	/*
	 * From here it is active and can be deactivated; its shutdown
	 * waits for this read section, so it is hooked into the eventfd's
	 * wait queue (vfs_poll) before anyone unhooks and frees it.
	 */
	idx = srcu_read_lock(&vm->irq_srcu);
	irqfd_update_route(vm, irqfd);
	list_add_tail(&irqfd->link, &vm->irqfds.items);
	spin_unlock_irq(&vm->irqfds.lock);

	/* An eventfd signalled before it was hooked in counts too. */
	events = vfs_poll(file, &irqfd->pt);
	if (events & EPOLLIN)
		schedule_work(&irqfd->inject);
	srcu_read_unlock(&vm->irq_srcu, idx);
	/* Only now: closing the eventfd (EPOLLHUP) finds it hooked in. */
	fput(file);
	return 0;

fail:
	if (irqfd->resampler)
		irqfd_resampler_detach(irqfd);
	if (irqfd->resamplefd)
		eventfd_ctx_put(irqfd->resamplefd);
	if (eventfd)
		eventfd_ctx_put(eventfd);
	fput(file);
	kfree(irqfd);
	return r;
}

/* Every irqfd of this eventfd and GSI goes; none is not an error (KVM). */
static int irqfd_deassign(struct ckvm *vm, const struct kvm_irqfd *args)
{
	struct ckvm_irqfd *irqfd, *tmp;
	struct eventfd_ctx *eventfd;

	eventfd = eventfd_ctx_fdget(args->fd);
	if (IS_ERR(eventfd))
		return PTR_ERR(eventfd);
	spin_lock_irq(&vm->irqfds.lock);
	list_for_each_entry_safe(irqfd, tmp, &vm->irqfds.items, link)
		if (irqfd->eventfd == eventfd && irqfd->gsi == args->gsi)
			irqfd_deactivate(irqfd);
	spin_unlock_irq(&vm->irqfds.lock);
	eventfd_ctx_put(eventfd);
	/* No interrupt comes from it once this returns. */
	flush_workqueue(ckvm_irqfd_cleanup_wq);
	return 0;
}

/**
 * ckvm_irqfd() - KVM_IRQFD
 * @vm: the VM.
 * @args: copied in. As in KVM, the pad is not looked at, nor is the GSI
 *	  (one without a route raises nothing).
 *
 * Return: 0; -EINVAL for unknown flags, without an in-kernel irqchip, or
 * for an fd (or resamplefd) that is no eventfd; -EBADF for a bad fd;
 * -EBUSY if the eventfd already has an irqfd; -ENOMEM.
 */
int ckvm_irqfd(struct ckvm *vm, const struct kvm_irqfd *args)
{
	if (args->flags & ~(KVM_IRQFD_FLAG_DEASSIGN | KVM_IRQFD_FLAG_RESAMPLE))
		return -EINVAL;
	if (args->flags & KVM_IRQFD_FLAG_DEASSIGN)
		return irqfd_deassign(vm, args);
	return irqfd_assign(vm, args);
}

/**
 * ckvm_irqfd_release() - the VM fd is closing: shut every irqfd down
 * @vm: the VM; no ioctl can reach it any more.
 *
 * Waits until they are freed: they hold no reference on the VM.
 */
void ckvm_irqfd_release(struct ckvm *vm)
{
	struct ckvm_irqfd *irqfd, *tmp;

	spin_lock_irq(&vm->irqfds.lock);
	list_for_each_entry_safe(irqfd, tmp, &vm->irqfds.items, link)
		irqfd_deactivate(irqfd);
	spin_unlock_irq(&vm->irqfds.lock);
	flush_workqueue(ckvm_irqfd_cleanup_wq);
}

/**
 * ckvm_irqfds_init() - a new VM's (empty) irqfd lists
 * @vm: the VM being created.
 */
void ckvm_irqfds_init(struct ckvm *vm)
{
	spin_lock_init(&vm->irqfds.lock);
	INIT_LIST_HEAD(&vm->irqfds.items);
	mutex_init(&vm->irqfds.resampler_lock);
	INIT_LIST_HEAD(&vm->irqfds.resamplers);
}

/**
 * ckvm_irqfd_init() - module load: the shutdown workqueue
 *
 * Return: 0 or -ENOMEM.
 */
int ckvm_irqfd_init(void)
{
	ckvm_irqfd_cleanup_wq = alloc_workqueue("ckvm-irqfd-cleanup", 0, 0);
	return ckvm_irqfd_cleanup_wq ? 0 : -ENOMEM;
}

/**
 * ckvm_irqfd_exit() - module unload; every VM is gone
 */
void ckvm_irqfd_exit(void)
{
	destroy_workqueue(ckvm_irqfd_cleanup_wq);
}
