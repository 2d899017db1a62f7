// SPDX-License-Identifier: GPL-2.0
/*
 * The in-kernel irqchip's MMIO windows, as a guest uses them: the local
 * APIC's xAPIC page (ID, version, TPR/PPR and CR8, EOI and ISR, ICR
 * self-IPI by shorthand, physical and logical destination, LDR and DFR,
 * the timer, accesses that are not 32-bit, moving the page with
 * IA32_APIC_BASE, the page while the APIC is disabled or in x2APIC mode)
 * and the IOAPIC's IOREGSEL/IOWIN window (version, ID, a redirection
 * entry the guest programs and the host then fires). No access to either
 * window may exit to userspace, except where the test says so.
 *
 * Every expected value is what the distro kvm_amd/kvm_intel does. It
 * needs guest MMIO to reach the module (ckvm's instruction emulator) and
 * fails when it does not.
 */
#include "ckvm_util.h"
#include "mmio_util.h"

#define MSR_APIC_BASE	0x1b
#define APIC_BASE_EN	(1ULL << 11)
#define APIC_BASE_EXTD	(1ULL << 10)
#define APIC		0xfee00000UL
#define APIC_MOVED	0xfed00000UL
#define IOAPIC		0xfec00000UL
#define APIC_ID		0x20
#define APIC_LVR	0x30
#define APIC_TASKPRI	0x80
#define APIC_PROCPRI	0xa0
#define APIC_EOI	0xb0
#define APIC_LDR	0xd0
#define APIC_DFR	0xe0
#define APIC_SPIV	0xf0
#define APIC_ISR	0x100
#define APIC_ICR	0x300
#define APIC_ICR2	0x310
#define APIC_LVTT	0x320
#define APIC_LVT0	0x350
#define APIC_TMICT	0x380
#define APIC_TMCCT	0x390
#define APIC_TDCR	0x3e0
#define APIC_DEST_SELF	0x40000
#define APIC_DEST_LOGICAL 0x800

#define VEC_SELF	0x40
#define VEC_PHYS	0x41
#define VEC_NOEOI	0x42
#define VEC_LOGICAL	0x43
#define VEC_TIMER	0x50
#define VEC_IOAPIC	0x31

/* ---- guest ---- */

struct idt_gate {
	uint16_t off0, sel;
	uint8_t ist, type;
	uint16_t off1;
	uint32_t off2, rsvd;
} __attribute__((packed));

static struct idt_gate idt[256] __attribute__((aligned(16)));
volatile uint64_t irq_count[256];

/* Count the vector; EOI through the xAPIC page unless told not to. */
extern char stub_0x40[], stub_0x41[], stub_0x42[], stub_0x43[], stub_0x50[],
	    stub_0x31[];
asm(".pushsection .text\n"
    ".macro stub vec eoi\n"
    "stub_\\vec:\n"
    "	push %rax\n"
    "	incq irq_count+8*\\vec(%rip)\n"
    "	.if \\eoi\n"
    "	mov $0xfee000b0, %eax\n"
    "	movl $0, (%rax)\n"
    "	.endif\n"
    "	pop %rax\n"
    "	iretq\n"
    ".endm\n"
    "stub 0x40 1\n"
    "stub 0x41 1\n"
    "stub 0x42 0\n"
    "stub 0x43 1\n"
    "stub 0x50 1\n"
    "stub 0x31 1\n"
    ".popsection\n");

static void set_gate(int vec, void *handler)
{
	uint64_t a = (uint64_t)handler;

	idt[vec].off0 = a;
	idt[vec].sel = SEL_CODE64;
	idt[vec].ist = 0;
	idt[vec].type = 0x8e;
	idt[vec].off1 = a >> 16;
	idt[vec].off2 = a >> 32;
	idt[vec].rsvd = 0;
}

static uint32_t rd(unsigned long base, uint32_t off)
{
	return *(volatile uint32_t *)(base + off);
}

static void wr(unsigned long base, uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)(base + off) = v;
}

static uint64_t get_cr8(void)
{
	uint64_t v;

	asm volatile("mov %%cr8, %0" : "=r"(v));
	return v;
}

static void sti_nop_cli(void)
{
	asm volatile("sti; nop; cli" ::: "memory");
}

/*
 * Wait with interrupts open until @vec has come. Not with STI; HLT:
 * QEMU 7.2's SVM drops the guest's STI shadow when an exit lands between
 * the two (Documentation/testing.rst, "Interrupt shadows and the SVM
 * emulator", fault 2), and the interrupt, then delivered at the HLT,
 * returns onto it: the vCPU halts for good, on kvm_amd as on ckvm (seen
 * about once in 100 runs under load). sti_shadow_test covers HLT.
 */
static void wait_for(int vec)
{
	while (!irq_count[vec])
		asm volatile("sti; nop; cli" ::: "memory");
}

static void ioapic_write(uint32_t reg, uint32_t v)
{
	wr(IOAPIC, 0x00, reg);
	wr(IOAPIC, 0x10, v);
}

static uint32_t ioapic_read(uint32_t reg)
{
	wr(IOAPIC, 0x00, reg);
	return rd(IOAPIC, 0x10);
}

static void guest_code(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = { sizeof(idt) - 1, (uint64_t)idt };
	uint64_t base = rdmsr(MSR_APIC_BASE);

	set_gate(VEC_SELF, stub_0x40);
	set_gate(VEC_PHYS, stub_0x41);
	set_gate(VEC_NOEOI, stub_0x42);
	set_gate(VEC_LOGICAL, stub_0x43);
	set_gate(VEC_TIMER, stub_0x50);
	set_gate(VEC_IOAPIC, stub_0x31);
	asm volatile("lidt %0" :: "m"(idtr));

	/* Identification; SVR enables the APIC. */
	GUEST_SYNC(rd(APIC, APIC_ID));
	GUEST_SYNC(rd(APIC, APIC_LVR));
	GUEST_SYNC(*(volatile uint8_t *)(APIC + APIC_LVR));
	GUEST_SYNC(*(volatile uint16_t *)(APIC + APIC_LVR + 2));
	wr(APIC, APIC_SPIV, 0x1ff);
	GUEST_SYNC(rd(APIC, APIC_SPIV));
	/*
	 * Mask LINT0 (ExtINT on the BSP at reset), as an OS does: KVM's
	 * 8259, uninitialised and unmasked, would pass the IOAPIC's pin 6
	 * on as vector 6.
	 */
	wr(APIC, APIC_LVT0, 0x10000);

	/* TPR is CR8; PPR follows; a 1-byte write does not reach it. */
	wr(APIC, APIC_TASKPRI, 0x40);
	GUEST_SYNC2(rd(APIC, APIC_PROCPRI), get_cr8());
	*(volatile uint8_t *)(APIC + APIC_TASKPRI) = 0x20;
	GUEST_SYNC(rd(APIC, APIC_TASKPRI));
	wr(APIC, APIC_TASKPRI, 0);

	/* Self-IPI by shorthand, then to its own APIC ID. */
	wr(APIC, APIC_ICR2, 0);
	wr(APIC, APIC_ICR, APIC_DEST_SELF | VEC_SELF);
	sti_nop_cli();
	GUEST_SYNC(irq_count[VEC_SELF]);
	wr(APIC, APIC_ICR2, rd(APIC, APIC_ID));
	wr(APIC, APIC_ICR, VEC_PHYS);
	sti_nop_cli();
	GUEST_SYNC2(irq_count[VEC_PHYS], rd(APIC, APIC_ICR));

	/* In service until the EOI; PPR is its class meanwhile. */
	wr(APIC, APIC_ICR, APIC_DEST_SELF | VEC_NOEOI);
	sti_nop_cli();
	GUEST_SYNC2(rd(APIC, APIC_ISR + 0x20) & (1u << (VEC_NOEOI & 31)),
		    rd(APIC, APIC_PROCPRI));
	wr(APIC, APIC_EOI, 0);
	GUEST_SYNC2(rd(APIC, APIC_ISR + 0x20), rd(APIC, APIC_PROCPRI));

	/* LDR and DFR formats, and a logical (flat) destination. */
	wr(APIC, APIC_DFR, 0x0);
	GUEST_SYNC(rd(APIC, APIC_DFR));
	wr(APIC, APIC_DFR, 0xffffffff);
	wr(APIC, APIC_LDR, 0x02345678);
	GUEST_SYNC(rd(APIC, APIC_LDR));
	wr(APIC, APIC_ICR2, 0x02000000);
	wr(APIC, APIC_ICR, APIC_DEST_LOGICAL | VEC_LOGICAL);
	sti_nop_cli();
	GUEST_SYNC(irq_count[VEC_LOGICAL]);
	wr(APIC, APIC_ICR2, 0x04000000);	/* not this APIC */
	wr(APIC, APIC_ICR, APIC_DEST_LOGICAL | VEC_LOGICAL);
	sti_nop_cli();
	GUEST_SYNC(irq_count[VEC_LOGICAL]);

	/* A 50 ms one-shot timer wakes the halted vCPU. */
	wr(APIC, APIC_TDCR, 0xb);
	wr(APIC, APIC_LVTT, VEC_TIMER);
	wr(APIC, APIC_TMICT, 50000000);
	GUEST_SYNC(rd(APIC, APIC_TMCCT) != 0);
	wait_for(VEC_TIMER);
	GUEST_SYNC2(irq_count[VEC_TIMER], rd(APIC, APIC_TMCCT));

	/* The IOAPIC window. */
	GUEST_SYNC(ioapic_read(0x01));
	ioapic_write(0x00, 0x05000000);
	GUEST_SYNC(ioapic_read(0x00));
	wr(IOAPIC, 0x00, 0x1ff);
	GUEST_SYNC(rd(IOAPIC, 0x00));
	GUEST_SYNC(ioapic_read(0x10 + 2 * 24));	/* beyond the entries */
	ioapic_write(0x10 + 2 * 6 + 1, 0);		/* pin 6: to APIC 0 */
	ioapic_write(0x10 + 2 * 6, VEC_IOAPIC);		/* edge, unmasked */
	GUEST_SYNC(ioapic_read(0x10 + 2 * 6));
	GUEST_SYNC(0x106);				/* host raises pin 6 */
	wait_for(VEC_IOAPIC);
	GUEST_SYNC(irq_count[VEC_IOAPIC]);

	/* The page moves with IA32_APIC_BASE; the old address is plain MMIO. */
	wrmsr(MSR_APIC_BASE, (base & 0xfff) | APIC_MOVED);
	GUEST_SYNC(rd(APIC_MOVED, APIC_LVR));
	GUEST_SYNC(rd(APIC, APIC_LVR));		/* exits: host answers 0x1234 */
	wrmsr(MSR_APIC_BASE, base);
	GUEST_SYNC(rd(APIC, APIC_SPIV));

	/* Disabled, and in x2APIC mode: the page reads all ones. */
	wrmsr(MSR_APIC_BASE, base & ~APIC_BASE_EN);
	GUEST_SYNC(rd(APIC, APIC_LVR));
	wrmsr(MSR_APIC_BASE, base);
	wrmsr(MSR_APIC_BASE, base | APIC_BASE_EXTD);
	wr(APIC, APIC_TASKPRI, 0x30);
	GUEST_SYNC2(rd(APIC, APIC_LVR), rdmsr(0x808));
	GUEST_DONE();
}

/* ---- host ---- */

static void sync_eq(struct kvm_vcpu *v, uint64_t want, const char *what)
{
	struct ucall uc;
	int r = vcpu_run_ucall(v, &uc);

	if (r != UCALL_SYNC) {
		ksft_test_result(false, "%s: no sync (ucall %d)\n", what, r);
		return;
	}
	CHECK_EQ(uc.args[0], want, "%s\n", what);
}

static void sync_eq2(struct kvm_vcpu *v, uint64_t want0, uint64_t want1,
		     const char *what)
{
	struct ucall uc;
	int r = vcpu_run_ucall(v, &uc);

	if (r != UCALL_SYNC) {
		ksft_test_result(false, "%s: no sync (ucall %d)\n", what, r);
		return;
	}
	if (uc.args[0] != want0 || uc.args[1] != want1)
		ksft_print_msg("%s: got 0x%llx 0x%llx, want 0x%llx 0x%llx", what,
			       (unsigned long long)uc.args[0], (unsigned long long)uc.args[1],
			       (unsigned long long)want0, (unsigned long long)want1);
	ksft_test_result(uc.args[0] == want0 && uc.args[1] == want1, "%s\n", what);
}

#define NTESTS 33

int main(void)
{
	struct kvm_irqchip chip = { .chip_id = KVM_IRQCHIP_IOAPIC };
	struct kvm_irq_level line = { .irq = 6, .level = 1 };
	struct kvm_vcpu *v;
	struct kvm_vm *vm;
	struct kvm_run *run;
	struct ucall uc;
	bool ok;

	ksft_print_header();
	ksft_set_plan(NTESTS);
	kvm_open();
	if (!mmio_exits_work())
		ksft_exit_fail_msg("a guest write to a gpa without a memslot did not become KVM_EXIT_MMIO\n");

	vm = vm_create();
	TEST_ASSERT(!ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0), "KVM_CREATE_IRQCHIP");
	v = vcpu_add(vm, 0, guest_code);
	run = v->run;

	sync_eq(v, 0, "xAPIC ID of vCPU 0");
	sync_eq(v, 0x50014, "version 0x14, 6 LVT entries");
	sync_eq(v, 0x14, "1-byte read of the version");
	sync_eq(v, 5, "2-byte read of the version's upper half");
	sync_eq(v, 0x1ff, "SVR written and read back");
	sync_eq2(v, 0x40, 4, "TPR 0x40: PPR 0x40, CR8 4");
	sync_eq(v, 0x40, "a 1-byte write does not reach TPR");
	sync_eq(v, 1, "self-IPI by shorthand delivered");
	sync_eq2(v, 1, VEC_PHYS, "IPI to its own APIC ID delivered; ICR reads back");
	sync_eq2(v, 1u << (VEC_NOEOI & 31), VEC_NOEOI & 0xf0,
		 "before EOI: ISR bit set, PPR its class");
	sync_eq2(v, 0, 0, "after EOI: ISR and PPR clear");
	sync_eq(v, 0x0fffffff, "DFR: model bits kept, the rest reads 1");
	sync_eq(v, 0x02000000, "LDR: bits 31:24 only");
	sync_eq(v, 1, "logical flat destination that matches: delivered");
	sync_eq(v, 1, "logical destination that does not match: not delivered");
	sync_eq(v, 1, "timer counts down");
	sync_eq2(v, 1, 0, "timer fired once; count 0 after expiry");

	sync_eq(v, 0x170011, "IOAPIC version 0x11, 24 entries");
	sync_eq(v, 0x05000000, "IOAPIC ID written and read back");
	sync_eq(v, 0xff, "IOREGSEL keeps 8 bits");
	sync_eq(v, 0xffffffff, "IOAPIC register beyond the entries reads all ones");
	sync_eq(v, VEC_IOAPIC, "redirection entry read back through the window");
	TEST_ASSERT(!ioctl(vm->fd, KVM_GET_IRQCHIP, &chip), "KVM_GET_IRQCHIP");
	CHECK_EQ(chip.chip.ioapic.redirtbl[6].bits, VEC_IOAPIC,
		 "KVM_GET_IRQCHIP sees the guest's entry");
	CHECK_EQ(chip.chip.ioapic.id, 5, "KVM_GET_IRQCHIP sees the guest's ID");
	sync_eq(v, 0x106, "guest waits for pin 6");
	TEST_ASSERT(!ioctl(vm->fd, KVM_IRQ_LINE, &line), "KVM_IRQ_LINE");
	sync_eq(v, 1, "pin 6 delivered through the guest's entry");

	sync_eq(v, 0x50014, "moved page answers at the new base");
	ok = !vcpu_run(v) && run->exit_reason == KVM_EXIT_MMIO && !run->mmio.is_write &&
	     run->mmio.phys_addr == APIC + APIC_LVR && run->mmio.len == 4;
	ksft_test_result(ok, "old base: a read exits to userspace\n");
	memcpy(run->mmio.data, "\x34\x12\0\0", 4);
	sync_eq(v, 0x1234, "old base: userspace's data");
	sync_eq(v, 0x1ff, "moved back: the state is kept");
	sync_eq(v, 0xffffffff, "disabled APIC: the page reads all ones");
	sync_eq2(v, 0xffffffff, 0, "x2APIC: all ones, writes ignored");
	ksft_test_result(vcpu_run_ucall(v, &uc) == UCALL_DONE, "guest done\n");
	vcpu_free(v);
	kvm_vm_free(vm);
	return ksft_finished();
}
