// SPDX-License-Identifier: GPL-2.0
/*
 * x86/msr_filter.c: KVM_CAP_X86_USER_SPACE_MSR and KVM_X86_SET_MSR_FILTER.
 * Userspace gets the guest's RDMSR and WRMSR the filter denies (also of
 * MSRs the backend passes through, FS_BASE), of MSRs the kernel does not
 * know, and of values it refuses, each with its reason; it answers with
 * data or a #GP. KVM_GET/SET_MSRS and the x2APIC MSRs are never filtered.
 */
#include "ckvm_util.h"
#include "guest_idt.h"

#define MSR_NONEXISTENT		0x474f4f00
#define MSR_IA32_CR_PAT		0x277
#define MSR_X2APIC_APICID	0x802

/* ---- guest ---- */

volatile uint64_t g_index, g_value, g_write;

/* One RDMSR or WRMSR per turn, chosen by the host; reports #GP and value. */
static void guest_msr(void)
{
	idt_install();
	for (;;) {
		uint64_t before, val = 0;

		GUEST_SYNC(0);
		before = idt_count[13];
		idt_skip = 2;
		if (g_write)
			wrmsr(g_index, g_value);
		else
			val = rdmsr(g_index);
		idt_skip = 0;
		GUEST_SYNC2(idt_count[13] - before, val);
	}
}

/* ---- host ---- */

static uint8_t deny_bits[KVM_MSR_FILTER_MAX_BITMAP_SIZE];
static uint8_t allow_bits[KVM_MSR_FILTER_MAX_BITMAP_SIZE];

static void start_access(struct kvm_vcpu *v, uint32_t index, uint64_t value, bool write)
{
	g_index = index;
	g_value = value;
	g_write = write;
	sync_global_to_guest(v->vm, g_index);
	sync_global_to_guest(v->vm, g_value);
	sync_global_to_guest(v->vm, g_write);
	TEST_ASSERT(vcpu_run(v) == 0, "KVM_RUN");
}

/* After the access, the guest's report: #GP count and value. */
static void finish_access(struct kvm_vcpu *v, uint64_t *gp, uint64_t *val)
{
	struct ucall uc;

	if (v->run->exit_reason != KVM_EXIT_IO)
		TEST_ASSERT(vcpu_run(v) == 0, "KVM_RUN");
	TEST_ASSERT(get_ucall(v, &uc) == UCALL_SYNC, "guest report (exit %s)",
		    exit_reason_str(v->run->exit_reason));
	*gp = uc.args[0];
	*val = uc.args[1];
	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "guest idle");
}

static bool msr_exit(struct kvm_vcpu *v, bool write, uint32_t index, uint32_t reason)
{
	struct kvm_run *run = v->run;
	uint32_t want = write ? KVM_EXIT_X86_WRMSR : KVM_EXIT_X86_RDMSR;

	if (run->exit_reason == want && run->msr.index == index && run->msr.reason == reason)
		return true;
	ksft_print_msg("want exit %u index 0x%x reason %u; got exit %u (%s) index 0x%x reason %u",
		       want, index, reason, run->exit_reason, exit_reason_str(run->exit_reason),
		       run->msr.index, run->msr.reason);
	return false;
}

static int set_filter(struct kvm_vm *vm, struct kvm_msr_filter *f)
{
	return ioctl(vm->fd, KVM_X86_SET_MSR_FILTER, f);
}

static void test_filter_ioctl(struct kvm_vm *vm)
{
	struct kvm_msr_filter f;
	struct kvm_enable_cap cap = { .cap = KVM_CAP_X86_USER_SPACE_MSR };

	ksft_test_result(kvm_check_cap(KVM_CAP_X86_USER_SPACE_MSR) &&
			 kvm_check_cap(KVM_CAP_X86_MSR_FILTER),
			 "KVM_CAP_X86_USER_SPACE_MSR and KVM_CAP_X86_MSR_FILTER\n");
	cap.args[0] = 1 << 3;
	CHECK_ERRNO(ioctl(vm->fd, KVM_ENABLE_CAP, &cap), EINVAL,
		    "KVM_CAP_X86_USER_SPACE_MSR with an unknown reason -> EINVAL");

	memset(&f, 0, sizeof(f));
	f.flags = 2;
	CHECK_ERRNO(set_filter(vm, &f), EINVAL, "KVM_X86_SET_MSR_FILTER unknown flag -> EINVAL");
	f.flags = KVM_MSR_FILTER_DEFAULT_DENY;
	CHECK_ERRNO(set_filter(vm, &f), EINVAL, "deny-all without a range -> EINVAL");
	f.flags = 0;
	f.ranges[0].nmsrs = 1;
	f.ranges[0].bitmap = deny_bits;
	CHECK_ERRNO(set_filter(vm, &f), EINVAL, "a range without READ or WRITE -> EINVAL");
	f.ranges[0].flags = 4;
	CHECK_ERRNO(set_filter(vm, &f), EINVAL, "a range with an unknown flag -> EINVAL");
	f.ranges[0].flags = KVM_MSR_FILTER_READ;
	f.ranges[0].nmsrs = KVM_MSR_FILTER_MAX_BITMAP_SIZE * 8 + 64;
	CHECK_ERRNO(set_filter(vm, &f), EINVAL, "a bitmap above KVM_MSR_FILTER_MAX_BITMAP_SIZE -> EINVAL");
	f.ranges[0].nmsrs = 8;
	f.ranges[0].bitmap = (void *)8;
	CHECK_ERRNO(set_filter(vm, &f), EFAULT, "a bad bitmap pointer -> EFAULT");
	memset(&f, 0, sizeof(f));
	CHECK_OK(set_filter(vm, &f), "an empty allow-all filter");
}

static void test_user_exits(void)
{
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *v = vcpu_add(vm, 0, guest_msr);
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_X86_USER_SPACE_MSR,
		.args = { KVM_MSR_EXIT_REASON_FILTER | KVM_MSR_EXIT_REASON_UNKNOWN |
			  KVM_MSR_EXIT_REASON_INVAL },
	};
	struct kvm_msr_filter f;
	struct kvm_run *run = v->run;
	struct ucall uc;
	uint64_t gp, val;
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1 };

	test_filter_ioctl(vm);
	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "guest at its first SYNC");

	/* Without the capability, an unknown MSR is a #GP. */
	start_access(v, MSR_NONEXISTENT, 0, false);
	finish_access(v, &gp, &val);
	CHECK_EQ(gp, 1, "without KVM_CAP_X86_USER_SPACE_MSR an unknown MSR is a #GP");

	CHECK_OK(ioctl(vm->fd, KVM_ENABLE_CAP, &cap), "KVM_ENABLE_CAP(KVM_CAP_X86_USER_SPACE_MSR)");
	start_access(v, MSR_NONEXISTENT, 0, false);
	ksft_test_result(msr_exit(v, false, MSR_NONEXISTENT, KVM_MSR_EXIT_REASON_UNKNOWN),
			 "an unknown MSR's RDMSR exits: KVM_EXIT_X86_RDMSR, reason UNKNOWN\n");
	run->msr.data = 0xabcdef0123456789ULL;
	run->msr.error = 0;
	finish_access(v, &gp, &val);
	ksft_test_result(!gp && val == 0xabcdef0123456789ULL,
			 "the guest's RDMSR returns userspace's data\n");

	start_access(v, MSR_NONEXISTENT, 0x1234, true);
	ksft_test_result(msr_exit(v, true, MSR_NONEXISTENT, KVM_MSR_EXIT_REASON_UNKNOWN) &&
			 run->msr.data == 0x1234,
			 "an unknown MSR's WRMSR exits with its data\n");
	run->msr.error = 1;
	finish_access(v, &gp, &val);
	CHECK_EQ(gp, 1, "msr.error: the guest gets a #GP");

	/* A value the kernel refuses: reason INVAL. */
	start_access(v, MSR_IA32_CR_PAT, 0x0202020202020202ULL, true);
	ksft_test_result(msr_exit(v, true, MSR_IA32_CR_PAT, KVM_MSR_EXIT_REASON_INVAL),
			 "a refused PAT value exits with reason INVAL\n");
	run->msr.error = 1;
	finish_access(v, &gp, &val);
	CHECK_EQ(gp, 1, "...and userspace's error makes it a #GP");

	/* The filter: deny reads of FS_BASE (passed through) and PAT. */
	memset(&f, 0, sizeof(f));
	f.flags = KVM_MSR_FILTER_DEFAULT_ALLOW;
	f.ranges[0].flags = KVM_MSR_FILTER_READ;
	f.ranges[0].base = MSR_FS_BASE;
	f.ranges[0].nmsrs = 1;
	f.ranges[0].bitmap = deny_bits;
	f.ranges[1].flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE;
	f.ranges[1].base = MSR_IA32_CR_PAT;
	f.ranges[1].nmsrs = 1;
	f.ranges[1].bitmap = deny_bits;
	f.ranges[2].flags = KVM_MSR_FILTER_READ;
	f.ranges[2].base = MSR_X2APIC_APICID;
	f.ranges[2].nmsrs = 1;
	f.ranges[2].bitmap = deny_bits;
	CHECK_OK(set_filter(vm, &f), "a filter denying FS_BASE reads, PAT and an x2APIC MSR");
	start_access(v, MSR_FS_BASE, 0, false);
	ksft_test_result(msr_exit(v, false, MSR_FS_BASE, KVM_MSR_EXIT_REASON_FILTER),
			 "RDMSR of FS_BASE (passed through) exits: reason FILTER\n");
	run->msr.data = 0x5000;
	run->msr.error = 0;
	finish_access(v, &gp, &val);
	CHECK_EQ(val, 0x5000, "the guest reads userspace's FS_BASE");
	start_access(v, MSR_FS_BASE, 0x7000, true);
	finish_access(v, &gp, &val);
	CHECK_EQ(gp, 0, "WRMSR of FS_BASE (not denied) stays in the kernel");
	start_access(v, MSR_IA32_CR_PAT, 0x0007040600070406ULL, true);
	ksft_test_result(msr_exit(v, true, MSR_IA32_CR_PAT, KVM_MSR_EXIT_REASON_FILTER),
			 "WRMSR of PAT denied for writes: reason FILTER\n");
	run->msr.error = 0;
	finish_access(v, &gp, &val);
	m.e.index = MSR_FS_BASE;
	TEST_ASSERT(ioctl(v->fd, KVM_GET_MSRS, &m) == 1, "GET_MSRS");
	CHECK_EQ(m.e.data, 0x7000, "KVM_GET_MSRS is not filtered: FS_BASE as the guest wrote it");
	/*
	 * Without an in-kernel local APIC the x2APIC MSRs are refused
	 * (reason INVAL, as KVM), but never filtered.
	 */
	start_access(v, MSR_X2APIC_APICID, 0, false);
	ksft_test_result(!(run->exit_reason == KVM_EXIT_X86_RDMSR &&
			   run->msr.reason == KVM_MSR_EXIT_REASON_FILTER),
			 "an x2APIC MSR is never filtered (exit %s)\n", exit_reason_str(run->exit_reason));
	run->msr.error = 1;
	finish_access(v, &gp, &val);

	/* Filter changed while the vCPU exists: allowed again. */
	memset(&f, 0, sizeof(f));
	f.ranges[0].flags = KVM_MSR_FILTER_READ;
	f.ranges[0].base = MSR_FS_BASE;
	f.ranges[0].nmsrs = 1;
	f.ranges[0].bitmap = allow_bits;
	allow_bits[0] = 1;
	CHECK_OK(set_filter(vm, &f), "a new filter allowing FS_BASE");
	start_access(v, MSR_FS_BASE, 0, false);
	ksft_test_result(run->exit_reason == KVM_EXIT_IO, "RDMSR of FS_BASE stays in the guest again\n");
	finish_access(v, &gp, &val);
	CHECK_EQ(val, 0x7000, "and reads the guest's FS_BASE");

	/* Without the FILTER reason, a denied access is a #GP. */
	cap.args[0] = KVM_MSR_EXIT_REASON_UNKNOWN;
	CHECK_OK(ioctl(vm->fd, KVM_ENABLE_CAP, &cap), "user space MSR exits for UNKNOWN only");
	f.flags = KVM_MSR_FILTER_DEFAULT_DENY;
	f.ranges[0].flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE;
	f.ranges[0].base = MSR_GS_BASE;
	CHECK_OK(set_filter(vm, &f), "deny all but GS_BASE");
	start_access(v, MSR_FS_BASE, 0, false);
	finish_access(v, &gp, &val);
	CHECK_EQ(gp, 1, "a denied RDMSR without the FILTER reason: #GP");
	start_access(v, MSR_GS_BASE, 0, false);
	finish_access(v, &gp, &val);
	CHECK_EQ(gp, 0, "the allowed GS_BASE reads fine");
	kvm_vm_free(vm);
}

int main(void)
{
	ksft_print_header();
	ksft_set_plan(9 + 22);
	test_user_exits();
	return ksft_finished();
}
