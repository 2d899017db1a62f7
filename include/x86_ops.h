/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The vendor operation table: what x86/ asks of svm/ or vmx/. One table is
 * chosen at module load; every operation without "optional" below must be
 * set, and ckvm_x86_register() refuses a table with a hole.
 *
 * Exit handler contract, for handle_exit and for every handler in a
 * backend's exit table: return 1 to re-enter the guest, 0 after filling
 * vcpu->run for userspace, or a negative errno for KVM_RUN to return.
 */
#ifndef CKVM_X86_OPS_H
#define CKVM_X86_OPS_H

#include "ckvm.h"

struct desc_ptr;

struct ckvm_x86_ops {
	const char *name;

	/* Module load and unload. hardware_setup logs why it refuses. */
	int (*hardware_setup)(void);
	void (*hardware_unsetup)(void);
	/* Per host CPU, with preemption off; enable must be idempotent. */
	int (*hardware_enable)(void);
	void (*hardware_disable)(void);

	int (*vm_init)(struct ckvm *vm);
	void (*vm_destroy)(struct ckvm *vm);

	int (*vcpu_create)(struct ckvm_vcpu *vcpu);
	void (*vcpu_free)(struct ckvm_vcpu *vcpu);
	/* Architectural reset of the state the backend holds. */
	void (*vcpu_reset)(struct ckvm_vcpu *vcpu);
	void (*vcpu_load)(struct ckvm_vcpu *vcpu, int cpu);
	void (*vcpu_put)(struct ckvm_vcpu *vcpu);

	/* Guest state the backend holds in its control block. */
	void (*get_segment)(struct ckvm_vcpu *vcpu, struct kvm_segment *var,
			    int seg);
	void (*set_segment)(struct ckvm_vcpu *vcpu,
			    const struct kvm_segment *var, int seg);
	void (*get_gdt)(struct ckvm_vcpu *vcpu, struct kvm_dtable *dt);
	void (*set_gdt)(struct ckvm_vcpu *vcpu, const struct kvm_dtable *dt);
	void (*get_idt)(struct ckvm_vcpu *vcpu, struct kvm_dtable *dt);
	void (*set_idt)(struct ckvm_vcpu *vcpu, const struct kvm_dtable *dt);
	/* cr is 0, 2, 3 or 4. */
	u64 (*get_cr)(struct ckvm_vcpu *vcpu, int cr);
	void (*set_cr)(struct ckvm_vcpu *vcpu, int cr, u64 val);
	u64 (*get_efer)(struct ckvm_vcpu *vcpu);
	void (*set_efer)(struct ckvm_vcpu *vcpu, u64 efer);
	unsigned long (*get_rflags)(struct ckvm_vcpu *vcpu);
	void (*set_rflags)(struct ckvm_vcpu *vcpu, unsigned long rflags);
	/*
	 * MSRs kept in the control block: 0, 1 if the value is refused,
	 * CKVM_MSR_UNKNOWN if @index is not one of them.
	 */
	int (*get_msr)(struct ckvm_vcpu *vcpu, u32 index, u64 *data);
	int (*set_msr)(struct ckvm_vcpu *vcpu, u32 index, u64 data);

	/* The guest's TSC is the host's plus @offset (RDTSC is not trapped). */
	void (*set_tsc_offset)(struct ckvm_vcpu *vcpu, u64 offset);

	/* Make the next entry deliver this exception to the guest. */
	void (*queue_exception)(struct ckvm_vcpu *vcpu, u8 vector,
				bool has_error, u32 error_code);
	/*
	 * Move RIP past the instruction that caused the current exit and
	 * finish it as the CPU would have: ckvm_complete_instruction().
	 */
	void (*skip_instruction)(struct ckvm_vcpu *vcpu);
	/*
	 * Instruction-boundary state (see Documentation/interrupts.rst).
	 * clear_interrupt_shadow: end the STI / MOV SS shadow.
	 * queue_debug_trap: the next entry delivers a trap-class #DB with
	 * @dr6 (DR_STEP, DR_TRAP0-3) added to the guest's DR6, ahead of any
	 * external interrupt.
	 * event_queued: the next entry delivers an event (one in the
	 * injection slot or a pending debug trap), so a halted vCPU must
	 * run to deliver it.
	 */
	void (*clear_interrupt_shadow)(struct ckvm_vcpu *vcpu);
	void (*queue_debug_trap)(struct ckvm_vcpu *vcpu, unsigned long dr6);
	bool (*event_queued)(struct ckvm_vcpu *vcpu);
	/*
	 * Interrupt delivery, used with an in-kernel irqchip.
	 * interrupt_allowed: the guest can take an external interrupt on the
	 * next entry (RFLAGS.IF, no STI/MOV SS shadow, no event already
	 * queued, no pending debug trap). inject_irq: deliver @vector on the
	 * next entry.
	 * enable_irq_window: exit as soon as the guest can take one; the exit
	 * handler turns the window off again.
	 */
	bool (*interrupt_allowed)(struct ckvm_vcpu *vcpu);
	void (*inject_irq)(struct ckvm_vcpu *vcpu, u8 vector);
	void (*enable_irq_window)(struct ckvm_vcpu *vcpu);
	/*
	 * The MMU's root for the next entries: the nested page table (NPT,
	 * EPT) or, with shadow paging, the CR3 the CPU runs the guest on.
	 */
	void (*load_mmu_pgd)(struct ckvm_vcpu *vcpu, hpa_t root);
	/*
	 * NMIs (x86/events.c). nmi_allowed: the next entry can deliver an
	 * NMI (not blocked by a previous NMI, by an STI or MOV SS shadow,
	 * nothing in the injection slot). inject_nmi: put an NMI in the
	 * slot; delivering it blocks further NMIs until the guest's IRET.
	 * enable_nmi_window: exit as soon as an NMI could be delivered.
	 * get_nmi_mask/set_nmi_mask: the guest's NMI blocking.
	 */
	bool (*nmi_allowed)(struct ckvm_vcpu *vcpu);
	void (*inject_nmi)(struct ckvm_vcpu *vcpu);
	void (*enable_nmi_window)(struct ckvm_vcpu *vcpu);
	bool (*get_nmi_mask)(struct ckvm_vcpu *vcpu);
	void (*set_nmi_mask)(struct ckvm_vcpu *vcpu, bool masked);
	/*
	 * The injection slot and the interrupt shadow, for
	 * KVM_GET/SET_VCPU_EVENTS. get_event describes what the next entry
	 * delivers (a debug trap a backend keeps apart is first moved into
	 * the slot, DR6 updated); cancel_event empties the slot. The shadow
	 * is a mask of KVM_X86_SHADOW_INT_MOV_SS and _STI.
	 */
	void (*get_event)(struct ckvm_vcpu *vcpu, struct ckvm_event *ev);
	void (*cancel_event)(struct ckvm_vcpu *vcpu);
	u32 (*get_interrupt_shadow)(struct ckvm_vcpu *vcpu);
	void (*set_interrupt_shadow)(struct ckvm_vcpu *vcpu, u32 mask);
	/*
	 * Debug registers (x86/debugreg.c): the guest's DR6 and DR7, which
	 * the backend keeps (in the control block, or switched itself);
	 * set_dr_intercept: make MOV to/from DR0-7 exit, or run natively.
	 */
	u64 (*get_dr6)(struct ckvm_vcpu *vcpu);
	void (*set_dr6)(struct ckvm_vcpu *vcpu, u64 val);
	u64 (*get_dr7)(struct ckvm_vcpu *vcpu);
	void (*set_dr7)(struct ckvm_vcpu *vcpu, u64 val);
	void (*set_dr_intercept)(struct ckvm_vcpu *vcpu, bool on);
	/*
	 * KVM_SET_GUEST_DEBUG changed vcpu->arch.guest_debug: while it has
	 * KVM_GUESTDBG_SINGLESTEP or _USE_HW_BP hand every #DB exit (#DB
	 * always exits) to ckvm_guest_debug_exit() with the #DB's DR6
	 * status bits, else reflect it into the guest; intercept #BP while
	 * it has _USE_SW_BP.
	 */
	void (*update_guest_debug)(struct ckvm_vcpu *vcpu);
	/*
	 * Optional: the PDPTE registers of PAE paging where the CPU keeps
	 * them apart from memory (VMX with EPT). Without them x86/ reads the
	 * PDPTEs from guest memory and drops the ones userspace sets.
	 */
	void (*get_pdptrs)(struct ckvm_vcpu *vcpu, u64 pdptrs[4]);
	void (*set_pdptrs)(struct ckvm_vcpu *vcpu, const u64 pdptrs[4]);
	/*
	 * The VM's MSR filter changed (x86/msr_filter.c): of the MSRs the
	 * backend lets the guest access without an exit, intercept those
	 * ckvm_msr_allowed() now denies and pass through again those it
	 * allows. Called before an entry, may sleep.
	 */
	void (*msr_filter_changed)(struct ckvm_vcpu *vcpu);
	/* Flush this vCPU's guest TLB entries before its next entry. */
	void (*flush_tlb)(struct ckvm_vcpu *vcpu);

	/*
	 * Optional, the decode assists: what the CPU said about the
	 * instruction of the current exit. get_insn_bytes copies the bytes
	 * it fetched at CS:RIP to @buf (15 bytes of room) and returns how
	 * many, 0 if none (SVM DecodeAssists: #NPF, #PF intercepts).
	 * get_insn_len returns its length, 0 where the CPU does not say
	 * (SVM next_rip, VMX VM-exit instruction length, for the exits whose
	 * definition includes it).
	 */
	int (*get_insn_bytes)(struct ckvm_vcpu *vcpu, u8 *buf);
	int (*get_insn_len)(struct ckvm_vcpu *vcpu);
	/*
	 * Optional: the current exit as KVM reports it in an emulation
	 * failure (reason, info1, info2, interrupt info, error code).
	 */
	void (*get_exit_info)(struct ckvm_vcpu *vcpu, u64 info[5]);

	/* Enter the guest; interrupts are off. Returns after the exit. */
	void (*run)(struct ckvm_vcpu *vcpu);
	/* Handle the exit that run() came back with; contract above. */
	int (*handle_exit)(struct ckvm_vcpu *vcpu);

	/* How this vendor's nested page tables spell their entries. */
	const struct ckvm_tdp_format *tdp;
	/*
	 * The IA32_MCG_CAP bits this vendor's CPUs define: KVM_X86_SETUP_MCE
	 * keeps only these (AMD: 8:0, APM vol. 2 9.3.1; Intel: all of the
	 * supported ones). 0 means no mask.
	 */
	u64 mcg_cap_mask;
};

extern const struct ckvm_x86_ops *ckvm_x86_ops;

int ckvm_x86_register(const struct ckvm_x86_ops *ops);

/* The backends, each in its own directory. */
extern const struct ckvm_x86_ops ckvm_svm_ops;
extern const struct ckvm_x86_ops ckvm_vmx_ops;

#endif
