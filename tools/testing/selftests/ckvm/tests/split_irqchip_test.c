// SPDX-License-Identifier: GPL-2.0
/*
 * The split irqchip (KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP), QEMU's
 * kernel-irqchip=split): local APICs in the kernel, the IOAPIC and the
 * PICs in userspace. Its freeze rules and bad inputs; no irqchip routes,
 * no KVM_GET_IRQCHIP, no resampling irqfd; the userspace IOAPIC's pins as
 * MSI routes of the reserved GSIs, whose level-triggered EOIs exit with
 * KVM_EXIT_IOAPIC_EOI (edge-triggered ones and those of other GSIs do
 * not); an ExtINT of userspace's PIC through KVM_INTERRUPT (-EEXIST while
 * one waits), taken through LINT0 and held back while LINT0 is masked
 * (ready_for_interrupt_injection says so); while LINT0 refuses ExtINTs,
 * request_interrupt_window opens no window (KVM's
 * kvm_cpu_accept_dm_intr()): the guest runs on, it is not held in a
 * window that opens at once, again and again (QEMU asks for one from its
 * stale copy of LVT0).
 *
 * Every expected value is what the distro kvm_amd/kvm_intel does.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>

#include "ckvm_util.h"

#define MSR_APIC_BASE	0x1b
#define APIC_BASE_EN	(1ULL << 11)
#define APIC_BASE_EXTD	(1ULL << 10)
#define X2APIC(reg)	(0x800 + ((reg) >> 4))
#define APIC_EOI	0xb0
#define APIC_SPIV	0xf0
#define APIC_LVT0	0x350

#define VEC_LEVEL	0x35	/* GSI 5: a reserved pin, level */
#define VEC_EDGE	0x36	/* GSI 6: a reserved pin, edge */
#define VEC_OTHER	0x37	/* GSI 30: not reserved, level */
#define VEC_EXTINT	0x48

/* ---- guest ---- */

struct idt_gate {
	uint16_t off0, sel;
	uint8_t ist, type;
	uint16_t off1;
	uint32_t off2, rsvd;
} __attribute__((packed));

static struct idt_gate idt[256] __attribute__((aligned(16)));
volatile uint64_t count[256];

/* Count; the EOI is the guest code's, so the host sees where it exits. */
void split_handler(uint64_t vec)
{
	count[vec]++;
}

asm(".pushsection .text\n"
    ".macro split_stub vec\n"
    "split_stub_\\vec:\n"
    "	push %rax\n	push %rcx\n	push %rdx\n	push %rsi\n	push %rdi\n"
    "	push %r8\n	push %r9\n	push %r10\n	push %r11\n"
    "	mov $\\vec, %edi\n"
    "	call split_handler\n"
    "	pop %r11\n	pop %r10\n	pop %r9\n	pop %r8\n"
    "	pop %rdi\n	pop %rsi\n	pop %rdx\n	pop %rcx\n	pop %rax\n"
    "	iretq\n"
    ".endm\n"
    "split_stub 0x35\n"
    "split_stub 0x36\n"
    "split_stub 0x37\n"
    "split_stub 0x48\n"
    ".popsection\n");
extern char split_stub_0x35[], split_stub_0x36[], split_stub_0x37[], split_stub_0x48[];

static void set_gate(int vec, void *handler)
{
	uint64_t a = (uint64_t)handler;

	idt[vec].off0 = a;
	idt[vec].sel = SEL_CODE64;
	idt[vec].type = 0x8e;
	idt[vec].off1 = a >> 16;
	idt[vec].off2 = a >> 32;
}

static void take(void)
{
	asm volatile("sti; nop; cli" ::: "memory");
}

static void eoi(void)
{
	wrmsr(X2APIC(APIC_EOI), 0);
}

static void guest_code(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr;

	set_gate(VEC_LEVEL, split_stub_0x35);
	set_gate(VEC_EDGE, split_stub_0x36);
	set_gate(VEC_OTHER, split_stub_0x37);
	set_gate(VEC_EXTINT, split_stub_0x48);
	idtr.limit = sizeof(idt) - 1;
	idtr.base = (uint64_t)idt;
	asm volatile("lidt %0" :: "m"(idtr));
	wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | APIC_BASE_EN | APIC_BASE_EXTD);
	wrmsr(X2APIC(APIC_SPIV), 0x1ff);

	GUEST_SYNC(1);			/* host: GSI 5 (level MSI) high */
	take();
	GUEST_SYNC(count[VEC_LEVEL]);
	eoi();				/* host sees KVM_EXIT_IOAPIC_EOI */
	GUEST_SYNC(2);			/* host: GSI 6 (edge MSI) */
	take();
	eoi();				/* no exit */
	GUEST_SYNC(count[VEC_EDGE]);
	GUEST_SYNC(3);			/* host: GSI 30 (level MSI, not reserved) */
	take();
	eoi();				/* no exit */
	GUEST_SYNC(count[VEC_OTHER]);

	/* ExtINTs of userspace's PIC (KVM_INTERRUPT). */
	GUEST_SYNC(4);			/* host: KVM_INTERRUPT */
	take();
	GUEST_SYNC(count[VEC_EXTINT]);
	wrmsr(X2APIC(APIC_LVT0), 0x10700);	/* LINT0 masked */
	GUEST_SYNC(5);			/* host: KVM_INTERRUPT */
	take();
	GUEST_SYNC(count[VEC_EXTINT]);
	wrmsr(X2APIC(APIC_LVT0), 0x700);
	GUEST_SYNC(6);			/* host: sends an MSI to wake the check */
	take();
	eoi();
	GUEST_SYNC(count[VEC_EXTINT]);

	/* LINT0 masked, IF=1, userspace wants a window: the guest runs on. */
	wrmsr(X2APIC(APIC_LVT0), 0x10700);
	asm volatile("sti" ::: "memory");
	GUEST_SYNC(7);			/* host: request_interrupt_window */
	GUEST_SYNC(8);
	asm volatile("cli" ::: "memory");
	GUEST_DONE();
}

/* ---- host ---- */

static int enable_split(struct kvm_vm *vm, uint64_t pins)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_SPLIT_IRQCHIP, .args = { pins } };

	return ioctl(vm->fd, KVM_ENABLE_CAP, &cap);
}

/* Routes: GSI 5 level MSI, GSI 6 edge MSI, GSI 30 level MSI (to APIC 0). */
static int set_routes(struct kvm_vm *vm, bool with_irqchip)
{
	struct {
		struct kvm_irq_routing r;
		struct kvm_irq_routing_entry e[4];
	} rt = { .r.nr = with_irqchip ? 4 : 3 };
	static const struct { uint32_t gsi, vec; bool level; } m[] = {
		{ 5, VEC_LEVEL, true }, { 6, VEC_EDGE, false }, { 30, VEC_OTHER, true },
	};
	int i;

	for (i = 0; i < 3; i++) {
		rt.e[i].gsi = m[i].gsi;
		rt.e[i].type = KVM_IRQ_ROUTING_MSI;
		rt.e[i].u.msi.address_lo = 0xfee00000;
		rt.e[i].u.msi.data = m[i].vec | (m[i].level ? 1 << 15 | 1 << 14 : 0);
	}
	rt.e[3].gsi = 9;
	rt.e[3].type = KVM_IRQ_ROUTING_IRQCHIP;
	rt.e[3].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
	rt.e[3].u.irqchip.pin = 9;
	return ioctl(vm->fd, KVM_SET_GSI_ROUTING, &rt);
}

static int irq_line(struct kvm_vm *vm, uint32_t irq, uint32_t level)
{
	struct kvm_irq_level l = { .irq = irq, .level = level };

	return ioctl(vm->fd, KVM_IRQ_LINE, &l);
}

static int kvm_interrupt(struct kvm_vcpu *v, uint32_t vec)
{
	struct kvm_interrupt i = { .irq = vec };

	return ioctl(v->fd, KVM_INTERRUPT, &i);
}

static struct ucall sync_uc(struct kvm_vcpu *v, const char *what)
{
	struct ucall uc;
	int r = vcpu_run_ucall(v, &uc);

	if (r != UCALL_SYNC) {
		ksft_test_result(false, "%s: no sync (ucall %d)\n", what, r);
		ksft_exit_fail_msg("the guest stopped early\n");
	}
	return uc;
}

static void test_api(void)
{
	struct kvm_irqfd irqfd = { 0 };
	struct kvm_irqchip chip = { .chip_id = KVM_IRQCHIP_IOAPIC };
	struct kvm_vm *vm;
	struct kvm_vcpu *v;
	int efd, rfd;

	CHECK_EQ(kvm_check_cap(KVM_CAP_SPLIT_IRQCHIP), 1, "KVM_CAP_SPLIT_IRQCHIP");
	vm = vm_create_bare();
	CHECK_ERRNO(enable_split(vm, 4097), EINVAL, "4097 reserved pins -> EINVAL");
	CHECK_OK(enable_split(vm, 24), "KVM_ENABLE_CAP split, 24 pins");
	CHECK_ERRNO(enable_split(vm, 24), EEXIST, "a second split irqchip -> EEXIST");
	CHECK_ERRNO(ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0), EEXIST,
		    "KVM_CREATE_IRQCHIP after the split one -> EEXIST");
	CHECK_ERRNO(ioctl(vm->fd, KVM_GET_IRQCHIP, &chip), ENXIO,
		    "KVM_GET_IRQCHIP: the IOAPIC is userspace's -> ENXIO");
	CHECK_ERRNO(set_routes(vm, true), EINVAL, "an IOAPIC route -> EINVAL");
	CHECK_OK(set_routes(vm, false), "MSI routes");
	efd = eventfd(0, 0);
	rfd = eventfd(0, 0);
	irqfd.fd = efd;
	irqfd.gsi = 5;
	irqfd.flags = KVM_IRQFD_FLAG_RESAMPLE;
	irqfd.resamplefd = rfd;
	CHECK_ERRNO(ioctl(vm->fd, KVM_IRQFD, &irqfd), EINVAL, "resampling irqfd -> EINVAL");
	irqfd.flags = 0;
	CHECK_OK(ioctl(vm->fd, KVM_IRQFD, &irqfd), "plain irqfd on an MSI route");
	irqfd.flags = KVM_IRQFD_FLAG_DEASSIGN;
	CHECK_OK(ioctl(vm->fd, KVM_IRQFD, &irqfd), "irqfd deassigned");
	close(efd);
	close(rfd);
	v = vcpu_create(vm, 0);
	CHECK_OK(ioctl(v->fd, KVM_GET_LAPIC, &(struct kvm_lapic_state){ 0 }),
		 "the vCPU has an in-kernel local APIC");
	vcpu_free(v);
	kvm_vm_free(vm);

	vm = vm_create_bare();
	v = vcpu_create(vm, 0);
	CHECK_ERRNO(enable_split(vm, 24), EEXIST, "split irqchip after a vCPU -> EEXIST");
	vcpu_free(v);
	kvm_vm_free(vm);
}

static void on_alarm(int sig)
{
	(void)sig;	/* only ends a KVM_RUN that would not end by itself */
}

static void test_guest(void)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct kvm_vcpu *v;
	struct kvm_vm *vm;
	struct ucall uc;
	int r;

	vm = vm_create();
	TEST_ASSERT(!enable_split(vm, 24), "split irqchip");
	TEST_ASSERT(!set_routes(vm, false), "routes");
	v = vcpu_add(vm, 0, guest_code);

	sync_uc(v, "start");
	irq_line(vm, 5, 1);
	uc = sync_uc(v, "level MSI");
	CHECK_EQ(uc.args[0], 1, "GSI 5, level MSI: delivered");
	r = vcpu_run(v);
	ksft_test_result(!r && v->run->exit_reason == KVM_EXIT_IOAPIC_EOI &&
			 v->run->eoi.vector == VEC_LEVEL,
			 "its EOI exits: KVM_EXIT_IOAPIC_EOI, vector %#x (exit %s)\n",
			 v->run->eoi.vector, exit_reason_str(v->run->exit_reason));
	irq_line(vm, 5, 0);
	sync_uc(v, "edge");
	irq_line(vm, 6, 1);
	uc = sync_uc(v, "edge MSI");
	CHECK_EQ(uc.args[0], 1, "GSI 6, edge MSI: delivered, its EOI does not exit");
	sync_uc(v, "other");
	irq_line(vm, 30, 1);
	uc = sync_uc(v, "GSI 30");
	CHECK_EQ(uc.args[0], 1, "GSI 30 (not reserved), level MSI: its EOI does not exit");

	sync_uc(v, "extint");
	CHECK_EQ(v->run->ready_for_interrupt_injection, 0,
		 "ready_for_interrupt_injection 0 with IF=0");
	CHECK_OK(kvm_interrupt(v, VEC_EXTINT), "KVM_INTERRUPT with a split irqchip");
	CHECK_ERRNO(kvm_interrupt(v, VEC_EXTINT), EEXIST,
		    "a second KVM_INTERRUPT before the first is taken -> EEXIST");
	uc = sync_uc(v, "extint taken");
	CHECK_EQ(uc.args[0], 1, "the ExtINT is taken through LINT0");
	sync_uc(v, "lint0 masked");
	CHECK_OK(kvm_interrupt(v, VEC_EXTINT), "KVM_INTERRUPT, LINT0 masked");
	uc = sync_uc(v, "extint held");
	CHECK_EQ(uc.args[0], 1, "LINT0 masked: the ExtINT waits");
	sync_uc(v, "lint0 unmasked");
	/* KVM looks again at an event: an MSI is one. */
	irq_line(vm, 6, 0);
	irq_line(vm, 6, 1);
	uc = sync_uc(v, "extint after unmask");
	CHECK_EQ(uc.args[0], 2, "LINT0 unmasked: the ExtINT is taken");

	sync_uc(v, "lint0 masked, IF=1");
	sigaction(SIGALRM, &sa, NULL);
	alarm(10);
	v->run->request_interrupt_window = 1;
	r = vcpu_run_ucall(v, &uc);
	alarm(0);
	v->run->request_interrupt_window = 0;
	ksft_test_result(r == UCALL_SYNC && uc.args[0] == 8,
			 "window requested while LINT0 refuses ExtINTs: the guest runs on (exit %s)\n",
			 exit_reason_str(v->run->exit_reason));
	ksft_test_result(vcpu_run_ucall(v, &uc) == UCALL_DONE, "guest done\n");
	vcpu_free(v);
	kvm_vm_free(vm);
}

int main(void)
{
	ksft_print_header();
	ksft_set_plan(26);
	kvm_open();
	test_api();
	test_guest();
	return ksft_finished();
}
