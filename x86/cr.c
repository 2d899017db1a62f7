// SPDX-License-Identifier: GPL-2.0
/*
 * Control registers as the guest writes them: MOV to CR0, CR3, CR4 and
 * CR8, CLTS and LMSW (through CR0), INVLPG. The rules are the SDM's (MOV
 * CR, 2.5, 4.1, 4.4.1) and the MMU's: which bits give the guest another
 * paging mode (a new shadow root) or flush its TLB.
 *
 * With nested paging the guest writes CR0, CR3 and CR4 mostly without an
 * exit; these functions see the writes that exit (VMX host-owned bits,
 * and every one with shadow paging, on both backends). The backend keeps
 * the values the guest sees (set_cr/get_cr) and derives what the CPU runs
 * with.
 */
#include <asm/processor-flags.h>
#include <asm/msr-index.h>

#include "ckvm.h"
#include "x86_ops.h"
#include "cpuid.h"
#include "irqchip.h"

/* CR0 and CR4 bits that change the guest's paging mode (a new root). */
#define CR0_MMU_BITS	(X86_CR0_PG | X86_CR0_WP)
#define CR4_MMU_BITS	(X86_CR4_PAE | X86_CR4_PSE | X86_CR4_SMEP | \
			 X86_CR4_SMAP | X86_CR4_PKE | X86_CR4_LA57)
/* CR4 bits whose change reloads the PAE PDPTEs (SDM 4.4.1). */
#define CR4_PDPTR_BITS	(X86_CR4_PAE | X86_CR4_PSE | X86_CR4_PGE | \
			 X86_CR4_SMEP)
/* EFER bits of the paging mode. */
#define EFER_MMU_BITS	(EFER_NX | EFER_LMA)

static bool pae_paging(u64 cr0, u64 cr4, u64 efer)
{
	return (cr0 & X86_CR0_PG) && (cr4 & X86_CR4_PAE) && !(efer & EFER_LMA);
}

/**
 * ckvm_efer_changed() - EFER was written: maybe a new paging mode
 * @vcpu: the vCPU, loaded.
 * @old: EFER before the write.
 *
 * EFER.NX and EFER.LMA are part of the paging mode.
 */
void ckvm_efer_changed(struct ckvm_vcpu *vcpu, u64 old)
{
	if ((old ^ ckvm_x86_ops->get_efer(vcpu)) & EFER_MMU_BITS)
		ckvm_mmu_reset_context(vcpu);
}

/**
 * ckvm_set_cr0() - MOV to CR0 (also CLTS, LMSW)
 * @vcpu: the vCPU, loaded; caller holds vm->srcu.
 * @cr0: the value written.
 *
 * Checks as the SDM's MOV CR0: bits 63:32, NW without CD, PG without PE,
 * enabling long mode without PAE or from a 64-bit code segment, PAE paging
 * with a bad PDPTE, disabling paging with CR4.PCIDE. Entering or leaving
 * paging with EFER.LME sets or clears EFER.LMA.
 *
 * Return: 0, or 1 for a #GP(0) the caller delivers (nothing changed).
 */
int ckvm_set_cr0(struct ckvm_vcpu *vcpu, u64 cr0)
{
	const struct ckvm_x86_ops *ops = ckvm_x86_ops;
	u64 old = ops->get_cr(vcpu, 0), cr4 = ops->get_cr(vcpu, 4);
	u64 efer = ops->get_efer(vcpu);

	cr0 |= X86_CR0_ET;	/* hardwired to 1 since the i486 */
	if ((cr0 >> 32) || ((cr0 & X86_CR0_NW) && !(cr0 & X86_CR0_CD)) ||
	    ((cr0 & X86_CR0_PG) && !(cr0 & X86_CR0_PE)))
		return 1;
	if (!(old & X86_CR0_PG) && (cr0 & X86_CR0_PG)) {
		if (efer & EFER_LME) {
			struct kvm_segment cs;

			ops->get_segment(vcpu, &cs, CKVM_SEG_CS);
			if (!(cr4 & X86_CR4_PAE) || cs.l)
				return 1;
			efer |= EFER_LMA;
		} else if ((cr4 & X86_CR4_PAE) &&
			   !ckvm_mmu_load_pdptrs(vcpu, ops->get_cr(vcpu, 3))) {
			return 1;
		}
	}
	if ((old & X86_CR0_PG) && !(cr0 & X86_CR0_PG)) {
		if (cr4 & X86_CR4_PCIDE)
			return 1;
		efer &= ~EFER_LMA;
	}
	if (efer != ops->get_efer(vcpu))
		ops->set_efer(vcpu, efer);
	ops->set_cr(vcpu, 0, cr0);
	if ((old ^ cr0) & CR0_MMU_BITS)
		ckvm_mmu_reset_context(vcpu);
	return 0;
}

/**
 * ckvm_set_cr4() - MOV to CR4
 * @vcpu: the vCPU, loaded; caller holds vm->srcu.
 * @cr4: the value written.
 *
 * Checks as the SDM's MOV CR4: bits the guest's CPUID does not have (and
 * VMXE: no nested virtualization), clearing PAE in long mode, setting
 * PCIDE outside long mode or with CR3[11:0] set, a bad PDPTE where PAE
 * paging reloads them. Toggling PGE, or clearing PCIDE, flushes the TLB.
 *
 * Return: 0, or 1 for a #GP(0).
 */
int ckvm_set_cr4(struct ckvm_vcpu *vcpu, u64 cr4)
{
	const struct ckvm_x86_ops *ops = ckvm_x86_ops;
	u64 old = ops->get_cr(vcpu, 4), cr0 = ops->get_cr(vcpu, 0);
	u64 cr3 = ops->get_cr(vcpu, 3), efer = ops->get_efer(vcpu);

	if (!ckvm_cr4_valid(vcpu, cr4))
		return 1;
	if ((efer & EFER_LMA) && !(cr4 & X86_CR4_PAE))
		return 1;
	if (!(old & X86_CR4_PCIDE) && (cr4 & X86_CR4_PCIDE) &&
	    (!(efer & EFER_LMA) || (cr3 & 0xfff)))
		return 1;
	if (pae_paging(cr0, cr4, efer) && ((old ^ cr4) & CR4_PDPTR_BITS) &&
	    !ckvm_mmu_load_pdptrs(vcpu, cr3))
		return 1;
	ops->set_cr(vcpu, 4, cr4);
	if ((old ^ cr4) & CR4_MMU_BITS)
		ckvm_mmu_reset_context(vcpu);
	if (((old ^ cr4) & X86_CR4_PGE) ||
	    ((old & X86_CR4_PCIDE) && !(cr4 & X86_CR4_PCIDE))) {
		/* Global pages too: what the guest wrote takes effect. */
		ckvm_mmu_sync_roots(vcpu);
		ops->flush_tlb(vcpu);
	}
	return 0;
}

/**
 * ckvm_set_cr3() - MOV to CR3
 * @vcpu: the vCPU, loaded; caller holds vm->srcu.
 * @cr3: the value written.
 *
 * With CR4.PCIDE, bit 63 asks not to flush the PCID's TLB entries and is
 * not part of CR3 (SDM 4.10.4.1). In long mode the address must fit the
 * guest's MAXPHYADDR; with PAE paging the four PDPTEs are loaded. With
 * shadow paging the next entry finds the root of the new CR3.
 *
 * Return: 0, or 1 for a #GP(0).
 */
int ckvm_set_cr3(struct ckvm_vcpu *vcpu, u64 cr3)
{
	const struct ckvm_x86_ops *ops = ckvm_x86_ops;
	u64 cr0 = ops->get_cr(vcpu, 0), cr4 = ops->get_cr(vcpu, 4);
	u64 efer = ops->get_efer(vcpu);

	if (cr4 & X86_CR4_PCIDE)
		cr3 &= ~BIT_ULL(63);
	if ((efer & EFER_LMA) &&
	    (cr3 >> ckvm_cpuid_maxphyaddr(vcpu)))
		return 1;
	if (pae_paging(cr0, cr4, efer) && !ckvm_mmu_load_pdptrs(vcpu, cr3))
		return 1;
	ops->set_cr(vcpu, 3, cr3);
	ckvm_mmu_new_cr3(vcpu);
	return 0;
}

/**
 * ckvm_set_cr8() - MOV to CR8, the task priority
 * @vcpu: the vCPU, loaded.
 * @cr8: the value written; bits 63:4 are reserved (SDM 10.8.6.1).
 *
 * Return: 0, or 1 for a #GP(0).
 */
int ckvm_set_cr8(struct ckvm_vcpu *vcpu, u64 cr8)
{
	if (cr8 & ~0xfULL)
		return 1;
	ckvm_x86_ops->set_cr(vcpu, 8, cr8);
	if (vcpu->arch.lapic)
		ckvm_lapic_set_tpr(vcpu, cr8 << 4);
	return 0;
}

/**
 * ckvm_set_cr() - MOV to a control register, as an exit handler sees it
 * @vcpu: the vCPU, loaded; caller holds vm->srcu.
 * @cr: 0, 2, 3, 4 or 8.
 * @val: the value written.
 *
 * Return: 0, or 1 for a #GP(0) (or an unknown @cr, which the caller
 * should not pass).
 */
int ckvm_set_cr(struct ckvm_vcpu *vcpu, int cr, u64 val)
{
	switch (cr) {
	case 0:
		return ckvm_set_cr0(vcpu, val);
	case 2:
		ckvm_x86_ops->set_cr(vcpu, 2, val);
		return 0;
	case 3:
		return ckvm_set_cr3(vcpu, val);
	case 4:
		return ckvm_set_cr4(vcpu, val);
	case 8:
		return ckvm_set_cr8(vcpu, val);
	default:
		return 1;
	}
}

/**
 * ckvm_invlpg() - INVLPG: the guest invalidates a linear address
 * @vcpu: the vCPU, loaded; caller holds vm->srcu.
 * @gva: the address.
 *
 * With shadow paging the MMU takes the guest's current entry for it into
 * account; the vCPU's TLB is flushed.
 */
void ckvm_invlpg(struct ckvm_vcpu *vcpu, gva_t gva)
{
	ckvm_mmu_invlpg(vcpu, gva);
	ckvm_x86_ops->flush_tlb(vcpu);
}
