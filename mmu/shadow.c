// SPDX-License-Identifier: GPL-2.0
/*
 * Shadow paging: the shadow pages of mmu.c built from the guest's own page
 * tables, for CPUs without NPT/EPT or with tdp=0 (Documentation/mmu.rst).
 *
 * The CPU runs the guest on shadow tables: 4-level ones for a 4-level
 * guest; PAE ones for a PAE guest, a 32-bit guest (each 4-byte guest table
 * shadowed by several 8-byte ones, told apart by role.quadrant) and a
 * guest with paging off (direct pages that map linear = physical). The
 * guest's tables are write-protected while shadowed.
 */
#include <linux/mm.h>
#include <asm/processor-flags.h>
#include <asm/trap_pf.h>
#include <asm/uaccess.h>

#include "ckvm.h"
#include "x86_ops.h"
#include "mmu_internal.h"
#include "../x86/cpuid.h"

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

/*
 * A guest table at @gfn is shadowed (by the indirect page @sp): keep the
 * guest from writing it behind our back, and its 2 MiB frame from being
 * mapped large.
 */
void account_shadowed(struct ckvm *vm, struct ckvm_mmu_page *sp)
{
	struct ckvm_memslot *slot = ckvm_gfn_to_memslot(vm, sp->gfn);

	if (!slot)
		return;
	(*gfn_to_lpage_disallow(slot, sp->gfn))++;
	if (rmap_write_protect(vm, slot, sp->gfn))
		ckvm_make_all_vcpus_request(vm, CKVM_REQ_TLB_FLUSH);
}

void unaccount_shadowed(struct ckvm *vm, struct ckvm_mmu_page *sp)
{
	struct ckvm_memslot *slot = ckvm_gfn_to_memslot(vm, sp->gfn);

	if (slot)
		(*gfn_to_lpage_disallow(slot, sp->gfn))--;
}

/* Zap the indirect shadow pages of guest tables in [@start, @end). */
void zap_shadowed_range(struct ckvm *vm, gfn_t start, gfn_t end,
			struct zap_list *zl)
{
	struct ckvm_mmu_page *sp, *tmp;

	list_for_each_entry_safe(sp, tmp, &vm->arch.mmu.active_pages, link)
		if (!sp->role.direct && !sp->role.invalid &&
		    sp->gfn >= start && sp->gfn < end)
			zap_page(vm, sp, zl);
}

int shadow_mmu_alloc_roots(struct ckvm_vcpu *vcpu, struct zap_list *zl)
{
	return -EOPNOTSUPP;
}

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
		high = nx | rsvd_bits(pa, 62);
		m[0][2] = rsvd_bits(pa, 63) | rsvd_bits(5, 8) | rsvd_bits(1, 2);
		m[1][2] = m[0][2];
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
