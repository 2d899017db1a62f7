/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The shared MMU (Documentation/mmu.rst): one set of shadow page objects,
 * keyed by (gfn, role) in a hash table, for both of its modes:
 *
 *  - direct (two-dimensional paging with NPT or EPT): the pages map
 *    guest-physical to host-physical addresses, role.direct set;
 *  - shadow (no NPT/EPT, or tdp=0): the pages shadow the guest's own page
 *    tables (mmu/paging_tmpl.h); a guest with paging off gets direct pages
 *    that map its linear addresses 1:1.
 *
 * A reverse map per memslot finds every spte that maps a gfn: dirty
 * logging and the MMU notifiers zap or write-protect through it, and so
 * does the write protection of shadowed guest page tables.
 */
#ifndef CKVM_MMU_H
#define CKVM_MMU_H

#include <linux/bitmap.h>
#include <linux/list.h>
#include <linux/mmu_notifier.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <asm/pgtable_types.h>

#include "emulate.h"

struct ckvm;
struct ckvm_vcpu;
struct ckvm_memslot;

/*
 * The bits of one vendor's nested page table entries. NPT entries are
 * ordinary x86-64 PTEs where every guest access counts as a user access;
 * EPT entries have read/write/execute bits and a memory type. Bit 0 makes
 * an entry present in both (P, and EPT's R which ckvm always sets).
 */
struct ckvm_tdp_format {
	u64 table;		/* a non-leaf entry: all permissions */
	u64 readable;		/* makes a leaf present and readable */
	u64 writable;
	u64 executable;		/* 0 when execute is implied */
	u64 nx;			/* set to forbid execution, 0 if none */
	u64 user;		/* user access allowed; 0 if implied */
	u64 leaf;		/* always set in a leaf (e.g. EPT memory type) */
	u64 large;		/* page-size bit of a 2 MiB leaf; 0: 4K only */
	int root_level;		/* 4 or 5 (NPT follows the host's paging) */
};

/*
 * ACC_*: the rights a walk grants, as KVM spells them: W and U at the bit
 * positions they have in an x86 page-table entry, X in bit 0.
 */
#define ACC_EXEC_MASK	1u
#define ACC_WRITE_MASK	((unsigned int)_PAGE_RW)
#define ACC_USER_MASK	((unsigned int)_PAGE_USER)
#define ACC_ALL		(ACC_EXEC_MASK | ACC_WRITE_MASK | ACC_USER_MASK)

/* role.guest_mode: the guest paging mode a shadow page was built for. */
enum {
	CKVM_GUEST_PAGING_OFF,		/* direct pages: CR0.PG = 0, or TDP */
	CKVM_GUEST_PAGING_32,		/* 2 levels, 4-byte entries */
	CKVM_GUEST_PAGING_PAE,		/* PDPTEs + 2 levels */
	CKVM_GUEST_PAGING_64,		/* 4 levels */
};

/*
 * Everything that makes two shadow pages of the same gfn different. Two
 * lookups with the same (gfn, role) may share the page: the sptes in it
 * depend on nothing else.
 */
union ckvm_mmu_page_role {
	u32 word;
	struct {
		unsigned int level:3;		/* 1 (maps 4 KiB) to 5 */
		unsigned int cr4_pae:1;		/* guest entries are 8 bytes */
		unsigned int quadrant:2;	/* part of a 32-bit guest table */
		unsigned int direct:1;		/* no guest table behind it */
		unsigned int access:3;		/* ACC_* of the levels above */
		unsigned int invalid:1;		/* zapped, still a root */
		unsigned int efer_nx:1;
		unsigned int cr0_wp:1;
		unsigned int smep_andnot_wp:1;
		unsigned int smap_andnot_wp:1;
		unsigned int cr4_pse:1;		/* 32-bit guests: PDE.PS honoured */
		unsigned int guest_mode:2;	/* CKVM_GUEST_PAGING_* */
		unsigned int unused:14;
	};
};
static_assert(sizeof(union ckvm_mmu_page_role) == sizeof(u32));

#define CKVM_SPTES_PER_PAGE	512

/*
 * One shadow page: a page of sptes the CPU walks, and what the MMU knows
 * about it. All fields under mmu->lock.
 */
struct ckvm_mmu_page {
	struct list_head link;		/* mmu->active_pages, newest first */
	struct hlist_node hash_link;	/* mmu->hash[gfn] */
	union ckvm_mmu_page_role role;
	gfn_t gfn;			/* guest table, or first gfn mapped */
	u64 *spt;			/* the table */
	gfn_t *gfns;			/* indirect: the gfn each entry maps */
	unsigned long parent_ptes;	/* pte_list of the sptes that link it */
	unsigned int root_count;	/* vCPUs using it as their root */
	bool unsync;			/* guest may write its table freely */
	u8 write_flooding_count;	/* emulated writes since last use */
	unsigned int unsync_children;	/* set bits in unsync_child_bitmap */
	DECLARE_BITMAP(unsync_child_bitmap, CKVM_SPTES_PER_PAGE);
};

#define CKVM_MMU_HASH_BITS	10

struct ckvm_mmu {
	spinlock_t lock;		/* everything below but the notifier */
	const struct ckvm_tdp_format *fmt;	/* entry format */
	bool tdp;			/* direct NPT/EPT (else shadow paging) */
	struct hlist_head hash[1 << CKVM_MMU_HASH_BITS];
	struct list_head active_pages;	/* every page, LRU order */
	unsigned long n_used_mmu_pages;
	unsigned long n_max_mmu_pages;	/* zap the oldest beyond it */
	unsigned long n_requested_mmu_pages;	/* 0: KVM's default */
	/* The VMM's address space changing under the mappings. */
	struct mmu_notifier notifier;
	bool notifier_registered;
	unsigned long invalidate_seq;	/* bumped when an invalidation ends */
	long invalidate_in_progress;
};

/* Per-memslot arrays of the MMU (one per 4 KiB or 2 MiB frame). */
#define CKVM_NR_RMAP_LEVELS	2

struct ckvm_arch_memslot {
	unsigned long *rmap[CKVM_NR_RMAP_LEVELS];
	/* Per 2 MiB frame: its gfns shadowed as guest page tables. */
	u32 *lpage_disallow;
	bool invalid;			/* being deleted or moved: no faults */
};

/*
 * Objects a vCPU keeps ready for its next fault, filled before mmu->lock
 * is taken so that the fault path never allocates under it.
 */
#define CKVM_MMU_CACHE_OBJS	40

struct ckvm_mmu_cache {
	int nr;
	void *objects[CKVM_MMU_CACHE_OBJS];
};

/* vcpu->arch.mmu.root_hpa when the vCPU has no root. */
#define INVALID_PAGE	(~(hpa_t)0)

/* The MMU state of one vCPU. Under vcpu->mutex unless noted. */
struct ckvm_vcpu_mmu {
	hpa_t root_hpa;			/* what the CPU walks; INVALID_PAGE */
	union ckvm_mmu_page_role root_role;
	struct ckvm_mmu_page *root;	/* its page, when not pae_root */
	u64 *pae_root;			/* 4 PDPTEs below 4 GiB (shadow) */
	struct ckvm_mmu_page *pae_sp[4];	/* what they point to */
	/*
	 * A PAE guest's PDPTEs, cached at CR3 load (SDM 4.4.1). The shadow
	 * MMU's roots follow them; VMX with EPT hands them to the CPU in the
	 * VMCS and takes back what the guest's own MOV to CR3 loaded.
	 */
	u64 pdptrs[4];
	struct ckvm_mmu_cache sp_cache;		/* struct ckvm_mmu_page */
	struct ckvm_mmu_cache spt_cache;	/* zeroed table pages */
	struct ckvm_mmu_cache gfns_cache;	/* gfn arrays (pages) */
	struct ckvm_mmu_cache desc_cache;	/* pte_list descriptors */
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

/* KVM's floor and default share of guest memory for shadow pages. */
#define CKVM_MIN_ALLOC_MMU_PAGES	64
#define CKVM_PERMILLE_MMU_PAGES		20

int ckvm_mmu_module_init(void);
void ckvm_mmu_module_exit(void);
int ckvm_mmu_vm_init(struct ckvm *vm, const struct ckvm_tdp_format *fmt);
void ckvm_mmu_vm_release(struct ckvm *vm);
void ckvm_mmu_vm_destroy(struct ckvm *vm);
int ckvm_mmu_vcpu_init(struct ckvm_vcpu *vcpu);
void ckvm_mmu_vcpu_destroy(struct ckvm_vcpu *vcpu);
int ckvm_mmu_load(struct ckvm_vcpu *vcpu);
void ckvm_mmu_unload(struct ckvm_vcpu *vcpu);
int ckvm_mmu_tdp_fault(struct ckvm_vcpu *vcpu, const struct ckvm_tdp_fault *f);
int ckvm_mmu_page_fault(struct ckvm_vcpu *vcpu, gva_t addr, u32 error_code);
void ckvm_mmu_invlpg(struct ckvm_vcpu *vcpu, gva_t gva);
void ckvm_mmu_pte_write(struct ckvm_vcpu *vcpu, gpa_t gpa, int bytes);
bool ckvm_mmu_unprotect_gfn(struct ckvm_vcpu *vcpu, gfn_t gfn);
void ckvm_mmu_sync_roots(struct ckvm_vcpu *vcpu);
void ckvm_mmu_reset_context(struct ckvm_vcpu *vcpu);
void ckvm_mmu_new_cr3(struct ckvm_vcpu *vcpu);
bool ckvm_mmu_load_pdptrs(struct ckvm_vcpu *vcpu, u64 cr3);

int ckvm_mmu_memslot_create(struct ckvm *vm, struct ckvm_memslot *old,
			    struct ckvm_memslot *new);
void ckvm_mmu_memslot_free(struct ckvm_memslot *slot,
			   const struct ckvm_memslot *heir);
void ckvm_mmu_memslot_remove(struct ckvm *vm, struct ckvm_memslot *slot);
void ckvm_mmu_memslot_zap(struct ckvm *vm, struct ckvm_memslot *slot);
void ckvm_mmu_memslots_changed(struct ckvm *vm);
void ckvm_mmu_zap_all(struct ckvm *vm);
void ckvm_mmu_get_dirty_log(struct ckvm *vm, struct ckvm_memslot *slot,
			    unsigned long *out);
int ckvm_mmu_set_nr_mmu_pages(struct ckvm *vm, unsigned long nr);
unsigned long ckvm_mmu_get_nr_mmu_pages(struct ckvm *vm);

void ckvm_mmu_reset_cpu_role(struct ckvm_vcpu *vcpu);
const struct ckvm_cpu_role *ckvm_mmu_cpu_role(struct ckvm_vcpu *vcpu);
int ckvm_mmu_gva_to_gpa(struct ckvm_vcpu *vcpu, gva_t gva, u32 access,
			gpa_t *gpa, struct x86_exception *fault);

#endif
