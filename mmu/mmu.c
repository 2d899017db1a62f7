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
 * Also here: the guest page walker (gva -> gpa), paging_tmpl.h compiled
 * for 32-bit and for 64-bit entries, that the emulator and the exit
 * handlers use to reach a memory operand.
 */
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <asm/io.h>
#include <asm/processor-flags.h>
#include <asm/msr-index.h>
#include <asm/trap_pf.h>
#include <asm/uaccess.h>

#include "ckvm.h"
#include "x86_ops.h"
#include "../x86/cpuid.h"

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
/**
 * ckvm_mmu_vm_release() - unregister the MMU notifier of a dying VM
 * @vm: the VM, whose last reference is gone
 *
 * Every notifier callback may make a request of every vCPU (a zap flushes
 * their TLBs), and unregistering calls ->release, which zaps. So the VM's
 * destruction unregisters first, while its vCPUs still exist, and frees
 * them afterwards, as KVM does (kvm_destroy_vm()); unregistering also
 * waits for callbacks of other threads that are under way. Idempotent.
 */
void ckvm_mmu_vm_release(struct ckvm *vm)
{
	struct ckvm_mmu *mmu = &vm->arch.mmu;

	if (!mmu->root || !mmu->notifier.ops)
		return;
	mmu_notifier_unregister(&mmu->notifier, vm->mm);
	mmu->notifier.ops = NULL;
}

void ckvm_mmu_vm_destroy(struct ckvm *vm)
{
	struct ckvm_mmu *mmu = &vm->arch.mmu;
	struct ckvm_mmu_page *sp, *tmp;
	int i;

	if (!mmu->root)
		return;
	ckvm_mmu_vm_release(vm);
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

/**
 * ckvm_mmu_tdp_fault() - resolve a nested page fault
 * @vcpu: the faulting vCPU, loaded; caller holds vm->srcu.
 * @f: the fault as the backend saw it.
 *
 * Maps the gfn's host page, as a 2 MiB leaf where the VMM's mapping is
 * one. An access no memslot covers, or a write to a KVM_MEM_READONLY slot,
 * is MMIO: the instruction is emulated (x86/mmio.c).
 *
 * Return: 1 to re-enter the guest, 0 with an exit for userspace, -errno.
 */
int ckvm_mmu_tdp_fault(struct ckvm_vcpu *vcpu, const struct ckvm_tdp_fault *f)
{
	struct ckvm *vm = vcpu->vm;
	struct ckvm_mmu *mmu = &vm->arch.mmu;
	const struct ckvm_tdp_format *fmt = mmu->fmt;
	struct ckvm_mmu_cache *cache = &vcpu->arch.mmu_cache;
	struct page *page, *old_page = NULL;
	struct ckvm_memslot *slot;
	struct ckvm_mmu_page *sp;
	u64 gpa = f->gpa, gfn = gpa >> PAGE_SHIFT;
	u32 access = f->access;
	unsigned long hva, mmu_seq;
	bool writable = true, large;
	int level;
	u64 *sptep, spte, phys;

	vcpu->stat.arch.pf_taken++;
	slot = ckvm_gfn_to_memslot(vm, gfn);
	if (!slot || ((access & CKVM_ACC_WRITE) &&
		      (slot->flags & KVM_MEM_READONLY)))
		return ckvm_emulate_mmio_fault(vcpu, f);
	hva = slot->userspace_addr + ((gfn - slot->base_gfn) << PAGE_SHIFT);

	/* An invalidation from here on makes the page we find stale. */
	mmu_seq = READ_ONCE(mmu->invalidate_seq);
	/* Read the sequence before the page tables get_user_pages reads. */
	smp_rmb();

	/*
	 * Map writable when the VMM's mapping allows, so writes don't fault;
	 * a read-only slot never is (its writes are MMIO).
	 */
	if ((slot->flags & KVM_MEM_READONLY) ||
	    get_user_pages_fast(hva, 1, FOLL_WRITE, &page) != 1) {
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

/* ---- the guest page walker (paging_tmpl.h) ---- */

/*
 * ACC_*: the rights a walk grants, as in KVM: W and U at the bit positions
 * they have in an entry, so that an entry's rights are a mask away.
 */
#define ACC_EXEC_MASK	1u
#define ACC_WRITE_MASK	((unsigned int)_PAGE_RW)
#define ACC_USER_MASK	((unsigned int)_PAGE_USER)
#define ACC_ALL		(ACC_EXEC_MASK | ACC_WRITE_MASK | ACC_USER_MASK)

/* The control-register bits that change a guest walk. */
#define ROLE_CR0_BITS	(X86_CR0_PG | X86_CR0_WP)
#define ROLE_CR4_BITS	(X86_CR4_PAE | X86_CR4_PSE | X86_CR4_SMEP | \
			 X86_CR4_SMAP)
#define ROLE_EFER_BITS	(EFER_LMA | EFER_NX)

static u64 rsvd_bits(int s, int e)
{
	return s > e ? 0 : GENMASK_ULL(e, s);
}

/*
 * The reserved bits of each level's entries for this paging mode and the
 * guest's MAXPHYADDR (SDM tables 4-4 to 4-19; [1] is for entries with
 * bit 7 set, which map a page at levels 2 and 3).
 */
static void init_rsvd_bits(struct ckvm_vcpu *vcpu, struct ckvm_cpu_role *r)
{
	u64 (*m)[CKVM_PT_MAX_LEVEL] = r->rsvd_bits_mask;
	u64 nx = r->efer_nx ? 0 : _PAGE_NX;
	int pa = r->maxphyaddr;
	u64 high;

	memset(r->rsvd_bits_mask, 0, sizeof(r->rsvd_bits_mask));
	switch (r->level) {
	case 2:
		/* 4 MiB pages: bits 21:(M-19) above the PSE-36 address. */
		if (!r->cr4_pse)
			break;
		if (ckvm_guest_has_pse36(vcpu))
			m[1][1] = rsvd_bits(min(pa, 40) - 19, 21);
		else
			m[1][1] = rsvd_bits(13, 21);
		break;
	case 3:
		/*
		 * The PDPTEs' reserved bits are checked when they are loaded
		 * (MOV to CR3: #GP), not during a walk, as in KVM: a CPU
		 * walking them under nested paging may have set bit 5 (QEMU
		 * does) and goes on. So only their presence counts here.
		 */
		high = nx | rsvd_bits(pa, 62);
		m[0][1] = high;
		m[1][1] = high | rsvd_bits(13, 20);
		m[0][0] = high;
		m[1][0] = high;
		break;
	case 4:
		high = nx | rsvd_bits(pa, 51);
		m[0][3] = high | rsvd_bits(7, 7);
		m[1][3] = m[0][3];
		m[0][2] = high;
		m[1][2] = ckvm_guest_has_gbpages(vcpu) ?
			  high | rsvd_bits(13, 29) : high | rsvd_bits(7, 7);
		m[0][1] = high;
		m[1][1] = high | rsvd_bits(13, 20);
		m[0][0] = high;
		m[1][0] = high;
		break;
	}
}

/**
 * ckvm_mmu_reset_cpu_role() - forget the cached paging mode
 * @vcpu: the vCPU, whose guest CPUID (MAXPHYADDR, PSE-36, 1 GiB pages)
 *	  or state was just replaced.
 *
 * The next ckvm_mmu_cpu_role() computes it again. Under vcpu->mutex.
 */
void ckvm_mmu_reset_cpu_role(struct ckvm_vcpu *vcpu)
{
	vcpu->arch.cpu_role.valid = false;
}

/**
 * ckvm_mmu_cpu_role() - the guest's paging mode, as the walker applies it
 * @vcpu: the vCPU, loaded (its control registers are read).
 *
 * With nested paging the guest changes CR0, CR4 and EFER without an exit,
 * so the mode is looked at again on each call, and derived again only
 * when one of the bits it depends on changed. Under vcpu->mutex.
 *
 * Return: the mode, valid until the vCPU runs again.
 */
const struct ckvm_cpu_role *ckvm_mmu_cpu_role(struct ckvm_vcpu *vcpu)
{
	const struct ckvm_x86_ops *ops = ckvm_x86_ops;
	struct ckvm_cpu_role *r = &vcpu->arch.cpu_role;
	u64 cr0 = ops->get_cr(vcpu, 0) & ROLE_CR0_BITS;
	u64 cr4 = ops->get_cr(vcpu, 4) & ROLE_CR4_BITS;
	u64 efer = ops->get_efer(vcpu) & ROLE_EFER_BITS;

	if (r->valid && r->cr0 == cr0 && r->cr4 == cr4 && r->efer == efer)
		return r;
	r->cr0 = cr0;
	r->cr4 = cr4;
	r->efer = efer;
	if (!(cr0 & X86_CR0_PG))
		r->level = 0;
	else if (efer & EFER_LMA)
		r->level = 4;
	else if (cr4 & X86_CR4_PAE)
		r->level = 3;
	else
		r->level = 2;
	r->cr0_wp = cr0 & X86_CR0_WP;
	r->efer_nx = efer & EFER_NX;
	r->cr4_pse = cr4 & X86_CR4_PSE;
	r->cr4_smep = cr4 & X86_CR4_SMEP;
	r->cr4_smap = cr4 & X86_CR4_SMAP;
	r->maxphyaddr = ckvm_cpuid_maxphyaddr(vcpu);
	init_rsvd_bits(vcpu, r);
	r->valid = true;
	return r;
}

#define PTTYPE 64
#include "paging_tmpl.h"
#undef PTTYPE

#define PTTYPE 32
#include "paging_tmpl.h"
#undef PTTYPE

/**
 * ckvm_mmu_gva_to_gpa() - translate a guest linear address for one access
 * @vcpu: the vCPU, loaded.
 * @gva: the linear address (segmentation already applied).
 * @access: CKVM_ACC_* of the access.
 * @gpa: out, the guest-physical address.
 * @fault: out, the #PF the access raises (CR2 in @fault->address).
 *
 * Walks the guest's page tables with paging_tmpl.h (32-bit, PAE or 4-level
 * paging), setting their Accessed and Dirty bits as the CPU does; without
 * guest paging @gva is the gpa. Caller holds vm->srcu.
 *
 * Return: 0 with *@gpa set, 1 with *@fault filled, or -EFAULT when the
 * guest's page tables are not in its memory (no walk is possible).
 */
int ckvm_mmu_gva_to_gpa(struct ckvm_vcpu *vcpu, gva_t gva, u32 access,
			gpa_t *gpa, struct x86_exception *fault)
{
	const struct ckvm_cpu_role *role = ckvm_mmu_cpu_role(vcpu);

	switch (role->level) {
	case 0:
		*gpa = gva;
		return 0;
	case 2:
		return paging32_gva_to_gpa(vcpu, role, gva, access, gpa, fault);
	default:
		return paging64_gva_to_gpa(vcpu, role, gva, access, gpa, fault);
	}
}
