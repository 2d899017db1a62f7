// SPDX-License-Identifier: GPL-2.0
/*
 * Interrupts from userspace beyond KVM_IRQ_LINE: GSI routing
 * (KVM_SET_GSI_ROUTING), KVM_SIGNAL_MSI, KVM_IRQ_LINE_STATUS, and irqfds
 * (KVM_IRQFD) plain and resampling. The capabilities; the bad inputs of
 * each ioctl, with and without an irqchip; a guest that takes MSIs sent
 * directly, through a GSI route, and through irqfds whose eventfd another
 * thread signals, a level-triggered line held by a resampling irqfd until
 * the guest's EOI, routes changed under a live irqfd; and the lifetimes:
 * an eventfd closed while assigned, VMs closed with irqfds live, and a
 * thread signalling an eventfd while its irqfd comes and goes.
 *
 * Statuses are checked only for GSIs 16 and up: below, KVM also routes
 * the GSI to its 8259 PICs, which ckvm does not emulate yet.
 *
 * Every expected value is what the distro kvm_amd/kvm_intel does.
 */
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>

#include "ckvm_util.h"

#define MSR_APIC_BASE	0x1b
#define APIC_BASE_EN	(1ULL << 11)
#define APIC_BASE_EXTD	(1ULL << 10)
#define X2APIC_SPIV	0x80f
#define X2APIC_EOI	0x80b
#define X2APIC_LVT0	0x835

#define VEC_MSI		0x60	/* KVM_SIGNAL_MSI */
#define VEC_ROUTE	0x61	/* GSI 30 -> MSI */
#define VEC_EDGE	0x62	/* GSI 21 -> IOAPIC pin 21, edge */
#define VEC_LEVEL	0x63	/* GSI 22 -> IOAPIC pin 22, level (resample) */
#define VEC_ROUTE2	0x64	/* GSI 30 rerouted */
#define GSI_MSI		30
#define GSI_EDGE	21
#define GSI_LEVEL	22

/* ---- guest ---- */

struct idt_gate {
	uint16_t off0, sel;
	uint8_t ist, type;
	uint16_t off1;
	uint32_t off2, rsvd;
} __attribute__((packed));

static struct idt_gate idt[256] __attribute__((aligned(16)));
volatile uint64_t irq_count[256];

/* Count the vector; EOI (x2APIC) unless told not to. */
extern char stub_0x60[], stub_0x61[], stub_0x62[], stub_0x63[], stub_0x64[];
asm(".pushsection .text\n"
    ".macro stub vec eoi\n"
    "stub_\\vec:\n"
    "	push %rax\n	push %rcx\n	push %rdx\n"
    "	incq irq_count+8*\\vec(%rip)\n"
    "	.if \\eoi\n"
    "	mov $0x80b, %ecx\n	xor %eax, %eax\n	xor %edx, %edx\n	wrmsr\n"
    "	.endif\n"
    "	pop %rdx\n	pop %rcx\n	pop %rax\n"
    "	iretq\n"
    ".endm\n"
    "stub 0x60 1\n"
    "stub 0x61 1\n"
    "stub 0x62 1\n"
    "stub 0x63 0\n"
    "stub 0x64 1\n"
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

/*
 * Wait with interrupts open until @vec has come @n times. Not with STI; HLT:
 * QEMU 7.2's SVM drops the guest's STI shadow when an exit lands between
 * the two (Documentation/testing.rst, "Interrupt shadows and the SVM
 * emulator", fault 2), and the interrupt, then delivered at the HLT,
 * returns onto it: the vCPU halts for good, on kvm_amd as on ckvm (seen
 * about once in 100 runs under load). sti_shadow_test covers HLT.
 */
static void wait_for(int vec, uint64_t n)
{
	while (irq_count[vec] < n)
		asm volatile("sti; nop; cli" ::: "memory");
}

static void sti_nop_cli(void)
{
	asm volatile("sti; nop; cli" ::: "memory");
}

static void guest_code(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = { sizeof(idt) - 1, (uint64_t)idt };

	set_gate(VEC_MSI, stub_0x60);
	set_gate(VEC_ROUTE, stub_0x61);
	set_gate(VEC_EDGE, stub_0x62);
	set_gate(VEC_LEVEL, stub_0x63);
	set_gate(VEC_ROUTE2, stub_0x64);
	asm volatile("lidt %0" :: "m"(idtr));
	GUEST_SYNC(0);			/* host: MSI to a disabled APIC */
	wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | APIC_BASE_EN | APIC_BASE_EXTD);
	wrmsr(X2APIC_SPIV, 0x1ff);
	wrmsr(X2APIC_LVT0, 0x10000);	/* no 8259 ExtINT (KVM's PIC) */

	GUEST_SYNC(1);			/* host: KVM_SIGNAL_MSI */
	wait_for(VEC_MSI, 1);
	GUEST_SYNC(irq_count[VEC_MSI]);	/* host: MSI to a missing APIC */
	sti_nop_cli();
	GUEST_SYNC(irq_count[VEC_MSI]);	/* host: GSI 30 via KVM_IRQ_LINE_STATUS */
	wait_for(VEC_ROUTE, 1);
	GUEST_SYNC(irq_count[VEC_ROUTE]);	/* host: irqfd on GSI 30 (MSI) */
	wait_for(VEC_ROUTE, 2);
	GUEST_SYNC(irq_count[VEC_ROUTE]);	/* host: irqfd on GSI 21 (IOAPIC edge) */
	wait_for(VEC_EDGE, 1);
	GUEST_SYNC(irq_count[VEC_EDGE]);	/* host: resampling irqfd on GSI 22 */
	wait_for(VEC_LEVEL, 1);
	GUEST_SYNC(irq_count[VEC_LEVEL]);	/* host: checks the line is held */
	wrmsr(X2APIC_EOI, 0);
	sti_nop_cli();
	GUEST_SYNC(irq_count[VEC_LEVEL]);	/* host: resamplefd, signal again */
	wait_for(VEC_LEVEL, 2);
	wrmsr(X2APIC_EOI, 0);
	GUEST_SYNC(irq_count[VEC_LEVEL]);	/* host: reroute GSI 30 */
	wait_for(VEC_ROUTE2, 1);
	GUEST_SYNC(irq_count[VEC_ROUTE2]);	/* host: deassign, signal */
	sti_nop_cli();
	GUEST_SYNC(irq_count[VEC_ROUTE2] + irq_count[VEC_ROUTE]);
	GUEST_DONE();
}

/* ---- host ---- */

static int new_eventfd(void)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	TEST_ASSERT(fd >= 0, "eventfd");
	return fd;
}

static void efd_signal(int fd)
{
	uint64_t one = 1;

	TEST_ASSERT(write(fd, &one, sizeof(one)) == sizeof(one), "eventfd write");
}

static uint64_t efd_take(int fd)
{
	uint64_t n = 0;

	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

/* Wait up to a second for @fd to be signalled; its count, reset. */
static uint64_t efd_wait(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	poll(&p, 1, 1000);
	return efd_take(fd);
}

static int irqfd(struct kvm_vm *vm, int fd, uint32_t gsi, uint32_t flags, int resamplefd)
{
	struct kvm_irqfd a = {
		.fd = fd, .gsi = gsi, .flags = flags, .resamplefd = resamplefd,
	};

	return ioctl(vm->fd, KVM_IRQFD, &a);
}

static int irq_line_status(struct kvm_vm *vm, uint32_t irq, uint32_t level, int32_t *status)
{
	struct kvm_irq_level l = { .irq = irq, .level = level };
	int r = ioctl(vm->fd, KVM_IRQ_LINE_STATUS, &l);

	*status = l.status;
	return r;
}

static int signal_msi(struct kvm_vm *vm, uint8_t dest, uint8_t vector, uint32_t flags)
{
	struct kvm_msi m = {
		.address_lo = 0xfee00000 | (dest << 12), .data = vector, .flags = flags,
	};

	return ioctl(vm->fd, KVM_SIGNAL_MSI, &m);
}

static struct kvm_irq_routing *routing_new(int max)
{
	struct kvm_irq_routing *r = calloc(1, sizeof(*r) + max * sizeof(r->entries[0]));

	TEST_ASSERT(r, "calloc");
	return r;
}

static void route_irqchip(struct kvm_irq_routing *r, uint32_t gsi, uint32_t chip, uint32_t pin)
{
	struct kvm_irq_routing_entry *e = &r->entries[r->nr++];

	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_IRQCHIP;
	e->u.irqchip.irqchip = chip;
	e->u.irqchip.pin = pin;
}

static void route_msi(struct kvm_irq_routing *r, uint32_t gsi, uint8_t vector)
{
	struct kvm_irq_routing_entry *e = &r->entries[r->nr++];

	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_MSI;
	e->u.msi.address_lo = 0xfee00000;	/* APIC 0, physical */
	e->u.msi.data = vector;			/* fixed, edge */
}

static int set_routing(struct kvm_vm *vm, struct kvm_irq_routing *r)
{
	return ioctl(vm->fd, KVM_SET_GSI_ROUTING, r);
}

/* One bad entry alone must be refused with EINVAL. */
static void bad_route(struct kvm_vm *vm, struct kvm_irq_routing_entry e, const char *what)
{
	struct kvm_irq_routing *r = routing_new(1);

	r->nr = 1;
	r->entries[0] = e;
	CHECK_ERRNO(set_routing(vm, r), EINVAL, "%s -> EINVAL", what);
	free(r);
}

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

static void test_caps(void)
{
	CHECK_EQ(kvm_check_cap(KVM_CAP_IRQFD), 1, "KVM_CAP_IRQFD");
	CHECK_EQ(kvm_check_cap(KVM_CAP_IRQFD_RESAMPLE), 1, "KVM_CAP_IRQFD_RESAMPLE");
	CHECK_EQ(kvm_check_cap(KVM_CAP_IRQ_ROUTING), 4096, "KVM_CAP_IRQ_ROUTING: 4096 routes");
	CHECK_EQ(kvm_check_cap(KVM_CAP_SIGNAL_MSI), 1, "KVM_CAP_SIGNAL_MSI");
	CHECK_EQ(kvm_check_cap(KVM_CAP_IRQ_INJECT_STATUS), 1, "KVM_CAP_IRQ_INJECT_STATUS");
}

static void test_api(void)
{
	struct kvm_irq_routing *r = routing_new(8);
	struct kvm_irq_routing_entry e;
	struct kvm_vm *vm = vm_create_bare();
	int a = new_eventfd(), b = new_eventfd(), st = 0;

	/* Without an irqchip. */
	CHECK_ERRNO(irqfd(vm, a, 5, 0, 0), EINVAL, "KVM_IRQFD without irqchip -> EINVAL");
	CHECK_ERRNO(set_routing(vm, r), EINVAL, "KVM_SET_GSI_ROUTING without irqchip -> EINVAL");
	CHECK_ERRNO(signal_msi(vm, 0, 0x40, 0), EINVAL, "KVM_SIGNAL_MSI without irqchip -> EINVAL");
	CHECK_ERRNO(irq_line_status(vm, 20, 1, &st), ENXIO,
		    "KVM_IRQ_LINE_STATUS without irqchip -> ENXIO");
	TEST_ASSERT(!ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0), "KVM_CREATE_IRQCHIP");

	/* KVM_IRQFD */
	CHECK_ERRNO(irqfd(vm, a, 5, 1 << 2, 0), EINVAL, "irqfd: unknown flag -> EINVAL");
	CHECK_ERRNO(irqfd(vm, -1, 5, 0, 0), EBADF, "irqfd: fd -1 -> EBADF");
	CHECK_ERRNO(irqfd(vm, vm->fd, 5, 0, 0), EINVAL, "irqfd: fd no eventfd -> EINVAL");
	CHECK_ERRNO(irqfd(vm, a, 5, KVM_IRQFD_FLAG_RESAMPLE, -1), EBADF,
		    "irqfd: resamplefd -1 -> EBADF");
	CHECK_ERRNO(irqfd(vm, a, 5, KVM_IRQFD_FLAG_RESAMPLE, vm->fd), EINVAL,
		    "irqfd: resamplefd no eventfd -> EINVAL");
	CHECK_ERRNO(ioctl(vm->fd, KVM_IRQFD, NULL), EFAULT, "irqfd: NULL -> EFAULT");
	CHECK_OK(irqfd(vm, a, 5, 0, 0), "irqfd on GSI 5");
	CHECK_ERRNO(irqfd(vm, a, 6, 0, 0), EBUSY, "the same eventfd again, other GSI -> EBUSY");
	CHECK_OK(irqfd(vm, b, 5, KVM_IRQFD_FLAG_RESAMPLE, a),
		 "another eventfd on GSI 5, resampling (its resamplefd may be any eventfd)");
	CHECK_OK(irqfd(vm, a, 4000, KVM_IRQFD_FLAG_DEASSIGN, 0),
		 "deassign what does not exist -> 0");
	CHECK_ERRNO(irqfd(vm, -1, 5, KVM_IRQFD_FLAG_DEASSIGN, 0), EBADF,
		    "deassign fd -1 -> EBADF");
	CHECK_OK(irqfd(vm, a, 5, KVM_IRQFD_FLAG_DEASSIGN, 0), "deassign");
	CHECK_OK(irqfd(vm, a, 6, 0, 0), "the eventfd is free again");
	CHECK_OK(irqfd(vm, new_eventfd(), 123456, 0, 0), "a GSI with no route");

	/* KVM_SET_GSI_ROUTING */
	CHECK_ERRNO(ioctl(vm->fd, KVM_SET_GSI_ROUTING, NULL), EFAULT, "routing: NULL -> EFAULT");
	r->flags = 1;
	CHECK_ERRNO(set_routing(vm, r), EINVAL, "routing: flags -> EINVAL");
	r->flags = 0;
	r->nr = 4097;
	CHECK_ERRNO(set_routing(vm, r), EINVAL, "routing: 4097 entries -> EINVAL");
	r->nr = 0;
	memset(&e, 0, sizeof(e));
	e.type = KVM_IRQ_ROUTING_IRQCHIP;
	e.u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
	e.gsi = 4096;
	bad_route(vm, e, "routing: GSI 4096");
	e.gsi = 1;
	e.u.irqchip.pin = 24;
	bad_route(vm, e, "routing: IOAPIC pin 24");
	e.u.irqchip.irqchip = KVM_IRQCHIP_PIC_SLAVE;
	e.u.irqchip.pin = 8;
	bad_route(vm, e, "routing: PIC pin 8");
	e.u.irqchip.irqchip = 3;
	e.u.irqchip.pin = 0;
	bad_route(vm, e, "routing: irqchip 3");
	e.u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
	e.flags = KVM_MSI_VALID_DEVID;
	bad_route(vm, e, "routing: irqchip entry with flags");
	e.flags = 0;
	e.type = 99;
	bad_route(vm, e, "routing: type 99");
	e.type = KVM_IRQ_ROUTING_MSI;
	e.flags = 2;
	bad_route(vm, e, "routing: MSI entry with unknown flags");
	route_msi(r, 40, 0x50);
	r->entries[0].flags = KVM_MSI_VALID_DEVID;
	CHECK_OK(set_routing(vm, r), "routing: MSI with a device ID");
	r->nr = 0;
	route_irqchip(r, 3, KVM_IRQCHIP_IOAPIC, 3);
	route_irqchip(r, 3, KVM_IRQCHIP_IOAPIC, 4);
	CHECK_ERRNO(set_routing(vm, r), EINVAL, "routing: two IOAPIC routes of one GSI -> EINVAL");
	r->nr = 0;
	route_irqchip(r, 3, KVM_IRQCHIP_IOAPIC, 3);
	route_irqchip(r, 3, KVM_IRQCHIP_PIC_MASTER, 3);
	CHECK_OK(set_routing(vm, r), "routing: IOAPIC and PIC routes of one GSI");
	r->nr = 0;
	route_msi(r, 3, 0x50);
	route_irqchip(r, 3, KVM_IRQCHIP_IOAPIC, 3);
	CHECK_ERRNO(set_routing(vm, r), EINVAL, "routing: MSI and irqchip routes of one GSI -> EINVAL");
	r->nr = 0;
	route_msi(r, 3, 0x50);
	route_msi(r, 3, 0x51);
	CHECK_ERRNO(set_routing(vm, r), EINVAL, "routing: two MSI routes of one GSI -> EINVAL");

	/* KVM_SIGNAL_MSI, KVM_IRQ_LINE_STATUS before any vCPU. */
	CHECK_ERRNO(signal_msi(vm, 0, 0x40, 2), EINVAL, "KVM_SIGNAL_MSI: unknown flag -> EINVAL");
	CHECK_ERRNO(signal_msi(vm, 0, 0x40, 0), EPERM,
		    "KVM_SIGNAL_MSI without any local APIC: -1 (EPERM)");
	CHECK_ERRNO(ioctl(vm->fd, KVM_SIGNAL_MSI, NULL), EFAULT, "KVM_SIGNAL_MSI NULL -> EFAULT");
	CHECK_ERRNO(ioctl(vm->fd, KVM_IRQ_LINE_STATUS, NULL), EFAULT,
		    "KVM_IRQ_LINE_STATUS NULL -> EFAULT");
	r->nr = 0;
	route_irqchip(r, 20, KVM_IRQCHIP_IOAPIC, 20);
	TEST_ASSERT(!set_routing(vm, r), "routing");
	CHECK_OK(irq_line_status(vm, 20, 1, &st), "KVM_IRQ_LINE_STATUS");
	CHECK_EQ(st, -1, "status of a masked pin: -1");
	irq_line_status(vm, 20, 0, &st);
	CHECK_EQ(st, 1, "status of lowering a line: 1");
	irq_line_status(vm, 21, 1, &st);
	CHECK_EQ(st, -1, "status of a GSI without a route: -1");
	r->nr = 0;
	CHECK_OK(set_routing(vm, r), "routing: the empty table");
	irq_line_status(vm, 20, 1, &st);
	CHECK_EQ(st, -1, "no route any more: -1");

	/* The VM goes with irqfds assigned, eventfds still open. */
	kvm_vm_free(vm);
	close(a);
	close(b);
	free(r);
}

static void test_guest(void)
{
	struct kvm_irqchip chip = { .chip_id = KVM_IRQCHIP_IOAPIC };
	struct kvm_irq_routing *r = routing_new(32);
	int fmsi = new_eventfd(), fedge = new_eventfd(), flevel = new_eventfd();
	int fresample = new_eventfd();
	struct kvm_vcpu *v;
	struct kvm_vm *vm;
	struct ucall uc;
	int st = 0, i;

	vm = vm_create();
	TEST_ASSERT(!ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0), "KVM_CREATE_IRQCHIP");
	v = vcpu_add(vm, 0, guest_code);
	TEST_ASSERT(!ioctl(vm->fd, KVM_GET_IRQCHIP, &chip), "KVM_GET_IRQCHIP");
	chip.chip.ioapic.redirtbl[GSI_EDGE].bits = VEC_EDGE;
	chip.chip.ioapic.redirtbl[GSI_LEVEL].bits = VEC_LEVEL | (1 << 15);
	TEST_ASSERT(!ioctl(vm->fd, KVM_SET_IRQCHIP, &chip), "KVM_SET_IRQCHIP");
	for (i = 0; i < 24; i++)
		route_irqchip(r, i, KVM_IRQCHIP_IOAPIC, i);
	route_msi(r, GSI_MSI, VEC_ROUTE);
	TEST_ASSERT(!set_routing(vm, r), "KVM_SET_GSI_ROUTING");

	sync_eq(v, 0, "guest up, APIC software-disabled");
	CHECK_EQ(signal_msi(vm, 0, VEC_MSI, 0), 0, "MSI to a disabled APIC: taken by none (0)");
	sync_eq(v, 1, "APIC on");
	CHECK_EQ(signal_msi(vm, 0, VEC_MSI, 0), 1, "KVM_SIGNAL_MSI to APIC 0: 1");
	sync_eq(v, 1, "the MSI arrived");
	CHECK_EQ(signal_msi(vm, 7, VEC_MSI, 0), 0, "MSI to a missing APIC: 0");
	sync_eq(v, 1, "... and nothing arrived");
	CHECK_OK(irq_line_status(vm, GSI_MSI, 1, &st), "KVM_IRQ_LINE_STATUS on an MSI route");
	CHECK_EQ(st, 1, "status: 1 APIC took it");
	irq_line_status(vm, GSI_MSI, 0, &st);
	CHECK_EQ(st, -1, "lowering an MSI route: -1");
	sync_eq(v, 1, "GSI 30 arrived through its MSI route");

	CHECK_OK(irqfd(vm, fmsi, GSI_MSI, 0, 0), "irqfd on GSI 30 (MSI route)");
	efd_signal(fmsi);
	sync_eq(v, 2, "the eventfd's signal arrived as the MSI");
	CHECK_OK(irqfd(vm, fedge, GSI_EDGE, 0, 0), "irqfd on GSI 21 (IOAPIC, edge)");
	efd_signal(fedge);
	sync_eq(v, 1, "the eventfd's signal arrived through the IOAPIC");
	CHECK_OK(irqfd(vm, flevel, GSI_LEVEL, KVM_IRQFD_FLAG_RESAMPLE, fresample),
		 "resampling irqfd on GSI 22 (IOAPIC, level)");
	efd_signal(flevel);
	sync_eq(v, 1, "level interrupt arrived");
	TEST_ASSERT(!ioctl(vm->fd, KVM_GET_IRQCHIP, &chip), "KVM_GET_IRQCHIP");
	CHECK_EQ((chip.chip.ioapic.irr >> GSI_LEVEL) & 1, 1, "the line is held high until the EOI");
	CHECK_EQ(chip.chip.ioapic.redirtbl[GSI_LEVEL].fields.remote_irr, 1, "Remote IRR set");
	CHECK_EQ(efd_take(fresample), 0, "resamplefd quiet before the EOI");
	sync_eq(v, 1, "after the EOI: not delivered again");
	CHECK_EQ(efd_wait(fresample), 1, "the EOI signalled the resamplefd");
	TEST_ASSERT(!ioctl(vm->fd, KVM_GET_IRQCHIP, &chip), "KVM_GET_IRQCHIP");
	CHECK_EQ((chip.chip.ioapic.irr >> GSI_LEVEL) & 1, 0, "the EOI lowered the line");
	CHECK_EQ(chip.chip.ioapic.redirtbl[GSI_LEVEL].fields.remote_irr, 0, "Remote IRR clear");
	efd_signal(flevel);
	sync_eq(v, 2, "signalled again: delivered again");
	CHECK_EQ(efd_wait(fresample), 1, "resampled again");

	r->nr = 24;
	route_msi(r, GSI_MSI, VEC_ROUTE2);
	CHECK_OK(set_routing(vm, r), "reroute GSI 30 under its live irqfd");
	efd_signal(fmsi);
	sync_eq(v, 1, "the irqfd follows the new route");
	CHECK_OK(irqfd(vm, fmsi, GSI_MSI, KVM_IRQFD_FLAG_DEASSIGN, 0), "deassign");
	efd_signal(fmsi);
	sync_eq(v, 3, "a deassigned irqfd raises nothing");
	ksft_test_result(vcpu_run_ucall(v, &uc) == UCALL_DONE, "guest done\n");

	/* Closed while assigned: the eventfd first, the VM with two live. */
	close(fedge);
	CHECK_OK(irqfd(vm, fmsi, GSI_EDGE, 0, 0),
		 "GSI 21 takes another irqfd after its eventfd was closed");
	vcpu_free(v);
	kvm_vm_free(vm);
	efd_signal(flevel);	/* the VM is gone: nothing to raise */
	close(fmsi);
	close(flevel);
	close(fresample);
	free(r);
}

struct stress {
	int fd;
	volatile bool stop;
};

static void *signaller(void *arg)
{
	struct stress *s = arg;

	while (!s->stop)
		efd_signal(s->fd);
	return NULL;
}

/* Assign and deassign while another thread signals; then close the VM. */
static void test_stress(void)
{
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *v;
	struct stress s = { .fd = new_eventfd() };
	int rs = new_eventfd(), i, bad = 0;
	pthread_t t;

	TEST_ASSERT(!ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0), "KVM_CREATE_IRQCHIP");
	v = vcpu_create(vm, 0);
	TEST_ASSERT(!pthread_create(&t, NULL, signaller, &s), "pthread_create");
	for (i = 0; i < 300; i++) {
		uint32_t gsi = i % 3 ? 16 + i % 8 : 2;
		uint32_t flags = i % 2 ? KVM_IRQFD_FLAG_RESAMPLE : 0;

		bad += !!irqfd(vm, s.fd, gsi, flags, rs);
		bad += !!irqfd(vm, s.fd, gsi, KVM_IRQFD_FLAG_DEASSIGN, 0);
	}
	CHECK_EQ(bad, 0, "300 assign/deassign while another thread signals");
	TEST_ASSERT(!irqfd(vm, s.fd, 17, KVM_IRQFD_FLAG_RESAMPLE, rs), "irqfd");
	vcpu_free(v);
	kvm_vm_free(vm);	/* with the irqfd live and being signalled */
	s.stop = true;
	pthread_join(t, NULL);
	ksft_test_result(true, "VM closed under a signalling thread\n");
	close(s.fd);
	close(rs);
}

int main(void)
{
	ksft_print_header();
	ksft_set_plan(5 + 43 + 32 + 2);
	kvm_open();
	test_caps();
	test_api();
	test_guest();
	test_stress();
	return ksft_finished();
}
