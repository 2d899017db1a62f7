/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The shared MMU: guest-physical to host-physical mappings built on demand
 * from the memslots. Today it has the direct (two-dimensional paging) mode
 * for NPT and EPT, and the guest page walker of paging_tmpl.h; the shadow
 * mode joins them later.
 */
#ifndef CKVM_MMU_H
#define CKVM_MMU_H

#include <linux/list.h>
#include <linux/mmu_notifier.h>
#include <linux/spinlock.h>
#include <linux/types.h>

#include "emulate.h"

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

/*
 * Access bits of a fault, as the page walker and the fault handler see it.
 * USER is a user-mode access in the SDM's sense (CPL 3, not implicit);
 * IMPLICIT a supervisor-mode access the CPU makes by itself (descriptor
 * tables), to which SMAP applies whatever RFLAGS.AC says (SDM 4.6.1).
 */
#define CKVM_ACC_WRITE		BIT(0)
#define CKVM_ACC_FETCH		BIT(1)
#define CKVM_ACC_USER		BIT(2)
#define CKVM_ACC_IMPLICIT	BIT(3)

/*
 * A nested page fault as the backend saw it (NPF exit information, EPT
 * violation qualification).
 */
struct ckvm_tdp_fault {
	gpa_t gpa;
	u32 access;		/* CKVM_ACC_WRITE, CKVM_ACC_FETCH */
	/* On the gpa a guest linear address maps to, not a page table. */
	bool final;
	bool gva_valid;		/* VMX: @gva is the guest linear address */
	gva_t gva;
	bool vectoring;		/* taken while delivering an event */
};

/*
 * The guest's paging mode, as the walker applies it: the control register
 * bits that change a walk and the reserved-bit masks they imply, derived
 * from CR0, CR4, EFER and the guest's CPUID (ckvm_mmu_cpu_role()).
 */
#define CKVM_PT_MAX_LEVEL	4

struct ckvm_cpu_role {
	u64 cr0, cr4, efer;	/* the bits it was made from (a cache key) */
	bool valid;		/* cleared when the guest's CPUID changes */
	u8 level;		/* 0: paging off; 2: 32-bit; 3: PAE; 4: 4-level */
	u8 maxphyaddr;
	bool cr0_wp, efer_nx, cr4_pse, cr4_smep, cr4_smap;
	/* [bit 7 (PS) of the entry][level - 1]: bits that must be 0 */
	u64 rsvd_bits_mask[2][CKVM_PT_MAX_LEVEL];
};

int ckvm_mmu_vm_init(struct ckvm *vm, const struct ckvm_tdp_format *fmt);
void ckvm_mmu_vm_release(struct ckvm *vm);
void ckvm_mmu_vm_destroy(struct ckvm *vm);
u64 ckvm_mmu_root_hpa(struct ckvm *vm);
int ckvm_mmu_tdp_fault(struct ckvm_vcpu *vcpu, const struct ckvm_tdp_fault *f);
void ckvm_mmu_cache_free(struct ckvm_mmu_cache *cache);
void ckvm_mmu_zap_gfn_range(struct ckvm *vm, u64 start, u64 end);
struct ckvm_memslot;
void ckvm_mmu_get_dirty_log(struct ckvm *vm, struct ckvm_memslot *slot,
			    unsigned long *out);
void ckvm_mmu_reset_cpu_role(struct ckvm_vcpu *vcpu);
const struct ckvm_cpu_role *ckvm_mmu_cpu_role(struct ckvm_vcpu *vcpu);
int ckvm_mmu_gva_to_gpa(struct ckvm_vcpu *vcpu, gva_t gva, u32 access,
			gpa_t *gpa, struct x86_exception *fault);

#endif
