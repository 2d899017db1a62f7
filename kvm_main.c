// SPDX-License-Identifier: GPL-2.0
/*
 * ckvm core: the /dev/kvm misc device, VM and vCPU file descriptors, memory
 * slots and ioctl dispatch. This file knows no x86 register: everything
 * architectural goes through the ckvm_arch_*() calls of x86/.
 *
 * Every ioctl handler has one shape: copy in, validate (unknown flags and
 * reserved fields are -EINVAL, ranges checked for wraparound), lock, act,
 * unlock, copy out (-EFAULT on a bad pointer).
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "ckvm.h"
#include "trace.h"

MODULE_AUTHOR("The ckvm developers");
MODULE_DESCRIPTION("ckvm: a small KVM-compatible hypervisor");
MODULE_LICENSE("GPL");

static const struct file_operations ckvm_vm_fops;
static const struct file_operations ckvm_vcpu_fops;

/* ---- memory slots ---- */

/* Index of the first slot that ends above @gfn (slots are sorted). */
static int memslot_lower_bound(struct ckvm_memslots *slots, gfn_t gfn)
{
	int lo = 0, hi = slots->nr;

	while (lo < hi) {
		int mid = (lo + hi) / 2;
		struct ckvm_memslot *s = slots->slots[mid];

		if (s->base_gfn + s->npages <= gfn)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Caller holds vm->srcu or vm->slots_lock. */
struct ckvm_memslot *ckvm_gfn_to_memslot(struct ckvm *vm, gfn_t gfn)
{
	struct ckvm_memslots *slots = ckvm_memslots(vm);
	int i = memslot_lower_bound(slots, gfn);

	if (i < slots->nr && slots->slots[i]->base_gfn <= gfn)
		return slots->slots[i];
	return NULL;
}

static unsigned long gfn_to_hva(struct ckvm *vm, gfn_t gfn)
{
	struct ckvm_memslot *slot = ckvm_gfn_to_memslot(vm, gfn);

	if (!slot)
		return 0;
	return slot->userspace_addr + ((gfn - slot->base_gfn) << PAGE_SHIFT);
}

/*
 * Guest memory is the VMM's user memory, so these run in the VMM's context
 * (KVM_RUN and friends) with vm->srcu held.
 */
int ckvm_read_guest(struct ckvm *vm, gpa_t gpa, void *data, unsigned long len)
{
	while (len) {
		unsigned long off = offset_in_page(gpa);
		unsigned long n = min(len, PAGE_SIZE - off);
		unsigned long hva = gfn_to_hva(vm, gpa >> PAGE_SHIFT);

		if (!hva || copy_from_user(data, (void __user *)(hva + off), n))
			return -EFAULT;
		gpa += n;
		data += n;
		len -= n;
	}
	return 0;
}

/*
 * Writes bypass the nested page tables, so they mark the pages dirty for
 * KVM_GET_DIRTY_LOG themselves. A read-only slot is not written: -EFAULT.
 */
int ckvm_write_guest(struct ckvm *vm, gpa_t gpa, const void *data,
		     unsigned long len)
{
	while (len) {
		unsigned long off = offset_in_page(gpa);
		unsigned long n = min(len, PAGE_SIZE - off);
		struct ckvm_memslot *slot = ckvm_gfn_to_memslot(vm, gpa >> PAGE_SHIFT);
		unsigned long hva;

		if (!slot || (slot->flags & KVM_MEM_READONLY))
			return -EFAULT;
		hva = slot->userspace_addr +
		      ((gpa >> PAGE_SHIFT) - slot->base_gfn) * PAGE_SIZE;
		if (copy_to_user((void __user *)(hva + off), data, n))
			return -EFAULT;
		if (slot->dirty_bitmap)
			set_bit((gpa >> PAGE_SHIFT) - slot->base_gfn,
				slot->dirty_bitmap);
		gpa += n;
		data += n;
		len -= n;
	}
	return 0;
}

/**
 * ckvm_mark_page_dirty() - note a write the nested page tables did not see
 * @vm: the VM; caller holds vm->srcu or vm->slots_lock.
 * @gfn: the guest frame written (by the kernel on the guest's behalf).
 *
 * Sets the frame's bit in its slot's dirty bitmap while the slot logs
 * (KVM_MEM_LOG_DIRTY_PAGES); nothing otherwise.
 */
void ckvm_mark_page_dirty(struct ckvm *vm, gfn_t gfn)
{
	struct ckvm_memslot *slot = ckvm_gfn_to_memslot(vm, gfn);

	if (slot && slot->dirty_bitmap)
		set_bit(gfn - slot->base_gfn, slot->dirty_bitmap);
}

/* The published slot @id, or NULL. Caller holds slots_lock. */
static struct ckvm_memslot *id_to_memslot(struct ckvm *vm, u16 id)
{
	lockdep_assert_held(&vm->slots_lock);
	return xa_load(&vm->memslot_ids, id);
}

static bool memslot_overlaps(struct ckvm_memslots *slots, u16 id,
			     gfn_t base, u64 npages)
{
	int i;

	/* Slots don't overlap each other, so at most two candidates. */
	for (i = memslot_lower_bound(slots, base); i < slots->nr; i++) {
		struct ckvm_memslot *s = slots->slots[i];

		if (s->base_gfn >= base + npages)
			return false;
		if (s->id != id)
			return true;
	}
	return false;
}

static struct ckvm_memslots *memslots_alloc(int capacity)
{
	struct ckvm_memslots *slots;

	slots = kvmalloc(struct_size(slots, slots, capacity),
			 GFP_KERNEL_ACCOUNT);
	if (slots) {
		slots->nr = 0;
		slots->capacity = capacity;
		slots->npages = 0;
	}
	return slots;
}

/*
 * Remove the pointer at index @remove of @slots (if >= 0), then insert
 * @slot (if any) at the index its base_gfn sorts to, moving only the
 * pointers after each place. Returns that index, or -1. Caller holds
 * slots_lock; @slots is not published.
 */
static int memslots_splice(struct ckvm_memslots *slots, int remove,
			   struct ckvm_memslot *slot)
{
	const size_t ptr = sizeof(slots->slots[0]);
	int i;

	if (remove >= 0) {
		memmove(slots->slots + remove, slots->slots + remove + 1,
			(slots->nr - remove - 1) * ptr);
		slots->nr--;
	}
	if (!slot)
		return -1;
	i = memslot_lower_bound(slots, slot->base_gfn);
	memmove(slots->slots + i + 1, slots->slots + i, (slots->nr - i) * ptr);
	slots->slots[i] = slot;
	slots->nr++;
	return i;
}

/*
 * A copy of the published snapshot @cur, unpublished, with room for one
 * more slot. The spare snapshot (the one @cur replaced) is that copy after
 * replaying on it the one change that made @cur (vm->memslots_last): for
 * a VMM that adds slot after slot upwards that moves no pointer at all.
 * Otherwise a new array is allocated, with room to grow so that this is
 * rare (init_on_alloc clears every one), and @cur copied into it.
 */
static struct ckvm_memslots *memslots_copy(struct ckvm *vm,
					   struct ckvm_memslots *cur)
{
	struct ckvm_memslots *spare = vm->memslots_spare;
	const struct ckvm_memslots_change *last = &vm->memslots_last;
	int nr;

	vm->memslots_spare = NULL;
	if (spare && spare->capacity > cur->nr) {
		memslots_splice(spare, last->remove,
				last->insert >= 0 ? cur->slots[last->insert] : NULL);
		spare->npages = cur->npages;
		if (!WARN_ON_ONCE(spare->nr != cur->nr))
			return spare;
	}
	kvfree(spare);
	nr = cur->nr + 1;
	spare = memslots_alloc(min(nr + nr / 2 + 8, CKVM_USER_MEM_SLOTS + 1));
	if (!spare)
		return NULL;
	memcpy(spare->slots, cur->slots, cur->nr * sizeof(cur->slots[0]));
	spare->nr = cur->nr;
	spare->npages = cur->npages;
	return spare;
}

/*
 * A new snapshot in which @old_slot (if any) is replaced by @new_slot (if
 * any). Each place is found by binary search, which works because the
 * slots, sorted by base_gfn, do not overlap (@new_slot was checked against
 * all but @old_slot). The change is noted in @change for the next update
 * (memslots_copy()). NULL if memory ran out.
 */
static struct ckvm_memslots *memslots_build(struct ckvm *vm,
					    struct ckvm_memslot *old_slot,
					    struct ckvm_memslot *new_slot,
					    struct ckvm_memslots_change *change)
{
	struct ckvm_memslots *new;
	int remove = -1;

	lockdep_assert_held(&vm->slots_lock);
	new = memslots_copy(vm, ckvm_memslots(vm));
	if (!new)
		return NULL;
	if (old_slot) {
		remove = memslot_lower_bound(new, old_slot->base_gfn);
		if (WARN_ON_ONCE(remove >= new->nr ||
				 new->slots[remove] != old_slot)) {
			kvfree(new);
			return NULL;
		}
		new->npages -= old_slot->npages;
	}
	change->remove = remove;
	change->insert = memslots_splice(new, remove, new_slot);
	if (new_slot)
		new->npages += new_slot->npages;
	return new;
}

/*
 * Publish @new, made by @change. When the call returns no vCPU can see the
 * old snapshot (nor a slot only it had) any more; the caller frees such a
 * slot, and the old snapshot becomes the spare.
 */
static void memslots_publish(struct ckvm *vm, struct ckvm_memslots *new,
			     const struct ckvm_memslots_change *change)
{
	struct ckvm_memslots *old = ckvm_memslots(vm);

	rcu_assign_pointer(vm->memslots, new);
	synchronize_srcu_expedited(&vm->srcu);
	kvfree(vm->memslots_spare);	/* none: memslots_copy() took it */
	vm->memslots_spare = old;
	vm->memslots_last = *change;
	vm->stat.memslot_updates++;
	ckvm_arch_memslots_changed(vm);
}

/*
 * The checks of both memslot ioctls, on the larger struct. ckvm has no
 * guest_memfd, so KVM_MEM_GUEST_MEMFD is an unknown flag here (as in KVM
 * for a VM without private memory), and then guest_memfd and
 * guest_memfd_offset mean nothing and are not looked at (as in KVM).
 * pad1 and pad2 are reserved and must be 0; KVM does not check them.
 */
static int check_memory_region(const struct kvm_userspace_memory_region2 *mem)
{
	u64 end = mem->guest_phys_addr + mem->memory_size;

	if (mem->flags & ~(KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY))
		return -EINVAL;
	if (mem->pad1 || memchr_inv(mem->pad2, 0, sizeof(mem->pad2)))
		return -EINVAL;
	if ((mem->slot >> 16) || (u16)mem->slot >= CKVM_USER_MEM_SLOTS)
		return -EINVAL;
	if ((mem->memory_size | mem->guest_phys_addr | mem->userspace_addr) &
	    (PAGE_SIZE - 1))
		return -EINVAL;
	if (!access_ok((void __user *)(unsigned long)mem->userspace_addr,
		       mem->memory_size))
		return -EINVAL;
	if (end < mem->guest_phys_addr)
		return -EINVAL;
	if ((mem->memory_size >> PAGE_SHIFT) > CKVM_MEM_MAX_NR_PAGES)
		return -EINVAL;
	return 0;
}

static unsigned long dirty_bitmap_bytes(const struct ckvm_memslot *slot)
{
	return BITS_TO_LONGS(slot->npages) * sizeof(long);
}

/*
 * A slot and its arrays, once no snapshot can reach them; what @heir (the
 * slot that replaced it, or NULL) took over stays.
 */
static void memslot_free(struct ckvm_memslot *slot,
			 const struct ckvm_memslot *heir)
{
	ckvm_arch_memslot_free(slot, heir);
	if (!heir || heir->dirty_bitmap != slot->dirty_bitmap)
		kvfree(slot->dirty_bitmap);
	kfree(slot);
}

static int ckvm_set_memory_region(struct ckvm *vm,
				  const struct kvm_userspace_memory_region2 *mem)
{
	struct ckvm_memslot *old, *new = NULL;
	struct ckvm_memslots *slots, *next;
	struct ckvm_memslots_change change;
	bool logging;
	int r;

	r = check_memory_region(mem);
	if (r)
		return r;
	logging = mem->flags & KVM_MEM_LOG_DIRTY_PAGES;

	mutex_lock(&vm->slots_lock);
	slots = ckvm_memslots(vm);
	old = id_to_memslot(vm, mem->slot);

	if (!mem->memory_size) {
		/* Delete. */
		r = -EINVAL;
		if (!old)
			goto out;
		r = -ENOMEM;
		next = memslots_build(vm, old, NULL, &change);
		if (!next)
			goto out;
		ckvm_arch_memslot_removed(vm, old);
		xa_erase(&vm->memslot_ids, old->id);
		memslots_publish(vm, next, &change);
		trace_ckvm_memslot(CKVM_TRACE_SLOT_DELETE, old->id,
				   old->base_gfn << PAGE_SHIFT, old->npages,
				   old->userspace_addr, old->flags);
		memslot_free(old, NULL);
		r = 0;
		goto out;
	}

	if (old) {
		/*
		 * Only the guest address and the flags of a slot may change,
		 * and of the flags not KVM_MEM_READONLY (as KVM).
		 */
		r = -EINVAL;
		if (mem->userspace_addr != old->userspace_addr ||
		    (mem->memory_size >> PAGE_SHIFT) != old->npages ||
		    ((mem->flags ^ old->flags) & KVM_MEM_READONLY))
			goto out;
		r = 0;
		if ((mem->guest_phys_addr >> PAGE_SHIFT) == old->base_gfn &&
		    mem->flags == old->flags)
			goto out;
	}

	r = -EEXIST;
	if (memslot_overlaps(slots, mem->slot, mem->guest_phys_addr >> PAGE_SHIFT,
			     mem->memory_size >> PAGE_SHIFT))
		goto out;

	r = -ENOMEM;
	new = kzalloc(sizeof(*new), GFP_KERNEL_ACCOUNT);
	if (!new)
		goto out;
	new->id = mem->slot;
	new->base_gfn = mem->guest_phys_addr >> PAGE_SHIFT;
	new->npages = mem->memory_size >> PAGE_SHIFT;
	new->userspace_addr = mem->userspace_addr;
	new->flags = mem->flags;
	/* A slot that keeps logging keeps its bitmap (moved to @new below). */
	if (logging && !(old && old->dirty_bitmap)) {
		new->dirty_bitmap = kvzalloc(dirty_bitmap_bytes(new),
					     GFP_KERNEL_ACCOUNT);
		if (!new->dirty_bitmap)
			goto out;
	} else if (logging) {
		new->dirty_bitmap = old->dirty_bitmap;
	}

	/*
	 * A new id's place in the id index, taken now so that storing it
	 * below cannot fail; a replaced slot's entry is overwritten in place.
	 */
	if (!old && xa_reserve(&vm->memslot_ids, new->id, GFP_KERNEL_ACCOUNT))
		goto out;
	next = memslots_build(vm, old, new, &change);
	if (!next)
		goto out_release;
	r = ckvm_arch_memslot_create(vm, old, new);
	if (r) {
		kvfree(next);
		goto out_release;
	}
	/* A moved slot's old mappings go while its old place is published. */
	if (old && old->base_gfn != new->base_gfn)
		ckvm_arch_memslot_removed(vm, old);
	xa_store(&vm->memslot_ids, new->id, new, GFP_KERNEL_ACCOUNT);
	memslots_publish(vm, next, &change);
	trace_ckvm_memslot(old ? CKVM_TRACE_SLOT_MOVE : CKVM_TRACE_SLOT_CREATE,
			   new->id, new->base_gfn << PAGE_SHIFT, new->npages,
			   new->userspace_addr, new->flags);
	if (logging && !(old && (old->flags & KVM_MEM_LOG_DIRTY_PAGES)) &&
	    !(old && old->base_gfn != new->base_gfn))
		ckvm_arch_memslot_log_dirty(vm, new);
	if (old)
		memslot_free(old, new);
	new = NULL;
	goto out;
out_release:
	if (!old)
		xa_release(&vm->memslot_ids, new->id);
out:
	if (new) {
		/* Not published: free what was allocated for it, not old's. */
		memslot_free(new, old);
	}
	mutex_unlock(&vm->slots_lock);
	return r;
}

/*
 * KVM_GET_DIRTY_LOG: the pages written since the last call, and from now
 * on a write to any of them is noticed again.
 */
static int ckvm_get_dirty_log(struct ckvm *vm, const struct kvm_dirty_log *log)
{
	struct ckvm_memslot *slot;
	unsigned long *buf = NULL;
	unsigned long n = 0;
	int r;

	if ((log->slot >> 16) || (u16)log->slot >= CKVM_USER_MEM_SLOTS)
		return -EINVAL;

	mutex_lock(&vm->slots_lock);
	slot = id_to_memslot(vm, log->slot);
	r = -ENOENT;
	if (!slot || !slot->dirty_bitmap)
		goto out;
	n = dirty_bitmap_bytes(slot);
	r = -ENOMEM;
	buf = kvzalloc(n, GFP_KERNEL_ACCOUNT);
	if (!buf)
		goto out;
	ckvm_arch_get_dirty_log(vm, slot, buf);
	r = 0;
out:
	mutex_unlock(&vm->slots_lock);
	if (!r && copy_to_user(log->dirty_bitmap, buf, n))
		r = -EFAULT;
	kvfree(buf);
	return r;
}

/* ---- requests to vCPUs ---- */

void ckvm_make_request(struct ckvm_vcpu *vcpu, int req)
{
	/* Pairs with the barrier after vcpu->mode is set in the run loop. */
	set_bit(req, &vcpu->requests);
}

bool ckvm_check_request(struct ckvm_vcpu *vcpu, int req)
{
	if (!test_bit(req, &vcpu->requests))
		return false;
	clear_bit(req, &vcpu->requests);
	/* The request's data is read after the bit is seen clear. */
	smp_mb__after_atomic();
	return true;
}

static void ckvm_ack_kick(void *info)
{
}

/*
 * Make @req on every vCPU and wait until none of them is still in guest
 * mode with the old state: a vCPU in the guest is sent an IPI, which exits
 * it; when the IPI has been acknowledged it has left the guest and will see
 * the request before its next entry.
 */
void ckvm_make_all_vcpus_request(struct ckvm *vm, int req)
{
	cpumask_var_t cpus;
	int i, me;

	if (req == CKVM_REQ_TLB_FLUSH)
		atomic64_inc(&vm->stat.remote_tlb_flush_requests);
	/* Atomic: MMU notifiers call this where sleeping is not allowed. */
	if (!zalloc_cpumask_var(&cpus, GFP_ATOMIC | __GFP_NOWARN)) {
		/* Rare: fall back to every CPU. */
		for (i = 0; i < READ_ONCE(vm->nr_vcpus); i++)
			ckvm_make_request(vm->vcpus[i], req);
		/* Requests visible before the IPIs that make vCPUs look. */
		smp_mb();
		on_each_cpu(ckvm_ack_kick, NULL, 1);
		return;
	}
	me = get_cpu();
	for (i = 0; i < READ_ONCE(vm->nr_vcpus); i++) {
		struct ckvm_vcpu *vcpu = vm->vcpus[i];
		int cpu;

		ckvm_make_request(vcpu, req);
		/* Set the request, then read the mode (vcpu_enter_guest pairs). */
		smp_mb__after_atomic();
		cpu = READ_ONCE(vcpu->cpu);
		if (READ_ONCE(vcpu->mode) != CKVM_OUTSIDE_GUEST_MODE &&
		    cpu >= 0 && cpu != me)
			__cpumask_set_cpu(cpu, cpus);
	}
	smp_call_function_many(cpus, ckvm_ack_kick, NULL, true);
	put_cpu();
	free_cpumask_var(cpus);
}

/*
 * Make a vCPU look at its requests and pending events soon: wake it if it
 * is blocked in ckvm_vcpu_block(), and if it is in the guest on another
 * CPU, send that CPU an IPI, which exits the guest. Any context, also
 * hard interrupts (timers).
 */
void ckvm_vcpu_kick(struct ckvm_vcpu *vcpu)
{
	int cpu, me;

	rcuwait_wake_up(&vcpu->wait);
	/* The caller's event is visible before the mode is read. */
	smp_mb();
	me = get_cpu();
	cpu = READ_ONCE(vcpu->cpu);
	if (READ_ONCE(vcpu->mode) == CKVM_IN_GUEST_MODE && cpu >= 0 &&
	    cpu != me)
		smp_send_reschedule(cpu);
	put_cpu();
}

/*
 * Sleep until @wake says the vCPU has something to do or a signal
 * arrives. Requests alone do not wake it: they are for the next guest
 * entry, and a halted vCPU makes none. The caller holds no SRCU read
 * lock: a halted vCPU must not hold up memslot updates.
 */
void ckvm_vcpu_block(struct ckvm_vcpu *vcpu, bool (*wake)(struct ckvm_vcpu *))
{
	rcuwait_wait_event(&vcpu->wait, wake(vcpu) || signal_pending(current),
			   TASK_INTERRUPTIBLE);
}

/* ---- vCPU scheduling ---- */

static inline struct ckvm_vcpu *preempt_notifier_to_vcpu(struct preempt_notifier *pn)
{
	return container_of(pn, struct ckvm_vcpu, preempt_notifier);
}

static void ckvm_sched_in(struct preempt_notifier *pn, int cpu)
{
	ckvm_arch_vcpu_load(preempt_notifier_to_vcpu(pn), cpu);
}

static void ckvm_sched_out(struct preempt_notifier *pn, struct task_struct *next)
{
	ckvm_arch_vcpu_put(preempt_notifier_to_vcpu(pn));
}

static struct preempt_ops ckvm_preempt_ops = {
	.sched_in = ckvm_sched_in,
	.sched_out = ckvm_sched_out,
};

/* Bind the vCPU to this thread's CPU until ckvm_vcpu_put(). */
void ckvm_vcpu_load(struct ckvm_vcpu *vcpu)
{
	int cpu = get_cpu();

	preempt_notifier_register(&vcpu->preempt_notifier);
	ckvm_arch_vcpu_load(vcpu, cpu);
	put_cpu();
}

void ckvm_vcpu_put(struct ckvm_vcpu *vcpu)
{
	preempt_disable();
	ckvm_arch_vcpu_put(vcpu);
	preempt_notifier_unregister(&vcpu->preempt_notifier);
	preempt_enable();
}

/* ---- VM lifetime ---- */

static void ckvm_vm_destroy(struct ckvm *vm)
{
	struct ckvm_memslots *slots;
	int i;

	ckvm_stats_debugfs_vm_remove(vm);
	/* Devices that kick vCPUs (timers) stop before the vCPUs go. */
	ckvm_arch_vm_pre_destroy(vm);
	for (i = 0; i < vm->nr_vcpus; i++) {
		struct ckvm_vcpu *vcpu = vm->vcpus[i];

		ckvm_arch_vcpu_free(vcpu);
		free_page((unsigned long)vcpu->run);
		free_page((unsigned long)vcpu->pio_data);
		kfree(vcpu);
	}
	/* Devices first: the IOAPIC's is the irqchip's, freed by the arch. */
	ckvm_io_bus_destroy(vm);
	ckvm_coalesced_mmio_free(vm);
	ckvm_arch_vm_destroy(vm);
	ckvm_irq_routing_free(vm);
	slots = rcu_dereference_protected(vm->memslots, 1);
	for (i = 0; i < slots->nr; i++)
		memslot_free(slots->slots[i], NULL);
	kvfree(slots);
	kvfree(vm->memslots_spare);
	xa_destroy(&vm->memslot_ids);
	cleanup_srcu_struct(&vm->srcu);
	mmdrop(vm->mm);
	kfree(vm);
}

void ckvm_vm_get(struct ckvm *vm)
{
	refcount_inc(&vm->users);
}

void ckvm_vm_put(struct ckvm *vm)
{
	if (refcount_dec_and_test(&vm->users))
		ckvm_vm_destroy(vm);
}

static struct ckvm *ckvm_vm_create(unsigned long type)
{
	struct ckvm *vm;
	int r = -ENOMEM;

	if (type)
		return ERR_PTR(-EINVAL);

	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm)
		return ERR_PTR(-ENOMEM);
	mutex_init(&vm->lock);
	mutex_init(&vm->slots_lock);
	refcount_set(&vm->users, 1);
	vm->pid = task_pid_nr(current);
	vm->mm = current->mm;
	mmgrab(vm->mm);
	INIT_LIST_HEAD(&vm->ioeventfds);
	ckvm_irqfds_init(vm);

	xa_init(&vm->memslot_ids);
	RCU_INIT_POINTER(vm->memslots, memslots_alloc(0));
	if (!rcu_access_pointer(vm->memslots))
		goto err_slots;
	r = init_srcu_struct(&vm->srcu);
	if (r)
		goto err_srcu;
	r = ckvm_coalesced_mmio_init(vm);
	if (r)
		goto err_coalesced;
	r = ckvm_irq_routing_init(vm);
	if (r)
		goto err_irq;
	r = ckvm_arch_vm_init(vm);
	if (r)
		goto err_arch;
	return vm;

err_arch:
	ckvm_irq_routing_free(vm);
err_irq:
	ckvm_coalesced_mmio_free(vm);
err_coalesced:
	cleanup_srcu_struct(&vm->srcu);
err_srcu:
	kvfree(rcu_dereference_protected(vm->memslots, 1));
err_slots:
	mmdrop(vm->mm);
	kfree(vm);
	return ERR_PTR(r);
}

/* ---- vCPU file descriptor ---- */

static vm_fault_t ckvm_vcpu_fault(struct vm_fault *vmf)
{
	struct ckvm_vcpu *vcpu = vmf->vma->vm_file->private_data;
	struct page *page;

	if (vmf->pgoff == 0)
		page = virt_to_page(vcpu->run);
	else if (vmf->pgoff == CKVM_PIO_PAGE_OFFSET)
		page = virt_to_page(vcpu->pio_data);
	else if (vmf->pgoff == KVM_COALESCED_MMIO_PAGE_OFFSET)
		page = virt_to_page(vcpu->vm->coalesced_ring);
	else
		return VM_FAULT_SIGBUS;
	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct ckvm_vcpu_vm_ops = {
	.fault = ckvm_vcpu_fault,
};

static int ckvm_vcpu_mmap(struct file *file, struct vm_area_struct *vma)
{
	vma->vm_ops = &ckvm_vcpu_vm_ops;
	return 0;
}

static int ckvm_vcpu_release(struct inode *inode, struct file *file)
{
	struct ckvm_vcpu *vcpu = file->private_data;

	ckvm_vm_put(vcpu->vm);
	return 0;
}

/*
 * KVM_SET_SIGNAL_MASK: the signals blocked while KVM_RUN runs (NULL: the
 * thread's own mask then). The mask is a kernel sigset_t: any other
 * length is -EINVAL. SIGKILL and SIGSTOP cannot be blocked.
 */
static long ckvm_vcpu_set_sigmask(struct ckvm_vcpu *vcpu,
				  struct kvm_signal_mask __user *argp)
{
	struct kvm_signal_mask hdr;
	sigset_t set;

	if (!argp) {
		vcpu->sigset_active = false;
		return 0;
	}
	if (copy_from_user(&hdr, argp, sizeof(hdr)))
		return -EFAULT;
	if (hdr.len != sizeof(set))
		return -EINVAL;
	if (copy_from_user(&set, argp->sigset, sizeof(set)))
		return -EFAULT;
	sigdelsetmask(&set, sigmask(SIGKILL) | sigmask(SIGSTOP));
	vcpu->sigset = set;
	vcpu->sigset_active = true;
	return 0;
}

/*
 * KVM_RUN with the vCPU's signal mask in force, if it has one: a signal
 * blocked there stays pending and does not stop the guest; the thread's
 * mask comes back before returning, so one that arrived is delivered on
 * the way out.
 */
static long ckvm_vcpu_run(struct ckvm_vcpu *vcpu)
{
	sigset_t saved;
	long r;

	if (vcpu->sigset_active)
		sigprocmask(SIG_SETMASK, &vcpu->sigset, &saved);
	r = ckvm_arch_vcpu_run(vcpu);
	if (vcpu->sigset_active)
		sigprocmask(SIG_SETMASK, &saved, NULL);
	return r;
}

static long ckvm_vcpu_ioctl(struct file *file, unsigned int ioctl,
			    unsigned long arg)
{
	struct ckvm_vcpu *vcpu = file->private_data;
	long r;

	if (vcpu->vm->mm != current->mm)
		return -EIO;
	if (mutex_lock_killable(&vcpu->mutex))
		return -EINTR;
	switch (ioctl) {
	case KVM_RUN:
		r = -EINVAL;
		if (arg)
			break;
		vcpu->stat.run_ioctls++;
		r = ckvm_vcpu_run(vcpu);
		break;
	case KVM_SET_SIGNAL_MASK:
		r = ckvm_vcpu_set_sigmask(vcpu, (void __user *)arg);
		break;
	case KVM_GET_STATS_FD:
		r = ckvm_vcpu_stats_fd(vcpu);
		break;
	default:
		r = ckvm_arch_vcpu_ioctl(vcpu, ioctl, arg);
		break;
	}
	mutex_unlock(&vcpu->mutex);
	return r;
}

static const struct file_operations ckvm_vcpu_fops = {
	.owner = THIS_MODULE,
	.release = ckvm_vcpu_release,
	.unlocked_ioctl = ckvm_vcpu_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = ckvm_vcpu_mmap,
	.llseek = noop_llseek,
};

static int ckvm_vm_create_vcpu(struct ckvm *vm, unsigned long id)
{
	struct ckvm_vcpu *vcpu;
	char name[24];
	int i, r, fd;

	if (id >= CKVM_MAX_VCPU_IDS)
		return -EINVAL;

	vcpu = kzalloc(sizeof(*vcpu), GFP_KERNEL_ACCOUNT);
	if (!vcpu)
		return -ENOMEM;
	/* Single pages: mmap takes and drops references on each. */
	vcpu->run = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	vcpu->pio_data = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	r = -ENOMEM;
	if (!vcpu->run || !vcpu->pio_data)
		goto err_free;
	vcpu->vm = vm;
	vcpu->vcpu_id = id;
	vcpu->cpu = -1;
	mutex_init(&vcpu->mutex);
	rcuwait_init(&vcpu->wait);
	preempt_notifier_init(&vcpu->preempt_notifier, &ckvm_preempt_ops);

	mutex_lock(&vm->lock);
	r = -EINVAL;
	if (vm->nr_vcpus >= CKVM_MAX_VCPUS)
		goto err_unlock;
	/*
	 * From here on the vCPU id limit is fixed, at the default if
	 * userspace chose none, even if this creation fails below: as in
	 * KVM, whose kvm_arch_vcpu_precreate() does the same.
	 */
	if (!vm->max_vcpu_ids)
		vm->max_vcpu_ids = CKVM_MAX_VCPU_IDS;
	if (id >= vm->max_vcpu_ids)
		goto err_unlock;
	r = -EEXIST;
	for (i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i]->vcpu_id == id)
			goto err_unlock;

	r = ckvm_arch_vcpu_create(vcpu);
	if (r)
		goto err_unlock;

	snprintf(name, sizeof(name), "kvm-vcpu:%lu", id);
	refcount_inc(&vm->users);
	fd = anon_inode_getfd(name, &ckvm_vcpu_fops, vcpu, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		refcount_dec(&vm->users);
		ckvm_arch_vcpu_free(vcpu);
		r = fd;
		goto err_unlock;
	}
	vcpu->index = vm->nr_vcpus;
	vm->vcpus[vcpu->index] = vcpu;
	/* Publish the vCPU only after it is whole (kicks read vcpus[]). */
	smp_store_release(&vm->nr_vcpus, vm->nr_vcpus + 1);
	mutex_unlock(&vm->lock);
	return fd;

err_unlock:
	mutex_unlock(&vm->lock);
err_free:
	free_page((unsigned long)vcpu->run);
	free_page((unsigned long)vcpu->pio_data);
	kfree(vcpu);
	return r;
}

/* ---- VM file descriptor ---- */

static long ckvm_check_extension(long ext)
{
	switch (ext) {
	case KVM_CAP_USER_MEMORY:
	case KVM_CAP_USER_MEMORY2:
	case KVM_CAP_IMMEDIATE_EXIT:
	case KVM_CAP_ENABLE_CAP_VM:
	case KVM_CAP_DESTROY_MEMORY_REGION_WORKS:
	case KVM_CAP_JOIN_MEMORY_REGIONS_WORKS:
	case KVM_CAP_BINARY_STATS_FD:
	case KVM_CAP_READONLY_MEM:
		return 1;
	case KVM_CAP_NR_VCPUS:
	case KVM_CAP_MAX_VCPUS:
		return CKVM_MAX_VCPUS;
	case KVM_CAP_MAX_VCPU_ID:
		return CKVM_MAX_VCPU_IDS;
	case KVM_CAP_NR_MEMSLOTS:
		return CKVM_USER_MEM_SLOTS;
	/* In-kernel I/O devices and interrupts from userspace. */
	case KVM_CAP_IOEVENTFD:
	case KVM_CAP_IOEVENTFD_ANY_LENGTH:
	case KVM_CAP_IOEVENTFD_NO_LENGTH:
	case KVM_CAP_COALESCED_PIO:
	case KVM_CAP_IRQFD:
	case KVM_CAP_IRQFD_RESAMPLE:
	case KVM_CAP_SIGNAL_MSI:
		return 1;
	case KVM_CAP_COALESCED_MMIO:
		return KVM_COALESCED_MMIO_PAGE_OFFSET;
	case KVM_CAP_IRQ_ROUTING:
		return CKVM_MAX_IRQ_ROUTES;
	default:
		return ckvm_arch_check_extension(ext);
	}
}

/*
 * KVM_ENABLE_CAP on a VM. KVM_CAP_MAX_VCPU_ID sets the vCPU id limit
 * once. Freeze rule: once the limit is fixed, by this call or by the first
 * KVM_CREATE_VCPU (which fixes the default), the same value again is
 * accepted and any other is -EINVAL, as in KVM. 0 leaves it unset.
 */
static int ckvm_vm_enable_cap(struct ckvm *vm, const struct kvm_enable_cap *cap)
{
	int r = -EINVAL;

	if (cap->flags)
		return -EINVAL;
	switch (cap->cap) {
	case KVM_CAP_MAX_VCPU_ID:
		if (cap->args[0] > CKVM_MAX_VCPU_IDS)
			return -EINVAL;
		mutex_lock(&vm->lock);
		if (!vm->max_vcpu_ids || vm->max_vcpu_ids == cap->args[0]) {
			vm->max_vcpu_ids = cap->args[0];
			r = 0;
		}
		mutex_unlock(&vm->lock);
		return r;
	default:
		return ckvm_arch_vm_enable_cap(vm, cap);
	}
}

/*
 * KVM_SET_GSI_ROUTING: KVM's checks in KVM's order (-EINVAL without an
 * in-kernel irqchip, for more than CKVM_MAX_IRQ_ROUTES entries, for
 * flags), then the entries (irq_routing.c).
 */
static int ckvm_vm_set_gsi_routing(struct ckvm *vm,
				   struct kvm_irq_routing __user *argp)
{
	struct kvm_irq_routing_entry *entries = NULL;
	struct kvm_irq_routing routing;
	int r;

	if (copy_from_user(&routing, argp, sizeof(routing)))
		return -EFAULT;
	if (!ckvm_arch_irqchip_in_kernel(vm) ||
	    routing.nr > CKVM_MAX_IRQ_ROUTES || routing.flags)
		return -EINVAL;
	if (routing.nr) {
		entries = vmemdup_user(argp->entries,
				       array_size(sizeof(*entries), routing.nr));
		if (IS_ERR(entries))
			return PTR_ERR(entries);
	}
	r = ckvm_set_irq_routing(vm, entries, routing.nr);
	kvfree(entries);
	return r;
}

/*
 * KVM_CREATE_DEVICE: ckvm has no device of the KVM device API (on x86
 * KVM's only one is the VFIO pseudo-device, KVM_DEV_TYPE_VFIO), so every
 * type gets KVM's answer for a type it lacks, -ENODEV, after the argument
 * is read (-EFAULT), also with KVM_CREATE_DEVICE_TEST. KVM checks no
 * flags here, nor does ckvm.
 */
static int ckvm_vm_create_device(struct kvm_create_device __user *argp)
{
	struct kvm_create_device cd;

	if (copy_from_user(&cd, argp, sizeof(cd)))
		return -EFAULT;
	return -ENODEV;
}

/*
 * KVM_SET_USER_MEMORY_REGION and KVM_SET_USER_MEMORY_REGION2: one path.
 * The first is the leading part of the second (asserted below); its
 * missing fields read as 0, so both go through the same checks.
 */
static int ckvm_vm_set_user_memory_region(struct ckvm *vm, unsigned int ioctl,
					  void __user *argp)
{
	struct kvm_userspace_memory_region2 mem = {};
	size_t size = sizeof(mem);

	static_assert(offsetof(struct kvm_userspace_memory_region2, userspace_addr) ==
		      offsetof(struct kvm_userspace_memory_region, userspace_addr));
	static_assert(offsetofend(struct kvm_userspace_memory_region2, userspace_addr) ==
		      sizeof(struct kvm_userspace_memory_region));

	if (ioctl == KVM_SET_USER_MEMORY_REGION)
		size = sizeof(struct kvm_userspace_memory_region);
	if (copy_from_user(&mem, argp, size))
		return -EFAULT;
	return ckvm_set_memory_region(vm, &mem);
}

static int ckvm_vm_release(struct inode *inode, struct file *file)
{
	struct ckvm *vm = file->private_data;

	/* Irqfds hold no reference on the VM: they go first. */
	ckvm_irqfd_release(vm);
	ckvm_vm_put(vm);
	return 0;
}

static long ckvm_vm_ioctl(struct file *file, unsigned int ioctl,
			  unsigned long arg)
{
	struct ckvm *vm = file->private_data;
	void __user *argp = (void __user *)arg;
	struct kvm_coalesced_mmio_zone zone;
	struct kvm_ioeventfd ioeventfd;
	struct kvm_irqfd irqfd;
	struct kvm_dirty_log log;
	struct kvm_enable_cap cap;

	if (vm->mm != current->mm)
		return -EIO;
	switch (ioctl) {
	case KVM_CREATE_VCPU:
		return ckvm_vm_create_vcpu(vm, arg);
	case KVM_SET_USER_MEMORY_REGION:
	case KVM_SET_USER_MEMORY_REGION2:
		return ckvm_vm_set_user_memory_region(vm, ioctl, argp);
	case KVM_GET_DIRTY_LOG:
		if (copy_from_user(&log, argp, sizeof(log)))
			return -EFAULT;
		return ckvm_get_dirty_log(vm, &log);
	case KVM_ENABLE_CAP:
		if (copy_from_user(&cap, argp, sizeof(cap)))
			return -EFAULT;
		return ckvm_vm_enable_cap(vm, &cap);
	case KVM_CHECK_EXTENSION:
		return ckvm_check_extension(arg);
	case KVM_GET_STATS_FD:
		return ckvm_vm_stats_fd(vm);
	case KVM_IOEVENTFD:
		if (copy_from_user(&ioeventfd, argp, sizeof(ioeventfd)))
			return -EFAULT;
		return ckvm_ioeventfd(vm, &ioeventfd);
	case KVM_IRQFD:
		if (copy_from_user(&irqfd, argp, sizeof(irqfd)))
			return -EFAULT;
		return ckvm_irqfd(vm, &irqfd);
	case KVM_SET_GSI_ROUTING:
		return ckvm_vm_set_gsi_routing(vm, argp);
	case KVM_CREATE_DEVICE:
		return ckvm_vm_create_device(argp);
	case KVM_REGISTER_COALESCED_MMIO:
	case KVM_UNREGISTER_COALESCED_MMIO:
		if (copy_from_user(&zone, argp, sizeof(zone)))
			return -EFAULT;
		if (ioctl == KVM_REGISTER_COALESCED_MMIO)
			return ckvm_register_coalesced_mmio(vm, &zone);
		return ckvm_unregister_coalesced_mmio(vm, &zone);
	default:
		return ckvm_arch_vm_ioctl(vm, ioctl, arg);
	}
}

static const struct file_operations ckvm_vm_fops = {
	.owner = THIS_MODULE,
	.release = ckvm_vm_release,
	.unlocked_ioctl = ckvm_vm_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

/* ---- /dev/kvm ---- */

static int ckvm_dev_create_vm(unsigned long type)
{
	struct ckvm *vm;
	int fd;

	vm = ckvm_vm_create(type);
	if (IS_ERR(vm))
		return PTR_ERR(vm);
	/* Held across: the fd may be closed as soon as it is installed. */
	ckvm_vm_get(vm);
	fd = anon_inode_getfd("kvm-vm", &ckvm_vm_fops, vm, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		ckvm_vm_put(vm);
	else
		ckvm_stats_debugfs_vm_add(vm, fd);
	ckvm_vm_put(vm);
	return fd;
}

static long ckvm_dev_ioctl(struct file *filp, unsigned int ioctl,
			   unsigned long arg)
{
	switch (ioctl) {
	case KVM_GET_API_VERSION:
		if (arg)
			return -EINVAL;
		return KVM_API_VERSION;
	case KVM_CREATE_VM:
		return ckvm_dev_create_vm(arg);
	case KVM_CHECK_EXTENSION:
		return ckvm_check_extension(arg);
	case KVM_GET_VCPU_MMAP_SIZE:
		if (arg)
			return -EINVAL;
		return CKVM_RUN_MMAP_PAGES * PAGE_SIZE;
	default:
		return ckvm_arch_dev_ioctl(ioctl, arg);
	}
}

static const struct file_operations ckvm_dev_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = ckvm_dev_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice ckvm_dev = {
	.minor = KVM_MINOR,
	.name = "kvm",
	.fops = &ckvm_dev_fops,
};

static int __init ckvm_init(void)
{
	int r;

	preempt_notifier_inc();
	r = ckvm_irqfd_init();
	if (r)
		goto err_irqfd;
	r = ckvm_arch_init();
	if (r)
		goto err_arch;

	ckvm_stats_debugfs_init();
	/* A taken minor means another KVM module is loaded. */
	r = misc_register(&ckvm_dev);
	if (r == -EBUSY)
		pr_err("ckvm: /dev/kvm is taken by another hypervisor module: unload it first (rmmod kvm_amd kvm_intel kvm)\n");
	else if (r)
		pr_err("ckvm: cannot register /dev/kvm (error %d)\n", r);
	if (r)
		goto err_misc;
	return 0;

err_misc:
	ckvm_stats_debugfs_exit();
	ckvm_arch_exit();
err_arch:
	ckvm_irqfd_exit();
err_irqfd:
	preempt_notifier_dec();
	return r;
}

static void __exit ckvm_exit(void)
{
	misc_deregister(&ckvm_dev);
	ckvm_stats_debugfs_exit();
	ckvm_arch_exit();
	ckvm_irqfd_exit();
	preempt_notifier_dec();
}

module_init(ckvm_init);
module_exit(ckvm_exit);
