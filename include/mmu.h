/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The shared MMU: guest-physical to host-physical mappings built on demand
 * from the memslots. Today it has the direct (two-dimensional paging) mode
 * for NPT and EPT; the shadow mode with paging_tmpl.h joins it later.
 */
#ifndef CKVM_MMU_H
#define CKVM_MMU_H

#include <linux/list.h>
#include <linux/mmu_notifier.h>
#include <linux/spinlock.h>
#include <linux/types.h>

struct ckvm;
struct ckvm_vcpu;

/*
 * The bits of one vendor's nested page table entries. NPT entries are
 * ordinary x86-64 PTEs where every guest access counts as a user access;
 * EPT entries have read/write/execute bits and a memory type.
 */
struct ckvm_tdp_format {
	u64 table;		/* a non-leaf entry: all permissions */
	u64 readable;		/* makes a leaf present and readable */
	u64 writable;
	u64 executable;		/* 0 when execute is implied */
	u64 nx;			/* set to forbid execution, 0 if none */
	u64 leaf;		/* always set in a leaf (e.g. EPT memory type) */
	u64 large;		/* page-size bit of a 2 MiB leaf; 0: 4K only */
	int root_level;		/* 4 or 5 (NPT follows the host's paging) */
};

/* One page of nested page table. */
struct ckvm_mmu_page {
	struct list_head link;
	u64 *spt;
	int level;
	unsigned int used;	/* present entries */
};

struct ckvm_mmu {
	spinlock_t lock;		/* the tables, page list, invalidate_* */
	const struct ckvm_tdp_format *fmt;
	struct ckvm_mmu_page *root;
	int root_level;
	struct list_head pages;
	unsigned long nr_pages;		/* table pages */
	/* The VMM's address space changing under the mappings. */
	struct mmu_notifier notifier;
	unsigned long invalidate_seq;	/* bumped when an invalidation ends */
	long invalidate_in_progress;
};

/*
 * Table pages a vCPU keeps ready for its next fault, so that a fault
 * allocates only what the previous one used up.
 */
#define CKVM_MMU_CACHE_PAGES	4

struct ckvm_mmu_cache {
	int nr;
	struct ckvm_mmu_page *pages[CKVM_MMU_CACHE_PAGES];
};

/* Access bits of a fault, as the page walker and the fault handler see it. */
#define CKVM_ACC_WRITE	BIT(0)
#define CKVM_ACC_FETCH	BIT(1)
#define CKVM_ACC_USER	BIT(2)

int ckvm_mmu_vm_init(struct ckvm *vm, const struct ckvm_tdp_format *fmt);
void ckvm_mmu_vm_destroy(struct ckvm *vm);
u64 ckvm_mmu_root_hpa(struct ckvm *vm);
int ckvm_mmu_tdp_fault(struct ckvm_vcpu *vcpu, u64 gpa, u32 access);
void ckvm_mmu_cache_free(struct ckvm_mmu_cache *cache);
void ckvm_mmu_zap_gfn_range(struct ckvm *vm, u64 start, u64 end);
struct ckvm_memslot;
void ckvm_mmu_get_dirty_log(struct ckvm *vm, struct ckvm_memslot *slot,
			    unsigned long *out);
int ckvm_mmu_gva_to_gpa(struct ckvm_vcpu *vcpu, u64 gva, u32 access,
			u64 *gpa);

#endif
