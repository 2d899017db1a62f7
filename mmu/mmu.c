// SPDX-License-Identifier: GPL-2.0
/*
 * The shared MMU: shadow page objects, their hash table and LRU list, the
 * reverse map, zapping, the page limit, memslots, dirty logging and the
 * MMU notifier; and the direct mode for NPT and EPT (guest-physical to
 * host-physical, built one page at a time as the guest touches memory).
 * Documentation/mmu.rst describes the design, locking.rst the locks.
 *
 * A guest page is mapped with a reference on its struct page, taken by
 * get_user_pages on the VMM's address, and the reference is dropped when
 * the mapping is zapped, after every vCPU has flushed its TLB. Nothing is
 * pinned up front.
 */
#include <linux/hash.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <asm/io.h>
#include <asm/processor-flags.h>
#include <asm/msr-index.h>

#include "ckvm.h"
#include "x86_ops.h"
#include "trace.h"
#include "mmu_internal.h"

static struct kmem_cache *mmu_page_cache;
static struct kmem_cache *pte_list_desc_cache;

/* ---- the vCPU's object caches ---- */

/* Allocate one object of the cache @c stands for. */
static void *mmu_cache_new(struct ckvm_vcpu_mmu *m, struct ckvm_mmu_cache *c,
			   gfp_t gfp)
{
	if (c == &m->sp_cache)
		return kmem_cache_zalloc(mmu_page_cache, gfp);
	if (c == &m->desc_cache)
		return kmem_cache_zalloc(pte_list_desc_cache, gfp);
	if (c == &m->spt_cache)
		return (void *)get_zeroed_page(gfp);
	return (void *)__get_free_page(gfp);
}

static void mmu_cache_free_obj(struct ckvm_vcpu_mmu *m,
			       struct ckvm_mmu_cache *c, void *obj)
{
	if (c == &m->sp_cache)
		kmem_cache_free(mmu_page_cache, obj);
	else if (c == &m->desc_cache)
		kmem_cache_free(pte_list_desc_cache, obj);
	else
		free_page((unsigned long)obj);
}

static int mmu_cache_topup(struct ckvm_vcpu_mmu *m, struct ckvm_mmu_cache *c,
			   int need)
{
	while (c->nr < need) {
		void *obj = mmu_cache_new(m, c, GFP_KERNEL_ACCOUNT);

		if (!obj)
			return -ENOMEM;
		c->objects[c->nr++] = obj;
	}
	return 0;
}

/*
 * Take an object filled in before mmu->lock. An empty cache is a bug in
 * the counting of mmu_topup_caches(); fall back to an atomic allocation.
 */
static void *mmu_cache_alloc(struct ckvm_vcpu_mmu *m, struct ckvm_mmu_cache *c)
{
	if (likely(c->nr))
		return c->objects[--c->nr];
	WARN_ON_ONCE(1);
	return mmu_cache_new(m, c, GFP_ATOMIC | __GFP_ACCOUNT);
}

static void mmu_cache_drain(struct ckvm_vcpu_mmu *m, struct ckvm_mmu_cache *c)
{
	while (c->nr)
		mmu_cache_free_obj(m, c, c->objects[--c->nr]);
}

/**
 * ckvm_mmu_topup_caches() - fill the vCPU's caches for one fault
 * @vcpu: the vCPU; called without mmu->lock (it may sleep).
 * @shadow: the fault may create indirect shadow pages (their gfn arrays).
 *
 * Return: 0, or -ENOMEM.
 */
int ckvm_mmu_topup_caches(struct ckvm_vcpu *vcpu, bool shadow)
{
	struct ckvm_vcpu_mmu *m = &vcpu->arch.mmu;
	int r;

	r = mmu_cache_topup(m, &m->desc_cache, CKVM_MMU_DESCS_PER_FAULT);
	if (!r)
		r = mmu_cache_topup(m, &m->sp_cache, CKVM_MMU_PAGES_PER_FAULT);
	if (!r)
		r = mmu_cache_topup(m, &m->spt_cache, CKVM_MMU_PAGES_PER_FAULT);
	if (!r && shadow)
		r = mmu_cache_topup(m, &m->gfns_cache, CKVM_MMU_PAGES_PER_FAULT);
	return r;
}

/* ---- pte lists: the rmap heads and the parent pointers ---- */

/*
 * A pte_list head is 0 (empty), a u64 * (one spte, bit 0 clear), or a
 * struct pte_list_desc * with bit 0 set. Only the first descriptor of a
 * chain is ever partly filled.
 */
#define PTE_LIST_EXT	14

struct pte_list_desc {
	struct pte_list_desc *more;
	unsigned int n;
	u64 *sptes[PTE_LIST_EXT];
};

static struct pte_list_desc *head_desc(unsigned long head)
{
	return (struct pte_list_desc *)(head & ~1UL);
}

static void pte_list_add(struct ckvm_vcpu_mmu *m, u64 *sptep,
			 unsigned long *head)
{
	struct pte_list_desc *desc;

	if (!*head) {
		*head = (unsigned long)sptep;
		return;
	}
	if (!(*head & 1)) {
		desc = mmu_cache_alloc(m, &m->desc_cache);
		desc->sptes[0] = (u64 *)*head;
		desc->sptes[1] = sptep;
		desc->n = 2;
		desc->more = NULL;
		*head = (unsigned long)desc | 1;
		return;
	}
	desc = head_desc(*head);
	if (desc->n == PTE_LIST_EXT) {
		struct pte_list_desc *first = mmu_cache_alloc(m, &m->desc_cache);

		first->more = desc;
		first->n = 0;
		desc = first;
		*head = (unsigned long)desc | 1;
	}
	desc->sptes[desc->n++] = sptep;
}

static void pte_list_remove(u64 *sptep, unsigned long *head)
{
	struct pte_list_desc *first, *desc;
	unsigned int i;

	if (!(*head & 1)) {
		if (WARN_ON_ONCE((u64 *)*head != sptep))
			return;
		*head = 0;
		return;
	}
	first = head_desc(*head);
	for (desc = first; desc; desc = desc->more) {
		for (i = 0; i < desc->n; i++) {
			if (desc->sptes[i] != sptep)
				continue;
			/* Fill the hole with the last entry of the first desc. */
			desc->sptes[i] = first->sptes[--first->n];
			if (!first->n) {
				*head = first->more ?
					(unsigned long)first->more | 1 : 0;
				kmem_cache_free(pte_list_desc_cache, first);
			}
			return;
		}
	}
	WARN_ON_ONCE(1);
}

/**
 * pte_list_first() - the first spte of a pte list
 * @head: an rmap head or a page's parent_ptes; caller holds mmu->lock.
 * @it: iterator state for pte_list_next().
 *
 * Return: the spte pointer, or NULL for an empty list.
 */
u64 *pte_list_first(unsigned long head, struct pte_list_iter *it)
{
	if (!head)
		return NULL;
	if (!(head & 1)) {
		it->desc = NULL;
		return (u64 *)head;
	}
	it->desc = head_desc(head);
	it->pos = 0;
	return it->desc->sptes[0];
}

/**
 * pte_list_next() - the next spte of a pte list
 * @it: what pte_list_first() (or the previous call) left; mmu->lock held,
 *	the list unchanged since.
 *
 * Return: the spte pointer, or NULL at the end.
 */
u64 *pte_list_next(struct pte_list_iter *it)
{
	if (!it->desc)
		return NULL;
	if (++it->pos < it->desc->n)
		return it->desc->sptes[it->pos];
	it->desc = it->desc->more;
	it->pos = 0;
	return it->desc ? it->desc->sptes[0] : NULL;
}

/* ---- sptes ---- */

/**
 * sptep_to_sp() - the shadow page an spte is in
 * @sptep: a pointer into a shadow page's table.
 *
 * Return: the page (its table page's private field names it).
 */
struct ckvm_mmu_page *sptep_to_sp(u64 *sptep)
{
	return (struct ckvm_mmu_page *)page_private(virt_to_page(sptep));
}

/**
 * spte_to_child() - the shadow page a non-leaf spte links
 * @spte: a present spte of a table above the leaf level.
 *
 * Return: the child page.
 */
struct ckvm_mmu_page *spte_to_child(u64 spte)
{
	return (struct ckvm_mmu_page *)
		page_private(pfn_to_page((spte & SPTE_ADDR_MASK) >> PAGE_SHIFT));
}

/**
 * sp_spte_gfn() - the guest frame an entry maps
 * @sp: a shadow page; caller holds mmu->lock.
 * @idx: the entry's index.
 *
 * Return: the gfn (the first of a large page): computed for a direct page,
 * remembered (@sp->gfns) for an indirect one.
 */
gfn_t sp_spte_gfn(struct ckvm_mmu_page *sp, int idx)
{
	if (sp->role.direct)
		return sp->gfn + ((gfn_t)idx << (9 * (sp->role.level - 1)));
	return sp->gfns[idx];
}

/* ---- the reverse map ---- */

static unsigned long gfn_to_rmap_index(gfn_t gfn, gfn_t base_gfn, int level)
{
	int shift = 9 * (level - 1);

	return (gfn >> shift) - (base_gfn >> shift);
}

static unsigned long rmap_entries(const struct ckvm_memslot *slot, int level)
{
	return gfn_to_rmap_index(slot->base_gfn + slot->npages - 1,
				 slot->base_gfn, level) + 1;
}

/**
 * gfn_to_rmap() - the rmap head of a frame
 * @slot: the memslot of @gfn.
 * @gfn: the frame.
 * @level: 1 (4 KiB mappings) or 2 (2 MiB).
 *
 * Return: the head (mmu->lock protects what it holds).
 */
unsigned long *gfn_to_rmap(struct ckvm_memslot *slot, gfn_t gfn, int level)
{
	return &slot->arch.rmap[level - 1][gfn_to_rmap_index(gfn,
							     slot->base_gfn,
							     level)];
}

static void rmap_add(struct ckvm_vcpu *vcpu, struct ckvm_memslot *slot,
		     u64 *sptep, gfn_t gfn, int level)
{
	pte_list_add(&vcpu->arch.mmu, sptep, gfn_to_rmap(slot, gfn, level));
}

static void rmap_remove(struct ckvm *vm, struct ckvm_mmu_page *sp, int idx)
{
	gfn_t gfn = sp_spte_gfn(sp, idx);
	struct ckvm_memslot *slot = ckvm_gfn_to_memslot(vm, gfn);

	/* Every mapped gfn is in a slot until its mappings are zapped. */
	if (WARN_ON_ONCE(!slot))
		return;
	pte_list_remove(&sp->spt[idx], gfn_to_rmap(slot, gfn, sp->role.level));
}

/* ---- zapping: sptes and pages are released after the TLB flush ---- */

static u64 *leaf_count(struct ckvm *vm, int level)
{
	return level == 1 ? &vm->stat.arch.pages_4k : &vm->stat.arch.pages_2m;
}

/**
 * zap_list_commit() - release what a zap collected
 * @vm: the VM; with or without mmu->lock.
 * @zl: the collection, empty afterwards.
 *
 * Flushes every vCPU's TLB (and waits for it), then drops the page
 * references and frees the shadow pages, as nothing can use them now.
 */
void zap_list_commit(struct ckvm *vm, struct zap_list *zl)
{
	struct ckvm_mmu_page *sp, *tmp;
	int i;

	if (!zl->flush && !zl->nr_pages && list_empty(&zl->sps))
		return;
	ckvm_make_all_vcpus_request(vm, CKVM_REQ_TLB_FLUSH);
	zl->flush = false;
	for (i = 0; i < zl->nr_pages; i++)
		put_page(zl->pages[i]);
	zl->nr_pages = 0;
	list_for_each_entry_safe(sp, tmp, &zl->sps, link) {
		list_del(&sp->link);
		free_page((unsigned long)sp->spt);
		if (sp->gfns)
			free_page((unsigned long)sp->gfns);
		kmem_cache_free(mmu_page_cache, sp);
	}
}

static void zap_list_add_page(struct ckvm *vm, struct zap_list *zl,
			      struct page *page)
{
	if (zl->nr_pages == ZAP_BATCH)
		zap_list_commit(vm, zl);
	zl->pages[zl->nr_pages++] = page;
}

/**
 * drop_spte() - clear one entry of a shadow page
 * @vm: the VM; caller holds mmu->lock and vm->srcu.
 * @sp: the page.
 * @idx: the entry.
 * @zl: collects the host page of a leaf, released after the TLB flush.
 *
 * A leaf leaves the rmap; a link to a child leaves the child's parent list.
 */
void drop_spte(struct ckvm *vm, struct ckvm_mmu_page *sp, int idx,
	       struct zap_list *zl)
{
	u64 spte = sp->spt[idx];

	if (!is_shadow_present(spte))
		return;
	if (is_last_spte(&vm->arch.mmu, spte, sp->role.level)) {
		if (!(spte & SPTE_PRIVATE)) {
			rmap_remove(vm, sp, idx);
			(*leaf_count(vm, sp->role.level))--;
			zap_list_add_page(vm, zl,
					  pfn_to_page((spte & SPTE_ADDR_MASK) >>
						      PAGE_SHIFT));
		}
	} else {
		pte_list_remove(&sp->spt[idx],
				&spte_to_child(spte)->parent_ptes);
		clear_unsync_child_bit(sp, idx);
	}
	WRITE_ONCE(sp->spt[idx], 0);
	zl->flush = true;
}

/* Clear any spte, wherever it is. */
static void drop_sptep(struct ckvm *vm, u64 *sptep, struct zap_list *zl)
{
	struct ckvm_mmu_page *sp = sptep_to_sp(sptep);

	drop_spte(vm, sp, sptep - sp->spt, zl);
}

/**
 * clear_unsync_child_bit() - a child's unsync state no longer reaches @sp
 * @sp: the parent page; caller holds mmu->lock.
 * @idx: the entry that linked the child.
 */
void clear_unsync_child_bit(struct ckvm_mmu_page *sp, int idx)
{
	if (__test_and_clear_bit(idx, sp->unsync_child_bitmap))
		sp->unsync_children--;
}

/* A page not used as a root any more, and zapped, is freed. */
static void free_zapped_root(struct ckvm *vm, struct ckvm_mmu_page *sp,
			     struct zap_list *zl)
{
	list_move(&sp->link, &zl->sps);
	vm->arch.mmu.n_used_mmu_pages--;
}

/**
 * zap_page() - take a shadow page out of use
 * @vm: the VM; caller holds mmu->lock.
 * @sp: the page.
 * @zl: collects what to release after the TLB flush.
 *
 * Its entries are cleared (children stay, unlinked, for later reuse), the
 * entries that link it are cleared, and it leaves the hash. A root still
 * in use stays, marked invalid, until its last vCPU puts it; those vCPUs
 * are asked to load a new root.
 */
void zap_page(struct ckvm *vm, struct ckvm_mmu_page *sp, struct zap_list *zl)
{
	struct ckvm_mmu *mmu = &vm->arch.mmu;
	struct pte_list_iter it;
	u64 *sptep;
	int i;

	if (sp->role.invalid)
		return;
	for (i = 0; i < CKVM_SPTES_PER_PAGE; i++)
		drop_spte(vm, sp, i, zl);
	while ((sptep = pte_list_first(sp->parent_ptes, &it)))
		drop_sptep(vm, sptep, zl);
	if (!sp->role.direct)
		unaccount_shadowed(vm, sp);
	if (sp->unsync) {
		sp->unsync = false;
		vm->stat.arch.mmu_unsync--;
	}
	hlist_del_init(&sp->hash_link);
	vm->stat.arch.mmu_shadow_zapped++;
	zl->flush = true;
	if (sp->root_count) {
		sp->role.invalid = 1;
		ckvm_make_all_vcpus_request(vm, CKVM_REQ_MMU_RELOAD);
		return;
	}
	list_move(&sp->link, &zl->sps);
	mmu->n_used_mmu_pages--;
}

/**
 * make_mmu_pages_available() - make room under the shadow page limit
 * @vm: the VM; caller holds mmu->lock and vm->srcu.
 * @need: pages the caller may allocate next.
 * @zl: collects what is zapped.
 *
 * Zaps the least recently used pages (no roots) until @need more fit under
 * the limit, or nothing zappable is left.
 */
void make_mmu_pages_available(struct ckvm *vm, int need, struct zap_list *zl)
{
	struct ckvm_mmu *mmu = &vm->arch.mmu;
	struct ckvm_mmu_page *sp, *victim;

	/* No memslot yet, no limit computed (0, as KVM): its floor holds. */
	unsigned long limit = max_t(unsigned long, mmu->n_max_mmu_pages,
				    CKVM_MIN_ALLOC_MMU_PAGES);

	lockdep_assert_held(&mmu->lock);
	while (mmu->n_used_mmu_pages + need > limit) {
		victim = NULL;
		list_for_each_entry_reverse(sp, &mmu->active_pages, link) {
			if (!sp->root_count && !sp->role.invalid) {
				victim = sp;
				break;
			}
		}
		if (!victim)
			break;
		zap_page(vm, victim, zl);
		vm->stat.arch.mmu_recycled++;
	}
}

/* ---- the hash table: (gfn, role) -> shadow page ---- */

/**
 * mmu_hash_bucket() - the hash bucket of a gfn
 * @mmu: the VM's MMU; caller holds mmu->lock.
 * @gfn: the gfn of the shadow pages looked for.
 *
 * Return: the bucket's head.
 */
struct hlist_head *mmu_hash_bucket(struct ckvm_mmu *mmu, gfn_t gfn)
{
	return &mmu->hash[hash_64(gfn, CKVM_MMU_HASH_BITS)];
}

/**
 * mmu_find_page() - look a shadow page up
 * @vm: the VM; caller holds mmu->lock.
 * @gfn: its guest table, or first mapped frame.
 * @role: its role.
 *
 * Return: the page, or NULL.
 */
struct ckvm_mmu_page *mmu_find_page(struct ckvm *vm, gfn_t gfn,
				    union ckvm_mmu_page_role role)
{
	struct ckvm_mmu_page *sp;

	hlist_for_each_entry(sp, mmu_hash_bucket(&vm->arch.mmu, gfn),
			     hash_link)
		if (sp->gfn == gfn && sp->role.word == role.word)
			return sp;
	return NULL;
}

/**
 * mmu_alloc_page() - a new shadow page
 * @vcpu: the faulting vCPU, whose caches it comes from; mmu->lock held.
 * @gfn: its guest table, or first mapped frame.
 * @role: its role.
 * @zl: collects what write-protecting its guest table zaps.
 *
 * The page joins the hash and the head of the LRU list; an indirect one
 * write-protects its guest table (account_shadowed()).
 *
 * Return: the page.
 */
struct ckvm_mmu_page *mmu_alloc_page(struct ckvm_vcpu *vcpu, gfn_t gfn,
				     union ckvm_mmu_page_role role,
				     struct zap_list *zl)
{
	struct ckvm_vcpu_mmu *m = &vcpu->arch.mmu;
	struct ckvm *vm = vcpu->vm;
	struct ckvm_mmu *mmu = &vm->arch.mmu;
	struct ckvm_mmu_page *sp;

	sp = mmu_cache_alloc(m, &m->sp_cache);
	sp->spt = mmu_cache_alloc(m, &m->spt_cache);
	if (!role.direct)
		sp->gfns = mmu_cache_alloc(m, &m->gfns_cache);
	set_page_private(virt_to_page(sp->spt), (unsigned long)sp);
	sp->gfn = gfn;
	sp->role = role;
	hlist_add_head(&sp->hash_link, mmu_hash_bucket(mmu, gfn));
	list_add(&sp->link, &mmu->active_pages);
	mmu->n_used_mmu_pages++;
	vm->stat.arch.mmu_cache_miss++;
	if (!role.direct)
		account_shadowed(vm, sp, zl);
	return sp;
}

/**
 * link_shadow_page() - point a table entry at a child page
 * @vcpu: the vCPU (its descriptor cache); caller holds mmu->lock.
 * @sptep: the entry, not present.
 * @child: the page.
 */
void link_shadow_page(struct ckvm_vcpu *vcpu, u64 *sptep,
		      struct ckvm_mmu_page *child)
{
	const struct ckvm_tdp_format *fmt = vcpu->vm->arch.mmu.fmt;

	WRITE_ONCE(*sptep, __pa(child->spt) | fmt->table);
	pte_list_add(&vcpu->arch.mmu, sptep, &child->parent_ptes);
	if (child->unsync || child->unsync_children)
		mark_unsync(sptep);
}

/**
 * mark_unsync() - a link now leads to unsync pages
 * @sptep: the entry that links a page that is unsync or has unsync
 *	   children; caller holds mmu->lock.
 *
 * Noted in the table that holds @sptep and, when that learns it first, up
 * through its own parents to the roots.
 */
void mark_unsync(u64 *sptep)
{
	struct ckvm_mmu_page *sp = sptep_to_sp(sptep);
	struct pte_list_iter it;
	u64 *parent;

	if (__test_and_set_bit(sptep - sp->spt, sp->unsync_child_bitmap))
		return;
	if (sp->unsync_children++)
		return;
	for (parent = pte_list_first(sp->parent_ptes, &it); parent;
	     parent = pte_list_next(&it))
		mark_unsync(parent);
}

/* ---- installing a leaf ---- */

/*
 * The leaf spte for @page at @level with the rights @pte_access (ACC_*)
 * and MAP_* @flags.
 */
static u64 make_spte(struct ckvm_mmu *mmu, struct page *page, int level,
		     unsigned int pte_access, unsigned int flags)
{
	const struct ckvm_tdp_format *fmt = mmu->fmt;
	u64 phys = page_to_phys(page);
	u64 spte;

	if (level == 2)
		phys &= ~((PAGE_SIZE << 9) - 1);
	spte = phys | fmt->readable | fmt->leaf | (level == 2 ? fmt->large : 0);
	if (pte_access & ACC_EXEC_MASK)
		spte |= fmt->executable;
	else
		spte |= fmt->nx;
	if (pte_access & ACC_USER_MASK)
		spte |= fmt->user;
	if (flags & MAP_WRITABLE)
		spte |= fmt->writable;
	if (!mmu->tdp && (flags & MAP_HOST_WRITABLE))
		spte |= SPTE_HOST_WRITABLE;
	return spte;
}

/**
 * mmu_map_page() - install a leaf
 * @vcpu: the faulting vCPU; caller holds mmu->lock.
 * @slot: the memslot of @gfn.
 * @sp: the table of the leaf.
 * @idx: its index there.
 * @gfn: the (first) guest frame it maps.
 * @page: the host page, with a reference that the mapping takes over.
 * @pte_access: ACC_* rights.
 * @flags: MAP_WRITABLE, MAP_HOST_WRITABLE.
 * @zl: collects what an old mapping leaves.
 *
 * Return: true if the entry now maps @page (else the reference was put).
 */
bool mmu_map_page(struct ckvm_vcpu *vcpu, struct ckvm_memslot *slot,
		  struct ckvm_mmu_page *sp, int idx, gfn_t gfn,
		  struct page *page, unsigned int pte_access, unsigned int flags,
		  struct zap_list *zl)
{
	struct ckvm *vm = vcpu->vm;
	struct ckvm_mmu *mmu = &vm->arch.mmu;
	int level = sp->role.level;
	u64 *sptep = &sp->spt[idx];
	u64 old = *sptep, spte;

	spte = make_spte(mmu, page, level, pte_access, flags);
	if (is_shadow_present(old)) {
		if (is_last_spte(mmu, old, level) &&
		    (old & SPTE_ADDR_MASK) == (spte & SPTE_ADDR_MASK) &&
		    (sp->role.direct || sp->gfns[idx] == gfn)) {
			/* Mapped already: keep its reference, update rights. */
			put_page(page);
			if (mmu->tdp)
				spte |= old & mmu->fmt->writable;
			if ((old & mmu->fmt->writable) && !(spte & mmu->fmt->writable))
				zl->flush = true;
			WRITE_ONCE(*sptep, spte);
			goto out;
		}
		drop_spte(vm, sp, idx, zl);
	}
	if (!sp->role.direct)
		sp->gfns[idx] = gfn;
	rmap_add(vcpu, slot, sptep, gfn, level);
	(*leaf_count(vm, level))++;
	WRITE_ONCE(*sptep, spte);
out:
	vcpu->stat.arch.pf_fixed++;
	if ((spte & mmu->fmt->writable) && slot->dirty_bitmap)
		set_bit(gfn - slot->base_gfn, slot->dirty_bitmap);
	return true;
}

/* ---- roots ---- */

/* The root of direct (NPT/EPT) mode: shared by every vCPU of the VM. */
static union ckvm_mmu_page_role tdp_root_role(struct ckvm_mmu *mmu)
{
	union ckvm_mmu_page_role role = { .word = 0 };

	role.level = mmu->fmt->root_level;
	role.direct = 1;
	role.access = ACC_ALL;
	role.cr4_pae = 1;
	return role;
}

/**
 * mmu_put_root() - a vCPU stops using a root page
 * @vm: the VM; caller holds mmu->lock.
 * @sp: the page, or NULL.
 * @zl: collects it if it was zapped and this was its last user.
 */
void mmu_put_root(struct ckvm *vm, struct ckvm_mmu_page *sp,
		  struct zap_list *zl)
{
	if (!sp)
		return;
	if (!--sp->root_count && sp->role.invalid)
		free_zapped_root(vm, sp, zl);
}

/**
 * ckvm_mmu_unload() - stop using the current root
 * @vcpu: the vCPU, under vcpu->mutex.
 *
 * The next guest entry loads a root again (ckvm_mmu_load()). Used when
 * the root is zapped, on reset, and when the guest's paging changes.
 */
void ckvm_mmu_unload(struct ckvm_vcpu *vcpu)
{
	struct ckvm_vcpu_mmu *m = &vcpu->arch.mmu;
	struct ckvm *vm = vcpu->vm;
	struct zap_list zl;
	int i;

	if (m->root_hpa == INVALID_PAGE)
		return;
	zap_list_init(&zl);
	spin_lock(&vm->arch.mmu.lock);
	mmu_put_root(vm, m->root, &zl);
	m->root = NULL;
	for (i = 0; i < 4; i++) {
		mmu_put_root(vm, m->pae_sp[i], &zl);
		m->pae_sp[i] = NULL;
		if (m->pae_root)
			m->pae_root[i] = 0;
	}
	m->root_hpa = INVALID_PAGE;
	spin_unlock(&vm->arch.mmu.lock);
	zap_list_commit(vm, &zl);
}

/**
 * ckvm_mmu_load() - give the vCPU a root before it enters the guest
 * @vcpu: the vCPU, loaded, under vcpu->mutex; caller holds vm->srcu.
 *
 * Direct mode: the VM's one root. Shadow mode: the root that shadows the
 * guest's CR3 in its current paging mode (found again if it survived).
 * Tells the backend (load_mmu_pgd) and flushes the vCPU's TLB.
 *
 * Return: 0, or -ENOMEM.
 */
int ckvm_mmu_load(struct ckvm_vcpu *vcpu)
{
	struct ckvm_vcpu_mmu *m = &vcpu->arch.mmu;
	struct ckvm *vm = vcpu->vm;
	struct ckvm_mmu *mmu = &vm->arch.mmu;
	struct ckvm_mmu_page *sp;
	struct zap_list zl;
	int r;

	if (m->root_hpa != INVALID_PAGE)
		return 0;
	r = ckvm_mmu_topup_caches(vcpu, !mmu->tdp);
	if (r)
		return r;
	zap_list_init(&zl);
	spin_lock(&mmu->lock);
	make_mmu_pages_available(vm, 4, &zl);
	if (mmu->tdp) {
		union ckvm_mmu_page_role role = tdp_root_role(mmu);

		sp = mmu_find_page(vm, 0, role);
		if (!sp)
			sp = mmu_alloc_page(vcpu, 0, role, &zl);
		sp->root_count++;
		m->root = sp;
		m->root_role = role;
		m->root_hpa = __pa(sp->spt);
	} else {
		r = shadow_mmu_alloc_roots(vcpu, &zl);
	}
	spin_unlock(&mmu->lock);
	zap_list_commit(vm, &zl);
	if (r)
		return r;
	ckvm_x86_ops->load_mmu_pgd(vcpu, m->root_hpa);
	ckvm_x86_ops->flush_tlb(vcpu);
	return 0;
}

/* ---- direct mode: nested page faults ---- */

/**
 * host_maps_large() - does the VMM map an address with a 2 MiB page?
 * @mm: the VMM's address space.
 * @hva: the address.
 *
 * Walked like GUP-fast, with interrupts off so that the tables cannot be
 * freed meanwhile; a change after the walk is caught by the MMU notifier's
 * sequence check. Without mmu->lock.
 *
 * Return: true for a 2 MiB or 1 GiB mapping.
 */
bool host_maps_large(struct mm_struct *mm, unsigned long hva)
{
	unsigned long flags;
	bool large = false;
	pgd_t pgd;
	p4d_t p4d;
	pud_t pud;
	pmd_t pmd;

	local_irq_save(flags);
	pgd = READ_ONCE(*pgd_offset(mm, hva));
	if (!pgd_present(pgd))
		goto out;
	p4d = READ_ONCE(*p4d_offset(&pgd, hva));
	if (!p4d_present(p4d))
		goto out;
	pud = READ_ONCE(*pud_offset(&p4d, hva));
	if (!pud_present(pud))
		goto out;
	if (pud_leaf(pud)) {
		large = true;
		goto out;
	}
	pmd = READ_ONCE(*pmd_offset(&pud, hva));
	large = pmd_present(pmd) && pmd_leaf(pmd);
out:
	local_irq_restore(flags);
	return large;
}

/**
 * fault_can_be_large() - may the 2 MiB frame around a gfn be one leaf?
 * @vm: the VM; caller holds vm->srcu.
 * @slot: the memslot of @gfn.
 * @gfn: the faulting frame.
 * @hva: its address in the VMM.
 *
 * Not while logging, not across the slot's edges, not with a shadowed
 * guest table in it (checked again under mmu->lock), and only where the
 * VMM's 2 MiB page lines up with the guest's.
 *
 * Return: true if it may.
 */
bool fault_can_be_large(struct ckvm *vm, struct ckvm_memslot *slot,
			gfn_t gfn, unsigned long hva)
{
	gfn_t first = gfn & ~(gfn_t)(CKVM_SPTES_PER_PAGE - 1);

	if (!vm->arch.mmu.fmt->large || slot->dirty_bitmap)
		return false;
	if (first < slot->base_gfn ||
	    first + CKVM_SPTES_PER_PAGE > slot->base_gfn + slot->npages)
		return false;
	if (*gfn_to_lpage_disallow(slot, gfn))
		return false;
	if (((hva >> PAGE_SHIFT) ^ gfn) & (CKVM_SPTES_PER_PAGE - 1))
		return false;
	return host_maps_large(vm->mm, hva);
}

/**
 * gfn_to_lpage_disallow() - the count of shadowed tables in a 2 MiB frame
 * @slot: the memslot of @gfn.
 * @gfn: a frame in it.
 *
 * Return: the counter (under mmu->lock).
 */
u32 *gfn_to_lpage_disallow(struct ckvm_memslot *slot, gfn_t gfn)
{
	return &slot->arch.lpage_disallow[gfn_to_rmap_index(gfn, slot->base_gfn,
							    2)];
}

/**
 * mmu_get_host_page() - the host page behind a gfn, for a fault
 * @vm: the VM; caller holds vm->srcu.
 * @slot: the memslot of @gfn.
 * @gfn: the guest frame.
 * @write: the access writes.
 * @page: out, the page with a reference.
 * @writable: out, the VMM's mapping is writable (never for a
 *	      KVM_MEM_READONLY slot).
 *
 * Map writable when the VMM's mapping allows, so that later writes do not
 * fault. No set_page_dirty here: a FOLL_WRITE fault left the VMM's PTE
 * dirty, and cleaning it (page_mkclean) goes through the MMU notifier.
 *
 * Return: 0, or -EFAULT (nothing at the VMM's address, or a write to a
 * read-only mapping).
 */
int mmu_get_host_page(struct ckvm *vm, struct ckvm_memslot *slot, gfn_t gfn,
		      bool write, struct page **page, bool *writable)
{
	unsigned long hva = slot->userspace_addr +
			    ((gfn - slot->base_gfn) << PAGE_SHIFT);

	/* A read-only slot is never mapped writable: its writes are MMIO. */
	*writable = true;
	if (!(slot->flags & KVM_MEM_READONLY) &&
	    get_user_pages_fast(hva, 1, FOLL_WRITE, page) == 1)
		return 0;
	*writable = false;
	if (write || get_user_pages_fast(hva, 1, 0, page) != 1)
		return -EFAULT;
	return 0;
}

/**
 * ckvm_mmu_tdp_fault() - resolve a nested page fault
 * @vcpu: the faulting vCPU, loaded; caller holds vm->srcu.
 * @f: the fault as the backend saw it.
 *
 * Maps the gfn's host page, as a 2 MiB leaf where the VMM's mapping is
 * one (AMD APM 15.25, Intel SDM 28.2). An access no memslot covers, or a
 * write to a KVM_MEM_READONLY slot, is MMIO: the instruction is emulated
 * (x86/mmio.c).
 *
 * Return: 1 to re-enter the guest, 0 with an exit for userspace, -errno.
 */
int ckvm_mmu_tdp_fault(struct ckvm_vcpu *vcpu, const struct ckvm_tdp_fault *f)
{
	struct ckvm *vm = vcpu->vm;
	struct ckvm_mmu *mmu = &vm->arch.mmu;
	u64 gpa = f->gpa;
	bool write = f->access & CKVM_ACC_WRITE;
	struct ckvm_mmu_page *sp;
	struct ckvm_memslot *slot;
	gfn_t gfn = gpa >> PAGE_SHIFT;
	unsigned long hva, mmu_seq;
	struct zap_list zl;
	struct page *page;
	bool writable, large;
	int level, r;

	vcpu->stat.arch.pf_taken++;
	trace_ckvm_page_fault(vcpu->vcpu_id, true, gpa, f->access);
	slot = ckvm_gfn_to_memslot(vm, gfn);
	if (!slot || (write && (slot->flags & KVM_MEM_READONLY)))
		return ckvm_emulate_mmio_fault(vcpu, f);
	if (READ_ONCE(slot->arch.invalid))
		return 1;	/* going away: fault again after the update */
	hva = slot->userspace_addr + ((gfn - slot->base_gfn) << PAGE_SHIFT);

	/* An invalidation from here on makes the page we find stale. */
	mmu_seq = READ_ONCE(mmu->invalidate_seq);
	/* Read the sequence before the page tables get_user_pages reads. */
	smp_rmb();
	if (mmu_get_host_page(vm, slot, gfn, write, &page, &writable))
		return -EFAULT;
	/* While logging, only a write makes a page writable (and dirty). */
	if (slot->dirty_bitmap && !write)
		writable = false;
	large = fault_can_be_large(vm, slot, gfn, hva);

	r = ckvm_mmu_topup_caches(vcpu, false);
	if (r) {
		put_page(page);
		return r;
	}
	zap_list_init(&zl);
	spin_lock(&mmu->lock);
	if (mmu->invalidate_in_progress || mmu->invalidate_seq != mmu_seq ||
	    slot->arch.invalid || vcpu->arch.mmu.root_hpa == INVALID_PAGE ||
	    vcpu->arch.mmu.root->role.invalid) {
		/* Raced with an invalidation: let the guest fault again. */
		spin_unlock(&mmu->lock);
		put_page(page);
		return 1;
	}
	make_mmu_pages_available(vm, mmu->fmt->root_level, &zl);

	/* Down to the leaf: level 1, or level 2 for a 2 MiB mapping. */
	sp = vcpu->arch.mmu.root;
	for (level = sp->role.level;; level--) {
		int idx = PT_INDEX(gpa, level);
		u64 spte = sp->spt[idx];
		struct ckvm_mmu_page *child;
		union ckvm_mmu_page_role role;
		gfn_t base;

		if (level == 1 || (level == 2 && large &&
				   (!is_shadow_present(spte) ||
				    is_large_spte(mmu, spte))))
			break;
		if (level == 2 && is_large_spte(mmu, spte)) {
			/*
			 * A 2 MiB leaf where the VMM no longer has a 2 MiB
			 * page (the invalidation is already over): drop it
			 * and map 4 KiB pages.
			 */
			drop_spte(vm, sp, idx, &zl);
			spte = 0;
		}
		if (!is_shadow_present(spte)) {
			role = sp->role;
			role.level = level - 1;
			base = (gpa >> PT_LEVEL_SHIFT(level)) <<
			       (PT_LEVEL_SHIFT(level) - PAGE_SHIFT);
			child = mmu_find_page(vm, base, role);
			if (!child)
				child = mmu_alloc_page(vcpu, base, role, &zl);
			link_shadow_page(vcpu, &sp->spt[idx], child);
		}
		sp = spte_to_child(sp->spt[idx]);
	}
	mmu_map_page(vcpu, slot, sp, PT_INDEX(gpa, level),
		     level == 2 ? gfn & ~(gfn_t)(CKVM_SPTES_PER_PAGE - 1) : gfn,
		     page, ACC_ALL, writable ? MAP_WRITABLE : 0, &zl);
	spin_unlock(&mmu->lock);
	zap_list_commit(vm, &zl);
	return 1;
}

/* ---- zapping by gfn: memslots, the MMU notifier ---- */

/*
 * Drop every mapping of gfns [@start, @end) of @slot, 4 KiB and 2 MiB
 * leaves alike. Caller holds mmu->lock.
 */
static void zap_slot_range(struct ckvm *vm, struct ckvm_memslot *slot,
			   gfn_t start, gfn_t end, struct zap_list *zl)
{
	struct pte_list_iter it;
	int level;

	start = max(start, slot->base_gfn);
	end = min(end, slot->base_gfn + slot->npages);
	if (start >= end)
		return;
	for (level = 1; level <= CKVM_NR_RMAP_LEVELS; level++) {
		unsigned long i = gfn_to_rmap_index(start, slot->base_gfn, level);
		unsigned long last = gfn_to_rmap_index(end - 1, slot->base_gfn,
						       level);
		u64 *sptep;

		for (; i <= last; i++) {
			unsigned long *head = &slot->arch.rmap[level - 1][i];

			while ((sptep = pte_list_first(*head, &it)))
				drop_sptep(vm, sptep, zl);
		}
	}
}

/*
 * Unmap gfns [start, end) of @slot. No vCPU may use a stale translation
 * once a page's reference is dropped, so every vCPU's TLB is flushed
 * before (zap_list_commit). Does not sleep: MMU notifiers call it.
 */
static void zap_gfn_range(struct ckvm *vm, struct ckvm_memslot *slot,
			  gfn_t start, gfn_t end)
{
	struct ckvm_mmu *mmu = &vm->arch.mmu;
	struct zap_list zl;

	zap_list_init(&zl);
	spin_lock(&mmu->lock);
	zap_slot_range(vm, slot, start, end, &zl);
	spin_unlock(&mmu->lock);
	zap_list_commit(vm, &zl);
}

/* ---- MMU notifier: the VMM's address space changes ---- */

static struct ckvm *notifier_to_vm(struct mmu_notifier *mn)
{
	return container_of(mn, struct ckvm, arch.mmu.notifier);
}

static int ckvm_mn_invalidate_range_start(struct mmu_notifier *mn,
					  const struct mmu_notifier_range *range)
{
	struct ckvm *vm = notifier_to_vm(mn);
	struct ckvm_mmu *mmu = &vm->arch.mmu;
	struct ckvm_memslots *slots;
	int i, idx;

	/* From here until range_end, faults must not install mappings. */
	spin_lock(&mmu->lock);
	mmu->invalidate_in_progress++;
	spin_unlock(&mmu->lock);

	idx = srcu_read_lock(&vm->srcu);
	slots = srcu_dereference(vm->memslots, &vm->srcu);
	for (i = 0; i < slots->nr; i++) {
		struct ckvm_memslot *s = slots->slots[i];
		unsigned long s_end = s->userspace_addr + (s->npages << PAGE_SHIFT);
		unsigned long from = max(range->start, s->userspace_addr);
		unsigned long to = min(range->end, s_end);

		if (from >= to)
			continue;
		zap_gfn_range(vm, s,
			s->base_gfn + ((from - s->userspace_addr) >> PAGE_SHIFT),
			s->base_gfn + ((to - 1 - s->userspace_addr) >> PAGE_SHIFT) + 1);
	}
	srcu_read_unlock(&vm->srcu, idx);
	return 0;
}

static void ckvm_mn_invalidate_range_end(struct mmu_notifier *mn,
					 const struct mmu_notifier_range *range)
{
	struct ckvm_mmu *mmu = &notifier_to_vm(mn)->arch.mmu;

	spin_lock(&mmu->lock);
	mmu->invalidate_seq++;
	mmu->invalidate_in_progress--;
	spin_unlock(&mmu->lock);
}

/* The address space is going away (process exit): drop every mapping. */
static void ckvm_mn_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct ckvm *vm = notifier_to_vm(mn);
	struct ckvm_memslots *slots;
	int i, idx;

	idx = srcu_read_lock(&vm->srcu);
	slots = srcu_dereference(vm->memslots, &vm->srcu);
	for (i = 0; i < slots->nr; i++)
		zap_gfn_range(vm, slots->slots[i], 0, U64_MAX);
	srcu_read_unlock(&vm->srcu, idx);
}

static const struct mmu_notifier_ops ckvm_mmu_notifier_ops = {
	.invalidate_range_start = ckvm_mn_invalidate_range_start,
	.invalidate_range_end = ckvm_mn_invalidate_range_end,
	.release = ckvm_mn_release,
};

/* ---- memslots ---- */

/**
 * ckvm_mmu_memslot_create() - the MMU's arrays for a new memslot
 * @vm: the VM; caller holds slots_lock.
 * @old: the slot @new replaces with the same gfns (flags change), or NULL.
 * @new: the slot, not yet published.
 *
 * A slot that replaces one at the same place shares its arrays (its
 * mappings stay); a new or moved one gets empty ones.
 *
 * Return: 0, or -ENOMEM.
 */
int ckvm_mmu_memslot_create(struct ckvm *vm, struct ckvm_memslot *old,
			    struct ckvm_memslot *new)
{
	int level;

	if (old && old->base_gfn == new->base_gfn) {
		new->arch = old->arch;
		return 0;
	}
	memset(&new->arch, 0, sizeof(new->arch));
	for (level = 1; level <= CKVM_NR_RMAP_LEVELS; level++) {
		new->arch.rmap[level - 1] =
			kvcalloc(rmap_entries(new, level), sizeof(unsigned long),
				 GFP_KERNEL_ACCOUNT);
		if (!new->arch.rmap[level - 1])
			goto err;
	}
	new->arch.lpage_disallow = kvcalloc(rmap_entries(new, 2), sizeof(u32),
					    GFP_KERNEL_ACCOUNT);
	if (new->arch.lpage_disallow)
		return 0;
err:
	ckvm_mmu_memslot_free(new, NULL);
	return -ENOMEM;
}

/**
 * ckvm_mmu_memslot_free() - free a slot's MMU arrays
 * @slot: a slot no snapshot and no mapping refers to any more.
 * @heir: the slot that shares its arrays now, or NULL.
 */
void ckvm_mmu_memslot_free(struct ckvm_memslot *slot,
			   const struct ckvm_memslot *heir)
{
	int level;

	if (heir && heir->arch.rmap[0] == slot->arch.rmap[0])
		return;
	for (level = 0; level < CKVM_NR_RMAP_LEVELS; level++)
		kvfree(slot->arch.rmap[level]);
	kvfree(slot->arch.lpage_disallow);
	memset(&slot->arch, 0, sizeof(slot->arch));
}

/**
 * ckvm_mmu_memslot_remove() - a slot is about to be deleted or moved
 * @vm: the VM; caller holds slots_lock, and the slot is still published.
 * @slot: the slot.
 *
 * From now on no fault maps its gfns; every mapping of them, and every
 * shadow page of a guest table in them, is zapped.
 */
void ckvm_mmu_memslot_remove(struct ckvm *vm, struct ckvm_memslot *slot)
{
	struct ckvm_mmu *mmu = &vm->arch.mmu;
	struct zap_list zl;

	zap_list_init(&zl);
	spin_lock(&mmu->lock);
	WRITE_ONCE(slot->arch.invalid, true);
	zap_slot_range(vm, slot, slot->base_gfn, slot->base_gfn + slot->npages,
		       &zl);
	if (!mmu->tdp)
		zap_shadowed_range(vm, slot->base_gfn,
				   slot->base_gfn + slot->npages, &zl);
	spin_unlock(&mmu->lock);
	zap_list_commit(vm, &zl);
}

/**
 * ckvm_mmu_zap_all() - zap every shadow page
 * @vm: the VM; without mmu->lock.
 *
 * vCPUs load new roots before their next entry. For rare changes that
 * affect mappings no memslot names (the vm86 TSS address).
 */
void ckvm_mmu_zap_all(struct ckvm *vm)
{
	struct ckvm_mmu *mmu = &vm->arch.mmu;
	struct ckvm_mmu_page *sp, *tmp;
	struct zap_list zl;
	int idx;

	zap_list_init(&zl);
	idx = srcu_read_lock(&vm->srcu);
	spin_lock(&mmu->lock);
	list_for_each_entry_safe(sp, tmp, &mmu->active_pages, link)
		zap_page(vm, sp, &zl);
	spin_unlock(&mmu->lock);
	zap_list_commit(vm, &zl);
	srcu_read_unlock(&vm->srcu, idx);
}

/**
 * ckvm_mmu_memslot_zap() - drop every mapping of a slot
 * @vm: the VM; caller holds slots_lock.
 * @slot: the slot (logging was turned on: every write must fault).
 */
void ckvm_mmu_memslot_zap(struct ckvm *vm, struct ckvm_memslot *slot)
{
	zap_gfn_range(vm, slot, slot->base_gfn, slot->base_gfn + slot->npages);
}

/* KVM's default: 2% of the guest's pages, at least 64. */
static unsigned long default_mmu_pages(struct ckvm *vm)
{
	unsigned long nr = ckvm_memslots(vm)->npages;

	return max_t(unsigned long, nr * CKVM_PERMILLE_MMU_PAGES / 1000,
		     CKVM_MIN_ALLOC_MMU_PAGES);
}

/* Set the limit and zap down to it. Caller holds slots_lock. */
static void change_mmu_pages(struct ckvm *vm, unsigned long nr)
{
	struct ckvm_mmu *mmu = &vm->arch.mmu;
	struct zap_list zl;

	zap_list_init(&zl);
	spin_lock(&mmu->lock);
	mmu->n_max_mmu_pages = nr;
	make_mmu_pages_available(vm, 0, &zl);
	spin_unlock(&mmu->lock);
	zap_list_commit(vm, &zl);
}

/**
 * ckvm_mmu_memslots_changed() - the memslots changed
 * @vm: the VM; caller holds slots_lock.
 *
 * Unless userspace set the limit on shadow pages, it follows the guest's
 * memory size as in KVM.
 */
void ckvm_mmu_memslots_changed(struct ckvm *vm)
{
	if (!vm->arch.mmu.n_requested_mmu_pages)
		change_mmu_pages(vm, default_mmu_pages(vm));
}

/**
 * ckvm_mmu_set_nr_mmu_pages() - KVM_SET_NR_MMU_PAGES
 * @vm: the VM.
 * @nr: the most shadow pages the VM may have (pages of sptes).
 *
 * Return: 0, or -EINVAL below KVM's floor of 64.
 */
int ckvm_mmu_set_nr_mmu_pages(struct ckvm *vm, unsigned long nr)
{
	if (nr < CKVM_MIN_ALLOC_MMU_PAGES)
		return -EINVAL;
	mutex_lock(&vm->slots_lock);
	vm->arch.mmu.n_requested_mmu_pages = nr;
	change_mmu_pages(vm, nr);
	mutex_unlock(&vm->slots_lock);
	return 0;
}

/**
 * ckvm_mmu_get_nr_mmu_pages() - KVM_GET_NR_MMU_PAGES
 * @vm: the VM.
 *
 * Return: the limit on shadow pages in force; 0 before the first memslot
 * (as KVM, which computes its default when a slot comes).
 */
unsigned long ckvm_mmu_get_nr_mmu_pages(struct ckvm *vm)
{
	return READ_ONCE(vm->arch.mmu.n_max_mmu_pages);
}

/**
 * ckvm_mmu_get_dirty_log() - collect and clear a slot's dirty bits
 * @vm: the VM; caller holds slots_lock.
 * @slot: a slot with a dirty bitmap.
 * @out: the bits, as many longs as the bitmap has.
 *
 * The pages named are write-protected through the rmap, so that the next
 * write to each is seen again; every vCPU's TLB is flushed before the
 * bitmap reaches userspace.
 */
void ckvm_mmu_get_dirty_log(struct ckvm *vm, struct ckvm_memslot *slot,
			    unsigned long *out)
{
	struct ckvm_mmu *mmu = &vm->arch.mmu;
	unsigned long i, bit;

	spin_lock(&mmu->lock);
	for (i = 0; i < BITS_TO_LONGS(slot->npages); i++) {
		unsigned long mask = xchg(&slot->dirty_bitmap[i], 0);

		out[i] = mask;
		for_each_set_bit(bit, &mask, BITS_PER_LONG)
			rmap_write_protect(vm, slot, slot->base_gfn +
					   i * BITS_PER_LONG + bit);
	}
	spin_unlock(&mmu->lock);
	ckvm_make_all_vcpus_request(vm, CKVM_REQ_TLB_FLUSH);
}

/**
 * zap_large_over() - drop the 2 MiB leaves over a frame
 * @vm: the VM; caller holds mmu->lock and vm->srcu.
 * @slot: the memslot of @gfn.
 * @gfn: a frame that is to be write-protected alone.
 * @zl: collects what is dropped.
 */
void zap_large_over(struct ckvm *vm, struct ckvm_memslot *slot, gfn_t gfn,
		    struct zap_list *zl)
{
	struct pte_list_iter it;
	u64 *sptep;

	while ((sptep = pte_list_first(*gfn_to_rmap(slot, gfn, 2), &it)))
		drop_sptep(vm, sptep, zl);
}

/**
 * rmap_write_protect() - make every 4 KiB mapping of a frame read-only
 * @vm: the VM; caller holds mmu->lock.
 * @slot: the memslot of @gfn.
 * @gfn: the frame (2 MiB leaves over it are zap_large_over()'s).
 *
 * The caller flushes the TLBs when it returns true.
 *
 * Return: whether an spte changed.
 */
bool rmap_write_protect(struct ckvm *vm, struct ckvm_memslot *slot, gfn_t gfn)
{
	u64 writable = vm->arch.mmu.fmt->writable;
	struct pte_list_iter it;
	bool changed = false;
	u64 *sptep;

	for (sptep = pte_list_first(*gfn_to_rmap(slot, gfn, 1), &it); sptep;
	     sptep = pte_list_next(&it)) {
		if (*sptep & writable) {
			WRITE_ONCE(*sptep, *sptep & ~writable);
			changed = true;
		}
	}
	return changed;
}

/* ---- VM and vCPU ---- */

/**
 * ckvm_mmu_vm_init() - set up a VM's MMU
 * @vm: the VM, being created.
 * @fmt: the backend's nested page table format, or NULL for shadow
 *	 paging (no NPT/EPT, or tdp=0).
 *
 * Return: 0, or -errno from the MMU notifier registration.
 */
int ckvm_mmu_vm_init(struct ckvm *vm, const struct ckvm_tdp_format *fmt)
{
	struct ckvm_mmu *mmu = &vm->arch.mmu;
	int i, r;

	spin_lock_init(&mmu->lock);
	INIT_LIST_HEAD(&mmu->active_pages);
	for (i = 0; i < ARRAY_SIZE(mmu->hash); i++)
		INIT_HLIST_HEAD(&mmu->hash[i]);
	mmu->tdp = fmt;
	mmu->fmt = fmt ? fmt : &shadow_format;
	if (fmt && WARN_ON_ONCE(fmt->root_level < 4 || fmt->root_level > 5))
		return -EINVAL;
	mmu->notifier.ops = &ckvm_mmu_notifier_ops;
	r = mmu_notifier_register(&mmu->notifier, vm->mm);
	if (!r)
		mmu->notifier_registered = true;
	return r;
}

/**
 * ckvm_mmu_vm_release() - unregister the MMU notifier of a dying VM
 * @vm: the VM, whose last reference is gone; its vCPUs still exist.
 *
 * Every notifier callback may make requests of every vCPU (a zap flushes
 * their TLBs), and unregistering calls ->release, which zaps: so a VM's
 * destruction unregisters while its vCPUs exist and frees them after (as
 * KVM's kvm_destroy_vm()). Unregistering waits for callbacks under way.
 * Idempotent.
 */
void ckvm_mmu_vm_release(struct ckvm *vm)
{
	struct ckvm_mmu *mmu = &vm->arch.mmu;

	if (mmu->notifier_registered)
		mmu_notifier_unregister(&mmu->notifier, vm->mm);
	mmu->notifier_registered = false;
}

/**
 * ckvm_mmu_vm_destroy() - release a VM's MMU
 * @vm: the VM; no vCPU can run any more.
 *
 * Every page reference the mappings hold is dropped and every shadow page
 * freed; the rmap arrays go with the memslots.
 */
void ckvm_mmu_vm_destroy(struct ckvm *vm)
{
	struct ckvm_mmu *mmu = &vm->arch.mmu;
	struct ckvm_mmu_page *sp, *tmp;
	int i;

	ckvm_mmu_vm_release(vm);
	list_for_each_entry_safe(sp, tmp, &mmu->active_pages, link) {
		for (i = 0; i < CKVM_SPTES_PER_PAGE; i++) {
			u64 spte = sp->spt[i];

			if (is_shadow_present(spte) && !(spte & SPTE_PRIVATE) &&
			    is_last_spte(mmu, spte, sp->role.level))
				put_page(pfn_to_page((spte & SPTE_ADDR_MASK) >>
						     PAGE_SHIFT));
		}
		list_del(&sp->link);
		free_page((unsigned long)sp->spt);
		if (sp->gfns)
			free_page((unsigned long)sp->gfns);
		kmem_cache_free(mmu_page_cache, sp);
	}
	mmu->n_used_mmu_pages = 0;
}

/**
 * ckvm_mmu_vcpu_init() - a new vCPU's MMU state
 * @vcpu: the vCPU, being created.
 *
 * Shadow paging of 32-bit and PAE guests needs a page of PDPTEs below
 * 4 GiB (CR3 has 32 bits there).
 *
 * Return: 0, or -ENOMEM.
 */
int ckvm_mmu_vcpu_init(struct ckvm_vcpu *vcpu)
{
	struct ckvm_vcpu_mmu *m = &vcpu->arch.mmu;

	m->root_hpa = INVALID_PAGE;
	if (vcpu->vm->arch.mmu.tdp)
		return 0;
	m->pae_root = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT | GFP_DMA32);
	return m->pae_root ? 0 : -ENOMEM;
}

/**
 * ckvm_mmu_vcpu_destroy() - free a vCPU's MMU state
 * @vcpu: the vCPU; the VM's pages are freed by ckvm_mmu_vm_destroy().
 */
void ckvm_mmu_vcpu_destroy(struct ckvm_vcpu *vcpu)
{
	struct ckvm_vcpu_mmu *m = &vcpu->arch.mmu;

	mmu_cache_drain(m, &m->sp_cache);
	mmu_cache_drain(m, &m->spt_cache);
	mmu_cache_drain(m, &m->gfns_cache);
	mmu_cache_drain(m, &m->desc_cache);
	free_page((unsigned long)m->pae_root);
	m->pae_root = NULL;
}

/**
 * ckvm_mmu_module_init() - the MMU's slab caches
 *
 * Return: 0, or -ENOMEM.
 */
int ckvm_mmu_module_init(void)
{
	mmu_page_cache = kmem_cache_create("ckvm_mmu_page",
					   sizeof(struct ckvm_mmu_page), 0,
					   SLAB_ACCOUNT, NULL);
	pte_list_desc_cache = kmem_cache_create("ckvm_pte_list_desc",
						sizeof(struct pte_list_desc),
						0, SLAB_ACCOUNT, NULL);
	if (mmu_page_cache && pte_list_desc_cache)
		return 0;
	ckvm_mmu_module_exit();
	return -ENOMEM;
}

/**
 * ckvm_mmu_module_exit() - free the slab caches of ckvm_mmu_module_init()
 */
void ckvm_mmu_module_exit(void)
{
	kmem_cache_destroy(mmu_page_cache);
	kmem_cache_destroy(pte_list_desc_cache);
	mmu_page_cache = NULL;
	pte_list_desc_cache = NULL;
}
