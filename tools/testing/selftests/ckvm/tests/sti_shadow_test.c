// SPDX-License-Identifier: GPL-2.0
/*
 * Interrupt shadows across exits and entries (issue 15).
 *
 * Every OS idles with "sti; hlt": STI's one-instruction shadow makes an
 * interrupt that is already pending arrive after the HLT, which it then
 * wakes, instead of before it, which would leave the CPU halted with
 * nothing left to wake it. Nothing of the host's own instruction-boundary
 * state may reach the guest across VMRUN or VM entry, and the guest's own
 * (STI and MOV SS shadows, RFLAGS.TF traps) must survive the exits that
 * ckvm handles in between.
 *
 * Each source of a pending interrupt runs twice: as a rate (the handler
 * notes where it returns to; one taken inside the shadow returns onto the
 * HLT, and the handler steps over it so that the loop goes on and every
 * one is counted: must be 0 of N) and as a stall detector (the handler
 * returns onto the HLT as an OS's does, and a vCPU that halts for good is
 * found by a bounded wait on its progress, then kicked out of KVM_RUN:
 * must be 0 stalled runs). The sources: the smallest input of the issue
 * (cli; WRMSR to the x2APIC SELF_IPI register; sti; hlt), the LAPIC timer,
 * an IOAPIC pin raised by another host thread with KVM_IRQ_LINE, and two
 * vCPUs sending each other IPIs. Then the MOV SS and STI shadows of an
 * instruction that exits (WRMSR in the kernel, OUT to userspace), and
 * single-stepping (RFLAGS.TF) across STI and an emulated WRMSR and HLT.
 *
 * Reference: kvm_amd and kvm_intel give the same results. Faults of the
 * SVM emulator, QEMU's TCG, show on kvm_amd as on ckvm (measured and
 * explained in Documentation/testing.rst, "Interrupt shadows"); the
 * harness names the emulator in $ckvm_emulator and only these are
 * tolerated, and reported:
 *  - every QEMU: an interrupt injected through EVENTINJ is sometimes
 *    delivered a second time, inside its handler, where IF=0 (so never an
 *    external interrupt): up to 2% of N, counted apart;
 *  - QEMU before 9.1: VMRUN drops the guest's shadow from the VMCB, so a
 *    host interrupt's exit that lands between STI and HLT loses it: up to
 *    1% of N in the shadow, and a third of the stall runs;
 *  - QEMU before 10: no single-step trap after STI (the TF case expects
 *    the emulator's sequence);
 *  - Bochs 3.0 (Debian 13; 2.7 never did): with two vCPUs sending each
 *    other IPIs, a few deliveries land inside the STI shadow, on
 *    kvm_intel as on ckvm (measured: kvm_intel 2 of 80, and 2 of 48 in
 *    3 stall runs, 2 of them stalled; ckvm 1 of 80): up to 5% of N (at
 *    least 1) in the shadow, and stalled runs when no more than a tenth
 *    of the deliveries were in the shadow.
 * The fault of ckvm this test was written for, the host's STI shadow
 * carried into the guest by VMRUN, puts every delivery inside the shadow
 * under QEMU 7.2 and stalls every run (QEMU 10 hides it). QEMU 10 and
 * Bochs (VMX) are held to 0 in the shadow and no stall, but for the
 * Bochs 3.0 fault above.
 *
 * Counts for measurements, through the kernel command line (check.sh's
 * KCMDLINE_EXTRA): sti_shadow_n, sti_shadow_runs, sti_shadow_busy=1.
 */
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <time.h>

#include "ckvm_util.h"

#define MSR_APIC_BASE	0x1b
#define APIC_BASE_EN	(1ULL << 11)
#define APIC_BASE_EXTD	(1ULL << 10)
#define X2APIC(reg)	(0x800 + ((reg) >> 4))
#define APIC_TASKPRI	0x80
#define APIC_EOI	0xb0
#define APIC_SPIV	0xf0
#define APIC_IRR	0x200
#define APIC_ICR	0x300
#define APIC_LVTT	0x320
#define APIC_TMICT	0x380
#define APIC_TDCR	0x3e0
#define APIC_SELF_IPI	0x3f0

#define VEC_IPI		0x41	/* SELF_IPI and the IPIs between vCPUs */
#define VEC_TIMER	0x42
#define VEC_IOAPIC	0x43
#define IOAPIC_PIN	9
#define PORT_STI_OUT	0x99	/* OUT in an STI shadow; the host does nothing */
#define PORT_MOVSS_OUT	0x9a	/* OUT in a MOV SS shadow; the host raises a pin */
#define PORT_WANT_PIN	0x9b	/* the guest waits: wake the IOAPIC thread */

#define X86_EFLAGS_TF	0x100
#define X86_EFLAGS_IF	0x200
#define DR6_BS		0x4000

/* ---- per-vCPU data, reached through GS (the host sets GS.base) ---- */

#define LOG_MAX		32
#define LOG_IRQ		0	/* info: vector */
#define LOG_DB		1	/* info: 1 | DR6 << 8 */

struct vdata {
	uint64_t hlt_site;	/*   0: the HLT of the current loop */
	uint64_t fixup;		/*   8: rate mode: step over that HLT */
	uint64_t in_shadow;	/*  16: delivered at the HLT, in the shadow */
	uint64_t after;		/*  24: delivered after the HLT */
	uint64_t other;		/*  32: delivered anywhere else */
	uint64_t other_if0;	/*  40: ... with IF=0 there: not a real IRQ */
	uint64_t last_rip;	/*  48: the last return address */
	uint64_t handled;	/*  56: deliveries: the progress counter */
	uint64_t log_n;		/*  64 */
	uint64_t db_count;	/*  72 */
	uint64_t stop_rip;	/*  80: the #DB handler clears TF here */
	uint64_t ready;		/*  88: IPI loop: the iteration it is in, IF=0 */
	struct {
		uint64_t rip, info;
	} log[LOG_MAX];		/*  96 */
	struct vdata *self;	/* the guest finds its data through GS */
	struct vdata *peer;	/* IPI loop: the other vCPU's data */
	uint64_t peer_id;
	uint64_t done;
} __attribute__((aligned(64)));

_Static_assert(offsetof(struct vdata, hlt_site) == 0, "asm offsets");
_Static_assert(offsetof(struct vdata, fixup) == 8, "asm offsets");
_Static_assert(offsetof(struct vdata, in_shadow) == 16, "asm offsets");
_Static_assert(offsetof(struct vdata, after) == 24, "asm offsets");
_Static_assert(offsetof(struct vdata, other) == 32, "asm offsets");
_Static_assert(offsetof(struct vdata, other_if0) == 40, "asm offsets");
_Static_assert(offsetof(struct vdata, last_rip) == 48, "asm offsets");
_Static_assert(offsetof(struct vdata, handled) == 56, "asm offsets");
_Static_assert(offsetof(struct vdata, log_n) == 64, "asm offsets");
_Static_assert(offsetof(struct vdata, db_count) == 72, "asm offsets");
_Static_assert(offsetof(struct vdata, stop_rip) == 80, "asm offsets");
_Static_assert(offsetof(struct vdata, log) == 96, "asm offsets");

static struct vdata vdata[2];

/* ---- guest ---- */

struct idt_gate {
	uint16_t off0, sel;
	uint8_t ist, type;
	uint16_t off1;
	uint32_t off2, rsvd;
} __attribute__((packed));

static struct idt_gate idt[256] __attribute__((aligned(16)));

extern char irq_stub[], db_stub[];
extern char smallest_loop[], smallest_hlt[];
extern char sti_hlt[], site_hlt[];
extern char movss_wrmsr[], movss_wrmsr_a[];
extern char sti_wrmsr[], sti_wrmsr_a[];
extern char sti_out[], sti_out_a[];
extern char movss_out[], movss_out_a[];
extern char tf_sti[], tf_2[], tf_3[], tf_4[], tf_stop[];

/*
 * irq_stub: note the return address against %gs:hlt_site (rate mode:
 * step over the HLT when the interrupt came inside the shadow), log it
 * while TF tests run, count, EOI. db_stub: log RIP and DR6, clear DR6,
 * clear TF in the frame at %gs:stop_rip. Both are interrupt gates.
 */
asm(".pushsection .text\n"
    "irq_stub:\n"
    "	push %rax\n	push %rcx\n	push %rdx\n"
    "	mov 24(%rsp), %rax\n"
    "	mov %rax, %gs:48\n"
    "	cmp %gs:0, %rax\n"
    "	jne 1f\n"
    "	incq %gs:16\n"
    "	cmpq $0, %gs:8\n"
    "	je 3f\n"
    "	incq 24(%rsp)\n"
    "	jmp 3f\n"
    "1:	dec %rax\n"
    "	cmp %gs:0, %rax\n"
    "	jne 2f\n"
    "	incq %gs:24\n"
    "	jmp 3f\n"
    "2:	incq %gs:32\n"
    "	testq $0x200, 40(%rsp)\n"
    "	jnz 3f\n"
    "	incq %gs:40\n"
    "3:	mov %gs:64, %rcx\n"
    "	cmp $32, %rcx\n"
    "	jae 4f\n"
    "	shl $4, %rcx\n"
    "	mov 24(%rsp), %rax\n"
    "	mov %rax, %gs:96(%rcx)\n"
    "	movq $0, %gs:104(%rcx)\n"
    "	incq %gs:64\n"
    "4:	incq %gs:56\n"
    "	mov $0x80b, %ecx\n	xor %eax, %eax\n	xor %edx, %edx\n	wrmsr\n"
    "	pop %rdx\n	pop %rcx\n	pop %rax\n"
    "	iretq\n"
    "db_stub:\n"
    "	push %rax\n	push %rcx\n	push %rdx\n"
    "	mov %dr6, %rdx\n"
    "	mov %gs:64, %rcx\n"
    "	cmp $32, %rcx\n"
    "	jae 1f\n"
    "	shl $4, %rcx\n"
    "	mov 24(%rsp), %rax\n"
    "	mov %rax, %gs:96(%rcx)\n"
    "	shl $8, %rdx\n"
    "	or $1, %rdx\n"
    "	mov %rdx, %gs:104(%rcx)\n"
    "	incq %gs:64\n"
    "1:	incq %gs:72\n"
    "	mov $0xffff0ff0, %eax\n"
    "	mov %rax, %dr6\n"
    "	mov 24(%rsp), %rax\n"
    "	cmp %gs:80, %rax\n"
    "	jne 2f\n"
    "	andq $~0x100, 40(%rsp)\n"
    "2:	pop %rdx\n	pop %rcx\n	pop %rax\n"
    "	iretq\n"

    /* The smallest input: cli; SELF_IPI; sti; hlt; loop (rdi times). */
    "	.balign 64\n"
    "smallest_loop:\n"
    "1:	cli\n"
    "	mov $0x83f, %ecx\n"
    "	mov $0x41, %eax\n"
    "	xor %edx, %edx\n"
    "	wrmsr\n"
    "	sti\n"
    "smallest_hlt:\n"
    "	hlt\n"
    "	dec %rdi\n"
    "	jnz 1b\n"
    "	ret\n"

    /*
     * Called with IF=0 and an interrupt pending: CPUID, which exits, so
     * that STI is the first instruction after the entry (as in the
     * smallest input and in an OS that idles right after an exit); sti;
     * hlt.
     */
    "	.balign 64\n"
    "sti_hlt:\n"
    "	push %rbx\n"
    "	xor %eax, %eax\n"
    "	xor %ecx, %ecx\n"
    "	cpuid\n"
    "	sti\n"
    "site_hlt:\n"
    "	hlt\n"
    "	cli\n"
    "	pop %rbx\n"
    "	ret\n"

    /* IF=1, nothing pending: SELF_IPI in a MOV SS shadow. */
    "	.balign 64\n"
    "movss_wrmsr:\n"
    "	mov $0x83f, %ecx\n"
    "	mov $0x41, %eax\n"
    "	xor %edx, %edx\n"
    "	mov %ss, %r8d\n"
    "	mov %r8d, %ss\n"
    "	wrmsr\n"
    "movss_wrmsr_a:\n"
    "	nop\n"
    "	nop\n"
    "	ret\n"

    /* IF=0, nothing pending: SELF_IPI in an STI shadow. */
    "	.balign 64\n"
    "sti_wrmsr:\n"
    "	mov $0x83f, %ecx\n"
    "	mov $0x41, %eax\n"
    "	xor %edx, %edx\n"
    "	sti\n"
    "	wrmsr\n"
    "sti_wrmsr_a:\n"
    "	nop\n"
    "	nop\n"
    "	cli\n"
    "	ret\n"

    /* IF=0, an interrupt pending: OUT to userspace in an STI shadow. */
    "	.balign 64\n"
    "sti_out:\n"
    "	sti\n"
    "	outb %al, $0x99\n"
    "sti_out_a:\n"
    "	nop\n"
    "	nop\n"
    "	cli\n"
    "	ret\n"

    /* IF=1: OUT in a MOV SS shadow; the host raises a pin meanwhile. */
    "	.balign 64\n"
    "movss_out:\n"
    "	mov %ss, %r8d\n"
    "	mov %r8d, %ss\n"
    "	outb %al, $0x9a\n"
    "movss_out_a:\n"
    "	nop\n"
    "	nop\n"
    "	ret\n"

    /*
     * IF=0, TF=0: set TF, then a WRMSR (emulated: its #DB comes from
     * the hypervisor), STI with the SELF_IPI pending, HLT (emulated, and
     * the vCPU must wake for the #DB it owes), NOP; the #DB handler
     * clears TF at tf_stop.
     */
    "	.balign 64\n"
    "tf_sti:\n"
    "	mov $0x83f, %ecx\n"
    "	mov $0x41, %eax\n"
    "	xor %edx, %edx\n"
    "	pushfq\n"
    "	orq $0x100, (%rsp)\n"
    "	popfq\n"
    "	wrmsr\n"
    "tf_2:\n"
    "	sti\n"
    "tf_3:\n"
    "	hlt\n"
    "tf_4:\n"
    "	nop\n"
    "tf_stop:\n"
    "	cli\n"
    "	ret\n"
    ".popsection\n");

static void smallest(uint64_t n)
{
	asm volatile("call smallest_loop" : "+D"(n) : : "rax", "rcx", "rdx", "memory");
}

static void call_site(void *site)
{
	asm volatile("call *%0" : : "r"(site) : "rax", "rcx", "rdx", "r8", "memory");
}

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

static uint64_t gs_read(int off)
{
	uint64_t v;

	asm volatile("mov %%gs:(%1), %0" : "=r"(v) : "r"((uint64_t)off) : "memory");
	return v;
}

static void gs_write(int off, uint64_t v)
{
	asm volatile("mov %0, %%gs:(%1)" : : "r"(v), "r"((uint64_t)off) : "memory");
}

/* This vCPU's data: at GS.base, set by the host (KVM_SET_SREGS). */
static struct vdata *me(void)
{
	return (struct vdata *)gs_read(offsetof(struct vdata, self));
}

/*
 * Every wait with IF=0 exits at each turn: kvm_intel under Bochs gets no
 * host interrupt while a guest spins with IF=0 without exits
 * (testing.rst), and TPR reads do not exit there (TPR shadow). CPUID
 * always exits.
 */
static void exit_to_host(void)
{
	uint32_t a, b, c, d;

	cpuid_count(0, 0, &a, &b, &c, &d);
}

static bool irr_set(int vec)
{
	return rdmsr(X2APIC(APIC_IRR + (vec / 32) * 0x10)) & (1u << (vec % 32));
}

static void guest_setup(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr;

	set_gate(1, db_stub);
	set_gate(VEC_IPI, irq_stub);
	set_gate(VEC_TIMER, irq_stub);
	set_gate(VEC_IOAPIC, irq_stub);
	idtr.limit = sizeof(idt) - 1;
	idtr.base = (uint64_t)idt;
	asm volatile("lidt %0" :: "m"(idtr));
	wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | APIC_BASE_EN | APIC_BASE_EXTD);
	wrmsr(X2APIC(APIC_SPIV), 0x1ff);
}

enum variant {
	V_SMALLEST, V_TIMER, V_IOAPIC, V_IPI, V_SHADOWS, V_TF,
};

/* The four sources: @n iterations; @fixup: step over an in-shadow HLT. */
static void guest_main(uint64_t variant, uint64_t n, uint64_t fixup)
{
	struct vdata *v;
	uint64_t i;

	guest_setup();
	gs_write(offsetof(struct vdata, fixup), fixup);
	switch (variant) {
	case V_SMALLEST:
		gs_write(0, (uint64_t)smallest_hlt);
		smallest(n);
		break;
	case V_TIMER:
		gs_write(0, (uint64_t)site_hlt);
		wrmsr(X2APIC(APIC_TDCR), 0xb);		/* divide by 1 */
		wrmsr(X2APIC(APIC_LVTT), VEC_TIMER);	/* one-shot */
		for (i = 0; i < n; i++) {
			asm volatile("cli");
			wrmsr(X2APIC(APIC_TMICT), 2000);	/* 2 us */
			while (!irr_set(VEC_TIMER))
				;
			call_site(sti_hlt);
		}
		break;
	case V_IOAPIC:
		gs_write(0, (uint64_t)site_hlt);
		for (i = 1; i <= n; i++) {
			asm volatile("cli");
			/* The vCPU thread wakes the other thread and runs on. */
			outb(PORT_WANT_PIN, 0);
			/* RDMSR exits: never spin with IF=0 without exits. */
			while (!irr_set(VEC_IOAPIC))
				;
			call_site(sti_hlt);
		}
		break;
	case V_IPI:
		gs_write(0, (uint64_t)site_hlt);
		v = me();
		for (i = 1; i <= n; i++) {
			asm volatile("cli");
			/*
			 * Send only when the peer is in the same iteration
			 * with IF=0: it has taken the last IPI and cannot take
			 * this one before its STI (nor, the first time, drop it
			 * with a software-disabled APIC).
			 */
			*(volatile uint64_t *)&v->ready = i;
			while (*(volatile uint64_t *)&v->peer->ready < i)
				exit_to_host();
			wrmsr(X2APIC(APIC_ICR), (v->peer_id << 32) | VEC_IPI);
			while (!irr_set(VEC_IPI))
				;
			call_site(sti_hlt);
		}
		break;
	case V_SHADOWS:
		/* Each case: the address the interrupt returns to. */
		gs_write(0, 0);
		asm volatile("sti");
		call_site(movss_wrmsr);
		GUEST_SYNC(gs_read(offsetof(struct vdata, last_rip)));
		asm volatile("cli");
		call_site(sti_wrmsr);
		GUEST_SYNC(gs_read(offsetof(struct vdata, last_rip)));
		wrmsr(X2APIC(APIC_SELF_IPI), VEC_IPI);
		call_site(sti_out);
		GUEST_SYNC(gs_read(offsetof(struct vdata, last_rip)));
		asm volatile("sti");
		call_site(movss_out);
		asm volatile("cli");
		GUEST_SYNC(gs_read(offsetof(struct vdata, last_rip)));
		break;
	case V_TF:
		gs_write(0, 0);
		gs_write(offsetof(struct vdata, stop_rip), (uint64_t)tf_stop);
		asm volatile("cli");
		call_site(tf_sti);
		break;
	}
	GUEST_DONE();
}

/* ---- host ---- */

static bool on_amd;
static int stall_ms;
/* Faults of the emulator, from $ckvm_emulator (see the top). */
static bool emu_eventinj_dups, emu_loses_shadow, emu_no_sti_step;
static bool emu_ipi_in_shadow, emu_qemu;

static void read_emulator(void)
{
	const char *e = getenv("ckvm_emulator");
	int major = 0, minor = 0;

	if (e && sscanf(e, "bochs-%d.%d", &major, &minor) == 2) {
		emu_ipi_in_shadow = major >= 3;
		ksft_print_msg("emulator: %s%s", e, emu_ipi_in_shadow ?
			       " (two vCPUs' IPIs sometimes inside the STI shadow)" : "");
		return;
	}
	if (!e || sscanf(e, "qemu-%d.%d", &major, &minor) != 2) {
		ksft_print_msg("emulator: %s", e ? e : "not named ($ckvm_emulator unset)");
		return;
	}
	emu_qemu = true;
	emu_eventinj_dups = true;
	emu_loses_shadow = major < 9 || (major == 9 && minor < 1);
	emu_no_sti_step = major < 10;
	ksft_print_msg("emulator: %s%s%s", e,
		       emu_loses_shadow ? " (drops the VMCB's interrupt shadow on VMRUN)" : "",
		       emu_no_sti_step ? " (no single-step trap after STI)" : "");
}
static volatile int kicked_sig;

static void on_sigusr1(int sig)
{
	kicked_sig = sig;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

static int irq_line(struct kvm_vm *vm, uint32_t irq, uint32_t level)
{
	struct kvm_irq_level l = { .irq = irq, .level = level };

	return ioctl(vm->fd, KVM_IRQ_LINE, &l);
}

struct runner {
	struct kvm_vcpu *v;
	int pin_pipe;		/* IOAPIC loop: write end, one byte a request */
	pthread_t th;
	volatile int state;	/* 0 running, 1 done, 2 failed, 3 kicked */
	char why[160];
};

/* Run a vCPU to GUEST_DONE; OUT to the test ports is handled here. */
static void *vcpu_thread(void *arg)
{
	struct runner *r = arg;
	struct kvm_run *run = r->v->run;
	struct ucall uc;

	for (;;) {
		int rc = vcpu_run(r->v);

		if (rc == -EINTR) {
			r->state = 3;
			return NULL;
		}
		if (rc) {
			snprintf(r->why, sizeof(r->why), "KVM_RUN: %s", strerror(-rc));
			r->state = 2;
			return NULL;
		}
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == PORT_STI_OUT)
			continue;
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == PORT_WANT_PIN) {
			TEST_ASSERT(write(r->pin_pipe, "", 1) == 1, "pipe");
			continue;
		}
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == PORT_MOVSS_OUT) {
			irq_line(r->v->vm, IOAPIC_PIN, 1);
			irq_line(r->v->vm, IOAPIC_PIN, 0);
			continue;
		}
		switch (get_ucall(r->v, &uc)) {
		case UCALL_SYNC:
			continue;
		case UCALL_DONE:
			r->state = 1;
			return NULL;
		case UCALL_ABORT:
			snprintf(r->why, sizeof(r->why), "guest assertion %s:%llu: %s",
				 uc.file, (unsigned long long)uc.line, uc.expr);
			break;
		default:
			snprintf(r->why, sizeof(r->why), "exit %u (%s)", run->exit_reason,
				 exit_reason_str(run->exit_reason));
			break;
		}
		r->state = 2;
		return NULL;
	}
}

struct ioapic_feeder {
	struct kvm_vm *vm;
	int pipe[2];
	pthread_t th;
};

/*
 * Another thread raises the pin (an edge) whenever the guest asks, while
 * the guest runs on and waits for it; it sleeps in between (a thread that
 * polls keeps the emulator's other CPU busy, which multiplies QEMU's
 * EVENTINJ duplicates, see testing.rst). It ends when the pipe closes.
 */
static void *ioapic_thread(void *arg)
{
	struct ioapic_feeder *f = arg;
	char c;

	while (read(f->pipe[0], &c, 1) == 1) {
		irq_line(f->vm, IOAPIC_PIN, 1);
		irq_line(f->vm, IOAPIC_PIN, 0);
	}
	return NULL;
}

/* Pin IOAPIC_PIN: edge, fixed, vector VEC_IOAPIC, physical APIC 0. */
static void route_pin(struct kvm_vm *vm)
{
	struct kvm_irqchip c = { .chip_id = KVM_IRQCHIP_IOAPIC };

	TEST_ASSERT(!ioctl(vm->fd, KVM_GET_IRQCHIP, &c), "KVM_GET_IRQCHIP");
	c.chip.ioapic.redirtbl[IOAPIC_PIN].bits = 0;
	c.chip.ioapic.redirtbl[IOAPIC_PIN].fields.vector = VEC_IOAPIC;
	TEST_ASSERT(!ioctl(vm->fd, KVM_SET_IRQCHIP, &c), "KVM_SET_IRQCHIP");
}

struct result {
	uint64_t in_shadow, after, other, other_if0, handled;
	int stalled;		/* runs that stopped making progress */
	bool failed;		/* a vCPU failed otherwise (printed) */
};

static struct vdata *vd_host(struct kvm_vm *vm, int i)
{
	return addr_gpa2hva(vm, (uint64_t)&vdata[i]);
}

/*
 * One VM running @variant on @nvcpu vCPUs; waits while the deliveries
 * counter moves, and kicks the vCPUs out when it has not moved for
 * stall_ms (a vCPU halted for good). Adds the counters to @res.
 */
static void run_vm(int variant, int nvcpu, uint64_t n, bool fixup,
		   struct result *res, struct vdata *copy0)
{
	struct ioapic_feeder feed = { 0 };
	struct runner r[2] = { 0 };
	struct kvm_vm *vm = vm_create();
	uint64_t last = 0, last_change;
	int i;

	TEST_ASSERT(!ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0), "KVM_CREATE_IRQCHIP");
	route_pin(vm);
	for (i = 0; i < nvcpu; i++) {
		struct vdata *vd = vd_host(vm, i);
		struct kvm_sregs s;
		struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };

		r[i].v = vcpu_add(vm, i, guest_main);
		vcpu_args_set(r[i].v, 3, (uint64_t)variant, n, (uint64_t)fixup);
		/* KVM starts an AP in wait-for-SIPI; this one runs at once. */
		TEST_ASSERT(!ioctl(r[i].v->fd, KVM_SET_MP_STATE, &mp), "KVM_SET_MP_STATE");
		vcpu_get_sregs(r[i].v, &s);
		s.gs.base = (uint64_t)&vdata[i];
		vcpu_set_sregs(r[i].v, &s);
		memset(vd, 0, sizeof(*vd));
		vd->self = &vdata[i];
		vd->peer = &vdata[!i];
		vd->peer_id = !i;
	}
	if (variant == V_IOAPIC) {
		feed.vm = vm;
		TEST_ASSERT(!pipe(feed.pipe), "pipe");
		r[0].pin_pipe = feed.pipe[1];
		pthread_create(&feed.th, NULL, ioapic_thread, &feed);
	}
	for (i = 0; i < nvcpu; i++)
		pthread_create(&r[i].th, NULL, vcpu_thread, &r[i]);

	last_change = now_ms();
	for (;;) {
		uint64_t sum = 0;
		bool running = false;

		usleep(20000);
		for (i = 0; i < nvcpu; i++) {
			sum += *(volatile uint64_t *)&vd_host(vm, i)->handled;
			running |= r[i].state == 0;
		}
		if (!running)
			break;
		if (sum != last) {
			last = sum;
			last_change = now_ms();
		} else if (now_ms() - last_change > (uint64_t)stall_ms) {
			for (i = 0; i < nvcpu; i++) {
				r[i].v->run->immediate_exit = 1;
				pthread_kill(r[i].th, SIGUSR1);
			}
			break;
		}
	}
	for (i = 0; i < nvcpu; i++)
		pthread_join(r[i].th, NULL);
	if (variant == V_IOAPIC) {
		close(feed.pipe[1]);
		pthread_join(feed.th, NULL);
		close(feed.pipe[0]);
	}

	for (i = 0; i < nvcpu; i++) {
		struct vdata *vd = vd_host(vm, i);

		res->in_shadow += vd->in_shadow;
		res->after += vd->after;
		res->other += vd->other;
		res->other_if0 += vd->other_if0;
		res->handled += vd->handled;
		if (r[i].state == 2) {
			ksft_print_msg("vcpu %d: %s", i, r[i].why);
			res->failed = true;
		}
	}
	for (i = 0; i < nvcpu; i++) {
		if (r[i].state == 3 || r[i].state == 0) {
			res->stalled++;
			break;
		}
	}
	/* Where a stalled run stopped: the first few, for the log. */
	if (i < nvcpu && res->stalled <= 2) {
		for (i = 0; i < nvcpu; i++) {
			struct kvm_regs regs;
			struct kvm_mp_state mp = { 0 };

			vcpu_get_regs(r[i].v, &regs);
			ioctl(r[i].v->fd, KVM_GET_MP_STATE, &mp);
			ksft_print_msg("stalled: vcpu %d state %d rip %+lld from %s, rflags 0x%llx, mp_state %u, %llu deliveries, last at 0x%llx",
				       i, r[i].state,
				       (long long)(regs.rip - vd_host(vm, i)->hlt_site),
				       "the HLT", (unsigned long long)regs.rflags, mp.mp_state,
				       (unsigned long long)vd_host(vm, i)->handled,
				       (unsigned long long)vd_host(vm, i)->last_rip);
		}
	}
	if (copy0)
		*copy0 = *vd_host(vm, 0);
	for (i = 0; i < nvcpu; i++)
		vcpu_free(r[i].v);
	kvm_vm_free(vm);
}

/*
 * Deliveries elsewhere than at or after the HLT: those with IF=0 at the
 * interrupted instruction cannot be external interrupts and are QEMU's
 * EVENTINJ duplicates (testing.rst).
 */
static bool others_ok(const struct result *r, uint64_t n)
{
	uint64_t allowed = emu_eventinj_dups ? n / 50 : 0;

	return r->other == r->other_if0 && r->other_if0 <= allowed;
}

static uint64_t shadow_allowed(int variant, uint64_t n)
{
	if (emu_loses_shadow)
		return n / 100;
	if (emu_ipi_in_shadow && variant == V_IPI)
		return n / 20 ? n / 20 : 1;
	return 0;
}

/* The emulator's fault, not ckvm's: printed when a result needed it. */
static const char *shadow_fault(void)
{
	return emu_loses_shadow ? "this QEMU drops the VMCB's interrupt shadow on VMRUN" :
				  "this Bochs delivers two vCPUs' IPIs inside the STI shadow";
}

static const char *const source_name[] = {
	[V_SMALLEST] = "smallest input (SELF_IPI)",
	[V_TIMER] = "LAPIC timer",
	[V_IOAPIC] = "IOAPIC pin from another thread",
	[V_IPI] = "2 vCPUs, IPIs",
};

/*
 * For measurements only (sti_shadow_busy=1): a thread that wakes every
 * 20 us, which keeps the emulator's other CPU busy (testing.rst).
 */
static volatile bool busy_stop;

static void *busy_thread(void *arg __attribute__((unused)))
{
	while (!busy_stop)
		usleep(20);
	return NULL;
}

static void test_rate(int variant, uint64_t n)
{
	int nvcpu = variant == V_IPI ? 2 : 1;
	struct result res = { 0 };
	uint64_t total = n * nvcpu;
	uint64_t lost;
	pthread_t busy;
	bool with_busy = getenv("sti_shadow_busy") != NULL;

	busy_stop = false;
	if (with_busy)
		pthread_create(&busy, NULL, busy_thread, NULL);
	run_vm(variant, nvcpu, n, true, &res, NULL);
	busy_stop = true;
	if (with_busy)
		pthread_join(busy, NULL);
	ksft_print_msg("%s: %llu of %llu in the STI shadow, %llu after the HLT, %llu elsewhere (%llu with IF=0)%s",
		       source_name[variant], (unsigned long long)res.in_shadow,
		       (unsigned long long)total, (unsigned long long)res.after,
		       (unsigned long long)res.other, (unsigned long long)res.other_if0,
		       res.stalled ? ", stalled" : "");
	if (res.in_shadow && res.in_shadow <= shadow_allowed(variant, total))
		ksft_print_msg("tolerated: %s", shadow_fault());
	if (res.other_if0 && others_ok(&res, total))
		ksft_print_msg("tolerated: QEMU's EVENTINJ duplicates (IF=0 at the return address)");
	/*
	 * Every iteration delivers exactly once, on ckvm always. The
	 * reference under QEMU was seen to lose a few (before 9.1: 14 of
	 * 500, IOAPIC source, once, on a loaded host: the guest went on
	 * past its HLT with no delivery; QEMU 10, Debian 13's kvm_amd with
	 * shadow paging: 2 of 1000, IPI source, once); that is reported,
	 * not failed.
	 */
	lost = total - res.after - res.in_shadow;
	if (res.after + res.in_shadow < total && !is_ckvm() && emu_qemu &&
	    lost <= total / 20)
		ksft_print_msg("tolerated on the reference under this QEMU: %llu deliveries lost",
			       (unsigned long long)lost);
	else
		lost = 0;
	ksft_test_result(!res.failed && !res.stalled &&
			 res.in_shadow <= shadow_allowed(variant, total) &&
			 res.after + res.in_shadow + lost == total &&
			 others_ok(&res, total),
			 "%s: rate: no delivery inside the STI shadow (%llu iterations)\n",
			 source_name[variant], (unsigned long long)total);
}

static void test_stall(int variant, int runs, uint64_t n)
{
	int nvcpu = variant == V_IPI ? 2 : 1;
	struct result res = { 0 };
	int allowed = emu_loses_shadow ? runs / 3 : 0;
	int i;

	for (i = 0; i < runs; i++)
		run_vm(variant, nvcpu, n, false, &res, NULL);
	ksft_print_msg("%s: %d of %d runs stalled (%llu in the shadow, %llu deliveries)",
		       source_name[variant], res.stalled, runs,
		       (unsigned long long)res.in_shadow,
		       (unsigned long long)res.handled);
	/*
	 * Bochs 3.0's rare IPI in the shadow stalls its run; ckvm's fault
	 * would put every delivery there.
	 */
	if (emu_ipi_in_shadow && variant == V_IPI &&
	    res.in_shadow * 10 <= res.handled)
		allowed = runs;
	if (res.stalled && res.stalled <= allowed)
		ksft_print_msg("tolerated: %s", shadow_fault());
	ksft_test_result(!res.failed && res.stalled <= allowed,
			 "%s: stall detector: no run of %llu iterations halts for good (%d runs)\n",
			 source_name[variant], (unsigned long long)n, runs);
}

/*
 * An interrupt that becomes pending during an instruction in a shadow
 * comes right after it: the exit that emulated it must end the shadow
 * (here the guest's own, which lasts one instruction).
 */
static void test_shadows(void)
{
	static const struct {
		const char *name;
		char *want;
	} c[] = {
		{ "MOV SS; WRMSR(SELF_IPI): taken after the WRMSR", movss_wrmsr_a },
		{ "STI; WRMSR(SELF_IPI): taken after the WRMSR", sti_wrmsr_a },
		{ "STI; OUT to userspace, IPI pending: taken after the OUT", sti_out_a },
		{ "MOV SS; OUT, pin raised during the exit: taken after the OUT", movss_out_a },
	};
	struct runner r = { 0 };
	struct kvm_vm *vm = vm_create();
	struct kvm_sregs s;
	struct ucall uc;
	unsigned int i;

	TEST_ASSERT(!ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0), "KVM_CREATE_IRQCHIP");
	route_pin(vm);
	r.v = vcpu_add(vm, 0, guest_main);
	vcpu_args_set(r.v, 3, (uint64_t)V_SHADOWS, 0ULL, 0ULL);
	vcpu_get_sregs(r.v, &s);
	s.gs.base = (uint64_t)&vdata[0];
	vcpu_set_sregs(r.v, &s);
	memset(vd_host(vm, 0), 0, sizeof(vdata[0]));
	vd_host(vm, 0)->self = &vdata[0];

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		int cmd;

		/* The test ports exit to us; the guest's ucalls end a case. */
		for (;;) {
			cmd = vcpu_run(r.v) ? UCALL_NONE : get_ucall(r.v, &uc);
			if (cmd == UCALL_NONE && r.v->run->exit_reason == KVM_EXIT_IO &&
			    r.v->run->io.port == PORT_STI_OUT)
				continue;
			if (cmd == UCALL_NONE && r.v->run->exit_reason == KVM_EXIT_IO &&
			    r.v->run->io.port == PORT_MOVSS_OUT) {
				irq_line(vm, IOAPIC_PIN, 1);
				irq_line(vm, IOAPIC_PIN, 0);
				continue;
			}
			break;
		}
		if (cmd != UCALL_SYNC) {
			ksft_print_msg("no sync: ucall %d, exit %u", cmd, r.v->run->exit_reason);
			ksft_test_result(false, "%s\n", c[i].name);
			continue;
		}
		if (uc.args[0] != (uint64_t)c[i].want)
			ksft_print_msg("returned to %+lld bytes from the expected 0x%llx",
				       (long long)(uc.args[0] - (uint64_t)c[i].want),
				       (unsigned long long)(uint64_t)c[i].want);
		CHECK_EQ(uc.args[0], (uint64_t)c[i].want, "%s\n", c[i].name);
	}
	ksft_test_result(vcpu_run_ucall(r.v, &uc) == UCALL_DONE, "shadow cases: guest done\n");
	vcpu_free(r.v);
	kvm_vm_free(vm);
}

/*
 * Single-stepping across "wrmsr(SELF_IPI); sti; hlt" with IF=0 before:
 * every instruction ends with a #DB (DR6.BS), the emulated WRMSR and HLT
 * included, and the vCPU halted by the HLT wakes for the #DB it owes.
 * The SDM says STI's shadow blocks interrupts, not the single-step trap:
 * Bochs and QEMU 10 then deliver #DB after the STI, whose IRET opens the
 * window, and the interrupt comes before the HLT (sequence A). QEMU 7.2's
 * TCG takes no single-step trap after an STI that opens a shadow (its
 * translator skips it; 10.0 no longer does), so the HLT exits, and #DB and
 * the interrupt come after it (sequence B). The reference modules give
 * the same sequence as ckvm on each emulator (measured).
 */
static void test_tf(void)
{
	struct { uint64_t rip, info; } want_a[] = {
		{ (uint64_t)tf_2, 1 | DR6_BS << 8 },
		{ (uint64_t)tf_3, 1 | DR6_BS << 8 },
		{ (uint64_t)tf_3, LOG_IRQ },
		{ (uint64_t)tf_4, 1 | DR6_BS << 8 },
		{ (uint64_t)tf_stop, 1 | DR6_BS << 8 },
	}, want_b[] = {
		{ (uint64_t)tf_2, 1 | DR6_BS << 8 },
		{ (uint64_t)tf_4, 1 | DR6_BS << 8 },
		{ (uint64_t)tf_4, LOG_IRQ },
		{ (uint64_t)tf_stop, 1 | DR6_BS << 8 },
	};
	struct result res = { 0 };
	static struct vdata copy;
	struct vdata *vd = &copy;
	bool ok_a = true, ok_b = true;
	uint64_t i;

	run_vm(V_TF, 1, 0, false, &res, vd);
	for (i = 0; i < vd->log_n && i < LOG_MAX; i++) {
		uint64_t info = vd->log[i].info;

		/* Of DR6 only BS matters here. */
		if (info & 1)
			info &= 1 | DR6_BS << 8;
		ksft_print_msg("event %llu: %s at %+lld from tf_sti%s", (unsigned long long)i,
			       info & 1 ? "#DB" : "IRQ",
			       (long long)(vd->log[i].rip - (uint64_t)tf_sti),
			       (info & 1) && !(info & DR6_BS << 8) ? " (DR6.BS clear)" : "");
		if (i >= sizeof(want_a) / sizeof(want_a[0]) ||
		    vd->log[i].rip != want_a[i].rip || info != want_a[i].info)
			ok_a = false;
		if (i >= sizeof(want_b) / sizeof(want_b[0]) ||
		    vd->log[i].rip != want_b[i].rip || info != want_b[i].info)
			ok_b = false;
	}
	ok_a &= vd->log_n == sizeof(want_a) / sizeof(want_a[0]);
	ok_b &= vd->log_n == sizeof(want_b) / sizeof(want_b[0]);
	if (res.stalled)
		ksft_print_msg("the vCPU stalled (halted for good)");
	ksft_test_result(!res.failed && !res.stalled && (emu_no_sti_step ? ok_b : ok_a),
			 "TF across WRMSR, STI, HLT: a #DB after every instruction, the interrupt outside the shadow (sequence %s)\n",
			 emu_no_sti_step ? "B" : "A");
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_sigusr1 };
	uint64_t n, n_ipi, n_stall;
	int runs;

	ksft_print_header();
	kvm_open();
	sigaction(SIGUSR1, &sa, NULL);
	on_amd = host_is_amd();
	read_emulator();
	/*
	 * QEMU TCG (SVM) runs these loops 10-20 times faster than Bochs
	 * (VMX): about 10 s each way.
	 */
	n = on_amd ? 2000 : 160;
	n_ipi = on_amd ? 500 : 40;
	runs = on_amd ? 10 : 3;
	n_stall = on_amd ? 20 : 10;
	stall_ms = on_amd ? 1000 : 3000;
	/*
	 * For measurements (testing.rst): KCMDLINE_EXTRA="sti_shadow_n=9000
	 * sti_shadow_runs=20 CKVM_TEST_TIMEOUT=900" TEST_TIMEOUT=900.
	 */
	if (getenv("sti_shadow_n")) {
		n = strtoull(getenv("sti_shadow_n"), NULL, 0);
		n_ipi = n / 4;
	}
	if (getenv("sti_shadow_runs"))
		runs = atoi(getenv("sti_shadow_runs"));

	ksft_set_plan(14);
	test_rate(V_SMALLEST, n);
	test_stall(V_SMALLEST, runs, n_stall);
	test_rate(V_TIMER, n / 4);
	test_stall(V_TIMER, runs, n_stall);
	test_rate(V_IOAPIC, n / 4);
	test_stall(V_IOAPIC, runs, n_stall);
	test_rate(V_IPI, n_ipi);
	test_stall(V_IPI, runs, n_stall);
	test_shadows();
	test_tf();
	return ksft_finished();
}
