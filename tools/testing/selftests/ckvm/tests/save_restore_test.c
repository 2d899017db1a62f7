// SPDX-License-Identifier: GPL-2.0
/*
 * Save and restore a running guest, as QEMU migrates one: every piece of
 * vCPU state (registers, SREGS2, XSAVE, XCRs, MSRs of
 * KVM_GET_MSR_INDEX_LIST, events, debug registers, MP state) and the
 * VM's clock are read, a second VM gets the guest's memory and all of
 * it, in QEMU's order, and the guest carries on there: its SSE and AVX
 * registers, XCR0, debug registers and watchpoint, syscall MSRs, TSC and
 * kvmclock must be as it left them, and an NMI pending at the save is
 * taken there. As QEMU, the VMs have the in-kernel irqchip (the local
 * APIC moves too), and a KVM_RUN with immediate_exit completes the
 * guest's pending OUT before the save. Then the state read back from the
 * second VM must equal what was restored.
 */
#include "ckvm_util.h"
#include "guest_idt.h"
#include <asm/kvm_para.h>
#include "pvclock.h"
#include <signal.h>

#define NSEC_PER_SEC	1000000000ULL
#define DR7_RESET	0x400ULL
#define MSR_IA32_TSC	0x10
#define HV_X64_MSR_VP_RUNTIME		0x40000010
#define HV_X64_MSR_TIME_REF_COUNT	0x40000020

volatile uint32_t watch;
volatile uint64_t have_avx, g_step;

/* ---- guest ---- */

static void guest_code(uint64_t pvti_gpa)
{
	volatile struct pvclock_vcpu_time_info *p = (void *)pvti_gpa;
	uint64_t x[4] = { 0x1111111122222222ULL, 0x3333333344444444ULL,
			  0x5555555566666666ULL, 0x7777777788888888ULL };
	uint64_t y[4], ns0, ns1, tsc0, tsc1, before;
	uint64_t dr0, dr7;

	idt_install();
	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, pvti_gpa | KVM_MSR_ENABLED);
	/* State to carry over. */
	/*
	 * The host set CR4.OSXSAVE and XCR0 = 7 for AVX: QEMU's TCG runs a
	 * guest's XSETBV itself whatever the intercept says, so the
	 * hypervisor would never learn of an XCR0 the guest sets.
	 */
	if (have_avx) {
		uint32_t lo, hi;

		asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
		GUEST_ASSERT_EQ(lo, 7);
		asm volatile("vmovdqu %0, %%ymm5" : : "m"(x));
	} else {
		asm volatile("movdqu %0, %%xmm5" : : "m"(x));
	}
	asm volatile("mov %0, %%dr0" : : "r"((uint64_t)&watch));
	asm volatile("mov %0, %%dr3" : : "r"(0x3000ULL));
	asm volatile("mov %0, %%dr7" : : "r"(DR7_RESET | 1 | (1ULL << 16) | (3ULL << 18)));
	wrmsr(MSR_LSTAR, 0xffffffff81000000ULL);
	wrmsr(MSR_KERNEL_GS_BASE, 0xffff888000001000ULL);
	wrmsr(MSR_STAR, 0x0023001000000000ULL);
	ns0 = pvclock_read(p, NULL);
	tsc0 = g_rdtsc();

	GUEST_SYNC(1);		/* the host moves us to another VM here */

	g_step = 1;
	tsc1 = g_rdtsc();
	ns1 = pvclock_read(p, NULL);
	g_step = 2;
	if (have_avx)
		asm volatile("vmovdqu %%ymm5, %0" : "=m"(y));
	else
		asm volatile("movdqu %%xmm5, %0" : "=m"(y));
	GUEST_ASSERT_EQ(y[0], x[0]);
	GUEST_ASSERT_EQ(y[1], x[1]);
	if (have_avx) {
		uint32_t lo, hi;

		GUEST_ASSERT_EQ(y[2], x[2]);
		GUEST_ASSERT_EQ(y[3], x[3]);
		asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
		GUEST_ASSERT_EQ(lo, 7);
	}
	asm volatile("mov %%dr0, %0" : "=r"(dr0));
	asm volatile("mov %%dr7, %0" : "=r"(dr7));
	GUEST_ASSERT_EQ(dr0, (uint64_t)&watch);
	GUEST_ASSERT_EQ(dr7, DR7_RESET | 1 | (1ULL << 16) | (3ULL << 18));
	GUEST_ASSERT_EQ(rdmsr(MSR_LSTAR), 0xffffffff81000000ULL);
	GUEST_ASSERT_EQ(rdmsr(MSR_KERNEL_GS_BASE), 0xffff888000001000ULL);
	GUEST_ASSERT_EQ(rdmsr(MSR_STAR), 0x0023001000000000ULL);
	GUEST_ASSERT(tsc1 > tsc0);
	GUEST_ASSERT(ns1 >= ns0);
	/* The watchpoint is armed in the new VM: a write to watch traps. */
	g_step = 3;
	before = idt_count[1];
	watch = 1;
	g_step = 4;
	ucall(UCALL_SYNC, 3, 2, idt_count[1] - before, idt_count[2]);
	GUEST_DONE();
}

/* ---- host ---- */

static bool emulator_is_qemu(void)
{
	const char *e = getenv("ckvm_emulator");

	return e && !strncmp(e, "qemu", 4);
}

struct state {
	struct kvm_regs regs;
	struct kvm_sregs2 sregs2;
	struct kvm_xcrs xcrs;
	struct kvm_vcpu_events events;
	struct kvm_debugregs dregs;
	struct kvm_mp_state mp;
	struct kvm_lapic_state lapic;
	struct kvm_clock_data clock;
	void *xsave;
	int xsave_size;
	struct kvm_msrs *msrs;
};

static struct kvm_msrs *msr_list_buf(void)
{
	int kvm = kvm_open();
	struct kvm_msr_list hdr = { .nmsrs = 0 }, *list;
	struct kvm_msrs *m;
	uint32_t i;

	TEST_ASSERT(ioctl(kvm, KVM_GET_MSR_INDEX_LIST, &hdr) == -1 && errno == E2BIG, "E2BIG");
	list = calloc(1, sizeof(*list) + hdr.nmsrs * 4);
	list->nmsrs = hdr.nmsrs;
	TEST_ASSERT(!ioctl(kvm, KVM_GET_MSR_INDEX_LIST, list), "KVM_GET_MSR_INDEX_LIST");
	m = calloc(1, sizeof(*m) + list->nmsrs * sizeof(m->entries[0]));
	m->nmsrs = list->nmsrs;
	for (i = 0; i < list->nmsrs; i++)
		m->entries[i].index = list->indices[i];
	free(list);
	close(kvm);
	return m;
}

/*
 * KVM finishes an I/O exit (RIP past the OUT) only at the next KVM_RUN:
 * run once with immediate_exit first, as QEMU does before it saves.
 */
static bool complete_io(struct kvm_vcpu *v)
{
	int r;

	v->run->immediate_exit = 1;
	r = ioctl(v->fd, KVM_RUN, 0);
	v->run->immediate_exit = 0;
	return r == -1 && errno == EINTR;
}

static bool save(struct kvm_vcpu *v, struct state *s)
{
	bool ok = true;

	s->xsave_size = kvm_check_cap(KVM_CAP_XSAVE2);
	if (s->xsave_size < (int)sizeof(struct kvm_xsave))
		s->xsave_size = sizeof(struct kvm_xsave);
	s->xsave = calloc(1, s->xsave_size);
	s->msrs = msr_list_buf();
	ok &= !ioctl(v->fd, KVM_GET_VCPU_EVENTS, &s->events);
	ok &= !ioctl(v->fd, KVM_GET_MP_STATE, &s->mp);
	ok &= !ioctl(v->fd, KVM_GET_LAPIC, &s->lapic);
	ok &= !ioctl(v->fd, KVM_GET_REGS, &s->regs);
	ok &= !ioctl(v->fd, KVM_GET_XSAVE2, s->xsave);
	ok &= !ioctl(v->fd, KVM_GET_XCRS, &s->xcrs);
	ok &= !ioctl(v->fd, KVM_GET_SREGS2, &s->sregs2);
	ok &= ioctl(v->fd, KVM_GET_MSRS, s->msrs) == (int)s->msrs->nmsrs;
	ok &= !ioctl(v->fd, KVM_GET_DEBUGREGS, &s->dregs);
	ok &= !ioctl(v->vm->fd, KVM_GET_CLOCK, &s->clock);
	return ok;
}

/* QEMU's order (kvm_arch_put_registers), the clock first as its kvmclock device. */
static bool restore(struct kvm_vcpu *v, struct state *s)
{
	struct kvm_clock_data clock = s->clock;
	bool ok = true;

	clock.flags &= KVM_CLOCK_REALTIME;
	ok &= !ioctl(v->vm->fd, KVM_SET_CLOCK, &clock);
	ok &= !ioctl(v->fd, KVM_SET_SREGS2, &s->sregs2);
	ok &= !ioctl(v->fd, KVM_SET_REGS, &s->regs);
	ok &= !ioctl(v->fd, KVM_SET_XSAVE, s->xsave);
	ok &= !ioctl(v->fd, KVM_SET_XCRS, &s->xcrs);
	ok &= ioctl(v->fd, KVM_SET_MSRS, s->msrs) == (int)s->msrs->nmsrs;
	ok &= !ioctl(v->fd, KVM_SET_VCPU_EVENTS, &s->events);
	ok &= !ioctl(v->fd, KVM_SET_MP_STATE, &s->mp);
	ok &= !ioctl(v->fd, KVM_SET_LAPIC, &s->lapic);
	ok &= !ioctl(v->fd, KVM_SET_DEBUGREGS, &s->dregs);
	return ok;
}

static void on_alarm(int sig __attribute__((unused)))
{
}

/*
 * The first KVM_RUN in the new VM, stopped by SIGALRM if the guest does
 * not come back within 30 s, to say where it is rather than hang.
 */
static int run_bounded(struct kvm_vcpu *v, struct ucall *uc)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct kvm_regs regs;
	int r;

	sigaction(SIGALRM, &sa, NULL);	/* no SA_RESTART: KVM_RUN -> EINTR */
	alarm(30);
	r = ioctl(v->fd, KVM_RUN, 0);
	alarm(0);
	if (r == -1 && errno == EINTR) {
		sync_global_from_guest(v->vm, g_step);
		sync_global_from_guest(v->vm, idt_count);
		vcpu_get_regs(v, &regs);
		sync_global_from_guest(v->vm, idt_vector);
		sync_global_from_guest(v->vm, idt_rip);
		ksft_print_msg("the guest did not come back in 30 s: RIP 0x%llx, step %llu, last vector %llu at 0x%llx (%llu times)",
			       (unsigned long long)regs.rip, (unsigned long long)g_step,
			       (unsigned long long)idt_vector, (unsigned long long)idt_rip,
			       (unsigned long long)idt_count[idt_vector & 0xff]);
		{
			struct kvm_sregs sr;
			struct kvm_xcrs x;

			vcpu_get_sregs(v, &sr);
			ioctl(v->fd, KVM_GET_XCRS, &x);
			ksft_print_msg("CR0 0x%llx CR4 0x%llx XCR0 0x%llx (%u xcrs)", (unsigned long long)sr.cr0,
				       (unsigned long long)sr.cr4, (unsigned long long)x.xcrs[0].value, x.nr_xcrs);
		}
		return UCALL_NONE;
	}
	r = get_ucall(v, uc);
	if (r == UCALL_ABORT)
		ksft_print_msg("guest assertion failed at %s:%llu: %s (0x%llx vs 0x%llx)",
			       uc->file, (unsigned long long)uc->line, uc->expr,
			       (unsigned long long)uc->args[0], (unsigned long long)uc->args[1]);
	else if (r == UCALL_NONE)
		ksft_print_msg("exit %s", exit_reason_str(v->run->exit_reason));
	return r;
}

static bool have_avx_host(void)
{
	struct kvm_cpuid2 *c = kvm_get_supported_cpuid();
	bool avx = false;

	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == 1)
			avx = (c->entries[i].ecx & (1 << 28)) && (c->entries[i].ecx & (1 << 26));
	free(c);
	return avx;
}

int main(void)
{
	struct kvm_vm *vm, *vm2;
	struct kvm_vcpu *v, *v2;
	struct state s, t;
	uint64_t pvti;
	struct ucall uc;
	uint32_t i;
	bool same;

	ksft_print_header();
	ksft_set_plan(15);
	/* As QEMU: the in-kernel irqchip, so the local APIC moves too. */
	vm = vm_create();
	TEST_ASSERT(!ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0), "KVM_CREATE_IRQCHIP");
	v = vcpu_add(vm, 0, guest_code);
	pvti = vm_alloc_pages(vm, 1);
	vcpu_args_set(v, 1, pvti);
	have_avx = have_avx_host();
	sync_global_to_guest(vm, have_avx);
	ksft_print_msg("guest uses %s", have_avx ? "AVX (ymm5, XCR0 7)" : "SSE (xmm5)");

	/*
	 * A TSC far from a new VM's: KVM takes a KVM_SET_MSRS of IA32_TSC
	 * within a second of the VM's last TSC write for a vCPU being
	 * synchronized to it, and would keep the new VM's offset.
	 */
	{
		struct {
			struct kvm_msrs hdr;
			struct kvm_msr_entry e;
		} m = { .hdr.nmsrs = 1, .e = { .index = MSR_IA32_TSC, .data = 1ULL << 40 } };

		TEST_ASSERT(ioctl(v->fd, KVM_SET_MSRS, &m) == 1, "IA32_TSC");
	}
	if (have_avx) {
		struct kvm_xcrs xcrs = { .nr_xcrs = 1, .xcrs[0].value = 7 };
		struct kvm_sregs sr;

		vcpu_get_sregs(v, &sr);
		sr.cr4 |= X86_CR4_OSXSAVE;
		vcpu_set_sregs(v, &sr);
		TEST_ASSERT(!ioctl(v->fd, KVM_SET_XCRS, &xcrs), "KVM_SET_XCRS");
	}
	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC && uc.args[0] == 1, "guest set up");
	ksft_test_result(complete_io(v), "KVM_RUN with immediate_exit completes the guest's OUT\n");
	/* An NMI in flight: it must move with the events. */
	TEST_ASSERT(!ioctl(v->fd, KVM_NMI), "KVM_NMI");
	ksft_test_result(save(v, &s), "every state ioctl reads the running guest\n");
	CHECK_EQ(s.events.nmi.pending, 1, "KVM_GET_VCPU_EVENTS has the pending NMI");
	ksft_print_msg("saved: %u xcrs, XCR0 0x%llx, CR4 0x%llx", s.xcrs.nr_xcrs,
		       (unsigned long long)s.xcrs.xcrs[0].value, (unsigned long long)s.sregs2.cr4);

	/* A second VM with the guest's memory. */
	vm2 = vm_create();
	TEST_ASSERT(!ioctl(vm2->fd, KVM_CREATE_IRQCHIP, 0), "KVM_CREATE_IRQCHIP");
	memcpy(addr_gpa2hva(vm2, 0), addr_gpa2hva(vm, 0), MAIN_MEM_SIZE);
	vm2->alloc_next = vm->alloc_next;
	v2 = vcpu_create(vm2, 0);
	vcpu_set_cpuid_host(v2);
	ksft_test_result(restore(v2, &s), "every state ioctl takes it in a new VM\n");

	/* Read back from the new VM: what was restored. */
	ksft_test_result(save(v2, &t), "and reads it back\n");
	CHECK_OK(memcmp(&s.regs, &t.regs, sizeof(s.regs)) ? -1 : 0, "KVM_GET_REGS the same");
	CHECK_OK(memcmp(&s.sregs2, &t.sregs2, sizeof(s.sregs2)) ? -1 : 0, "KVM_GET_SREGS2 the same");
	CHECK_OK(memcmp(s.xsave, t.xsave, s.xsave_size) ? -1 : 0, "KVM_GET_XSAVE2 the same");
	CHECK_OK(memcmp(&s.dregs, &t.dregs, sizeof(s.dregs)) ? -1 : 0, "KVM_GET_DEBUGREGS the same");
	same = true;
	for (i = 0; i < s.msrs->nmsrs; i++) {
		uint32_t idx = s.msrs->entries[i].index;

		/*
		 * The TSC kept counting (the guest checks it), and so did
		 * the Hyper-V counters that KVM lists (run time, reference).
		 */
		if (idx == MSR_IA32_TSC || idx == HV_X64_MSR_VP_RUNTIME ||
		    idx == HV_X64_MSR_TIME_REF_COUNT)
			continue;
		if (s.msrs->entries[i].data != t.msrs->entries[i].data) {
			ksft_print_msg("MSR 0x%x: 0x%llx, then 0x%llx", idx,
				       (unsigned long long)s.msrs->entries[i].data,
				       (unsigned long long)t.msrs->entries[i].data);
			same = false;
		}
	}
	ksft_test_result(same, "every MSR of the list the same\n");
	CHECK_OK(memcmp(&s.lapic, &t.lapic, sizeof(s.lapic)) ? -1 : 0, "KVM_GET_LAPIC the same");
	ksft_test_result(!memcmp(&s.events, &t.events, sizeof(s.events)) &&
			 s.mp.mp_state == t.mp.mp_state && !memcmp(&s.xcrs, &t.xcrs, sizeof(s.xcrs)),
			 "events, MP state and XCRs the same\n");

	kvm_vm_free(vm);
	TEST_ASSERT(run_bounded(v2, &uc) == UCALL_SYNC, "guest in the new VM");
	CHECK_EQ(uc.args[2], 1, "the NMI pending at the save is taken in the new VM");
	if (uc.args[0] != 2)
		ksft_print_msg("guest SYNC %llu, want 2", (unsigned long long)uc.args[0]);
	ksft_test_result(uc.args[0] == 2, "the guest finds its registers, XCR0, DRs, MSRs, TSC and clock\n");
	/* QEMU does not arm a DR7 that VMRUN loads: see debugregs_test.c. */
	if (uc.args[1] == 0 && emulator_is_qemu())
		ksft_test_result_skip("its watchpoint fires in the new VM: QEMU does not arm a DR7 that VMRUN loads\n");
	else
		CHECK_EQ(uc.args[1], 1, "its watchpoint fires in the new VM");
	kvm_vm_free(vm2);
	return ksft_finished();
}
