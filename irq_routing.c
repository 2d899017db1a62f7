// SPDX-License-Identifier: GPL-2.0
/*
 * GSI routing (KVM API 4.52 KVM_SET_GSI_ROUTING, KVM_CAP_IRQ_ROUTING):
 * which interrupt controller inputs or MSIs a GSI raises. Every way into
 * the in-kernel irqchip by number goes through it: KVM_IRQ_LINE(_STATUS),
 * irqfds, and the acknowledgement of a pin back to its GSI.
 *
 * The table is immutable once published: routes sorted by GSI (each
 * GSI's in the order userspace gave them), an index per GSI, and the
 * reverse map from an irqchip pin to its GSI. Writers build a new table
 * and publish it under vm->irq_lock; readers hold vm->irq_srcu, and the
 * old table is freed after synchronize_srcu_expedited(). Before
 * KVM_CREATE_IRQCHIP there is no table: no GSI goes anywhere.
 *
 * Validation is KVM's: at most 4096 routes, GSIs below 4096, no flags
 * but KVM_MSI_VALID_DEVID on an MSI route, at most one route per irqchip
 * for a GSI and nothing else beside an MSI route; the architecture checks
 * each entry's irqchip and pin.
 */
#include <linux/slab.h>

#include "ckvm.h"

struct ckvm_irq_routing {
	u32 nr_gsis;		/* map[] covers GSIs 0 .. nr_gsis - 1 */
	/* The GSI of each irqchip pin, or -1 (for acknowledgements). */
	int chip[CKVM_NR_IRQCHIPS][CKVM_IRQCHIP_NUM_PINS];
	struct ckvm_irq_route *routes;	/* sorted by GSI */
	struct {
		u32 first;	/* index in routes[] */
		u32 n;
	} map[];
};

static void routing_free(struct ckvm_irq_routing *rt)
{
	if (!rt)
		return;
	kvfree(rt->routes);
	kvfree(rt);
}

static struct ckvm_irq_routing *routing_get(struct ckvm *vm)
{
	return srcu_dereference_check(vm->irq_routing, &vm->irq_srcu,
				      lockdep_is_held(&vm->irq_lock));
}

/**
 * ckvm_irq_routing_init() - a new VM's (empty) routing state
 * @vm: the VM being created.
 *
 * Return: 0 or -ENOMEM.
 */
int ckvm_irq_routing_init(struct ckvm *vm)
{
	mutex_init(&vm->irq_lock);
	INIT_HLIST_HEAD(&vm->irq_ack_notifiers);
	RCU_INIT_POINTER(vm->irq_routing, NULL);
	return init_srcu_struct(&vm->irq_srcu);
}

/**
 * ckvm_irq_routing_free() - free the routing state of a dying VM
 * @vm: the VM; its irqfds are gone (ckvm_irqfd_release()).
 */
void ckvm_irq_routing_free(struct ckvm *vm)
{
	routing_free(rcu_dereference_protected(vm->irq_routing, 1));
	cleanup_srcu_struct(&vm->irq_srcu);
}

/* Can @ue join the routes already placed for its GSI? (KVM's rule.) */
static bool route_fits(const struct ckvm_irq_route *placed, u32 n,
		       const struct kvm_irq_routing_entry *ue)
{
	u32 i;

	for (i = 0; i < n; i++)
		if (placed[i].type != KVM_IRQ_ROUTING_IRQCHIP ||
		    ue->type != KVM_IRQ_ROUTING_IRQCHIP ||
		    placed[i].irqchip.irqchip == ue->u.irqchip.irqchip)
			return false;
	return true;
}

/* Check and place the @nr entries of @ue into @rt; -EINVAL. */
static int routing_fill(struct ckvm *vm, struct ckvm_irq_routing *rt,
			const struct kvm_irq_routing_entry *ue, u32 nr)
{
	u32 i, first = 0;
	int r;

	for (i = 0; i < nr; i++)
		rt->map[ue[i].gsi].n++;
	for (i = 0; i < rt->nr_gsis; i++) {
		rt->map[i].first = first;
		first += rt->map[i].n;
		rt->map[i].n = 0;	/* counts again as they are placed */
	}
	for (i = 0; i < nr; i++) {
		u32 gsi = ue[i].gsi;
		struct ckvm_irq_route *placed = &rt->routes[rt->map[gsi].first];
		struct ckvm_irq_route *e = &placed[rt->map[gsi].n];

		if (ue[i].flags & ~(ue[i].type == KVM_IRQ_ROUTING_MSI ?
				    KVM_MSI_VALID_DEVID : 0))
			return -EINVAL;
		if (!route_fits(placed, rt->map[gsi].n, &ue[i]))
			return -EINVAL;
		e->gsi = gsi;
		e->type = ue[i].type;
		r = ckvm_arch_set_routing_entry(vm, e, &ue[i]);
		if (r)
			return r;
		if (e->type == KVM_IRQ_ROUTING_IRQCHIP)
			rt->chip[e->irqchip.irqchip][e->irqchip.pin] = gsi;
		rt->map[gsi].n++;
	}
	return 0;
}

/**
 * ckvm_set_irq_routing() - replace the GSI routing table
 * @vm: the VM.
 * @ue: @nr entries as KVM_SET_GSI_ROUTING gives them (copied in).
 * @nr: at most CKVM_MAX_IRQ_ROUTES (the caller checked).
 *
 * Takes vm->irq_lock; the irqfds follow the new routes. When it returns
 * no one uses the old table any more.
 *
 * Return: 0; -EINVAL for a GSI of CKVM_MAX_IRQ_ROUTES or more, flags, a
 * second route of a GSI that may not have one, or an entry the
 * architecture refuses; -ENOMEM.
 */
int ckvm_set_irq_routing(struct ckvm *vm, const struct kvm_irq_routing_entry *ue,
			 u32 nr)
{
	struct ckvm_irq_routing *new, *old;
	u32 i, j, nr_gsis = 1;
	int r;

	for (i = 0; i < nr; i++) {
		if (ue[i].gsi >= CKVM_MAX_IRQ_ROUTES)
			return -EINVAL;
		nr_gsis = max(nr_gsis, ue[i].gsi + 1);
	}
	new = kvzalloc(struct_size(new, map, nr_gsis), GFP_KERNEL_ACCOUNT);
	if (!new)
		return -ENOMEM;
	new->nr_gsis = nr_gsis;
	for (i = 0; i < CKVM_NR_IRQCHIPS; i++)
		for (j = 0; j < CKVM_IRQCHIP_NUM_PINS; j++)
			new->chip[i][j] = -1;
	if (nr) {
		new->routes = kvcalloc(nr, sizeof(*new->routes), GFP_KERNEL_ACCOUNT);
		if (!new->routes) {
			routing_free(new);
			return -ENOMEM;
		}
	}
	r = routing_fill(vm, new, ue, nr);
	if (r) {
		routing_free(new);
		return r;
	}

	mutex_lock(&vm->irq_lock);
	old = rcu_dereference_protected(vm->irq_routing,
					lockdep_is_held(&vm->irq_lock));
	rcu_assign_pointer(vm->irq_routing, new);
	ckvm_irqfd_routing_update(vm);
	ckvm_arch_irq_routing_update(vm);
	mutex_unlock(&vm->irq_lock);
	synchronize_srcu_expedited(&vm->irq_srcu);
	routing_free(old);
	return 0;
}

/**
 * ckvm_irq_map_gsi() - the routes of a GSI
 * @vm: the VM; the caller holds vm->irq_srcu or vm->irq_lock.
 * @gsi: the GSI.
 * @out: copies of its routes.
 *
 * Return: how many (0 to CKVM_NR_IRQCHIPS).
 */
int ckvm_irq_map_gsi(struct ckvm *vm, u32 gsi,
		     struct ckvm_irq_route out[CKVM_NR_IRQCHIPS])
{
	struct ckvm_irq_routing *rt = routing_get(vm);
	u32 i;

	if (!rt || gsi >= rt->nr_gsis)
		return 0;
	for (i = 0; i < rt->map[gsi].n; i++)
		out[i] = rt->routes[rt->map[gsi].first + i];
	return i;
}

/**
 * ckvm_set_irq() - drive a GSI
 * @vm: the VM.
 * @source: CKVM_USERSPACE_IRQ_SOURCE_ID or CKVM_IRQFD_RESAMPLE_IRQ_SOURCE_ID.
 * @gsi: the GSI.
 * @level: 1 high, 0 low (an MSI route only acts on 1).
 * @line_status: the caller reports the status to userspace.
 *
 * Process context, no lock held: the routes take their irqchip's lock.
 *
 * Return: KVM_IRQ_LINE_STATUS's status: the sum of what the routes that
 * did not ignore it returned (local APICs that took an interrupt), 0 if
 * they all coalesced or blocked it, -1 if none acted on it (no route).
 */
int ckvm_set_irq(struct ckvm *vm, int source, u32 gsi, int level,
		 bool line_status)
{
	struct ckvm_irq_route routes[CKVM_NR_IRQCHIPS];
	int i, n, idx, ret = -1;

	idx = srcu_read_lock(&vm->irq_srcu);
	n = ckvm_irq_map_gsi(vm, gsi, routes);
	srcu_read_unlock(&vm->irq_srcu, idx);
	for (i = 0; i < n; i++) {
		int r = routes[i].set(vm, &routes[i], source, level, line_status);

		if (r >= 0)
			ret = max(ret, 0) + r;
	}
	return ret;
}

/**
 * ckvm_register_irq_ack_notifier() - be told of the guest's EOIs of a GSI
 * @vm: the VM.
 * @kian: with gsi and irq_acked set.
 *
 * Takes vm->irq_lock.
 */
void ckvm_register_irq_ack_notifier(struct ckvm *vm,
				    struct ckvm_irq_ack_notifier *kian)
{
	mutex_lock(&vm->irq_lock);
	hlist_add_head_rcu(&kian->link, &vm->irq_ack_notifiers);
	ckvm_arch_irq_routing_update(vm);
	mutex_unlock(&vm->irq_lock);
}

/**
 * ckvm_unregister_irq_ack_notifier() - stop being told
 * @vm: the VM.
 * @kian: a registered notifier.
 *
 * Takes vm->irq_lock; when it returns, @kian is not running and will
 * not be called again.
 */
void ckvm_unregister_irq_ack_notifier(struct ckvm *vm,
				      struct ckvm_irq_ack_notifier *kian)
{
	mutex_lock(&vm->irq_lock);
	hlist_del_init_rcu(&kian->link);
	ckvm_arch_irq_routing_update(vm);
	mutex_unlock(&vm->irq_lock);
	synchronize_srcu(&vm->irq_srcu);
}

/**
 * ckvm_irq_has_ack_notifier() - does anyone want the EOIs of an irqchip pin?
 * @vm: the VM; the caller holds vm->irq_srcu or vm->irq_lock.
 * @irqchip: KVM_IRQCHIP_*.
 * @pin: the pin (slave PIC: 8-15).
 *
 * Return: true if the GSI the pin is routed from has a notifier.
 */
bool ckvm_irq_has_ack_notifier(struct ckvm *vm, u32 irqchip, u32 pin)
{
	struct ckvm_irq_ack_notifier *kian;
	struct ckvm_irq_routing *rt = routing_get(vm);
	int gsi = rt ? rt->chip[irqchip][pin] : -1;

	if (gsi < 0)
		return false;
	hlist_for_each_entry_srcu(kian, &vm->irq_ack_notifiers, link,
				  srcu_read_lock_held(&vm->irq_srcu) ||
				  lockdep_is_held(&vm->irq_lock))
		if (kian->gsi == gsi)
			return true;
	return false;
}

/**
 * ckvm_irq_reserved_level_msi() - is @vector a level-triggered MSI route's
 * among the GSIs below @nr_gsis?
 * @vm: the VM; the caller holds vm->irq_srcu.
 * @nr_gsis: how many GSIs, from 0.
 * @vector: the vector.
 *
 * A split irqchip's userspace IOAPIC sends its pins as such MSIs; their
 * EOIs go back to it (KVM_EXIT_IOAPIC_EOI).
 *
 * Return: true if one of those routes is an MSI with @vector and the
 * level trigger mode.
 */
bool ckvm_irq_reserved_level_msi(struct ckvm *vm, u32 nr_gsis, u8 vector)
{
	struct ckvm_irq_routing *rt = routing_get(vm);
	u32 gsi, i;

	if (!rt)
		return false;
	for (gsi = 0; gsi < min(nr_gsis, rt->nr_gsis); gsi++) {
		for (i = 0; i < rt->map[gsi].n; i++) {
			const struct ckvm_irq_route *e =
				&rt->routes[rt->map[gsi].first + i];

			if (e->type == KVM_IRQ_ROUTING_MSI &&
			    (e->msi.data & 0xff) == vector &&
			    (e->msi.data & BIT(15)))
				return true;
		}
	}
	return false;
}

/**
 * ckvm_notify_acked_irq() - the guest acknowledged an irqchip pin
 * @vm: the VM.
 * @irqchip: KVM_IRQCHIP_*.
 * @pin: the pin (slave PIC: 8-15).
 *
 * Calls the notifiers of the GSI the pin is routed from. Process
 * context, without the irqchip's lock: a notifier drives lines itself.
 */
void ckvm_notify_acked_irq(struct ckvm *vm, u32 irqchip, u32 pin)
{
	struct ckvm_irq_ack_notifier *kian;
	struct ckvm_irq_routing *rt;
	int idx, gsi;

	idx = srcu_read_lock(&vm->irq_srcu);
	rt = srcu_dereference(vm->irq_routing, &vm->irq_srcu);
	gsi = rt ? rt->chip[irqchip][pin] : -1;
	if (gsi >= 0)
		hlist_for_each_entry_srcu(kian, &vm->irq_ack_notifiers, link,
					  srcu_read_lock_held(&vm->irq_srcu))
			if (kian->gsi == gsi)
				kian->irq_acked(kian);
	srcu_read_unlock(&vm->irq_srcu, idx);
}
