// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_SET_GUEST_DEBUG (x86/debugreg.c): a debugger in userspace. INT3
 * with KVM_GUESTDBG_USE_SW_BP, an instruction and a data breakpoint with
 * KVM_GUESTDBG_USE_HW_BP, single-step over an instruction the CPU runs
 * and one the hypervisor emulates (CPUID), DR7.GD, each a KVM_EXIT_DEBUG
 * with the exception, the linear RIP and DR6 as KVM reports them; the
 * guest's own debug registers stay its own meanwhile (KVM_GET_DEBUGREGS,
 * the guest's MOV DR), the TF of single-stepping is hidden from
 * KVM_GET_REGS and gone afterwards; KVM_GUESTDBG_INJECT_DB and _BP, each
 * a #DB or #BP the guest's own handler takes at the next KVM_RUN where
 * the guest stopped; and the bad inputs: unknown control flags are EINVAL,
 * a second injection before that KVM_RUN EBUSY.
 *
 * The guest is a row of phases, each ending in a ucall: a breakpoint
 * that does not fire shows as that ucall instead of KVM_EXIT_DEBUG. Two
 * faults of QEMU's TCG SVM (both modules alike) are skips there: it
 * gives no #BP intercept for INT3, and its VMRUN does not arm the
 * breakpoints of the DR7 it loads.
 */
#include "ckvm_util.h"
#include "guest_idt.h"

#define DR6_RESET	0xffff0ff0ULL
#define DR7_RESET	0x400ULL
#define DR6_BD		(1ULL << 13)
#define DR6_BS		(1ULL << 14)
#define DR7_GD		(1ULL << 13)
#define X86_TF		(1ULL << 8)

volatile uint32_t gd_value;
extern char gd_int3[], gd_hwbp[], gd_write[], gd_ss[], gd_ss_cpuid[],
	    gd_ss_nop[], gd_ss_end[], gd_movdr[], gd_inj_db[], gd_inj_bp[];

/* ---- guest ---- */

static uint64_t guest_rflags(void)
{
	uint64_t f;

	asm volatile("pushf; pop %0" : "=r"(f));
	return f;
}

static void guest_code(void)
{
	uint64_t dr1, dr7, db, bp;

	idt_install();
	asm volatile("gd_int3: int3");
	GUEST_SYNC2(1, idt_count[3]);
	asm volatile("gd_hwbp: nop");
	GUEST_SYNC(2);
	asm volatile("movl $1, gd_value\n\t"
		     "gd_write:" ::: "memory");
	GUEST_SYNC(3);
	asm volatile("gd_ss: xor %%eax, %%eax\n\t"
		     "gd_ss_cpuid: cpuid\n\t"
		     "gd_ss_nop: nop\n\t"
		     "gd_ss_end:" ::: "eax", "ebx", "ecx", "edx");
	ucall(UCALL_SYNC, 2, 4, guest_rflags());
	/* The guest's own DR1 and DR7 while a debugger holds the CPU's. */
	asm volatile("mov %0, %%dr1" : : "r"(0x1234000ULL));
	asm volatile("mov %%dr1, %0" : "=r"(dr1));
	asm volatile("mov %%dr7, %0" : "=r"(dr7));
	ucall(UCALL_SYNC, 3, 5, dr1, dr7);
	/*
	 * KVM_GUESTDBG_INJECT_DB, then _BP, while the guest stops at a HLT.
	 * NOPs after each: KVM on VMX injects the #BP as a software
	 * exception with a stale instruction length, so its handler may
	 * return a few bytes on.
	 */
	db = idt_count[1];
	bp = idt_count[3];
	asm volatile("hlt\n\t"
		     "gd_inj_db: .fill 16, 1, 0x90");
	ucall(UCALL_SYNC, 5, 6, idt_count[1] - db, idt_count[3] - bp, idt_rip, idt_dr6);
	db = idt_count[1];
	bp = idt_count[3];
	asm volatile("hlt\n\t"
		     "gd_inj_bp: .fill 16, 1, 0x90");
	ucall(UCALL_SYNC, 4, 7, idt_count[3] - bp, idt_count[1] - db, idt_rip);
	asm volatile("gd_movdr: mov %%dr0, %%rax" ::: "rax");
	GUEST_DONE();
}

/* ---- host ---- */

static bool emulator_is_qemu(void)
{
	const char *e = getenv("ckvm_emulator");

	return e && !strncmp(e, "qemu", 4);
}

static bool emulator_is_bochs(void)
{
	const char *e = getenv("ckvm_emulator");

	return e && !strncmp(e, "bochs", 5);
}

static int set_debug(struct kvm_vcpu *v, uint32_t control, int n, uint64_t addr,
		     uint64_t dr7)
{
	struct kvm_guest_debug dbg;

	memset(&dbg, 0, sizeof(dbg));
	dbg.control = control;
	if (n >= 0)
		dbg.arch.debugreg[n] = addr;
	dbg.arch.debugreg[7] = dr7;
	return ioctl(v->fd, KVM_SET_GUEST_DEBUG, &dbg);
}

static void skip_rip(struct kvm_vcpu *v, int len)
{
	struct kvm_regs r;

	vcpu_get_regs(v, &r);
	r.rip += len;
	vcpu_set_regs(v, &r);
}

/* One KVM_RUN: is it KVM_EXIT_DEBUG with this exception, pc and DR6? */
static bool debug_exit(struct kvm_vcpu *v, uint32_t ex, void *pc, uint64_t dr6,
		       const char *what)
{
	struct kvm_debug_exit_arch *a = &v->run->debug.arch;
	bool ok;

	TEST_ASSERT(vcpu_run(v) == 0, "KVM_RUN");
	ok = v->run->exit_reason == KVM_EXIT_DEBUG && a->exception == ex &&
	     a->pc == (uint64_t)pc && (!dr6 || a->dr6 == dr6);
	if (!ok)
		ksft_print_msg("%s: exit %s exception %u pc 0x%llx (want 0x%llx) dr6 0x%llx (want 0x%llx)\n",
			       what, exit_reason_str(v->run->exit_reason), a->exception,
			       (unsigned long long)a->pc, (unsigned long long)(uint64_t)pc,
			       (unsigned long long)a->dr6, (unsigned long long)dr6);
	return ok;
}

/* The last exit was the phase's ucall: the breakpoint did not fire. */
static bool missed(struct kvm_vcpu *v, struct ucall *uc)
{
	return v->run->exit_reason == KVM_EXIT_IO && get_ucall(v, uc) == UCALL_SYNC;
}

/*
 * Unknown control flags: EINVAL on ckvm. The reference, KVM 6.1, takes
 * them (its x86 KVM_SET_GUEST_DEBUG checks no mask yet; measured).
 */
static void check_unknown_flag(struct kvm_vcpu *v, uint32_t flag)
{
	int r, e;

	errno = 0;
	r = set_debug(v, KVM_GUESTDBG_ENABLE | flag, -1, 0, 0);
	e = errno;
	if (r == 0 && !is_ckvm()) {
		ksft_test_result_skip("unknown flag 0x%x: the reference (KVM 6.1) takes it\n", flag);
		TEST_ASSERT(!set_debug(v, 0, -1, 0, 0), "debug off");
		return;
	}
	ksft_test_result(r == -1 && e == EINVAL,
			 "KVM_SET_GUEST_DEBUG: unknown flag 0x%x -> EINVAL (ret %d errno %d)\n",
			 flag, r, e);
}

static struct kvm_debugregs get_dr(struct kvm_vcpu *v)
{
	struct kvm_debugregs d;

	TEST_ASSERT(!ioctl(v->fd, KVM_GET_DEBUGREGS, &d), "KVM_GET_DEBUGREGS");
	return d;
}

int main(void)
{
	const uint32_t hw = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP;
	struct kvm_debugregs d;
	struct kvm_regs regs;
	struct kvm_vcpu *v;
	struct kvm_vm *vm;
	struct ucall uc;
	bool ok;
	int i;

	ksft_print_header();
	if (!kvm_check_cap(KVM_CAP_SET_GUEST_DEBUG))
		ksft_exit_skip("no KVM_CAP_SET_GUEST_DEBUG\n");
	ksft_set_plan(25);
	vm = vm_create();
	v = vcpu_add(vm, 0, guest_code);

	/* Bad input: control flags KVM does not define. */
	check_unknown_flag(v, 0x4);
	check_unknown_flag(v, 1u << 30);
	CHECK_OK(set_debug(v, 0, -1, 0, 0), "KVM_SET_GUEST_DEBUG: control 0\n");

	/* INT3 with KVM_GUESTDBG_USE_SW_BP: RIP at the INT3. */
	CHECK_OK(set_debug(v, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP, -1, 0, 0),
		 "KVM_GUESTDBG_USE_SW_BP\n");
	ok = debug_exit(v, 3, gd_int3, 0, "int3");
	/*
	 * QEMU's TCG SVM gives no #BP intercept for an INT3: the guest
	 * takes its own #BP, on kvm_amd as on ckvm (measured; the APM has
	 * INT3 raise the #BP intercept).
	 */
	if (!ok && missed(v, &uc) && emulator_is_qemu() && host_is_amd()) {
		TEST_ASSERT(uc.args[0] == 1 && uc.args[1] == 1, "phase 1, the guest's #BP");
		ksft_test_result_skip("INT3: QEMU's SVM gives no #BP intercept for INT3\n");
		TEST_ASSERT(set_debug(v, 0, -1, 0, 0) == 0, "debug off");
	} else {
		ksft_test_result(ok, "INT3: KVM_EXIT_DEBUG, #BP, pc at the INT3\n");
		skip_rip(v, 1);
		TEST_ASSERT(set_debug(v, 0, -1, 0, 0) == 0, "debug off");
		TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC && uc.args[0] == 1 &&
			    uc.args[1] == 0, "phase 1");
	}

	/*
	 * An instruction breakpoint in DR0..DR3 in turn. QEMU's VMRUN
	 * loads DR7 without arming its breakpoints (debugregs_test.c): on
	 * QEMU's SVM none fires, on kvm_amd as on ckvm.
	 */
	ok = true;
	for (i = 0; i < 4 && ok; i++) {
		TEST_ASSERT(!set_debug(v, hw, i, (uint64_t)gd_hwbp,
				       DR7_RESET | (2ULL << (2 * i))), "HW_BP");
		ok = debug_exit(v, 1, gd_hwbp, DR6_RESET | (1ULL << i), "instruction bp");
	}
	if (!ok && missed(v, &uc) && emulator_is_qemu() && host_is_amd()) {
		ksft_test_result_skip("instruction breakpoints DR0-3: QEMU does not arm a DR7 that VMRUN loads\n");
		ksft_test_result_skip("KVM_GET_DEBUGREGS meanwhile: (no breakpoint exit)\n");
		ksft_test_result_skip("data breakpoint: QEMU does not arm a DR7 that VMRUN loads\n");
		TEST_ASSERT(set_debug(v, 0, -1, 0, 0) == 0, "debug off");
		TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC && uc.args[0] == 3, "phase 3");
	} else {
		ksft_test_result(ok, "instruction breakpoints DR0-3: KVM_EXIT_DEBUG, #DB, pc, DR6 B0-B3\n");
		d = get_dr(v);
		ksft_test_result(d.dr7 == DR7_RESET && !d.db[0] && !d.db[3],
				 "KVM_GET_DEBUGREGS meanwhile: the guest's DR0-3 and DR7 (0x%llx)\n",
				 (unsigned long long)d.dr7);
		skip_rip(v, 1);
		TEST_ASSERT(set_debug(v, 0, -1, 0, 0) == 0, "debug off");
		TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC && uc.args[0] == 2, "phase 2");
		/* A 4-byte write breakpoint in DR1: a trap, RIP past the MOV. */
		TEST_ASSERT(!set_debug(v, hw, 1, (uint64_t)&gd_value,
				       DR7_RESET | (2ULL << 2) | (0xdULL << 20)), "HW_BP");
		ksft_test_result(debug_exit(v, 1, gd_write, DR6_RESET | 2, "data bp"),
				 "data breakpoint: KVM_EXIT_DEBUG, #DB, pc past the write, DR6 B1\n");
		TEST_ASSERT(set_debug(v, 0, -1, 0, 0) == 0, "debug off");
		TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC && uc.args[0] == 3, "phase 3");
	}

	/* Single-step: XOR (the CPU's), CPUID (the hypervisor's), NOP. */
	CHECK_OK(set_debug(v, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP |
			   KVM_GUESTDBG_BLOCKIRQ, -1, 0, DR7_RESET),
		 "KVM_GUESTDBG_SINGLESTEP | KVM_GUESTDBG_BLOCKIRQ\n");
	/*
	 * The first step finishes the OUT of the last ucall (as KVM does
	 * when it completes port I/O), then the ucall returns: step every
	 * instruction up to the one past the XOR.
	 */
	ok = false;
	for (i = 0; i < 200; i++) {
		TEST_ASSERT(vcpu_run(v) == 0, "KVM_RUN");
		if (v->run->exit_reason != KVM_EXIT_DEBUG ||
		    v->run->debug.arch.exception != 1 ||
		    v->run->debug.arch.dr6 != (DR6_RESET | DR6_BS)) {
			ksft_print_msg("step %d: exit %s exception %u pc 0x%llx dr6 0x%llx\n", i,
				       exit_reason_str(v->run->exit_reason),
				       v->run->debug.arch.exception,
				       (unsigned long long)v->run->debug.arch.pc,
				       (unsigned long long)v->run->debug.arch.dr6);
			break;
		}
		if (v->run->debug.arch.pc == (uint64_t)gd_ss_cpuid) {
			ok = true;
			break;
		}
	}
	ksft_test_result(ok, "single-step: %d steps (the ucall's OUT and return, XOR), "
			 "each KVM_EXIT_DEBUG with DR6.BS\n", i + 1);
	vcpu_get_regs(v, &regs);
	ksft_test_result(!(regs.rflags & X86_TF),
			 "KVM_GET_REGS hides the debugger's TF (rflags 0x%llx)\n",
			 (unsigned long long)regs.rflags);
	ksft_test_result(debug_exit(v, 1, gd_ss_nop, DR6_RESET | DR6_BS, "step cpuid"),
			 "single-step over CPUID (emulated): pc past it, DR6.BS\n");
	ok = debug_exit(v, 1, gd_ss_end, DR6_RESET | DR6_BS, "step nop");
	/*
	 * Bochs saves BS in the pending debug exceptions at CPUID's VM exit
	 * (the SDM: saved clear), and kvm_intel keeps it: a second step at
	 * the same RIP (measured). ckvm drops it (vmx_skip_instruction()).
	 */
	if (!ok && !is_ckvm() && emulator_is_bochs() &&
	    v->run->debug.arch.pc == (uint64_t)gd_ss_nop) {
		ksft_test_result_skip("single-step over NOP: the reference under Bochs steps twice at it (Bochs's BS at CPUID's exit)\n");
		TEST_ASSERT(debug_exit(v, 1, gd_ss_end, DR6_RESET | DR6_BS, "step nop"),
			    "the second step");
	} else {
		ksft_test_result(ok, "single-step over NOP\n");
	}
	TEST_ASSERT(set_debug(v, 0, -1, 0, 0) == 0, "debug off");
	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC && uc.args[0] == 4, "phase 4");
	ksft_test_result(!(uc.args[1] & X86_TF),
			 "after single-stepping the guest has no TF (rflags 0x%llx)\n",
			 (unsigned long long)uc.args[1]);

	/*
	 * With the debugger's registers in force (DR7.GD not yet), the
	 * guest's MOV DR sees and sets its own.
	 */
	TEST_ASSERT(!set_debug(v, hw, 0, 0x5000, DR7_RESET), "HW_BP");
	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC && uc.args[0] == 5, "phase 5");
	CHECK_EQ(uc.args[1], 0x1234000, "the guest reads back the DR1 it wrote under the debugger\n");
	CHECK_EQ(uc.args[2], DR7_RESET, "the guest reads its own DR7\n");
	d = get_dr(v);
	ksft_test_result(d.db[1] == 0x1234000 && !d.db[0],
			 "KVM_GET_DEBUGREGS: the guest's DR1, not the debugger's DR0\n");

	/*
	 * KVM_GUESTDBG_INJECT_DB and _BP (without KVM_GUESTDBG_ENABLE, as
	 * QEMU reinjects a #DB or #BP that was not its debugger's): the
	 * guest's own handler runs at the next KVM_RUN, at the RIP where
	 * the guest stopped, and nothing is debugged afterwards.
	 */
	TEST_ASSERT(!set_debug(v, 0, -1, 0, 0), "debug off");
	TEST_ASSERT(vcpu_run(v) == 0 && v->run->exit_reason == KVM_EXIT_HLT,
		    "HLT before gd_inj_db: %s", exit_reason_str(v->run->exit_reason));
	CHECK_OK(set_debug(v, KVM_GUESTDBG_INJECT_DB, -1, 0, 0), "KVM_GUESTDBG_INJECT_DB\n");
	errno = 0;
	i = set_debug(v, KVM_GUESTDBG_INJECT_DB, -1, 0, 0);
	ksft_test_result(i == -1 && errno == EBUSY,
			 "a second KVM_GUESTDBG_INJECT_DB before KVM_RUN -> EBUSY (ret %d errno %d)\n",
			 i, errno);
	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC && uc.args[0] == 6,
		    "phase 6: %s", exit_reason_str(v->run->exit_reason));
	ksft_test_result(uc.args[1] == 1 && uc.args[2] == 0 && uc.args[3] == (uint64_t)gd_inj_db &&
			 uc.args[4] == DR6_RESET,
			 "INJECT_DB: one #DB in the guest (%llu, #BP %llu) at the HLT's next RIP "
			 "(0x%llx, want %p), DR6 0x%llx untouched\n",
			 (unsigned long long)uc.args[1], (unsigned long long)uc.args[2],
			 (unsigned long long)uc.args[3], gd_inj_db,
			 (unsigned long long)uc.args[4]);

	TEST_ASSERT(vcpu_run(v) == 0 && v->run->exit_reason == KVM_EXIT_HLT,
		    "HLT before gd_inj_bp: %s", exit_reason_str(v->run->exit_reason));
	CHECK_OK(set_debug(v, KVM_GUESTDBG_INJECT_BP, -1, 0, 0), "KVM_GUESTDBG_INJECT_BP\n");
	TEST_ASSERT(vcpu_run(v) == 0, "KVM_RUN");
	/*
	 * kvm_intel under Bochs fails this entry (measured on vmx-kvm:
	 * KVM_EXIT_FAIL_ENTRY; it injects a #BP as a software exception
	 * with the instruction length of an earlier event).
	 */
	if (!is_ckvm() && v->run->exit_reason == KVM_EXIT_FAIL_ENTRY) {
		ksft_test_result_skip("INJECT_BP: the reference fails the VM entry of its #BP (KVM_EXIT_FAIL_ENTRY)\n");
		ksft_test_result_skip("DR7.GD: (the reference's vCPU failed its entry)\n");
		ksft_test_result_skip("debugging off: (the reference's vCPU failed its entry)\n");
		ksft_test_result_skip("the guest runs to its end: (the reference's vCPU failed its entry)\n");
		kvm_vm_free(vm);
		return ksft_finished();
	}
	TEST_ASSERT(get_ucall(v, &uc) == UCALL_SYNC && uc.args[0] == 7,
		    "phase 7: %s", exit_reason_str(v->run->exit_reason));
	ok = uc.args[1] == 1 && uc.args[2] == 0;
	if (!ok && !is_ckvm() && emulator_is_qemu() && host_is_amd() && !uc.args[1] && !uc.args[2])
		ksft_test_result_skip("INJECT_BP: the reference under QEMU's SVM delivers no #BP "
				      "(kvm_amd 6.1, measured)\n");
	else if (ok && !is_ckvm() && uc.args[3] > (uint64_t)gd_inj_bp &&
	    uc.args[3] < (uint64_t)gd_inj_bp + 16)
		ksft_test_result_skip("INJECT_BP: the reference's #BP returns to 0x%llx, %llu bytes past "
				      "the HLT's next RIP (KVM on VMX injects it as a software exception "
				      "with the last INT3's length)\n",
				      (unsigned long long)uc.args[3],
				      (unsigned long long)(uc.args[3] - (uint64_t)gd_inj_bp));
	else
		ksft_test_result(ok && uc.args[3] == (uint64_t)gd_inj_bp,
				 "INJECT_BP: one #BP in the guest (%llu, #DB %llu) at the HLT's next RIP "
				 "(0x%llx, want %p)\n",
				 (unsigned long long)uc.args[1], (unsigned long long)uc.args[2],
				 (unsigned long long)uc.args[3], gd_inj_bp);

	/* DR7.GD of the debugger: the guest's MOV DR is KVM_EXIT_DEBUG, BD. */
	TEST_ASSERT(!set_debug(v, hw, -1, 0, DR7_RESET | DR7_GD), "HW_BP GD");
	ok = debug_exit(v, 1, gd_movdr, DR6_RESET | DR6_BD, "DR7.GD");
	if (!ok && !is_ckvm() && emulator_is_qemu() &&
	    v->run->exit_reason == KVM_EXIT_IO)
		ksft_test_result_skip("DR7.GD: the reference under QEMU gives no KVM_EXIT_DEBUG for it (the guest takes the #DB)\n");
	else
		ksft_test_result(ok, "DR7.GD: MOV DR is KVM_EXIT_DEBUG, #DB, pc at it, DR6.BD\n");

	CHECK_OK(set_debug(v, 0, -1, 0, 0), "debugging off\n");
	if (v->run->exit_reason == KVM_EXIT_DEBUG)
		ksft_test_result(vcpu_run_ucall(v, &uc) == UCALL_DONE, "the guest runs to its end\n");
	else
		ksft_test_result_skip("the guest runs to its end: (after the DR7.GD point)\n");
	kvm_vm_free(vm);
	return ksft_finished();
}
