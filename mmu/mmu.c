// SPDX-License-Identifier: GPL-2.0
/*
 * The shared MMU, direct mode: nested page tables (NPT or EPT, one format
 * description from the backend) that map guest-physical to host-physical
 * memory, built one page at a time as the guest touches its memory.
 *
 * A guest page is mapped with a reference on its struct page, taken by
 * get_user_pages on the VMM's address, and the reference is dropped when
 * the mapping is zapped (memslot deleted or moved, VM destroyed). Nothing is
 * pinned up front.
 *
 * Also here: the guest page-table walk (gva -> gpa) that the exit handlers
 * use to reach a string operand.
 */
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <asm/io.h>
#include <asm/processor-flags.h>
#include <asm/msr-index.h>

#include "ckvm.h"
#include "x86_ops.h"

#define PT_ENTRIES		512
#define PT_LEVEL_SHIFT(l)	(PAGE_SHIFT + 9 * ((l) - 1))
#define PT_INDEX(addr, l)	(((addr) >> PT_LEVEL_SHIFT(l)) & (PT_ENTRIES - 1))
#define PT_ADDR_MASK		GENMASK_ULL(51, 12)
#define TDP_MAX_LEVEL		5
static_assert(TDP_MAX_LEVEL - 1 <= CKVM_MMU_CACHE_PAGES);

static bool spte_present(struct ckvm_mmu *mmu, u64 spte)
{
	return spte & mmu->fmt->readable;
}

/* A leaf above level 1 (2 MiB); below it there is no table. */
static bool spte_large(struct ckvm_mmu *mmu, u64 spte)
{
	return mmu->fmt->large && (spte & mmu->fmt->large);
}

static struct ckvm_mmu_page *mmu_page_alloc(int level, gfp_t gfp)
{
	struct ckvm_mmu_page *sp = kzalloc(sizeof(*sp), gfp);

	if (!sp)
		return NULL;
	sp->spt = (u64 *)get_zeroed_page(gfp);
	if (!sp->spt) {
		kfree(sp);
		return NULL;
	}
	sp->level = level;
	set_page_private(virt_to_page(sp->spt), (unsigned long)sp);
	return sp;
}

static void mmu_page_free(struct ckvm_mmu_page *sp)
{
	free_page((unsigned long)sp->spt);
	kfree(sp);
}

/* Fill the vCPU's cache to @need pages; false if memory ran out. */
static bool mmu_cache_topup(struct ckvm_mmu_cache *c, int need)
{
	while (c->nr < need) {
		struct ckvm_mmu_page *sp = mmu_page_alloc(0, GFP_KERNEL_ACCOUNT);

		if (!sp)
			return false;
		c->pages[c->nr++] = sp;
	}
	return true;
}

void ckvm_mmu_cache_free(struct ckvm_mmu_cache *c)
{
	while (c->nr)
		mmu_page_free(c->pages[--c->nr]);
}

static struct ckvm_mmu_page *spte_to_child(u64 spte)
{
	struct page *page = pfn_to_page((spte & PT_ADDR_MASK) >> PAGE_SHIFT);

	return (struct ckvm_mmu_page *)page_private(page);
}

static const struct mmu_notifier_ops ckvm_mmu_notifier_ops;

int ckvm_mmu_vm_init(struct ckvm *vm, const struct ckvm_tdp_format *fmt)
{
	struct ckvm_mmu *mmu = &vm->arch.mmu;
	int r;

	spin_lock_init(&mmu->lock);
	INIT_LIST_HEAD(&mmu->pages);
	mmu->fmt = fmt;
	mmu->root_level = fmt->root_level;
	if (WARN_ON_ONCE(mmu->root_level < 4 || mmu->root_level > TDP_MAX_LEVEL))
		return -EINVAL;
	mmu->root = mmu_page_alloc(mmu->root_level, GFP_KERNEL_ACCOUNT);
	if (!mmu->root)
		return -ENOMEM;
	list_add(&mmu->root->link, &mmu->pages);
	mmu->nr_pages = 1;
	mmu->notifier.ops = &ckvm_mmu_notifier_ops;
	r = mmu_notifier_register(&mmu->notifier, vm->mm);
	if (r) {
		list_del(&mmu->root->link);
		mmu_page_free(mmu->root);
		mmu->root = NULL;
	}
	return r;
}

u64 ckvm_mmu_root_hpa(struct ckvm *vm)
{
	return __pa(vm->arch.mmu.root->spt);
}

/* KVM's pages_4k / pages_2m: leaves mapped, by size. Under mmu->lock. */
static u64 *leaf_count(struct ckvm_mmu *mmu, int level)
{
	struct ckvm *vm = container_of(mmu, struct ckvm, arch.mmu);

	return level == 1 ? &vm->stat.arch.pages_4k : &vm->stat.arch.pages_2m;
}

/*
 * Drop the mappings of gfns [start, end) below @sp, at most @max of them,
 * collecting their pages in @out; returns how many were collected.
 */
static int zap_range(struct ckvm_mmu *mmu, struct ckvm_mmu_page *sp, u64 base,
		     u64 start, u64 end, struct page **out, int max)
{
	u64 span = 1ULL << (PT_LEVEL_SHIFT(sp->level) - PAGE_SHIFT);
	int i, n = 0;

	for (i = 0; i < PT_ENTRIES && n < max; i++) {
		u64 gfn = base + i * span;
		u64 spte = sp->spt[i];

		if (gfn >= end || gfn + span <= start || !spte_present(mmu, spte))
			continue;
		/* A large leaf partly in the range goes whole; faults remap. */
		if (sp->level > 1 && !spte_large(mmu, spte)) {
			n += zap_range(mmu, spte_to_child(spte), gfn, start, end,
				       out + n, max - n);
			continue;
		}
		out[n++] = pfn_to_page((spte & PT_ADDR_MASK) >> PAGE_SHIFT);
		WRITE_ONCE(sp->spt[i], 0);
		sp->used--;
		(*leaf_count(mmu, sp->level))--;
	}
	return n;
}

/* Pages released per TLB flush when zapping; on the stack. */
#define ZAP_BATCH	64

/*
 * Unmap gfns [start, end) from the nested tables. No vCPU may use a stale
 * translation once a page's reference is dropped, so each batch is flushed
 * from every vCPU's TLB (ckvm_make_all_vcpus_request waits) before its
 * pages are released. Does not sleep: MMU notifiers call it.
 */
void ckvm_mmu_zap_gfn_range(struct ckvm *vm, u64 start, u64 end)
{
	struct ckvm_mmu *mmu = &vm->arch.mmu;
	struct page *batch[ZAP_BATCH];
	int n, i;

	do {
		spin_lock(&mmu->lock);
		n = zap_range(mmu, mmu->root, 0, start, end, batch, ZAP_BATCH);
		spin_unlock(&mmu->lock);
		if (!n)
			break;
		ckvm_make_all_vcpus_request(vm, CKVM_REQ_TLB_FLUSH);
		for (i = 0; i < n; i++)
			put_page(batch[i]);
	} while (n == ZAP_BATCH);
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
		ckvm_mmu_zap_gfn_range(vm,
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
	ckvm_mmu_zap_gfn_range(notifier_to_vm(mn), 0, U64_MAX);
}

static const struct mmu_notifier_ops ckvm_mmu_notifier_ops = {
	.invalidate_range_start = ckvm_mn_invalidate_range_start,
	.invalidate_range_end = ckvm_mn_invalidate_range_end,
	.release = ckvm_mn_release,
};

/* Called when no vCPU can run any more: release everything. */
void ckvm_mmu_vm_destroy(struct ckvm *vm)
{
	struct ckvm_mmu *mmu = &vm->arch.mmu;
	struct ckvm_mmu_page *sp, *tmp;
	int i;

	if (!mmu->root)
		return;
	mmu_notifier_unregister(&mmu->notifier, vm->mm);
	list_for_each_entry_safe(sp, tmp, &mmu->pages, link) {
		for (i = 0; i < PT_ENTRIES; i++)
			if (spte_present(mmu, sp->spt[i]) &&
			    (sp->level == 1 || spte_large(mmu, sp->spt[i])))
				put_page(pfn_to_page((sp->spt[i] & PT_ADDR_MASK) >>
						     PAGE_SHIFT));
		list_del(&sp->link);
		mmu_page_free(sp);
	}
	mmu->root = NULL;
}

/* The leaf entry that maps @gfn, or NULL. Caller holds mmu->lock. */
static u64 *leaf_sptep(struct ckvm_mmu *mmu, u64 gfn)
{
	struct ckvm_mmu_page *sp = mmu->root;
	u64 gpa = gfn << PAGE_SHIFT;
	int level;

	for (level = mmu->root_level; level > 1; level--) {
		u64 spte = sp->spt[PT_INDEX(gpa, level)];

		if (!spte_present(mmu, spte) || spte_large(mmu, spte))
			return NULL;	/* logging slots have no large leaves */
		sp = spte_to_child(spte);
	}
	return &sp->spt[PT_INDEX(gpa, 1)];
}

/*
 * Collect and clear the slot's dirty bits into @out, and write-protect the
 * pages they name so that the next write to each is seen again. The
 * caller's TLB flush follows before the bitmap reaches userspace.
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
		for_each_set_bit(bit, &mask, BITS_PER_LONG) {
			u64 *sptep = leaf_sptep(mmu, slot->base_gfn +
					       i * BITS_PER_LONG + bit);

			if (sptep && spte_present(mmu, *sptep))
				WRITE_ONCE(*sptep, *sptep & ~mmu->fmt->writable);
		}
	}
	spin_unlock(&mmu->lock);
	ckvm_make_all_vcpus_request(vm, CKVM_REQ_TLB_FLUSH);
}

/*
 * Does the VMM map @hva with a 2 MiB (or larger) page? Walked like GUP-fast,
 * with interrupts off so the tables cannot be freed meanwhile; a change
 * after the walk is caught by the notifier sequence check.
 */
static bool host_maps_large(struct mm_struct *mm, unsigned long hva)
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
	if (pud_large(pud)) {
		large = true;
		goto out;
	}
	pmd = READ_ONCE(*pmd_offset(&pud, hva));
	large = pmd_present(pmd) && pmd_large(pmd);
out:
	local_irq_restore(flags);
	return large;
}

/* Can the 2 MiB guest frame around @gfn be one leaf? */
static bool fault_can_be_large(struct ckvm *vm, struct ckvm_memslot *slot,
			       u64 gfn, unsigned long hva)
{
	u64 first = gfn & ~(u64)(PT_ENTRIES - 1);

	if (!vm->arch.mmu.fmt->large || slot->dirty_bitmap)
		return false;
	if (first < slot->base_gfn ||
	    first + PT_ENTRIES > slot->base_gfn + slot->npages)
		return false;
	/* The VMM's 2 MiB page must line up with the guest's. */
	if (((hva >> PAGE_SHIFT) ^ gfn) & (PT_ENTRIES - 1))
		return false;
	return host_maps_large(vm->mm, hva);
}

/*
 * Resolve a nested page fault: map the gfn's host page, as a 2 MiB leaf
 * where the VMM's mapping is one. Returns 1 to re-enter the guest, 0 with
 * an exit for userspace, or -errno.
 */
int ckvm_mmu_tdp_fault(struct ckvm_vcpu *vcpu, u64 gpa, u32 access)
{
	struct ckvm *vm = vcpu->vm;
	struct ckvm_mmu *mmu = &vm->arch.mmu;
	const struct ckvm_tdp_format *fmt = mmu->fmt;
	struct ckvm_mmu_cache *cache = &vcpu->arch.mmu_cache;
	struct page *page, *old_page = NULL;
	struct ckvm_memslot *slot;
	struct ckvm_mmu_page *sp;
	u64 gfn = gpa >> PAGE_SHIFT;
	unsigned long hva, mmu_seq;
	bool writable = true, large;
	int level;
	u64 *sptep, spte, phys;

	vcpu->stat.arch.pf_taken++;
	slot = ckvm_gfn_to_memslot(vm, gfn);
	if (!slot)
		return ckvm_exit_emulation_failed(vcpu, gpa);
	hva = slot->userspace_addr + ((gfn - slot->base_gfn) << PAGE_SHIFT);

	/* An invalidation from here on makes the page we find stale. */
	mmu_seq = READ_ONCE(mmu->invalidate_seq);
	/* Read the sequence before the page tables get_user_pages reads. */
	smp_rmb();

	/* Map writable when the VMM's mapping allows, so writes don't fault. */
	if (get_user_pages_fast(hva, 1, FOLL_WRITE, &page) != 1) {
		writable = false;
		if ((access & CKVM_ACC_WRITE) ||
		    get_user_pages_fast(hva, 1, 0, &page) != 1)
			return -EFAULT;
	}
	/*
	 * No set_page_dirty here: a FOLL_WRITE fault left the VMM's PTE dirty,
	 * and cleaning it (page_mkclean) goes through our MMU notifier.
	 */
	/* While logging, only a write makes a page writable (and dirty). */
	if (slot->dirty_bitmap && !(access & CKVM_ACC_WRITE))
		writable = false;
	large = fault_can_be_large(vm, slot, gfn, hva);

	/* Tables are allocated before the spinlock; spares stay cached. */
	if (!mmu_cache_topup(cache, mmu->root_level - 1)) {
		put_page(page);
		return -ENOMEM;
	}

	spin_lock(&mmu->lock);
	if (mmu->invalidate_in_progress || mmu->invalidate_seq != mmu_seq) {
		/* Raced with an invalidation: let the guest fault again. */
		spin_unlock(&mmu->lock);
		put_page(page);
		return 1;
	}

	/* Down to the leaf: level 1, or level 2 for a 2 MiB mapping. */
	sp = mmu->root;
	for (level = mmu->root_level;; level--) {
		struct ckvm_mmu_page *child;

		sptep = &sp->spt[PT_INDEX(gpa, level)];
		spte = *sptep;
		if (level == 1 || spte_large(mmu, spte) ||
		    (level == 2 && large && !spte_present(mmu, spte)))
			break;
		if (!spte_present(mmu, spte)) {
			child = cache->pages[--cache->nr];
			child->level = level - 1;
			list_add(&child->link, &mmu->pages);
			mmu->nr_pages++;
			sp->used++;
			WRITE_ONCE(*sptep, __pa(child->spt) | fmt->table);
		}
		sp = spte_to_child(*sptep);
	}
	phys = page_to_phys(page);
	if (level == 2)
		phys &= ~((PAGE_SIZE << 9) - 1);
	spte = phys | fmt->readable | fmt->executable | fmt->leaf |
	       (level == 2 ? fmt->large : 0);
	if (writable)
		spte |= fmt->writable;
	if (!spte_present(mmu, *sptep)) {
		sp->used++;
		(*leaf_count(mmu, level))++;
	} else if (level == 2 && !large) {
		/*
		 * A 2 MiB leaf where the VMM no longer has a 2 MiB page (the
		 * invalidation is already over): drop it, fault again.
		 */
		old_page = pfn_to_page((*sptep & PT_ADDR_MASK) >> PAGE_SHIFT);
		put_page(page);
		spte = 0;
		sp->used--;
		(*leaf_count(mmu, level))--;
	} else if ((*sptep & PT_ADDR_MASK) == phys) {
		/* Mapped already (another vCPU, or read-only while logging). */
		spte |= *sptep & fmt->writable;
		put_page(page);
	} else {
		/* The VMM's page changed under us (e.g. COW): use the new one. */
		old_page = pfn_to_page((*sptep & PT_ADDR_MASK) >> PAGE_SHIFT);
	}
	WRITE_ONCE(*sptep, spte);
	if (spte)
		vcpu->stat.arch.pf_fixed++;
	if (writable && slot->dirty_bitmap)
		set_bit(gfn - slot->base_gfn, slot->dirty_bitmap);
	spin_unlock(&mmu->lock);

	if (old_page) {
		ckvm_make_all_vcpus_request(vm, CKVM_REQ_TLB_FLUSH);
		put_page(old_page);
	}
	return 1;
}

/* ---- guest page-table walk ---- */

static int read_gpte(struct ckvm_vcpu *vcpu, u64 gpa, int size, u64 *pte)
{
	*pte = 0;
	return ckvm_read_guest(vcpu->vm, gpa, pte, size);
}

/*
 * Translate a guest linear address through the guest's own page tables
 * (32-bit, PAE or 4-level). Returns 0 and the gpa, or -EFAULT when the
 * walk faults (not present, or a write to a read-only page).
 */
int ckvm_mmu_gva_to_gpa(struct ckvm_vcpu *vcpu, u64 gva, u32 access, u64 *gpa)
{
	const struct ckvm_x86_ops *ops = ckvm_x86_ops;
	u64 cr0 = ops->get_cr(vcpu, 0), cr4 = ops->get_cr(vcpu, 4);
	u64 cr3 = ops->get_cr(vcpu, 3), efer = ops->get_efer(vcpu);
	bool check_write = (access & CKVM_ACC_WRITE) && (cr0 & X86_CR0_WP);
	int level, pte_size = 8;
	u64 table, pte = 0;

	if (!(cr0 & X86_CR0_PG)) {
		*gpa = gva;
		return 0;
	}
	if (efer & EFER_LMA) {
		level = 4;
		table = cr3 & PT_ADDR_MASK;
	} else if (cr4 & X86_CR4_PAE) {
		if (read_gpte(vcpu, (cr3 & ~0x1fULL) + ((gva >> 30) & 3) * 8,
			      8, &pte) || !(pte & _PAGE_PRESENT))
			return -EFAULT;
		level = 2;
		table = pte & PT_ADDR_MASK;
	} else {
		level = 2;
		pte_size = 4;
		table = cr3 & 0xfffff000;
	}

	for (;; level--) {
		/* 32-bit tables index 10 bits a level, the others 9. */
		int shift = pte_size == 4 ? 12 + 10 * (level - 1) :
					    PT_LEVEL_SHIFT(level);
		u64 idx = (gva >> shift) & (PAGE_SIZE / pte_size - 1);
		u64 mask;

		if (read_gpte(vcpu, table + idx * pte_size, pte_size, &pte) ||
		    !(pte & _PAGE_PRESENT))
			return -EFAULT;
		if (check_write && !(pte & _PAGE_RW))
			return -EFAULT;
		if (level == 1 || ((pte & _PAGE_PSE) &&
				   (pte_size == 8 || (cr4 & X86_CR4_PSE)))) {
			mask = (1ULL << shift) - 1;
			if (pte_size == 4)
				*gpa = (pte & 0xfffff000 & ~mask) | (gva & mask);
			else
				*gpa = (pte & PT_ADDR_MASK & ~mask) | (gva & mask);
			return 0;
		}
		table = pte_size == 4 ? pte & 0xfffff000 : pte & PT_ADDR_MASK;
	}
}
