/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest page walker, compiled once per guest page-table entry width:
 * mmu.c includes this file twice, with PTTYPE 32 and with PTTYPE 64.
 *
 *   PTTYPE 32: 32-bit paging (SDM 4.3): 2 levels of 1024 4-byte entries,
 *              4 MiB pages with CR4.PSE, whose PDE bits 20:13 give
 *              physical address bits 39:32 (PSE-36).
 *   PTTYPE 64: PAE paging (SDM 4.4: the 4 PDPTEs, then 2 levels) and
 *              4-level paging (SDM 4.5), 8-byte entries, 2 MiB and 1 GiB
 *              pages.
 *
 * A walk follows the address down from CR3, checks presence and reserved
 * bits level by level, then the access rights of the whole walk (SDM
 * 4.6), and sets the Accessed and Dirty bits the CPU would (SDM 4.8) with
 * a cmpxchg on the guest's own entry. A fault comes back as the #PF error
 * code the CPU would give (SDM 4.7).
 *
 * struct guest_walker keeps every level's entry, its table's gfn and its
 * address: the shadow MMU builds and later re-checks its shadow entries
 * from them, and adds its fetch, invlpg and sync functions to this file.
 */

#if PTTYPE == 64
	#define pt_element_t u64
	#define guest_walker guest_walker64
	#define FNAME(name) paging64_##name
	#define PT_LEVEL_BITS 9
	#define PT_MAX_FULL_LEVELS 4
	#define PT_BASE_ADDR_MASK GENMASK_ULL(51, 12)
#elif PTTYPE == 32
	#define pt_element_t u32
	#define guest_walker guest_walker32
	#define FNAME(name) paging32_##name
	#define PT_LEVEL_BITS 10
	#define PT_MAX_FULL_LEVELS 2
	#define PT_BASE_ADDR_MASK 0xfffff000u
#else
	#error Invalid PTTYPE value
#endif

/* Where level @l's index sits in a linear address. */
#define PT_GUEST_SHIFT(l)	(PAGE_SHIFT + ((l) - 1) * PT_LEVEL_BITS)
#define PT_GUEST_INDEX(addr, l)	\
	(((addr) >> PT_GUEST_SHIFT(l)) & ((1u << PT_LEVEL_BITS) - 1))

/*
 * One walk of the guest's page tables for one linear address. Arrays are
 * indexed by level - 1; levels above max_level and below level are unused.
 */
struct guest_walker {
	int level;				/* of the leaf: 1, or 2/3 (large) */
	int max_level;				/* the first level read */
	gfn_t table_gfn[PT_MAX_FULL_LEVELS];	/* the table read at each level */
	pt_element_t ptes[PT_MAX_FULL_LEVELS];	/* the entry read at each level */
	gpa_t pte_gpa[PT_MAX_FULL_LEVELS];	/* and its guest-physical address */
	pt_element_t __user *ptep_user[PT_MAX_FULL_LEVELS];
	bool pte_writable[PT_MAX_FULL_LEVELS];	/* its memslot may be written */
	unsigned int pt_access[PT_MAX_FULL_LEVELS];	/* ACC_* down to it */
	unsigned int pte_access;		/* ACC_* of the whole walk */
	gfn_t gfn;				/* the 4 KiB frame of the address */
	struct x86_exception fault;
};

/* ACC_* rights one entry grants; NX only exists in 8-byte entries. */
static unsigned int FNAME(gpte_access)(pt_element_t gpte)
{
	unsigned int access = (gpte & (ACC_WRITE_MASK | ACC_USER_MASK)) |
			      ACC_EXEC_MASK;

#if PTTYPE == 64
	if (gpte & _PAGE_NX)
		access &= ~ACC_EXEC_MASK;
#endif
	return access;
}

/* Does the walk end at this entry (a page, not a table)? */
static bool FNAME(is_last_gpte)(const struct ckvm_cpu_role *role, int level,
				pt_element_t gpte)
{
	if (level == 1)
		return true;
#if PTTYPE == 64
	/* A PAE PDPTE always points to a page directory. */
	if (level == 3 && role->level == 3)
		return false;
#endif
#if PTTYPE == 32
	/* Bit 7 of a PDE is ignored without CR4.PSE (SDM 4.3). */
	if (!role->cr4_pse)
		return false;
#endif
	/* PS in a PML4E, or in a PDPTE without 1 GiB pages, is reserved. */
	return gpte & _PAGE_PSE;
}

static bool FNAME(is_rsvd_bits_set)(const struct ckvm_cpu_role *role,
				    pt_element_t gpte, int level)
{
	int large = (gpte >> 7) & 1;

	return gpte & role->rsvd_bits_mask[large][level - 1];
}

/* The gfn of the 4 KiB frame of @addr inside the page @gpte maps. */
static gfn_t FNAME(leaf_gfn)(pt_element_t gpte, int level, gva_t addr)
{
	u64 size = 1ULL << PT_GUEST_SHIFT(level);
	u64 gpa = (gpte & PT_BASE_ADDR_MASK & ~(size - 1)) | (addr & (size - 1));

#if PTTYPE == 32
	/* PSE-36: PDE bits 20:13 are physical address bits 39:32. */
	if (level == 2)
		gpa |= (u64)((gpte >> 13) & 0xff) << 32;
#endif
	return gpa >> PAGE_SHIFT;
}

/*
 * May this access go through a walk that granted @pte_access? The rules
 * of SDM 4.6.1 for user-mode, supervisor-mode and implicit accesses.
 */
static bool FNAME(permission_fault)(const struct ckvm_cpu_role *role,
				    unsigned int pte_access, u32 access,
				    bool rflags_ac)
{
	bool user_page = pte_access & ACC_USER_MASK;
	bool write = access & CKVM_ACC_WRITE;

	if (access & CKVM_ACC_FETCH) {
		if (!(pte_access & ACC_EXEC_MASK))
			return true;
		if (access & CKVM_ACC_USER)
			return !user_page;
		return user_page && role->cr4_smep;
	}
	if (access & CKVM_ACC_USER)
		return !user_page || (write && !(pte_access & ACC_WRITE_MASK));
	/* Supervisor data: CR0.WP protects read-only pages from it too. */
	if (write && role->cr0_wp && !(pte_access & ACC_WRITE_MASK))
		return true;
	return user_page && role->cr4_smap &&
	       ((access & CKVM_ACC_IMPLICIT) || !rflags_ac);
}

/*
 * Set the Accessed bit of every entry of the walk and, for a write, the
 * Dirty bit of the leaf, as the CPU does (SDM 4.8): each with a cmpxchg
 * on the guest's entry, so that a concurrent change by another vCPU is not
 * lost. Entries in read-only memslots are left alone (a ROM). Returns 0,
 * 1 if an entry changed under us (walk again) or -EFAULT.
 */
static int FNAME(update_accessed_dirty_bits)(struct ckvm_vcpu *vcpu,
					     const struct ckvm_cpu_role *role,
					     struct guest_walker *walker,
					     bool write)
{
	int level;

	for (level = walker->max_level; level >= walker->level; level--) {
		pt_element_t pte = walker->ptes[level - 1];
		pt_element_t orig = pte;
		pt_element_t __user *ptep = walker->ptep_user[level - 1];
		int r;

#if PTTYPE == 64
		/* PAE PDPTEs have no Accessed bit (bits 8:5 are reserved). */
		if (role->level == 3 && level == 3)
			continue;
#endif
		pte |= _PAGE_ACCESSED;
		if (level == walker->level && write)
			pte |= _PAGE_DIRTY;
		if (pte == orig || !walker->pte_writable[level - 1])
			continue;
		r = __try_cmpxchg_user(ptep, &orig, pte, fault);
		if (r)
			return r;
		ckvm_mark_page_dirty(vcpu->vm, walker->table_gfn[level - 1]);
		walker->ptes[level - 1] = pte;
	}
	return 0;
}

/* Where the walk of a guest page-table entry reads it from. */
static pt_element_t __user *FNAME(gpte_user_ptr)(struct ckvm_vcpu *vcpu,
						 gpa_t pte_gpa, bool *writable)
{
	struct ckvm_memslot *slot = ckvm_gfn_to_memslot(vcpu->vm,
							pte_gpa >> PAGE_SHIFT);
	unsigned long hva;

	if (!slot)
		return NULL;
	hva = slot->userspace_addr +
	      ((pte_gpa - (slot->base_gfn << PAGE_SHIFT)));
	*writable = !(slot->flags & KVM_MEM_READONLY);
	return (pt_element_t __user *)hva;
}

/*
 * Walk the guest's page tables, in the paging mode @role, for @addr and
 * @access (CKVM_ACC_*).
 * Returns 1 with walker->gfn and the entries filled, 0 with walker->fault
 * filled (#PF), or -EFAULT when a page-table page is outside the guest's
 * memory, where the walk cannot be done. Caller holds vm->srcu.
 */
static int FNAME(walk_addr)(struct guest_walker *walker,
			    struct ckvm_vcpu *vcpu,
			    const struct ckvm_cpu_role *role, gva_t addr,
			    u32 access)
{
	bool write = access & CKVM_ACC_WRITE;
	u32 errcode = 0;
	u64 table;
	int level, r;

retry_walk:
	level = role->level;
	walker->max_level = level;
	walker->pte_access = ACC_ALL;
	table = ckvm_x86_ops->get_cr(vcpu, 3);
#if PTTYPE == 64
	if (level == 3)
		/* The PDPT is 32 bytes at CR3 bits 31:5, four entries. */
		table &= GENMASK_ULL(31, 5);
	else
		table &= PT_BASE_ADDR_MASK;
#else
	table &= PT_BASE_ADDR_MASK;
#endif

	for (;; level--) {
		unsigned int index = level == 3 && role->level == 3 ?
				     (addr >> 30) & 3 :
				     PT_GUEST_INDEX(addr, level);
		gpa_t pte_gpa = table + index * sizeof(pt_element_t);
		pt_element_t __user *ptep;
		pt_element_t pte;

		walker->level = level;
		walker->table_gfn[level - 1] = table >> PAGE_SHIFT;
		walker->pte_gpa[level - 1] = pte_gpa;
		ptep = FNAME(gpte_user_ptr)(vcpu, pte_gpa,
					    &walker->pte_writable[level - 1]);
		if (!ptep || get_user(pte, ptep))
			return -EFAULT;
		walker->ptep_user[level - 1] = ptep;
		walker->ptes[level - 1] = pte;

		if (!(pte & _PAGE_PRESENT))
			goto error;
		if (FNAME(is_rsvd_bits_set)(role, pte, level)) {
			errcode = X86_PF_RSVD | X86_PF_PROT;
			goto error;
		}
		/* A PAE PDPTE grants everything: it has no rights bits. */
		if (!(level == 3 && role->level == 3))
			walker->pte_access &= FNAME(gpte_access)(pte);
		walker->pt_access[level - 1] = walker->pte_access;
		if (FNAME(is_last_gpte)(role, level, pte))
			break;
		table = pte & PT_BASE_ADDR_MASK;
	}

	if (FNAME(permission_fault)(role, walker->pte_access, access,
				    ckvm_x86_ops->get_rflags(vcpu) &
				    X86_EFLAGS_AC)) {
		errcode = X86_PF_PROT;
		goto error;
	}
	walker->gfn = FNAME(leaf_gfn)(walker->ptes[walker->level - 1],
				      walker->level, addr);

	r = FNAME(update_accessed_dirty_bits)(vcpu, role, walker, write);
	if (r < 0)
		return r;
	if (r)
		goto retry_walk;
	return 1;

error:
	if (write)
		errcode |= X86_PF_WRITE;
	if (access & CKVM_ACC_USER)
		errcode |= X86_PF_USER;
	/* I/D is reported only where execute rights exist (SDM 4.7). */
	if ((access & CKVM_ACC_FETCH) &&
	    ((role->efer_nx && role->level >= 3) || role->cr4_smep))
		errcode |= X86_PF_INSTR;
	walker->fault.vector = X86EMUL_PF_VECTOR;
	walker->fault.error_code_valid = true;
	walker->fault.error_code = errcode;
	walker->fault.address = addr;
	return 0;
}

/*
 * gva -> gpa for one access: 0 with *@gpa set, 1 with @fault filled, or
 * -EFAULT (the guest's page tables are outside its memory).
 */
static int FNAME(gva_to_gpa)(struct ckvm_vcpu *vcpu,
			     const struct ckvm_cpu_role *role, gva_t addr,
			     u32 access, gpa_t *gpa,
			     struct x86_exception *fault)
{
	struct guest_walker walker;
	int r = FNAME(walk_addr)(&walker, vcpu, role, addr, access);

	if (r < 0)
		return r;
	if (!r) {
		*fault = walker.fault;
		return 1;
	}
	*gpa = (walker.gfn << PAGE_SHIFT) | offset_in_page(addr);
	return 0;
}

/* ---- shadow paging: the shadow pages of this guest entry width ---- */

/* The guest entry that entry @idx of the indirect shadow page @sp shadows. */
static gpa_t FNAME(sp_gpte_gpa)(const struct ckvm_mmu_page *sp, int idx)
{
	gpa_t table = (gpa_t)sp->gfn << PAGE_SHIFT;

#if PTTYPE == 32
	/* 1024 entries a table: a shadow page holds a quadrant's worth. */
	if (sp->role.level == 1)
		return table + (sp->role.quadrant * 512 + idx) * 4;
	return table + (sp->role.quadrant * 256 + idx / 2) * 4;
#else
	return table + idx * 8;
#endif
}

/*
 * Read a guest entry under mmu->lock: from the VMM's memory without
 * faulting it in. Returns 0, or -EFAULT if it is not there right now.
 */
static int FNAME(read_gpte_atomic)(struct ckvm *vm, gpa_t gpa,
				   pt_element_t *gpte)
{
	struct ckvm_memslot *slot = ckvm_gfn_to_memslot(vm, gpa >> PAGE_SHIFT);
	pt_element_t __user *p;
	int r;

	if (!slot)
		return -EFAULT;
	p = (pt_element_t __user *)(slot->userspace_addr +
				    (gpa - (slot->base_gfn << PAGE_SHIFT)));
	pagefault_disable();
	r = __get_user(*gpte, p);
	pagefault_enable();
	return r;
}

/*
 * May a leaf spte be made from @gpte without the guest having touched it
 * (sync, an emulated write)? Only a present entry without reserved bits
 * whose Accessed bit is set: the CPU would have to set it on the access
 * an spte lets through without an exit.
 */
static bool FNAME(gpte_prefetchable)(const struct ckvm_cpu_role *role,
				     pt_element_t gpte)
{
	return (gpte & _PAGE_PRESENT) && (gpte & _PAGE_ACCESSED) &&
	       !FNAME(is_rsvd_bits_set)(role, gpte, 1);
}

/*
 * Do the guest's entries still hold what the walk read? Checked under
 * mmu->lock: an emulated write to one of them updates the sptes under the
 * lock, so it cannot fall between this check and the new sptes.
 */
static bool FNAME(gpte_changed)(struct guest_walker *w)
{
	int level;

	for (level = w->max_level; level >= w->level; level--) {
		pt_element_t pte;
		int r;

		pagefault_disable();
		r = __get_user(pte, w->ptep_user[level - 1]);
		pagefault_enable();
		if (r || pte != w->ptes[level - 1])
			return true;
	}
	return false;
}

/**
 * FNAME(fetch) - build the shadow path for a walk and map its leaf
 * @vcpu: the faulting vCPU; caller holds mmu->lock.
 * @w: the successful walk.
 * @addr: the faulting linear address.
 * @access: CKVM_ACC_* of the access.
 * @f: the host page and what the fault may map.
 * @zl: collects what is zapped.
 *
 * Shadow pages are found or made level by level: an indirect one for each
 * guest table of the walk, a direct one for the parts of a guest large
 * page below it that the host maps with smaller pages.
 *
 * Return: RET_PF_FIXED, RET_PF_EMULATE (a write to a write-protected guest
 * page table: mapped read-only, the instruction is to be emulated) or
 * RET_PF_RETRY.
 */
static int FNAME(fetch)(struct ckvm_vcpu *vcpu, struct guest_walker *w,
			gva_t addr, u32 access, struct shadow_fault *f,
			struct zap_list *zl)
{
	struct ckvm *vm = vcpu->vm;
	struct ckvm_mmu *mmu = &vm->arch.mmu;
	struct ckvm_vcpu_mmu *m = &vcpu->arch.mmu;
	struct ckvm_mmu_page *sp;
	int level, target = 1;

	if (FNAME(gpte_changed)(w))
		return RET_PF_RETRY;
	sp = m->root ? m->root : m->pae_sp[(addr >> 30) & 3];
	if (!sp || sp->role.invalid)
		return RET_PF_RETRY;
	if (w->level >= 2 && f->large && !*gfn_to_lpage_disallow(f->slot, w->gfn))
		target = 2;

	for (level = sp->role.level;; level--) {
		int idx = PT_INDEX(addr, level);
		u64 spte = sp->spt[idx];
		union ckvm_mmu_page_role role;
		struct ckvm_mmu_page *child;
		gfn_t gfn;

		sp->write_flooding_count = 0;
		if (level == target)
			break;
		if (is_shadow_present(spte) && is_large_spte(mmu, spte)) {
			drop_spte(vm, sp, idx, zl);
			spte = 0;
		}
		if (!is_shadow_present(spte)) {
			role = sp->role;
			role.level = level - 1;
			role.quadrant = 0;
			if (level - 1 >= w->level) {
				/* The child shadows the guest table below. */
				role.direct = 0;
				role.access = w->pt_access[level - 1];
#if PTTYPE == 32
				if (level - 1 == 1)
					role.quadrant = (addr >> 21) & 1;
#endif
				gfn = w->table_gfn[level - 2];
			} else {
				/*
				 * Inside a guest large page: map it directly.
				 * A clean page gives no write access to the
				 * page's entries made without a fault (prefetch).
				 */
				role.direct = 1;
				role.access = w->pte_access;
				if (!(w->ptes[w->level - 1] & _PAGE_DIRTY))
					role.access &= ~ACC_WRITE_MASK;
				gfn = w->gfn & ~((1ULL << (9 * (level - 1))) - 1);
			}
			child = shadow_get_page(vcpu, gfn, role, zl);
			link_shadow_page(vcpu, &sp->spt[idx], child);
		}
		sp = spte_to_child(sp->spt[idx]);
	}
	return shadow_map_leaf(vcpu, sp, PT_INDEX(addr, level),
			       level == 2 ? w->gfn & ~(gfn_t)511 : w->gfn,
			       w->pte_access,
			       w->ptes[w->level - 1] & _PAGE_DIRTY, access, f, zl);
}

/* shadow_fault_map()'s way back into FNAME(fetch) under the lock. */
static int FNAME(fetch_cb)(struct ckvm_vcpu *vcpu, void *walker, gva_t addr,
			   u32 access, struct shadow_fault *f,
			   struct zap_list *zl)
{
	return FNAME(fetch)(vcpu, walker, addr, access, f, zl);
}

/**
 * FNAME(page_fault) - a #PF the CPU took on the shadow tables
 * @vcpu: the vCPU, loaded; caller holds vm->srcu.
 * @role: the guest's paging mode.
 * @addr: the faulting linear address (CR2).
 * @access: CKVM_ACC_* of the access, from the error code.
 *
 * The guest's tables decide: a fault they give is the guest's own and is
 * delivered to it with their error code; else the shadow is built to
 * match them.
 *
 * Return: 1 to re-enter the guest, 0 with an exit for userspace, -errno.
 */
static int FNAME(page_fault)(struct ckvm_vcpu *vcpu,
			     const struct ckvm_cpu_role *role, gva_t addr,
			     u32 access)
{
	struct guest_walker w;
	int r;

	r = FNAME(walk_addr)(&w, vcpu, role, addr, access);
	if (r <= 0) {
		/* A table outside guest memory reads as not present. */
		if (r < 0) {
			w.fault.vector = X86EMUL_PF_VECTOR;
			w.fault.error_code_valid = true;
			w.fault.error_code = shadow_pf_error_code(role, access);
			w.fault.address = addr;
		}
		return shadow_guest_fault(vcpu, addr, &w.fault);
	}
	return shadow_fault_map(vcpu, addr, access, w.gfn, w.level,
				FNAME(fetch_cb), &w);
}


/**
 * FNAME(sync_page) - bring an unsync shadow page back in line with its table
 * @vcpu: the vCPU; caller holds mmu->lock.
 * @sp: an unsync (level 1) shadow page.
 * @zl: collects what is zapped.
 *
 * Each spte is compared with the guest entry it shadows: one that no
 * longer maps the same gfn is dropped (the next access faults it in
 * again), else its rights follow the entry (never more than it had).
 *
 * Return: true, or false if @sp had to be zapped instead.
 */
static bool FNAME(sync_page)(struct ckvm_vcpu *vcpu, struct ckvm_mmu_page *sp,
			     struct zap_list *zl)
{
	const struct ckvm_cpu_role *role = ckvm_mmu_cpu_role(vcpu);
	struct ckvm *vm = vcpu->vm;
	int i;

	if (shadow_guest_mode(role) != sp->role.guest_mode) {
		zap_page(vm, sp, zl);
		return false;
	}
	for (i = 0; i < CKVM_SPTES_PER_PAGE; i++) {
		u64 spte = sp->spt[i];
		pt_element_t gpte;
		unsigned int pte_access;
		gfn_t gfn;

		if (!is_shadow_present(spte))
			continue;
		if (FNAME(read_gpte_atomic)(vm, FNAME(sp_gpte_gpa)(sp, i),
					    &gpte)) {
			zap_page(vm, sp, zl);
			return false;
		}
		gfn = FNAME(leaf_gfn)(gpte, 1, 0);
		if (!FNAME(gpte_prefetchable)(role, gpte) ||
		    gfn != sp->gfns[i]) {
			drop_spte(vm, sp, i, zl);
			continue;
		}
		pte_access = sp->role.access & FNAME(gpte_access)(gpte);
		shadow_update_rights(vm, sp, i, pte_access,
				     gpte & _PAGE_DIRTY, zl);
	}
	return true;
}

/*
 * Map entry @idx of the level-1 page @sp from its guest entry as it is,
 * without a fault (KVM's pte prefetch, and INVLPG of an unsync page); an
 * entry that is not present, not accessed or reserved maps nothing.
 * Caller holds mmu->lock.
 */
static void FNAME(prefetch_gpte)(struct ckvm_vcpu *vcpu,
				 struct ckvm_mmu_page *sp, int idx,
				 struct zap_list *zl)
{
	const struct ckvm_cpu_role *role = ckvm_mmu_cpu_role(vcpu);
	pt_element_t gpte;

	if (shadow_guest_mode(role) != sp->role.guest_mode ||
	    FNAME(read_gpte_atomic)(vcpu->vm, FNAME(sp_gpte_gpa)(sp, idx),
				    &gpte) ||
	    !FNAME(gpte_prefetchable)(role, gpte))
		return;
	shadow_prefetch_gfn(vcpu, sp, idx, FNAME(leaf_gfn)(gpte, 1, 0),
			    sp->role.access & FNAME(gpte_access)(gpte),
			    gpte & _PAGE_DIRTY, zl);
}

/*
 * An emulated write changed the guest entry behind entry @idx of the
 * level-1 shadow page @sp to @gpte: give the spte the new mapping at once
 * (the 2007 "update shadow pte on write to guest pte"), if the host page
 * the caller found for it (@f) is the one it names; else drop it.
 */
static void FNAME(update_pte)(struct ckvm_vcpu *vcpu, struct ckvm_mmu_page *sp,
			      int idx, pt_element_t gpte,
			      struct shadow_fault *f, struct zap_list *zl)
{
	const struct ckvm_cpu_role *role = ckvm_mmu_cpu_role(vcpu);
	unsigned int pte_access;

	drop_spte(vcpu->vm, sp, idx, zl);
	if (!f->page || shadow_guest_mode(role) != sp->role.guest_mode ||
	    !FNAME(gpte_prefetchable)(role, gpte) ||
	    FNAME(leaf_gfn)(gpte, 1, 0) != f->gfn)
		return;
	pte_access = sp->role.access & FNAME(gpte_access)(gpte);
	shadow_prefetch_leaf(vcpu, sp, idx, f, pte_access, gpte & _PAGE_DIRTY,
			     zl);
}

#undef pt_element_t
#undef guest_walker
#undef FNAME
#undef PT_LEVEL_BITS
#undef PT_MAX_FULL_LEVELS
#undef PT_BASE_ADDR_MASK
#undef PT_GUEST_SHIFT
#undef PT_GUEST_INDEX
