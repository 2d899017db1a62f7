// SPDX-License-Identifier: GPL-2.0
/*
 * The in-kernel 8254 PIT (KVM_CREATE_PIT2): its ioctls with their bad
 * inputs (KVM_GET/SET_PIT, KVM_GET/SET_PIT2, KVM_REINJECT_CONTROL), and a
 * guest that uses it as Linux does: counter 2 in mode 0 gated through
 * port 0x61, waited for on its output (TSC calibration), counter latch
 * and read-back commands, mode 3 counting by two, counter 0 in mode 2
 * interrupting through IOAPIC pin 0, ticks missed while interrupts were
 * off delivered later with reinjection and lost without it, and counter
 * 0 silenced by KVM_PIT_FLAGS_HPET_LEGACY.
 *
 * Every expected value is what the distro kvm_amd/kvm_intel does; where
 * ckvm refuses what KVM takes (flags, states no 8254 can be in) the test
 * says so.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <time.h>

#include "ckvm_util.h"

#define VEC_PIT		0x40
#define MSR_APIC_BASE	0x1b
#define APIC_BASE_EN	(1ULL << 11)
#define APIC_BASE_EXTD	(1ULL << 10)
#define X2APIC(reg)	(0x800 + ((reg) >> 4))
#define APIC_SPIV	0xf0
#define APIC_EOI	0xb0

/* ---- guest ---- */

struct idt_gate {
	uint16_t off0, sel;
	uint8_t ist, type;
	uint16_t off1;
	uint32_t off2, rsvd;
} __attribute__((packed));

static struct idt_gate idt[256] __attribute__((aligned(16)));
volatile uint64_t ticks;

extern char pit_stub[];
asm(".pushsection .text\n"
    "pit_stub:\n"
    "	push %rax\n	push %rcx\n	push %rdx\n"
    "	incq ticks(%rip)\n"
    "	mov $0x80b, %ecx\n	xor %eax, %eax\n	xor %edx, %edx\n	wrmsr\n"
    "	pop %rdx\n	pop %rcx\n	pop %rax\n"
    "	iretq\n"
    ".popsection\n");

static void set_gate(int vec, void *handler)
{
	uint64_t a = (uint64_t)handler;

	idt[vec].off0 = a;
	idt[vec].sel = SEL_CODE64;
	idt[vec].type = 0x8e;
	idt[vec].off1 = a >> 16;
	idt[vec].off2 = a >> 32;
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return lo | (uint64_t)hi << 32;
}

/* Counter @ch: control word @mode_bits (LSB then MSB), then @count. */
static void pit_program(int ch, uint8_t mode, uint16_t count)
{
	outb(0x43, ch << 6 | 0x30 | mode << 1);
	outb(0x40 + ch, count);
	outb(0x40 + ch, count >> 8);
}

static uint16_t pit_latch_read(int ch)
{
	uint16_t v;

	outb(0x43, ch << 6);		/* counter latch command */
	v = inb(0x40 + ch);
	return v | inb(0x40 + ch) << 8;
}

/* Counter 2, mode 0, @count ticks: spin until OUT2 (port 0x61 bit 5). */
static uint64_t wait_ch2(uint16_t count, uint64_t *spins)
{
	uint64_t t0, n = 0;

	outb(0x61, (inb(0x61) & ~0x02) | 0x01);	/* gate on, speaker off */
	pit_program(2, 0, count);
	t0 = rdtsc();
	while (!(inb(0x61) & 0x20))
		n++;
	if (spins)
		*spins = n;
	return rdtsc() - t0;
}

static void guest_code(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr;
	uint16_t a, b;
	uint64_t n;

	/* Linux masks the PICs once the IOAPIC takes over. */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	set_gate(VEC_PIT, pit_stub);
	idtr.limit = sizeof(idt) - 1;
	idtr.base = (uint64_t)idt;
	asm volatile("lidt %0" :: "m"(idtr));
	wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | APIC_BASE_EN | APIC_BASE_EXTD);
	wrmsr(X2APIC(APIC_SPIV), 0x1ff);

	/* 1. Counter 2 mode 0: OUT2 low until the terminal count. */
	outb(0x61, 0x00);		/* gate off */
	GUEST_SYNC(inb(0x61) & 0x03);
	wait_ch2(11932, &n);		/* 10 ms */
	GUEST_SYNC2(inb(0x61) & 0x21, n);
	/* Read-back of counter 2's status: OUT high, LSB/MSB, mode 0. */
	outb(0x43, 0xe8);		/* read-back, status only, counter 2 */
	GUEST_SYNC(inb(0x42));
	pit_program(2, 0, 0xffff);
	outb(0x43, 0xe8);
	GUEST_SYNC(inb(0x42));		/* OUT low again after a new count */

	/* 2. Read-back of count and status: the status byte comes first. */
	outb(0x43, 0xc8);
	n = inb(0x42);
	a = inb(0x42);
	a |= inb(0x42) << 8;
	b = pit_latch_read(2);
	GUEST_SYNC2(n, (uint64_t)a << 16 | b);

	/* 3. Mode 3 counts down by two. */
	pit_program(2, 3, 1000);
	a = pit_latch_read(2);
	GUEST_SYNC(a);

	/* 4. Counter 0, mode 2 at 100 Hz, through IOAPIC pin 0. */
	ticks = 0;
	pit_program(0, 2, 11932);
	asm volatile("sti");
	wait_ch2(0xffff, NULL);		/* about 55 ms */
	wait_ch2(0xffff, NULL);
	asm volatile("cli");
	GUEST_SYNC(ticks);

	/*
	 * 5. Counter 0 at 20 Hz; interrupts off while the host sleeps 1 s
	 * (20 ticks), then about 220 ms on (4 more): reinjection delivers
	 * the ticks missed, one per EOI.
	 */
	pit_program(0, 2, 59659);
	GUEST_SYNC(0x5);		/* host sleeps */
	ticks = 0;
	asm volatile("sti");
	for (n = 0; n < 4; n++)
		wait_ch2(0xffff, NULL);
	asm volatile("cli");
	GUEST_SYNC(ticks);
	GUEST_SYNC(0x6);		/* host: reinjection off, sleeps */
	ticks = 0;
	asm volatile("sti");
	for (n = 0; n < 4; n++)
		wait_ch2(0xffff, NULL);
	asm volatile("cli");
	GUEST_SYNC(ticks);
	pit_program(0, 2, 11932);

	/* 6. The HPET took IRQ0 over: counter 0 is silent. */
	GUEST_SYNC(0x7);		/* host: KVM_PIT_FLAGS_HPET_LEGACY */
	asm volatile("sti; nop; cli");	/* a tick of before, still in IRR */
	ticks = 0;
	asm volatile("sti");
	wait_ch2(0xffff, NULL);
	wait_ch2(0xffff, NULL);
	asm volatile("cli");
	GUEST_SYNC(ticks);
	GUEST_SYNC(0x8);		/* host: flag cleared */
	ticks = 0;
	asm volatile("sti");
	wait_ch2(0xffff, NULL);
	wait_ch2(0xffff, NULL);
	asm volatile("cli");
	GUEST_SYNC(ticks);
	GUEST_DONE();
}

/* ---- host ---- */

static int get_pit2(struct kvm_vm *vm, struct kvm_pit_state2 *s)
{
	memset(s, 0, sizeof(*s));
	return ioctl(vm->fd, KVM_GET_PIT2, s);
}

static int reinject(struct kvm_vm *vm, int on)
{
	struct kvm_reinject_control c = { .pit_reinject = on };

	return ioctl(vm->fd, KVM_REINJECT_CONTROL, &c);
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
	struct kvm_pit_config cfg = { .flags = 0 };
	struct kvm_pit_state2 s2, t2;
	struct kvm_pit_state s;
	struct kvm_vm *vm;
	int i, ok;

	CHECK_EQ(kvm_check_cap(KVM_CAP_PIT2), 1, "KVM_CAP_PIT2");
	CHECK_EQ(kvm_check_cap(KVM_CAP_PIT_STATE2), 1, "KVM_CAP_PIT_STATE2");
	CHECK_EQ(kvm_check_cap(KVM_CAP_REINJECT_CONTROL), 1, "KVM_CAP_REINJECT_CONTROL");

	vm = vm_create_bare();
	CHECK_ERRNO(get_pit2(vm, &s2), ENXIO, "KVM_GET_PIT2 without a PIT -> ENXIO");
	CHECK_ERRNO(ioctl(vm->fd, KVM_SET_PIT2, &s2), ENXIO, "KVM_SET_PIT2 without a PIT -> ENXIO");
	CHECK_ERRNO(reinject(vm, 1), ENXIO, "KVM_REINJECT_CONTROL without a PIT -> ENXIO");
	CHECK_ERRNO(ioctl(vm->fd, KVM_CREATE_PIT2, NULL), EFAULT, "KVM_CREATE_PIT2 NULL -> EFAULT");
	TEST_ASSERT(!ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0), "KVM_CREATE_IRQCHIP");
	cfg.flags = 2;
	if (is_ckvm())
		CHECK_ERRNO(ioctl(vm->fd, KVM_CREATE_PIT2, &cfg), EINVAL,
			    "KVM_CREATE_PIT2 unknown flag -> EINVAL (KVM takes it)");
	else
		ksft_test_result_skip("KVM 6.1 takes unknown KVM_CREATE_PIT2 flags\n");
	cfg.flags = 0;
	CHECK_OK(ioctl(vm->fd, KVM_CREATE_PIT2, &cfg), "KVM_CREATE_PIT2");
	CHECK_ERRNO(ioctl(vm->fd, KVM_CREATE_PIT2, &cfg), EEXIST, "second KVM_CREATE_PIT2 -> EEXIST");

	/* KVM's state at creation. */
	TEST_ASSERT(!get_pit2(vm, &s2), "GET_PIT2");
	ok = s2.flags == 0;
	for (i = 0; i < 3; i++)
		ok &= s2.channels[i].mode == 0xff && s2.channels[i].count == 0x10000 &&
		      s2.channels[i].gate == (i != 2);
	ksft_test_result(ok, "state at creation: modes 0xff, counts 0x10000, gates 1 1 0\n");

	/* Round trip; the load time is the host's own. */
	s2.channels[1].mode = 3;
	s2.channels[1].count = 1234;
	s2.channels[1].rw_mode = 3;
	s2.channels[1].read_state = 3;
	s2.channels[1].write_state = 3;
	s2.channels[2].gate = 1;
	CHECK_OK(ioctl(vm->fd, KVM_SET_PIT2, &s2), "KVM_SET_PIT2");
	TEST_ASSERT(!get_pit2(vm, &t2), "GET_PIT2");
	ksft_test_result(t2.channels[1].mode == 3 && t2.channels[1].count == 1234 &&
			 t2.channels[1].rw_mode == 3 && t2.channels[2].gate == 1,
			 "KVM_SET_PIT2 round trip\n");
	memset(&s, 0, sizeof(s));
	CHECK_OK(ioctl(vm->fd, KVM_GET_PIT, &s), "KVM_GET_PIT");
	CHECK_EQ(s.channels[1].count, 1234, "KVM_GET_PIT: the channels of KVM_GET_PIT2");
	s.channels[0].count = 100;
	CHECK_OK(ioctl(vm->fd, KVM_SET_PIT, &s), "KVM_SET_PIT");
	TEST_ASSERT(!get_pit2(vm, &t2), "GET_PIT2");
	CHECK_EQ(t2.channels[0].count, 100, "KVM_SET_PIT reaches counter 0");

	t2.flags = 0x80;
	if (is_ckvm())
		CHECK_ERRNO(ioctl(vm->fd, KVM_SET_PIT2, &t2), EINVAL,
			    "KVM_SET_PIT2 unknown flag -> EINVAL (KVM takes it)");
	else
		ksft_test_result_skip("KVM 6.1 takes unknown KVM_PIT_FLAGS\n");
	t2.flags = 0;
	t2.channels[0].mode = 9;
	if (is_ckvm())
		CHECK_ERRNO(ioctl(vm->fd, KVM_SET_PIT2, &t2), EINVAL,
			    "KVM_SET_PIT2 mode 9 -> EINVAL (KVM takes it)");
	else
		ksft_test_result_skip("KVM 6.1 takes a PIT state in mode 9\n");
	t2.channels[0].mode = 2;
	t2.channels[0].count = 0x10001;
	if (is_ckvm())
		CHECK_ERRNO(ioctl(vm->fd, KVM_SET_PIT2, &t2), EINVAL,
			    "KVM_SET_PIT2 count 0x10001 -> EINVAL (KVM takes it)");
	else
		ksft_test_result_skip("KVM 6.1 takes a count above 0x10000\n");
	CHECK_ERRNO(ioctl(vm->fd, KVM_SET_PIT2, NULL), EFAULT, "KVM_SET_PIT2 NULL -> EFAULT");
	CHECK_ERRNO(ioctl(vm->fd, KVM_GET_PIT2, NULL), EFAULT, "KVM_GET_PIT2 NULL -> EFAULT");
	CHECK_OK(reinject(vm, 0), "KVM_REINJECT_CONTROL off");
	CHECK_OK(reinject(vm, 1), "KVM_REINJECT_CONTROL on");
	kvm_vm_free(vm);

	/* KVM_CREATE_PIT (the first version): the PIT with the speaker port. */
	vm = vm_create_bare();
	TEST_ASSERT(!ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0), "KVM_CREATE_IRQCHIP");
	CHECK_OK(ioctl(vm->fd, KVM_CREATE_PIT, 0), "KVM_CREATE_PIT");
	CHECK_OK(get_pit2(vm, &s2), "KVM_GET_PIT2 after KVM_CREATE_PIT");
	kvm_vm_free(vm);
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void test_guest(void)
{
	struct kvm_pit_config cfg = { .flags = KVM_PIT_SPEAKER_DUMMY };
	struct kvm_pit_state2 s2;
	struct kvm_irqchip chip;
	struct kvm_vcpu *v;
	struct kvm_vm *vm;
	struct ucall uc;

	vm = vm_create();
	TEST_ASSERT(!ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0), "KVM_CREATE_IRQCHIP");
	TEST_ASSERT(!ioctl(vm->fd, KVM_CREATE_PIT2, &cfg), "KVM_CREATE_PIT2");
	v = vcpu_add(vm, 0, guest_code);
	/* IOAPIC pin 0 (GSI 0, KVM's default route): edge, VEC_PIT, APIC 0. */
	memset(&chip, 0, sizeof(chip));
	chip.chip_id = KVM_IRQCHIP_IOAPIC;
	TEST_ASSERT(!ioctl(vm->fd, KVM_GET_IRQCHIP, &chip), "GET_IRQCHIP");
	chip.chip.ioapic.redirtbl[0].bits = VEC_PIT;
	TEST_ASSERT(!ioctl(vm->fd, KVM_SET_IRQCHIP, &chip), "SET_IRQCHIP");

	uc = sync_uc(v, "port 0x61");
	CHECK_EQ(uc.args[0], 0, "port 0x61 with the gate off: gate 0, speaker 0, OUT2 0");
	uc = sync_uc(v, "counter 2");
	ksft_test_result(uc.args[0] == 0x21 && uc.args[1] > 0,
			 "counter 2 mode 0: OUT2 went high after %llu polls (port 0x61 %#llx)\n",
			 (unsigned long long)uc.args[1], (unsigned long long)uc.args[0]);
	uc = sync_uc(v, "status");
	CHECK_EQ(uc.args[0], 0xb0, "read-back status: OUT 1, LSB/MSB, mode 0, binary");
	uc = sync_uc(v, "status");
	CHECK_EQ(uc.args[0], 0x30, "read-back status after a new count: OUT 0");
	uc = sync_uc(v, "read-back of both");
	ksft_test_result(uc.args[0] == 0x30 && (uc.args[1] >> 16) >= (uc.args[1] & 0xffff),
			 "read-back of count and status: status %#llx first, then the count %#llx (later %#llx)\n",
			 (unsigned long long)uc.args[0], (unsigned long long)(uc.args[1] >> 16),
			 (unsigned long long)(uc.args[1] & 0xffff));
	uc = sync_uc(v, "mode 3");
	ksft_test_result(!(uc.args[0] & 1) && uc.args[0] <= 1000,
			 "mode 3 counts by two from 1000: read %llu\n", (unsigned long long)uc.args[0]);

	uc = sync_uc(v, "counter 0 mode 2");
	/*
	 * 110 ms at 100 Hz, 11 ticks; the emulated machine's timers and
	 * threads lag under load (2 seen), never run ahead.
	 */
	ksft_test_result(uc.args[0] >= 1 && uc.args[0] <= 20,
			 "counter 0 at 100 Hz: %llu interrupts in about 110 ms\n",
			 (unsigned long long)uc.args[0]);

	sync_uc(v, "reinject");
	sleep_ms(1000);
	uc = sync_uc(v, "reinjected");
	ksft_test_result(uc.args[0] >= 15,
			 "reinjection at 20 Hz: %llu ticks in 220 ms after 1 s with interrupts off (>= 15)\n",
			 (unsigned long long)uc.args[0]);
	sync_uc(v, "no reinject");
	TEST_ASSERT(!reinject(vm, 0), "KVM_REINJECT_CONTROL");
	sleep_ms(1000);
	uc = sync_uc(v, "not reinjected");
	ksft_test_result(uc.args[0] <= 10,
			 "without reinjection: %llu ticks in 220 ms after 1 s off (the missed ones lost)\n",
			 (unsigned long long)uc.args[0]);

	sync_uc(v, "hpet legacy");
	TEST_ASSERT(!get_pit2(vm, &s2), "GET_PIT2");
	s2.flags |= KVM_PIT_FLAGS_HPET_LEGACY;
	TEST_ASSERT(!ioctl(vm->fd, KVM_SET_PIT2, &s2), "SET_PIT2");
	uc = sync_uc(v, "hpet legacy ticks");
	CHECK_EQ(uc.args[0], 0, "KVM_PIT_FLAGS_HPET_LEGACY: counter 0 does not interrupt");
	sync_uc(v, "hpet legacy off");
	TEST_ASSERT(!get_pit2(vm, &s2), "GET_PIT2");
	s2.flags &= ~KVM_PIT_FLAGS_HPET_LEGACY;
	TEST_ASSERT(!ioctl(vm->fd, KVM_SET_PIT2, &s2), "SET_PIT2");
	uc = sync_uc(v, "ticks again");
	ksft_test_result(uc.args[0] >= 3, "flag cleared: counter 0 interrupts again (%llu)\n",
			 (unsigned long long)uc.args[0]);
	ksft_test_result(vcpu_run_ucall(v, &uc) == UCALL_DONE, "guest done\n");
	vcpu_free(v);
	kvm_vm_free(vm);
}

int main(void)
{
	ksft_print_header();
	ksft_set_plan(38);
	kvm_open();
	test_api();
	test_guest();
	return ksft_finished();
}
