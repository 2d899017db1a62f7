/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ckvm: the architecture-neutral core objects.
 *
 * struct ckvm is one virtual machine (one VM file descriptor), struct
 * ckvm_vcpu one virtual CPU (one vCPU file descriptor). The x86 parts of
 * both live in struct ckvm_arch / struct ckvm_vcpu_arch (x86.h), which
 * kvm_main.c never looks into.
 */
#ifndef CKVM_CKVM_H
#define CKVM_CKVM_H

#include <linux/atomic.h>
#include <linux/kvm.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/preempt.h>
#include <linux/rcuwait.h>
#include <linux/refcount.h>
#include <linux/signal.h>
#include <linux/srcu.h>
#include <linux/types.h>
#include <linux/xarray.h>

#include "compat.h"
#include "iodev.h"
#include "irqfd.h"

/* KVM's x86 numbers, so userspace sizing its tables for KVM fits ckvm too. */
#define CKVM_MAX_VCPUS		64
#define CKVM_MAX_VCPU_IDS	1024
#define CKVM_USER_MEM_SLOTS	32764
#define CKVM_MEM_MAX_NR_PAGES	((1UL << 31) - 1)

/*
 * The vCPU mapping: kvm_run, then the data of port I/O (page
 * CKVM_PIO_PAGE_OFFSET), then the VM's coalesced MMIO ring (page
 * KVM_COALESCED_MMIO_PAGE_OFFSET, KVM's number).
 */
#define CKVM_PIO_PAGE_OFFSET	1
#define CKVM_RUN_MMAP_PAGES	3
static_assert(CKVM_RUN_MMAP_PAGES - 1 == KVM_COALESCED_MMIO_PAGE_OFFSET);

/* gpa_t, gfn_t, hpa_t, gva_t: the kernel's (6.12's uapi kvm.h includes it). */
#include <linux/kvm_types.h>

/*
 * vcpu->requests bits, acted on just before the next guest entry. The
 * architecture numbers its own from CKVM_REQ_ARCH_BASE (x86.h).
 */
enum {
	CKVM_REQ_TLB_FLUSH,
	CKVM_REQ_EVENT,		/* an interrupt may have become pending */
	CKVM_REQ_MMU_RELOAD,	/* the MMU root was zapped: load another */
	CKVM_REQ_ARCH_BASE = 8,
};

#include "x86.h"


struct ckvm_memslot {
	gfn_t base_gfn;
	u64 npages;
	unsigned long userspace_addr;
	unsigned long *dirty_bitmap;	/* with KVM_MEM_LOG_DIRTY_PAGES */
	u32 flags;
	u16 id;
	struct ckvm_arch_memslot arch;	/* the MMU's per-page arrays */
};

/*
 * A snapshot of the slots: pointers sorted by base_gfn. Slots and
 * snapshots are immutable once published. Readers hold ckvm->srcu; a
 * writer builds the next snapshot under slots_lock in the one the last
 * update replaced (no reader sees it after synchronize_srcu()), moving
 * only the pointers after the places that change, and publishes it.
 */
struct ckvm_memslots {
	int nr;
	int capacity;			/* of slots[] */
	u64 npages;			/* of all its slots */
	struct ckvm_memslot *slots[];
};

/*
 * What one update did to the snapshot it copied: the index of the pointer
 * it removed and the index where it inserted one (-1: none).
 */
struct ckvm_memslots_change {
	int remove;
	int insert;
};

/*
 * Binary statistics (KVM_GET_STATS_FD, stats.c). Every counter is one u64
 * in a stats struct, and a table of descriptors names each one. The core's
 * counters come first; the architecture's live in stat.arch and are
 * described by its own tables (ckvm_arch_vm_stats, ckvm_arch_vcpu_stats).
 * The file's data block is the stats struct itself, so a struct member
 * must be 8 bytes and described exactly once.
 */
#define CKVM_STATS_NAME_SIZE	48	/* KVM's, NUL included */

struct ckvm_stats_desc {
	const char *name;
	u32 flags;		/* KVM_STATS_TYPE_*, _UNIT_*, _BASE_* */
	u32 offset;		/* of the u64 in its table's stats struct */
};

struct ckvm_stats_table {
	const struct ckvm_stats_desc *desc;
	unsigned int n;
};

/* A plain counter or gauge named after its field in @type. */
#define CKVM_STATS_DESC(type, field, kind)				\
	{								\
		.name = #field,						\
		.flags = KVM_STATS_TYPE_##kind | KVM_STATS_UNIT_NONE |	\
			 KVM_STATS_BASE_POW10,				\
		.offset = offsetof(type, field) +			\
			  BUILD_BUG_ON_ZERO(sizeof(#field) >		\
					    CKVM_STATS_NAME_SIZE),	\
	}

struct ckvm_vm_stat {
	/* Bumped by any thread that zaps or remaps, so atomic. */
	atomic64_t remote_tlb_flush_requests;
	u64 memslot_updates;		/* under slots_lock */
	struct ckvm_vm_arch_stat arch;
};

/* Written only by the vCPU's own thread. */
struct ckvm_vcpu_stat {
	u64 run_ioctls;
	struct ckvm_vcpu_arch_stat arch;
};

/* The data block is read as an array of u64: no holes, no other sizes. */
static_assert(sizeof(atomic64_t) == sizeof(u64));
static_assert(sizeof(struct ckvm_vm_stat) ==
	      offsetof(struct ckvm_vm_stat, arch) +
	      sizeof(struct ckvm_vm_arch_stat));
static_assert(sizeof(struct ckvm_vcpu_stat) ==
	      offsetof(struct ckvm_vcpu_stat, arch) +
	      sizeof(struct ckvm_vcpu_arch_stat));

struct ckvm {
	struct mutex lock;		/* vCPU creation, VM-wide settings */
	struct mutex slots_lock;	/* memslot and I/O bus updates */
	struct srcu_struct srcu;	/* memslot and I/O bus readers */
	struct ckvm_memslots __rcu *memslots;
	struct xarray memslot_ids;	/* slot id -> published slot; slots_lock */
	/*
	 * The snapshot replaced last, no longer read, and the change that
	 * replaced it: the next update replays that change on it rather
	 * than copy the published one (kvm_main.c, memslots_copy()).
	 */
	struct ckvm_memslots *memslots_spare;	/* slots_lock */
	struct ckvm_memslots_change memslots_last;	/* slots_lock */
	struct ckvm_io_bus __rcu *buses[CKVM_NR_BUSES];
	struct list_head ioeventfds;	/* slots_lock */
	struct list_head coalesced_zones;	/* slots_lock */
	struct kvm_coalesced_mmio_ring *coalesced_ring;	/* one page */
	spinlock_t coalesced_lock;	/* writers of the ring */
	struct mutex irq_lock;		/* irq_routing and ack notifier updates */
	struct srcu_struct irq_srcu;	/* their readers */
	struct ckvm_irq_routing __rcu *irq_routing;	/* NULL: no irqchip yet */
	struct hlist_head irq_ack_notifiers;
	struct ckvm_irqfds irqfds;
	struct mm_struct *mm;		/* the VMM's address space */
	refcount_t users;		/* VM fd, vCPU fds, stats fds */
	u32 max_vcpu_ids;		/* KVM_CAP_MAX_VCPU_ID; 0: not fixed yet */
	pid_t pid;			/* creator, for the stats id string */
	int nr_vcpus;
	struct ckvm_vcpu *vcpus[CKVM_MAX_VCPUS];
	struct ckvm_vm_stat stat;
	/* The debugfs view of the counters (stats.c); NULL without one. */
	struct dentry *debugfs_dentry;
	void *debugfs_files;
	struct list_head debugfs_link;
	struct ckvm_arch arch;
};

/* vcpu->mode: whether an IPI would find the vCPU in guest mode. */
enum {
	CKVM_OUTSIDE_GUEST_MODE,
	CKVM_IN_GUEST_MODE,
	CKVM_EXITING_GUEST_MODE,
};


struct ckvm_vcpu {
	struct ckvm *vm;
	u32 vcpu_id;
	int index;			/* in vm->vcpus[] */
	int cpu;			/* host CPU it is loaded on, or -1 */
	int mode;
	unsigned long requests;
	struct mutex mutex;		/* one ioctl at a time */
	struct rcuwait wait;		/* ckvm_vcpu_block() sleeps here */
	struct kvm_run *run;		/* page 0 of the mmap */
	void *pio_data;			/* page 1 of the mmap */
	struct preempt_notifier preempt_notifier;
	/* KVM_SET_SIGNAL_MASK: blocked signals while in KVM_RUN. */
	sigset_t sigset;
	bool sigset_active;
	struct ckvm_vcpu_stat stat;
	struct ckvm_vcpu_arch arch;
};

/*
 * The freeze rule of VM-wide settings: a setting that vCPUs are built from
 * (the vCPU id limit, the boot CPU id, the in-kernel irqchip) cannot
 * change once a vCPU exists. Each such ioctl asks this in its validation
 * step, under vm->lock, which vCPU creation holds throughout; the rules
 * are listed in Documentation/api.rst ("Freeze rules").
 */
static inline bool ckvm_vm_has_vcpus(struct ckvm *vm)
{
	lockdep_assert_held(&vm->lock);
	return vm->nr_vcpus;
}

static inline struct ckvm_memslots *ckvm_memslots(struct ckvm *vm)
{
	return srcu_dereference_check(vm->memslots, &vm->srcu,
				      lockdep_is_held(&vm->slots_lock));
}

struct ckvm_memslot *ckvm_gfn_to_memslot(struct ckvm *vm, gfn_t gfn);
int ckvm_read_guest(struct ckvm *vm, gpa_t gpa, void *data, unsigned long len);
int ckvm_write_guest(struct ckvm *vm, gpa_t gpa, const void *data,
		     unsigned long len);
void ckvm_mark_page_dirty(struct ckvm *vm, gfn_t gfn);

void ckvm_make_request(struct ckvm_vcpu *vcpu, int req);
bool ckvm_check_request(struct ckvm_vcpu *vcpu, int req);
void ckvm_make_all_vcpus_request(struct ckvm *vm, int req);
void ckvm_vcpu_kick(struct ckvm_vcpu *vcpu);
void ckvm_vcpu_block(struct ckvm_vcpu *vcpu, bool (*wake)(struct ckvm_vcpu *));

/* Provided by the architecture (x86/x86.c) for kvm_main.c. */
int ckvm_arch_init(void);
void ckvm_arch_exit(void);
long ckvm_arch_dev_ioctl(unsigned int ioctl, unsigned long arg);
int ckvm_arch_check_extension(long ext);
int ckvm_arch_vm_init(struct ckvm *vm);
/* KVM_ENABLE_CAP on a VM for an architecture's cap; -EINVAL if unknown. */
int ckvm_arch_vm_enable_cap(struct ckvm *vm, const struct kvm_enable_cap *cap);
/* VM ioctls kvm_main.c does not know; -ENOTTY for unknown ones. */
long ckvm_arch_vm_ioctl(struct ckvm *vm, unsigned int ioctl, unsigned long arg);
/*
 * VM destruction, before the vCPUs are freed: stop what may reach them
 * from outside (timers that kick them, the MMU notifier).
 */
void ckvm_arch_vm_pre_destroy(struct ckvm *vm);
void ckvm_arch_vm_destroy(struct ckvm *vm);
int ckvm_arch_vcpu_create(struct ckvm_vcpu *vcpu);
void ckvm_arch_vcpu_free(struct ckvm_vcpu *vcpu);
void ckvm_arch_vcpu_load(struct ckvm_vcpu *vcpu, int cpu);
void ckvm_arch_vcpu_put(struct ckvm_vcpu *vcpu);
int ckvm_arch_vcpu_run(struct ckvm_vcpu *vcpu);
long ckvm_arch_vcpu_ioctl(struct ckvm_vcpu *vcpu, unsigned int ioctl,
			  unsigned long arg);
/*
 * Memslot changes, under slots_lock: create gives a new slot (not yet
 * published) its per-page arrays, sharing @old's when @old is the same
 * slot at the same place; removed comes while a slot to be deleted or
 * moved is still published; log_dirty and memslots_changed after the new
 * snapshot is published; free when no snapshot refers to the slot, and
 * keeps what @heir (the slot that replaced it, or NULL) shares.
 */
int ckvm_arch_memslot_create(struct ckvm *vm, struct ckvm_memslot *old,
			     struct ckvm_memslot *new);
void ckvm_arch_memslot_free(struct ckvm_memslot *slot,
			    const struct ckvm_memslot *heir);
void ckvm_arch_memslot_removed(struct ckvm *vm, struct ckvm_memslot *slot);
void ckvm_arch_memslot_log_dirty(struct ckvm *vm, struct ckvm_memslot *slot);
void ckvm_arch_memslots_changed(struct ckvm *vm);
void ckvm_arch_get_dirty_log(struct ckvm *vm, struct ckvm_memslot *slot,
			     unsigned long *out);

/* x86's counters in stat.arch, which follow the core's in the stats file. */
extern const struct ckvm_stats_table ckvm_arch_vm_stats;
extern const struct ckvm_stats_table ckvm_arch_vcpu_stats;

void ckvm_vcpu_load(struct ckvm_vcpu *vcpu);
void ckvm_vcpu_put(struct ckvm_vcpu *vcpu);

/* A reference on the VM; every fd that points into it holds one. */
void ckvm_vm_get(struct ckvm *vm);
void ckvm_vm_put(struct ckvm *vm);

/* KVM_GET_STATS_FD (stats.c): a new read-only fd, or -errno. */
int ckvm_vm_stats_fd(struct ckvm *vm);
int ckvm_vcpu_stats_fd(struct ckvm_vcpu *vcpu);
void ckvm_stats_debugfs_init(void);
void ckvm_stats_debugfs_exit(void);
void ckvm_stats_debugfs_vm_add(struct ckvm *vm, int fd);
void ckvm_stats_debugfs_vm_remove(struct ckvm *vm);

#endif
