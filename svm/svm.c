// SPDX-License-Identifier: GPL-2.0
/*
 * AMD SVM backend: one VMCB per vCPU, nested paging through mmu/, and a
 * table of exit handlers. The layouts come from <asm/svm.h>; the rules
 * from AMD's APM volume 2, chapter 15.
 */
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <asm/debugreg.h>
#include <asm/io.h>
#include <asm/msr-index.h>
#include <asm/processor.h>
#include <asm/svm.h>
#include <asm/trap_pf.h>
#include <asm/trapnr.h>

#include "ckvm.h"
#include "x86_ops.h"
#include "x86_state.h"
#include "trace.h"

static_assert(sizeof(struct vmcb_control_area) == 0x400);
static_assert(offsetof(struct vmcb, save) == 0x400);
static_assert(offsetof(struct vmcb_save_area, efer) == 0xd0);
static_assert(offsetof(struct vmcb_save_area, rax) == 0x1f8);
static_assert(offsetof(struct vmcb_save_area, g_pat) == 0x268);

/* I/O permission map: 12 KiB, one bit a port. Message passing map: 8 KiB. */
#define IOPM_SIZE	(3 * PAGE_SIZE)
#define MSRPM_SIZE	(2 * PAGE_SIZE)

#include "svm.h"

/* Per host CPU. */
struct svm_cpu {
	struct page *hsave;		/* VM_HSAVE_PA: VMRUN's host state */
	struct page *host_save;		/* VMSAVE/VMLOAD of host FS/GS/... */
	u64 host_save_pa;
	u64 asid_generation;
	u32 next_asid;
	bool enabled;
};

struct svm_vcpu {
	struct ckvm_vcpu *vcpu;
	struct vmcb *vmcb;
	u64 vmcb_pa;
	/*
	 * Shadow paging: CR0, CR3, CR4 and EFER as the guest sees them; the
	 * VMCB has what the CPU runs with (svm_update_cr0_cr4, svm_set_efer).
	 */
	u64 cr0, cr3, cr4, efer;
	u64 asid_generation;		/* 0: needs a new ASID */
	int asid_cpu;			/* the CPU its ASID belongs to */
	/*
	 * NMI blocking, which SVM does not show the hypervisor: set when an
	 * NMI is injected, cleared once the guest's IRET (intercepted) has
	 * completed, i.e. at the first exit with RIP elsewhere (APM 15.20).
	 */
	bool nmi_masked;
	bool awaiting_iret;
	u64 iret_rip;
	/*
	 * An external interrupt waits in V_IRQ/V_INTR_VECTOR, given to the
	 * guest as a virtual interrupt (see virq below), not taken yet.
	 */
	bool virq_injected;
	/*
	 * The last VMRUN injected a #BP or #OF of ckvm's own
	 * (KVM_GUESTDBG_INJECT_BP, KVM_SET_VCPU_EVENTS), not the guest's
	 * INT3 or INTO: one that an exit interrupts is injected again.
	 */
	bool soft_exception_injected;
	/* Own MSR permission map once an MSR filter needs one; else msrpm. */
	void *msrpm;
};

static DEFINE_PER_CPU(struct svm_cpu, svm_cpu);
static void *iopm;
static void *msrpm;
static u32 max_asid;
static bool have_nrips;

/*
 * How an external interrupt reaches the guest: through EVENTINJ as KVM
 * does (the default) or, virq=1, as a virtual interrupt (V_IRQ with
 * V_IGN_TPR and V_INTR_VECTOR, APM 15.21.4). Both are correct on
 * hardware; the second exists because QEMU's TCG SVM, where these tests
 * run, delivers some EVENTINJ interrupts twice, the second inside the
 * first's handler with IF=0 (Documentation/testing.rst, "Interrupt
 * shadows and the SVM emulator", item 3), which wedges a 2-vCPU Linux
 * guest (Documentation/qemu.rst); its virtual interrupts take another
 * path. Not the default yet: irqchip_test hangs with it (qemu.rst).
 */
static bool virq;
module_param(virq, bool, 0444);
MODULE_PARM_DESC(virq, "SVM: inject external interrupts through V_IRQ (1) or EVENTINJ (0, default)");
static bool have_decode_assists;

/* NPT entries are x86-64 PTEs; the CPU treats guest accesses as user. */
static struct ckvm_tdp_format npt_format = {
	.table = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED,
	.readable = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED,
	.writable = _PAGE_RW | _PAGE_DIRTY,
	.executable = 0,
	.nx = _PAGE_NX,
	.leaf = 0,
	.large = _PAGE_PSE,
	.root_level = 4,	/* 5 with a 5-level host: set at setup */
};

/* GIF: with it clear, no interrupt or NMI reaches this CPU. */
static inline void clgi(void)
{
	asm volatile("clgi" ::: "memory");
}

static inline void stgi(void)
{
	asm volatile("stgi" ::: "memory");
}

static inline struct svm_vcpu *to_svm(struct ckvm_vcpu *vcpu)
{
	return vcpu->arch.vendor;
}

/* ---- module and CPU setup ---- */

/* MSRs whose guest values VMLOAD/VMSAVE switch: the guest may use them. */
static const u32 passthrough_msrs[] = {
	MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE, MSR_STAR, MSR_LSTAR,
	MSR_CSTAR, MSR_SYSCALL_MASK, MSR_IA32_SYSENTER_CS,
	MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
};

/*
 * Set the read and write intercept bits of @msr in the permission map
 * @pm (APM 15.11): two bits an MSR, read then write.
 */
static void msrpm_set(void *pm, u32 msr, bool read, bool write)
{
	static const u32 base[] = { 0, 0xc0000000, 0xc0010000 };
	int i;

	for (i = 0; i < ARRAY_SIZE(base); i++) {
		if (msr >= base[i] && msr < base[i] + 0x2000) {
			u32 bit = (i * 0x800 * 8) + (msr - base[i]) * 2;

			__assign_bit(bit, pm, read);
			__assign_bit(bit + 1, pm, write);
			return;
		}
	}
	WARN_ON_ONCE(1);
}

static void msrpm_allow(u32 msr)
{
	msrpm_set(msrpm, msr, false, false);
}

static void svm_free_cpu_pages(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct svm_cpu *sd = per_cpu_ptr(&svm_cpu, cpu);

		if (sd->hsave)
			__free_page(sd->hsave);
		if (sd->host_save)
			__free_page(sd->host_save);
		sd->hsave = NULL;
		sd->host_save = NULL;
	}
}

static int svm_hardware_setup(void)
{
	u64 vm_cr;
	int cpu, i;

	rdmsrl(MSR_VM_CR, vm_cr);
	if (vm_cr & SVM_VM_CR_SVM_DIS_MASK) {
		pr_err("ckvm: SVM is disabled by the firmware (VM_CR.SVMDIS): turn on virtualization (SVM) in the BIOS setup\n");
		return -ENODEV;
	}
	if (!boot_cpu_has(X86_FEATURE_NPT) && ckvm_tdp) {
		pr_info("ckvm: this CPU's SVM has no nested paging (NPT): shadow paging\n");
		ckvm_tdp = false;
	}
	have_nrips = boot_cpu_has(X86_FEATURE_NRIPS);
	have_decode_assists = boot_cpu_has(X86_FEATURE_DECODEASSISTS);
	/* Nested paging walks with the host's paging depth (APM 15.25.5). */
	npt_format.root_level = pgtable_l5_enabled() ? 5 : 4;
	max_asid = cpuid_ebx(SVM_CPUID_FUNC) - 1;
	if (max_asid < 1) {
		pr_err("ckvm: SVM reports no ASIDs\n");
		return -ENODEV;
	}

	iopm = (void *)__get_free_pages(GFP_KERNEL, get_order(IOPM_SIZE));
	msrpm = (void *)__get_free_pages(GFP_KERNEL, get_order(MSRPM_SIZE));
	if (!iopm || !msrpm)
		goto err;
	memset(iopm, 0xff, IOPM_SIZE);
	memset(msrpm, 0xff, MSRPM_SIZE);
	for (i = 0; i < ARRAY_SIZE(passthrough_msrs); i++)
		msrpm_allow(passthrough_msrs[i]);

	for_each_possible_cpu(cpu) {
		struct svm_cpu *sd = per_cpu_ptr(&svm_cpu, cpu);

		sd->hsave = alloc_pages_node(cpu_to_node(cpu),
					     GFP_KERNEL | __GFP_ZERO, 0);
		sd->host_save = alloc_pages_node(cpu_to_node(cpu),
						 GFP_KERNEL | __GFP_ZERO, 0);
		if (!sd->hsave || !sd->host_save)
			goto err;
		sd->host_save_pa = page_to_phys(sd->host_save);
	}
	return 0;

err:
	svm_free_cpu_pages();
	free_pages((unsigned long)iopm, get_order(IOPM_SIZE));
	free_pages((unsigned long)msrpm, get_order(MSRPM_SIZE));
	return -ENOMEM;
}

static void svm_hardware_unsetup(void)
{
	svm_free_cpu_pages();
	free_pages((unsigned long)iopm, get_order(IOPM_SIZE));
	free_pages((unsigned long)msrpm, get_order(MSRPM_SIZE));
}

static int svm_hardware_enable(void)
{
	struct svm_cpu *sd = this_cpu_ptr(&svm_cpu);
	u64 efer, vm_cr;

	if (sd->enabled)
		return 0;
	rdmsrl(MSR_VM_CR, vm_cr);
	if (vm_cr & SVM_VM_CR_SVM_DIS_MASK) {
		pr_err("ckvm: SVM is disabled by the firmware on CPU %d\n",
		       smp_processor_id());
		return -ENODEV;
	}
	rdmsrl(MSR_EFER, efer);
	if (efer & EFER_SVME) {
		pr_err("ckvm: SVM is already enabled on CPU %d: another hypervisor owns it; unload it first (e.g. rmmod kvm_amd)\n",
		       smp_processor_id());
		return -EBUSY;
	}
	wrmsrl(MSR_EFER, efer | EFER_SVME);
	wrmsrl(MSR_VM_HSAVE_PA, page_to_phys(sd->hsave));
	/* Every ASID handed out before is stale on this CPU now. */
	sd->asid_generation++;
	sd->next_asid = max_asid + 1;
	sd->enabled = true;
	return 0;
}

static void svm_hardware_disable(void)
{
	struct svm_cpu *sd = this_cpu_ptr(&svm_cpu);
	u64 efer;

	if (!sd->enabled)
		return;
	wrmsrl(MSR_VM_HSAVE_PA, 0);
	rdmsrl(MSR_EFER, efer);
	wrmsrl(MSR_EFER, efer & ~EFER_SVME);
	sd->enabled = false;
}

/* ---- VM and vCPU ---- */

static int svm_vm_init(struct ckvm *vm)
{
	return 0;
}

static void svm_vm_destroy(struct ckvm *vm)
{
}

static void set_intercept(struct vmcb_control_area *c, int bit)
{
	c->intercepts[bit / 32] |= BIT(bit % 32);
}

static void clear_intercept(struct vmcb_control_area *c, int bit)
{
	c->intercepts[bit / 32] &= ~BIT(bit % 32);
}

/* The intercepts of shadow paging (APM 15.9, 15.12, 15.14). */
static const int shadow_intercepts[] = {
	INTERCEPT_CR0_READ, INTERCEPT_CR3_READ, INTERCEPT_CR4_READ,
	INTERCEPT_CR0_WRITE, INTERCEPT_CR3_WRITE, INTERCEPT_CR4_WRITE,
	INTERCEPT_INVLPG, INTERCEPT_INVPCID, INTERCEPT_TASK_SWITCH,
	INTERCEPT_EXCEPTION_OFFSET + X86_TRAP_PF,
};

static void init_vmcb_control(struct svm_vcpu *svm)
{
	struct vmcb_control_area *c = &svm->vmcb->control;
	static const int intercepts[] = {
		INTERCEPT_INTR, INTERCEPT_NMI, INTERCEPT_SMI, INTERCEPT_CPUID,
		INTERCEPT_HLT, INTERCEPT_INVD, INTERCEPT_RDPMC,
		INTERCEPT_IOIO_PROT, INTERCEPT_MSR_PROT, INTERCEPT_SHUTDOWN,
		INTERCEPT_VMRUN, INTERCEPT_VMMCALL, INTERCEPT_VMLOAD,
		INTERCEPT_VMSAVE, INTERCEPT_STGI, INTERCEPT_CLGI,
		INTERCEPT_SKINIT, INTERCEPT_INVLPGA, INTERCEPT_MONITOR,
		INTERCEPT_MWAIT, INTERCEPT_XSETBV,
		/*
		 * Reflected by handle_db() and handle_ac(): the delivery of
		 * either can raise it again (a data breakpoint on the stack
		 * its frame is pushed to; CR0.AM with a misaligned stack at
		 * CPL 3), a loop in which the CPU takes no interrupt and
		 * makes no exit, and the host CPU is the guest's for good
		 * (CVE-2015-8104, CVE-2015-5307). Intercepted, each delivery
		 * is an exit.
		 */
		INTERCEPT_EXCEPTION_OFFSET + X86_TRAP_DB,
		INTERCEPT_EXCEPTION_OFFSET + X86_TRAP_AC,
	};
	int i;

	for (i = 0; i < ARRAY_SIZE(intercepts); i++)
		set_intercept(c, intercepts[i]);
	c->iopm_base_pa = __pa(iopm);
	c->msrpm_base_pa = __pa(svm->msrpm ?: msrpm);
	/* Guest IF masks only virtual interrupts: host ones always exit. */
	c->int_ctl = V_INTR_MASKING_MASK;
	if (ckvm_tdp) {
		c->nested_ctl = SVM_NESTED_CTL_NP_ENABLE;
		return;
	}
	/*
	 * Shadow paging: the guest's control registers are ours to keep,
	 * its page faults ours to look at first, and a task switch would
	 * load a guest CR3 into the CPU.
	 */
	for (i = 0; i < ARRAY_SIZE(shadow_intercepts); i++)
		set_intercept(c, shadow_intercepts[i]);
}

static void init_seg(struct vmcb_seg *s, u16 attrib)
{
	s->selector = 0;
	s->attrib = attrib;
	s->limit = 0xffff;
	s->base = 0;
}

/*
 * Shadow paging: the CR0 and CR4 the CPU runs the guest with. Paging is
 * always on, on the shadow tables (with guest paging off too: "paged real
 * mode", APM 15.19), with CR0.WP so that the supervisor cannot write
 * through read-only sptes, and PAE, the format of every shadow table. The
 * CPU does not see the guest's PCIDs (the shadow root has none), nor SMEP
 * or SMAP while the guest does not page. Called after init_vmcb_control().
 */
static void svm_update_cr0_cr4(struct svm_vcpu *svm)
{
	struct vmcb_save_area *s = &svm->vmcb->save;
	u64 cr4 = svm->cr4 | X86_CR4_PAE;

	if (ckvm_tdp)
		return;
	s->cr0 = svm->cr0 | X86_CR0_PG | X86_CR0_WP;
	/*
	 * A read of CR0 needs the exit only while the CPU runs with bits the
	 * guest did not set; a paging guest with WP (Linux) reads its own
	 * value from the VMCB, as on KVM. Writes stay intercepted: CR0 is
	 * ours to keep.
	 */
	if (s->cr0 == svm->cr0)
		clear_intercept(&svm->vmcb->control, INTERCEPT_CR0_READ);
	else
		set_intercept(&svm->vmcb->control, INTERCEPT_CR0_READ);
	cr4 &= ~X86_CR4_PCIDE;
	if (!(svm->cr0 & X86_CR0_PG))
		cr4 &= ~(X86_CR4_SMEP | X86_CR4_SMAP | X86_CR4_PKE);
	s->cr4 = cr4;
}

/* RESET state of the VMCB part (APM 14.1.3 and KVM's vCPU reset). */
static void svm_vcpu_reset(struct ckvm_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_save_area *s = &svm->vmcb->save;
	const u16 data = SVM_SELECTOR_P_MASK | SVM_SELECTOR_S_MASK |
			 SVM_SELECTOR_WRITE_MASK;

	memset(s, 0, sizeof(*s));
	memset(&svm->vmcb->control, 0, sizeof(svm->vmcb->control));
	init_vmcb_control(svm);

	init_seg(&s->es, data);
	init_seg(&s->ss, data);
	init_seg(&s->ds, data);
	init_seg(&s->fs, data);
	init_seg(&s->gs, data);
	init_seg(&s->cs, data | SVM_SELECTOR_CODE_MASK);
	s->cs.selector = 0xf000;
	s->cs.base = 0xffff0000;
	s->gdtr.limit = 0xffff;
	s->idtr.limit = 0xffff;
	init_seg(&s->ldtr, SVM_SELECTOR_P_MASK | 2);
	init_seg(&s->tr, SVM_SELECTOR_P_MASK | 3);	/* busy 16-bit TSS */
	s->efer = EFER_SVME;
	s->cr0 = X86_CR0_NW | X86_CR0_CD | X86_CR0_ET;
	svm->cr0 = s->cr0;
	svm->cr3 = 0;
	svm->cr4 = 0;
	svm->efer = 0;
	svm_update_cr0_cr4(svm);
	if (!ckvm_tdp)
		s->efer |= EFER_NX;	/* as svm_set_efer() */
	s->dr6 = DR6_RESERVED;		/* reset value 0xffff0ff0 */
	s->dr7 = CKVM_DR7_RESET;
	s->rflags = X86_EFLAGS_FIXED;
	s->g_pat = CKVM_PAT_RESET;
	svm->asid_generation = 0;
	svm->nmi_masked = false;
	svm->awaiting_iret = false;
	svm->virq_injected = false;
	/* The revision kvm_amd shows its guests; ours show the same. */
	vcpu->arch.ucode_rev = 0x01000065;
}

static int svm_vcpu_create(struct ckvm_vcpu *vcpu)
{
	struct svm_vcpu *svm;
	struct page *page;

	svm = kzalloc(sizeof(*svm), GFP_KERNEL_ACCOUNT);
	if (!svm)
		return -ENOMEM;
	page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!page) {
		kfree(svm);
		return -ENOMEM;
	}
	svm->vcpu = vcpu;
	svm->vmcb = page_address(page);
	svm->vmcb_pa = page_to_phys(page);
	svm->asid_cpu = -1;
	vcpu->arch.vendor = svm;
	return 0;
}

static void svm_vcpu_free(struct ckvm_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	free_page((unsigned long)svm->vmcb);
	if (svm->msrpm)
		free_pages((unsigned long)svm->msrpm, get_order(MSRPM_SIZE));
	kfree(svm);
}

/* The VMCB is plain memory: nothing to load or save on a CPU switch. */
static void svm_vcpu_load(struct ckvm_vcpu *vcpu, int cpu)
{
}

static void svm_vcpu_put(struct ckvm_vcpu *vcpu)
{
}

/* ---- state accessors ---- */

static struct vmcb_seg *svm_seg(struct svm_vcpu *svm, int seg)
{
	struct vmcb_save_area *s = &svm->vmcb->save;

	switch (seg) {
	case CKVM_SEG_ES:
		return &s->es;
	case CKVM_SEG_CS:
		return &s->cs;
	case CKVM_SEG_SS:
		return &s->ss;
	case CKVM_SEG_DS:
		return &s->ds;
	case CKVM_SEG_FS:
		return &s->fs;
	case CKVM_SEG_GS:
		return &s->gs;
	case CKVM_SEG_TR:
		return &s->tr;
	default:
		return &s->ldtr;
	}
}

static void svm_get_segment(struct ckvm_vcpu *vcpu, struct kvm_segment *var,
			    int seg)
{
	struct vmcb_seg *s = svm_seg(to_svm(vcpu), seg);
	u16 a = s->attrib;

	var->base = s->base;
	var->limit = s->limit;
	var->selector = s->selector;
	var->type = a & SVM_SELECTOR_TYPE_MASK;
	var->s = !!(a & SVM_SELECTOR_S_MASK);
	var->dpl = (a >> SVM_SELECTOR_DPL_SHIFT) & 3;
	var->present = !!(a & SVM_SELECTOR_P_MASK);
	var->avl = !!(a & SVM_SELECTOR_AVL_MASK);
	var->l = !!(a & SVM_SELECTOR_L_MASK);
	var->db = !!(a & SVM_SELECTOR_DB_MASK);
	var->unusable = !var->present;
	var->padding = 0;
	/*
	 * Report what VMX would demand of the same state, as KVM does, so
	 * that saved state moves between vendors: the CPU ignores G (so it
	 * follows the limit), the busy bit of TR and the accessed bit of
	 * data segments are always set in the cache, and SS.DPL is the CPL.
	 */
	var->g = s->limit > 0xfffff;
	switch (seg) {
	case CKVM_SEG_TR:
		var->type |= 2;
		break;
	case CKVM_SEG_DS:
	case CKVM_SEG_ES:
	case CKVM_SEG_FS:
	case CKVM_SEG_GS:
		if (!var->unusable)
			var->type |= 1;
		break;
	case CKVM_SEG_SS:
		if (var->unusable)
			var->db = 0;
		var->dpl = to_svm(vcpu)->vmcb->save.cpl;
		break;
	}
}

static void svm_set_segment(struct ckvm_vcpu *vcpu,
			    const struct kvm_segment *var, int seg)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_seg *s = svm_seg(svm, seg);

	s->base = var->base;
	s->limit = var->limit;
	s->selector = var->selector;
	s->attrib = 0;
	if (!var->unusable)
		s->attrib = (var->type & SVM_SELECTOR_TYPE_MASK) |
			    (var->s << SVM_SELECTOR_S_SHIFT) |
			    ((var->dpl & 3) << SVM_SELECTOR_DPL_SHIFT) |
			    (var->present << SVM_SELECTOR_P_SHIFT) |
			    (var->avl << SVM_SELECTOR_AVL_SHIFT) |
			    (var->l << SVM_SELECTOR_L_SHIFT) |
			    (var->db << SVM_SELECTOR_DB_SHIFT) |
			    (var->g << SVM_SELECTOR_G_SHIFT);
	/* The VMCB keeps the CPL apart; SS.DPL is the architectural one. */
	if (seg == CKVM_SEG_SS)
		svm->vmcb->save.cpl = var->dpl & 3;
}

static void svm_get_gdt(struct ckvm_vcpu *vcpu, struct kvm_dtable *dt)
{
	struct vmcb_seg *s = &to_svm(vcpu)->vmcb->save.gdtr;

	dt->base = s->base;
	dt->limit = s->limit;
}

static void svm_set_gdt(struct ckvm_vcpu *vcpu, const struct kvm_dtable *dt)
{
	struct vmcb_seg *s = &to_svm(vcpu)->vmcb->save.gdtr;

	s->base = dt->base;
	s->limit = dt->limit;
}

static void svm_get_idt(struct ckvm_vcpu *vcpu, struct kvm_dtable *dt)
{
	struct vmcb_seg *s = &to_svm(vcpu)->vmcb->save.idtr;

	dt->base = s->base;
	dt->limit = s->limit;
}

static void svm_set_idt(struct ckvm_vcpu *vcpu, const struct kvm_dtable *dt)
{
	struct vmcb_seg *s = &to_svm(vcpu)->vmcb->save.idtr;

	s->base = dt->base;
	s->limit = dt->limit;
}

static u64 svm_get_cr(struct ckvm_vcpu *vcpu, int cr)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb *vmcb = svm->vmcb;

	switch (cr) {
	case 0:
		return ckvm_tdp ? vmcb->save.cr0 : svm->cr0;
	case 2:
		return vmcb->save.cr2;
	case 3:
		return ckvm_tdp ? vmcb->save.cr3 : svm->cr3;
	case 4:
		return ckvm_tdp ? vmcb->save.cr4 : svm->cr4;
	case 8:
		return vmcb->control.int_ctl & V_TPR_MASK;
	default:
		WARN_ON_ONCE(1);
		return 0;
	}
}

/*
 * With nested paging the guest owns CR0, CR3 and CR4 outright: none is
 * intercepted, and the values go to the VMCB as they are. With shadow
 * paging they are the guest's view, and the VMCB gets what the CPU needs
 * (svm_update_cr0_cr4; CR3 is the shadow root, svm_load_mmu_pgd).
 */
static void svm_set_cr(struct ckvm_vcpu *vcpu, int cr, u64 val)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb *vmcb = svm->vmcb;

	switch (cr) {
	case 0:
		if (ckvm_tdp) {
			vmcb->save.cr0 = val;
			break;
		}
		svm->cr0 = val;
		svm_update_cr0_cr4(svm);
		break;
	case 2:
		vmcb->save.cr2 = val;
		break;
	case 3:
		if (ckvm_tdp)
			vmcb->save.cr3 = val;
		else
			svm->cr3 = val;
		break;
	case 4:
		if (ckvm_tdp) {
			vmcb->save.cr4 = val;
			break;
		}
		svm->cr4 = val;
		svm_update_cr0_cr4(svm);
		break;
	case 8:
		vmcb->control.int_ctl &= ~V_TPR_MASK;
		vmcb->control.int_ctl |= val & V_TPR_MASK;
		break;
	default:
		WARN_ON_ONCE(1);
		break;
	}
}

/*
 * EFER.SVME must be set for VMRUN and is hidden from the guest. Shadow
 * paging keeps the guest's EFER apart: the sptes use NX whatever the
 * guest's EFER.NX, and LME without LMA would make VMRUN enter long mode
 * on the always-paged shadow tables.
 */
static u64 svm_get_efer(struct ckvm_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	return ckvm_tdp ? svm->vmcb->save.efer & ~EFER_SVME : svm->efer;
}

static void svm_set_efer(struct ckvm_vcpu *vcpu, u64 efer)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	if (ckvm_tdp) {
		svm->vmcb->save.efer = efer | EFER_SVME;
		return;
	}
	svm->efer = efer;
	if (!(efer & EFER_LMA))
		efer &= ~EFER_LME;
	svm->vmcb->save.efer = efer | EFER_SVME | EFER_NX;
}

static unsigned long svm_get_rflags(struct ckvm_vcpu *vcpu)
{
	return to_svm(vcpu)->vmcb->save.rflags;
}

static void svm_set_rflags(struct ckvm_vcpu *vcpu, unsigned long rflags)
{
	to_svm(vcpu)->vmcb->save.rflags = rflags;
}

static int svm_get_msr(struct ckvm_vcpu *vcpu, u32 index, u64 *data)
{
	struct vmcb_save_area *s = &to_svm(vcpu)->vmcb->save;

	switch (index) {
	case MSR_IA32_CR_PAT:
		*data = s->g_pat;
		return 0;
	case MSR_FS_BASE:
		*data = s->fs.base;
		return 0;
	case MSR_GS_BASE:
		*data = s->gs.base;
		return 0;
	case MSR_KERNEL_GS_BASE:
		*data = s->kernel_gs_base;
		return 0;
	case MSR_STAR:
		*data = s->star;
		return 0;
	case MSR_LSTAR:
		*data = s->lstar;
		return 0;
	case MSR_CSTAR:
		*data = s->cstar;
		return 0;
	case MSR_SYSCALL_MASK:
		*data = s->sfmask;
		return 0;
	case MSR_IA32_SYSENTER_CS:
		*data = s->sysenter_cs;
		return 0;
	case MSR_IA32_SYSENTER_ESP:
		*data = s->sysenter_esp;
		return 0;
	case MSR_IA32_SYSENTER_EIP:
		*data = s->sysenter_eip;
		return 0;
	default:
		return CKVM_MSR_UNKNOWN;
	}
}

static int svm_set_msr(struct ckvm_vcpu *vcpu, u32 index, u64 data)
{
	struct vmcb_save_area *s = &to_svm(vcpu)->vmcb->save;

	switch (index) {
	case MSR_IA32_CR_PAT:
		if (!ckvm_pat_valid(data))
			return 1;
		s->g_pat = data;
		return 0;
	case MSR_FS_BASE:
		s->fs.base = data;
		return 0;
	case MSR_GS_BASE:
		s->gs.base = data;
		return 0;
	case MSR_KERNEL_GS_BASE:
		s->kernel_gs_base = data;
		return 0;
	case MSR_STAR:
		s->star = data;
		return 0;
	case MSR_LSTAR:
		s->lstar = data;
		return 0;
	case MSR_CSTAR:
		s->cstar = data;
		return 0;
	case MSR_SYSCALL_MASK:
		s->sfmask = data;
		return 0;
	case MSR_IA32_SYSENTER_CS:
		s->sysenter_cs = data;
		return 0;
	/*
	 * AMD's SYSENTER is 32-bit only and its CPUs keep bits 31:0 of these
	 * (the guest's own WRMSR is not intercepted and goes to the CPU);
	 * kvm_amd keeps the same from KVM_SET_MSRS.
	 */
	case MSR_IA32_SYSENTER_ESP:
		s->sysenter_esp = (u32)data;
		return 0;
	case MSR_IA32_SYSENTER_EIP:
		s->sysenter_eip = (u32)data;
		return 0;
	default:
		return CKVM_MSR_UNKNOWN;
	}
}

static void svm_set_tsc_offset(struct ckvm_vcpu *vcpu, u64 offset)
{
	to_svm(vcpu)->vmcb->control.tsc_offset = offset;
}

static void svm_queue_exception(struct ckvm_vcpu *vcpu, u8 vector,
				bool has_error, u32 error_code)
{
	struct vmcb_control_area *c = &to_svm(vcpu)->vmcb->control;

	c->event_inj = vector | SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_EXEPT |
		       (has_error ? SVM_EVTINJ_VALID_ERR : 0);
	c->event_inj_err = error_code;
}

static bool svm_interrupt_allowed(struct ckvm_vcpu *vcpu)
{
	struct vmcb *vmcb = to_svm(vcpu)->vmcb;

	return !(vmcb->control.event_inj & SVM_EVTINJ_VALID) &&
	       !to_svm(vcpu)->virq_injected &&
	       !(vmcb->control.int_state & SVM_INTERRUPT_SHADOW_MASK) &&
	       (vmcb->save.rflags & X86_EFLAGS_IF);
}

/*
 * Called only when the guest can take it now (IF=1, no shadow, nothing in
 * the slot). As a virtual interrupt it ignores V_TPR (the local APIC
 * already weighed the TPR) and is taken before the guest's first
 * instruction; the VINTR intercept, which would turn it into an exit, is
 * off while it waits.
 */
static void svm_inject_irq(struct ckvm_vcpu *vcpu, u8 vector)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_control_area *c = &svm->vmcb->control;

	if (!virq) {
		c->event_inj = vector | SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_INTR;
		return;
	}
	c->int_ctl &= ~(V_IRQ_MASK | V_IGN_TPR_MASK | V_INTR_PRIO_MASK);
	c->int_ctl |= V_IRQ_MASK | V_IGN_TPR_MASK | (0xf << V_INTR_PRIO_SHIFT);
	c->int_vector = vector;
	clear_intercept(c, INTERCEPT_VINTR);
	svm->virq_injected = true;
}

/*
 * The interrupt window: a virtual interrupt (V_IRQ) that ignores V_TPR is
 * taken as soon as the guest has IF=1 and no shadow, and its VINTR
 * intercept brings us back before the guest sees it (APM 15.21.4).
 */
static void svm_enable_irq_window(struct ckvm_vcpu *vcpu)
{
	struct vmcb_control_area *c = &to_svm(vcpu)->vmcb->control;

	/*
	 * V_IRQ holds an interrupt for the guest: the intercept would turn
	 * it into an exit. The next one waits for the next exit.
	 */
	if (to_svm(vcpu)->virq_injected)
		return;
	c->int_ctl |= V_IRQ_MASK | V_IGN_TPR_MASK |
		      (0xf << V_INTR_PRIO_SHIFT);
	set_intercept(c, INTERCEPT_VINTR);
}

/*
 * Without the next-RIP save feature the length of each intercepted
 * instruction we skip is fixed (no prefixes expected on these).
 */
static u8 insn_len_fallback(u32 exit_code)
{
	switch (exit_code) {
	case SVM_EXIT_HLT:
		return 1;
	case SVM_EXIT_CPUID:
	case SVM_EXIT_MSR:
	case SVM_EXIT_INVD:
	case SVM_EXIT_RDPMC:
		return 2;
	case SVM_EXIT_XSETBV:
		return 3;
	default:
		WARN_ON_ONCE(1);
		return 0;
	}
}

static void svm_skip_instruction(struct ckvm_vcpu *vcpu)
{
	struct vmcb_control_area *c = &to_svm(vcpu)->vmcb->control;
	unsigned long *rip = &vcpu->arch.regs[VCPU_REGS_RIP];

	if (have_nrips && c->next_rip)
		*rip = c->next_rip;
	else
		*rip += insn_len_fallback(c->exit_code);
	ckvm_complete_instruction(vcpu);
}

static void svm_load_mmu_pgd(struct ckvm_vcpu *vcpu, hpa_t root)
{
	struct vmcb *vmcb = to_svm(vcpu)->vmcb;

	if (ckvm_tdp)
		vmcb->control.nested_cr3 = root;
	else
		vmcb->save.cr3 = root;
}

static void svm_clear_interrupt_shadow(struct ckvm_vcpu *vcpu)
{
	to_svm(vcpu)->vmcb->control.int_state &= ~SVM_INTERRUPT_SHADOW_MASK;
}

/*
 * The guest's DR6 lives in the VMCB: set the trap's status bits there, as
 * the CPU does when it raises the #DB (B0-B3 describe only the latest
 * trap, BS and the rest accumulate), and inject the #DB as an exception:
 * it pushes the RIP of the next instruction, which a trap must.
 */
static void svm_queue_debug_trap(struct ckvm_vcpu *vcpu, unsigned long dr6)
{
	/* Called when an instruction completed: EVENTINJ holds nothing. */
	struct vmcb *vmcb = to_svm(vcpu)->vmcb;

	vmcb->save.dr6 = (vmcb->save.dr6 & ~DR_TRAP_BITS) | dr6;
	vmcb->control.event_inj = X86_TRAP_DB | SVM_EVTINJ_VALID |
				  SVM_EVTINJ_TYPE_EXEPT;
}

static bool svm_event_queued(struct ckvm_vcpu *vcpu)
{
	return (to_svm(vcpu)->vmcb->control.event_inj & SVM_EVTINJ_VALID) ||
	       to_svm(vcpu)->virq_injected;
}

/* EVENTINJ as x86/ names it (APM 15.20). */
static void svm_get_event(struct ckvm_vcpu *vcpu, struct ckvm_event *ev)
{
	struct vmcb_control_area *c = &to_svm(vcpu)->vmcb->control;
	u32 inj = c->event_inj;

	memset(ev, 0, sizeof(*ev));
	if (!(inj & SVM_EVTINJ_VALID)) {
		if (to_svm(vcpu)->virq_injected) {
			ev->type = CKVM_EVENT_INTR;
			ev->vector = c->int_vector;
		}
		return;
	}
	ev->vector = inj & SVM_EVTINJ_VEC_MASK;
	switch (inj & SVM_EVTINJ_TYPE_MASK) {
	case SVM_EVTINJ_TYPE_INTR:
		ev->type = CKVM_EVENT_INTR;
		break;
	case SVM_EVTINJ_TYPE_NMI:
		ev->type = CKVM_EVENT_NMI;
		break;
	case SVM_EVTINJ_TYPE_EXEPT:
		ev->type = CKVM_EVENT_EXCEPTION;
		ev->has_error = inj & SVM_EVTINJ_VALID_ERR;
		ev->error_code = c->event_inj_err;
		break;
	default:
		ev->type = CKVM_EVENT_SOFT;
		break;
	}
}

static void svm_cancel_event(struct ckvm_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	svm->vmcb->control.event_inj = 0;
	if (svm->virq_injected) {
		svm->vmcb->control.int_ctl &= ~(V_IRQ_MASK | V_IGN_TPR_MASK |
						V_INTR_PRIO_MASK);
		svm->virq_injected = false;
	}
}

/* One shadow bit: it stands for both STI and MOV SS (APM 15.21.5). */
static u32 svm_get_interrupt_shadow(struct ckvm_vcpu *vcpu)
{
	if (to_svm(vcpu)->vmcb->control.int_state & SVM_INTERRUPT_SHADOW_MASK)
		return KVM_X86_SHADOW_INT_STI | KVM_X86_SHADOW_INT_MOV_SS;
	return 0;
}

static void svm_set_interrupt_shadow(struct ckvm_vcpu *vcpu, u32 mask)
{
	struct vmcb_control_area *c = &to_svm(vcpu)->vmcb->control;

	if (mask & (KVM_X86_SHADOW_INT_STI | KVM_X86_SHADOW_INT_MOV_SS))
		c->int_state |= SVM_INTERRUPT_SHADOW_MASK;
	else
		c->int_state &= ~SVM_INTERRUPT_SHADOW_MASK;
}

/* ---- NMIs ---- */

static void svm_set_nmi_mask(struct ckvm_vcpu *vcpu, bool masked)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	svm->nmi_masked = masked;
	svm->awaiting_iret = false;
	if (masked)
		set_intercept(&svm->vmcb->control, INTERCEPT_IRET);
	else
		clear_intercept(&svm->vmcb->control, INTERCEPT_IRET);
}

static bool svm_get_nmi_mask(struct ckvm_vcpu *vcpu)
{
	return to_svm(vcpu)->nmi_masked;
}

/*
 * An NMI, the shadow (MOV SS blocks NMIs; an STI shadow may, and both
 * are one bit here) and the slot hold the next one off.
 */
static bool svm_nmi_allowed(struct ckvm_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_control_area *c = &svm->vmcb->control;

	return !svm->nmi_masked && !(c->event_inj & SVM_EVTINJ_VALID) &&
	       !(c->int_state & SVM_INTERRUPT_SHADOW_MASK);
}

/* Delivering the NMI blocks NMIs until the guest's handler returns. */
static void svm_inject_nmi(struct ckvm_vcpu *vcpu)
{
	struct vmcb_control_area *c = &to_svm(vcpu)->vmcb->control;

	c->event_inj = X86_TRAP_NMI | SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_NMI;
	svm_set_nmi_mask(vcpu, true);
}

/*
 * While NMIs are blocked the IRET intercept brings the vCPU out. When
 * only the shadow or the slot holds the NMI off, the next exit will do:
 * SVM has no NMI-window intercept (KVM single-steps the guest there).
 */
static void svm_enable_nmi_window(struct ckvm_vcpu *vcpu)
{
}

/*
 * The guest's IRET is about to end its NMI handler: let it run, and
 * take NMIs again once RIP has moved past it (svm_complete_interrupts).
 */
static int handle_iret(struct ckvm_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	clear_intercept(&svm->vmcb->control, INTERCEPT_IRET);
	svm->awaiting_iret = true;
	svm->iret_rip = vcpu->arch.regs[VCPU_REGS_RIP];
	return 1;
}

/* ---- debug registers ---- */

static u64 svm_get_dr6(struct ckvm_vcpu *vcpu)
{
	return to_svm(vcpu)->vmcb->save.dr6;
}

static void svm_set_dr6(struct ckvm_vcpu *vcpu, u64 val)
{
	to_svm(vcpu)->vmcb->save.dr6 = val;
}

static u64 svm_get_dr7(struct ckvm_vcpu *vcpu)
{
	return to_svm(vcpu)->vmcb->save.dr7;
}

static void svm_set_dr7(struct ckvm_vcpu *vcpu, u64 val)
{
	to_svm(vcpu)->vmcb->save.dr7 = val;
}

/* Reads and writes of DR0-7: word INTERCEPT_DR, bits 0-7 and 16-23. */
#define DR_INTERCEPTS	0x00ff00ff

static void svm_set_dr_intercept(struct ckvm_vcpu *vcpu, bool on)
{
	struct vmcb_control_area *c = &to_svm(vcpu)->vmcb->control;

	if (on)
		c->intercepts[INTERCEPT_DR] |= DR_INTERCEPTS;
	else
		c->intercepts[INTERCEPT_DR] &= ~DR_INTERCEPTS;
}

/*
 * KVM_SET_GUEST_DEBUG (x86/debugreg.c): the #BP intercept (APM 15.12)
 * while the debugger wants it; #DB is always intercepted
 * (init_vmcb_control()), handle_db() tells whose it is.
 */
static void svm_update_guest_debug(struct ckvm_vcpu *vcpu)
{
	struct vmcb_control_area *c = &to_svm(vcpu)->vmcb->control;

	if (vcpu->arch.guest_debug & KVM_GUESTDBG_USE_SW_BP)
		set_intercept(c, INTERCEPT_EXCEPTION_OFFSET + X86_TRAP_BP);
	else
		clear_intercept(c, INTERCEPT_EXCEPTION_OFFSET + X86_TRAP_BP);
}

/*
 * An intercepted #DB: the CPU has put its status bits into the VMCB's
 * DR6 (APM 13.1.1.3), the guest's, or scratch while the debugger owns
 * #DB. The guest's own is given back to it: injected, it leaves DR6 as
 * the intercept left it.
 */
static int handle_db(struct ckvm_vcpu *vcpu)
{
	if (!ckvm_guest_debug_owns_db(vcpu)) {
		ckvm_clear_dr7_gd(vcpu);
		ckvm_x86_ops->queue_exception(vcpu, X86_TRAP_DB, false, 0);
		return 1;
	}
	return ckvm_guest_debug_exit(vcpu, X86_TRAP_DB,
				     to_svm(vcpu)->vmcb->save.dr6);
}

/* An intercepted #AC, the guest's: its error code is 0 (APM 8.2.17). */
static int handle_ac(struct ckvm_vcpu *vcpu)
{
	ckvm_x86_ops->queue_exception(vcpu, X86_TRAP_AC, true, 0);
	return 1;
}

/* An intercepted #BP: RIP is still at the INT3. */
static int handle_bp(struct ckvm_vcpu *vcpu)
{
	return ckvm_guest_debug_exit(vcpu, X86_TRAP_BP, 0);
}

/* ---- MSR filter ---- */

/*
 * The guest's own copy of the permission map, made the first time a
 * filter denies a passed-through MSR: those the filter denies exit
 * (ckvm_emulate_rdmsr/wrmsr then apply it), the others stay native.
 */
static void svm_msr_filter_changed(struct ckvm_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	bool deny[ARRAY_SIZE(passthrough_msrs)][2], any = false;
	int i;

	for (i = 0; i < ARRAY_SIZE(passthrough_msrs); i++) {
		deny[i][0] = !ckvm_msr_allowed(vcpu, passthrough_msrs[i],
					       KVM_MSR_FILTER_READ);
		deny[i][1] = !ckvm_msr_allowed(vcpu, passthrough_msrs[i],
					       KVM_MSR_FILTER_WRITE);
		any |= deny[i][0] || deny[i][1];
	}
	if (!svm->msrpm) {
		if (!any)
			return;
		svm->msrpm = (void *)__get_free_pages(GFP_KERNEL_ACCOUNT,
						      get_order(MSRPM_SIZE));
		if (!svm->msrpm) {
			/* Keep exiting for all of them rather than none. */
			pr_warn_ratelimited("ckvm: no memory for an MSR filter\n");
			return;
		}
		memcpy(svm->msrpm, msrpm, MSRPM_SIZE);
		svm->vmcb->control.msrpm_base_pa = __pa(svm->msrpm);
	}
	for (i = 0; i < ARRAY_SIZE(passthrough_msrs); i++)
		msrpm_set(svm->msrpm, passthrough_msrs[i], deny[i][0],
			  deny[i][1]);
}

/*
 * DecodeAssists (APM 15.33): on #NPF and intercepted #PF the CPU stores up
 * to 15 bytes it fetched at CS:RIP, 0 when the fetch itself faulted.
 */
static int svm_get_insn_bytes(struct ckvm_vcpu *vcpu, u8 *buf)
{
	struct vmcb_control_area *c = &to_svm(vcpu)->vmcb->control;
	int n;

	if (!have_decode_assists || c->exit_code != SVM_EXIT_NPF)
		return 0;
	n = min_t(int, c->insn_len, sizeof(c->insn_bytes));
	memcpy(buf, c->insn_bytes, n);
	return n;
}

/* next_rip (NRIPS, APM 15.7.1): set for instruction intercepts, else 0. */
static int svm_get_insn_len(struct ckvm_vcpu *vcpu)
{
	struct vmcb_control_area *c = &to_svm(vcpu)->vmcb->control;
	u64 rip = vcpu->arch.regs[VCPU_REGS_RIP];

	if (!have_nrips || !c->next_rip || c->next_rip <= rip ||
	    c->next_rip - rip > 15)
		return 0;
	return c->next_rip - rip;
}

static void svm_get_exit_info(struct ckvm_vcpu *vcpu, u64 info[5])
{
	struct vmcb_control_area *c = &to_svm(vcpu)->vmcb->control;

	info[0] = c->exit_code;
	info[1] = c->exit_info_1;
	info[2] = c->exit_info_2;
	info[3] = c->exit_int_info;
	info[4] = (c->exit_int_info & SVM_EXITINTINFO_VALID_ERR) ?
		  c->exit_int_info_err : 0;
}

/* A new ASID is a clean TLB: the simplest flush that every CPU has. */
static void svm_flush_tlb(struct ckvm_vcpu *vcpu)
{
	to_svm(vcpu)->asid_generation = 0;
}

/* ---- running the guest ---- */

static void svm_assign_asid(struct svm_vcpu *svm, struct svm_cpu *sd, int cpu)
{
	if (sd->next_asid > max_asid) {
		sd->asid_generation++;
		sd->next_asid = 1;
		svm->vmcb->control.tlb_ctl = TLB_CONTROL_FLUSH_ALL_ASID;
	}
	svm->vmcb->control.asid = sd->next_asid++;
	svm->asid_generation = sd->asid_generation;
	svm->asid_cpu = cpu;
}

/*
 * An event the exit interrupted (e.g. an exception whose delivery hit a
 * nested page fault) must be delivered again on the next entry (APM
 * 15.7.2). Not so an event an instruction raised: INTn (type SOFT), and
 * INT3 and INTO, which the CPU reports as exceptions #BP and #OF but
 * which are traps of an instruction as well. Their return address is the
 * next instruction's, and EVENTINJ can only push that with NRIPS and the
 * instruction's length in NEXT_RIP, which these exits do not report
 * (KVM decodes the instruction to find it). RIP still points at the
 * instruction, so the guest simply executes it again, which is the same
 * event (KVM's approach until 5.19). A #BP or #OF that ckvm injected
 * itself (soft_exception_injected) has no instruction behind it and is
 * injected again; should the guest's own INT3 in the same run be the one
 * interrupted, it is then taken twice (KVM's false positive alike).
 */
static void svm_complete_interrupts(struct svm_vcpu *svm)
{
	struct vmcb_control_area *c = &svm->vmcb->control;
	u32 info = c->exit_int_info;
	u32 type = info & SVM_EXITINTINFO_TYPE_MASK;
	u8 vector = info & SVM_EXITINTINFO_VEC_MASK;

	if (svm->awaiting_iret &&
	    svm->vcpu->arch.regs[VCPU_REGS_RIP] != svm->iret_rip) {
		svm->nmi_masked = false;
		svm->awaiting_iret = false;
	}
	c->event_inj = 0;
	/*
	 * A virtual interrupt the guest took is gone from V_IRQ (the CPU
	 * clears it). One whose delivery an exit interrupted (EXITINTINFO
	 * names its vector) is given again the same way: QEMU's TCG labels
	 * it an exception there, which EVENTINJ would refuse above vector 31.
	 */
	if (svm->virq_injected && (info & SVM_EXITINTINFO_VALID) &&
	    type != SVM_EXITINTINFO_TYPE_NMI && vector == c->int_vector) {
		c->int_ctl |= V_IRQ_MASK;
		return;
	}
	if (svm->virq_injected && !(c->int_ctl & V_IRQ_MASK))
		svm->virq_injected = false;
	if (!(info & SVM_EXITINTINFO_VALID))
		return;
	if (type == SVM_EXITINTINFO_TYPE_SOFT)
		return;
	if (type == SVM_EXITINTINFO_TYPE_EXEPT &&
	    (vector == X86_TRAP_BP || vector == X86_TRAP_OF) &&
	    !svm->soft_exception_injected)
		return;
	c->event_inj = info;
	c->event_inj_err = c->exit_int_info_err;
}

static void svm_run(struct ckvm_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct svm_cpu *sd = this_cpu_ptr(&svm_cpu);
	struct vmcb *vmcb = svm->vmcb;
	unsigned long *regs = vcpu->arch.regs;
	int cpu = smp_processor_id();

	if (svm->asid_cpu != cpu || svm->asid_generation != sd->asid_generation)
		svm_assign_asid(svm, sd, cpu);

	vmcb->save.rax = regs[VCPU_REGS_RAX];
	vmcb->save.rsp = regs[VCPU_REGS_RSP];
	vmcb->save.rip = regs[VCPU_REGS_RIP];
	/*
	 * The CPU delivers an injected #BP or #OF like INT3 and INTO: with
	 * NRIPS its return address is NEXT_RIP (APM 15.20; KVM's nested
	 * code says as much). ckvm's own are exceptions at RIP, as KVM
	 * delivers KVM_GUESTDBG_INJECT_BP after a HLT or port I/O exit.
	 * (QEMU's TCG pushes RIP whatever NEXT_RIP says.)
	 */
	svm->soft_exception_injected =
		(vmcb->control.event_inj & (SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_MASK)) ==
		(SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_EXEPT) &&
		((vmcb->control.event_inj & SVM_EVTINJ_VEC_MASK) == X86_TRAP_BP ||
		 (vmcb->control.event_inj & SVM_EVTINJ_VEC_MASK) == X86_TRAP_OF);
	if (svm->soft_exception_injected && have_nrips)
		vmcb->control.next_rip = regs[VCPU_REGS_RIP];
	/* Tell the CPU every cached VMCB field may have changed. */
	vmcb->control.clean = 0;

	/*
	 * With GIF clear, IF=1 holds the host's interrupts and NMIs until
	 * VMRUN, in the guest, turns them into exits. IF is set here in C,
	 * many instructions before VMRUN, and not by an STI right before
	 * it: VMRUN in the STI shadow would carry the host's shadow into
	 * the guest on CPUs (and emulators) that keep it across VMRUN, where
	 * it swallows the guest's own STI shadow (see
	 * Documentation/interrupts.rst). Raw: for lockdep and tracing,
	 * interrupts stay off.
	 */
	clgi();
	raw_local_irq_enable();
	ckvm_svm_vmrun(regs, svm->vmcb_pa, sd->host_save_pa);
	raw_local_irq_disable();
	stgi();

	regs[VCPU_REGS_RAX] = vmcb->save.rax;
	regs[VCPU_REGS_RSP] = vmcb->save.rsp;
	regs[VCPU_REGS_RIP] = vmcb->save.rip;
	vmcb->control.tlb_ctl = TLB_CONTROL_DO_NOTHING;
	svm_complete_interrupts(svm);
}

/* ---- exit handlers; contract in x86_ops.h ---- */

static int handle_msr(struct ckvm_vcpu *vcpu)
{
	if (to_svm(vcpu)->vmcb->control.exit_info_1)
		return ckvm_emulate_wrmsr(vcpu);
	return ckvm_emulate_rdmsr(vcpu);
}

static int handle_io(struct ckvm_vcpu *vcpu)
{
	struct vmcb_control_area *c = &to_svm(vcpu)->vmcb->control;
	u32 info = c->exit_info_1;
	struct ckvm_pio pio = {
		.port = info >> 16,
		.size = (info & SVM_IOIO_SIZE_MASK) >> SVM_IOIO_SIZE_SHIFT,
		.in = info & SVM_IOIO_TYPE_MASK,
		.string = info & SVM_IOIO_STR_MASK,
		.rep = info & SVM_IOIO_REP_MASK,
		.addr_bytes = ((info & SVM_IOIO_ASIZE_MASK) >>
			       SVM_IOIO_ASIZE_SHIFT) * 2,
		.seg = CKVM_SEG_DS,
		.next_rip = c->exit_info_2,
	};

	/*
	 * The size and address-size fields are one-hot: 1/2/4 and 2/4/8.
	 * QEMU's SVM leaves the address size 0; x86/ then takes the code
	 * segment's default.
	 */
	if (pio.size == 0 || pio.size == 3 || pio.size > 4 ||
	    pio.addr_bytes == 6 || pio.addr_bytes > 8)
		return ckvm_exit_unexpected(vcpu, SVM_EXIT_IOIO);
	return ckvm_emulate_pio(vcpu, &pio);
}

/*
 * #NPF EXITINFO1 above the #PF error code (APM 15.25.6): the fault was on
 * the final gpa of a guest access, or on a guest page-table access.
 */
#define NPF_GUEST_FINAL		BIT_ULL(32)

static int handle_npf(struct ckvm_vcpu *vcpu)
{
	struct vmcb_control_area *c = &to_svm(vcpu)->vmcb->control;
	struct ckvm_tdp_fault f = {
		.gpa = c->exit_info_2,
		.final = c->exit_info_1 & NPF_GUEST_FINAL,
		.vectoring = c->exit_int_info & SVM_EXITINTINFO_VALID,
	};

	if (c->exit_info_1 & X86_PF_WRITE)
		f.access |= CKVM_ACC_WRITE;
	if (c->exit_info_1 & X86_PF_INSTR)
		f.access |= CKVM_ACC_FETCH;
	return ckvm_mmu_tdp_fault(vcpu, &f);
}

/* Shadow paging: a #PF on the shadow tables (APM 15.12: CR2 in info2). */
static int handle_pf(struct ckvm_vcpu *vcpu)
{
	struct vmcb_control_area *c = &to_svm(vcpu)->vmcb->control;

	return ckvm_mmu_page_fault(vcpu, c->exit_info_2, c->exit_info_1);
}

/*
 * Shadow paging: MOV from/to CR0, CR3, CR4 (also CLTS, LMSW, SMSW) and
 * INVLPG. Without DecodeAssists the VMCB names no operand, and QEMU's SVM
 * has none: the instruction is emulated.
 */
static int handle_emulate(struct ckvm_vcpu *vcpu)
{
	return ckvm_emulate_instruction(vcpu);
}

/* A hardware task switch would load the guest's CR3 into the CPU. */
static int handle_task_switch(struct ckvm_vcpu *vcpu)
{
	return ckvm_emulation_failure_exit(vcpu, NULL, 0, NULL, 0);
}

/* The interrupt window is open: close it; the run loop injects. */
static int handle_vintr(struct ckvm_vcpu *vcpu)
{
	struct vmcb_control_area *c = &to_svm(vcpu)->vmcb->control;

	c->int_ctl &= ~(V_IRQ_MASK | V_IGN_TPR_MASK | V_INTR_PRIO_MASK);
	clear_intercept(c, INTERCEPT_VINTR);
	return 1;
}

static int handle_shutdown(struct ckvm_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	/* The VMCB is undefined after a shutdown intercept (APM 15.13). */
	clear_page(svm->vmcb);
	return ckvm_exit_shutdown(vcpu);
}

static int (*const svm_exit_handlers[])(struct ckvm_vcpu *vcpu) = {
	[SVM_EXIT_READ_CR0]	= handle_emulate,
	[SVM_EXIT_READ_CR3]	= handle_emulate,
	[SVM_EXIT_READ_CR4]	= handle_emulate,
	[SVM_EXIT_WRITE_CR0]	= handle_emulate,
	[SVM_EXIT_WRITE_CR3]	= handle_emulate,
	[SVM_EXIT_WRITE_CR4]	= handle_emulate,
	[SVM_EXIT_EXCP_BASE + X86_TRAP_PF] = handle_pf,
	[SVM_EXIT_EXCP_BASE + X86_TRAP_DB] = handle_db,
	[SVM_EXIT_EXCP_BASE + X86_TRAP_BP] = handle_bp,
	[SVM_EXIT_EXCP_BASE + X86_TRAP_AC] = handle_ac,
	[SVM_EXIT_INVLPG]	= handle_emulate,
	[SVM_EXIT_INVPCID]	= ckvm_exit_inject_ud,
	[SVM_EXIT_TASK_SWITCH]	= handle_task_switch,
	[SVM_EXIT_INTR]		= ckvm_exit_external_interrupt,
	[SVM_EXIT_NMI]		= ckvm_exit_reenter,
	[SVM_EXIT_SMI]		= ckvm_exit_reenter,
	[SVM_EXIT_VINTR]	= handle_vintr,
	[SVM_EXIT_RDPMC]	= ckvm_exit_inject_gp,
	[SVM_EXIT_CPUID]	= ckvm_emulate_cpuid,
	[SVM_EXIT_INVD]		= ckvm_emulate_invd,
	[SVM_EXIT_HLT]		= ckvm_emulate_halt,
	[SVM_EXIT_INVLPGA]	= ckvm_exit_inject_ud,
	[SVM_EXIT_IOIO]		= handle_io,
	[SVM_EXIT_MSR]		= handle_msr,
	[SVM_EXIT_SHUTDOWN]	= handle_shutdown,
	[SVM_EXIT_VMRUN]	= ckvm_exit_inject_ud,
	[SVM_EXIT_VMMCALL]	= ckvm_exit_inject_ud,
	[SVM_EXIT_VMLOAD]	= ckvm_exit_inject_ud,
	[SVM_EXIT_VMSAVE]	= ckvm_exit_inject_ud,
	[SVM_EXIT_STGI]		= ckvm_exit_inject_ud,
	[SVM_EXIT_CLGI]		= ckvm_exit_inject_ud,
	[SVM_EXIT_SKINIT]	= ckvm_exit_inject_ud,
	[SVM_EXIT_MONITOR]	= ckvm_exit_inject_ud,
	[SVM_EXIT_MWAIT]	= ckvm_exit_inject_ud,
	[SVM_EXIT_XSETBV]	= ckvm_emulate_xsetbv,
	[SVM_EXIT_NPF]		= handle_npf,
	[SVM_EXIT_IRET]		= handle_iret,
	[SVM_EXIT_READ_DR0 ... SVM_EXIT_READ_DR7]	= ckvm_exit_dr_access,
	[SVM_EXIT_WRITE_DR0 ... SVM_EXIT_WRITE_DR7]	= ckvm_exit_dr_access,
};

static int svm_handle_exit(struct ckvm_vcpu *vcpu)
{
	struct vmcb_control_area *c = &to_svm(vcpu)->vmcb->control;
	u32 code = c->exit_code;

	trace_ckvm_exit(vcpu, CKVM_ISA_SVM);
	if (code == (u32)SVM_EXIT_ERR)
		return ckvm_exit_fail_entry(vcpu, code);
	if (c->exit_code_hi || code >= ARRAY_SIZE(svm_exit_handlers) ||
	    !svm_exit_handlers[code])
		return ckvm_exit_unexpected(vcpu, code);
	return svm_exit_handlers[code](vcpu);
}


const struct ckvm_x86_ops ckvm_svm_ops = {
	.name = "svm",
	.hardware_setup = svm_hardware_setup,
	.hardware_unsetup = svm_hardware_unsetup,
	.hardware_enable = svm_hardware_enable,
	.hardware_disable = svm_hardware_disable,
	.vm_init = svm_vm_init,
	.vm_destroy = svm_vm_destroy,
	.vcpu_create = svm_vcpu_create,
	.vcpu_free = svm_vcpu_free,
	.vcpu_reset = svm_vcpu_reset,
	.vcpu_load = svm_vcpu_load,
	.vcpu_put = svm_vcpu_put,
	.get_segment = svm_get_segment,
	.set_segment = svm_set_segment,
	.get_gdt = svm_get_gdt,
	.set_gdt = svm_set_gdt,
	.get_idt = svm_get_idt,
	.set_idt = svm_set_idt,
	.get_cr = svm_get_cr,
	.set_cr = svm_set_cr,
	.get_efer = svm_get_efer,
	.set_efer = svm_set_efer,
	.get_rflags = svm_get_rflags,
	.set_rflags = svm_set_rflags,
	.get_msr = svm_get_msr,
	.set_msr = svm_set_msr,
	.set_tsc_offset = svm_set_tsc_offset,
	.queue_exception = svm_queue_exception,
	.interrupt_allowed = svm_interrupt_allowed,
	.inject_irq = svm_inject_irq,
	.enable_irq_window = svm_enable_irq_window,
	.skip_instruction = svm_skip_instruction,
	.load_mmu_pgd = svm_load_mmu_pgd,
	.clear_interrupt_shadow = svm_clear_interrupt_shadow,
	.queue_debug_trap = svm_queue_debug_trap,
	.event_queued = svm_event_queued,
	.nmi_allowed = svm_nmi_allowed,
	.inject_nmi = svm_inject_nmi,
	.enable_nmi_window = svm_enable_nmi_window,
	.get_nmi_mask = svm_get_nmi_mask,
	.set_nmi_mask = svm_set_nmi_mask,
	.get_event = svm_get_event,
	.cancel_event = svm_cancel_event,
	.get_interrupt_shadow = svm_get_interrupt_shadow,
	.set_interrupt_shadow = svm_set_interrupt_shadow,
	.get_dr6 = svm_get_dr6,
	.set_dr6 = svm_set_dr6,
	.get_dr7 = svm_get_dr7,
	.set_dr7 = svm_set_dr7,
	.set_dr_intercept = svm_set_dr_intercept,
	.update_guest_debug = svm_update_guest_debug,
	.msr_filter_changed = svm_msr_filter_changed,
	.get_insn_bytes = svm_get_insn_bytes,
	.get_insn_len = svm_get_insn_len,
	.get_exit_info = svm_get_exit_info,
	.flush_tlb = svm_flush_tlb,
	.run = svm_run,
	.handle_exit = svm_handle_exit,
	.tdp = &npt_format,
	/* MCG_CAP 63:9 are reserved on AMD: no MCG_SER_P, as kvm_amd. */
	.mcg_cap_mask = 0x1ff,
};
