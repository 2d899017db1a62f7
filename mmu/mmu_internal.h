/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What mmu.c (shadow page objects, direct mode) and shadow.c (shadow
 * paging, paging_tmpl.h) share inside mmu/. Every function here expects
 * vm->arch.mmu.lock held unless it says otherwise.
 */
#ifndef CKVM_MMU_INTERNAL_H
#define CKVM_MMU_INTERNAL_H

#include "ckvm.h"

#define SPTE_PRESENT		BIT_ULL(0)	/* P, or EPT's R */
#define SPTE_ADDR_MASK		GENMASK_ULL(51, 12)
/*
 * Software bit 11 (ignored by the CPU in every format): the leaf maps a
 * page of ckvm's own (the vm86 TSS), not guest memory: no rmap, no
 * reference to drop.
 */
#define SPTE_PRIVATE		BIT_ULL(11)
/* Software bit 9 of shadow sptes: the VMM maps the page writable. */
#define SPTE_HOST_WRITABLE	BIT_ULL(9)

/* mmu_map_page() flags. */
#define MAP_WRITABLE		BIT(0)	/* map it writable */
#define MAP_HOST_WRITABLE	BIT(1)	/* the VMM's mapping is writable */

#define PT_LEVEL_SHIFT(l)	(PAGE_SHIFT + 9 * ((l) - 1))
#define PT_INDEX(addr, l)	(((addr) >> PT_LEVEL_SHIFT(l)) & 511)

/* The most pages and pte_list descriptors one fault may take. */
#define CKVM_MMU_PAGES_PER_FAULT	5
#define CKVM_MMU_DESCS_PER_FAULT	16

static inline bool is_shadow_present(u64 spte)
{
	return spte & SPTE_PRESENT;
}

static inline bool is_large_spte(struct ckvm_mmu *mmu, u64 spte)
{
	return mmu->fmt->large && (spte & mmu->fmt->large);
}

/* A leaf: level 1, or a large page above it. */
static inline bool is_last_spte(struct ckvm_mmu *mmu, u64 spte, int level)
{
	return level == 1 || is_large_spte(mmu, spte);
}

/* Pages, and the sptes that mapped them, to release after a TLB flush. */
#define ZAP_BATCH	64

struct zap_list {
	struct list_head sps;
	struct page *pages[ZAP_BATCH];
	int nr_pages;
	bool flush;
};

static inline void zap_list_init(struct zap_list *zl)
{
	INIT_LIST_HEAD(&zl->sps);
	zl->nr_pages = 0;
	zl->flush = false;
}

struct pte_list_iter {
	struct pte_list_desc *desc;
	unsigned int pos;
};

u64 *pte_list_first(unsigned long head, struct pte_list_iter *it);
u64 *pte_list_next(struct pte_list_iter *it);

int ckvm_mmu_topup_caches(struct ckvm_vcpu *vcpu, bool shadow);
struct ckvm_mmu_page *sptep_to_sp(u64 *sptep);
struct ckvm_mmu_page *spte_to_child(u64 spte);
gfn_t sp_spte_gfn(struct ckvm_mmu_page *sp, int idx);
unsigned long *gfn_to_rmap(struct ckvm_memslot *slot, gfn_t gfn, int level);
u32 *gfn_to_lpage_disallow(struct ckvm_memslot *slot, gfn_t gfn);

void zap_list_commit(struct ckvm *vm, struct zap_list *zl);
void drop_spte(struct ckvm *vm, struct ckvm_mmu_page *sp, int idx,
	       struct zap_list *zl);
void clear_unsync_child_bit(struct ckvm_mmu_page *sp, int idx);
void zap_page(struct ckvm *vm, struct ckvm_mmu_page *sp, struct zap_list *zl);
void make_mmu_pages_available(struct ckvm *vm, int need, struct zap_list *zl);

struct hlist_head *mmu_hash_bucket(struct ckvm_mmu *mmu, gfn_t gfn);
struct ckvm_mmu_page *mmu_find_page(struct ckvm *vm, gfn_t gfn,
				    union ckvm_mmu_page_role role);
struct ckvm_mmu_page *mmu_alloc_page(struct ckvm_vcpu *vcpu, gfn_t gfn,
				     union ckvm_mmu_page_role role,
				     struct zap_list *zl);
void link_shadow_page(struct ckvm_vcpu *vcpu, u64 *sptep,
		      struct ckvm_mmu_page *child);
void mark_unsync(u64 *sptep);
bool mmu_map_page(struct ckvm_vcpu *vcpu, struct ckvm_memslot *slot,
		  struct ckvm_mmu_page *sp, int idx, gfn_t gfn,
		  struct page *page, unsigned int pte_access, unsigned int flags,
		  struct zap_list *zl);
void mmu_put_root(struct ckvm *vm, struct ckvm_mmu_page *sp,
		  struct zap_list *zl);
bool rmap_write_protect(struct ckvm *vm, struct ckvm_memslot *slot, gfn_t gfn);
void zap_large_over(struct ckvm *vm, struct ckvm_memslot *slot, gfn_t gfn,
		    struct zap_list *zl);

/* Without mmu->lock: */
bool host_maps_large(struct mm_struct *mm, unsigned long hva);
bool fault_can_be_large(struct ckvm *vm, struct ckvm_memslot *slot,
			gfn_t gfn, unsigned long hva);
int mmu_get_host_page(struct ckvm *vm, struct ckvm_memslot *slot, gfn_t gfn,
		      bool write, struct page **page, bool *writable);

/* shadow.c */
extern const struct ckvm_tdp_format shadow_format;
int shadow_mmu_alloc_roots(struct ckvm_vcpu *vcpu, struct zap_list *zl);
void account_shadowed(struct ckvm *vm, struct ckvm_mmu_page *sp,
		      struct zap_list *zl);
void unaccount_shadowed(struct ckvm *vm, struct ckvm_mmu_page *sp);
void zap_shadowed_range(struct ckvm *vm, gfn_t start, gfn_t end,
			struct zap_list *zl);

#endif
