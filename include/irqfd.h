/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Interrupts that userspace raises and where they go: GSI routing
 * (KVM_SET_GSI_ROUTING, irq_routing.c), irqfds with resampling
 * (KVM_IRQFD, irqfd.c), and the acknowledgement notifiers through which
 * a guest's EOI reaches a resampling irqfd.
 *
 * A GSI has up to one route per irqchip (PIC master, PIC slave, IOAPIC)
 * or one MSI route. Raising a GSI runs the set operation of each of its
 * routes; the architecture (x86/irqchip.c) provides the operations and
 * checks the entries (ckvm_arch_set_routing_entry()).
 */
#ifndef CKVM_IRQFD_H
#define CKVM_IRQFD_H

#include <linux/kvm.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>

struct ckvm;

/*
 * Who drives an irqchip pin; its level is the OR of theirs (KVM's ids).
 * Userspace: KVM_IRQ_LINE and the pulse of a plain irqfd. Resample: the
 * resampling irqfds, which hold a line high until the guest's EOI. PIT:
 * the in-kernel PIT's pulses on GSI 0.
 */
enum {
	CKVM_USERSPACE_IRQ_SOURCE_ID,
	CKVM_IRQFD_RESAMPLE_IRQ_SOURCE_ID,
	CKVM_PIT_IRQ_SOURCE_ID,		/* the in-kernel PIT (x86/i8254.c) */
	CKVM_NR_IRQ_SOURCES
};

/* KVM's x86 numbers: routes in a table and the GSIs below it. */
#define CKVM_MAX_IRQ_ROUTES	4096
/* KVM_IRQCHIP_PIC_MASTER, _PIC_SLAVE, _IOAPIC. */
#define CKVM_NR_IRQCHIPS	3
#define CKVM_IRQCHIP_NUM_PINS	KVM_IOAPIC_NUM_PINS

/* One route of a GSI (KVM's kvm_kernel_irq_routing_entry). */
struct ckvm_irq_route {
	u32 gsi;
	u32 type;		/* KVM_IRQ_ROUTING_IRQCHIP or _MSI; 0: none */
	/*
	 * Drive the route to @level for @source. Returns how many local
	 * APICs took an interrupt (KVM_IRQ_LINE_STATUS), 0 if it was
	 * coalesced or blocked, < 0 if the route ignores it. Process
	 * context; takes the irqchip's lock.
	 */
	int (*set)(struct ckvm *vm, const struct ckvm_irq_route *e,
		   int source, int level, bool line_status);
	union {
		struct {
			u32 irqchip;	/* KVM_IRQCHIP_* */
			u32 pin;	/* slave PIC: 8-15, as KVM */
		} irqchip;
		struct {
			u32 address_lo;
			u32 address_hi;
			u32 data;
		} msi;
	};
};

/* The GSI routing table: immutable, published under irq_lock (irq_routing.c). */
struct ckvm_irq_routing;

/* Told when the guest acknowledges (EOIs) an interrupt of @gsi. */
struct ckvm_irq_ack_notifier {
	struct hlist_node link;		/* vm->irq_ack_notifiers */
	u32 gsi;
	void (*irq_acked)(struct ckvm_irq_ack_notifier *kian);
};

/* The irqfds of a VM. */
struct ckvm_irqfds {
	/* items; taken with interrupts off (eventfd wakeups hold a wait queue lock) */
	spinlock_t lock;
	struct list_head items;		/* active irqfds */
	struct mutex resampler_lock;	/* resamplers, and their irqfd lists */
	struct list_head resamplers;
};

/* irq_routing.c */
int ckvm_irq_routing_init(struct ckvm *vm);
void ckvm_irq_routing_free(struct ckvm *vm);
int ckvm_set_irq_routing(struct ckvm *vm, const struct kvm_irq_routing_entry *ue,
			 u32 nr);
int ckvm_set_irq(struct ckvm *vm, int source, u32 gsi, int level,
		 bool line_status);
int ckvm_irq_map_gsi(struct ckvm *vm, u32 gsi,
		     struct ckvm_irq_route out[CKVM_NR_IRQCHIPS]);
void ckvm_register_irq_ack_notifier(struct ckvm *vm,
				    struct ckvm_irq_ack_notifier *kian);
void ckvm_unregister_irq_ack_notifier(struct ckvm *vm,
				      struct ckvm_irq_ack_notifier *kian);
void ckvm_notify_acked_irq(struct ckvm *vm, u32 irqchip, u32 pin);
bool ckvm_irq_has_ack_notifier(struct ckvm *vm, u32 irqchip, u32 pin);
bool ckvm_irq_reserved_level_msi(struct ckvm *vm, u32 nr_gsis, u8 vector);

/* irqfd.c */
int ckvm_irqfd_init(void);
void ckvm_irqfd_exit(void);
void ckvm_irqfds_init(struct ckvm *vm);
int ckvm_irqfd(struct ckvm *vm, const struct kvm_irqfd *args);
void ckvm_irqfd_release(struct ckvm *vm);
void ckvm_irqfd_routing_update(struct ckvm *vm);

/* Provided by the architecture (x86/irqchip.c). */
bool ckvm_arch_irqchip_in_kernel(struct ckvm *vm);
/* May an irqfd (@resample: a resampling one) be assigned? */
bool ckvm_arch_irqfd_allowed(struct ckvm *vm, bool resample);
int ckvm_arch_set_routing_entry(struct ckvm *vm, struct ckvm_irq_route *e,
				const struct kvm_irq_routing_entry *ue);
int ckvm_arch_set_irq_inatomic(struct ckvm *vm, const struct ckvm_irq_route *e);
/* The routes or the ack notifiers changed; vm->irq_lock held. */
void ckvm_arch_irq_routing_update(struct ckvm *vm);

#endif
