// SPDX-License-Identifier: GPL-2.0
/*
 * The in-kernel irqchip (KVM_CREATE_IRQCHIP): its VM and vCPU ioctls with
 * their bad inputs, and a guest that takes interrupts through it: x2APIC
 * self-IPIs, the APIC timer waking a halted vCPU, IOAPIC level- and
 * edge-triggered pins driven by KVM_IRQ_LINE, Remote IRR and EOI, TPR
 * blocking, and #GP for the x2APIC accesses the SDM forbids.
 *
 * Every expected value is what the distro kvm_amd/kvm_intel does.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#include "ckvm_util.h"

#define MSR_APIC_BASE	0x1b
#define APIC_BASE_EN	(1ULL << 11)
#define APIC_BASE_EXTD	(1ULL << 10)
#define X2APIC(reg)	(0x800 + ((reg) >> 4))
#define APIC_ID		0x20
#define APIC_LVR	0x30
#define APIC_TASKPRI	0x80
#define APIC_PROCPRI	0xa0
#define APIC_EOI	0xb0
#define APIC_LDR	0xd0
#define APIC_SPIV	0xf0
#define APIC_ESR	0x280
#define APIC_ICR	0x300
#define APIC_LVTT	0x320
#define APIC_LVT0	0x350
#define APIC_TMICT	0x380
#define APIC_TMCCT	0x390
#define APIC_TDCR	0x3e0
#define APIC_SELF_IPI	0x3f0
#define APIC_DEST_SELF	0x40000

#define VEC_LEVEL	0x30	/* IOAPIC pin 5, level */
#define VEC_EDGE	0x31	/* IOAPIC pin 6, edge */
#define VEC_MASKED	0x32	/* IOAPIC pin 7, masked */
#define VEC_IPI		0x40
#define VEC_TIMER	0x50

/* ---- guest ---- */

struct idt_gate {
	uint16_t off0, sel;
	uint8_t ist, type;
	uint16_t off1;
	uint32_t off2, rsvd;
} __attribute__((packed));

static struct idt_gate idt[256] __attribute__((aligned(16)));
volatile uint64_t irq_count[256];
volatile uint64_t gp_count;

/*
 * Interrupt handlers: count the vector, EOI unless told not to. The #GP
 * handler skips the faulting RDMSR/WRMSR (2 bytes) and counts.
 */
extern char irq_stub_0x30[], irq_stub_0x31[], irq_stub_0x40[],
	    irq_stub_0x50[], gp_stub[];
asm(".pushsection .text\n"
    ".macro irq_stub vec eoi\n"
    "irq_stub_\\vec:\n"
    "	push %rax\n	push %rcx\n	push %rdx\n"
    "	incq irq_count+8*\\vec(%rip)\n"
    "	.if \\eoi\n"
    "	mov $0x80b, %ecx\n	xor %eax, %eax\n	xor %edx, %edx\n	wrmsr\n"
    "	.endif\n"
    "	pop %rdx\n	pop %rcx\n	pop %rax\n"
    "	iretq\n"
    ".endm\n"
    "irq_stub 0x30 0\n"
    "irq_stub 0x31 1\n"
    "irq_stub 0x40 1\n"
    "irq_stub 0x50 1\n"
    "gp_stub:\n"
    "	incq gp_count(%rip)\n"
    "	add $8, %rsp\n"
    "	addq $2, (%rsp)\n"
    "	iretq\n"
    ".popsection\n");

static void set_gate(int vec, void *handler)
{
	uint64_t a = (uint64_t)handler;

	idt[vec].off0 = a;
	idt[vec].sel = SEL_CODE64;
	idt[vec].ist = 0;
	idt[vec].type = 0x8e;		/* present, DPL 0, interrupt gate */
	idt[vec].off1 = a >> 16;
	idt[vec].off2 = a >> 32;
	idt[vec].rsvd = 0;
}

static void sti_nop_cli(void)
{
	/* STI's shadow covers the NOP: a pending interrupt comes after it. */
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

static void guest_code(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr;
	uint64_t base;

	set_gate(13, gp_stub);
	set_gate(VEC_LEVEL, irq_stub_0x30);
	set_gate(VEC_EDGE, irq_stub_0x31);
	set_gate(VEC_IPI, irq_stub_0x40);
	set_gate(VEC_TIMER, irq_stub_0x50);
	idtr.limit = sizeof(idt) - 1;
	idtr.base = (uint64_t)idt;
	asm volatile("lidt %0" :: "m"(idtr));

	/* x2APIC registers do not exist in xAPIC mode. */
	rdmsr(X2APIC(APIC_ID));
	GUEST_SYNC(gp_count);
	/* x2APIC without the enable bit is an invalid state. */
	base = rdmsr(MSR_APIC_BASE);
	wrmsr(MSR_APIC_BASE, (base & ~APIC_BASE_EN) | APIC_BASE_EXTD);
	GUEST_SYNC(gp_count);
	wrmsr(MSR_APIC_BASE, base | APIC_BASE_EN | APIC_BASE_EXTD);
	wrmsr(X2APIC(APIC_SPIV), 0x1ff);
	GUEST_SYNC2(rdmsr(X2APIC(APIC_ID)), rdmsr(X2APIC(APIC_LDR)));

	/* Read-only, write-only, reserved high half, ESR must be 0. */
	wrmsr(X2APIC(APIC_ID), 5);
	rdmsr(X2APIC(APIC_EOI));
	wrmsr(X2APIC(APIC_TASKPRI), 1ULL << 32);
	wrmsr(X2APIC(APIC_ESR), 1);
	wrmsr(X2APIC(APIC_ICR), (1ULL << 13) | VEC_IPI);
	GUEST_SYNC(gp_count);

	/* Self-IPIs: the SELF IPI register, then the ICR shorthand. */
	wrmsr(X2APIC(APIC_SELF_IPI), VEC_IPI);
	sti_nop_cli();
	GUEST_SYNC(irq_count[VEC_IPI]);
	wrmsr(X2APIC(APIC_ICR), APIC_DEST_SELF | VEC_IPI);
	sti_nop_cli();
	GUEST_SYNC(irq_count[VEC_IPI]);

	/* A 1 ms one-shot timer wakes the halted vCPU. */
	wrmsr(X2APIC(APIC_TDCR), 0xb);		/* divide by 1 */
	wrmsr(X2APIC(APIC_LVTT), VEC_TIMER);
	wrmsr(X2APIC(APIC_TMICT), 1000000);
	wait_for(VEC_TIMER);
	GUEST_SYNC2(irq_count[VEC_TIMER], rdmsr(X2APIC(APIC_TMCCT)));

	/* IOAPIC pin 5, level: the host raises it; the handler sends no EOI. */
	GUEST_SYNC(0x105);
	wait_for(VEC_LEVEL);
	GUEST_SYNC(irq_count[VEC_LEVEL]);
	/* EOI with the line still high: it comes again. */
	wrmsr(X2APIC(APIC_EOI), 0);
	sti_nop_cli();
	GUEST_SYNC(irq_count[VEC_LEVEL]);
	/* The host lowered the line: this EOI ends it. */
	wrmsr(X2APIC(APIC_EOI), 0);
	sti_nop_cli();
	GUEST_SYNC(irq_count[VEC_LEVEL]);

	/* IOAPIC pin 6, edge: one interrupt per rising edge. */
	GUEST_SYNC(0x106);
	sti_nop_cli();
	GUEST_SYNC(irq_count[VEC_EDGE]);
	sti_nop_cli();
	GUEST_SYNC(irq_count[VEC_EDGE]);

	/* TPR 0x40 holds back vector 0x31 (class 3) until it drops. */
	wrmsr(X2APIC(APIC_TASKPRI), 0x40);
	GUEST_SYNC(rdmsr(X2APIC(APIC_PROCPRI)));
	sti_nop_cli();
	GUEST_SYNC(irq_count[VEC_EDGE]);
	wrmsr(X2APIC(APIC_TASKPRI), 0);
	sti_nop_cli();
	GUEST_SYNC(irq_count[VEC_EDGE]);
	GUEST_DONE();
}

/* ---- host ---- */

static int irq_line(struct kvm_vm *vm, uint32_t irq, uint32_t level)
{
	struct kvm_irq_level l = { .irq = irq, .level = level };

	return ioctl(vm->fd, KVM_IRQ_LINE, &l);
}

static int get_chip(struct kvm_vm *vm, uint32_t id, struct kvm_irqchip *c)
{
	memset(c, 0, sizeof(*c));
	c->chip_id = id;
	return ioctl(vm->fd, KVM_GET_IRQCHIP, c);
}

static uint32_t lapic_reg(struct kvm_lapic_state *s, int off)
{
	return *(uint32_t *)(s->regs + off);
}

/* Run to the next ucall and check that it is SYNC with args[0] == want. */
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

static void test_api(void)
{
	struct kvm_lapic_state ls;
	struct kvm_irqchip chip;
	struct kvm_mp_state mp;
	struct kvm_vcpu *v0, *v1;
	struct kvm_vm *vm;
	int i, masked = 0;

	/* Without an irqchip. */
	vm = vm_create_bare();
	v0 = vcpu_create(vm, 0);
	CHECK_ERRNO(irq_line(vm, 0, 1), ENXIO, "KVM_IRQ_LINE without irqchip -> ENXIO");
	CHECK_ERRNO(get_chip(vm, KVM_IRQCHIP_IOAPIC, &chip), ENXIO,
		    "KVM_GET_IRQCHIP without irqchip -> ENXIO");
	CHECK_ERRNO(ioctl(v0->fd, KVM_GET_LAPIC, &ls), EINVAL,
		    "KVM_GET_LAPIC without irqchip -> EINVAL");
	mp.mp_state = KVM_MP_STATE_HALTED;
	CHECK_ERRNO(ioctl(v0->fd, KVM_SET_MP_STATE, &mp), EINVAL,
		    "MP state HALTED without irqchip -> EINVAL");
	CHECK_ERRNO(ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0), EINVAL,
		    "KVM_CREATE_IRQCHIP after a vCPU exists -> EINVAL");
	vcpu_free(v0);
	kvm_vm_free(vm);

	vm = vm_create_bare();
	CHECK_OK(ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0), "KVM_CREATE_IRQCHIP");
	CHECK_ERRNO(ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0), EEXIST,
		    "second KVM_CREATE_IRQCHIP -> EEXIST");
	CHECK_ERRNO(get_chip(vm, 3, &chip), EINVAL, "KVM_GET_IRQCHIP chip 3 -> EINVAL");
	CHECK_ERRNO(ioctl(vm->fd, KVM_GET_IRQCHIP, NULL), EFAULT,
		    "KVM_GET_IRQCHIP NULL -> EFAULT");
	CHECK_OK(irq_line(vm, 1000, 1), "KVM_IRQ_LINE of an unrouted GSI is ignored");
	CHECK_ERRNO(ioctl(vm->fd, KVM_IRQ_LINE, NULL), EFAULT,
		    "KVM_IRQ_LINE NULL -> EFAULT");
	CHECK_ERRNO(ioctl(vm->fd, KVM_SET_IRQCHIP, NULL), EFAULT,
		    "KVM_SET_IRQCHIP NULL -> EFAULT");
	memset(&chip, 0, sizeof(chip));
	chip.chip_id = 3;
	CHECK_ERRNO(ioctl(vm->fd, KVM_SET_IRQCHIP, &chip), EINVAL,
		    "KVM_SET_IRQCHIP chip 3 -> EINVAL");

	/* Reset state: IOAPIC at its base with every pin masked. */
	TEST_ASSERT(!get_chip(vm, KVM_IRQCHIP_IOAPIC, &chip), "GET_IRQCHIP");
	for (i = 0; i < KVM_IOAPIC_NUM_PINS; i++)
		masked += chip.chip.ioapic.redirtbl[i].fields.mask;
	CHECK_EQ(chip.chip.ioapic.base_address, 0xfec00000, "IOAPIC base address");
	CHECK_EQ(masked, KVM_IOAPIC_NUM_PINS, "every IOAPIC pin masked at reset");
	TEST_ASSERT(!get_chip(vm, KVM_IRQCHIP_PIC_MASTER, &chip), "GET_IRQCHIP");
	CHECK_EQ(chip.chip.pic.elcr_mask, 0xf8, "master PIC ELCR mask");
	TEST_ASSERT(!get_chip(vm, KVM_IRQCHIP_PIC_SLAVE, &chip), "GET_IRQCHIP");
	CHECK_EQ(chip.chip.pic.elcr_mask, 0xde, "slave PIC ELCR mask");

	/* Round trip of an IOAPIC state. */
	TEST_ASSERT(!get_chip(vm, KVM_IRQCHIP_IOAPIC, &chip), "GET_IRQCHIP");
	chip.chip.ioapic.id = 3;
	chip.chip.ioapic.redirtbl[9].bits = 0x0100000000008077ULL;
	CHECK_OK(ioctl(vm->fd, KVM_SET_IRQCHIP, &chip), "KVM_SET_IRQCHIP IOAPIC");
	TEST_ASSERT(!get_chip(vm, KVM_IRQCHIP_IOAPIC, &chip), "GET_IRQCHIP");
	CHECK_EQ(chip.chip.ioapic.redirtbl[9].bits, 0x0100000000008077ULL,
		 "IOAPIC entry round trip");
	CHECK_EQ(chip.chip.ioapic.id, 3, "IOAPIC id round trip");

	/* Each vCPU gets a local APIC in its reset state. */
	v0 = vcpu_create(vm, 0);
	v1 = vcpu_create(vm, 1);
	CHECK_OK(ioctl(v1->fd, KVM_GET_LAPIC, &ls), "KVM_GET_LAPIC");
	CHECK_EQ(lapic_reg(&ls, APIC_ID), 1 << 24, "vCPU 1: APIC ID 1");
	CHECK_EQ(lapic_reg(&ls, APIC_LVR), 0x50014, "APIC version 0x14, 6 LVT entries");
	CHECK_EQ(lapic_reg(&ls, APIC_SPIV), 0xff, "SVR at reset: 0xff, disabled");
	CHECK_EQ(lapic_reg(&ls, APIC_LVTT), 0x10000, "LVT timer masked at reset");
	TEST_ASSERT(!ioctl(v0->fd, KVM_GET_LAPIC, &ls), "GET_LAPIC");
	CHECK_EQ(lapic_reg(&ls, APIC_LVT0), 0x700, "BSP LINT0: ExtINT, unmasked");

	/* KVM_SET_LAPIC round trip; TPR is CR8 in KVM_GET_SREGS. */
	*(uint32_t *)(ls.regs + APIC_TASKPRI) = 0x20;
	CHECK_OK(ioctl(v0->fd, KVM_SET_LAPIC, &ls), "KVM_SET_LAPIC");
	memset(&ls, 0, sizeof(ls));
	TEST_ASSERT(!ioctl(v0->fd, KVM_GET_LAPIC, &ls), "GET_LAPIC");
	CHECK_EQ(lapic_reg(&ls, APIC_TASKPRI), 0x20, "TPR round trip");
	{
		struct kvm_sregs s;

		vcpu_get_sregs(v0, &s);
		CHECK_EQ(s.cr8, 2, "CR8 is TPR[7:4]");
	}
	CHECK_ERRNO(ioctl(v0->fd, KVM_SET_LAPIC, NULL), EFAULT,
		    "KVM_SET_LAPIC NULL -> EFAULT");
	CHECK_ERRNO(ioctl(v0->fd, KVM_GET_LAPIC, NULL), EFAULT,
		    "KVM_GET_LAPIC NULL -> EFAULT");
	mp.mp_state = 99;
	CHECK_ERRNO(ioctl(v0->fd, KVM_SET_MP_STATE, &mp), EINVAL,
		    "MP state 99 with irqchip -> EINVAL");
	mp.mp_state = KVM_MP_STATE_HALTED;
	CHECK_OK(ioctl(v0->fd, KVM_SET_MP_STATE, &mp), "MP state HALTED with irqchip");
	memset(&mp, 0, sizeof(mp));
	TEST_ASSERT(!ioctl(v0->fd, KVM_GET_MP_STATE, &mp), "GET_MP_STATE");
	CHECK_EQ(mp.mp_state, KVM_MP_STATE_HALTED, "MP state reads back HALTED");
	vcpu_free(v0);
	vcpu_free(v1);
	kvm_vm_free(vm);
}

/* Pin @pin: @vector, fixed, physical destination APIC 0. */
static void set_pin(struct kvm_irqchip *chip, int pin, int vector, bool level,
		    bool mask)
{
	chip->chip.ioapic.redirtbl[pin].bits = 0;
	chip->chip.ioapic.redirtbl[pin].fields.vector = vector;
	chip->chip.ioapic.redirtbl[pin].fields.trig_mode = level;
	chip->chip.ioapic.redirtbl[pin].fields.mask = mask;
	chip->chip.ioapic.redirtbl[pin].fields.dest_id = 0;
}

static void test_guest(void)
{
	struct kvm_irqchip chip;
	struct kvm_vcpu *v;
	struct kvm_vm *vm;
	struct ucall uc;

	vm = vm_create();
	TEST_ASSERT(!ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0), "KVM_CREATE_IRQCHIP");
	v = vcpu_add(vm, 0, guest_code);
	TEST_ASSERT(!get_chip(vm, KVM_IRQCHIP_IOAPIC, &chip), "GET_IRQCHIP");
	set_pin(&chip, 5, VEC_LEVEL, true, false);
	set_pin(&chip, 6, VEC_EDGE, false, false);
	set_pin(&chip, 7, VEC_MASKED, true, true);
	TEST_ASSERT(!ioctl(vm->fd, KVM_SET_IRQCHIP, &chip), "SET_IRQCHIP");

	sync_eq(v, 1, "x2APIC MSR in xAPIC mode -> #GP");
	sync_eq(v, 2, "APIC base: x2APIC without enable -> #GP");
	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "x2APIC on");
	CHECK_EQ(uc.args[0], 0, "x2APIC ID of vCPU 0");
	CHECK_EQ(uc.args[1], 1, "x2APIC LDR of vCPU 0: cluster 0, bit 0");
	sync_eq(v, 7, "write ID, read EOI, TPR bit 32, ESR=1, ICR bit 13 -> 5 x #GP");
	sync_eq(v, 1, "self-IPI through SELF_IPI delivered");
	sync_eq(v, 2, "self-IPI through the ICR shorthand delivered");
	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "timer");
	CHECK_EQ(uc.args[0], 1, "APIC timer woke the halted vCPU, once");
	CHECK_EQ(uc.args[1], 0, "one-shot timer count reads 0 after expiry");

	sync_eq(v, 0x105, "guest waits for pin 5");
	CHECK_OK(irq_line(vm, 5, 1), "KVM_IRQ_LINE pin 5 high");
	CHECK_OK(irq_line(vm, 7, 1), "KVM_IRQ_LINE masked pin 7 high");
	sync_eq(v, 1, "level interrupt delivered once");
	TEST_ASSERT(!get_chip(vm, KVM_IRQCHIP_IOAPIC, &chip), "GET_IRQCHIP");
	CHECK_EQ(chip.chip.ioapic.redirtbl[5].fields.remote_irr, 1,
		 "Remote IRR set until the EOI");
	CHECK_EQ(chip.chip.ioapic.irr & 0xe0, 0xa0, "IOAPIC IRR: pins 5 and 7 high");
	sync_eq(v, 2, "EOI with the line high: delivered again");
	CHECK_OK(irq_line(vm, 5, 0), "KVM_IRQ_LINE pin 5 low");
	sync_eq(v, 2, "EOI with the line low: no more");
	TEST_ASSERT(!get_chip(vm, KVM_IRQCHIP_IOAPIC, &chip), "GET_IRQCHIP");
	CHECK_EQ(chip.chip.ioapic.redirtbl[5].fields.remote_irr, 0,
		 "Remote IRR clear after the EOI");

	sync_eq(v, 0x106, "guest waits for pin 6");
	irq_line(vm, 6, 1);
	irq_line(vm, 6, 1);
	sync_eq(v, 1, "edge pin raised twice without a fall: one interrupt");
	irq_line(vm, 6, 0);
	irq_line(vm, 6, 1);
	sync_eq(v, 2, "a new rising edge: another interrupt");
	sync_eq(v, 0x40, "PPR follows TPR 0x40");
	irq_line(vm, 6, 0);
	irq_line(vm, 6, 1);
	sync_eq(v, 2, "TPR 0x40 holds back vector 0x31");
	sync_eq(v, 3, "TPR 0 lets it through");
	ksft_test_result(vcpu_run_ucall(v, &uc) == UCALL_DONE, "guest done\n");
	vcpu_free(v);
	kvm_vm_free(vm);
}

int main(void)
{
	ksft_print_header();
	ksft_set_plan(60);
	kvm_open();
	test_api();
	test_guest();
	return ksft_finished();
}
