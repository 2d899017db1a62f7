// SPDX-License-Identifier: GPL-2.0
/*
 * INIT and SIPI through the local APIC, and the MP states they move a
 * vCPU through (KVM_GET/SET_MP_STATE): with an in-kernel irqchip an AP
 * starts KVM_MP_STATE_UNINITIALIZED, KVM_RUN waits for an INIT and
 * returns -EAGAIN, INIT puts it into wait-for-SIPI (INIT_RECEIVED) with
 * its registers reset and its MSRs kept, a SIPI starts it in real mode at
 * vector * 0x1000, a second SIPI to a running CPU and an INIT de-assert
 * do nothing, an INIT to a running AP stops it again; the bad MP states.
 * The BSP sends them from the guest through the x2APIC ICR, as Linux
 * brings its APs up.
 *
 * Every expected value is what the distro kvm_amd/kvm_intel does.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#include "ckvm_util.h"

#define MSR_APIC_BASE	0x1b
#define APIC_BASE_EN	(1ULL << 11)
#define APIC_BASE_EXTD	(1ULL << 10)
#define X2APIC_SPIV	0x80f
#define X2APIC_ICR	0x830

#define ICR_INIT_ASSERT		0xc500	/* level trigger, assert, INIT */
#define ICR_INIT_DEASSERT	0x8500
#define ICR_SIPI		0x0600
#define SIPI_VECTOR		(CODE_GPA >> 12)	/* the AP starts at CODE_GPA */
#define AP_PORT			0x77
#define STAR_VALUE		0x0023001000000000ULL

/* ---- the AP: real mode at CODE_GPA ---- */

asm(".pushsection .text\n"
    ".code16\n"
    "ap_start:\n"
    "	mov $0x81, %ecx\n"		/* MSR_STAR = 0xc0000081 */
    "	or $0xc0000000, %ecx\n"
    "	xor %eax, %eax\n"
    "	mov $0x00230010, %edx\n"
    "	wrmsr\n"
    "	mov %cs, %ax\n"
    "	out %ax, $0x77\n"
    "1:	hlt\n"
    "	jmp 1b\n"
    "ap_end:\n"
    ".code64\n"
    ".popsection\n");
extern char ap_start[], ap_end[];

/* ---- the BSP ---- */

static void icr(uint64_t dest, uint32_t lo)
{
	wrmsr(X2APIC_ICR, dest << 32 | lo);
}

static void guest_bsp(void)
{
	wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | APIC_BASE_EN | APIC_BASE_EXTD);
	wrmsr(X2APIC_SPIV, 0x1ff);
	icr(1, ICR_INIT_ASSERT);
	icr(1, ICR_INIT_DEASSERT);
	GUEST_SYNC(1);
	icr(1, ICR_SIPI | SIPI_VECTOR);
	GUEST_SYNC(2);
	/* A second SIPI to a running AP, and an INIT de-assert: nothing. */
	icr(1, ICR_SIPI | (SIPI_VECTOR + 1));
	icr(1, ICR_INIT_DEASSERT);
	GUEST_SYNC(3);
	/* INIT again: the AP stops and waits for a SIPI. */
	icr(1, ICR_INIT_ASSERT);
	GUEST_SYNC(4);
	icr(1, ICR_SIPI | SIPI_VECTOR);
	GUEST_DONE();
}

/* ---- host ---- */

static uint32_t mp_state(struct kvm_vcpu *v)
{
	struct kvm_mp_state mp = { .mp_state = 0xdead };

	TEST_ASSERT(!ioctl(v->fd, KVM_GET_MP_STATE, &mp), "KVM_GET_MP_STATE");
	return mp.mp_state;
}

static int set_mp_state(struct kvm_vcpu *v, uint32_t state)
{
	struct kvm_mp_state mp = { .mp_state = state };

	return ioctl(v->fd, KVM_SET_MP_STATE, &mp);
}

static void sync_eq(struct kvm_vcpu *v, uint64_t want, const char *what)
{
	struct ucall uc;
	int r = vcpu_run_ucall(v, &uc);

	if (r != UCALL_SYNC) {
		ksft_test_result(false, "%s: no sync (ucall %d)\n", what, r);
		ksft_exit_fail_msg("the BSP stopped early\n");
	}
	CHECK_EQ(uc.args[0], want, "%s\n", what);
}

static uint64_t get_msr(struct kvm_vcpu *v, uint32_t index)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} m = { .h.nmsrs = 1, .e.index = index };

	TEST_ASSERT(ioctl(v->fd, KVM_GET_MSRS, &m) == 1, "KVM_GET_MSRS");
	return m.e.data;
}

static void on_alarm(int sig __attribute__((unused)))
{
}

/* KVM_RUN of an AP that waits for an INIT: ends with a signal, -EINTR. */
static void *kick_later(void *arg)
{
	usleep(200000);
	pthread_kill(*(pthread_t *)arg, SIGUSR1);
	return NULL;
}

static void test_api(void)
{
	struct kvm_vcpu *v0, *v1;
	struct kvm_vm *vm;
	struct kvm_sregs s;
	pthread_t self = pthread_self(), th;
	int r, e;

	/* Without an in-kernel irqchip every vCPU is runnable. */
	vm = vm_create_bare();
	v1 = vcpu_create(vm, 1);
	CHECK_EQ(mp_state(v1), KVM_MP_STATE_RUNNABLE, "no irqchip: an AP is RUNNABLE");
	CHECK_ERRNO(set_mp_state(v1, KVM_MP_STATE_INIT_RECEIVED), EINVAL,
		    "no irqchip: INIT_RECEIVED -> EINVAL");
	CHECK_ERRNO(set_mp_state(v1, KVM_MP_STATE_UNINITIALIZED), EINVAL,
		    "no irqchip: UNINITIALIZED -> EINVAL");
	vcpu_free(v1);
	kvm_vm_free(vm);

	vm = vm_create();
	TEST_ASSERT(!ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0), "KVM_CREATE_IRQCHIP");
	v0 = vcpu_create(vm, 0);
	v1 = vcpu_create(vm, 1);
	CHECK_EQ(mp_state(v0), KVM_MP_STATE_RUNNABLE, "the BSP starts RUNNABLE");
	CHECK_EQ(mp_state(v1), KVM_MP_STATE_UNINITIALIZED, "an AP starts UNINITIALIZED");
	CHECK_ERRNO(set_mp_state(v1, KVM_MP_STATE_STOPPED), EINVAL, "MP state STOPPED -> EINVAL");
	CHECK_ERRNO(set_mp_state(v1, 100), EINVAL, "MP state 100 -> EINVAL");
	CHECK_ERRNO(ioctl(v1->fd, KVM_SET_MP_STATE, NULL), EFAULT, "KVM_SET_MP_STATE NULL -> EFAULT");

	/* KVM_RUN of an UNINITIALIZED AP waits; a signal ends it (-EINTR). */
	signal(SIGUSR1, on_alarm);
	pthread_create(&th, NULL, kick_later, &self);
	errno = 0;
	r = ioctl(v1->fd, KVM_RUN, 0);
	e = errno;
	pthread_join(th, NULL);
	ksft_test_result(r == -1 && e == EINTR && v1->run->exit_reason == KVM_EXIT_INTR,
			 "KVM_RUN of an UNINITIALIZED AP waits for INIT; a signal ends it (%d %s)\n",
			 r, strerror(e));
	CHECK_EQ(mp_state(v1), KVM_MP_STATE_UNINITIALIZED, "still UNINITIALIZED after it");

	/* INIT_RECEIVED, then SIPI_RECEIVED: the SIPI (vector 0) is taken. */
	CHECK_OK(set_mp_state(v1, KVM_MP_STATE_INIT_RECEIVED), "KVM_SET_MP_STATE INIT_RECEIVED");
	CHECK_EQ(mp_state(v1), KVM_MP_STATE_INIT_RECEIVED, "reads back INIT_RECEIVED");
	CHECK_OK(set_mp_state(v1, KVM_MP_STATE_SIPI_RECEIVED), "KVM_SET_MP_STATE SIPI_RECEIVED");
	CHECK_EQ(mp_state(v1), KVM_MP_STATE_RUNNABLE,
		 "SIPI_RECEIVED: the pending SIPI starts it (RUNNABLE)");
	vcpu_get_sregs(v1, &s);
	CHECK_EQ(s.cs.selector, 0, "started at the SIPI vector of the vCPU (0): CS 0");
	CHECK_OK(set_mp_state(v1, KVM_MP_STATE_HALTED), "KVM_SET_MP_STATE HALTED");
	CHECK_OK(set_mp_state(v1, KVM_MP_STATE_AP_RESET_HOLD), "KVM_SET_MP_STATE AP_RESET_HOLD");
	CHECK_OK(set_mp_state(v1, KVM_MP_STATE_RUNNABLE), "KVM_SET_MP_STATE RUNNABLE");
	vcpu_free(v0);
	vcpu_free(v1);
	kvm_vm_free(vm);
}

static void test_bringup(void)
{
	struct kvm_vcpu *bsp, *ap;
	struct kvm_regs regs;
	struct kvm_sregs s;
	struct kvm_vm *vm;
	int r, e;

	vm = vm_create();
	TEST_ASSERT(!ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0), "KVM_CREATE_IRQCHIP");
	bsp = vcpu_add(vm, 0, guest_bsp);
	ap = vcpu_create(vm, 1);
	vcpu_set_cpuid_host(ap);
	vm_load_code(vm, CODE_GPA, ap_start, ap_end);

	sync_eq(bsp, 1, "BSP sent INIT (assert, de-assert)");
	/* KVM_RUN of the AP acts on the INIT and returns -EAGAIN (as KVM). */
	errno = 0;
	r = ioctl(ap->fd, KVM_RUN, 0);
	e = errno;
	ksft_test_result(r == -1 && e == EAGAIN,
			 "AP's KVM_RUN takes the INIT and returns -EAGAIN (%d %s)\n", r, strerror(e));
	CHECK_EQ(mp_state(ap), KVM_MP_STATE_INIT_RECEIVED, "AP after INIT: INIT_RECEIVED");
	vcpu_get_sregs(ap, &s);
	vcpu_get_regs(ap, &regs);
	ksft_test_result(s.cs.selector == 0xf000 && regs.rip == 0xfff0 && s.cr0 == 0x60000010 &&
			 !(s.efer & EFER_LME),
			 "AP after INIT: CS f000, RIP fff0, CR0 60000010, EFER.LME 0\n");

	sync_eq(bsp, 2, "BSP sent SIPI");
	CHECK_EQ(mp_state(ap), KVM_MP_STATE_RUNNABLE, "AP after SIPI: RUNNABLE");
	TEST_ASSERT(!vcpu_run(ap), "KVM_RUN");
	ksft_test_result(ap->run->exit_reason == KVM_EXIT_IO && ap->run->io.port == AP_PORT &&
			 *(uint16_t *)((char *)ap->run + ap->run->io.data_offset) == SIPI_VECTOR << 8,
			 "AP runs real mode at vector %#x: CS %#x (exit %s)\n", (unsigned int)SIPI_VECTOR,
			 *(uint16_t *)((char *)ap->run + ap->run->io.data_offset),
			 exit_reason_str(ap->run->exit_reason));
	vcpu_get_sregs(ap, &s);
	CHECK_EQ(s.cs.base, CODE_GPA, "AP's CS base: vector * 0x1000");
	CHECK_EQ(get_msr(ap, 0xc0000081), STAR_VALUE, "AP wrote MSR_STAR");

	sync_eq(bsp, 3, "BSP sent a second SIPI and an INIT de-assert");
	CHECK_EQ(mp_state(ap), KVM_MP_STATE_RUNNABLE, "running AP ignores them: RUNNABLE");
	vcpu_get_regs(ap, &regs);
	vcpu_get_sregs(ap, &s);
	CHECK_EQ(s.cs.base, CODE_GPA, "running AP ignores the second SIPI: CS base unchanged");

	sync_eq(bsp, 4, "BSP sent INIT to the running AP");
	CHECK_EQ(mp_state(ap), KVM_MP_STATE_INIT_RECEIVED, "INIT stops it: INIT_RECEIVED");
	vcpu_get_regs(ap, &regs);
	CHECK_EQ(regs.rip, 0xfff0, "INIT reset RIP");
	CHECK_EQ(get_msr(ap, 0xc0000081), STAR_VALUE, "INIT keeps MSR_STAR (SDM table 9-1)");
	{
		struct ucall uc;

		ksft_test_result(vcpu_run_ucall(bsp, &uc) == UCALL_DONE, "BSP done\n");
	}
	CHECK_EQ(mp_state(ap), KVM_MP_STATE_RUNNABLE, "and a SIPI starts it again");
	TEST_ASSERT(!vcpu_run(ap), "KVM_RUN");
	CHECK_EQ(ap->run->exit_reason, KVM_EXIT_IO, "AP runs again from the SIPI vector");
	vcpu_free(bsp);
	vcpu_free(ap);
	kvm_vm_free(vm);
}

int main(void)
{
	ksft_print_header();
	ksft_set_plan(37);
	kvm_open();
	test_api();
	test_bringup();
	return ksft_finished();
}
