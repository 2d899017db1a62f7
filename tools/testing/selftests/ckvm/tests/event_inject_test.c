// SPDX-License-Identifier: GPL-2.0
/*
 * Events that an exit catches in flight (issue 15, item 2).
 *
 * 1. A vCPU that userspace puts into HALTED (KVM_SET_MP_STATE) while an
 *    event is queued for the next entry runs to deliver it. The event is
 *    the single-step #DB of an OUT the guest executed with RFLAGS.TF set:
 *    the OUT exits to userspace, the next KVM_RUN completes it and queues
 *    the #DB (as KVM does), and the vCPU is HALTED by then. KVM wakes it
 *    (a pending exception is a reason to run); a vCPU waiting only for an
 *    interrupt it can take would sleep for good, which a bounded wait
 *    turns into a failure.
 *
 * 2. An event whose delivery is cut short by an exit is delivered once,
 *    with the right return address: INT3 and INT n (software events: the
 *    return address is past the instruction), UD2 (a fault: at the
 *    instruction), an external interrupt (after the instruction it came
 *    after), and on Intel INT1/ICEBP (a privileged software exception;
 *    QEMU's TCG does not deliver ICEBP to the guest at all, so not on
 *    AMD). Each delivery pushes its frame onto a stack page the vCPU has
 *    never written, in a memslot with dirty logging, so the push is an
 *    NPF/EPT violation in the middle of the delivery on ckvm and on KVM
 *    alike. INTO only exists outside 64-bit mode and is left out.
 *
 * Every expected value is what kvm_amd and kvm_intel do.
 */
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include "ckvm_util.h"

#define MSR_APIC_BASE	0x1b
#define APIC_BASE_EN	(1ULL << 11)
#define APIC_BASE_EXTD	(1ULL << 10)
#define X2APIC_SPIV	0x80f
#define X2APIC_EOI	0x80b

#define PORT_TF_OUT	0x9c
#define VEC_SOFT	0x80
#define VEC_IPI		0x41

#define STACK_SLOT	1
#define STACK_GPA	0x10000000ULL	/* 256 MiB, inside the identity map */
#define PER_EVENT	12		/* iterations of each event */

enum event { EV_INT3, EV_INTN, EV_UD2, EV_IRQ, EV_ICEBP, NR_EVENTS };

/* ---- guest ---- */

struct idt_gate {
	uint16_t off0, sel;
	uint8_t ist, type;
	uint16_t off1;
	uint32_t off2, rsvd;
} __attribute__((packed));

static struct idt_gate idt[256] __attribute__((aligned(16)));

/* Written by the handlers: how often each vector came, and where to. */
volatile uint64_t ev_count[256];
volatile uint64_t ev_rip;
volatile uint64_t ev_vec;
volatile uint64_t db_rip, db_dr6;
volatile uint64_t stop_rip;

extern char h_db[], h_bp[], h_ud[], h_soft[], h_ipi[];
extern char tf_out[], tf_out_a[];
extern char ev_one[], ev_int3_ret[], ev_intn_ret[], ev_ud2_at[],
	    ev_irq_ret[], ev_icebp_ret[];

asm(".pushsection .text\n"
    /* Record vector \v and the return address; \skip: step over it. */
    ".macro handler name vec skip eoi\n"
    "\\name:\n"
    "	push %rax\n	push %rcx\n	push %rdx\n"
    "	mov 24(%rsp), %rax\n"
    "	mov %rax, ev_rip(%rip)\n"
    "	movq $\\vec, ev_vec(%rip)\n"
    "	incq ev_count+8*\\vec(%rip)\n"
    "	.if \\skip\n"
    "	addq $\\skip, 24(%rsp)\n"
    "	.endif\n"
    "	.if \\eoi\n"
    "	mov $0x80b, %ecx\n	xor %eax, %eax\n	xor %edx, %edx\n	wrmsr\n"
    "	.endif\n"
    "	pop %rdx\n	pop %rcx\n	pop %rax\n"
    "	iretq\n"
    ".endm\n"
    "handler h_bp 3 0 0\n"
    "handler h_ud 6 2 0\n"
    "handler h_soft 0x80 0 0\n"
    "handler h_ipi 0x41 0 1\n"
    /* #DB: the same, plus DR6, and TF off at stop_rip. */
    "h_db:\n"
    "	push %rax\n"
    "	mov 8(%rsp), %rax\n"
    "	mov %rax, ev_rip(%rip)\n"
    "	mov %rax, db_rip(%rip)\n"
    "	movq $1, ev_vec(%rip)\n"
    "	incq ev_count+8(%rip)\n"
    "	mov %dr6, %rax\n"
    "	mov %rax, db_dr6(%rip)\n"
    "	mov $0xffff0ff0, %eax\n"
    "	mov %rax, %dr6\n"
    "	mov 8(%rsp), %rax\n"
    "	cmp stop_rip(%rip), %rax\n"
    "	jne 1f\n"
    "	andq $~0x100, 24(%rsp)\n"
    "1:	pop %rax\n"
    "	iretq\n"

    /* TF on, OUT to userspace: its #DB is owed after the OUT. */
    "tf_out:\n"
    "	pushfq\n"
    "	orq $0x100, (%rsp)\n"
    "	popfq\n"
    "	outb %al, $0x9c\n"
    "tf_out_a:\n"
    "	nop\n"
    "	ret\n"

    /*
     * ev_one(stack top, event): run one event on the given stack. IF=0
     * on entry and exit; the IRQ case opens it around its WRMSR.
     */
    "ev_one:\n"
    "	push %rbx\n"
    "	mov %rsp, %rbx\n"
    "	mov %rdi, %rsp\n"
    "	cmp $0, %esi\n"
    "	je 10f\n"
    "	cmp $1, %esi\n"
    "	je 11f\n"
    "	cmp $2, %esi\n"
    "	je 12f\n"
    "	cmp $3, %esi\n"
    "	je 13f\n"
    "	jmp 14f\n"
    "10:	int3\n"
    "ev_int3_ret:\n"
    "	jmp 20f\n"
    "11:	int $0x80\n"
    "ev_intn_ret:\n"
    "	jmp 20f\n"
    "ev_ud2_at:\n"
    "12:	ud2\n"
    "	jmp 20f\n"
    "13:	mov $0x83f, %ecx\n"
    "	mov $0x41, %eax\n"
    "	xor %edx, %edx\n"
    "	sti\n"
    "	wrmsr\n"
    "ev_irq_ret:\n"
    "	cli\n"
    "	jmp 20f\n"
    "14:	.byte 0xf1\n"
    "ev_icebp_ret:\n"
    "	jmp 20f\n"
    "20:	mov %rbx, %rsp\n"
    "	pop %rbx\n"
    "	ret\n"
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

static const uint8_t ev_vector[NR_EVENTS] = {
	[EV_INT3] = 3, [EV_INTN] = VEC_SOFT, [EV_UD2] = 6, [EV_IRQ] = VEC_IPI,
	[EV_ICEBP] = 1,
};

static void guest_code(uint64_t with_icebp)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr;
	char *const ret[NR_EVENTS] = {
		[EV_INT3] = ev_int3_ret, [EV_INTN] = ev_intn_ret,
		[EV_UD2] = ev_ud2_at, [EV_IRQ] = ev_irq_ret,
		[EV_ICEBP] = ev_icebp_ret,
	};
	uint64_t page = 0, e, i, good, before;

	set_gate(1, h_db);
	set_gate(3, h_bp);
	set_gate(6, h_ud);
	set_gate(VEC_SOFT, h_soft);
	set_gate(VEC_IPI, h_ipi);
	idtr.limit = sizeof(idt) - 1;
	idtr.base = (uint64_t)idt;
	asm volatile("lidt %0" :: "m"(idtr));
	wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | APIC_BASE_EN | APIC_BASE_EXTD);
	wrmsr(X2APIC_SPIV, 0x1ff);

	/* 1: the #DB of the OUT, owed while userspace has us HALTED. */
	stop_rip = (uint64_t)tf_out_a;
	asm volatile("call tf_out" ::: "rax", "memory");
	GUEST_SYNC2(ev_count[1], db_rip);
	GUEST_SYNC(db_dr6);

	/* 2: each event on a stack page never written before. */
	for (e = 0; e < NR_EVENTS; e++) {
		if (e == EV_ICEBP && !with_icebp)
			continue;
		good = 0;
		for (i = 0; i < PER_EVENT; i++) {
			uint64_t top = STACK_GPA + ++page * 4096;

			before = ev_count[ev_vector[e]];
			ev_rip = 0;
			asm volatile("call ev_one"
				     : "+D"(top), "+S"(e)
				     : : "rax", "rcx", "rdx", "r8", "r9", "r10",
				       "r11", "memory");
			if (ev_count[ev_vector[e]] == before + 1 &&
			    ev_rip == (uint64_t)ret[e])
				good++;
			else
				GUEST_SYNC2(0xbad0 + e, ev_rip - (uint64_t)ret[e]);
		}
		GUEST_SYNC2(e, good);
	}
	GUEST_DONE();
}

/* ---- host ---- */

static volatile int woke;

static void on_sigusr1(int sig)
{
	woke = sig;
}

struct kick {
	struct kvm_vcpu *v;
	pthread_t target;
	int ms;
	volatile bool cancel;
};

/* Kick the vCPU thread out of KVM_RUN after @ms, unless cancelled. */
static void *kicker(void *arg)
{
	struct kick *k = arg;
	int i;

	for (i = 0; i < k->ms / 10 && !k->cancel; i++)
		usleep(10000);
	if (!k->cancel) {
		k->v->run->immediate_exit = 1;
		pthread_kill(k->target, SIGUSR1);
	}
	return NULL;
}

static const char *const ev_name[NR_EVENTS] = {
	[EV_INT3] = "INT3", [EV_INTN] = "INT 0x80", [EV_UD2] = "UD2 (#UD)",
	[EV_IRQ] = "external interrupt (SELF_IPI)", [EV_ICEBP] = "INT1/ICEBP",
};

int main(void)
{
	struct sigaction sa = { .sa_handler = on_sigusr1 };
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_HALTED };
	bool amd, icebp;
	struct kick k = { 0 };
	struct kvm_vcpu *v;
	struct kvm_vm *vm;
	struct ucall uc;
	pthread_t th;
	int r, e, events;

	ksft_print_header();
	kvm_open();
	sigaction(SIGUSR1, &sa, NULL);
	amd = host_is_amd();
	icebp = !amd;
	events = NR_EVENTS - !icebp;
	ksft_set_plan(5 + events + 2);

	vm = vm_create();
	TEST_ASSERT(!ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0), "KVM_CREATE_IRQCHIP");
	vm_add_memslot(vm, STACK_SLOT, STACK_GPA, (NR_EVENTS * PER_EVENT + 2) * 4096ULL,
		       KVM_MEM_LOG_DIRTY_PAGES);
	v = vcpu_add(vm, 0, guest_code);
	vcpu_args_set(v, 1, (uint64_t)icebp);

	/* 1 */
	r = vcpu_run(v);
	ksft_test_result(!r && v->run->exit_reason == KVM_EXIT_IO &&
			 v->run->io.port == PORT_TF_OUT,
			 "OUT with TF set exits to userspace\n");
	CHECK_OK(ioctl(v->fd, KVM_SET_MP_STATE, &mp), "KVM_SET_MP_STATE HALTED after the OUT");
	k.v = v;
	k.target = pthread_self();
	k.ms = amd ? 3000 : 10000;
	pthread_create(&th, NULL, kicker, &k);
	r = vcpu_run_ucall(v, &uc);
	k.cancel = true;
	pthread_join(th, NULL);
	v->run->immediate_exit = 0;
	ksft_test_result(r == UCALL_SYNC && uc.args[0] == 1 &&
			 uc.args[1] == (uint64_t)tf_out_a,
			 "HALTED vCPU runs for its queued #DB: one #DB, after the OUT (got %llu at %+lld)\n",
			 (unsigned long long)uc.args[0],
			 (long long)(uc.args[1] - (uint64_t)tf_out_a));
	/* A vCPU that stays halted would hang every later KVM_RUN. */
	if (r != UCALL_SYNC)
		ksft_exit_fail_msg("%s after %d ms: the owed #DB did not wake the vCPU",
				   woke ? "still halted" : "no ucall", k.ms);
	r = vcpu_run_ucall(v, &uc);
	ksft_test_result(r == UCALL_SYNC && (uc.args[0] & 0x4000),
			 "the #DB is a single step: DR6.BS (DR6 0x%llx)\n",
			 (unsigned long long)uc.args[0]);
	memset(&mp, 0xff, sizeof(mp));
	TEST_ASSERT(!ioctl(v->fd, KVM_GET_MP_STATE, &mp), "KVM_GET_MP_STATE");
	CHECK_EQ(mp.mp_state, KVM_MP_STATE_RUNNABLE, "it is RUNNABLE again");

	/* 2 */
	for (e = 0; e < NR_EVENTS; e++) {
		if (e == EV_ICEBP && !icebp)
			continue;
		for (;;) {
			r = vcpu_run_ucall(v, &uc);
			if (r == UCALL_SYNC && (uc.args[0] & ~0xfULL) == 0xbad0) {
				ksft_print_msg("%s: delivered %s", ev_name[uc.args[0] & 0xf],
					       uc.args[1] ? "elsewhere or not once" :
					       "right, but not exactly once");
				if (uc.args[1])
					ksft_print_msg("  return address %+lld from the expected",
						       (long long)uc.args[1]);
				continue;
			}
			break;
		}
		ksft_test_result(r == UCALL_SYNC && uc.args[0] == (uint64_t)e &&
				 uc.args[1] == PER_EVENT,
				 "%s whose delivery exits (fresh stack page): %llu of %d delivered once, right return address\n",
				 ev_name[e], (unsigned long long)uc.args[1], PER_EVENT);
	}
	ksft_test_result(vcpu_run_ucall(v, &uc) == UCALL_DONE, "guest done\n");
	{
		struct kvm_dirty_log log = { .slot = STACK_SLOT };
		uint64_t bits[2] = { 0 };
		int n = 0, i;

		log.dirty_bitmap = bits;
		TEST_ASSERT(!ioctl(vm->fd, KVM_GET_DIRTY_LOG, &log), "KVM_GET_DIRTY_LOG");
		for (i = 0; i < 128; i++)
			n += !!(bits[i / 64] & (1ULL << (i % 64)));
		ksft_test_result(n == events * PER_EVENT,
				 "every delivery wrote a page of its own (%d dirty pages)\n", n);
	}
	vcpu_free(v);
	kvm_vm_free(vm);
	return ksft_finished();
}
