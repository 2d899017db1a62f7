// SPDX-License-Identifier: GPL-2.0
/*
 * Shadow paging: the shadow pages of mmu.c built from the guest's own page
 * tables, for CPUs without NPT/EPT or with tdp=0 (Documentation/mmu.rst).
 *
 * The CPU runs the guest on shadow tables: 4-level ones for a 4-level
 * guest; PAE ones for a PAE guest, a 32-bit guest (each 4-byte guest table
 * shadowed by several 8-byte ones, told apart by role.quadrant) and a
 * guest with paging off (direct pages that map linear = physical). A
 * fault walks the guest's tables (paging_tmpl.h) and builds the shadow
 * from what it finds; the guest's tables are write-protected while they
 * are shadowed, and a write to one is emulated and the spte it concerns
 * updated at once. Leaf tables may instead go "unsync": the guest writes
 * them freely until its next CR3 write, INVLPG or TLB flush, where they
 * are synced.
 */
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/uaccess.h>
#include <asm/io.h>
#include <asm/processor-flags.h>
#include <asm/trap_pf.h>
#include <asm/uaccess.h>

#include "ckvm.h"
#include "x86_ops.h"
#include "trace.h"
#include "mmu_internal.h"
#include "../x86/cpuid.h"

/*
 * The seed's change (KVM, 2007): an emulated write to a shadowed guest
 * page table gives the spte the new entry's mapping at once instead of
 * only dropping it, which saves the fault that would map it again.
 */
static bool pte_update = true;
module_param(pte_update, bool, 0644);
MODULE_PARM_DESC(pte_update, "Shadow paging: update the spte on an emulated guest page-table write (default 1); 0: only drop it");

/* Out-of-sync leaf shadow pages (KVM's old oos_shadow parameter). */
static bool oos_shadow = true;
module_param(oos_shadow, bool, 0644);
MODULE_PARM_DESC(oos_shadow, "Shadow paging: let the guest write its last-level page tables without exits, synced at CR3 writes, INVLPG and TLB flushes (default 1)");

/* Shadow entries are x86 page-table entries with the guest's rights. */
const struct ckvm_tdp_format shadow_format = {
	.table = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED,
	.readable = _PAGE_PRESENT | _PAGE_ACCESSED,
	.writable = _PAGE_RW | _PAGE_DIRTY,
	.executable = 0,
	.nx = _PAGE_NX,
	.user = _PAGE_USER,
	.leaf = 0,
	.large = _PAGE_PSE,
	.root_level = 0,	/* follows the guest's paging mode */
};

/* What a shadow fault ends in. */
enum {
	RET_PF_FIXED,		/* the spte is in place */
	RET_PF_RETRY,		/* something changed: let the guest fault again */
	RET_PF_EMULATE,		/* a write to a write-protected guest table */
};

/* The host side of a shadow fault, found before mmu->lock. */
struct shadow_fault {
	struct ckvm_memslot *slot;
	struct page *page;	/* with the caller's reference; NULL: none */
	gfn_t gfn;		/* the guest frame @page is */
	bool host_writable;	/* the VMM maps it writable */
	bool large;		/* the 2 MiB frame around @gfn may be one leaf */
	bool private;		/* @page is ckvm's own (the vm86 TSS), no slot */
};

static void shadow_prefetch_around(struct ckvm_vcpu *vcpu,
				   struct ckvm_mmu_page *sp, int idx,
				   struct zap_list *zl);

/* ---- guest page tables shadowed ---- */

/**
 * account_shadowed() - a guest table is shadowed now
 * @vm: the VM; caller holds mmu->lock and vm->srcu.
 * @sp: the new indirect page shadowing the table at @sp->gfn.
 * @zl: collects the 2 MiB leaves zapped over it.
 *
 * The guest may no longer write the table behind our back (its mappings
 * become read-only), and its 2 MiB frame is not mapped large.
 */
void account_shadowed(struct ckvm *vm, struct ckvm_mmu_page *sp,
		      struct zap_list *zl)
{
	struct ckvm_memslot *slot = ckvm_gfn_to_memslot(vm, sp->gfn);

	if (!slot)
		return;
	(*gfn_to_lpage_disallow(slot, sp->gfn))++;
	zap_large_over(vm, slot, sp->gfn, zl);
	if (rmap_write_protect(vm, slot, sp->gfn))
		zl->flush = true;
}

/**
 * unaccount_shadowed() - a guest table is shadowed once less
 * @vm: the VM; caller holds mmu->lock and vm->srcu.
 * @sp: the indirect page being zapped.
 */
void unaccount_shadowed(struct ckvm *vm, struct ckvm_mmu_page *sp)
{
	struct ckvm_memslot *slot = ckvm_gfn_to_memslot(vm, sp->gfn);

	if (slot)
		(*gfn_to_lpage_disallow(slot, sp->gfn))--;
}

/**
 * zap_shadowed_range() - zap the shadow pages of guest tables in a range
 * @vm: the VM; caller holds mmu->lock.
 * @start: first gfn.
 * @end: gfn after the last.
 * @zl: collects what is zapped.
 */
void zap_shadowed_range(struct ckvm *vm, gfn_t start, gfn_t end,
			struct zap_list *zl)
{
	struct ckvm_mmu_page *sp, *tmp;

	list_for_each_entry_safe(sp, tmp, &vm->arch.mmu.active_pages, link)
		if (!sp->role.direct && !sp->role.invalid &&
		    sp->gfn >= start && sp->gfn < end)
			zap_page(vm, sp, zl);
}

/* Is @sp an indirect, valid shadow page of the guest table at @gfn? */
static bool sp_shadows(const struct ckvm_mmu_page *sp, gfn_t gfn)
{
	return sp->gfn == gfn && !sp->role.direct && !sp->role.invalid;
}

/* The bucket of the hash table where the shadow pages of @gfn are. */
static struct hlist_head *gfn_bucket(struct ckvm *vm, gfn_t gfn)
{
	return mmu_hash_bucket(&vm->arch.mmu, gfn);
}

static void sp_make_unsync(struct ckvm *vm, struct ckvm_mmu_page *sp)
{
	struct pte_list_iter it;
	u64 *parent;

	sp->unsync = true;
	vm->stat.arch.mmu_unsync++;
	for (parent = pte_list_first(sp->parent_ptes, &it); parent;
	     parent = pte_list_next(&it))
		mark_unsync(parent);
}

/*
 * May the guest get write access to @gfn? Not while a shadow page shadows
 * it, unless (@can_unsync, oos_shadow) all of them are leaf tables, which
 * then go unsync: the guest writes them freely until the next sync.
 */
static bool shadow_must_write_protect(struct ckvm *vm, gfn_t gfn,
				      bool can_unsync)
{
	struct ckvm_mmu_page *sp;
	struct hlist_node *tmp;
	bool any = false;

	hlist_for_each_entry_safe(sp, tmp, gfn_bucket(vm, gfn), hash_link) {
		if (!sp_shadows(sp, gfn))
			continue;
		if (!can_unsync || !READ_ONCE(oos_shadow) ||
		    sp->role.level != 1)
			return true;
		any = true;
	}
	if (!any)
		return false;
	hlist_for_each_entry_safe(sp, tmp, gfn_bucket(vm, gfn), hash_link)
		if (sp_shadows(sp, gfn) && !sp->unsync)
			sp_make_unsync(vm, sp);
	return false;
}

/* The guest paging mode of @role, as role.guest_mode spells it. */
static unsigned int shadow_guest_mode(const struct ckvm_cpu_role *role)
{
	switch (role->level) {
	case 2:
		return CKVM_GUEST_PAGING_32;
	case 3:
		return CKVM_GUEST_PAGING_PAE;
	case 4:
		return CKVM_GUEST_PAGING_64;
	default:
		return CKVM_GUEST_PAGING_OFF;
	}
}

/* The #PF error code of a not-present fault for @access (SDM 4.7). */
static u32 shadow_pf_error_code(const struct ckvm_cpu_role *role, u32 access)
{
	u32 e = 0;

	if (access & CKVM_ACC_WRITE)
		e |= X86_PF_WRITE;
	if (access & CKVM_ACC_USER)
		e |= X86_PF_USER;
	if ((access & CKVM_ACC_FETCH) &&
	    ((role->efer_nx && role->level >= 3) || role->cr4_smep))
		e |= X86_PF_INSTR;
	return e;
}

/*
 * The shadow pages on the way to @addr are in use: their guest tables are
 * tables still, whatever writes to them the flood detection counted.
 */
static void shadow_touch_path(struct ckvm_vcpu *vcpu, gva_t addr)
{
	struct ckvm_vcpu_mmu *m = &vcpu->arch.mmu;
	struct ckvm_mmu *mmu = &vcpu->vm->arch.mmu;
	struct ckvm_mmu_page *sp;
	int level;

	spin_lock(&mmu->lock);
	sp = m->root_hpa == INVALID_PAGE ? NULL :
	     m->root ? m->root : m->pae_sp[(addr >> 30) & 3];
	for (level = sp ? sp->role.level : 0; level; level--) {
		u64 spte = sp->spt[PT_INDEX(addr, level)];

		sp->write_flooding_count = 0;
		if (!is_shadow_present(spte) || is_last_spte(mmu, spte, level))
			break;
		sp = spte_to_child(spte);
	}
	spin_unlock(&mmu->lock);
}

/*
 * The fault belongs to the guest: deliver it, CR2 and error code. Its #PF
 * handler is likely to write the entry next: the tables on the way count
 * as used (no write flooding).
 */
static int shadow_guest_fault(struct ckvm_vcpu *vcpu, gva_t addr,
			      const struct x86_exception *fault)
{
	vcpu->stat.arch.pf_guest++;
	shadow_touch_path(vcpu, addr);
	ckvm_inject_exception(vcpu, fault);
	return 1;
}

static bool shadow_sync_page(struct ckvm_vcpu *vcpu, struct ckvm_mmu_page *sp,
			     struct zap_list *zl);

/*
 * The shadow page for (@gfn, @role): found (and then synced if it was
 * unsync), or made. A new indirect page makes the guest table it shadows
 * write-protected, so the unsync pages of the same table are zapped.
 */
static struct ckvm_mmu_page *shadow_get_page(struct ckvm_vcpu *vcpu,
					     gfn_t gfn,
					     union ckvm_mmu_page_role role,
					     struct zap_list *zl)
{
	struct ckvm *vm = vcpu->vm;
	struct ckvm_mmu_page *sp, *tmp;
	struct hlist_node *n;

	sp = mmu_find_page(vm, gfn, role);
	if (sp) {
		list_move(&sp->link, &vm->arch.mmu.active_pages);
		if (!sp->unsync || shadow_sync_page(vcpu, sp, zl))
			return sp;
	}
	if (!role.direct) {
		hlist_for_each_entry_safe(tmp, n, mmu_hash_bucket(&vm->arch.mmu,
								  gfn),
					  hash_link)
			if (sp_shadows(tmp, gfn) && tmp->unsync)
				zap_page(vm, tmp, zl);
	}
	return mmu_alloc_page(vcpu, gfn, role, zl);
}

/*
 * Map the leaf of a shadow fault: entry @idx of @sp for @gfn with the
 * guest's rights @pte_access (ACC_*); @dirty: the guest entry's Dirty bit.
 * A clean page is mapped read-only until the guest writes it (then the
 * walk sets Dirty); a guest page table stays read-only.
 */
static int shadow_map_leaf(struct ckvm_vcpu *vcpu, struct ckvm_mmu_page *sp,
			   int idx, gfn_t gfn, unsigned int pte_access,
			   bool dirty, u32 access, struct shadow_fault *f,
			   struct zap_list *zl)
{
	const struct ckvm_cpu_role *role = ckvm_mmu_cpu_role(vcpu);
	bool write = access & CKVM_ACC_WRITE;
	unsigned int flags = 0;
	int ret = RET_PF_FIXED;

	/*
	 * CR0.WP=0: the supervisor may write read-only pages. Such a write
	 * gets a writable supervisor-only spte (a user access then faults
	 * and gets the guest's rights back); with SMEP, not executable, as
	 * the page is a user page to the guest (KVM does the same).
	 */
	if (write && !(access & CKVM_ACC_USER) && role->level &&
	    !role->cr0_wp && !(pte_access & ACC_WRITE_MASK)) {
		pte_access |= ACC_WRITE_MASK;
		pte_access &= ~ACC_USER_MASK;
		if (role->cr4_smep)
			pte_access &= ~ACC_EXEC_MASK;
	}
	if ((pte_access & ACC_WRITE_MASK) && f->host_writable &&
	    (dirty || write) && !(f->slot->dirty_bitmap && !write)) {
		flags |= MAP_WRITABLE;
		if (sp->role.level == 1 &&
		    shadow_must_write_protect(vcpu->vm, gfn, true)) {
			flags &= ~MAP_WRITABLE;
			if (write)
				ret = RET_PF_EMULATE;
		}
	}
	if (f->host_writable)
		flags |= MAP_HOST_WRITABLE;
	get_page(f->page);	/* the mapping's own reference */
	mmu_map_page(vcpu, f->slot, sp, idx, gfn, f->page, pte_access, flags,
		     zl);
	if (ret == RET_PF_FIXED)
		shadow_prefetch_around(vcpu, sp, idx, zl);
	return ret;
}

/*
 * Map entry @idx of @sp for the page of @f without a fault (an emulated
 * guest-table write): writable only if the guest entry is dirty and the
 * page no guest table.
 */
static void shadow_prefetch_leaf(struct ckvm_vcpu *vcpu,
				 struct ckvm_mmu_page *sp, int idx,
				 struct shadow_fault *f,
				 unsigned int pte_access, bool dirty,
				 struct zap_list *zl)
{
	unsigned int flags = 0;

	if ((pte_access & ACC_WRITE_MASK) && dirty && f->host_writable &&
	    !f->slot->dirty_bitmap &&
	    !shadow_must_write_protect(vcpu->vm, f->gfn, false))
		flags |= MAP_WRITABLE;
	if (f->host_writable)
		flags |= MAP_HOST_WRITABLE;
	get_page(f->page);
	mmu_map_page(vcpu, f->slot, sp, idx, f->gfn, f->page, pte_access,
		     flags, zl);
}

/*
 * Give the leaf @idx of @sp the rights @pte_access, never more write
 * access than it has (sync).
 */
static void shadow_update_rights(struct ckvm *vm, struct ckvm_mmu_page *sp,
				 int idx, unsigned int pte_access, bool dirty,
				 struct zap_list *zl)
{
	u64 old = sp->spt[idx], spte;
	bool writable = (old & _PAGE_RW) && (pte_access & ACC_WRITE_MASK) &&
			dirty &&
			!shadow_must_write_protect(vm, sp->gfns[idx], false);

	spte = old & ~(u64)(_PAGE_RW | _PAGE_DIRTY | _PAGE_USER | _PAGE_NX);
	if (writable)
		spte |= _PAGE_RW | _PAGE_DIRTY;
	if (pte_access & ACC_USER_MASK)
		spte |= _PAGE_USER;
	if (!(pte_access & ACC_EXEC_MASK))
		spte |= _PAGE_NX;
	if (spte != old) {
		WRITE_ONCE(sp->spt[idx], spte);
		zl->flush = true;
	}
}

/*
 * Map entry @idx of @sp to @gfn without a fault, if the host page is
 * there now (get_user_pages_fast_only, which does not sleep) and no
 * invalidation is under way. Caller holds mmu->lock.
 */
static void shadow_prefetch_gfn(struct ckvm_vcpu *vcpu,
				struct ckvm_mmu_page *sp, int idx, gfn_t gfn,
				unsigned int pte_access, bool dirty,
				struct zap_list *zl)
{
	struct ckvm *vm = vcpu->vm;
	struct shadow_fault f = { .gfn = gfn };
	unsigned long hva;

	if (vm->arch.mmu.invalidate_in_progress)
		return;
	f.slot = ckvm_gfn_to_memslot(vm, gfn);
	if (!f.slot || f.slot->arch.invalid)
		return;
	hva = f.slot->userspace_addr + ((gfn - f.slot->base_gfn) << PAGE_SHIFT);
	f.host_writable = !(f.slot->flags & KVM_MEM_READONLY) &&
			  get_user_pages_fast_only(hva, 1, FOLL_WRITE, &f.page) == 1;
	if (!f.host_writable &&
	    get_user_pages_fast_only(hva, 1, 0, &f.page) != 1)
		return;
	shadow_prefetch_leaf(vcpu, sp, idx, &f, pte_access, dirty, zl);
	put_page(f.page);
}

static int shadow_fault_map(struct ckvm_vcpu *vcpu, gva_t addr, u32 access,
			    gfn_t gfn, int guest_level,
			    int (*fetch)(struct ckvm_vcpu *vcpu, void *walker,
					 gva_t addr, u32 access,
					 struct shadow_fault *f,
					 struct zap_list *zl),
			    void *walker);

/* ---- the guest page walker (paging_tmpl.h) ---- */

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

/* ---- prefetch ---- */

/* Entries mapped around a fault without their own (KVM's pte prefetch). */
#define PREFETCH_NUM	8

/*
 * A 4 KiB fault was mapped at entry @idx of @sp: map the not-present
 * entries of its group of 8 too, from their guest entries (indirect) or
 * their frames (direct), where the host pages are present. A guest that
 * touches its pages in order (a fault loop, a copy) takes one fault in 8.
 */
static void shadow_prefetch_around(struct ckvm_vcpu *vcpu,
				   struct ckvm_mmu_page *sp, int idx,
				   struct zap_list *zl)
{
	int i, start = idx & ~(PREFETCH_NUM - 1);

	if (sp->role.level != 1 || sp->unsync)
		return;
	for (i = start; i < start + PREFETCH_NUM; i++) {
		if (i == idx || is_shadow_present(sp->spt[i]))
			continue;
		if (sp->role.direct)
			shadow_prefetch_gfn(vcpu, sp, i, sp->gfn + i,
					    sp->role.access, true, zl);
		else if (sp->role.cr4_pae)
			paging64_prefetch_gpte(vcpu, sp, i, zl);
		else
			paging32_prefetch_gpte(vcpu, sp, i, zl);
	}
}

/* ---- unsync pages ---- */

/* Sync one unsync page; false if it was zapped instead. */
static bool shadow_sync_page(struct ckvm_vcpu *vcpu, struct ckvm_mmu_page *sp,
			     struct zap_list *zl)
{
	struct ckvm *vm = vcpu->vm;
	struct ckvm_memslot *slot;
	bool ok;

	ok = sp->role.cr4_pae ? paging64_sync_page(vcpu, sp, zl) :
				paging32_sync_page(vcpu, sp, zl);
	if (!ok)
		return false;
	sp->unsync = false;
	vm->stat.arch.mmu_unsync--;
	/* The guest's writes to the table are seen again from now on. */
	slot = ckvm_gfn_to_memslot(vm, sp->gfn);
	if (slot && rmap_write_protect(vm, slot, sp->gfn))
		zl->flush = true;
	return true;
}

/* Sync every unsync page below @sp (at most 4 levels deep). */
static void sync_children(struct ckvm_vcpu *vcpu, struct ckvm_mmu_page *sp,
			  struct zap_list *zl)
{
	struct ckvm_mmu *mmu = &vcpu->vm->arch.mmu;
	unsigned int i;

	for_each_set_bit(i, sp->unsync_child_bitmap, CKVM_SPTES_PER_PAGE) {
		u64 spte = sp->spt[i];
		struct ckvm_mmu_page *child;

		if (!is_shadow_present(spte) ||
		    is_last_spte(mmu, spte, sp->role.level)) {
			clear_unsync_child_bit(sp, i);
			continue;
		}
		child = spte_to_child(spte);
		if (child->unsync_children)
			sync_children(vcpu, child, zl);
		if (child->unsync)
			shadow_sync_page(vcpu, child, zl);
		/* A zapped child has been unlinked, and the bit cleared. */
		if (!child->unsync && !child->unsync_children)
			clear_unsync_child_bit(sp, i);
	}
}

/* Sync what the vCPU's roots reach. Caller holds mmu->lock. */
static void shadow_sync_roots(struct ckvm_vcpu *vcpu, struct zap_list *zl)
{
	struct ckvm_vcpu_mmu *m = &vcpu->arch.mmu;
	int i;

	if (m->root) {
		if (m->root->unsync_children)
			sync_children(vcpu, m->root, zl);
		return;
	}
	for (i = 0; i < 4; i++)
		if (m->pae_sp[i] && m->pae_sp[i]->unsync_children)
			sync_children(vcpu, m->pae_sp[i], zl);
}

/**
 * ckvm_mmu_sync_roots() - sync the unsync pages the vCPU can reach
 * @vcpu: the vCPU, under vcpu->mutex; caller holds vm->srcu.
 *
 * For a guest TLB flush without a CR3 write (e.g. toggling CR4.PGE): what
 * the guest wrote into its leaf tables takes effect.
 */
void ckvm_mmu_sync_roots(struct ckvm_vcpu *vcpu)
{
	struct ckvm *vm = vcpu->vm;
	struct zap_list zl;

	if (vm->arch.mmu.tdp || vcpu->arch.mmu.root_hpa == INVALID_PAGE)
		return;
	zap_list_init(&zl);
	spin_lock(&vm->arch.mmu.lock);
	shadow_sync_roots(vcpu, &zl);
	spin_unlock(&vm->arch.mmu.lock);
	zap_list_commit(vm, &zl);
}

/* ---- roots ---- */

/* The role of the root pages for the guest's paging mode @cpu. */
static union ckvm_mmu_page_role shadow_root_role(const struct ckvm_cpu_role *cpu)
{
	union ckvm_mmu_page_role role = { .word = 0 };

	role.access = ACC_ALL;
	role.guest_mode = shadow_guest_mode(cpu);
	role.level = cpu->level == 4 ? 4 : 2;
	if (!cpu->level) {
		role.direct = 1;
		role.cr4_pae = 1;
		return role;
	}
	role.cr4_pae = cpu->level != 2;
	role.cr4_pse = cpu->level == 2 && cpu->cr4_pse;
	role.efer_nx = cpu->level != 2 && cpu->efer_nx;
	role.cr0_wp = cpu->cr0_wp;
	role.smep_andnot_wp = cpu->cr4_smep && !cpu->cr0_wp;
	role.smap_andnot_wp = cpu->cr4_smap && !cpu->cr0_wp;
	return role;
}

static struct ckvm_mmu_page *get_root(struct ckvm_vcpu *vcpu, gfn_t gfn,
				      union ckvm_mmu_page_role role,
				      struct zap_list *zl)
{
	struct ckvm_mmu_page *sp = shadow_get_page(vcpu, gfn, role, zl);

	sp->root_count++;
	return sp;
}

/**
 * shadow_mmu_alloc_roots() - the vCPU's roots for the guest's CR3
 * @vcpu: the vCPU, without a root; caller holds mmu->lock and vm->srcu.
 * @zl: collects what is zapped.
 *
 * A 4-level guest gets the page that shadows its PML4. The others get the
 * vCPU's page of four PDPTEs (below 4 GiB, as a PAE CR3 must be) pointing
 * to a level-2 page each: the guest's PAE page directories, the four
 * quadrants of its 32-bit page directory, or with paging off four direct
 * pages mapping 1 GiB each. The unsync pages they reach are synced.
 *
 * Return: 0.
 */
int shadow_mmu_alloc_roots(struct ckvm_vcpu *vcpu, struct zap_list *zl)
{
	const struct ckvm_cpu_role *cpu = ckvm_mmu_cpu_role(vcpu);
	struct ckvm_vcpu_mmu *m = &vcpu->arch.mmu;
	union ckvm_mmu_page_role role = shadow_root_role(cpu);
	u64 cr3 = ckvm_x86_ops->get_cr(vcpu, 3);
	int i;

	m->root_role = role;
	if (cpu->level == 4) {
		m->root = get_root(vcpu, (cr3 & SPTE_ADDR_MASK) >> PAGE_SHIFT,
				   role, zl);
		m->root_hpa = __pa(m->root->spt);
		shadow_sync_roots(vcpu, zl);
		return 0;
	}
	for (i = 0; i < 4; i++) {
		gfn_t gfn;

		if (!cpu->level) {
			gfn = (gfn_t)i << (30 - PAGE_SHIFT);
		} else if (cpu->level == 2) {
			gfn = (cr3 & 0xfffff000) >> PAGE_SHIFT;
			role.quadrant = i;
		} else {
			u64 pdpte = m->pdptrs[i];

			if (!(pdpte & _PAGE_PRESENT)) {
				m->pae_root[i] = 0;
				continue;
			}
			gfn = (pdpte & SPTE_ADDR_MASK) >> PAGE_SHIFT;
		}
		m->pae_sp[i] = get_root(vcpu, gfn, role, zl);
		m->pae_root[i] = __pa(m->pae_sp[i]->spt) | _PAGE_PRESENT;
	}
	m->root_hpa = __pa(m->pae_root);
	shadow_sync_roots(vcpu, zl);
	return 0;
}

/* ---- faults ---- */

/* Paging off: linear = physical, through direct pages, all rights. */
static int nonpaging_fetch(struct ckvm_vcpu *vcpu, void *walker, gva_t addr,
			   u32 access, struct shadow_fault *f,
			   struct zap_list *zl)
{
	struct ckvm_mmu_page *sp = vcpu->arch.mmu.pae_sp[(addr >> 30) & 3];
	gfn_t gfn = addr >> PAGE_SHIFT;
	int target = 1, level;

	if (!sp || sp->role.invalid)
		return RET_PF_RETRY;
	if (f->large && !*gfn_to_lpage_disallow(f->slot, gfn))
		target = 2;
	for (level = sp->role.level; level > target; level--) {
		int idx = PT_INDEX(addr, level);
		struct ckvm_mmu_page *child;
		union ckvm_mmu_page_role role;

		if (is_shadow_present(sp->spt[idx]) &&
		    is_large_spte(&vcpu->vm->arch.mmu, sp->spt[idx]))
			drop_spte(vcpu->vm, sp, idx, zl);
		if (!is_shadow_present(sp->spt[idx])) {
			role = sp->role;
			role.level = level - 1;
			child = shadow_get_page(vcpu, gfn & ~(gfn_t)511, role,
						zl);
			link_shadow_page(vcpu, &sp->spt[idx], child);
		}
		sp = spte_to_child(sp->spt[idx]);
	}
	if (f->private) {
		drop_spte(vcpu->vm, sp, PT_INDEX(addr, 1), zl);
		WRITE_ONCE(sp->spt[PT_INDEX(addr, 1)],
			   page_to_phys(f->page) | _PAGE_PRESENT | _PAGE_RW |
			   _PAGE_ACCESSED | _PAGE_DIRTY | SPTE_PRIVATE);
		return RET_PF_FIXED;
	}
	return shadow_map_leaf(vcpu, sp, PT_INDEX(addr, level),
			       level == 2 ? gfn & ~(gfn_t)511 : gfn, ACC_ALL,
			       true, access, f, zl);
}

/*
 * Paging off, a page of the vm86 TSS (VMX real mode): ckvm's own page is
 * mapped there, whatever guest memory is at that address.
 */
static int shadow_map_tss(struct ckvm_vcpu *vcpu, gva_t addr,
			  struct page *page)
{
	struct ckvm *vm = vcpu->vm;
	struct shadow_fault f = { .page = page, .private = true };
	struct zap_list zl;
	int r;

	r = ckvm_mmu_topup_caches(vcpu, true);
	if (r)
		return r;
	zap_list_init(&zl);
	spin_lock(&vm->arch.mmu.lock);
	if (vcpu->arch.mmu.root_hpa != INVALID_PAGE) {
		make_mmu_pages_available(vm, CKVM_MMU_PAGES_PER_FAULT, &zl);
		nonpaging_fetch(vcpu, NULL, addr, 0, &f, &zl);
	}
	spin_unlock(&vm->arch.mmu.lock);
	zap_list_commit(vm, &zl);
	return 1;
}

/*
 * Emulate the instruction of a shadow fault: MMIO, or a write to a
 * write-protected guest page table (@pt_write).
 */
static int shadow_emulate(struct ckvm_vcpu *vcpu, gva_t addr, gfn_t gfn,
			  u32 access, bool pt_write)
{
	struct ckvm_tdp_fault f = {
		.gpa = (gfn << PAGE_SHIFT) | offset_in_page(addr),
		.access = access & (CKVM_ACC_WRITE | CKVM_ACC_FETCH),
		.final = true,
		.gva_valid = true,
		.gva = addr,
	};

	if (pt_write) {
		vcpu->stat.arch.pf_emulate++;
		return ckvm_emulate_pt_write(vcpu, &f);
	}
	return ckvm_emulate_mmio_fault(vcpu, &f);
}

/*
 * The part of a shadow fault around @fetch, the mode's own: the memslot
 * and host page of @gfn (or MMIO), mmu->lock, then @fetch builds the
 * shadow. @guest_level: the level of the guest's leaf (2 or 3: a large
 * page, which may be mapped large).
 */
static int shadow_fault_map(struct ckvm_vcpu *vcpu, gva_t addr, u32 access,
			    gfn_t gfn, int guest_level,
			    int (*fetch)(struct ckvm_vcpu *vcpu, void *walker,
					 gva_t addr, u32 access,
					 struct shadow_fault *f,
					 struct zap_list *zl),
			    void *walker)
{
	struct ckvm *vm = vcpu->vm;
	struct ckvm_mmu *mmu = &vm->arch.mmu;
	bool write = access & CKVM_ACC_WRITE;
	struct shadow_fault f = { .gfn = gfn };
	unsigned long mmu_seq, hva;
	struct zap_list zl;
	int r;

	f.slot = ckvm_gfn_to_memslot(vm, gfn);
	if (!f.slot || (write && (f.slot->flags & KVM_MEM_READONLY)))
		return shadow_emulate(vcpu, addr, gfn, access, false);
	if (READ_ONCE(f.slot->arch.invalid))
		return 1;	/* going away: fault again after the update */
	hva = f.slot->userspace_addr + ((gfn - f.slot->base_gfn) << PAGE_SHIFT);
	mmu_seq = READ_ONCE(mmu->invalidate_seq);
	/* Read the sequence before the page tables get_user_pages reads. */
	smp_rmb();
	if (mmu_get_host_page(vm, f.slot, gfn, write, &f.page,
			      &f.host_writable))
		return -EFAULT;
	f.large = guest_level >= 2 && fault_can_be_large(vm, f.slot, gfn, hva);
	r = ckvm_mmu_topup_caches(vcpu, true);
	if (r) {
		put_page(f.page);
		return r;
	}
	zap_list_init(&zl);
	spin_lock(&mmu->lock);
	if (mmu->invalidate_in_progress || mmu->invalidate_seq != mmu_seq ||
	    f.slot->arch.invalid || vcpu->arch.mmu.root_hpa == INVALID_PAGE) {
		r = RET_PF_RETRY;
	} else {
		make_mmu_pages_available(vm, CKVM_MMU_PAGES_PER_FAULT, &zl);
		r = fetch(vcpu, walker, addr, access, &f, &zl);
	}
	spin_unlock(&mmu->lock);
	zap_list_commit(vm, &zl);
	put_page(f.page);
	if (r == RET_PF_EMULATE)
		return shadow_emulate(vcpu, addr, gfn, access, true);
	return 1;
}

/**
 * ckvm_mmu_page_fault() - a #PF intercepted in shadow paging
 * @vcpu: the vCPU, loaded; caller holds vm->srcu.
 * @addr: the faulting linear address (CR2).
 * @error_code: the #PF error code the CPU gave (SDM 4.7).
 *
 * The guest's page tables decide whose fault it is: the guest's own is
 * delivered to it (its error code and CR2, as its tables give them);
 * else the shadow is filled in (mmu/paging_tmpl.h), an MMIO access or a
 * write to one of the guest's page tables is emulated.
 *
 * Return: 1 to re-enter the guest, 0 with an exit for userspace, -errno.
 */
int ckvm_mmu_page_fault(struct ckvm_vcpu *vcpu, gva_t addr, u32 error_code)
{
	const struct ckvm_cpu_role *role = ckvm_mmu_cpu_role(vcpu);
	u32 access = 0;

	vcpu->stat.arch.pf_taken++;
	trace_ckvm_page_fault(vcpu->vcpu_id, false, addr, error_code);
	if (error_code & X86_PF_WRITE)
		access |= CKVM_ACC_WRITE;
	if (error_code & X86_PF_USER)
		access |= CKVM_ACC_USER;
	if (error_code & X86_PF_INSTR)
		access |= CKVM_ACC_FETCH;
	/* No spte has a reserved bit set: the guest's walk decides. */
	switch (role->level) {
	case 0:
		if (vcpu->vm->arch.rmode_tss) {
			u64 off = addr - READ_ONCE(vcpu->vm->arch.tss_addr);

			if (off < CKVM_RMODE_TSS_PAGES * PAGE_SIZE)
				return shadow_map_tss(vcpu, addr,
						      nth_page(vcpu->vm->arch.rmode_tss,
							       off >> PAGE_SHIFT));
		}
		return shadow_fault_map(vcpu, addr, access, addr >> PAGE_SHIFT,
					2, nonpaging_fetch, NULL);
	case 2:
		return paging32_page_fault(vcpu, role, addr, access);
	default:
		return paging64_page_fault(vcpu, role, addr, access);
	}
}

/**
 * ckvm_mmu_invlpg() - the guest invalidated one linear address
 * @vcpu: the vCPU, loaded; caller holds vm->srcu.
 * @gva: the address (INVLPG, INVPCID individual-address).
 *
 * A leaf spte for it in an unsync page is dropped (the next access takes
 * the guest's entry as it is now); the vCPU's TLB is flushed.
 */
void ckvm_mmu_invlpg(struct ckvm_vcpu *vcpu, gva_t gva)
{
	struct ckvm_vcpu_mmu *m = &vcpu->arch.mmu;
	struct ckvm *vm = vcpu->vm;
	struct ckvm_mmu_page *sp;
	struct zap_list zl;
	int level;

	vcpu->stat.arch.invlpg++;
	if (vm->arch.mmu.tdp)
		return;
	/* The entry it maps again may need an rmap descriptor. */
	if (ckvm_mmu_topup_caches(vcpu, true))
		return;
	zap_list_init(&zl);
	spin_lock(&vm->arch.mmu.lock);
	sp = m->root_hpa == INVALID_PAGE ? NULL :
	     m->root ? m->root : m->pae_sp[(gva >> 30) & 3];
	for (level = sp ? sp->role.level : 0; level; level--) {
		int idx = PT_INDEX(gva, level);
		u64 spte = sp->spt[idx];

		if (!is_shadow_present(spte))
			break;
		if (is_last_spte(&vm->arch.mmu, spte, level)) {
			/*
			 * An unsync leaf takes the guest's entry as it is now,
			 * at once, as KVM does: the access after the INVLPG
			 * needs no fault.
			 */
			if (sp->unsync) {
				drop_spte(vm, sp, idx, &zl);
				if (sp->role.cr4_pae)
					paging64_prefetch_gpte(vcpu, sp, idx,
							       &zl);
				else
					paging32_prefetch_gpte(vcpu, sp, idx,
							       &zl);
			}
			break;
		}
		sp = spte_to_child(spte);
	}
	spin_unlock(&vm->arch.mmu.lock);
	zap_list_commit(vm, &zl);
	ckvm_x86_ops->flush_tlb(vcpu);
}

/*
 * A write of @bytes at @offset of a guest table that @sp shadows with
 * @gpte_size-byte entries: is it within one entry? A write across two
 * (or a page of them zeroed by wide stores) is no entry update.
 */
static bool write_misaligned(int offset, int bytes, int gpte_size)
{
	return (offset & (gpte_size - 1)) + bytes > gpte_size;
}

/*
 * Emulated writes to a table without its shadow page being used in
 * between: after a few it is no page table any more (a page the guest
 * reuses as data, KVM's "write flooding"); it is zapped, and writes to it
 * stop being emulated.
 */
#define WRITE_FLOODING_LIMIT	3

/**
 * ckvm_mmu_pte_write() - the emulator wrote guest memory
 * @vcpu: the vCPU, loaded; caller holds vm->srcu, not mmu->lock.
 * @gpa: where (guest-physical).
 * @bytes: how many (at most 16, within one page), already in memory.
 *
 * If the page is a shadowed guest page table, the sptes of the entries
 * written follow them: with pte_update, a leaf spte gets the new entry's
 * mapping at once (the seed's change, which saves the fault after the
 * write); else, and above the leaf level, the spte is dropped.
 */
void ckvm_mmu_pte_write(struct ckvm_vcpu *vcpu, gpa_t gpa, int bytes)
{
	const struct ckvm_cpu_role *role = ckvm_mmu_cpu_role(vcpu);
	struct ckvm *vm = vcpu->vm;
	struct ckvm_mmu *mmu = &vm->arch.mmu;
	struct shadow_fault f = { .page = NULL };
	gfn_t gfn = gpa >> PAGE_SHIFT;
	int offset = offset_in_page(gpa);
	bool wide = role->level != 2;
	int gpte_size = wide ? 8 : 4;
	struct ckvm_memslot *slot;
	struct ckvm_mmu_page *sp;
	unsigned long mmu_seq = 0;
	struct hlist_node *tmp;
	struct zap_list zl;
	u64 gentry = 0;
	bool update;

	if (mmu->tdp)
		return;
	slot = ckvm_gfn_to_memslot(vm, gfn);
	/* No shadowed table in its 2 MiB frame: the common case, no lock. */
	if (!slot || !READ_ONCE(*gfn_to_lpage_disallow(slot, gfn)))
		return;

	/*
	 * The guest entry as it is now and the page it maps, found before
	 * the lock, where get_user_pages may sleep.
	 */
	update = READ_ONCE(pte_update) && role->level &&
		 !write_misaligned(offset, bytes, gpte_size) &&
		 !ckvm_read_guest(vm, gpa & ~(gpa_t)(gpte_size - 1), &gentry,
				  gpte_size);
	if (update && (gentry & _PAGE_PRESENT)) {
		u64 addr = wide ? gentry & SPTE_ADDR_MASK : gentry & 0xfffff000;

		f.gfn = addr >> PAGE_SHIFT;
		f.slot = ckvm_gfn_to_memslot(vm, f.gfn);
		mmu_seq = READ_ONCE(mmu->invalidate_seq);
		/* The sequence before the page tables GUP reads. */
		smp_rmb();
		if (!f.slot || (f.slot->flags & KVM_MEM_READONLY) ||
		    f.slot->arch.invalid ||
		    mmu_get_host_page(vm, f.slot, f.gfn, false, &f.page,
				      &f.host_writable))
			f.page = NULL;
	}
	if (ckvm_mmu_topup_caches(vcpu, true))
		update = false;

	zap_list_init(&zl);
	spin_lock(&mmu->lock);
	vm->stat.arch.mmu_pte_write++;
	if (f.page && (mmu->invalidate_in_progress ||
		       mmu->invalidate_seq != mmu_seq))
		f.page = NULL;
	if (update) {
		/* Another vCPU's write in between: only drop the sptes. */
		u64 now = 0;

		if ((wide ? paging64_read_gpte_atomic(vm, gpa & ~7ULL, &now) :
			    paging32_read_gpte_atomic(vm, gpa & ~3ULL,
						      (u32 *)&now)) ||
		    now != gentry)
			update = false;
	}
	hlist_for_each_entry_safe(sp, tmp, gfn_bucket(vm, gfn), hash_link) {
		int size = sp->role.cr4_pae ? 8 : 4;
		int g = offset / size, idx, n, i;

		if (!sp_shadows(sp, gfn))
			continue;
		if (write_misaligned(offset, bytes, size) ||
		    ++sp->write_flooding_count >= WRITE_FLOODING_LIMIT) {
			zap_page(vm, sp, &zl);
			vm->stat.arch.mmu_flooded++;
			continue;
		}
		if (sp->role.cr4_pae) {
			idx = g;
			n = 1;
		} else if (sp->role.level == 1) {
			if ((g >> 9) != sp->role.quadrant)
				continue;
			idx = g & 511;
			n = 1;
		} else {
			if ((g >> 8) != sp->role.quadrant)
				continue;
			idx = (g & 255) * 2;
			n = 2;
		}
		for (i = idx; i < idx + n; i++) {
			u64 spte = sp->spt[i];

			if (sp->role.level == 1 && update &&
			    sp->role.cr4_pae == wide) {
				if (wide)
					paging64_update_pte(vcpu, sp, i, gentry,
							    &f, &zl);
				else
					paging32_update_pte(vcpu, sp, i, gentry,
							    &f, &zl);
				continue;
			}
			if (!is_shadow_present(spte))
				continue;
			if (!is_last_spte(mmu, spte, sp->role.level))
				vm->stat.arch.mmu_pde_zapped++;
			drop_spte(vm, sp, i, &zl);
		}
	}
	spin_unlock(&mmu->lock);
	zap_list_commit(vm, &zl);
	if (f.page)
		put_page(f.page);
}

/**
 * ckvm_mmu_unprotect_gfn() - stop shadowing a guest page
 * @vcpu: the vCPU; caller holds vm->srcu.
 * @gfn: a page the guest writes as data that was shadowed as a table.
 *
 * Its shadow pages are zapped, so that the guest may write it natively
 * (used when a write to it cannot be emulated).
 *
 * Return: whether there were any.
 */
bool ckvm_mmu_unprotect_gfn(struct ckvm_vcpu *vcpu, gfn_t gfn)
{
	struct ckvm *vm = vcpu->vm;
	struct ckvm_mmu_page *sp;
	struct hlist_node *tmp;
	struct zap_list zl;
	bool any = false;

	zap_list_init(&zl);
	spin_lock(&vm->arch.mmu.lock);
	hlist_for_each_entry_safe(sp, tmp, gfn_bucket(vm, gfn), hash_link) {
		if (!sp_shadows(sp, gfn))
			continue;
		zap_page(vm, sp, &zl);
		any = true;
	}
	spin_unlock(&vm->arch.mmu.lock);
	zap_list_commit(vm, &zl);
	return any;
}

/* ---- the guest's paging changes ---- */

/**
 * ckvm_mmu_reset_context() - the guest's paging mode may have changed
 * @vcpu: the vCPU, under vcpu->mutex.
 *
 * After a change of CR0.PG/WP, CR4.PAE/PSE/SMEP/SMAP, EFER.NX/LMA, or
 * userspace's KVM_SET_SREGS: the paging mode is derived again and, with
 * shadow paging, the next entry loads the root of the new mode.
 */
void ckvm_mmu_reset_context(struct ckvm_vcpu *vcpu)
{
	ckvm_mmu_reset_cpu_role(vcpu);
	if (!vcpu->vm->arch.mmu.tdp)
		ckvm_mmu_unload(vcpu);
}

/**
 * ckvm_mmu_new_cr3() - the guest wrote CR3
 * @vcpu: the vCPU, under vcpu->mutex.
 *
 * With shadow paging the next entry loads the root of the new CR3 (found
 * again if it survived), syncs what it reaches and flushes the vCPU's
 * TLB: that is the flush the CR3 write asks for. A PCID no-flush write
 * gets it too, which the architecture allows.
 */
void ckvm_mmu_new_cr3(struct ckvm_vcpu *vcpu)
{
	if (!vcpu->vm->arch.mmu.tdp)
		ckvm_mmu_unload(vcpu);
}

/**
 * ckvm_mmu_load_pdptrs() - read the four PAE PDPTEs at CR3
 * @vcpu: the vCPU; caller holds vm->srcu.
 * @cr3: the CR3 value (bits 31:5 locate the PDPT).
 *
 * As the CPU does when PAE paging starts or CR3 is written (SDM 4.4.1):
 * they are cached, and a present one with a reserved bit set is a #GP.
 *
 * Return: true if they are valid (and now cached).
 */
bool ckvm_mmu_load_pdptrs(struct ckvm_vcpu *vcpu, u64 cr3)
{
	int maxphyaddr = ckvm_cpuid_maxphyaddr(vcpu);
	u64 rsvd = rsvd_bits(maxphyaddr, 63) | rsvd_bits(5, 8) |
		   rsvd_bits(1, 2);
	u64 pdpte[4];
	int i;

	if (ckvm_read_guest(vcpu->vm, cr3 & GENMASK_ULL(31, 5), pdpte,
			    sizeof(pdpte)))
		return false;
	for (i = 0; i < 4; i++)
		if ((pdpte[i] & _PAGE_PRESENT) && (pdpte[i] & rsvd))
			return false;
	memcpy(vcpu->arch.mmu.pdptrs, pdpte, sizeof(pdpte));
	return true;
}

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
