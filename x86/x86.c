// SPDX-License-Identifier: GPL-2.0
/*
 * Vendor-neutral x86: module-wide hardware enable, vCPU reset, the run loop,
 * register ioctls and the exits every backend shares (the MSRs are in
 * msr.c). The backend behind ckvm_x86_ops holds the guest state that lives
 * in its control block; this file never sees a VMCB or a VMCS.
 */
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/module.h>
#include <linux/reboot.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/debugreg.h>
#include <asm/fpu/xcr.h>
#include <asm/hw_breakpoint.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>
#include <asm/reboot.h>
#include <asm/trapnr.h>

#include "ckvm.h"
#include "x86_ops.h"
#include "cpuid.h"
#include "irqchip.h"
#include "x86_state.h"
#include "trace.h"

const struct ckvm_x86_ops *ckvm_x86_ops;
static enum cpuhp_state ckvm_cpuhp_state;
/*
 * Set before the reboot notifier turns virtualization off. The IPI that
 * turns it off is taken only with interrupts on, i.e. outside the guest
 * entry window, and the entry window checks this flag with interrupts off:
 * no VMRUN can follow the disable.
 */
static bool ckvm_rebooting;

/*
 * tdp=0 forces shadow paging where the CPU has NPT/EPT; a backend clears
 * it at setup when the CPU has none.
 */
bool ckvm_tdp = true;
module_param_named(tdp, ckvm_tdp, bool, 0444);
MODULE_PARM_DESC(tdp, "Use nested paging (NPT/EPT) where the CPU has it (default 1); 0: shadow paging");
static u64 host_xcr0;

/* ---- hardware enable on every CPU ---- */

static int ckvm_cpu_online(unsigned int cpu)
{
	return ckvm_x86_ops->hardware_enable();
}

static int ckvm_cpu_offline(unsigned int cpu)
{
	ckvm_x86_ops->hardware_disable();
	return 0;
}

static void ckvm_disable_on_this_cpu(void *unused)
{
	ckvm_x86_ops->hardware_disable();
}

/* Reboot and kexec must not find virtualization still on. */
static int ckvm_reboot(struct notifier_block *nb, unsigned long code, void *v)
{
	WRITE_ONCE(ckvm_rebooting, true);
	on_each_cpu(ckvm_disable_on_this_cpu, NULL, 1);
	return NOTIFY_OK;
}

static struct notifier_block ckvm_reboot_nb = {
	.notifier_call = ckvm_reboot,
};

/* Crash and emergency reboot: called on each CPU, possibly from NMI. */
static void ckvm_emergency_disable(void)
{
	ckvm_x86_ops->hardware_disable();
}

int ckvm_x86_register(const struct ckvm_x86_ops *ops)
{
	/* The mandatory operations: a hole would be a NULL call later. */
	if (!ops->hardware_setup || !ops->hardware_unsetup ||
	    !ops->hardware_enable || !ops->hardware_disable ||
	    !ops->vm_init || !ops->vm_destroy || !ops->vcpu_create ||
	    !ops->vcpu_free || !ops->vcpu_reset || !ops->vcpu_load ||
	    !ops->vcpu_put || !ops->get_segment || !ops->set_segment ||
	    !ops->get_gdt || !ops->set_gdt || !ops->get_idt || !ops->set_idt ||
	    !ops->get_cr || !ops->set_cr || !ops->get_efer || !ops->set_efer ||
	    !ops->get_rflags || !ops->set_rflags || !ops->get_msr ||
	    !ops->set_msr || !ops->set_tsc_offset || !ops->queue_exception ||
	    !ops->interrupt_allowed || !ops->inject_irq ||
	    !ops->enable_irq_window ||
	    !ops->skip_instruction || !ops->clear_interrupt_shadow ||
	    !ops->queue_debug_trap || !ops->event_queued ||
	    !ops->load_mmu_pgd ||
	    !ops->nmi_allowed || !ops->inject_nmi || !ops->enable_nmi_window ||
	    !ops->get_nmi_mask || !ops->set_nmi_mask || !ops->get_event ||
	    !ops->cancel_event || !ops->get_interrupt_shadow ||
	    !ops->set_interrupt_shadow || !ops->get_dr6 || !ops->set_dr6 ||
	    !ops->get_dr7 || !ops->set_dr7 || !ops->set_dr_intercept ||
	    !ops->update_guest_debug ||
	    !ops->msr_filter_changed ||
	    !ops->flush_tlb || !ops->run ||
	    !ops->handle_exit || !ops->tdp) {
		pr_err("ckvm: backend %s lacks a mandatory operation\n",
		       ops->name);
		return -EINVAL;
	}
	ckvm_x86_ops = ops;
	return 0;
}

static const struct ckvm_x86_ops *ckvm_pick_backend(void)
{
	if (boot_cpu_has(X86_FEATURE_SVM))
		return &ckvm_svm_ops;
	if (boot_cpu_has(X86_FEATURE_VMX))
		return &ckvm_vmx_ops;
	pr_err("ckvm: this CPU has neither AMD SVM nor Intel VMX: no hardware virtualization to use\n");
	return NULL;
}

int ckvm_arch_init(void)
{
	const struct ckvm_x86_ops *ops = ckvm_pick_backend();
	int r;

	if (!ops)
		return -ENODEV;
	if (!boot_cpu_has(X86_FEATURE_XSAVE) || !boot_cpu_has(X86_FEATURE_NX)) {
		pr_err("ckvm: the host CPU lacks XSAVE or NX, which ckvm needs\n");
		return -ENODEV;
	}
	r = ckvm_x86_register(ops);
	if (r)
		return r;
	host_xcr0 = xgetbv(XCR_XFEATURE_ENABLED_MASK);
	r = ckvm_kvmclock_init();
	if (r)
		return r;
	r = ckvm_mmu_module_init();
	if (r)
		return r;
	r = ops->hardware_setup();
	if (r)
		goto err_mmu;
	/* After the backend: what the guest may see depends on ckvm_tdp. */
	r = ckvm_cpuid_init();
	if (r)
		goto err_unsetup;

	r = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "ckvm:online",
			      ckvm_cpu_online, ckvm_cpu_offline);
	if (r < 0)
		goto err_unsetup;
	ckvm_cpuhp_state = r;
	register_reboot_notifier(&ckvm_reboot_nb);
	cpu_emergency_register_virt_callback(ckvm_emergency_disable);
	pr_info("ckvm: %s backend enabled on %u CPUs, %s paging\n", ops->name,
		num_online_cpus(), ckvm_tdp ? "nested" : "shadow");
	return 0;

err_unsetup:
	ops->hardware_unsetup();
err_mmu:
	ckvm_mmu_module_exit();
	return r;
}

void ckvm_arch_exit(void)
{
	cpu_emergency_unregister_virt_callback(ckvm_emergency_disable);
	unregister_reboot_notifier(&ckvm_reboot_nb);
	cpuhp_remove_state(ckvm_cpuhp_state);
	ckvm_x86_ops->hardware_unsetup();
	ckvm_mmu_module_exit();
}

int ckvm_arch_check_extension(long ext)
{
	switch (ext) {
	case KVM_CAP_IRQ_INJECT_STATUS:
	case KVM_CAP_EXT_CPUID:
	case KVM_CAP_MP_STATE:
	case KVM_CAP_GET_MSR_FEATURES:
	case KVM_CAP_MSR_PLATFORM_INFO:
	case KVM_CAP_SET_BOOT_CPU_ID:
	case KVM_CAP_SET_TSS_ADDR:
	case KVM_CAP_SET_IDENTITY_MAP_ADDR:
	case KVM_CAP_MMU_SHADOW_CACHE_CONTROL:
	case KVM_CAP_EXIT_ON_EMULATION_FAILURE:
	/*
	 * Every KVM_EXIT_INTERNAL_ERROR fills internal.ndata and data[]
	 * (unexpected exit reasons, emulation failures: x86/mmio.c). QEMU 10
	 * requires it.
	 */
	case KVM_CAP_INTERNAL_ERROR_DATA:
	/*
	 * The in-kernel irqchip (local APICs, IOAPIC, PICs), the PIT and the
	 * split irqchip. The IOAPIC takes a line's level as it is, whatever
	 * the polarity bit of its entry says (as KVM).
	 */
	case KVM_CAP_IRQCHIP:
	case KVM_CAP_IOAPIC_POLARITY_IGNORED:
	case KVM_CAP_PIT:
	case KVM_CAP_PIT2:
	case KVM_CAP_PIT_STATE2:
	case KVM_CAP_REINJECT_CONTROL:
	case KVM_CAP_SPLIT_IRQCHIP:
	/* KVM_SET_VAPIC_ADDR, KVM_TPR_ACCESS_REPORTING (x86/lapic.c). */
	case KVM_CAP_VAPIC:
	/* KVM_SET_GUEST_DEBUG (x86/debugreg.c). */
	case KVM_CAP_SET_GUEST_DEBUG:
	/*
	 * KVM_GUESTDBG_SINGLESTEP over an instruction ckvm completes itself
	 * (a skipped CPUID, RDMSR, WRMSR or HLT, port I/O and MMIO, in the
	 * kernel or through userspace, whatever the emulator runs) ends in
	 * KVM_EXIT_DEBUG right after it, not one instruction late
	 * (ckvm_complete_instruction(); guest_debug_test). QEMU 10 requires it.
	 */
	case KVM_CAP_X86_ROBUST_SINGLESTEP:
		return 1;
	case KVM_CAP_SET_GUEST_DEBUG2:
		return CKVM_GUESTDBG_VALID;
	default:
		return ckvm_state_check_extension(ext);
	}
}

/* ---- binary stats: x86's counters (stats.c makes the file) ---- */

static const struct ckvm_stats_desc vm_stats_desc[] = {
	CKVM_STATS_DESC(struct ckvm_vm_arch_stat, pages_4k, INSTANT),
	CKVM_STATS_DESC(struct ckvm_vm_arch_stat, pages_2m, INSTANT),
	CKVM_STATS_DESC(struct ckvm_vm_arch_stat, mmu_shadow_zapped, CUMULATIVE),
	CKVM_STATS_DESC(struct ckvm_vm_arch_stat, mmu_pte_write, CUMULATIVE),
	CKVM_STATS_DESC(struct ckvm_vm_arch_stat, mmu_pde_zapped, CUMULATIVE),
	CKVM_STATS_DESC(struct ckvm_vm_arch_stat, mmu_flooded, CUMULATIVE),
	CKVM_STATS_DESC(struct ckvm_vm_arch_stat, mmu_recycled, CUMULATIVE),
	CKVM_STATS_DESC(struct ckvm_vm_arch_stat, mmu_cache_miss, CUMULATIVE),
	CKVM_STATS_DESC(struct ckvm_vm_arch_stat, mmu_unsync, INSTANT),
};

static const struct ckvm_stats_desc vcpu_stats_desc[] = {
	CKVM_STATS_DESC(struct ckvm_vcpu_arch_stat, exits, CUMULATIVE),
	CKVM_STATS_DESC(struct ckvm_vcpu_arch_stat, io_exits, CUMULATIVE),
	CKVM_STATS_DESC(struct ckvm_vcpu_arch_stat, halt_exits, CUMULATIVE),
	CKVM_STATS_DESC(struct ckvm_vcpu_arch_stat, irq_exits, CUMULATIVE),
	CKVM_STATS_DESC(struct ckvm_vcpu_arch_stat, signal_exits, CUMULATIVE),
	CKVM_STATS_DESC(struct ckvm_vcpu_arch_stat, cpuid_exits, CUMULATIVE),
	CKVM_STATS_DESC(struct ckvm_vcpu_arch_stat, msr_exits, CUMULATIVE),
	CKVM_STATS_DESC(struct ckvm_vcpu_arch_stat, pf_taken, CUMULATIVE),
	CKVM_STATS_DESC(struct ckvm_vcpu_arch_stat, pf_fixed, CUMULATIVE),
	CKVM_STATS_DESC(struct ckvm_vcpu_arch_stat, tlb_flush, CUMULATIVE),
	CKVM_STATS_DESC(struct ckvm_vcpu_arch_stat, pf_guest, CUMULATIVE),
	CKVM_STATS_DESC(struct ckvm_vcpu_arch_stat, pf_emulate, CUMULATIVE),
	CKVM_STATS_DESC(struct ckvm_vcpu_arch_stat, invlpg, CUMULATIVE),
	CKVM_STATS_DESC(struct ckvm_vcpu_arch_stat, mmio_exits, CUMULATIVE),
	CKVM_STATS_DESC(struct ckvm_vcpu_arch_stat, insn_emulation, CUMULATIVE),
	CKVM_STATS_DESC(struct ckvm_vcpu_arch_stat, insn_emulation_fail,
			CUMULATIVE),
};

/* The stats file's data block is the struct: every member described. */
static_assert(ARRAY_SIZE(vm_stats_desc) * sizeof(u64) ==
	      sizeof(struct ckvm_vm_arch_stat));
static_assert(ARRAY_SIZE(vcpu_stats_desc) * sizeof(u64) ==
	      sizeof(struct ckvm_vcpu_arch_stat));

const struct ckvm_stats_table ckvm_arch_vm_stats = {
	.desc = vm_stats_desc,
	.n = ARRAY_SIZE(vm_stats_desc),
};

const struct ckvm_stats_table ckvm_arch_vcpu_stats = {
	.desc = vcpu_stats_desc,
	.n = ARRAY_SIZE(vcpu_stats_desc),
};

/* ---- VM and vCPU lifetime ---- */

int ckvm_arch_vm_init(struct ckvm *vm)
{
	int r;

	vm->arch.guest_reads_platform_info = true;	/* KVM's default */
	vm->arch.tss_addr = CKVM_DEFAULT_TSS_ADDR;
	ckvm_kvmclock_vm_init(vm);
	r = ckvm_mmu_vm_init(vm, ckvm_tdp ? ckvm_x86_ops->tdp : NULL);
	if (r)
		return r;
	r = ckvm_x86_ops->vm_init(vm);
	if (r)
		ckvm_mmu_vm_destroy(vm);
	return r;
}

/**
 * ckvm_arch_vm_pre_destroy() - first step of a VM's destruction
 * @vm: the VM, whose last reference is gone; its vCPUs still exist.
 *
 * Stops what can reach the vCPUs from outside before kvm_main.c frees
 * them: the PIT's timer (it kicks them) and the MMU notifier (a zap makes
 * requests of every vCPU), as KVM's kvm_destroy_vm() unregisters the
 * notifier before it frees the vCPUs. ckvm_arch_vm_destroy() follows.
 */
void ckvm_arch_vm_pre_destroy(struct ckvm *vm)
{
	ckvm_pit_free(vm);
	ckvm_mmu_vm_release(vm);
}

void ckvm_arch_vm_destroy(struct ckvm *vm)
{
	ckvm_irqchip_free(vm);
	ckvm_msr_filter_free(vm);
	ckvm_x86_ops->vm_destroy(vm);
	ckvm_mmu_vm_destroy(vm);
}

int ckvm_arch_memslot_create(struct ckvm *vm, struct ckvm_memslot *old,
			     struct ckvm_memslot *new)
{
	return ckvm_mmu_memslot_create(vm, old, new);
}

void ckvm_arch_memslot_free(struct ckvm_memslot *slot,
			    const struct ckvm_memslot *heir)
{
	ckvm_mmu_memslot_free(slot, heir);
}

void ckvm_arch_memslot_removed(struct ckvm *vm, struct ckvm_memslot *slot)
{
	ckvm_mmu_memslot_remove(vm, slot);
}

/* Logging starts: drop the mappings so that every write faults. */
void ckvm_arch_memslot_log_dirty(struct ckvm *vm, struct ckvm_memslot *slot)
{
	ckvm_mmu_memslot_zap(vm, slot);
}

void ckvm_arch_memslots_changed(struct ckvm *vm)
{
	ckvm_mmu_memslots_changed(vm);
}

void ckvm_arch_get_dirty_log(struct ckvm *vm, struct ckvm_memslot *slot,
			     unsigned long *out)
{
	ckvm_mmu_get_dirty_log(vm, slot, out);
}

/**
 * ckvm_set_tsc_offset() - set the guest's TSC to the host's plus @offset
 * @vcpu: the vCPU, under vcpu->mutex (or being created).
 * @offset: added to the host TSC, in ticks (wraps as the TSC does).
 *
 * The pvclock page, which holds a guest TSC value, is rewritten before
 * the next entry.
 */
void ckvm_set_tsc_offset(struct ckvm_vcpu *vcpu, u64 offset)
{
	vcpu->arch.tsc_offset = offset;
	ckvm_x86_ops->set_tsc_offset(vcpu, offset);
	ckvm_make_request(vcpu, CKVM_REQ_CLOCK_UPDATE);
}

/* The architectural state after RESET (KVM's definition, SDM 9.1.1). */
static void ckvm_vcpu_reset(struct ckvm_vcpu *vcpu)
{
	struct ckvm_vcpu_arch *arch = &vcpu->arch;

	memset(arch->regs, 0, sizeof(arch->regs));
	arch->regs[VCPU_REGS_RIP] = 0xfff0;
	/* EDX holds the processor signature: CPUID.1.EAX if userspace set it. */
	arch->regs[VCPU_REGS_RDX] = ckvm_cpuid_signature(vcpu);
	arch->xcr0 = XFEATURE_MASK_FP;
	arch->ucode_rev = CKVM_UCODE_REV;	/* a backend may override it */
	arch->complete_userspace_io = NULL;
	ckvm_x86_ops->vcpu_reset(vcpu);
	ckvm_debugreg_reset(vcpu);
	ckvm_events_reset(vcpu);
	ckvm_kvmclock_vcpu_reset(vcpu);
	/* The backend forgot the MMU root: the next entry loads it again. */
	ckvm_mmu_unload(vcpu);
	ckvm_mmu_reset_cpu_role(vcpu);
	/* The TSC keeps counting through a reset: the offset stays. */
	ckvm_x86_ops->set_tsc_offset(vcpu, arch->tsc_offset);
}

int ckvm_arch_vcpu_create(struct ckvm_vcpu *vcpu)
{
	int r;

	r = ckvm_mmu_vcpu_init(vcpu);
	if (r)
		goto err_mmu;
	r = -ENOMEM;
	if (!fpu_alloc_guest_fpstate(&vcpu->arch.guest_fpu))
		goto err_mmu;
	r = ckvm_x86_ops->vcpu_create(vcpu);
	if (r) {
		fpu_free_guest_fpstate(&vcpu->arch.guest_fpu);
		goto err_mmu;
	}
	vcpu->arch.apic_base = APIC_DEFAULT_PHYS_BASE | MSR_IA32_APICBASE_ENABLE;
	/* Under vm->lock, like KVM_SET_BOOT_CPU_ID. */
	if (vcpu->vcpu_id == vcpu->vm->arch.bsp_vcpu_id)
		vcpu->arch.apic_base |= MSR_IA32_APICBASE_BSP;
	/*
	 * As KVM: with an in-kernel irqchip only the BSP runs at once; the
	 * APs wait for the INIT and SIPI the BSP sends them.
	 */
	vcpu->arch.mp_state = vcpu->vm->arch.irqchip &&
			      !(vcpu->arch.apic_base & MSR_IA32_APICBASE_BSP) ?
			      KVM_MP_STATE_UNINITIALIZED : KVM_MP_STATE_RUNNABLE;
	vcpu->arch.pending_extint = -1;
	vcpu->arch.pending_ioapic_eoi = -1;
	ckvm_msrs_reset(vcpu);
	ckvm_kvmclock_vcpu_create(vcpu);
	/* A new vCPU's TSC starts at 0. */
	ckvm_set_tsc_offset(vcpu, -rdtsc());
	/* Under vm->lock: KVM_CREATE_IRQCHIP cannot come in between. */
	if (vcpu->vm->arch.irqchip) {
		r = ckvm_lapic_create(vcpu);
		if (r) {
			ckvm_x86_ops->vcpu_free(vcpu);
			fpu_free_guest_fpstate(&vcpu->arch.guest_fpu);
			goto err_mmu;
		}
	}
	ckvm_vcpu_reset(vcpu);
	return 0;

err_mmu:
	ckvm_mmu_vcpu_destroy(vcpu);
	return r;
}

void ckvm_arch_vcpu_free(struct ckvm_vcpu *vcpu)
{
	/* First: its timer may still fire and kick the vCPU. */
	ckvm_lapic_free(vcpu);
	ckvm_x86_ops->vcpu_free(vcpu);
	ckvm_mmu_vcpu_destroy(vcpu);
	fpu_free_guest_fpstate(&vcpu->arch.guest_fpu);
	kvfree(vcpu->arch.cpuid_entries);
}

void ckvm_arch_vcpu_load(struct ckvm_vcpu *vcpu, int cpu)
{
	ckvm_x86_ops->vcpu_load(vcpu, cpu);
	WRITE_ONCE(vcpu->cpu, cpu);
	ckvm_kvmclock_vcpu_load(vcpu);
}

void ckvm_arch_vcpu_put(struct ckvm_vcpu *vcpu)
{
	ckvm_x86_ops->vcpu_put(vcpu);
}

/* ---- exits and injections shared by the backends ---- */

void ckvm_inject_gp(struct ckvm_vcpu *vcpu)
{
	trace_ckvm_inj_exception(vcpu->vcpu_id, X86_TRAP_GP, true, 0);
	ckvm_x86_ops->queue_exception(vcpu, X86_TRAP_GP, true, 0);
}

void ckvm_inject_ud(struct ckvm_vcpu *vcpu)
{
	trace_ckvm_inj_exception(vcpu->vcpu_id, X86_TRAP_UD, false, 0);
	ckvm_x86_ops->queue_exception(vcpu, X86_TRAP_UD, false, 0);
}

/**
 * ckvm_complete_instruction() - finish a guest instruction ckvm emulated
 * @vcpu: the vCPU, loaded; RIP already points past the instruction
 *
 * What the CPU does at the end of every instruction it executes itself
 * and an exit would otherwise skip (SDM 6.8.3 and 18.3.1.1, APM 13.1.3.5):
 * the STI or MOV SS interrupt shadow the instruction sat in ends,
 * RFLAGS.RF is cleared, and with RFLAGS.TF set a single-step #DB trap
 * (DR6.BS) is delivered before the next instruction (while
 * KVM_SET_GUEST_DEBUG single-steps, KVM_EXIT_DEBUG instead, at the next
 * entry: ckvm_guest_debug_step_exit()). Called by the
 * backends' skip_instruction and by x86/ when it completes an instruction
 * on a later KVM_RUN (port I/O).
 */
void ckvm_complete_instruction(struct ckvm_vcpu *vcpu)
{
	const struct ckvm_x86_ops *ops = ckvm_x86_ops;
	unsigned long rflags = ops->get_rflags(vcpu);

	ops->clear_interrupt_shadow(vcpu);
	if (rflags & X86_EFLAGS_RF)
		ops->set_rflags(vcpu, rflags & ~X86_EFLAGS_RF);
	if (!(rflags & X86_EFLAGS_TF))
		return;
	/* KVM_GUESTDBG_SINGLESTEP: the step is the debugger's. */
	if (vcpu->arch.guest_debug & KVM_GUESTDBG_SINGLESTEP)
		vcpu->arch.step_exit = true;
	else
		ops->queue_debug_trap(vcpu, DR_STEP);
}

/**
 * ckvm_cpl() - the vCPU's current privilege level
 * @vcpu: the vCPU, loaded.
 *
 * Return: 0 in real mode, 3 in virtual-8086 mode, else SS.DPL (which both
 * backends keep equal to the CPL, as the SDM and APM define it).
 */
int ckvm_cpl(struct ckvm_vcpu *vcpu)
{
	const struct ckvm_x86_ops *ops = ckvm_x86_ops;
	struct kvm_segment ss;

	if (!(ops->get_cr(vcpu, 0) & X86_CR0_PE))
		return 0;
	if (ops->get_rflags(vcpu) & X86_EFLAGS_VM)
		return 3;
	ops->get_segment(vcpu, &ss, CKVM_SEG_SS);
	return ss.dpl;
}

/**
 * ckvm_inject_exception() - deliver a fault found while emulating
 * @vcpu: the vCPU, loaded.
 * @e: the fault: a #PF sets CR2 to @e->address first (SDM 4.7).
 *
 * Real mode pushes no error code, so none is delivered there (as KVM).
 */
void ckvm_inject_exception(struct ckvm_vcpu *vcpu, const struct x86_exception *e)
{
	const struct ckvm_x86_ops *ops = ckvm_x86_ops;
	bool has_error = e->error_code_valid;

	if (e->vector == X86_TRAP_PF)
		ops->set_cr(vcpu, 2, e->address);
	if (!(ops->get_cr(vcpu, 0) & X86_CR0_PE))
		has_error = false;
	trace_ckvm_inj_exception(vcpu->vcpu_id, e->vector, has_error,
				 e->error_code);
	ops->queue_exception(vcpu, e->vector, has_error, e->error_code);
}

/*
 * The exceptions of the contributory class (#DE, #TS, #NP, #SS, #GP) and
 * #PF (SDM 6.15, table 6-5): a #GP raised while one of these is delivered
 * is a double fault; any other event's #GP is delivered as such.
 */
static bool realmode_gp_is_df(u8 vector)
{
	return vector == X86_TRAP_DE ||
	       (vector >= X86_TRAP_TS && vector <= X86_TRAP_PF);
}

/*
 * One delivery through the vector table. Returns 1 when the vector's
 * 4-byte entry does not lie within IDTR.limit (the CPU's #GP of SDM
 * 20.1.4 and INT n's "real-address mode" pseudo-code), 0 when it was
 * delivered, -EFAULT when the table or the stack is not guest memory.
 */
static int realmode_deliver(struct ckvm_vcpu *vcpu, u8 vector)
{
	const struct ckvm_x86_ops *ops = ckvm_x86_ops;
	unsigned long *regs = vcpu->arch.regs;
	unsigned long rflags = ops->get_rflags(vcpu);
	struct kvm_segment cs, ss;
	struct kvm_dtable idt;
	u16 ivt[2], frame[3];
	u16 sp = regs[VCPU_REGS_RSP] - 6;

	ops->get_idt(vcpu, &idt);
	if ((u32)vector * 4 + 3 > idt.limit)
		return 1;
	ops->get_segment(vcpu, &cs, CKVM_SEG_CS);
	ops->get_segment(vcpu, &ss, CKVM_SEG_SS);
	if (ckvm_read_guest(vcpu->vm, idt.base + vector * 4, ivt, sizeof(ivt)))
		return -EFAULT;
	frame[0] = regs[VCPU_REGS_RIP];
	frame[1] = cs.selector;
	frame[2] = rflags;
	if (ckvm_write_guest(vcpu->vm, ss.base + sp, frame, sizeof(frame)))
		return -EFAULT;
	regs[VCPU_REGS_RSP] = (regs[VCPU_REGS_RSP] & ~0xffffUL) | sp;
	ops->set_rflags(vcpu, rflags & ~(X86_EFLAGS_IF | X86_EFLAGS_TF |
					 X86_EFLAGS_AC));
	cs.selector = ivt[1];
	cs.base = (u64)ivt[1] << 4;
	ops->set_segment(vcpu, &cs, CKVM_SEG_CS);
	regs[VCPU_REGS_RIP] = ivt[0];
	return 0;
}

/**
 * ckvm_realmode_interrupt() - deliver an interrupt or exception in real mode
 * @vcpu: the vCPU, loaded, in real mode; caller holds vm->srcu.
 * @vector: the vector.
 *
 * As the CPU does (SDM 20.1.4): push FLAGS, CS and IP on the 16-bit
 * stack, clear IF, TF and AC, and jump through the interrupt vector table
 * at IDTR.base. For backends that cannot inject in real mode (VMX running
 * it in virtual-8086 mode). No error code exists in real mode.
 *
 * An entry beyond IDTR.limit raises #GP, delivered the same way; a #GP
 * while delivering a contributory exception or #PF, or while delivering
 * #GP, is a double fault, and one while delivering #DF a triple fault
 * (SDM 6.15, table 6-5): the vCPU shuts down before it next enters
 * (KVM_EXIT_SHUTDOWN), as a real-mode guest with an IDT limit of 0 does
 * at its first exception. An external interrupt whose vector is 8 or 13
 * is treated as that exception: if its entry is beyond the limit, so are
 * those of #GP and #DF, and the end is the same shutdown.
 *
 * Return: 0 (delivered, or a triple fault made pending), or -EFAULT if
 * the table or the stack is not in guest memory.
 */
int ckvm_realmode_interrupt(struct ckvm_vcpu *vcpu, u8 vector)
{
	int r;

	while ((r = realmode_deliver(vcpu, vector)) > 0) {
		if (vector == X86_TRAP_DF) {
			vcpu->arch.triple_fault_pending = true;
			return 0;
		}
		vector = realmode_gp_is_df(vector) ? X86_TRAP_DF : X86_TRAP_GP;
	}
	return r;
}

/* Exit handlers both backends share; contract in x86_ops.h. */

/* Nothing to do (an interrupt or NMI the host has taken): re-enter. */
int ckvm_exit_reenter(struct ckvm_vcpu *vcpu)
{
	return 1;
}

/* The host took its interrupt on the way out; count it and re-enter. */
int ckvm_exit_external_interrupt(struct ckvm_vcpu *vcpu)
{
	vcpu->stat.arch.irq_exits++;
	return 1;
}

/* An instruction the virtual CPU does not have. */
int ckvm_exit_inject_ud(struct ckvm_vcpu *vcpu)
{
	ckvm_inject_ud(vcpu);
	return 1;
}

int ckvm_exit_inject_gp(struct ckvm_vcpu *vcpu)
{
	ckvm_inject_gp(vcpu);
	return 1;
}

/* INVD would throw away dirty host cache lines: do nothing instead. */
int ckvm_emulate_invd(struct ckvm_vcpu *vcpu)
{
	ckvm_x86_ops->skip_instruction(vcpu);
	return 1;
}

/*
 * Without an irqchip userspace owns the interrupts, so a halt is its to
 * handle. With one, the vCPU sleeps in the kernel until an interrupt it
 * can take arrives (the run loop's HALTED state).
 */
int ckvm_emulate_halt(struct ckvm_vcpu *vcpu)
{
	ckvm_x86_ops->skip_instruction(vcpu);
	return ckvm_vcpu_halt(vcpu);
}

/**
 * ckvm_vcpu_halt() - the vCPU executed HLT (RIP is already past it)
 * @vcpu: the vCPU, loaded.
 *
 * Under KVM_GUESTDBG_SINGLESTEP the step over the HLT is reported when
 * the halt ends (the next entry: ckvm_guest_debug_step_exit()), after
 * KVM_EXIT_HLT or the wake-up; KVM instead loses it without an
 * in-kernel irqchip (kvm_emulate_halt()'s TODO).
 *
 * Return: as an exit handler: 1 (halted in the kernel, with an in-kernel
 * irqchip), or 0 with KVM_EXIT_HLT.
 */
int ckvm_vcpu_halt(struct ckvm_vcpu *vcpu)
{
	vcpu->stat.arch.halt_exits++;
	if (vcpu->arch.lapic) {
		vcpu->arch.mp_state = KVM_MP_STATE_HALTED;
		return 1;
	}
	vcpu->run->exit_reason = KVM_EXIT_HLT;
	return 0;
}

int ckvm_exit_shutdown(struct ckvm_vcpu *vcpu)
{
	/* The control block is undefined after a shutdown: start over. */
	ckvm_vcpu_reset(vcpu);
	vcpu->run->exit_reason = KVM_EXIT_SHUTDOWN;
	return 0;
}

int ckvm_exit_fail_entry(struct ckvm_vcpu *vcpu, u64 reason)
{
	vcpu->run->exit_reason = KVM_EXIT_FAIL_ENTRY;
	vcpu->run->fail_entry.hardware_entry_failure_reason = reason;
	vcpu->run->fail_entry.cpu = vcpu->cpu;
	return 0;
}

int ckvm_exit_unexpected(struct ckvm_vcpu *vcpu, u64 exit_code)
{
	struct kvm_run *run = vcpu->run;

	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON;
	run->internal.ndata = 2;
	run->internal.data[0] = exit_code;
	run->internal.data[1] = vcpu->cpu;
	return 0;
}

/**
 * ckvm_xcr0_valid() - may XCR0 hold @xcr0 for this guest?
 * @vcpu: the vCPU, whose CPUID decides the features it has.
 * @xcr0: the value.
 *
 * The rules of XSETBV (SDM vol. 2): features the guest has, x87 always
 * on, AVX needs SSE, the AVX-512 states all or none and with AVX. The
 * same for the guest's XSETBV and for KVM_SET_XCRS, as in KVM.
 *
 * Return: true if @xcr0 is valid.
 */
bool ckvm_xcr0_valid(struct ckvm_vcpu *vcpu, u64 xcr0)
{
	u64 allowed = ckvm_cpuid_guest_xcr0(vcpu);

	return !(xcr0 & ~allowed) && (xcr0 & XFEATURE_MASK_FP) &&
	       !((xcr0 & XFEATURE_MASK_YMM) && !(xcr0 & XFEATURE_MASK_SSE)) &&
	       !((xcr0 & XFEATURE_MASK_AVX512) &&
		 (xcr0 & XFEATURE_MASK_AVX512) != XFEATURE_MASK_AVX512) &&
	       !((xcr0 & XFEATURE_MASK_AVX512) && !(xcr0 & XFEATURE_MASK_YMM));
}

int ckvm_emulate_xsetbv(struct ckvm_vcpu *vcpu)
{
	u32 index = vcpu->arch.regs[VCPU_REGS_RCX];
	u64 xcr0 = (vcpu->arch.regs[VCPU_REGS_RDX] << 32) |
		   (u32)vcpu->arch.regs[VCPU_REGS_RAX];

	if (index != XCR_XFEATURE_ENABLED_MASK || !ckvm_xcr0_valid(vcpu, xcr0)) {
		ckvm_inject_gp(vcpu);
		return 1;
	}
	vcpu->arch.xcr0 = xcr0;
	ckvm_x86_ops->skip_instruction(vcpu);
	return 1;
}

/*
 * MSRs an INIT leaves as they are (SDM 9.1, table 9-1: INIT changes no
 * MSR but EFER, which it clears, as KVM does) and which the backend's
 * reset of its control block would lose.
 */
static const u32 init_kept_msrs[] = {
	MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
	MSR_STAR, MSR_CSTAR, MSR_KERNEL_GS_BASE, MSR_SYSCALL_MASK, MSR_LSTAR,
	MSR_IA32_CR_PAT,
};

/**
 * ckvm_vcpu_init_event() - the processor's response to INIT
 * @vcpu: the vCPU, in its own thread, loaded.
 *
 * SDM 9.1 (table 9-1) and KVM's INIT: the registers, segments, control
 * registers (CR0 but its CD and NW bits), EFER and the event state are as
 * after RESET; the MSRs (but EFER), XCR0, the TSC and the x87/SSE state
 * are kept. The local APIC is the caller's (x86/lapic.c).
 */
void ckvm_vcpu_init_event(struct ckvm_vcpu *vcpu)
{
	const struct ckvm_x86_ops *ops = ckvm_x86_ops;
	u64 kept[ARRAY_SIZE(init_kept_msrs)];
	u64 cr0 = ops->get_cr(vcpu, 0) & (X86_CR0_CD | X86_CR0_NW);
	u64 xcr0 = vcpu->arch.xcr0, ucode = vcpu->arch.ucode_rev;
	int i;

	for (i = 0; i < ARRAY_SIZE(kept); i++)
		if (ops->get_msr(vcpu, init_kept_msrs[i], &kept[i]))
			kept[i] = 0;
	ckvm_vcpu_reset(vcpu);
	for (i = 0; i < ARRAY_SIZE(kept); i++)
		ops->set_msr(vcpu, init_kept_msrs[i], kept[i]);
	ops->set_cr(vcpu, 0, X86_CR0_ET | cr0);
	vcpu->arch.xcr0 = xcr0;
	vcpu->arch.ucode_rev = ucode;
	ckvm_mmu_reset_cpu_role(vcpu);
	ops->flush_tlb(vcpu);
}

/*
 * KVM_GET_MP_STATE / KVM_SET_MP_STATE. Without an in-kernel local APIC
 * every vCPU is simply runnable, and that is the only state userspace may
 * set (KVM's rule). With one, also the states of x86/lapic.c: HALTED,
 * UNINITIALIZED (waits for INIT), INIT_RECEIVED (waits for SIPI),
 * SIPI_RECEIVED (kept as INIT_RECEIVED with the SIPI pending, the vector
 * from KVM_SET_VCPU_EVENTS, as KVM) and AP_RESET_HOLD (as HALTED). A
 * read first acts on INIT and SIPI already sent, as KVM's does.
 */
static long ckvm_vcpu_mp_state(struct ckvm_vcpu *vcpu,
			       struct kvm_mp_state __user *argp, bool set)
{
	struct kvm_mp_state mp;

	if (!set) {
		if (vcpu->arch.lapic) {
			ckvm_vcpu_load(vcpu);
			ckvm_lapic_accept_events(vcpu);
			ckvm_vcpu_put(vcpu);
		}
		mp.mp_state = vcpu->arch.mp_state;
		return copy_to_user(argp, &mp, sizeof(mp)) ? -EFAULT : 0;
	}
	if (copy_from_user(&mp, argp, sizeof(mp)))
		return -EFAULT;
	switch (mp.mp_state) {
	case KVM_MP_STATE_RUNNABLE:
		break;
	case KVM_MP_STATE_UNINITIALIZED:
	case KVM_MP_STATE_HALTED:
	case KVM_MP_STATE_AP_RESET_HOLD:
	case KVM_MP_STATE_INIT_RECEIVED:
	case KVM_MP_STATE_SIPI_RECEIVED:
		if (vcpu->arch.lapic)
			break;
		fallthrough;
	default:
		return -EINVAL;
	}
	if (mp.mp_state == KVM_MP_STATE_SIPI_RECEIVED) {
		vcpu->arch.mp_state = KVM_MP_STATE_INIT_RECEIVED;
		set_bit(CKVM_APIC_SIPI, &vcpu->arch.apic_events);
	} else {
		vcpu->arch.mp_state = mp.mp_state;
	}
	ckvm_make_request(vcpu, CKVM_REQ_EVENT);
	return 0;
}

long ckvm_arch_dev_ioctl(unsigned int ioctl, unsigned long arg)
{
	switch (ioctl) {
	case KVM_GET_SUPPORTED_CPUID:
		return ckvm_dev_get_supported_cpuid((void __user *)arg);
	case KVM_GET_MSR_INDEX_LIST:
	case KVM_GET_MSR_FEATURE_INDEX_LIST:
	case KVM_GET_MSRS:
		return ckvm_msr_dev_ioctl(ioctl, (void __user *)arg);
	default:
		return ckvm_state_dev_ioctl(ioctl, arg);
	}
}

int ckvm_arch_vm_enable_cap(struct ckvm *vm, const struct kvm_enable_cap *cap)
{
	switch (cap->cap) {
	case KVM_CAP_MSR_PLATFORM_INFO:
		WRITE_ONCE(vm->arch.guest_reads_platform_info, cap->args[0]);
		return 0;
	case KVM_CAP_EXIT_ON_EMULATION_FAILURE:
		if (cap->args[0] & ~1ULL)
			return -EINVAL;
		WRITE_ONCE(vm->arch.exit_on_emulation_error, cap->args[0]);
		return 0;
	case KVM_CAP_SPLIT_IRQCHIP:
		return ckvm_irqchip_enable_split(vm, cap->args[0]);
	default:
		return ckvm_state_enable_cap(vm, cap);
	}
}

/*
 * KVM_SET_BOOT_CPU_ID: which vCPU id gets the BSP flag in IA32_APIC_BASE.
 * Freeze rule: only before the first vCPU (-EBUSY after, as KVM). An id
 * no vCPU can have is -EINVAL (KVM 6.1 accepts it and then has no BSP).
 */
static long set_boot_cpu_id(struct ckvm *vm, unsigned long id)
{
	long r = 0;

	mutex_lock(&vm->lock);
	if (ckvm_vm_has_vcpus(vm))
		r = -EBUSY;
	else if (id >= (vm->max_vcpu_ids ?: CKVM_MAX_VCPU_IDS))
		r = -EINVAL;
	else
		vm->arch.bsp_vcpu_id = id;
	mutex_unlock(&vm->lock);
	return r;
}

/*
 * KVM_SET_TSS_ADDR: three pages at @addr for the TSS of virtual-8086 mode
 * (VMX without unrestricted guest). As KVM on either vendor: they must end
 * below 4 GiB, else -EINVAL; a backend without use for them keeps the
 * address all the same.
 */
static long set_tss_addr(struct ckvm *vm, unsigned long addr)
{
	bool moved;

	if (addr > (u32)-(CKVM_RMODE_TSS_PAGES * PAGE_SIZE))
		return -EINVAL;
	mutex_lock(&vm->lock);
	moved = vm->arch.tss_addr != addr;
	WRITE_ONCE(vm->arch.tss_addr, addr);
	mutex_unlock(&vm->lock);
	/* Also after KVM_RUN (as KVM): the TSS's old mapping goes. */
	if (moved && vm->arch.rmode_tss)
		ckvm_mmu_zap_all(vm);
	return 0;
}

/*
 * KVM_SET_IDENTITY_MAP_ADDR: where KVM puts the identity page table of
 * EPT without unrestricted guest. ckvm runs such CPUs with shadow paging
 * and needs none, but keeps the value; as KVM, only before any vCPU.
 */
static long set_identity_map_addr(struct ckvm *vm, void __user *argp)
{
	u64 addr;
	long r = -EINVAL;

	/* As KVM: the freeze first (-EINVAL), then the pointer (-EFAULT). */
	mutex_lock(&vm->lock);
	if (ckvm_vm_has_vcpus(vm))
		goto out;
	r = -EFAULT;
	if (copy_from_user(&addr, argp, sizeof(addr)))
		goto out;
	vm->arch.identity_map_addr = addr;
	r = 0;
out:
	mutex_unlock(&vm->lock);
	return r;
}

long ckvm_arch_vm_ioctl(struct ckvm *vm, unsigned int ioctl, unsigned long arg)
{
	switch (ioctl) {
	case KVM_SET_NR_MMU_PAGES:
		return ckvm_mmu_set_nr_mmu_pages(vm, arg);
	case KVM_GET_NR_MMU_PAGES:
		return ckvm_mmu_get_nr_mmu_pages(vm);
	case KVM_SET_BOOT_CPU_ID:
		return set_boot_cpu_id(vm, arg);
	case KVM_SET_TSS_ADDR:
		return set_tss_addr(vm, arg);
	case KVM_SET_IDENTITY_MAP_ADDR:
		return set_identity_map_addr(vm, (void __user *)arg);
	case KVM_CREATE_IRQCHIP:
	case KVM_GET_IRQCHIP:
	case KVM_SET_IRQCHIP:
	case KVM_IRQ_LINE:
	case KVM_IRQ_LINE_STATUS:
	case KVM_SIGNAL_MSI:
		return ckvm_irqchip_vm_ioctl(vm, ioctl, arg);
	case KVM_CREATE_PIT:
	case KVM_CREATE_PIT2:
	case KVM_GET_PIT:
	case KVM_SET_PIT:
	case KVM_GET_PIT2:
	case KVM_SET_PIT2:
	case KVM_REINJECT_CONTROL:
		return ckvm_pit_vm_ioctl(vm, ioctl, arg);
	default:
		return ckvm_state_vm_ioctl(vm, ioctl, arg);
	}
}

/* ---- the run loop ---- */

static bool vcpu_exit_request(struct ckvm_vcpu *vcpu)
{
	return READ_ONCE(vcpu->requests) || signal_pending(current) ||
	       need_resched();
}

/*
 * A halted vCPU runs again for an event that ends the halt: one already
 * queued for the next entry (an exception, a re-injected interrupt, a
 * single-step trap: while one is queued no interrupt is allowed, so
 * waiting for one would wait forever), an NMI or an interrupt it can
 * take, an INIT (x86/events.c).
 */
static bool vcpu_can_wake(struct ckvm_vcpu *vcpu)
{
	return ckvm_events_wake(vcpu);
}

static bool vcpu_has_apic_event(struct ckvm_vcpu *vcpu)
{
	return READ_ONCE(vcpu->arch.apic_events);
}

/*
 * Wait-for-SIPI (and KVM_MP_STATE_UNINITIALIZED, which waits for INIT):
 * the vCPU sleeps until an INIT or SIPI is sent to it, or a signal comes.
 */
static void vcpu_wait_event(struct ckvm_vcpu *vcpu, int *srcu_idx)
	__must_hold(&vcpu->vm->srcu)
{
	srcu_read_unlock(&vcpu->vm->srcu, *srcu_idx);
	ckvm_vcpu_block(vcpu, vcpu_has_apic_event);
	*srcu_idx = srcu_read_lock(&vcpu->vm->srcu);
}

/* HLT with an in-kernel irqchip: sleep until an interrupt can be taken. */
static void vcpu_halt(struct ckvm_vcpu *vcpu, int *srcu_idx)
	__must_hold(&vcpu->vm->srcu)
{
	srcu_read_unlock(&vcpu->vm->srcu, *srcu_idx);
	ckvm_vcpu_block(vcpu, vcpu_can_wake);
	*srcu_idx = srcu_read_lock(&vcpu->vm->srcu);
	if (vcpu_can_wake(vcpu))
		vcpu->arch.mp_state = KVM_MP_STATE_RUNNABLE;
}

/*
 * A triple fault userspace made pending (KVM_SET_VCPU_EVENTS with
 * KVM_CAP_X86_TRIPLE_FAULT_EVENT) or KVM_X86_SET_MCE raised: the vCPU
 * shuts down instead of entering, as KVM's KVM_REQ_TRIPLE_FAULT. Its
 * state stays as it is (userspace may still read it).
 */
static int vcpu_triple_fault(struct ckvm_vcpu *vcpu)
{
	vcpu->arch.triple_fault_pending = false;
	vcpu->run->exit_reason = KVM_EXIT_SHUTDOWN;
	return 0;
}

/* One guest entry; returns what the exit handler returned (see x86_ops.h). */
static int vcpu_enter_guest(struct ckvm_vcpu *vcpu, int *srcu_idx,
			    bool irq_window)
	__must_hold(&vcpu->vm->srcu)
{
	const struct ckvm_x86_ops *ops = ckvm_x86_ops;
	struct ckvm_lapic *lapic = vcpu->arch.lapic;
	bool swap_xcr0;
	int r;

	if (unlikely(vcpu->arch.triple_fault_pending))
		return vcpu_triple_fault(vcpu);
	/* KVM_GUESTDBG_SINGLESTEP over an instruction ckvm completed. */
	if (unlikely(vcpu->arch.step_exit))
		return ckvm_guest_debug_step_exit(vcpu);
	if (ckvm_check_request(vcpu, CKVM_REQ_MMU_RELOAD))
		ckvm_mmu_unload(vcpu);
	r = ckvm_mmu_load(vcpu);
	if (r)
		return r;
	if (ckvm_check_request(vcpu, CKVM_REQ_TLB_FLUSH)) {
		ops->flush_tlb(vcpu);
		vcpu->stat.arch.tlb_flush++;
	}
	/* Split irqchip: the userspace IOAPIC hears of an EOI first. */
	if (unlikely(vcpu->arch.pending_ioapic_eoi >= 0)) {
		vcpu->run->exit_reason = KVM_EXIT_IOAPIC_EOI;
		vcpu->run->eoi.vector = vcpu->arch.pending_ioapic_eoi;
		vcpu->arch.pending_ioapic_eoi = -1;
		return 0;
	}
	/* KVM_TPR_ACCESS_REPORTING: the last exit's access of the TPR. */
	if (unlikely(lapic && ckvm_lapic_report_tpr_access(vcpu)))
		return 0;
	if (ckvm_check_request(vcpu, CKVM_REQ_MSR_FILTER_CHANGED))
		ops->msr_filter_changed(vcpu);
	ckvm_kvmclock_before_entry(vcpu);
	/* Cleared before looking, so an interrupt arriving later aborts entry. */
	ckvm_check_request(vcpu, CKVM_REQ_EVENT);
	/* CR8 is the guest's view of TPR[7:4]. */
	if (lapic)
		ops->set_cr(vcpu, 8, ckvm_lapic_get_tpr(vcpu) >> 4);
	ckvm_inject_events(vcpu);
	/* Real mode delivered by hand (VMX's vm86) may have triple-faulted. */
	if (unlikely(vcpu->arch.triple_fault_pending))
		return vcpu_triple_fault(vcpu);
	/*
	 * Userspace has an interrupt to give: exit as soon as it can. With
	 * a split irqchip only while LINT0 takes ExtINTs (KVM's
	 * kvm_cpu_accept_dm_intr()): else the window would open at once,
	 * again and again, and the guest never run; its write that unmasks
	 * LINT0 exits, and the run ends then (ready_for_interrupt_injection).
	 */
	if (irq_window && !vcpu->arch.irq_queued && vcpu->arch.pending_extint < 0 &&
	    (!lapic || ckvm_lapic_accepts_extint(vcpu)))
		ops->enable_irq_window(vcpu);
	/* KVM_SET_VAPIC_ADDR: the guest's copy of TPR, ISR and IRR. */
	if (lapic)
		ckvm_lapic_sync_to_vapic(vcpu);

	preempt_disable();
	local_irq_disable();
	/* Pairs with ckvm_make_all_vcpus_request(): set mode, then look. */
	smp_store_release(&vcpu->mode, CKVM_IN_GUEST_MODE);
	srcu_read_unlock(&vcpu->vm->srcu, *srcu_idx);
	smp_mb__after_srcu_read_unlock();
	if (vcpu_exit_request(vcpu) || READ_ONCE(ckvm_rebooting)) {
		WRITE_ONCE(vcpu->mode, CKVM_OUTSIDE_GUEST_MODE);
		local_irq_enable();
		preempt_enable();
		*srcu_idx = srcu_read_lock(&vcpu->vm->srcu);
		return READ_ONCE(ckvm_rebooting) ? -EIO : 1;
	}

	if (test_thread_flag(TIF_NEED_FPU_LOAD))
		switch_fpu_return();
	/*
	 * The guest's XCR0 is in the CPU while it could read or use it:
	 * with CR4.OSXSAVE set, and with NPT/EPT at all times, as the guest
	 * then sets CR4.OSXSAVE without an exit and may XGETBV right after
	 * (XCR0 is 1 after reset, SDM 13.3; upstream's xcr0_cpuid_test).
	 * Without OSXSAVE the value is invisible to it (XGETBV, XSAVE and
	 * AVX raise #UD).
	 */
	swap_xcr0 = vcpu->arch.xcr0 != host_xcr0 &&
		    (ckvm_tdp || (ops->get_cr(vcpu, 4) & X86_CR4_OSXSAVE));
	if (swap_xcr0)
		xsetbv(XCR_XFEATURE_ENABLED_MASK, vcpu->arch.xcr0);
	/* Host breakpoints off; the guest's DR0-3 in when it needs them. */
	ckvm_debugreg_before_entry(vcpu);

	trace_ckvm_entry(vcpu);
	ops->run(vcpu);
	/* KVM's last_vmentry_cpu: from now on the CPUID model is fixed. */
	vcpu->arch.has_run = true;
	vcpu->stat.arch.exits++;

	/*
	 * As KVM, decided again after the run from the guest's CR4 now: a
	 * guest that set CR4.OSXSAVE and XCR0 within this run without an
	 * exit for XSETBV (QEMU 7.2's TCG ignores the SVM intercept, see
	 * Documentation/testing.rst) left its XCR0 in the CPU, and the
	 * host's XRSTOR of a state with more components would fault.
	 */
	if (swap_xcr0 || (vcpu->arch.xcr0 != host_xcr0 &&
			  (ops->get_cr(vcpu, 4) & X86_CR4_OSXSAVE)))
		xsetbv(XCR_XFEATURE_ENABLED_MASK, host_xcr0);
	/* The guest's DR0-3 out if it used them; the host's back. */
	ckvm_debugreg_after_exit(vcpu);
	WRITE_ONCE(vcpu->mode, CKVM_OUTSIDE_GUEST_MODE);
	local_irq_enable();
	preempt_enable();
	*srcu_idx = srcu_read_lock(&vcpu->vm->srcu);

	/* A MOV to CR8 may have changed the TPR without an exit. */
	if (lapic) {
		u64 cr8 = ops->get_cr(vcpu, 8);

		if (cr8 != ckvm_lapic_get_tpr(vcpu) >> 4)
			ckvm_lapic_set_tpr(vcpu, cr8 << 4);
		/* ... and so may the guest's write of its vAPIC copy. */
		ckvm_lapic_sync_from_vapic(vcpu);
	}
	return ops->handle_exit(vcpu);
}

/*
 * What userspace hands KVM_RUN in the shared kvm_run page. Userspace may
 * rewrite the page at any time, also while the vCPU runs, so each field
 * is read exactly once per KVM_RUN, by run_request_read(), and only that
 * copy is used, after it is checked as KVM checks it:
 *
 * immediate_exit	non-zero: finish a pending exit, then return -EINTR
 *			instead of entering the guest.
 * kvm_valid_regs,	KVM_SYNC_X86_* bits: a bit that KVM_CHECK_EXTENSION
 * kvm_dirty_regs	(KVM_CAP_SYNC_REGS) does not report is -EINVAL, as in
 *			KVM. The dirty sets are loaded from the sync-regs
 *			area (copied once) before anything runs, the valid
 *			ones stored there when KVM_RUN returns, also after
 *			an error (x86/state.c).
 * cr8			without an in-kernel local APIC the task priority is
 *			userspace's: loaded into CR8 by every KVM_RUN (bits
 *			63:4 set: -EINVAL) and written back on return, as in
 *			KVM. With one, KVM ignores it and so does ckvm.
 * request_interrupt_window
 *			without an in-kernel PIC: userspace has an interrupt
 *			for the guest; KVM_RUN returns KVM_EXIT_IRQ_WINDOW_OPEN
 *			as soon as a KVM_INTERRUPT would be delivered (after
 *			at least one entry, as KVM). KVM checks nothing in it.
 *
 * Not read: padding1 (KVM checks none of it). Completing an exit reads
 * only the kernel's own record of it (vcpu->arch.pio) and, once, the
 * data the exit asked userspace for (the port I/O page, kvm_run.mmio,
 * kvm_run.msr), never the other exit fields of kvm_run.
 */
struct run_request {
	bool immediate_exit;
	bool irq_window;
	u64 cr8;
	u64 valid_regs, dirty_regs;
};

static int run_request_read(struct ckvm_vcpu *vcpu, struct run_request *req)
{
	struct kvm_run *run = vcpu->run;

	req->valid_regs = READ_ONCE(run->kvm_valid_regs);
	req->dirty_regs = READ_ONCE(run->kvm_dirty_regs);
	req->immediate_exit = ckvm_run_immediate_exit(run);
	req->irq_window = ckvm_want_irq_window(vcpu,
			READ_ONCE(run->request_interrupt_window));
	req->cr8 = READ_ONCE(run->cr8);
	if ((req->valid_regs | req->dirty_regs) & ~(u64)KVM_SYNC_X86_VALID_FIELDS) {
		/* KVM still stores the valid sets it knows. */
		req->valid_regs &= KVM_SYNC_X86_VALID_FIELDS;
		return -EINVAL;
	}
	if (!vcpu->arch.lapic && (req->cr8 & ~0xfULL))
		return -EINVAL;
	return 0;
}

/* What every KVM_RUN reports on return, as KVM's post_kvm_run_save(). */
static void run_report(struct ckvm_vcpu *vcpu, const struct run_request *req)
{
	struct kvm_run *run = vcpu->run;

	if (req->valid_regs)
		ckvm_sync_regs_out(vcpu, req->valid_regs);
	run->if_flag = !!(ckvm_x86_ops->get_rflags(vcpu) & X86_EFLAGS_IF);
	run->cr8 = vcpu->arch.lapic ? ckvm_lapic_get_tpr(vcpu) >> 4 :
				      ckvm_x86_ops->get_cr(vcpu, 8);
	run->apic_base = vcpu->arch.apic_base;
	run->ready_for_interrupt_injection =
		ckvm_ready_for_interrupt_injection(vcpu);
}

int ckvm_arch_vcpu_run(struct ckvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	int (*complete)(struct ckvm_vcpu *vcpu);
	struct run_request req;
	int r, idx;

	r = run_request_read(vcpu, &req);
	ckvm_vcpu_load(vcpu);
	run->flags = 0;
	if (r)
		goto report;
	if (req.dirty_regs) {
		r = ckvm_sync_regs_in(vcpu, req.dirty_regs);
		if (r)
			goto report;
	}
	/* Only a change: VMX rewrites its guest state after a set_cr(). */
	if (!vcpu->arch.lapic && req.cr8 != ckvm_x86_ops->get_cr(vcpu, 8))
		ckvm_x86_ops->set_cr(vcpu, 8, req.cr8);

	/*
	 * As KVM: immediate_exit returns -EINTR and leaves exit_reason as
	 * it was, so a VMM (the KVM selftests' ucall does) can still read
	 * the exit it just completed. A signal sets KVM_EXIT_INTR. With
	 * nothing to finish either, the FPU is not touched at all.
	 */
	if (req.immediate_exit && !vcpu->arch.complete_userspace_io) {
		r = -EINTR;
		goto report;
	}

	fpu_swap_kvm_fpstate(&vcpu->arch.guest_fpu, true);
	idx = srcu_read_lock(&vcpu->vm->srcu);

	/*
	 * As KVM: an AP that has never had an INIT (KVM_MP_STATE_UNINITIALIZED,
	 * how an in-kernel irqchip's APs start) waits for one, acts on it
	 * and returns -EAGAIN; the next KVM_RUN waits for the SIPI.
	 */
	if (unlikely(vcpu->arch.mp_state == KVM_MP_STATE_UNINITIALIZED)) {
		vcpu_wait_event(vcpu, &idx);
		ckvm_lapic_accept_events(vcpu);
		r = -EAGAIN;
		if (signal_pending(current)) {
			vcpu->stat.arch.signal_exits++;
			run->exit_reason = KVM_EXIT_INTR;
			r = -EINTR;
		}
		goto out;
	}

	/* Finish the exit userspace just handled, even on immediate_exit. */
	complete = vcpu->arch.complete_userspace_io;
	if (complete) {
		vcpu->arch.complete_userspace_io = NULL;
		r = complete(vcpu);
		if (r <= 0)
			goto out;
	}

	for (;;) {
		if (req.immediate_exit) {
			r = -EINTR;
			break;
		}
		if (signal_pending(current)) {
			vcpu->stat.arch.signal_exits++;
			run->exit_reason = KVM_EXIT_INTR;
			r = -EINTR;
			break;
		}
		if (vcpu->arch.lapic && READ_ONCE(vcpu->arch.apic_events))
			ckvm_lapic_accept_events(vcpu);
		switch (vcpu->arch.mp_state) {
		case KVM_MP_STATE_HALTED:
		case KVM_MP_STATE_AP_RESET_HOLD:
			vcpu_halt(vcpu, &idx);
			continue;
		case KVM_MP_STATE_INIT_RECEIVED:
			vcpu_wait_event(vcpu, &idx);
			continue;
		}
		r = vcpu_enter_guest(vcpu, &idx, req.irq_window);
		if (r <= 0)
			break;
		if (req.irq_window && ckvm_ready_for_interrupt_injection(vcpu)) {
			run->exit_reason = KVM_EXIT_IRQ_WINDOW_OPEN;
			r = 0;
			break;
		}
		if (need_resched()) {
			srcu_read_unlock(&vcpu->vm->srcu, idx);
			cond_resched();
			idx = srcu_read_lock(&vcpu->vm->srcu);
		}
	}
out:
	srcu_read_unlock(&vcpu->vm->srcu, idx);
	fpu_swap_kvm_fpstate(&vcpu->arch.guest_fpu, false);
report:
	run_report(vcpu, &req);
	ckvm_vcpu_put(vcpu);
	return r;
}

/* ---- register ioctls ---- */

/**
 * ckvm_get_regs() - KVM_GET_REGS
 * @vcpu: the vCPU, loaded, under vcpu->mutex.
 * @regs: filled in.
 */
void ckvm_get_regs(struct ckvm_vcpu *vcpu, struct kvm_regs *regs)
{
	unsigned long *r = vcpu->arch.regs;

	regs->rax = r[VCPU_REGS_RAX];
	regs->rbx = r[VCPU_REGS_RBX];
	regs->rcx = r[VCPU_REGS_RCX];
	regs->rdx = r[VCPU_REGS_RDX];
	regs->rsi = r[VCPU_REGS_RSI];
	regs->rdi = r[VCPU_REGS_RDI];
	regs->rsp = r[VCPU_REGS_RSP];
	regs->rbp = r[VCPU_REGS_RBP];
	regs->r8 = r[VCPU_REGS_R8];
	regs->r9 = r[VCPU_REGS_R9];
	regs->r10 = r[VCPU_REGS_R10];
	regs->r11 = r[VCPU_REGS_R11];
	regs->r12 = r[VCPU_REGS_R12];
	regs->r13 = r[VCPU_REGS_R13];
	regs->r14 = r[VCPU_REGS_R14];
	regs->r15 = r[VCPU_REGS_R15];
	regs->rip = r[VCPU_REGS_RIP];
	regs->rflags = ckvm_x86_ops->get_rflags(vcpu);
	/* The TF of KVM_GUESTDBG_SINGLESTEP is ckvm's, not the guest's. */
	if (vcpu->arch.singlestep_tf)
		regs->rflags &= ~X86_EFLAGS_TF;
}

/**
 * ckvm_set_regs() - KVM_SET_REGS
 * @vcpu: the vCPU, loaded, under vcpu->mutex.
 * @regs: the registers; every value is taken (RFLAGS bit 1 forced on).
 */
void ckvm_set_regs(struct ckvm_vcpu *vcpu, const struct kvm_regs *regs)
{
	unsigned long *r = vcpu->arch.regs;

	r[VCPU_REGS_RAX] = regs->rax;
	r[VCPU_REGS_RBX] = regs->rbx;
	r[VCPU_REGS_RCX] = regs->rcx;
	r[VCPU_REGS_RDX] = regs->rdx;
	r[VCPU_REGS_RSI] = regs->rsi;
	r[VCPU_REGS_RDI] = regs->rdi;
	r[VCPU_REGS_RSP] = regs->rsp;
	r[VCPU_REGS_RBP] = regs->rbp;
	r[VCPU_REGS_R8] = regs->r8;
	r[VCPU_REGS_R9] = regs->r9;
	r[VCPU_REGS_R10] = regs->r10;
	r[VCPU_REGS_R11] = regs->r11;
	r[VCPU_REGS_R12] = regs->r12;
	r[VCPU_REGS_R13] = regs->r13;
	r[VCPU_REGS_R14] = regs->r14;
	r[VCPU_REGS_R15] = regs->r15;
	r[VCPU_REGS_RIP] = regs->rip;
	/* Bit 1 of RFLAGS always reads as 1. */
	ckvm_x86_ops->set_rflags(vcpu, regs->rflags | X86_EFLAGS_FIXED);
	/* Single-stepping goes on whatever TF userspace gave. */
	if (vcpu->arch.guest_debug & KVM_GUESTDBG_SINGLESTEP) {
		vcpu->arch.singlestep_tf = !(regs->rflags & X86_EFLAGS_TF);
		ckvm_x86_ops->set_rflags(vcpu, regs->rflags | X86_EFLAGS_FIXED |
					 X86_EFLAGS_TF);
	}
}

static const int sregs_seg[] = {
	CKVM_SEG_CS, CKVM_SEG_DS, CKVM_SEG_ES, CKVM_SEG_FS,
	CKVM_SEG_GS, CKVM_SEG_SS, CKVM_SEG_TR, CKVM_SEG_LDTR,
};

static struct kvm_segment *sregs_segment(struct kvm_sregs *s, int i)
{
	struct kvm_segment *segs[] = {
		&s->cs, &s->ds, &s->es, &s->fs, &s->gs, &s->ss, &s->tr, &s->ldt,
	};

	return segs[i];
}

/**
 * ckvm_get_sregs() - KVM_GET_SREGS
 * @vcpu: the vCPU, loaded, under vcpu->mutex.
 * @sregs: filled in; interrupt_bitmap has the bit of the external
 *	   interrupt being delivered, if any (KVM's rule).
 */
void ckvm_get_sregs(struct ckvm_vcpu *vcpu, struct kvm_sregs *sregs)
{
	const struct ckvm_x86_ops *ops = ckvm_x86_ops;
	int i, irq;

	memset(sregs, 0, sizeof(*sregs));
	for (i = 0; i < ARRAY_SIZE(sregs_seg); i++)
		ops->get_segment(vcpu, sregs_segment(sregs, i), sregs_seg[i]);
	ops->get_gdt(vcpu, &sregs->gdt);
	ops->get_idt(vcpu, &sregs->idt);
	sregs->cr0 = ops->get_cr(vcpu, 0);
	sregs->cr2 = ops->get_cr(vcpu, 2);
	sregs->cr3 = ops->get_cr(vcpu, 3);
	sregs->cr4 = ops->get_cr(vcpu, 4);
	sregs->cr8 = vcpu->arch.lapic ? ckvm_lapic_get_tpr(vcpu) >> 4 :
					ops->get_cr(vcpu, 8);
	sregs->efer = ops->get_efer(vcpu);
	sregs->apic_base = vcpu->arch.apic_base;
	irq = ckvm_events_injected_irq(vcpu);
	if (irq >= 0)
		__set_bit(irq, (unsigned long *)sregs->interrupt_bitmap);
}

static bool cr0_valid(u64 cr0)
{
	if (cr0 >> 32)
		return false;
	if ((cr0 & X86_CR0_NW) && !(cr0 & X86_CR0_CD))
		return false;
	return !((cr0 & X86_CR0_PG) && !(cr0 & X86_CR0_PE));
}

/*
 * KVM's rules for KVM_SET_SREGS (kvm_is_valid_sregs), from the SDM. The
 * segment and descriptor-table bases are not among them: KVM takes any,
 * and so does ckvm, since neither loads them into the host; VM entry
 * judges them (VMX refuses a non-canonical one as invalid guest state,
 * KVM_EXIT_FAIL_ENTRY; SVM's VMRUN takes it). Physical addresses (CR3,
 * the APIC base) end at the guest's MAXPHYADDR, as in KVM.
 */
static bool sregs_valid(struct ckvm_vcpu *vcpu, const struct kvm_sregs *s)
{
	if ((s->efer & EFER_LME) && (s->cr0 & X86_CR0_PG)) {
		if (!(s->cr4 & X86_CR4_PAE) || !(s->efer & EFER_LMA))
			return false;
		if (s->cr3 & ckvm_reserved_gpa_bits(vcpu))
			return false;
	} else if ((s->efer & EFER_LMA) || s->cs.l) {
		return false;
	}
	if (vcpu->arch.lapic ? !ckvm_lapic_base_valid(vcpu, s->apic_base) :
	    (s->apic_base & ckvm_apic_base_reserved(vcpu)))
		return false;
	return cr0_valid(s->cr0) && ckvm_cr4_valid(vcpu, s->cr4);
}

/**
 * ckvm_set_sregs() - KVM_SET_SREGS
 * @vcpu: the vCPU, loaded, under vcpu->mutex.
 * @sregs: the state; the lowest bit of interrupt_bitmap, if any, is an
 *	   external interrupt to deliver (KVM's rule).
 *
 * Return: 0, or -EINVAL (nothing changed) for a state KVM refuses.
 */
int ckvm_set_sregs(struct ckvm_vcpu *vcpu, const struct kvm_sregs *sregs)
{
	const struct ckvm_x86_ops *ops = ckvm_x86_ops;
	struct kvm_sregs s = *sregs;
	unsigned long irq;
	int i, idx;

	if (!sregs_valid(vcpu, &s))
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(sregs_seg); i++)
		ops->set_segment(vcpu, sregs_segment(&s, i), sregs_seg[i]);
	ops->set_gdt(vcpu, &s.gdt);
	ops->set_idt(vcpu, &s.idt);
	ops->set_efer(vcpu, s.efer);
	ops->set_cr(vcpu, 0, s.cr0);
	ops->set_cr(vcpu, 2, s.cr2);
	ops->set_cr(vcpu, 3, s.cr3);
	ops->set_cr(vcpu, 4, s.cr4);
	ops->set_cr(vcpu, 8, s.cr8);
	if (vcpu->arch.lapic) {
		ckvm_lapic_set_tpr(vcpu, (s.cr8 & 0xf) << 4);
		ckvm_lapic_set_base(vcpu, s.apic_base, true);	/* checked */
	} else {
		vcpu->arch.apic_base = s.apic_base;
	}
	/* A new paging mode, maybe; PAE paging caches its PDPTEs (as KVM). */
	ckvm_mmu_reset_context(vcpu);
	if ((s.cr0 & X86_CR0_PG) && (s.cr4 & X86_CR4_PAE) &&
	    !(s.efer & EFER_LMA)) {
		idx = srcu_read_lock(&vcpu->vm->srcu);
		ckvm_mmu_load_pdptrs(vcpu, s.cr3);
		srcu_read_unlock(&vcpu->vm->srcu, idx);
	}
	ops->flush_tlb(vcpu);
	irq = find_first_bit((unsigned long *)s.interrupt_bitmap,
			     KVM_NR_INTERRUPTS);
	if (irq < KVM_NR_INTERRUPTS)
		ckvm_events_queue_irq(vcpu, irq);
	return 0;
}

/* KVM_SET_VAPIC_ADDR: -EINVAL without an in-kernel local APIC, as KVM. */
static long ckvm_vcpu_set_vapic_addr(struct ckvm_vcpu *vcpu,
				     struct kvm_vapic_addr __user *argp)
{
	struct kvm_vapic_addr va;

	if (!vcpu->arch.lapic)
		return -EINVAL;
	if (copy_from_user(&va, argp, sizeof(va)))
		return -EFAULT;
	return ckvm_lapic_set_vapic_addr(vcpu, va.vapic_addr);
}

/*
 * KVM_TPR_ACCESS_REPORTING: in and out a kvm_tpr_access_ctl, as KVM.
 * Without an in-kernel local APIC KVM takes it too (flags still checked);
 * there is no TPR register to report on then.
 */
static long ckvm_vcpu_tpr_access_reporting(struct ckvm_vcpu *vcpu,
					   struct kvm_tpr_access_ctl __user *argp)
{
	struct kvm_tpr_access_ctl ctl;
	long r;

	if (copy_from_user(&ctl, argp, sizeof(ctl)))
		return -EFAULT;
	if (!vcpu->arch.lapic)
		r = ctl.flags ? -EINVAL : 0;
	else
		r = ckvm_lapic_tpr_access_reporting(vcpu, &ctl);
	if (!r && copy_to_user(argp, &ctl, sizeof(ctl)))
		r = -EFAULT;
	return r;
}

long ckvm_arch_vcpu_ioctl(struct ckvm_vcpu *vcpu, unsigned int ioctl,
			  unsigned long arg)
{
	void __user *argp = (void __user *)arg;
	union {
		struct kvm_regs regs;
		struct kvm_sregs sregs;
		struct kvm_lapic_state lapic;
	} *u;
	long r;

	switch (ioctl) {
	case KVM_SET_CPUID2:
		return ckvm_vcpu_set_cpuid2(vcpu, argp);
	case KVM_GET_CPUID2:
		return ckvm_vcpu_get_cpuid2(vcpu, argp);
	case KVM_GET_MSRS:
		return ckvm_msr_io(vcpu, argp, false);
	case KVM_SET_MSRS:
		return ckvm_msr_io(vcpu, argp, true);
	case KVM_GET_MP_STATE:
		return ckvm_vcpu_mp_state(vcpu, argp, false);
	case KVM_SET_MP_STATE:
		return ckvm_vcpu_mp_state(vcpu, argp, true);
	case KVM_GET_LAPIC:
	case KVM_SET_LAPIC:
		/* KVM's answer when there is no in-kernel local APIC. */
		if (!vcpu->arch.lapic)
			return -EINVAL;
		break;
	case KVM_SET_VAPIC_ADDR:
		return ckvm_vcpu_set_vapic_addr(vcpu, argp);
	case KVM_TPR_ACCESS_REPORTING:
		return ckvm_vcpu_tpr_access_reporting(vcpu, argp);
	case KVM_GET_REGS:
	case KVM_SET_REGS:
	case KVM_GET_SREGS:
	case KVM_SET_SREGS:
		break;
	default:
		/* -EINVAL, KVM's answer, for one no vCPU knows. */
		return ckvm_state_vcpu_ioctl(vcpu, ioctl, argp);
	}

	u = kzalloc(sizeof(*u), GFP_KERNEL);
	if (!u)
		return -ENOMEM;
	/* The backend's state accessors need its control block loaded. */
	ckvm_vcpu_load(vcpu);
	switch (ioctl) {
	case KVM_GET_REGS:
		ckvm_get_regs(vcpu, &u->regs);
		r = copy_to_user(argp, &u->regs, sizeof(u->regs)) ? -EFAULT : 0;
		break;
	case KVM_SET_REGS:
		r = -EFAULT;
		if (copy_from_user(&u->regs, argp, sizeof(u->regs)))
			break;
		ckvm_set_regs(vcpu, &u->regs);
		r = 0;
		break;
	case KVM_GET_SREGS:
		ckvm_get_sregs(vcpu, &u->sregs);
		r = copy_to_user(argp, &u->sregs, sizeof(u->sregs)) ? -EFAULT : 0;
		break;
	case KVM_SET_SREGS:
		r = -EFAULT;
		if (copy_from_user(&u->sregs, argp, sizeof(u->sregs)))
			break;
		r = ckvm_set_sregs(vcpu, &u->sregs);
		break;
	case KVM_GET_LAPIC:
		r = ckvm_lapic_get_state(vcpu, &u->lapic);
		if (!r && copy_to_user(argp, &u->lapic, sizeof(u->lapic)))
			r = -EFAULT;
		break;
	default: /* KVM_SET_LAPIC */
		r = -EFAULT;
		if (copy_from_user(&u->lapic, argp, sizeof(u->lapic)))
			break;
		r = ckvm_lapic_set_state(vcpu, &u->lapic);
		break;
	}
	ckvm_vcpu_put(vcpu);
	kfree(u);
	return r;
}
