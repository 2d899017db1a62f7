/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Vendor-neutral x86 state of a VM and a vCPU. Nothing here knows a VMCB
 * or a VMCS: the backends keep those behind arch.vendor.
 */
#ifndef CKVM_X86_H
#define CKVM_X86_H

#include <asm/fpu/api.h>
#include <asm/kvm_vcpu_regs.h>
#include <linux/kvm.h>
#include <linux/spinlock.h>

#include "mmu.h"

/* Architectural reset values (SDM 9.1.1, 11.12.4) that no header names. */
#define CKVM_DR7_RESET	0x400ULL
/* DR6.BD and DR7.GD (SDM 17.2.3, 17.2.4): general detect. */
#define CKVM_DR6_BD	BIT(13)
#define CKVM_DR7_GD	BIT(13)
/*
 * The KVM_GUESTDBG_* flags KVM 6.1 takes on x86 (its
 * KVM_GUESTDBG_VALID_MASK, also KVM_CAP_SET_GUEST_DEBUG2's answer).
 */
#define CKVM_GUESTDBG_VALID	(KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP | \
				 KVM_GUESTDBG_USE_SW_BP | KVM_GUESTDBG_USE_HW_BP | \
				 KVM_GUESTDBG_INJECT_DB | KVM_GUESTDBG_INJECT_BP | \
				 KVM_GUESTDBG_BLOCKIRQ)
#define CKVM_PAT_RESET	0x0007040600070406ULL
/* KVM's made-up microcode revision (Intel guests): no check takes it for real. */
#define CKVM_UCODE_REV	0x100000000ULL

/* x86's vcpu->requests bits (after the core's, ckvm.h). */
enum {
	/* Rewrite the pvclock page (x86/kvmclock.c). */
	CKVM_REQ_CLOCK_UPDATE = CKVM_REQ_ARCH_BASE,
	/* Add the time the thread waited for a CPU to the steal-time page. */
	CKVM_REQ_STEAL_UPDATE,
	/* The MSR filter changed: update the backend's MSR intercepts. */
	CKVM_REQ_MSR_FILTER_CHANGED,
};

/* Index of the guest GPRs in arch.regs[]: the instruction encoding order. */
enum ckvm_reg {
	VCPU_REGS_RAX = __VCPU_REGS_RAX,
	VCPU_REGS_RCX = __VCPU_REGS_RCX,
	VCPU_REGS_RDX = __VCPU_REGS_RDX,
	VCPU_REGS_RBX = __VCPU_REGS_RBX,
	VCPU_REGS_RSP = __VCPU_REGS_RSP,
	VCPU_REGS_RBP = __VCPU_REGS_RBP,
	VCPU_REGS_RSI = __VCPU_REGS_RSI,
	VCPU_REGS_RDI = __VCPU_REGS_RDI,
	VCPU_REGS_R8 = __VCPU_REGS_R8,
	VCPU_REGS_R9 = __VCPU_REGS_R9,
	VCPU_REGS_R10 = __VCPU_REGS_R10,
	VCPU_REGS_R11 = __VCPU_REGS_R11,
	VCPU_REGS_R12 = __VCPU_REGS_R12,
	VCPU_REGS_R13 = __VCPU_REGS_R13,
	VCPU_REGS_R14 = __VCPU_REGS_R14,
	VCPU_REGS_R15 = __VCPU_REGS_R15,
	VCPU_REGS_RIP,
	NR_VCPU_REGS
};

/* Segment numbers for the get_segment/set_segment operations. */
enum ckvm_seg {
	CKVM_SEG_ES,
	CKVM_SEG_CS,
	CKVM_SEG_SS,
	CKVM_SEG_DS,
	CKVM_SEG_FS,
	CKVM_SEG_GS,
	CKVM_SEG_TR,
	CKVM_SEG_LDTR,
	CKVM_NR_SEGS
};

/* A port I/O exit in flight between KVM_RUN calls. */
struct ckvm_pio {
	u16 port;
	u8 size;		/* bytes per item: 1, 2 or 4 */
	bool in;
	bool string;		/* INS/OUTS: data in the pio page */
	bool rep;
	u8 addr_bytes;		/* 2, 4 or 8: width of rSI/rDI/rCX; 0: unknown */
	u32 count;		/* items in this exit */
	int seg;		/* OUTS source segment */
	u64 next_rip;
};

struct ckvm_irqchip;
struct ckvm_lapic;
struct ckvm_pit;

/* Bits of vcpu->arch.apic_events. */
enum {
	CKVM_APIC_INIT,
	CKVM_APIC_SIPI,
};

/* At most what one KVM_EXIT_MMIO carries (kvm_run.mmio.data). */
#define CKVM_MMIO_FRAG_MAX	8

/* One piece of an MMIO access, as one KVM_EXIT_MMIO hands it over. */
struct ckvm_mmio_fragment {
	gpa_t gpa;
	u8 len;				/* 1 to CKVM_MMIO_FRAG_MAX bytes */
	u8 data[CKVM_MMIO_FRAG_MAX];
	u32 stamp;			/* reads: ctxt.iterations when read */
};

/*
 * MMIO reads done while an instruction is not complete yet, and writes not
 * yet given to userspace: enough for the largest access (16 bytes over a
 * page boundary is 3 pieces) twice, as CMPS reads two operands.
 */
#define CKVM_MMIO_READS		8
#define CKVM_MMIO_WRITES	4

/*
 * The emulation of one instruction, across the KVM_EXIT_MMIO exits it
 * needs (x86/mmio.c). An instruction that needs userspace's data runs
 * again from its start once userspace gave it: the reads it made before
 * come from reads[] then, in the same order, so that none of them reaches
 * a device twice.
 */
struct ckvm_emulation {
	struct x86_emulate_ctxt ctxt;
	unsigned long rip;		/* of the instruction */
	u8 insn[X86EMUL_MAX_INSN];	/* its bytes, for the runs after */
	u8 insn_len;
	const struct ckvm_tdp_fault *fault;	/* this run's; NULL later */
	bool gpa_used;			/* fault->gpa stood for a translation */
	/* Per run: whether userspace's one access of it is taken, by which. */
	bool user_access;
	u32 access_seq, user_access_seq;
	struct ckvm_mmio_fragment reads[CKVM_MMIO_READS];
	int nr_reads, next_read;
	struct ckvm_mmio_fragment pending;	/* the read userspace has */
	bool read_pending;
	struct ckvm_mmio_fragment writes[CKVM_MMIO_WRITES];
	int nr_writes, next_write;
	bool resume;			/* run again after the writes */
	bool pt_write;			/* of a shadowed page table (shadow.c) */
	bool halt;			/* the instruction was HLT */
	unsigned int resumes;		/* runs since the guest last ran */
};

/*
 * x86's counters in the binary stats (tables in x86.c), named as KVM names
 * the same counter where it has one. u64 members only (see ckvm.h).
 */
struct ckvm_vm_arch_stat {
	/* All under mmu->lock. */
	u64 pages_4k;		/* instant: 4 KiB leaves mapped */
	u64 pages_2m;		/* instant: 2 MiB leaves mapped */
	u64 mmu_shadow_zapped;	/* shadow pages zapped */
	u64 mmu_pte_write;	/* emulated writes to shadowed page tables */
	u64 mmu_pde_zapped;	/* ... that dropped a non-leaf spte */
	u64 mmu_flooded;	/* shadow pages dropped for write flooding */
	u64 mmu_recycled;	/* zapped to stay under the page limit */
	u64 mmu_cache_miss;	/* shadow pages created (not found) */
	u64 mmu_unsync;		/* instant: unsync shadow pages */
};

struct ckvm_vcpu_arch_stat {
	u64 exits;		/* every exit from the guest */
	u64 io_exits;		/* port I/O instructions */
	u64 halt_exits;
	u64 irq_exits;		/* a host interrupt arrived in guest mode */
	u64 signal_exits;	/* KVM_RUN returned -EINTR for a signal */
	u64 cpuid_exits;	/* handled in the kernel */
	u64 msr_exits;		/* RDMSR and WRMSR, handled in the kernel */
	u64 pf_taken;		/* nested page faults */
	u64 pf_fixed;		/* ... that left a mapping in place */
	u64 tlb_flush;		/* guest TLB flushes asked by a request */
	u64 pf_guest;		/* shadow paging: #PFs given to the guest */
	u64 pf_emulate;		/* ... writes to its page tables emulated */
	u64 invlpg;		/* ... INVLPGs handled */
	u64 mmio_exits;		/* KVM_EXIT_MMIO exits to userspace */
	u64 insn_emulation;	/* instructions emulated */
	u64 insn_emulation_fail;	/* ... that could not be */
};

/*
 * Bits of vcpu->arch.switch_db_regs (x86/debugreg.c): why the guest's
 * DR0-3 are in the CPU around an entry. BP_ENABLED: the guest's DR7
 * enables a breakpoint, so they are loaded before every entry. WONT_EXIT:
 * the guest accessed a debug register; MOV DR no longer exits, and the
 * registers are read back after the next exit (then MOV DR exits again).
 */
#define CKVM_DEBUGREG_BP_ENABLED	BIT(0)
#define CKVM_DEBUGREG_WONT_EXIT		BIT(1)

/* What the injection slot of the control block holds (ckvm_x86_ops.get_event). */
enum ckvm_event_type {
	CKVM_EVENT_NONE,
	CKVM_EVENT_EXCEPTION,	/* hardware exception, maybe an error code */
	CKVM_EVENT_NMI,
	CKVM_EVENT_INTR,	/* external interrupt */
	/*
	 * INTn, INT3, INTO, INT1 re-injected after an exit: RIP still points
	 * at the instruction, which raises it again if the event is dropped.
	 */
	CKVM_EVENT_SOFT,
};

struct ckvm_event {
	enum ckvm_event_type type;
	u8 vector;
	bool has_error;
	u32 error_code;
};

/* The pvclock of one vCPU (x86/kvmclock.c): MSR_KVM_SYSTEM_TIME(_NEW). */
struct ckvm_pvclock {
	u64 msr;		/* as last written, 0 when off */
	gpa_t gpa;		/* of its struct pvclock_vcpu_time_info */
	bool enabled;
	bool guest_stopped;	/* KVM_KVMCLOCK_CTRL: tell the guest once */
	u32 version;		/* even; odd while the page is written */
};

/* MSR_KVM_STEAL_TIME of one vCPU (x86/kvmclock.c). */
struct ckvm_steal_time {
	u64 msr;		/* as last written, 0 when off */
	u64 last_run_delay;	/* the thread's sched_info.run_delay, ns */
	u32 version;
	bool enabled;
};

/* Machine-check banks KVM_CAP_MCE reports: KVM's KVM_MAX_MCE_BANKS. */
#define CKVM_MAX_MCE_BANKS	32
/* Variable-range MTRR pairs (MTRRcap.VCNT), as QEMU and KVM use. */
#define CKVM_NR_VAR_MTRR	8

/*
 * MSRs that only store what the guest or userspace wrote and have no
 * effect on the host (x86/msrs.c): the MTRRs (EPT and NPT map guest
 * memory write-back whatever they say), MISC_ENABLE, HWCR, and the
 * machine-check registers of KVM_X86_SETUP_MCE.
 */
struct ckvm_msr_state {
	u64 mtrr_deftype;
	u64 mtrr_fixed[11];
	u64 mtrr_var[2 * CKVM_NR_VAR_MTRR];	/* base, mask, base, ... */
	u64 misc_enable;
	u64 power_ctl;
	u64 hwcr;
	u64 mcg_cap;		/* KVM_X86_SETUP_MCE; 0: no machine check */
	u64 mcg_status;
	u64 mcg_ctl;
	u64 mce_banks[CKVM_MAX_MCE_BANKS * 4];	/* CTL, STATUS, ADDR, MISC */
};

struct ckvm_msr_filter;

/*
 * ckvm_get_msr() and friends return 0 (done), 1 (refused: #GP), or: no
 * handler knows the MSR; the MSR filter denies the guest's access.
 */
#define CKVM_MSR_UNKNOWN	2
#define CKVM_MSR_FILTERED	3

struct ckvm_arch {
	struct ckvm_mmu mmu;
	u32 bsp_vcpu_id;	/* KVM_SET_BOOT_CPU_ID; vm->lock */
	/* KVM_CAP_MSR_PLATFORM_INFO: may the guest read MSR_PLATFORM_INFO? */
	bool guest_reads_platform_info;
	/* KVM_CAP_EXIT_ON_EMULATION_FAILURE: no #UD, always exit. */
	bool exit_on_emulation_error;
	/* KVM_CREATE_IRQCHIP's; NULL: interrupt controllers are userspace's. */
	struct ckvm_irqchip *irqchip;
	/* KVM_CREATE_PIT2's (x86/i8254.c); NULL: the PIT is userspace's. */
	struct ckvm_pit *pit;
	/*
	 * KVM_SET_TSS_ADDR: where VMX runs real mode in virtual-8086 mode
	 * (without unrestricted guest) it needs a TSS; its 3 pages at this
	 * guest address are ckvm's own (rmode_tss, the backend's), mapped
	 * there while the guest's paging is off. vm->lock.
	 */
	gpa_t tss_addr;
	struct page *rmode_tss;
	gpa_t identity_map_addr;	/* KVM_SET_IDENTITY_MAP_ADDR; unused */
	/* KVM_CAP_X86_TRIPLE_FAULT_EVENT enabled: KVM_VCPUEVENT_VALID_TRIPLE_FAULT. */
	bool triple_fault_event;
	/* KVM_SET_TSC_KHZ on the VM: the TSC frequency of new vCPUs; vm->lock. */
	u32 default_tsc_khz;
	/*
	 * The kvmclock (x86/kvmclock.c): guest ns = host ns at the master
	 * snapshot + kvmclock_offset + the TSC ticks since, at the host's
	 * TSC frequency. Under pvclock_lock.
	 */
	spinlock_t pvclock_lock;
	u64 master_tsc;		/* host TSC of the snapshot */
	u64 master_ns;		/* CLOCK_MONOTONIC_RAW of the snapshot */
	s64 kvmclock_offset;
	u64 wall_clock_msr;	/* MSR_KVM_WALL_CLOCK(_NEW), last written */
	/* vCPU 0's guest enabled MSR_KVM_SYSTEM_TIME: no stable bit (KVM). */
	bool old_kvmclock;
	/* KVM_CAP_X86_USER_SPACE_MSR: KVM_MSR_EXIT_REASON_* to exit for. */
	u32 user_space_msr_mask;
	/* KVM_X86_SET_MSR_FILTER (x86/msr_filter.c); RCU, under vm->lock. */
	struct ckvm_msr_filter __rcu *msr_filter;
	void *vendor;
};

/* KVM_SET_TSS_ADDR's default: below 4 GiB, where guests put no RAM. */
#define CKVM_DEFAULT_TSS_ADDR	0xfffbd000ULL
#define CKVM_RMODE_TSS_PAGES	3

struct ckvm_vcpu;

struct ckvm_vcpu_arch {
	unsigned long regs[NR_VCPU_REGS];
	u64 apic_base;
	struct ckvm_lapic *lapic;	/* with an in-kernel irqchip */
	u32 mp_state;		/* KVM_MP_STATE_*, see x86/lapic.c (INIT, SIPI) */
	/*
	 * INIT and SIPI sent to this vCPU and not acted on yet (bits
	 * CKVM_APIC_INIT, CKVM_APIC_SIPI; any thread sets them, the vCPU's
	 * own acts on them before its next entry), and the vector of the
	 * last SIPI (written before the bit, read after it). KVM_GET/
	 * SET_VCPU_EVENTS report and restore sipi_vector.
	 */
	unsigned long apic_events;
	u8 sipi_vector;
	/* Split irqchip: KVM_INTERRUPT's ExtINT vector not taken yet, or -1. */
	int pending_extint;
	/* Split irqchip: the EOI the next entry reports (KVM_EXIT_IOAPIC_EOI), or -1. */
	int pending_ioapic_eoi;
	u64 ucode_rev;		/* MSR_IA32_UCODE_REV as the guest reads it */
	u64 tsc_offset;		/* guest TSC = host TSC + tsc_offset */
	u64 tsc_adjust;		/* MSR_IA32_TSC_ADJUST */
	u64 platform_info;	/* MSR_PLATFORM_INFO, as userspace set it */
	u64 xcr0;
	struct fpu_guest guest_fpu;
	int cpuid_nent;
	struct kvm_cpuid_entry2 *cpuid_entries;
	struct ckvm_pio pio;
	struct ckvm_vcpu_mmu mmu;
	struct ckvm_cpu_role cpu_role;	/* the walker's paging mode cache */
	struct ckvm_emulation emul;	/* an instruction across MMIO exits */
	unsigned long pio_rip;	/* RIP of the I/O instruction in flight */
	bool has_run;		/* entered the guest at least once */
	/* Finishes an exit to userspace on the next KVM_RUN; may be NULL. */
	int (*complete_userspace_io)(struct ckvm_vcpu *vcpu);
	/* Debug registers (x86/debugreg.c); DR6 and DR7 are the backend's. */
	unsigned long db[4];
	u8 switch_db_regs;	/* CKVM_DEBUGREG_* */
	/*
	 * KVM_SET_GUEST_DEBUG (x86/debugreg.c). guest_debug: the
	 * KVM_GUESTDBG_* flags in force (0: off). With USE_HW_BP the
	 * debugger's DR0-3 (debugger_db) and DR7 are in the CPU and the
	 * backend, the guest's own DR7 waits in guest_dr7; with SINGLESTEP
	 * or USE_HW_BP every #DB is the debugger's, the backend's DR6 is
	 * scratch and the guest's own DR6 waits in guest_dr6.
	 * singlestep_tf: ckvm set RFLAGS.TF for SINGLESTEP (hidden from
	 * KVM_GET_REGS). step_exit: an instruction ckvm completed while
	 * single-stepping; the next entry becomes KVM_EXIT_DEBUG instead.
	 */
	u32 guest_debug;
	unsigned long debugger_db[4];
	u64 debugger_dr7;
	u64 guest_dr6, guest_dr7;
	bool singlestep_tf;
	bool step_exit;
	/*
	 * Events (x86/events.c). nmi_queued counts NMIs raised from any
	 * context (KVM_NMI, the local APIC) and not yet moved to
	 * nmi_pending, which the vCPU's own thread owns; irq_vector is an
	 * external interrupt given to this vCPU (KVM_INTERRUPT, or acked
	 * from the local APIC) that waits for the injection slot.
	 */
	atomic_t nmi_queued;
	u8 nmi_pending;		/* 0, 1 or 2 (one blocked, one latched) */
	bool irq_queued;
	u8 irq_vector;
	bool triple_fault_pending;	/* KVM_VCPUEVENT_VALID_TRIPLE_FAULT */
	/* A userspace MSR exit in flight (x86/msr_filter.c). */
	bool msr_exit_read;
	/* TSC frequency (KVM_GET/SET_TSC_KHZ), kHz. */
	u32 tsc_khz;
	struct ckvm_pvclock pvclock;
	struct ckvm_steal_time steal;
	struct ckvm_msr_state msrs;
	void *vendor;
};

static inline unsigned long ckvm_reg_read(struct ckvm_vcpu_arch *arch, int reg)
{
	return arch->regs[reg];
}

static inline void ckvm_reg_write(struct ckvm_vcpu_arch *arch, int reg,
				  unsigned long val)
{
	arch->regs[reg] = val;
}

/* Services of x86/ for the backends' exit handlers (contract: x86_ops.h). */
int ckvm_emulate_cpuid(struct ckvm_vcpu *vcpu);
int ckvm_emulate_xsetbv(struct ckvm_vcpu *vcpu);
int ckvm_emulate_rdmsr(struct ckvm_vcpu *vcpu);
int ckvm_emulate_wrmsr(struct ckvm_vcpu *vcpu);
int ckvm_emulate_halt(struct ckvm_vcpu *vcpu);
int ckvm_emulate_invd(struct ckvm_vcpu *vcpu);
int ckvm_exit_reenter(struct ckvm_vcpu *vcpu);
int ckvm_exit_external_interrupt(struct ckvm_vcpu *vcpu);
int ckvm_exit_inject_ud(struct ckvm_vcpu *vcpu);
int ckvm_exit_inject_gp(struct ckvm_vcpu *vcpu);
int ckvm_emulate_pio(struct ckvm_vcpu *vcpu, const struct ckvm_pio *pio);
int ckvm_exit_shutdown(struct ckvm_vcpu *vcpu);
int ckvm_exit_fail_entry(struct ckvm_vcpu *vcpu, u64 reason);
int ckvm_exit_unexpected(struct ckvm_vcpu *vcpu, u64 exit_code);
int ckvm_exit_emulation_failed(struct ckvm_vcpu *vcpu, gpa_t gpa);
int ckvm_emulation_failure_exit(struct ckvm_vcpu *vcpu, const u8 *insn,
				int insn_len, const u64 *data, int ndata);
int ckvm_emulate_mmio_fault(struct ckvm_vcpu *vcpu,
			    const struct ckvm_tdp_fault *f);
int ckvm_emulate_pt_write(struct ckvm_vcpu *vcpu,
			  const struct ckvm_tdp_fault *f);
int ckvm_emulate_instruction(struct ckvm_vcpu *vcpu);
int ckvm_vcpu_halt(struct ckvm_vcpu *vcpu);

/* Control registers (x86/cr.c): 0, or 1 for a #GP(0) to deliver. */
int ckvm_set_cr0(struct ckvm_vcpu *vcpu, u64 cr0);
int ckvm_set_cr3(struct ckvm_vcpu *vcpu, u64 cr3);
int ckvm_set_cr4(struct ckvm_vcpu *vcpu, u64 cr4);
int ckvm_set_cr8(struct ckvm_vcpu *vcpu, u64 cr8);
int ckvm_set_cr(struct ckvm_vcpu *vcpu, int cr, u64 val);
void ckvm_invlpg(struct ckvm_vcpu *vcpu, gva_t gva);
void ckvm_efer_changed(struct ckvm_vcpu *vcpu, u64 old);

/* The MSR dispatch (x86/msr.c). */
bool ckvm_pat_valid(u64 pat);
bool ckvm_is_canonical(struct ckvm_vcpu *vcpu, u64 la);
long ckvm_msr_io(struct ckvm_vcpu *vcpu, struct kvm_msrs __user *argp,
		 bool set);
long ckvm_msr_dev_ioctl(unsigned int ioctl, void __user *argp);

void ckvm_complete_instruction(struct ckvm_vcpu *vcpu);
void ckvm_inject_gp(struct ckvm_vcpu *vcpu);
void ckvm_inject_ud(struct ckvm_vcpu *vcpu);
int ckvm_cpl(struct ckvm_vcpu *vcpu);
void ckvm_inject_exception(struct ckvm_vcpu *vcpu, const struct x86_exception *e);
int ckvm_realmode_interrupt(struct ckvm_vcpu *vcpu, u8 vector);
bool ckvm_cpuid_has(struct ckvm_vcpu *vcpu, u32 function, int reg, int bit);
void ckvm_vcpu_init_event(struct ckvm_vcpu *vcpu);

/* Module parameter tdp: nested paging in use (else shadow paging). */
extern bool ckvm_tdp;

#endif
