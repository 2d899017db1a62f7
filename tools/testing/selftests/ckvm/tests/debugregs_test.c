// SPDX-License-Identifier: GPL-2.0
/*
 * x86/debugreg.c: KVM_GET/SET_DEBUGREGS, and the guest's debug registers
 * really in the CPU while it runs: a data breakpoint set from userspace
 * fires in the guest, one the guest sets itself fires too, single-step
 * sets DR6.BS for the guest's #DB handler, values written by the guest
 * are what KVM_GET_DEBUGREGS reads, every #DB of the guest is an exit
 * (reflected into it; the intercept that keeps a #DB loop from holding
 * the host CPU), the guest's own DR7.GD raises #DB and its delivery
 * clears GD, and the host's own hardware breakpoint (perf) still
 * fires after the guest ran with its own.
 */
#include "ckvm_util.h"
#include "guest_idt.h"
#include <linux/hw_breakpoint.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>

#define DR6_RESET	0xffff0ff0ULL
#define DR7_RESET	0x400ULL
#define DR6_BS		(1ULL << 14)
#define DR6_BD		(1ULL << 13)
#define DR7_GD		(1ULL << 13)

/* DR7 for a 4-byte write watchpoint in slot @n, local enable. */
static uint64_t dr7_write_watch(int n)
{
	return DR7_RESET | (1ULL << (2 * n)) | (1ULL << (16 + 4 * n)) |
	       (3ULL << (18 + 4 * n));
}

volatile uint32_t watch0, watch2;
volatile uint64_t host_var;

/* ---- guest ---- */

static uint64_t rd_dr(int n)
{
	uint64_t v = 0;

	switch (n) {
	case 0:
		asm volatile("mov %%dr0, %0" : "=r"(v));
		break;
	case 1:
		asm volatile("mov %%dr1, %0" : "=r"(v));
		break;
	case 2:
		asm volatile("mov %%dr2, %0" : "=r"(v));
		break;
	case 3:
		asm volatile("mov %%dr3, %0" : "=r"(v));
		break;
	case 6:
		asm volatile("mov %%dr6, %0" : "=r"(v));
		break;
	case 7:
		asm volatile("mov %%dr7, %0" : "=r"(v));
		break;
	}
	return v;
}

static void guest_code(void)
{
	uint64_t before;

	idt_install();
	/* 1: what userspace set, read by MOV from DR. */
	ucall(UCALL_SYNC, 6, rd_dr(0), rd_dr(1), rd_dr(2), rd_dr(3), rd_dr(6), rd_dr(7));
	/* 2: write DR1 and DR3; userspace reads them. */
	asm volatile("mov %0, %%dr1" : : "r"(0x1111000ULL));
	asm volatile("mov %0, %%dr3" : : "r"(0x3333000ULL));
	GUEST_SYNC(2);
	/* 3: userspace set a write watchpoint on watch0 with DR0. */
	before = idt_count[1];
	watch0 = 1;
	ucall(UCALL_SYNC, 4, idt_count[1] - before, idt_dr6, idt_rip, 3);
	/* 4: our own watchpoint on watch2 with DR2, across an exit. */
	asm volatile("mov %0, %%dr2" : : "r"((uint64_t)&watch2));
	asm volatile("mov %0, %%dr7" : : "r"(dr7_write_watch(0) | dr7_write_watch(2)));
	GUEST_SYNC(4);
	before = idt_count[1];
	watch2 = 1;
	ucall(UCALL_SYNC, 3, idt_count[1] - before, idt_dr6, 5);
	/* 5: single-step one instruction. */
	asm volatile("mov %0, %%dr7" : : "r"(DR7_RESET));
	idt_clear_tf = 1;
	before = idt_count[1];
	asm volatile("pushf\n\t"
		     "orq $0x100, (%%rsp)\n\t"
		     "popf\n\t"
		     "nop" ::: "memory", "cc");
	ucall(UCALL_SYNC, 2, idt_count[1] - before, idt_dr6);
	/*
	 * 6: every #DB the guest takes is an exit (CVE-2015-8104): 100 NOPs
	 * without TF, then single-stepped (103 #DBs: the NOPs, PUSHF, AND,
	 * and the POPF that clears TF).
	 */
	GUEST_SYNC(6);
	asm volatile(".rept 100\n\tnop\n\t.endr" ::: "memory");
	GUEST_SYNC(7);
	idt_clear_tf = 0;
	before = idt_count[1];
	asm volatile("pushf\n\t"
		     "orq $0x100, (%%rsp)\n\t"
		     "popf\n\t"
		     ".rept 100\n\tnop\n\t.endr\n\t"
		     "pushf\n\t"
		     "andq $~0x100, (%%rsp)\n\t"
		     "popf" ::: "memory", "cc");
	GUEST_SYNC(idt_count[1] - before);
	/*
	 * 7: the guest's own DR7.GD: its next MOV DR is a #DB (BD), whose
	 * delivery clears GD so that the handler can use DR6 itself.
	 */
	before = idt_count[1];
	asm volatile("mov %0, %%dr7" : : "r"(DR7_RESET | DR7_GD));
	rd_dr(0);
	ucall(UCALL_SYNC, 3, idt_count[1] - before, idt_dr6, rd_dr(7));
	GUEST_DONE();
}

/* ---- host ---- */

/* The emulator the test machine runs on ($ckvm_emulator, testing.rst). */
static bool emulator_is_qemu(void)
{
	const char *e = getenv("ckvm_emulator");

	return e && !strncmp(e, "qemu", 4);
}

static struct kvm_debugregs get_dr(struct kvm_vcpu *v)
{
	struct kvm_debugregs d;

	TEST_ASSERT(!ioctl(v->fd, KVM_GET_DEBUGREGS, &d), "KVM_GET_DEBUGREGS");
	return d;
}

static int perf_watch(volatile void *addr)
{
	struct perf_event_attr pe = {
		.type = PERF_TYPE_BREAKPOINT,
		.size = sizeof(pe),
		.bp_type = HW_BREAKPOINT_W,
		.bp_addr = (uint64_t)addr,
		.bp_len = HW_BREAKPOINT_LEN_8,
		.exclude_kernel = 1,
		.exclude_hv = 1,
	};

	return syscall(__NR_perf_event_open, &pe, 0, -1, -1, 0);
}

int main(void)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *v;
	struct kvm_debugregs d, t;
	struct ucall uc;
	uint64_t count, e0, e1, e2;
	int pfd;

	ksft_print_header();
	ksft_set_plan(25);
	TEST_ASSERT(kvm_check_cap(KVM_CAP_DEBUGREGS), "KVM_CAP_DEBUGREGS");
	vm = vm_create();
	v = vcpu_add(vm, 0, guest_code);

	d = get_dr(v);
	ksft_test_result(!d.db[0] && !d.db[1] && !d.db[2] && !d.db[3] &&
			 d.dr6 == DR6_RESET && d.dr7 == DR7_RESET && !d.flags,
			 "KVM_GET_DEBUGREGS after reset: DR0-3 0, DR6 0x%llx, DR7 0x%llx\n",
			 (unsigned long long)d.dr6, (unsigned long long)d.dr7);
	t = d;
	t.flags = 1;
	CHECK_ERRNO(ioctl(v->fd, KVM_SET_DEBUGREGS, &t), EINVAL, "KVM_SET_DEBUGREGS flags -> EINVAL");
	t = d;
	t.dr6 |= 1ULL << 32;
	CHECK_ERRNO(ioctl(v->fd, KVM_SET_DEBUGREGS, &t), EINVAL, "DR6 bit 32 -> EINVAL");
	t = d;
	t.dr7 |= 1ULL << 32;
	CHECK_ERRNO(ioctl(v->fd, KVM_SET_DEBUGREGS, &t), EINVAL, "DR7 bit 32 -> EINVAL");
	CHECK_EQ(get_dr(v).dr7, DR7_RESET, "nothing changed by the refused ones");

	t = d;
	t.db[0] = 0x10000;
	t.db[1] = 0x20000;
	t.db[2] = 0x30000;
	t.db[3] = 0xffff800000001000ULL;
	t.dr7 = DR7_RESET;	/* all disabled */
	CHECK_OK(ioctl(v->fd, KVM_SET_DEBUGREGS, &t), "KVM_SET_DEBUGREGS DR0-3");
	d = get_dr(v);
	ksft_test_result(!memcmp(d.db, t.db, sizeof(d.db)) && d.dr6 == t.dr6 && d.dr7 == t.dr7,
			 "KVM_GET_DEBUGREGS reads them back\n");

	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "guest reads DRs");
	ksft_test_result(uc.args[0] == t.db[0] && uc.args[1] == t.db[1] &&
			 uc.args[2] == t.db[2] && uc.args[3] == t.db[3],
			 "the guest's MOV from DR0-3 reads them\n");
	CHECK_EQ(uc.args[4], DR6_RESET, "the guest's DR6");
	CHECK_EQ(uc.args[5], DR7_RESET, "the guest's DR7");

	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "guest writes DR1, DR3");
	d = get_dr(v);
	ksft_test_result(d.db[1] == 0x1111000 && d.db[3] == 0x3333000 &&
			 d.db[0] == t.db[0] && d.db[2] == t.db[2],
			 "KVM_GET_DEBUGREGS reads the guest's writes of DR1 and DR3\n");

	/* A write watchpoint from userspace fires in the guest. */
	d.db[0] = (uint64_t)&watch0;
	d.dr7 = dr7_write_watch(0);
	CHECK_OK(ioctl(v->fd, KVM_SET_DEBUGREGS, &d), "KVM_SET_DEBUGREGS: write watchpoint in DR0");
	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "guest writes watch0");
	/*
	 * QEMU's VMRUN takes DR7 from the VMCB without arming its
	 * watchpoints (target/i386/tcg/sysemu/svm_helper.c assigns
	 * env->dr[7]; only a MOV to DR7 calls cpu_x86_update_dr7()), so
	 * there a watchpoint that only the VMCB enables never fires, on
	 * kvm_amd as on ckvm (measured). Bochs and real CPUs fire it.
	 */
	if (uc.args[0] == 0 && emulator_is_qemu()) {
		ksft_test_result_skip("the guest takes one #DB for its write: QEMU does not arm a DR7 that VMRUN loads\n");
		ksft_test_result_skip("its DR6 says breakpoint 0: QEMU does not arm a DR7 that VMRUN loads\n");
	} else {
		CHECK_EQ(uc.args[0], 1, "the guest takes one #DB for its write");
		ksft_test_result((uc.args[1] & 0xf) == 1,
				 "its DR6 says breakpoint 0 (DR6 0x%llx)\n",
				 (unsigned long long)uc.args[1]);
	}

	/* The guest's own watchpoint, across the exit that follows it. */
	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "guest sets DR2/DR7");
	d = get_dr(v);
	CHECK_EQ(d.dr7, dr7_write_watch(0) | dr7_write_watch(2),
		 "KVM_GET_DEBUGREGS reads the guest's DR7");
	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "guest writes watch2");
	CHECK_EQ(uc.args[0], 1, "the guest's own watchpoint fires after an exit");
	ksft_test_result((uc.args[1] & 0xf) == 4,
			 "its DR6 says breakpoint 2 (DR6 0x%llx)\n", (unsigned long long)uc.args[1]);

	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "guest single-steps");
	CHECK_EQ(uc.args[0], 1, "single-step: one #DB");
	ksft_test_result(uc.args[1] & DR6_BS, "its DR6 has BS (DR6 0x%llx)\n",
			 (unsigned long long)uc.args[1]);

	/*
	 * The intercept that keeps a #DB loop from holding the host CPU:
	 * the stepped run makes at least one exit per #DB more than the
	 * same run without TF.
	 */
	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "guest before the NOPs");
	e0 = vcpu_stat(v, "exits");
	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "guest ran the NOPs");
	e1 = vcpu_stat(v, "exits");
	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "guest stepped the NOPs");
	e2 = vcpu_stat(v, "exits");
	CHECK_EQ(uc.args[0], 103, "single-step over 100 NOPs: 103 #DBs");
	ksft_test_result(e2 - e1 >= e1 - e0 + 103,
			 "each #DB is an exit (CVE-2015-8104): %llu exits stepped, %llu not\n",
			 (unsigned long long)(e2 - e1), (unsigned long long)(e1 - e0));

	/*
	 * QEMU before 10 has no DR7.GD: 7.2's helper_get_dr() and
	 * helper_set_dr() (target/i386/tcg/sysemu/bpt_helper.c) never look
	 * at it; 10's raise #DB with BD.
	 */
	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "guest sets DR7.GD");
	if (uc.args[0] == 0 && emulator_is_qemu() && !emulator_qemu_at_least(10, 0)) {
		ksft_test_result_skip("the guest's own DR7.GD: QEMU before 10 does not model general detect\n");
		ksft_test_result_skip("its DR6 has BD: QEMU before 10 does not model general detect\n");
	} else {
		CHECK_EQ(uc.args[0], 1, "the guest's own DR7.GD: one #DB at its next MOV DR");
		ksft_test_result((uc.args[1] & DR6_BD) && !(uc.args[2] & DR7_GD),
				 "its DR6 has BD, its delivery cleared DR7.GD (DR6 0x%llx, DR7 0x%llx)\n",
				 (unsigned long long)uc.args[1],
				 (unsigned long long)uc.args[2]);
	}
	ksft_test_result(vcpu_run_ucall(v, &uc) == UCALL_DONE, "guest done\n");

	/* The host's own hardware breakpoint survives the guest's. */
	pfd = perf_watch(&host_var);
	if (pfd < 0) {
		ksft_test_result_skip("host breakpoint after the guest's: perf_event_open: %s\n",
				      strerror(errno));
	} else {
		struct kvm_vcpu *w;

		w = vcpu_add(vm, 1, guest_code);
		d = get_dr(w);
		d.db[0] = d.db[1] = d.db[2] = d.db[3] = 0x4000;
		d.dr7 = dr7_write_watch(0) | dr7_write_watch(1) | dr7_write_watch(2) |
			dr7_write_watch(3);
		TEST_ASSERT(!ioctl(w->fd, KVM_SET_DEBUGREGS, &d), "SET_DEBUGREGS");
		TEST_ASSERT(vcpu_run_ucall(w, &uc) == UCALL_SYNC, "guest runs with DR0-3");
		host_var = 1;
		TEST_ASSERT(read(pfd, &count, sizeof(count)) == sizeof(count), "read perf");
		ksft_test_result(count == 1,
				 "the host's watchpoint fires after the guest ran with its own DR0-3 (count %llu)\n",
				 (unsigned long long)count);
		close(pfd);
	}
	kvm_vm_free(vm);
	return ksft_finished();
}
