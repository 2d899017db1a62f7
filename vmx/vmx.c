// SPDX-License-Identifier: GPL-2.0
/*
 * Intel VMX backend: one VMCS per vCPU, EPT through mmu/, VPID, unrestricted
 * guest (real mode runs natively), and a table of exit handlers. Field
 * encodings and control bits come from <asm/vmx.h>; the rules from the
 * Intel SDM volume 3, chapters 24-28.
 *
 * The guest state lives in struct vmx_vcpu (like a VMCB in memory), so the
 * state accessors work whether or not the VMCS is loaded on this CPU. It is
 * written to the VMCS before an entry when something changed it and read
 * back after every exit (the guest changes it freely while it runs).
 */
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <asm/cpu_entry_area.h>
#include <asm/debugreg.h>
#include <asm/desc.h>
#include <asm/io.h>
#include <asm/msr-index.h>
#include <asm/processor.h>
#include <asm/tlbflush.h>
#include <asm/trapnr.h>
#include <asm/tsc.h>
#include <asm/vmx.h>

#include "ckvm.h"
#include "x86_ops.h"
#include "x86_state.h"
#include "trace.h"
#include "vmx.h"

#define VMX_NR_VPIDS	(1 << 16)

/* The VMCS region: revision identifier, abort indicator, opaque data. */
struct vmcs {
	u32 revision_id;
	u32 abort;
	char data[];
};

/* Per host CPU. */
struct vmx_cpu {
	struct vmcs *vmxon_region;
	struct vmcs *current_vmcs;	/* what VMPTRLD made current */
	struct list_head loaded;	/* vmx_vcpus whose VMCS is active here */
	u64 host_syscall_msrs[4];	/* STAR, LSTAR, CSTAR, SFMASK */
	bool enabled;
};

/* The syscall MSRs the guest keeps in its own soft copy (intercepted). */
static const u32 syscall_msrs[4] = {
	MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK,
};

static DEFINE_PER_CPU(struct vmx_cpu, vmx_cpu);
struct vmcs_config vmcs_conf;

static unsigned long *msr_bitmap;
static unsigned long *vpid_bitmap;
static DEFINE_SPINLOCK(vpid_lock);

/*
 * EPT entries: read/write/execute bits; a leaf carries the memory type. WB
 * with "ignore PAT" keeps guest memory the cacheable host memory it is,
 * whatever the guest's PAT says (KVM does the same without assigned DMA).
 */
static struct ckvm_tdp_format ept_format = {
	.table = VMX_EPT_RWX_MASK,
	.readable = VMX_EPT_READABLE_MASK,
	.writable = VMX_EPT_WRITABLE_MASK,
	.executable = VMX_EPT_EXECUTABLE_MASK,
	.nx = 0,
	.leaf = (VMX_EPTP_MT_WB << VMX_EPT_MT_EPTE_SHIFT) | VMX_EPT_IPAT_BIT,
	.root_level = 4,
};

/*
 * CR0.NE must be 1 in VMX operation and CR4.VMXE while VMX is on: both are
 * owned by the host, and the guest reads its own values from the shadows.
 */
#define CR0_HOST_OWNED	X86_CR0_NE
#define CR4_HOST_OWNED	X86_CR4_VMXE

/* ---- VMX instructions ---- */

static void vmcs_write(unsigned long field, unsigned long value)
{
	u8 failed;

	asm volatile("vmwrite %1, %2; setna %0"
		     : "=qm"(failed) : "rm"(value), "r"(field) : "cc");
	if (unlikely(failed))
		pr_err_ratelimited("ckvm: vmwrite of field 0x%lx = 0x%lx failed (error %lu)\n",
				   field, value, vmcs_read(VM_INSTRUCTION_ERROR));
}

static void vmcs_clear(u64 pa)
{
	asm volatile("vmclear %0" : : "m"(pa) : "cc", "memory");
}

static void vmcs_load(u64 pa)
{
	asm volatile("vmptrld %0" : : "m"(pa) : "cc", "memory");
}

static void invept(unsigned long type, u64 eptp)
{
	struct { u64 eptp, reserved; } desc = { eptp, 0 };

	asm volatile("invept %0, %1" : : "m"(desc), "r"(type) : "cc", "memory");
}

static void invvpid(unsigned long type, u16 vpid)
{
	struct { u64 vpid, gva; } desc = { vpid, 0 };

	asm volatile("invvpid %0, %1" : : "m"(desc), "r"(type) : "cc", "memory");
}

/* Drop every EPT-derived translation of this EPTP, all VPIDs included. */
static void ept_flush(u64 eptp)
{
	if (vmcs_conf.ept_cap & VMX_EPT_EXTENT_CONTEXT_BIT)
		invept(VMX_EPT_EXTENT_CONTEXT, eptp);
	else
		invept(VMX_EPT_EXTENT_GLOBAL, 0);
}

static void vpid_flush(u16 vpid)
{
	if (!vpid)
		return;
	if (vmcs_conf.ept_cap & ((u64)VMX_VPID_EXTENT_SINGLE_CONTEXT_BIT << 32))
		invvpid(VMX_VPID_EXTENT_SINGLE_CONTEXT, vpid);
	else
		invvpid(VMX_VPID_EXTENT_ALL_CONTEXT, 0);
}

/* ---- module and CPU setup ---- */

/* Fold the allowed-0/allowed-1 settings of a capability MSR into @ctl. */
static int adjust_controls(u32 min, u32 opt, u32 msr, u32 *ctl)
{
	u32 lo, hi, c = min | opt;

	rdmsr(msr, lo, hi);
	c &= hi;		/* bits that may be 1 */
	c |= lo;		/* bits that must be 1 */
	if ((c & min) != min)
		return -EIO;
	*ctl = c;
	return 0;
}

static int setup_vmcs_config(void)
{
	struct vmcs_config *c = &vmcs_conf;
	u64 basic, msr;
	bool true_ctls;

	rdmsrl(MSR_IA32_VMX_BASIC, basic);
	c->revision_id = basic & 0x7fffffff;
	c->size = (basic >> 32) & 0x1fff;
	/* Bit 55: the TRUE_* MSRs may allow 0 for "default1" controls. */
	true_ctls = basic & BIT_ULL(55);
	c->has_ins_outs_info = basic & BIT_ULL(54);
	if (c->size > PAGE_SIZE || ((basic >> 50) & 0xf) != 6) {
		pr_err("ckvm: VMX needs a VMCS of at most a page in write-back memory (IA32_VMX_BASIC 0x%llx)\n",
		       basic);
		return -EIO;
	}

	if (adjust_controls(PIN_BASED_EXT_INTR_MASK | PIN_BASED_NMI_EXITING |
			    PIN_BASED_VIRTUAL_NMIS,
			    PIN_BASED_VMX_PREEMPTION_TIMER,
			    true_ctls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS :
					MSR_IA32_VMX_PINBASED_CTLS, &c->pin) ||
	    adjust_controls(CPU_BASED_HLT_EXITING | CPU_BASED_UNCOND_IO_EXITING |
			    CPU_BASED_USE_MSR_BITMAPS | CPU_BASED_MWAIT_EXITING |
			    CPU_BASED_MONITOR_EXITING | CPU_BASED_RDPMC_EXITING |
			    CPU_BASED_CR8_LOAD_EXITING |
			    CPU_BASED_CR8_STORE_EXITING |
			    CPU_BASED_MOV_DR_EXITING |
			    CPU_BASED_USE_TSC_OFFSETTING |
			    CPU_BASED_ACTIVATE_SECONDARY_CONTROLS, 0,
			    true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS :
					MSR_IA32_VMX_PROCBASED_CTLS, &c->proc)) {
		pr_err("ckvm: this CPU's VMX lacks external-interrupt, NMI, HLT, I/O, MSR-bitmap, CR8 or MOV-DR exiting, or virtual NMIs\n");
		return -EIO;
	}
	if (adjust_controls(0, SECONDARY_EXEC_ENABLE_EPT |
			    SECONDARY_EXEC_UNRESTRICTED_GUEST |
			    SECONDARY_EXEC_ENABLE_VPID |
			    SECONDARY_EXEC_ENABLE_RDTSCP |
			    SECONDARY_EXEC_ENABLE_INVPCID,
			    MSR_IA32_VMX_PROCBASED_CTLS2, &c->proc2)) {
		pr_err("ckvm: this CPU's VMX has no secondary controls\n");
		return -EIO;
	}
	/* Unrestricted guest requires EPT; without both, shadow paging. */
	if ((c->proc2 & (SECONDARY_EXEC_ENABLE_EPT |
			 SECONDARY_EXEC_UNRESTRICTED_GUEST)) !=
	    (SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_UNRESTRICTED_GUEST) &&
	    ckvm_tdp) {
		pr_info("ckvm: this CPU's VMX has no EPT with unrestricted guest: shadow paging\n");
		ckvm_tdp = false;
	}
	if (!ckvm_tdp)
		c->proc2 &= ~(SECONDARY_EXEC_ENABLE_EPT |
			      SECONDARY_EXEC_UNRESTRICTED_GUEST |
			      SECONDARY_EXEC_ENABLE_INVPCID);
	if (adjust_controls(VM_EXIT_HOST_ADDR_SPACE_SIZE |
			    VM_EXIT_LOAD_IA32_EFER | VM_EXIT_SAVE_IA32_EFER |
			    VM_EXIT_SAVE_DEBUG_CONTROLS,
			    VM_EXIT_LOAD_IA32_PAT | VM_EXIT_SAVE_IA32_PAT,
			    true_ctls ? MSR_IA32_VMX_TRUE_EXIT_CTLS :
					MSR_IA32_VMX_EXIT_CTLS, &c->exit) ||
	    adjust_controls(VM_ENTRY_LOAD_IA32_EFER |
			    VM_ENTRY_LOAD_DEBUG_CONTROLS, VM_ENTRY_LOAD_IA32_PAT,
			    true_ctls ? MSR_IA32_VMX_TRUE_ENTRY_CTLS :
					MSR_IA32_VMX_ENTRY_CTLS, &c->entry)) {
		pr_err("ckvm: this CPU's VMX cannot switch IA32_EFER and DR7 on entry and exit\n");
		return -EIO;
	}
	/* The interrupt window of the in-kernel irqchip, set per entry. */
	rdmsrl(true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS :
			   MSR_IA32_VMX_PROCBASED_CTLS, msr);
	if (!((msr >> 32) & CPU_BASED_INTR_WINDOW_EXITING) ||
	    !((msr >> 32) & CPU_BASED_NMI_WINDOW_EXITING)) {
		pr_err("ckvm: this CPU's VMX lacks interrupt-window or NMI-window exiting\n");
		return -EIO;
	}
	/* Never acknowledge interrupts on exit: the host takes them itself. */
	c->exit &= ~VM_EXIT_ACK_INTR_ON_EXIT;
	/*
	 * CR3 accesses and INVLPG need no exit with EPT, whatever the
	 * defaults are; shadow paging needs them all (every CPU has them).
	 */
	if (ckvm_tdp)
		c->proc &= ~(CPU_BASED_CR3_LOAD_EXITING |
			     CPU_BASED_CR3_STORE_EXITING |
			     CPU_BASED_INVLPG_EXITING);
	else
		c->proc |= CPU_BASED_CR3_LOAD_EXITING |
			   CPU_BASED_CR3_STORE_EXITING |
			   CPU_BASED_INVLPG_EXITING;
	c->has_pat = (c->exit & VM_EXIT_LOAD_IA32_PAT) &&
		     (c->exit & VM_EXIT_SAVE_IA32_PAT) &&
		     (c->entry & VM_ENTRY_LOAD_IA32_PAT);

	if (rdmsrl_safe(MSR_IA32_VMX_EPT_VPID_CAP, &c->ept_cap))
		c->ept_cap = 0;
	if (ckvm_tdp && (!(c->ept_cap & VMX_EPT_PAGE_WALK_4_BIT) ||
	    !(c->ept_cap & VMX_EPTP_WB_BIT) ||
	    !(c->ept_cap & VMX_EPT_INVEPT_BIT) ||
	    !(c->ept_cap & (VMX_EPT_EXTENT_CONTEXT_BIT |
			    VMX_EPT_EXTENT_GLOBAL_BIT)))) {
		pr_err("ckvm: this CPU's EPT lacks 4-level walks, write-back tables or INVEPT (IA32_VMX_EPT_VPID_CAP 0x%llx)\n",
		       c->ept_cap);
		return -EIO;
	}
	c->has_vpid = (c->proc2 & SECONDARY_EXEC_ENABLE_VPID) &&
		      (c->ept_cap & ((u64)VMX_VPID_INVVPID_BIT << 32)) &&
		      (c->ept_cap & ((u64)(VMX_VPID_EXTENT_SINGLE_CONTEXT_BIT |
					   VMX_VPID_EXTENT_GLOBAL_CONTEXT_BIT) << 32));
	if (!c->has_vpid)
		c->proc2 &= ~SECONDARY_EXEC_ENABLE_VPID;

	/*
	 * A guest never runs longer than a host tick without an exit. An
	 * external interrupt should see to that already, but Bochs 2.7 does
	 * not exit for one while the guest runs with RFLAGS.IF=0 (measured:
	 * kvm_intel then stalls RCU on it too); this timer bounds the wait.
	 */
	if (c->pin & PIN_BASED_VMX_PREEMPTION_TIMER) {
		u64 misc, ticks;

		rdmsrl(MSR_IA32_VMX_MISC, misc);
		ticks = ((u64)tsc_khz * 1000 / HZ) >>
			vmx_misc_preemption_timer_rate(misc);
		c->preempt_ticks = clamp_t(u64, ticks, 1, U32_MAX);
	}

	rdmsrl(MSR_IA32_VMX_CR0_FIXED0, c->cr0_fixed0);
	rdmsrl(MSR_IA32_VMX_CR0_FIXED1, c->cr0_fixed1);
	rdmsrl(MSR_IA32_VMX_CR4_FIXED0, c->cr4_fixed0);
	rdmsrl(MSR_IA32_VMX_CR4_FIXED1, c->cr4_fixed1);
	/* Unrestricted guest: PE and PG may be 0. */
	if (ckvm_tdp)
		c->cr0_fixed0 &= ~(u64)(X86_CR0_PE | X86_CR0_PG);
	return 0;
}

/*
 * Whether RDMSR and WRMSR of @msr exit, in the MSR bitmap @bm (SDM
 * 24.6.9): bitmaps of reads, then of writes, each low MSRs then high.
 */
static void msr_bitmap_set(unsigned long *bm, u32 msr, bool read, bool write)
{
	unsigned long bit;

	if (msr < 0x2000)
		bit = msr;
	else if (msr >= 0xc0000000 && msr < 0xc0002000)
		bit = 1024 * 8 + (msr - 0xc0000000);
	else
		return (void)WARN_ON_ONCE(1);
	__assign_bit(bit, bm, read);
	__assign_bit(bit + 2048 * 8, bm, write);
}

/* Intercept every MSR except @allowed. */
static void msr_bitmap_allow(u32 msr)
{
	msr_bitmap_set(msr_bitmap, msr, false, false);
}

/* The MSRs whose guest values the VMCS or vmx_run() switches. */
static const u32 passthrough_msrs[] = {
	MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE, MSR_IA32_SYSENTER_CS,
	MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
};

static void vmx_free_cpu_pages(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct vmx_cpu *vc = per_cpu_ptr(&vmx_cpu, cpu);

		free_page((unsigned long)vc->vmxon_region);
		vc->vmxon_region = NULL;
	}
}

static void vmx_hardware_unsetup(void)
{
	vmx_free_cpu_pages();
	free_page((unsigned long)msr_bitmap);
	bitmap_free(vpid_bitmap);
	msr_bitmap = NULL;
	vpid_bitmap = NULL;
}

static int vmx_hardware_setup(void)
{
	u64 feat;
	int cpu, i, r;

	rdmsrl(MSR_IA32_FEAT_CTL, feat);
	if (!(feat & FEAT_CTL_LOCKED) ||
	    !(feat & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX)) {
		pr_err("ckvm: VMX is disabled by the firmware (IA32_FEATURE_CONTROL 0x%llx): turn on virtualization (VT-x) in the BIOS setup\n",
		       feat);
		return -ENODEV;
	}
	r = setup_vmcs_config();
	if (r)
		return -ENODEV;

	msr_bitmap = (unsigned long *)__get_free_page(GFP_KERNEL);
	vpid_bitmap = bitmap_zalloc(VMX_NR_VPIDS, GFP_KERNEL);
	if (!msr_bitmap || !vpid_bitmap)
		goto err;
	memset(msr_bitmap, 0xff, PAGE_SIZE);
	for (i = 0; i < ARRAY_SIZE(passthrough_msrs); i++)
		msr_bitmap_allow(passthrough_msrs[i]);
	__set_bit(0, vpid_bitmap);	/* VPID 0 is the host's */

	for_each_possible_cpu(cpu) {
		struct vmx_cpu *vc = per_cpu_ptr(&vmx_cpu, cpu);
		struct page *page;

		page = alloc_pages_node(cpu_to_node(cpu),
					GFP_KERNEL | __GFP_ZERO, 0);
		if (!page)
			goto err;
		vc->vmxon_region = page_address(page);
		vc->vmxon_region->revision_id = vmcs_conf.revision_id;
		INIT_LIST_HEAD(&vc->loaded);
	}
	return 0;

err:
	vmx_hardware_unsetup();
	return -ENOMEM;
}

static int vmx_hardware_enable(void)
{
	struct vmx_cpu *vc = this_cpu_ptr(&vmx_cpu);
	u64 pa = __pa(vc->vmxon_region);
	int i;

	if (vc->enabled)
		return 0;
	if (cr4_read_shadow() & X86_CR4_VMXE) {
		pr_err("ckvm: VMX is already enabled on CPU %d: another hypervisor owns it; unload it first (e.g. rmmod kvm_intel)\n",
		       smp_processor_id());
		return -EBUSY;
	}
	cr4_set_bits(X86_CR4_VMXE);
	/*
	 * The checks above rule out the #GP cases (feature control, CR4);
	 * VMfailInvalid (CF) or VMfailValid (ZF) remain.
	 */
	asm goto("vmxon %[pa]; jna %l[fail]"
		 : : [pa] "m"(pa) : "cc", "memory" : fail);
	/* Translations another hypervisor left behind are not ours. */
	if (vmcs_conf.ept_cap & VMX_EPT_EXTENT_GLOBAL_BIT)
		invept(VMX_EPT_EXTENT_GLOBAL, 0);
	for (i = 0; i < ARRAY_SIZE(syscall_msrs); i++)
		rdmsrl(syscall_msrs[i], vc->host_syscall_msrs[i]);
	vc->current_vmcs = NULL;
	vc->enabled = true;
	return 0;

fail:
	cr4_clear_bits(X86_CR4_VMXE);
	pr_err("ckvm: VMXON failed on CPU %d\n", smp_processor_id());
	return -EIO;
}

static void vmx_clear_loaded(struct vmx_vcpu *vmx)
{
	struct vmx_cpu *vc = this_cpu_ptr(&vmx_cpu);

	vmcs_clear(vmx->vmcs_pa);
	if (vc->current_vmcs == vmx->vmcs)
		vc->current_vmcs = NULL;
	list_del(&vmx->loaded_link);
	vmx->launched = false;
	/* Unlinked before another CPU may see cpu == -1 and link it again. */
	smp_wmb();
	WRITE_ONCE(vmx->cpu, -1);
}

static void vmx_hardware_disable(void)
{
	struct vmx_cpu *vc = this_cpu_ptr(&vmx_cpu);
	struct vmx_vcpu *vmx, *tmp;

	if (!vc->enabled)
		return;
	/* VMXOFF with an active VMCS would leave its data in the CPU. */
	list_for_each_entry_safe(vmx, tmp, &vc->loaded, loaded_link)
		vmx_clear_loaded(vmx);
	asm volatile("vmxoff" : : : "cc", "memory");
	cr4_clear_bits(X86_CR4_VMXE);
	vc->enabled = false;
}

/* ---- VM and vCPU ---- */

/*
 * The TSS of virtual-8086 mode (SDM 20.3): its I/O permission bitmap and
 * interrupt redirection bitmap all zero, so that the guest's IN/OUT reach
 * their VM exits (I/O exiting) and its INT n run through its own vector
 * table (CR4.VME), and a last byte of ones ending the bitmap.
 */
#define RMODE_TSS_IOMAP		(104 + 32)
#define RMODE_TSS_LIMIT		(RMODE_TSS_IOMAP + 8192)

static int vmx_vm_init(struct ckvm *vm)
{
	struct page *p;
	u8 *tss;

	if (ckvm_tdp)
		return 0;
	p = alloc_pages(GFP_KERNEL_ACCOUNT | __GFP_ZERO, 2);
	if (!p)
		return -ENOMEM;
	tss = page_address(p);
	*(u16 *)(tss + 0x66) = RMODE_TSS_IOMAP;
	tss[RMODE_TSS_LIMIT] = 0xff;
	vm->arch.rmode_tss = p;
	return 0;
}

static void vmx_vm_destroy(struct ckvm *vm)
{
	if (vm->arch.rmode_tss)
		__free_pages(vm->arch.rmode_tss, 2);
	vm->arch.rmode_tss = NULL;
}

static u16 vpid_alloc(void)
{
	unsigned long v;

	if (!vmcs_conf.has_vpid)
		return 0;
	spin_lock(&vpid_lock);
	v = find_first_zero_bit(vpid_bitmap, VMX_NR_VPIDS);
	if (v < VMX_NR_VPIDS)
		__set_bit(v, vpid_bitmap);
	else
		v = 0;		/* share the host's: flushed on every entry */
	spin_unlock(&vpid_lock);
	return v;
}

static void vpid_free(u16 vpid)
{
	if (!vpid)
		return;
	spin_lock(&vpid_lock);
	__clear_bit(vpid, vpid_bitmap);
	spin_unlock(&vpid_lock);
}

static void init_seg(struct vmx_seg *s, u32 ar)
{
	s->selector = 0;
	s->base = 0;
	s->limit = 0xffff;
	s->ar = ar;
}

/* RESET state (SDM 9.1.1, and KVM's vCPU reset for the same state). */
static void vmx_vcpu_reset(struct ckvm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	/* Present, S=1, type 3: read/write data, accessed. */
	const u32 data = VMX_AR_P_MASK | VMX_AR_S_MASK | 3;

	init_seg(&vmx->seg[CKVM_SEG_ES], data);
	init_seg(&vmx->seg[CKVM_SEG_SS], data);
	init_seg(&vmx->seg[CKVM_SEG_DS], data);
	init_seg(&vmx->seg[CKVM_SEG_FS], data);
	init_seg(&vmx->seg[CKVM_SEG_GS], data);
	/* Type 11: execute/read code, accessed. */
	init_seg(&vmx->seg[CKVM_SEG_CS], VMX_AR_P_MASK | VMX_AR_S_MASK | 11);
	vmx->seg[CKVM_SEG_CS].selector = 0xf000;
	vmx->seg[CKVM_SEG_CS].base = 0xffff0000;
	init_seg(&vmx->seg[CKVM_SEG_LDTR], VMX_AR_P_MASK | VMX_AR_TYPE_LDT);
	init_seg(&vmx->seg[CKVM_SEG_TR], VMX_AR_P_MASK | VMX_AR_TYPE_BUSY_32_TSS);
	vmx->gdt_base = 0;
	vmx->gdt_limit = 0xffff;
	vmx->idt_base = 0;
	vmx->idt_limit = 0xffff;
	vmx->cr0 = X86_CR0_NW | X86_CR0_CD | X86_CR0_ET;
	vmx->cr2 = 0;
	vmx->cr3 = 0;
	vmx->cr4 = 0;
	vmx->cr8 = 0;
	vmx->efer = 0;
	vmx->pat = CKVM_PAT_RESET;
	vmx->dr7 = CKVM_DR7_RESET;
	vmx->rflags = X86_EFLAGS_FIXED;
	vmx->sysenter_cs = 0;
	vmx->sysenter_esp = 0;
	vmx->sysenter_eip = 0;
	vmx->kernel_gs_base = 0;
	memset(vmx->syscall_msrs, 0, sizeof(vmx->syscall_msrs));
	vmx->interruptibility = 0;
	vmx->pending_dbg = 0;
	vmx->irq_window = false;
	vmx->nmi_window = false;
	vmx->dr_exiting = true;
	vmx->dr6 = DR6_RESERVED;
	vmx->event_inj = 0;
	vmx->event_inj_err = 0;
	vmx->event_inj_len = 0;
	vmx->state_dirty = true;
	vmx->need_flush = true;
}

static int vmx_vcpu_create(struct ckvm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx;
	struct page *page;

	vmx = kzalloc(sizeof(*vmx), GFP_KERNEL_ACCOUNT);
	if (!vmx)
		return -ENOMEM;
	page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!page) {
		kfree(vmx);
		return -ENOMEM;
	}
	vmx->vcpu = vcpu;
	vmx->vmcs = page_address(page);
	vmx->vmcs->revision_id = vmcs_conf.revision_id;
	vmx->vmcs_pa = page_to_phys(page);
	vmx->cpu = -1;
	INIT_LIST_HEAD(&vmx->loaded_link);
	vmx->vpid = vpid_alloc();
	/* A new VMCS must be cleared once: that sets its launch state. */
	preempt_disable();
	vmcs_clear(vmx->vmcs_pa);
	preempt_enable();
	vcpu->arch.vendor = vmx;
	return 0;
}

static void vmx_clear_on_cpu(void *arg)
{
	struct vmx_vcpu *vmx = arg;

	if (READ_ONCE(vmx->cpu) == raw_smp_processor_id())
		vmx_clear_loaded(vmx);
}

/* Make the VMCS inactive wherever it is active (SDM 24.11.1). */
static void vmx_clear_remote(struct vmx_vcpu *vmx)
{
	int cpu = READ_ONCE(vmx->cpu);

	if (cpu >= 0)
		smp_call_function_single(cpu, vmx_clear_on_cpu, vmx, 1);
}

static void vmx_vcpu_free(struct ckvm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	vmx_clear_remote(vmx);
	vpid_free(vmx->vpid);
	free_page((unsigned long)vmx->vmcs);
	free_page((unsigned long)vmx->msr_bitmap);
	kfree(vmx);
}

/* Controls and host state that stay the same on every CPU. */
static void vmx_init_vmcs(struct vmx_vcpu *vmx)
{
	u64 v;

	vmcs_write(PIN_BASED_VM_EXEC_CONTROL, vmcs_conf.pin);
	vmcs_write(CPU_BASED_VM_EXEC_CONTROL, vmcs_conf.proc);
	vmx->proc_ctl = vmcs_conf.proc;
	vmcs_write(SECONDARY_VM_EXEC_CONTROL, vmcs_conf.proc2);
	vmcs_write(VM_EXIT_CONTROLS, vmcs_conf.exit);
	vmcs_write(VM_ENTRY_CONTROLS, vmcs_conf.entry);
	vmcs_write(EXCEPTION_BITMAP, VMX_EB_ALWAYS);
	vmx->exception_bitmap = VMX_EB_ALWAYS;
	vmcs_write(PAGE_FAULT_ERROR_CODE_MASK, 0);
	vmcs_write(PAGE_FAULT_ERROR_CODE_MATCH, 0);
	vmcs_write(CR3_TARGET_COUNT, 0);
	vmcs_write(VM_EXIT_MSR_STORE_COUNT, 0);
	vmcs_write(VM_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write(VM_ENTRY_MSR_LOAD_COUNT, 0);
	vmcs_write(MSR_BITMAP, __pa(vmx->msr_bitmap ?: msr_bitmap));
	vmx->eptp_dirty = true;
	if (vmcs_conf.has_vpid)
		vmcs_write(VIRTUAL_PROCESSOR_ID, vmx->vpid);
	/* Shadow paging owns every bit: each write exits, reads see shadows. */
	vmcs_write(CR0_GUEST_HOST_MASK, ckvm_tdp ? CR0_HOST_OWNED : ~0UL);
	vmcs_write(CR4_GUEST_HOST_MASK, ckvm_tdp ? CR4_HOST_OWNED : ~0UL);
	vmcs_write(VMCS_LINK_POINTER, -1ull);

	vmcs_write(HOST_CR0, read_cr0());
	vmcs_write(HOST_CS_SELECTOR, __KERNEL_CS);
	vmcs_write(HOST_SS_SELECTOR, __KERNEL_DS);
	/* Null data selectors; vmx_run() puts back what the host had. */
	vmcs_write(HOST_DS_SELECTOR, 0);
	vmcs_write(HOST_ES_SELECTOR, 0);
	vmcs_write(HOST_FS_SELECTOR, 0);
	vmcs_write(HOST_GS_SELECTOR, 0);
	vmcs_write(HOST_TR_SELECTOR, GDT_ENTRY_TSS * 8);
	vmcs_write(HOST_RIP, (unsigned long)ckvm_vmx_vmexit);
	rdmsrl(MSR_IA32_SYSENTER_CS, v);
	vmcs_write(HOST_IA32_SYSENTER_CS, v);
	rdmsrl(MSR_IA32_SYSENTER_EIP, v);
	vmcs_write(HOST_IA32_SYSENTER_EIP, v);
	rdmsrl(MSR_EFER, v);
	vmcs_write(HOST_IA32_EFER, v);
	if (vmcs_conf.has_pat) {
		rdmsrl(MSR_IA32_CR_PAT, v);
		vmcs_write(HOST_IA32_PAT, v);
	}
	vmx->host_cr3 = 0;
	vmx->host_cr4 = 0;
	vmx->host_fs_base = 0;
	vmx->initialized = true;
}

/* Host state that differs between CPUs. */
static void vmx_set_host_cpu_state(struct vmx_vcpu *vmx, int cpu)
{
	struct desc_ptr idt;
	u64 v;

	vmcs_write(HOST_TR_BASE,
		   (unsigned long)&get_cpu_entry_area(cpu)->tss.x86_tss);
	vmcs_write(HOST_GDTR_BASE, (unsigned long)get_current_gdt_ro());
	store_idt(&idt);
	vmcs_write(HOST_IDTR_BASE, idt.address);
	rdmsrl(MSR_IA32_SYSENTER_ESP, v);
	vmcs_write(HOST_IA32_SYSENTER_ESP, v);
	rdmsrl(MSR_GS_BASE, v);
	vmcs_write(HOST_GS_BASE, v);
}

static void vmx_vcpu_load(struct ckvm_vcpu *vcpu, int cpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	struct vmx_cpu *vc = per_cpu_ptr(&vmx_cpu, cpu);
	unsigned long flags;

	if (vmx->cpu != cpu) {
		/* Active on the old CPU: clear it there before loading here. */
		vmx_clear_remote(vmx);
		/* Pairs with the smp_wmb() in vmx_clear_loaded(). */
		smp_rmb();
		local_irq_save(flags);
		list_add(&vmx->loaded_link, &vc->loaded);
		vmx->cpu = cpu;
		local_irq_restore(flags);
		vmx->launched = false;
		vmx->host_cpu_dirty = true;
		/* This CPU may hold translations from an earlier visit. */
		vmx->need_flush = true;
	}
	if (vc->current_vmcs != vmx->vmcs) {
		vmcs_load(vmx->vmcs_pa);
		vc->current_vmcs = vmx->vmcs;
	}
	if (!vmx->initialized)
		vmx_init_vmcs(vmx);
	if (vmx->host_cpu_dirty) {
		vmx_set_host_cpu_state(vmx, cpu);
		vmx->host_cpu_dirty = false;
	}
}

/* The VMCS stays active on this CPU; vmx_vcpu_load() moves it. */
static void vmx_vcpu_put(struct ckvm_vcpu *vcpu)
{
}

/* ---- state accessors ---- */

static void vmx_get_segment(struct ckvm_vcpu *vcpu, struct kvm_segment *var,
			    int seg)
{
	struct vmx_seg *s = &to_vmx(vcpu)->seg[seg];
	u32 ar = s->ar;

	var->base = s->base;
	var->limit = s->limit;
	var->selector = s->selector;
	var->unusable = !!(ar & VMX_AR_UNUSABLE_MASK);
	var->type = ar & VMX_AR_TYPE_MASK;
	var->s = !!(ar & VMX_AR_S_MASK);
	var->dpl = VMX_AR_DPL(ar);
	/* A usable segment is present (SDM 26.3.1.2): report it so. */
	var->present = !var->unusable;
	var->avl = (ar >> 12) & 1;
	var->l = !!(ar & VMX_AR_L_MASK);
	var->db = !!(ar & VMX_AR_DB_MASK);
	var->g = !!(ar & VMX_AR_G_MASK);
	var->padding = 0;
}

static void vmx_set_segment(struct ckvm_vcpu *vcpu,
			    const struct kvm_segment *var, int seg)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	struct vmx_seg *s = &vmx->seg[seg];
	u32 type = var->type;

	s->base = var->base;
	s->limit = var->limit;
	s->selector = var->selector;
	/*
	 * Unrestricted guest requires the accessed bit in every usable
	 * segment but LDTR, which the CPU would have set on the first load;
	 * KVM sets it too, for userspace that leaves it clear at reset.
	 */
	if (seg != CKVM_SEG_LDTR)
		type |= VMX_AR_TYPE_ACCESSES_MASK;
	if (var->unusable || !var->present)
		s->ar = VMX_AR_UNUSABLE_MASK;
	else
		s->ar = (type & VMX_AR_TYPE_MASK) |
			(var->s ? VMX_AR_S_MASK : 0) |
			((var->dpl & 3) << VMX_AR_DPL_SHIFT) | VMX_AR_P_MASK |
			((var->avl & 1) << 12) |
			(var->l ? VMX_AR_L_MASK : 0) |
			(var->db ? VMX_AR_DB_MASK : 0) |
			(var->g ? VMX_AR_G_MASK : 0);
	vmx->state_dirty = true;
}

static void vmx_get_gdt(struct ckvm_vcpu *vcpu, struct kvm_dtable *dt)
{
	dt->base = to_vmx(vcpu)->gdt_base;
	dt->limit = to_vmx(vcpu)->gdt_limit;
}

static void vmx_set_gdt(struct ckvm_vcpu *vcpu, const struct kvm_dtable *dt)
{
	to_vmx(vcpu)->gdt_base = dt->base;
	to_vmx(vcpu)->gdt_limit = dt->limit;
	to_vmx(vcpu)->state_dirty = true;
}

static void vmx_get_idt(struct ckvm_vcpu *vcpu, struct kvm_dtable *dt)
{
	dt->base = to_vmx(vcpu)->idt_base;
	dt->limit = to_vmx(vcpu)->idt_limit;
}

static void vmx_set_idt(struct ckvm_vcpu *vcpu, const struct kvm_dtable *dt)
{
	to_vmx(vcpu)->idt_base = dt->base;
	to_vmx(vcpu)->idt_limit = dt->limit;
	to_vmx(vcpu)->state_dirty = true;
}

/*
 * PAE paging outside IA-32e mode: with EPT the CPU takes the four PDPTEs
 * from the VMCS at VM entry and stores them there at VM exit (SDM
 * 26.3.2.4, 27.3.4), not from memory.
 */
static bool vmx_pae_paging(struct vmx_vcpu *vmx)
{
	/* Shadow paging: the CPU walks the shadow root's own PDPTEs. */
	return ckvm_tdp && (vmx->cr0 & X86_CR0_PG) &&
	       (vmx->cr4 & X86_CR4_PAE) && !(vmx->efer & EFER_LMA);
}

/*
 * Userspace set CR0, CR3 or CR4 (KVM_SET_SREGS): load the PDPTEs from
 * guest memory, as a MOV to CR3 would. A guest's own MOV to CR3 is not
 * intercepted; the CPU loads them then.
 */
static void vmx_load_pdptrs(struct ckvm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	int idx;

	if (!vmx_pae_paging(vmx))
		return;
	idx = srcu_read_lock(&vcpu->vm->srcu);
	if (ckvm_read_guest(vcpu->vm, vmx->cr3 & GENMASK_ULL(31, 5),
			    vmx->pdptrs, sizeof(vmx->pdptrs)))
		memset(vmx->pdptrs, 0, sizeof(vmx->pdptrs));
	srcu_read_unlock(&vcpu->vm->srcu, idx);
}

static u64 vmx_get_cr(struct ckvm_vcpu *vcpu, int cr)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	switch (cr) {
	case 0:
		return vmx->cr0;
	case 2:
		return vmx->cr2;
	case 3:
		return vmx->cr3;
	case 4:
		return vmx->cr4;
	case 8:
		return vmx->cr8;
	default:
		WARN_ON_ONCE(1);
		return 0;
	}
}

/*
 * With EPT and unrestricted guest the guest owns CR0, CR3 and CR4 but
 * for the host-owned bits above; CR8 is emulated (CR8 exiting), as VMX
 * would otherwise let the guest write the host's task priority.
 */
static void vmx_set_cr(struct ckvm_vcpu *vcpu, int cr, u64 val)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	switch (cr) {
	case 0:
		vmx->cr0 = val;
		break;
	case 2:
		vmx->cr2 = val;
		break;
	case 3:
		vmx->cr3 = val;
		break;
	case 4:
		vmx->cr4 = val;
		break;
	case 8:
		vmx->cr8 = val & 0xf;
		break;
	default:
		WARN_ON_ONCE(1);
		break;
	}
	if (cr == 0 || cr == 3 || cr == 4)
		vmx_load_pdptrs(vcpu);
	vmx->state_dirty = true;
}

static u64 vmx_get_efer(struct ckvm_vcpu *vcpu)
{
	return to_vmx(vcpu)->efer;
}

static void vmx_set_efer(struct ckvm_vcpu *vcpu, u64 efer)
{
	to_vmx(vcpu)->efer = efer;
	to_vmx(vcpu)->state_dirty = true;
}

static unsigned long vmx_get_rflags(struct ckvm_vcpu *vcpu)
{
	return to_vmx(vcpu)->rflags;
}

static void vmx_set_rflags(struct ckvm_vcpu *vcpu, unsigned long rflags)
{
	to_vmx(vcpu)->rflags = rflags;
	to_vmx(vcpu)->state_dirty = true;
}

static int syscall_msr_index(u32 index)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(syscall_msrs); i++)
		if (syscall_msrs[i] == index)
			return i;
	return -1;
}

static int vmx_get_msr(struct ckvm_vcpu *vcpu, u32 index, u64 *data)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	int i;

	switch (index) {
	case MSR_IA32_CR_PAT:
		*data = vmx->pat;
		return 0;
	case MSR_FS_BASE:
		*data = vmx->seg[CKVM_SEG_FS].base;
		return 0;
	case MSR_GS_BASE:
		*data = vmx->seg[CKVM_SEG_GS].base;
		return 0;
	case MSR_KERNEL_GS_BASE:
		*data = vmx->kernel_gs_base;
		return 0;
	case MSR_IA32_SYSENTER_CS:
		*data = vmx->sysenter_cs;
		return 0;
	case MSR_IA32_SYSENTER_ESP:
		*data = vmx->sysenter_esp;
		return 0;
	case MSR_IA32_SYSENTER_EIP:
		*data = vmx->sysenter_eip;
		return 0;
	}
	i = syscall_msr_index(index);
	if (i < 0)
		return CKVM_MSR_UNKNOWN;
	*data = vmx->syscall_msrs[i];
	return 0;
}

/*
 * vmx_run() loads the guest's SYSCALL MSRs into the host CPU with a plain
 * WRMSR around entry. Let this CPU judge a new value first, and restore
 * the host's at once, so that a value the CPU would refuse (a reserved
 * bit) is refused here rather than faulting in the host at the next entry.
 * KVM checks the same way (kvm_set_user_return_msr()). x86/ has already
 * refused a non-canonical LSTAR or CSTAR.
 */
static bool syscall_msr_loadable(int i, u64 data)
{
	bool ok;

	preempt_disable();
	ok = !wrmsrl_safe(syscall_msrs[i], data);
	wrmsrl(syscall_msrs[i], this_cpu_ptr(&vmx_cpu)->host_syscall_msrs[i]);
	preempt_enable();
	return ok;
}

static int vmx_set_msr(struct ckvm_vcpu *vcpu, u32 index, u64 data)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	int i;

	switch (index) {
	case MSR_IA32_CR_PAT:
		if (!ckvm_pat_valid(data))
			return 1;
		vmx->pat = data;
		break;
	case MSR_FS_BASE:
		vmx->seg[CKVM_SEG_FS].base = data;
		break;
	case MSR_GS_BASE:
		vmx->seg[CKVM_SEG_GS].base = data;
		break;
	case MSR_KERNEL_GS_BASE:
		vmx->kernel_gs_base = data;
		break;
	case MSR_IA32_SYSENTER_CS:
		/* A 32-bit field of the VMCS; kvm_intel keeps 32 bits too. */
		vmx->sysenter_cs = (u32)data;
		break;
	case MSR_IA32_SYSENTER_ESP:
		vmx->sysenter_esp = data;
		break;
	case MSR_IA32_SYSENTER_EIP:
		vmx->sysenter_eip = data;
		break;
	default:
		i = syscall_msr_index(index);
		if (i < 0)
			return CKVM_MSR_UNKNOWN;
		if (!syscall_msr_loadable(i, data))
			return 1;
		vmx->syscall_msrs[i] = data;
		return 0;
	}
	vmx->state_dirty = true;
	return 0;
}

static void vmx_set_tsc_offset(struct ckvm_vcpu *vcpu, u64 offset)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	vmx->tsc_offset = offset;
	vmx->state_dirty = true;
}

static void vmx_queue_exception(struct ckvm_vcpu *vcpu, u8 vector,
				bool has_error, u32 error_code)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	/*
	 * Virtual-8086 mode would take it through the protected-mode IDT:
	 * real mode's delivery is done by hand.
	 */
	if (vmx_vm86(vmx)) {
		ckvm_realmode_interrupt(vcpu, vector);
		return;
	}
	/* Real mode pushes no error code; VM entry would refuse one. */
	if (!(vmx->cr0 & X86_CR0_PE))
		has_error = false;
	vmx->event_inj = vector | INTR_TYPE_HARD_EXCEPTION |
			 INTR_INFO_VALID_MASK |
			 (has_error ? INTR_INFO_DELIVER_CODE_MASK : 0);
	vmx->event_inj_err = error_code;
}

static bool vmx_interrupt_allowed(struct ckvm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	return !(vmx->event_inj & INTR_INFO_VALID_MASK) && !vmx->pending_dbg &&
	       !(vmx->interruptibility &
		 (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS)) &&
	       (vmx->rflags & X86_EFLAGS_IF);
}

static void vmx_inject_irq(struct ckvm_vcpu *vcpu, u8 vector)
{
	if (vmx_vm86(to_vmx(vcpu))) {
		ckvm_realmode_interrupt(vcpu, vector);
		return;
	}
	to_vmx(vcpu)->event_inj = vector | INTR_TYPE_EXT_INTR |
				  INTR_INFO_VALID_MASK;
}

/* Interrupt-window exiting (SDM 25.2): off again in its exit handler. */
static void vmx_enable_irq_window(struct ckvm_vcpu *vcpu)
{
	to_vmx(vcpu)->irq_window = true;
}

/*
 * The single-step trap of the skipped instruction is
 * ckvm_complete_instruction()'s to queue (or, under
 * KVM_GUESTDBG_SINGLESTEP, to report). The SDM has an instruction's VM
 * exit save the pending debug exceptions clear (27.3.4), but Bochs saves
 * BS there when RFLAGS.TF is set (measured: the debugger saw a second
 * step at the same RIP): that BS is dropped.
 */
static void vmx_skip_instruction(struct ckvm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	vcpu->arch.regs[VCPU_REGS_RIP] += vmx->exit_insn_len;
	vmx->pending_dbg &= ~(u64)DR_STEP;
	ckvm_complete_instruction(vcpu);
}

static void vmx_load_mmu_pgd(struct ckvm_vcpu *vcpu, hpa_t root)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	if (!ckvm_tdp) {
		vmx->shadow_cr3 = root;
		vmx->state_dirty = true;
		return;
	}
	vmx->eptp = root | VMX_EPTP_MT_WB | VMX_EPTP_PWL_4;
	vmx->eptp_dirty = true;
}

static void vmx_clear_interrupt_shadow(struct ckvm_vcpu *vcpu)
{
	to_vmx(vcpu)->interruptibility &= ~(GUEST_INTR_STATE_STI |
					    GUEST_INTR_STATE_MOV_SS);
}

/*
 * The pending debug exceptions field holds traps the CPU delivers right
 * after VM entry, updating the guest's DR6 itself (SDM "Delivery of
 * Pending Debug Exceptions after VM Entry"): VMX does not switch DR6, so
 * ckvm does not write it.
 */
static void vmx_queue_debug_trap(struct ckvm_vcpu *vcpu, unsigned long dr6)
{
	to_vmx(vcpu)->pending_dbg |= dr6 & (DR_TRAP_BITS | DR_STEP);
}

static bool vmx_event_queued(struct ckvm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	return (vmx->event_inj & INTR_INFO_VALID_MASK) || vmx->pending_dbg;
}

/*
 * The VM-entry interruption information as x86/ names it (SDM 24.8.3);
 * with nothing there, a pending debug trap is reported as the #DB it
 * becomes.
 */
static void vmx_get_event(struct ckvm_vcpu *vcpu, struct ckvm_event *ev)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	u32 inj = vmx->event_inj;

	memset(ev, 0, sizeof(*ev));
	if (!(inj & INTR_INFO_VALID_MASK)) {
		if (vmx->pending_dbg) {
			ev->type = CKVM_EVENT_EXCEPTION;
			ev->vector = X86_TRAP_DB;
		}
		return;
	}
	ev->vector = inj & INTR_INFO_VECTOR_MASK;
	switch (inj & INTR_INFO_INTR_TYPE_MASK) {
	case INTR_TYPE_EXT_INTR:
		ev->type = CKVM_EVENT_INTR;
		break;
	case INTR_TYPE_NMI_INTR:
		ev->type = CKVM_EVENT_NMI;
		break;
	case INTR_TYPE_HARD_EXCEPTION:
		ev->type = CKVM_EVENT_EXCEPTION;
		ev->has_error = inj & INTR_INFO_DELIVER_CODE_MASK;
		ev->error_code = vmx->event_inj_err;
		break;
	default:
		ev->type = CKVM_EVENT_SOFT;
		break;
	}
}

/*
 * Empty the slot. A pending debug trap goes too, its status bits moved
 * into DR6 as its delivery would have (B0-B3 replaced, BS added): if
 * userspace puts the #DB back, it is injected as an exception, which
 * leaves DR6 alone.
 */
static void vmx_cancel_event(struct ckvm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	if (vmx->pending_dbg)
		vmx->dr6 = (vmx->dr6 & ~(u64)DR_TRAP_BITS) | vmx->pending_dbg;
	vmx->pending_dbg = 0;
	vmx->event_inj = 0;
	vmx->event_inj_len = 0;
}

static u32 vmx_get_interrupt_shadow(struct ckvm_vcpu *vcpu)
{
	u32 i = to_vmx(vcpu)->interruptibility, mask = 0;

	if (i & GUEST_INTR_STATE_STI)
		mask |= KVM_X86_SHADOW_INT_STI;
	if (i & GUEST_INTR_STATE_MOV_SS)
		mask |= KVM_X86_SHADOW_INT_MOV_SS;
	return mask;
}

static void vmx_set_interrupt_shadow(struct ckvm_vcpu *vcpu, u32 mask)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	vmx->interruptibility &= ~(GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS);
	if (mask & KVM_X86_SHADOW_INT_STI)
		vmx->interruptibility |= GUEST_INTR_STATE_STI;
	if (mask & KVM_X86_SHADOW_INT_MOV_SS)
		vmx->interruptibility |= GUEST_INTR_STATE_MOV_SS;
}

/* ---- NMIs: virtual NMIs, the CPU tracks the blocking (SDM 25.3) ---- */

static bool vmx_get_nmi_mask(struct ckvm_vcpu *vcpu)
{
	return to_vmx(vcpu)->interruptibility & GUEST_INTR_STATE_NMI;
}

static void vmx_set_nmi_mask(struct ckvm_vcpu *vcpu, bool masked)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	if (masked)
		vmx->interruptibility |= GUEST_INTR_STATE_NMI;
	else
		vmx->interruptibility &= ~GUEST_INTR_STATE_NMI;
}

/* VM entry refuses an NMI with blocking by NMI, STI or MOV SS (26.3.1.5). */
static bool vmx_nmi_allowed(struct ckvm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	return !(vmx->event_inj & INTR_INFO_VALID_MASK) && !vmx->pending_dbg &&
	       !(vmx->interruptibility & (GUEST_INTR_STATE_STI |
					  GUEST_INTR_STATE_MOV_SS |
					  GUEST_INTR_STATE_NMI));
}

static void vmx_inject_nmi(struct ckvm_vcpu *vcpu)
{
	to_vmx(vcpu)->event_inj = X86_TRAP_NMI | INTR_TYPE_NMI_INTR |
				  INTR_INFO_VALID_MASK;
}

/* NMI-window exiting (SDM 25.2): off again in its exit handler. */
static void vmx_enable_nmi_window(struct ckvm_vcpu *vcpu)
{
	to_vmx(vcpu)->nmi_window = true;
}

/* ---- debug registers, PDPTEs ---- */

static u64 vmx_get_dr6(struct ckvm_vcpu *vcpu)
{
	return to_vmx(vcpu)->dr6;
}

static void vmx_set_dr6(struct ckvm_vcpu *vcpu, u64 val)
{
	to_vmx(vcpu)->dr6 = val;
}

static u64 vmx_get_dr7(struct ckvm_vcpu *vcpu)
{
	return to_vmx(vcpu)->dr7;
}

static void vmx_set_dr7(struct ckvm_vcpu *vcpu, u64 val)
{
	to_vmx(vcpu)->dr7 = val;
	to_vmx(vcpu)->state_dirty = true;
}

static void vmx_set_dr_intercept(struct ckvm_vcpu *vcpu, bool on)
{
	to_vmx(vcpu)->dr_exiting = on;
}

/* KVM_SET_GUEST_DEBUG: the exception bitmap is rewritten before entry. */
static void vmx_update_guest_debug(struct ckvm_vcpu *vcpu)
{
	to_vmx(vcpu)->state_dirty = true;
}

static void vmx_get_pdptrs(struct ckvm_vcpu *vcpu, u64 pdptrs[4])
{
	memcpy(pdptrs, to_vmx(vcpu)->pdptrs, sizeof(to_vmx(vcpu)->pdptrs));
}

static void vmx_set_pdptrs(struct ckvm_vcpu *vcpu, const u64 pdptrs[4])
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	memcpy(vmx->pdptrs, pdptrs, sizeof(vmx->pdptrs));
	vmx->state_dirty = true;
}

/* ---- MSR filter ---- */

/*
 * The guest's own MSR bitmap, made the first time a filter denies a
 * passed-through MSR: those the filter denies exit (ckvm_emulate_rdmsr
 * and wrmsr then apply it), the others stay native.
 */
static void vmx_msr_filter_changed(struct ckvm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	bool deny[ARRAY_SIZE(passthrough_msrs)][2], any = false;
	int i;

	for (i = 0; i < ARRAY_SIZE(passthrough_msrs); i++) {
		deny[i][0] = !ckvm_msr_allowed(vcpu, passthrough_msrs[i],
					       KVM_MSR_FILTER_READ);
		deny[i][1] = !ckvm_msr_allowed(vcpu, passthrough_msrs[i],
					       KVM_MSR_FILTER_WRITE);
		any |= deny[i][0] || deny[i][1];
	}
	if (!vmx->msr_bitmap) {
		if (!any)
			return;
		vmx->msr_bitmap = (void *)__get_free_page(GFP_KERNEL_ACCOUNT);
		if (!vmx->msr_bitmap) {
			pr_warn_ratelimited("ckvm: no memory for an MSR filter\n");
			return;
		}
		memcpy(vmx->msr_bitmap, msr_bitmap, PAGE_SIZE);
		vmx->msr_bitmap_dirty = true;
	}
	for (i = 0; i < ARRAY_SIZE(passthrough_msrs); i++)
		msr_bitmap_set(vmx->msr_bitmap, passthrough_msrs[i],
			       deny[i][0], deny[i][1]);
}

/*
 * The VM-exit instruction length, for the exits caused by executing an
 * instruction (SDM 28.2.5). EPT violations are not among them: there it
 * is undefined, and 0 is returned.
 */
static int vmx_get_insn_len(struct ckvm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	switch ((u16)vmx->exit_reason) {
	case EXIT_REASON_CPUID:
	case EXIT_REASON_HLT:
	case EXIT_REASON_INVD:
	case EXIT_REASON_RDPMC:
	case EXIT_REASON_CR_ACCESS:
	case EXIT_REASON_IO_INSTRUCTION:
	case EXIT_REASON_MSR_READ:
	case EXIT_REASON_MSR_WRITE:
	case EXIT_REASON_XSETBV:
		return vmx->exit_insn_len;
	default:
		return 0;
	}
}

static void vmx_get_exit_info(struct ckvm_vcpu *vcpu, u64 info[5])
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	info[0] = vmx->exit_reason;
	info[1] = vmx->exit_qual;
	info[2] = vmx->exit_idt_info;
	info[3] = vmx->exit_intr_info;
	info[4] = 0;
	if ((vmx->exit_intr_info & INTR_INFO_VALID_MASK) &&
	    (vmx->exit_intr_info & INTR_INFO_DELIVER_CODE_MASK))
		info[4] = vmcs_read(VM_EXIT_INTR_ERROR_CODE);
}

static void vmx_flush_tlb(struct ckvm_vcpu *vcpu)
{
	to_vmx(vcpu)->need_flush = true;
}

/* ---- running the guest ---- */

static const struct {
	u32 selector, base, limit, ar;
} seg_fields[CKVM_NR_SEGS] = {
	[CKVM_SEG_ES] = { GUEST_ES_SELECTOR, GUEST_ES_BASE, GUEST_ES_LIMIT,
			  GUEST_ES_AR_BYTES },
	[CKVM_SEG_CS] = { GUEST_CS_SELECTOR, GUEST_CS_BASE, GUEST_CS_LIMIT,
			  GUEST_CS_AR_BYTES },
	[CKVM_SEG_SS] = { GUEST_SS_SELECTOR, GUEST_SS_BASE, GUEST_SS_LIMIT,
			  GUEST_SS_AR_BYTES },
	[CKVM_SEG_DS] = { GUEST_DS_SELECTOR, GUEST_DS_BASE, GUEST_DS_LIMIT,
			  GUEST_DS_AR_BYTES },
	[CKVM_SEG_FS] = { GUEST_FS_SELECTOR, GUEST_FS_BASE, GUEST_FS_LIMIT,
			  GUEST_FS_AR_BYTES },
	[CKVM_SEG_GS] = { GUEST_GS_SELECTOR, GUEST_GS_BASE, GUEST_GS_LIMIT,
			  GUEST_GS_AR_BYTES },
	[CKVM_SEG_TR] = { GUEST_TR_SELECTOR, GUEST_TR_BASE, GUEST_TR_LIMIT,
			  GUEST_TR_AR_BYTES },
	[CKVM_SEG_LDTR] = { GUEST_LDTR_SELECTOR, GUEST_LDTR_BASE,
			    GUEST_LDTR_LIMIT, GUEST_LDTR_AR_BYTES },
};

/*
 * A real-mode segment as virtual-8086 mode must have it (SDM 26.3.1.2:
 * base = selector * 16, limit 0xffff, access rights 0xf3). The selector
 * follows the base, as in KVM, so that the guest's linear addresses stay
 * where they were whenever the base is a paragraph below 1 MiB.
 */
static void write_vm86_seg(struct vmx_vcpu *vmx, int i)
{
	const struct vmx_seg *s = &vmx->seg[i];
	u16 sel = s->selector;

	if (s->base <= 0xffff0 && !(s->base & 0xf))
		sel = s->base >> 4;
	vmx->vm86_sel[i] = sel;
	vmcs_write(seg_fields[i].selector, sel);
	vmcs_write(seg_fields[i].base, (u64)sel << 4);
	vmcs_write(seg_fields[i].limit, 0xffff);
	vmcs_write(seg_fields[i].ar, 0xf3);
}

/*
 * The CR0, CR4 and EFER the CPU runs the guest with under shadow paging:
 * paging always on (the shadow tables, PAE format), CR0.WP so that the
 * supervisor cannot write through read-only sptes, protected mode and
 * CR4.VME for virtual-8086 mode; no PCIDs; NX for the sptes. Returns
 * the exceptions that must exit.
 */
static u32 write_shadow_crs(struct vmx_vcpu *vmx)
{
	u64 cr0 = vmx->cr0 | X86_CR0_PG | X86_CR0_WP | X86_CR0_PE;
	u64 cr4 = (vmx->cr4 | X86_CR4_PAE) & ~X86_CR4_PCIDE;
	u64 efer = vmx->efer | EFER_NX;
	u32 eb = BIT(X86_TRAP_PF);

	if (!(vmx->cr0 & X86_CR0_PG))
		cr4 &= ~(X86_CR4_SMEP | X86_CR4_SMAP | X86_CR4_PKE);
	if (vmx_vm86(vmx)) {
		cr4 |= X86_CR4_VME;
		eb = ~0u;	/* every exception is reflected in real mode */
	}
	if (!(efer & EFER_LMA))
		efer &= ~EFER_LME;
	vmcs_write(GUEST_CR0, (cr0 | vmcs_conf.cr0_fixed0) & vmcs_conf.cr0_fixed1);
	vmcs_write(GUEST_CR3, vmx->shadow_cr3);
	vmcs_write(GUEST_CR4, (cr4 | vmcs_conf.cr4_fixed0) & vmcs_conf.cr4_fixed1);
	vmcs_write(GUEST_IA32_EFER, efer);
	return eb;
}

/*
 * The exceptions that exit: shadow paging's (above), #BP for
 * KVM_SET_GUEST_DEBUG's software breakpoints, and always #DB and #AC
 * (VMX_EB_ALWAYS): the delivery of either can raise it again (a data
 * breakpoint on the stack its frame is pushed to; CR0.AM with a
 * misaligned stack at CPL 3), a loop in which the CPU opens no window for
 * an interrupt or an exit and the host CPU is the guest's for good
 * (CVE-2015-8104, CVE-2015-5307). Intercepted, each delivery is an exit
 * that reflects it (exits.c).
 */
static void write_exception_bitmap(struct vmx_vcpu *vmx, u32 eb)
{
	eb |= VMX_EB_ALWAYS;
	if (vmx->vcpu->arch.guest_debug & KVM_GUESTDBG_USE_SW_BP)
		eb |= BIT(X86_TRAP_BP);
	if (eb != vmx->exception_bitmap) {
		vmcs_write(EXCEPTION_BITMAP, eb);
		vmx->exception_bitmap = eb;
	}
}

static void vmx_write_guest_state(struct vmx_vcpu *vmx)
{
	u32 entry = vmcs_conf.entry & ~VM_ENTRY_IA32E_MODE;
	int i;

	vmcs_write(TSC_OFFSET, vmx->tsc_offset);
	vmx->vm86 = vmx_vm86(vmx);
	for (i = 0; i < CKVM_NR_SEGS; i++) {
		if (vmx->vm86 && i <= CKVM_SEG_GS) {
			write_vm86_seg(vmx, i);
			continue;
		}
		vmcs_write(seg_fields[i].selector, vmx->seg[i].selector);
		vmcs_write(seg_fields[i].base, vmx->seg[i].base);
		vmcs_write(seg_fields[i].limit, vmx->seg[i].limit);
		vmcs_write(seg_fields[i].ar, vmx->seg[i].ar);
	}
	if (vmx->vm86) {
		/* TR: the vm86 TSS, a busy 32-bit one (SDM 26.3.1.2). */
		vmcs_write(GUEST_TR_BASE, READ_ONCE(vmx->vcpu->vm->arch.tss_addr));
		vmcs_write(GUEST_TR_LIMIT, RMODE_TSS_LIMIT);
		vmcs_write(GUEST_TR_AR_BYTES, VMX_AR_P_MASK |
			   VMX_AR_TYPE_BUSY_32_TSS);
	}
	vmcs_write(GUEST_GDTR_BASE, vmx->gdt_base);
	vmcs_write(GUEST_GDTR_LIMIT, vmx->gdt_limit);
	vmcs_write(GUEST_IDTR_BASE, vmx->idt_base);
	vmcs_write(GUEST_IDTR_LIMIT, vmx->idt_limit);
	/* The CPU runs with the fixed bits; the guest reads its own. */
	vmcs_write(GUEST_CR0, (vmx->cr0 | vmcs_conf.cr0_fixed0) &
			      vmcs_conf.cr0_fixed1);
	vmcs_write(CR0_READ_SHADOW, vmx->cr0);
	vmcs_write(GUEST_CR3, vmx->cr3);
	vmcs_write(GUEST_CR4, vmx->cr4 | vmcs_conf.cr4_fixed0);
	vmcs_write(CR4_READ_SHADOW, vmx->cr4);
	vmcs_write(GUEST_DR7, vmx->dr7);
	vmcs_write(GUEST_IA32_DEBUGCTL, 0);
	vmcs_write(GUEST_IA32_EFER, vmx->efer);
	write_exception_bitmap(vmx, ckvm_tdp ? 0 : write_shadow_crs(vmx));
	if (vmcs_conf.has_pat)
		vmcs_write(GUEST_IA32_PAT, vmx->pat);
	vmcs_write(GUEST_SYSENTER_CS, vmx->sysenter_cs);
	vmcs_write(GUEST_SYSENTER_ESP, vmx->sysenter_esp);
	vmcs_write(GUEST_SYSENTER_EIP, vmx->sysenter_eip);
	vmcs_write(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
	/* The CPU enters IA-32e mode exactly when EFER.LMA says so. */
	if (vmx->efer & EFER_LMA)
		entry |= VM_ENTRY_IA32E_MODE;
	vmcs_write(VM_ENTRY_CONTROLS, entry);
	if (vmx_pae_paging(vmx)) {
		vmcs_write(GUEST_PDPTR0, vmx->pdptrs[0]);
		vmcs_write(GUEST_PDPTR1, vmx->pdptrs[1]);
		vmcs_write(GUEST_PDPTR2, vmx->pdptrs[2]);
		vmcs_write(GUEST_PDPTR3, vmx->pdptrs[3]);
	}
}

static void vmx_read_guest_state(struct vmx_vcpu *vmx)
{
	int i;

	for (i = 0; i < CKVM_NR_SEGS; i++) {
		if (vmx->vm86) {
			u16 sel = vmcs_read(seg_fields[i].selector);

			/*
			 * In real mode a segment load sets the base only; TR
			 * and LDTR are not the guest's to load there.
			 */
			if (i > CKVM_SEG_GS || sel == vmx->vm86_sel[i])
				continue;
			vmx->seg[i].selector = sel;
			vmx->seg[i].base = (u64)sel << 4;
			continue;
		}
		vmx->seg[i].selector = vmcs_read(seg_fields[i].selector);
		vmx->seg[i].base = vmcs_read(seg_fields[i].base);
		vmx->seg[i].limit = vmcs_read(seg_fields[i].limit);
		vmx->seg[i].ar = vmcs_read(seg_fields[i].ar);
	}
	vmx->gdt_base = vmcs_read(GUEST_GDTR_BASE);
	vmx->gdt_limit = vmcs_read(GUEST_GDTR_LIMIT);
	vmx->idt_base = vmcs_read(GUEST_IDTR_BASE);
	vmx->idt_limit = vmcs_read(GUEST_IDTR_LIMIT);
	/* Shadow paging: the guest changes none of these without an exit. */
	if (ckvm_tdp) {
		vmx->cr0 = (vmcs_read(GUEST_CR0) & ~CR0_HOST_OWNED) |
			   (vmx->cr0 & CR0_HOST_OWNED);
		vmx->cr3 = vmcs_read(GUEST_CR3);
		vmx->cr4 = (vmcs_read(GUEST_CR4) & ~CR4_HOST_OWNED) |
			   (vmx->cr4 & CR4_HOST_OWNED);
		vmx->efer = vmcs_read(GUEST_IA32_EFER);
	}
	vmx->dr7 = vmcs_read(GUEST_DR7);
	if (vmcs_conf.has_pat)
		vmx->pat = vmcs_read(GUEST_IA32_PAT);
	vmx->sysenter_cs = vmcs_read(GUEST_SYSENTER_CS);
	vmx->sysenter_esp = vmcs_read(GUEST_SYSENTER_ESP);
	vmx->sysenter_eip = vmcs_read(GUEST_SYSENTER_EIP);
	/* Virtual-8086 mode ran with VM and IOPL 3; the guest keeps its IOPL. */
	if (vmx->vm86)
		vmx->rflags = (vmcs_read(GUEST_RFLAGS) &
			       ~(X86_EFLAGS_VM | X86_EFLAGS_IOPL)) |
			      (vmx->rflags & X86_EFLAGS_IOPL);
	else
		vmx->rflags = vmcs_read(GUEST_RFLAGS);
	vmx->interruptibility = vmcs_read(GUEST_INTERRUPTIBILITY_INFO);
	vmx->pending_dbg = vmcs_read(GUEST_PENDING_DBG_EXCEPTIONS);
	if (vmx_pae_paging(vmx)) {
		vmx->pdptrs[0] = vmcs_read(GUEST_PDPTR0);
		vmx->pdptrs[1] = vmcs_read(GUEST_PDPTR1);
		vmx->pdptrs[2] = vmcs_read(GUEST_PDPTR2);
		vmx->pdptrs[3] = vmcs_read(GUEST_PDPTR3);
	}
}

/*
 * An event the exit interrupted (e.g. an exception whose delivery hit an
 * EPT violation) must be delivered again on the next entry (SDM
 * "Information for VM Exits During Event Delivery"). A software event
 * (INTn, INT3, INTO, INT1) was raised by an instruction that RIP still
 * points at: it is injected again with that instruction's length, which
 * the exit reports in the VM-exit instruction-length field, so that it
 * pushes the return address past the instruction, as KVM does. Without a
 * length (0, which VM entry refuses for these) the guest executes the
 * instruction again instead.
 */
static void vmx_complete_interrupts(struct vmx_vcpu *vmx)
{
	u32 info = vmcs_read(IDT_VECTORING_INFO_FIELD);
	u32 type = info & INTR_INFO_INTR_TYPE_MASK;

	vmx->exit_idt_info = info;
	vmx->event_inj = 0;
	vmx->event_inj_len = 0;
	if (!(info & VECTORING_INFO_VALID_MASK))
		return;
	if (type == INTR_TYPE_SOFT_INTR || type == INTR_TYPE_SOFT_EXCEPTION ||
	    type == INTR_TYPE_PRIV_SW_EXCEPTION) {
		if (!vmx->exit_insn_len || vmx->exit_insn_len > 15)
			return;
		vmx->event_inj_len = vmx->exit_insn_len;
	}
	vmx->event_inj = info & ~INTR_INFO_RESVD_BITS_MASK;
	if (info & VECTORING_INFO_DELIVER_CODE_MASK)
		vmx->event_inj_err = vmcs_read(IDT_VECTORING_ERROR_CODE);
}

/* Host state that may change between two entries on the same CPU. */
static void vmx_update_host_state(struct vmx_vcpu *vmx, unsigned long fs_base)
{
	unsigned long cr3 = __read_cr3(), cr4 = cr4_read_shadow();

	if (unlikely(cr3 != vmx->host_cr3)) {
		vmcs_write(HOST_CR3, cr3);
		vmx->host_cr3 = cr3;
	}
	if (unlikely(cr4 != vmx->host_cr4)) {
		vmcs_write(HOST_CR4, cr4);
		vmx->host_cr4 = cr4;
	}
	if (fs_base != vmx->host_fs_base) {
		vmcs_write(HOST_FS_BASE, fs_base);
		vmx->host_fs_base = fs_base;
	}
}

static void vmx_run(struct ckvm_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	struct vmx_cpu *vc = this_cpu_ptr(&vmx_cpu);
	unsigned long *regs = vcpu->arch.regs;
	u16 ds_sel, es_sel, fs_sel, gs_sel, ldt_sel;
	unsigned long fs_base, host_kgs, debugctl, dr6_in, dr6;
	u32 intr_info, proc;
	int i, fail;

	if (vmx->eptp_dirty) {
		vmcs_write(EPT_POINTER, vmx->eptp);
		vmx->eptp_dirty = false;
	}
	if (vmx->need_flush) {
		if (ckvm_tdp)
			ept_flush(vmx->eptp);
		vpid_flush(vmx->vpid);
		vmx->need_flush = false;
	}
	if (vmx->state_dirty) {
		vmx_write_guest_state(vmx);
		vmx->state_dirty = false;
	}
	vmcs_write(GUEST_RIP, regs[VCPU_REGS_RIP]);
	vmcs_write(GUEST_RSP, regs[VCPU_REGS_RSP]);
	vmcs_write(GUEST_RFLAGS, vmx->rflags |
		   (vmx->vm86 ? X86_EFLAGS_VM | X86_EFLAGS_IOPL : 0));
	/* Blocking by STI requires IF=1 (SDM 26.3.1.5). */
	if (!(vmx->rflags & X86_EFLAGS_IF))
		vmx->interruptibility &= ~GUEST_INTR_STATE_STI;
	/*
	 * In an STI or MOV SS shadow, BS must equal RFLAGS.TF (the guest's
	 * DEBUGCTL.BTF is 0; SDM 26.3.1.5): the instruction that opened the
	 * shadow ran with TF set, so its single-step trap is pending.
	 */
	if (vmx->interruptibility &
	    (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS)) {
		if (vmx->rflags & X86_EFLAGS_TF)
			vmx->pending_dbg |= DR_STEP;
		else
			vmx->pending_dbg &= ~(u64)DR_STEP;
	}
	vmcs_write(GUEST_INTERRUPTIBILITY_INFO, vmx->interruptibility);
	vmcs_write(GUEST_PENDING_DBG_EXCEPTIONS, vmx->pending_dbg);
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, vmx->event_inj);
	if (vmx->event_inj_len)
		vmcs_write(VM_ENTRY_INSTRUCTION_LEN, vmx->event_inj_len);
	proc = vmx->proc_ctl & ~(CPU_BASED_INTR_WINDOW_EXITING |
				 CPU_BASED_NMI_WINDOW_EXITING |
				 CPU_BASED_MOV_DR_EXITING);
	if (vmx->irq_window)
		proc |= CPU_BASED_INTR_WINDOW_EXITING;
	if (vmx->nmi_window)
		proc |= CPU_BASED_NMI_WINDOW_EXITING;
	if (vmx->dr_exiting)
		proc |= CPU_BASED_MOV_DR_EXITING;
	if (unlikely(proc != vmx->proc_ctl)) {
		vmx->proc_ctl = proc;
		vmcs_write(CPU_BASED_VM_EXEC_CONTROL, proc);
	}
	if (unlikely(vmx->msr_bitmap_dirty)) {
		vmcs_write(MSR_BITMAP, __pa(vmx->msr_bitmap));
		vmx->msr_bitmap_dirty = false;
	}
	if (vmcs_conf.preempt_ticks)
		vmcs_write(VMX_PREEMPTION_TIMER_VALUE, vmcs_conf.preempt_ticks);
	if (vmx->event_inj & INTR_INFO_DELIVER_CODE_MASK)
		vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE, vmx->event_inj_err);

	/* The exit loads null DS/ES/FS/GS/LDTR: remember the host's. */
	savesegment(ds, ds_sel);
	savesegment(es, es_sel);
	savesegment(fs, fs_sel);
	savesegment(gs, gs_sel);
	asm volatile("sldt %0" : "=r"(ldt_sel));
	rdmsrl(MSR_FS_BASE, fs_base);
	rdmsrl(MSR_KERNEL_GS_BASE, host_kgs);
	vmx_update_host_state(vmx, fs_base);
	debugctl = get_debugctlmsr();

	/* VMX does not switch these: CR2 and the SYSCALL/SWAPGS MSRs. */
	if (native_read_cr2() != vmx->cr2)
		native_write_cr2(vmx->cr2);
	wrmsrl(MSR_KERNEL_GS_BASE, vmx->kernel_gs_base);
	for (i = 0; i < ARRAY_SIZE(syscall_msrs); i++)
		if (vmx->syscall_msrs[i] != vc->host_syscall_msrs[i])
			wrmsrl(syscall_msrs[i], vmx->syscall_msrs[i]);

	/*
	 * The guest's DR6 in, if it is not the host's: the value the CPU
	 * made of it (reserved bits read as 1) is what a change is judged
	 * against after the exit.
	 */
	dr6_in = DR6_RESERVED;
	if (unlikely(vmx->dr6 != DR6_RESERVED)) {
		set_debugreg(vmx->dr6, 6);
		get_debugreg(dr6_in, 6);
	}

	fail = ckvm_vmx_vmenter(regs, vmx->launched, HOST_RSP);

	get_debugreg(dr6, 6);
	if (unlikely(dr6 != dr6_in))
		vmx->dr6 = dr6;
	if (unlikely(dr6 != DR6_RESERVED))
		set_debugreg(DR6_RESERVED, 6);

	vmx->cr2 = native_read_cr2();
	rdmsrl(MSR_KERNEL_GS_BASE, vmx->kernel_gs_base);
	for (i = 0; i < ARRAY_SIZE(syscall_msrs); i++)
		if (vmx->syscall_msrs[i] != vc->host_syscall_msrs[i])
			wrmsrl(syscall_msrs[i], vc->host_syscall_msrs[i]);
	if (ldt_sel)
		asm volatile("lldt %0" : : "r"(ldt_sel));
	if (ds_sel)
		loadsegment(ds, ds_sel);
	if (es_sel)
		loadsegment(es, es_sel);
	if (fs_sel) {
		loadsegment(fs, fs_sel);
		wrmsrl(MSR_FS_BASE, fs_base);
	}
	if (gs_sel)
		load_gs_index(gs_sel);
	wrmsrl(MSR_KERNEL_GS_BASE, host_kgs);
	/* The exit left GDTR.limit at 0xffff, TR.limit at 0x67, DEBUGCTL 0. */
	load_fixmap_gdt(raw_smp_processor_id());
	invalidate_tss_limit();
	if (debugctl)
		update_debugctlmsr(debugctl);

	vmx->event_inj = 0;
	vmx->event_inj_len = 0;
	vmx->vmfail = fail;
	if (fail) {
		vmx->vm_insn_error = vmcs_read(VM_INSTRUCTION_ERROR);
		return;
	}
	vmx->exit_reason = vmcs_read(VM_EXIT_REASON);
	if (vmx->exit_reason & VMX_EXIT_REASONS_FAILED_VMENTRY)
		return;
	vmx->launched = true;

	vmx->exit_intr_info = 0;
	if ((u16)vmx->exit_reason == EXIT_REASON_EXCEPTION_NMI) {
		intr_info = vmcs_read(VM_EXIT_INTR_INFO);
		vmx->exit_intr_info = intr_info;
		if (intr_info & INTR_INFO_DELIVER_CODE_MASK)
			vmx->exit_error_code = vmcs_read(VM_EXIT_INTR_ERROR_CODE);
		if ((intr_info & INTR_INFO_VALID_MASK) &&
		    (intr_info & INTR_INFO_INTR_TYPE_MASK) == INTR_TYPE_NMI_INTR)
			ckvm_vmx_do_nmi_irqoff();
	}
	vmx->exit_qual = vmcs_read(EXIT_QUALIFICATION);
	vmx->exit_insn_len = vmcs_read(VM_EXIT_INSTRUCTION_LEN);
	vmx->exit_insn_info = vmcs_read(VMX_INSTRUCTION_INFO);
	vmx->exit_gpa = vmcs_read(GUEST_PHYSICAL_ADDRESS);
	regs[VCPU_REGS_RIP] = vmcs_read(GUEST_RIP);
	regs[VCPU_REGS_RSP] = vmcs_read(GUEST_RSP);
	vmx_read_guest_state(vmx);
	vmx_complete_interrupts(vmx);
}

const struct ckvm_x86_ops ckvm_vmx_ops = {
	.name = "vmx",
	.hardware_setup = vmx_hardware_setup,
	.hardware_unsetup = vmx_hardware_unsetup,
	.hardware_enable = vmx_hardware_enable,
	.hardware_disable = vmx_hardware_disable,
	.vm_init = vmx_vm_init,
	.vm_destroy = vmx_vm_destroy,
	.vcpu_create = vmx_vcpu_create,
	.vcpu_free = vmx_vcpu_free,
	.vcpu_reset = vmx_vcpu_reset,
	.vcpu_load = vmx_vcpu_load,
	.vcpu_put = vmx_vcpu_put,
	.get_segment = vmx_get_segment,
	.set_segment = vmx_set_segment,
	.get_gdt = vmx_get_gdt,
	.set_gdt = vmx_set_gdt,
	.get_idt = vmx_get_idt,
	.set_idt = vmx_set_idt,
	.get_cr = vmx_get_cr,
	.set_cr = vmx_set_cr,
	.get_efer = vmx_get_efer,
	.set_efer = vmx_set_efer,
	.get_rflags = vmx_get_rflags,
	.set_rflags = vmx_set_rflags,
	.get_msr = vmx_get_msr,
	.set_msr = vmx_set_msr,
	.set_tsc_offset = vmx_set_tsc_offset,
	.queue_exception = vmx_queue_exception,
	.interrupt_allowed = vmx_interrupt_allowed,
	.inject_irq = vmx_inject_irq,
	.enable_irq_window = vmx_enable_irq_window,
	.skip_instruction = vmx_skip_instruction,
	.load_mmu_pgd = vmx_load_mmu_pgd,
	.clear_interrupt_shadow = vmx_clear_interrupt_shadow,
	.queue_debug_trap = vmx_queue_debug_trap,
	.event_queued = vmx_event_queued,
	.nmi_allowed = vmx_nmi_allowed,
	.inject_nmi = vmx_inject_nmi,
	.enable_nmi_window = vmx_enable_nmi_window,
	.get_nmi_mask = vmx_get_nmi_mask,
	.set_nmi_mask = vmx_set_nmi_mask,
	.get_event = vmx_get_event,
	.cancel_event = vmx_cancel_event,
	.get_interrupt_shadow = vmx_get_interrupt_shadow,
	.set_interrupt_shadow = vmx_set_interrupt_shadow,
	.get_dr6 = vmx_get_dr6,
	.set_dr6 = vmx_set_dr6,
	.get_dr7 = vmx_get_dr7,
	.set_dr7 = vmx_set_dr7,
	.set_dr_intercept = vmx_set_dr_intercept,
	.update_guest_debug = vmx_update_guest_debug,
	.get_pdptrs = vmx_get_pdptrs,
	.set_pdptrs = vmx_set_pdptrs,
	.msr_filter_changed = vmx_msr_filter_changed,
	.get_insn_len = vmx_get_insn_len,
	.get_exit_info = vmx_get_exit_info,
	.flush_tlb = vmx_flush_tlb,
	.run = vmx_run,
	.handle_exit = ckvm_vmx_handle_exit,
	.tdp = &ept_format,
};
