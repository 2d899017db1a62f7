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

#include "ckvm.h"
#include "x86_ops.h"
#include "mmu_internal.h"

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
