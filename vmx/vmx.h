/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CKVM_VMX_VMX_H
#define CKVM_VMX_VMX_H

#include <linux/types.h>
#include <asm/trapnr.h>
#include <asm/vmx.h>

#include "ckvm.h"

/*
 * What vmx.c (setup, state, running the guest) and exits.c (the exit
 * handlers) share: the vCPU, the configuration found at load, and the
 * VMREAD the handlers use. Nothing here is seen outside vmx/.
 */

/*
 * The exceptions that always exit, reflected into the guest by exits.c:
 * #DB and #AC (vmx.c, write_exception_bitmap(), says why).
 */
#define VMX_EB_ALWAYS	(BIT(X86_TRAP_DB) | BIT(X86_TRAP_AC))

struct vmx_seg {
	u64 base;
	u32 limit;
	u32 ar;			/* VMCS access rights, VMX_AR_UNUSABLE_MASK */
	u16 selector;
};

struct vmx_vcpu {
	struct ckvm_vcpu *vcpu;
	struct vmcs *vmcs;
	u64 vmcs_pa;
	int cpu;			/* where the VMCS is active, or -1 */
	struct list_head loaded_link;	/* in vmx_cpu.loaded of @cpu */
	bool launched;
	bool initialized;		/* controls and constant host fields */
	bool host_cpu_dirty;		/* per-CPU host fields to rewrite */
	bool state_dirty;		/* guest fields to rewrite */
	bool need_flush;
	bool eptp_dirty;		/* EPT_POINTER to rewrite */
	u16 vpid;
	u64 eptp;			/* the EPT root as EPT_POINTER has it */
	u64 shadow_cr3;			/* shadow paging: the root the CPU walks */
	/*
	 * Shadow paging without unrestricted guest runs real mode in
	 * virtual-8086 mode: whether the last entry did, and the selectors
	 * it gave the CPU (a different one after the exit was loaded by the
	 * guest). seg[], rflags and the CRs stay what the guest sees.
	 */
	bool vm86;
	u16 vm86_sel[CKVM_NR_SEGS];
	u32 exception_bitmap;

	/* Guest state, as in the VMCS guest-state area. */
	struct vmx_seg seg[CKVM_NR_SEGS];
	u64 gdt_base, idt_base;
	u32 gdt_limit, idt_limit;
	u64 cr0, cr2, cr3, cr4, cr8;	/* as the guest sees them */
	u64 pdptrs[4];			/* PAE paging: the PDPTE registers */
	u64 efer, pat, dr7;
	u64 tsc_offset;
	unsigned long rflags;
	u64 sysenter_cs, sysenter_esp, sysenter_eip;
	u64 kernel_gs_base;
	u64 syscall_msrs[4];
	u32 interruptibility;
	/*
	 * GUEST_PENDING_DBG_EXCEPTIONS: debug traps the guest owes itself
	 * at the next instruction boundary (B0-B3, BS as in DR6); kept
	 * across exits like the rest of the guest state.
	 */
	u64 pending_dbg;
	bool irq_window;		/* exit when the guest can take an IRQ */
	bool nmi_window;		/* exit when it can take an NMI */
	bool dr_exiting;		/* MOV DR exits (x86/debugreg.c) */
	u32 proc_ctl;			/* CPU_BASED_VM_EXEC_CONTROL as written */
	/*
	 * The guest's DR6, which VMX leaves in the CPU: loaded before an
	 * entry when it is not the host's DR6_RESERVED, read back after
	 * every exit (a #DB in the guest changes it without an exit).
	 */
	u64 dr6;
	/* Own MSR bitmap once an MSR filter needs one; else msr_bitmap. */
	unsigned long *msr_bitmap;
	bool msr_bitmap_dirty;		/* MSR_BITMAP to rewrite */

	/* The event the next entry delivers (VM_ENTRY_INTR_INFO_FIELD). */
	u32 event_inj;
	u32 event_inj_err;
	u32 event_inj_len;		/* of a software event's instruction */

	/* The last exit. */
	u32 exit_reason;
	u32 exit_intr_info;
	u32 exit_error_code;		/* of an exception exit */
	bool vmfail;
	u32 vm_insn_error;
	u64 exit_qual;
	u32 exit_insn_len;
	u32 exit_insn_info;
	u64 exit_gpa;
	u32 exit_idt_info;		/* IDT_VECTORING_INFO_FIELD */

	/* Host values last written to the VMCS. */
	unsigned long host_cr3, host_cr4, host_fs_base;
};

/* What setup_vmcs_config() found this CPU to support; fixed at load. */
struct vmcs_config {
	u32 revision_id;
	u32 size;
	u32 pin;
	u32 proc;
	u32 proc2;
	u32 exit;
	u32 entry;
	u64 ept_cap;			/* MSR_IA32_VMX_EPT_VPID_CAP */
	u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	u32 preempt_ticks;		/* 0: no VMX-preemption timer */
	bool has_vpid;
	bool has_pat;
	bool has_ins_outs_info;
};

extern struct vmcs_config vmcs_conf;

static inline struct vmx_vcpu *to_vmx(struct ckvm_vcpu *vcpu)
{
	return vcpu->arch.vendor;
}

/* Shadow paging runs real mode in virtual-8086 mode (no unrestricted guest). */
static inline bool vmx_vm86(struct vmx_vcpu *vmx)
{
	return !ckvm_tdp && !(vmx->cr0 & X86_CR0_PE);
}

static __always_inline unsigned long vmcs_read(unsigned long field)
{
	unsigned long value;

	asm volatile("vmread %1, %0" : "=rm"(value) : "r"(field) : "cc");
	return value;
}

/* exits.c */
int ckvm_vmx_handle_exit(struct ckvm_vcpu *vcpu);


/* vmenter.S: one VMLAUNCH/VMRESUME with the guest GPRs in @regs. */
int ckvm_vmx_vmenter(unsigned long *regs, bool launched,
		     unsigned long host_rsp_field);
/* vmenter.S: where a VM exit lands (HOST_RIP); not to be called. */
void ckvm_vmx_vmexit(void);
/* vmenter.S: run the host NMI handler for an NMI that caused an exit. */
void ckvm_vmx_do_nmi_irqoff(void);

#endif
