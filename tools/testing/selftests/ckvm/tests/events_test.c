// SPDX-License-Identifier: GPL-2.0
/*
 * x86/events.c: KVM_GET/SET_VCPU_EVENTS (exceptions, interrupts, NMIs,
 * the interrupt shadow, the triple fault event), KVM_NMI, KVM_INTERRUPT
 * with request_interrupt_window, ready_for_interrupt_injection, if_flag
 * and KVM_EXIT_IRQ_WINDOW_OPEN, and KVM_GET/SET_SREGS's interrupt_bitmap.
 * Every event is checked where it lands: in the guest's IDT handler
 * (lib/guest_idt.h). Values measured on kvm_amd and kvm_intel.
 */
#include "ckvm_util.h"
#include "guest_idt.h"

#define VEC_USER	0x40

/* ---- guests ---- */

/* One turn per KVM_RUN: report the last vector, its error code, counts. */
static void guest_events(void)
{
	idt_install();
	for (;;)
		ucall(UCALL_SYNC, 4, idt_vector, idt_error, idt_count[2],
		      idt_count[VEC_USER]);
}

/*
 * NMI blocking: the host blocks NMIs and queues one; the guest reports
 * (still none), then IRETs, which unblocks them, and reports twice.
 */
static void guest_nmi_iret(void)
{
	idt_install();
	GUEST_SYNC(idt_count[2]);
	GUEST_SYNC(idt_count[2]);
	/* An IRET to the next instruction, as the end of an NMI handler. */
	asm volatile("mov %%ss, %%eax\n\t"
		     "push %%rax\n\t"
		     "push %%rsp\n\t"
		     "addq $8, (%%rsp)\n\t"
		     "pushf\n\t"
		     "mov %%cs, %%eax\n\t"
		     "push %%rax\n\t"
		     "lea 1f(%%rip), %%rax\n\t"
		     "push %%rax\n\t"
		     "iretq\n"
		     "1:" ::: "rax", "memory");
	GUEST_SYNC(idt_count[2]);
	GUEST_SYNC(idt_count[2]);
	GUEST_DONE();
}

/*
 * Interrupts from userspace's interrupt controller: IF=0 first (the
 * host sees it), then IF=1 in a loop that reports its count.
 */
static void guest_irq(void)
{
	idt_install();
	asm volatile("cli");
	GUEST_SYNC(0);
	asm volatile("sti");
	for (;;)
		GUEST_SYNC(idt_count[VEC_USER]);
}

/* ---- host ---- */

static struct kvm_vcpu_events get_events(struct kvm_vcpu *v)
{
	struct kvm_vcpu_events e;

	TEST_ASSERT(!ioctl(v->fd, KVM_GET_VCPU_EVENTS, &e), "KVM_GET_VCPU_EVENTS");
	return e;
}

static int set_events(struct kvm_vcpu *v, struct kvm_vcpu_events *e)
{
	return ioctl(v->fd, KVM_SET_VCPU_EVENTS, e);
}

static void test_events_ioctl(void)
{
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *v = vcpu_add(vm, 0, guest_events);
	struct kvm_vcpu_events e = get_events(v), t;
	const uint32_t base = KVM_VCPUEVENT_VALID_NMI_PENDING |
			      KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM;
	struct ucall uc;
	bool zero = true;

	for (unsigned int i = 0; i < sizeof(e.reserved); i++)
		zero &= !e.reserved[i];
	ksft_test_result(e.flags == base && !e.exception.injected && !e.interrupt.injected &&
			 !e.nmi.injected && !e.nmi.pending && !e.nmi.masked &&
			 !e.interrupt.shadow && !e.sipi_vector && zero,
			 "KVM_GET_VCPU_EVENTS after reset: flags NMI_PENDING|SHADOW|SMM, nothing pending\n");
	CHECK_OK(set_events(v, &e), "KVM_SET_VCPU_EVENTS of what it read");

	t = e;
	t.flags |= 0x100;
	CHECK_ERRNO(set_events(v, &t), EINVAL, "an unknown flag -> EINVAL");
	t = e;
	t.flags |= KVM_VCPUEVENT_VALID_PAYLOAD;
	CHECK_ERRNO(set_events(v, &t), EINVAL,
		    "KVM_VCPUEVENT_VALID_PAYLOAD without KVM_CAP_EXCEPTION_PAYLOAD -> EINVAL");
	t = e;
	t.exception.injected = 1;
	t.exception.nr = 32;
	CHECK_ERRNO(set_events(v, &t), EINVAL, "an exception vector above 31 -> EINVAL");
	t.exception.nr = 2;
	CHECK_ERRNO(set_events(v, &t), EINVAL, "NMI's vector as an exception -> EINVAL");
	t = e;
	t.flags |= KVM_VCPUEVENT_VALID_TRIPLE_FAULT;
	CHECK_ERRNO(set_events(v, &t), EINVAL,
		    "KVM_VCPUEVENT_VALID_TRIPLE_FAULT without the capability enabled -> EINVAL");
	if (is_ckvm()) {
		t = e;
		t.smi.smm = 1;
		CHECK_ERRNO(set_events(v, &t), EINVAL, "SMM state (ckvm has no SMM) -> EINVAL");
	} else {
		ksft_test_result_skip("SMM state: KVM has SMM and takes it; ckvm, without SMM, refuses it\n");
	}

	/* An exception with an error code, as a VMM restores one. */
	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "guest idle");
	t = get_events(v);
	t.exception.injected = 1;
	t.exception.nr = 13;
	t.exception.has_error_code = 1;
	t.exception.error_code = 0x1234;
	CHECK_OK(set_events(v, &t), "KVM_SET_VCPU_EVENTS: #GP(0x1234) injected");
	e = get_events(v);
	ksft_test_result(e.exception.injected && e.exception.nr == 13 &&
			 e.exception.has_error_code && e.exception.error_code == 0x1234,
			 "KVM_GET_VCPU_EVENTS reports it\n");
	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "guest");
	ksft_test_result(uc.args[0] == 13 && uc.args[1] == 0x1234,
			 "the guest's #GP handler gets it, error code 0x1234 (got %llu, 0x%llx)\n",
			 (unsigned long long)uc.args[0], (unsigned long long)uc.args[1]);
	e = get_events(v);
	ksft_test_result(!e.exception.injected, "delivered: no longer reported\n");

	/* The interrupt shadow. */
	t = get_events(v);
	t.interrupt.shadow = KVM_X86_SHADOW_INT_STI;
	CHECK_OK(set_events(v, &t), "KVM_SET_VCPU_EVENTS: STI shadow");
	e = get_events(v);
	ksft_test_result(e.interrupt.shadow & KVM_X86_SHADOW_INT_STI,
			 "KVM_GET_VCPU_EVENTS reports the shadow (0x%x)\n", e.interrupt.shadow);
	t.interrupt.shadow = 0;
	CHECK_OK(set_events(v, &t), "KVM_SET_VCPU_EVENTS: no shadow");
	CHECK_EQ(get_events(v).interrupt.shadow, 0, "the shadow is gone");

	/* An injected NMI goes to the guest's NMI handler. */
	t = get_events(v);
	t.nmi.injected = 1;
	CHECK_OK(set_events(v, &t), "KVM_SET_VCPU_EVENTS: NMI injected");
	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "guest");
	CHECK_EQ(uc.args[2], 1, "the guest took one NMI");

	/* KVM_NMI: one more. */
	CHECK_OK(ioctl(v->fd, KVM_NMI, 0), "KVM_NMI");
	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "guest");
	CHECK_EQ(uc.args[2], 2, "the guest took KVM_NMI's NMI");
	kvm_vm_free(vm);
}

static void test_nmi_blocking(void)
{
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *v = vcpu_add(vm, 0, guest_nmi_iret);
	struct kvm_vcpu_events e;
	struct ucall uc;

	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "guest start");
	e = get_events(v);
	e.nmi.masked = 1;
	CHECK_OK(set_events(v, &e), "KVM_SET_VCPU_EVENTS: NMIs blocked");
	CHECK_OK(ioctl(v->fd, KVM_NMI, 0), "KVM_NMI");
	CHECK_OK(ioctl(v->fd, KVM_NMI, 0), "KVM_NMI again");
	e = get_events(v);
	ksft_test_result(e.nmi.masked && e.nmi.pending == 1 && !e.nmi.injected,
			 "blocked: one NMI pending (the CPU latches one), none injected\n");
	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "guest");
	CHECK_EQ(uc.args[0], 0, "while blocked the guest takes no NMI");
	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "guest after IRET");
	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "guest after IRET");
	CHECK_EQ(uc.args[0], 1, "its IRET unblocks NMIs: the latched one arrives, once");
	e = get_events(v);
	ksft_test_result(!e.nmi.pending, "nothing pending any more\n");
	kvm_vm_free(vm);
}

static void test_triple_fault(void)
{
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *v = vcpu_add(vm, 0, guest_events);
	struct kvm_enable_cap cap = { .cap = KVM_CAP_X86_TRIPLE_FAULT_EVENT, .args = { 1 } };
	struct kvm_vcpu_events e;
	struct ucall uc;

	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "guest start");
	CHECK_OK(ioctl(vm->fd, KVM_ENABLE_CAP, &cap), "KVM_ENABLE_CAP(KVM_CAP_X86_TRIPLE_FAULT_EVENT)");
	e = get_events(v);
	ksft_test_result((e.flags & KVM_VCPUEVENT_VALID_TRIPLE_FAULT) && !e.triple_fault.pending,
			 "KVM_GET_VCPU_EVENTS: VALID_TRIPLE_FAULT, none pending\n");
	e.flags |= KVM_VCPUEVENT_VALID_TRIPLE_FAULT;
	e.triple_fault.pending = 1;
	CHECK_OK(set_events(v, &e), "KVM_SET_VCPU_EVENTS: triple fault pending");
	ksft_test_result(get_events(v).triple_fault.pending, "reported pending\n");
	ksft_test_result(vcpu_run(v) == 0 && v->run->exit_reason == KVM_EXIT_SHUTDOWN,
			 "the next KVM_RUN exits with KVM_EXIT_SHUTDOWN (got %s)\n",
			 exit_reason_str(v->run->exit_reason));
	ksft_test_result(!get_events(v).triple_fault.pending, "no longer pending\n");
	kvm_vm_free(vm);
}

static void test_userspace_irq(void)
{
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *v = vcpu_add(vm, 0, guest_irq);
	struct kvm_run *run = v->run;
	struct kvm_interrupt irq = { .irq = 256 };
	struct kvm_vcpu_events e;
	struct kvm_sregs s;
	struct ucall uc;
	int r;

	CHECK_ERRNO(ioctl(v->fd, KVM_INTERRUPT, &irq), EINVAL, "KVM_INTERRUPT vector 256 -> EINVAL");
	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "guest with IF=0");
	ksft_test_result(!run->if_flag && !run->ready_for_interrupt_injection,
			 "IF=0: if_flag 0, ready_for_interrupt_injection 0\n");

	/* A queued interrupt shows in KVM_GET_SREGS and KVM_GET_VCPU_EVENTS. */
	irq.irq = VEC_USER + 1;
	CHECK_OK(ioctl(v->fd, KVM_INTERRUPT, &irq), "KVM_INTERRUPT while IF=0");
	vcpu_get_sregs(v, &s);
	e = get_events(v);
	ksft_test_result((s.interrupt_bitmap[(VEC_USER + 1) / 64] >> ((VEC_USER + 1) % 64)) & 1 &&
			 e.interrupt.injected && e.interrupt.nr == VEC_USER + 1,
			 "it is in KVM_GET_SREGS's interrupt_bitmap and KVM_GET_VCPU_EVENTS\n");
	memset(s.interrupt_bitmap, 0, sizeof(s.interrupt_bitmap));
	s.interrupt_bitmap[VEC_USER / 64] |= 1ULL << (VEC_USER % 64);
	vcpu_set_sregs(v, &s);
	e = get_events(v);
	ksft_test_result(e.interrupt.injected && e.interrupt.nr == VEC_USER,
			 "KVM_SET_SREGS's interrupt_bitmap replaces it\n");
	e.interrupt.injected = 0;
	CHECK_OK(set_events(v, &e), "KVM_SET_VCPU_EVENTS drops it");

	/* The guest sets IF: the window opens. */
	run->request_interrupt_window = 1;
	r = vcpu_run(v);
	ksft_test_result(r == 0 && run->exit_reason == KVM_EXIT_IRQ_WINDOW_OPEN &&
			 run->ready_for_interrupt_injection && run->if_flag,
			 "request_interrupt_window: KVM_EXIT_IRQ_WINDOW_OPEN once IF=1, ready 1, if_flag 1 (exit %s)\n",
			 exit_reason_str(run->exit_reason));
	run->request_interrupt_window = 0;
	irq.irq = VEC_USER;
	CHECK_OK(ioctl(v->fd, KVM_INTERRUPT, &irq), "KVM_INTERRUPT");
	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "guest");
	CHECK_EQ(uc.args[0], 1, "the guest's handler took the interrupt, once");
	ksft_test_result(run->ready_for_interrupt_injection && run->if_flag,
			 "after the exit: ready_for_interrupt_injection 1, if_flag 1\n");
	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "guest");
	CHECK_EQ(uc.args[0], 1, "no second delivery");
	kvm_vm_free(vm);

	/* With the in-kernel irqchip: the PIC is the kernel's. */
	vm = vm_create();
	TEST_ASSERT(!ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0), "KVM_CREATE_IRQCHIP");
	v = vcpu_add(vm, 0, guest_irq);
	irq.irq = VEC_USER;
	CHECK_ERRNO(ioctl(v->fd, KVM_INTERRUPT, &irq), ENXIO,
		    "KVM_INTERRUPT with an in-kernel irqchip -> ENXIO");
	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "guest");
	ksft_test_result(v->run->ready_for_interrupt_injection,
			 "with an in-kernel irqchip ready_for_interrupt_injection is 1\n");
	kvm_vm_free(vm);
}

int main(void)
{
	ksft_print_header();
	ksft_set_plan(20 + 7 + 6 + 13);
	test_events_ioctl();
	test_nmi_blocking();
	test_triple_fault();
	test_userspace_irq();
	return ksft_finished();
}
