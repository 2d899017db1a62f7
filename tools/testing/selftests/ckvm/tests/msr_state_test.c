// SPDX-License-Identifier: GPL-2.0
/*
 * MSRs a VMM saves and restores (x86/msrs.c and the list of
 * KVM_GET_MSR_INDEX_LIST): every MSR of the list reads and writes back,
 * MTRRs with their checks, IA32_MISC_ENABLE's read-only bits, HWCR, the
 * AMD platform MSRs a guest kernel probes (SYSCFG and others), and
 * machine checks: KVM_X86_GET_MCE_CAP_SUPPORTED, KVM_X86_SETUP_MCE and
 * KVM_X86_SET_MCE with the guest's #MC handler.
 */
#include "ckvm_util.h"
#include "guest_idt.h"

#define MSR_MTRRcap		0xfe
#define MSR_MTRRdefType		0x2ff
#define MSR_MTRRfix64K_00000	0x250
#define MSR_MTRRphysBase0	0x200
#define MSR_MTRRphysMask0	0x201
#define MSR_IA32_MISC_ENABLE	0x1a0
#define MSR_IA32_MCG_CAP	0x179
#define MSR_IA32_MCG_STATUS	0x17a
#define MSR_IA32_MCG_CTL	0x17b
#define MSR_IA32_MC0_CTL	0x400
#define MSR_K7_HWCR		0xc0010015
#define MSR_AMD64_SYSCFG	0xc0010010
#define MSR_IA32_APICBASE	0x1b
#define MSR_FAM10H_MMIO_CONF_BASE 0xc0010058
#define MSR_AMD64_DC_CFG	0xc0011022
#define MCG_CTL_P		(1ULL << 8)
#define MCG_SER_P		(1ULL << 24)
#define MCI_STATUS_VAL		(1ULL << 63)
#define MCI_STATUS_OVER		(1ULL << 62)
#define MCI_STATUS_UC		(1ULL << 61)
#define MCI_STATUS_EN		(1ULL << 60)
#define MCI_STATUS_PCC		(1ULL << 57)
#define MCG_STATUS_RIPV		(1ULL << 0)
#define MCG_STATUS_MCIP		(1ULL << 2)
#define X86_CR4_MCE		(1UL << 6)

struct msrs {
	struct kvm_msrs hdr;
	struct kvm_msr_entry e[256];
};

static bool is_amd(void)
{
	uint32_t a, b, c, d;

	cpuid_count(0, 0, &a, &b, &c, &d);
	return b == 0x68747541;	/* "Auth"enticAMD */
}

static int get_msr(struct kvm_vcpu *v, uint32_t index, uint64_t *data)
{
	struct msrs m = { .hdr.nmsrs = 1 };
	int r;

	m.e[0].index = index;
	r = ioctl(v->fd, KVM_GET_MSRS, &m);
	*data = m.e[0].data;
	return r;
}

static int set_msr(struct kvm_vcpu *v, uint32_t index, uint64_t data)
{
	struct msrs m = { .hdr.nmsrs = 1 };

	m.e[0].index = index;
	m.e[0].data = data;
	return ioctl(v->fd, KVM_SET_MSRS, &m);
}

/* ---- guest ---- */

/* RDMSR/WRMSR for the host: args = index, value, write?; reports #GPs. */
volatile uint64_t g_index, g_value, g_write;

static void guest_msr(void)
{
	idt_install();
	for (;;) {
		uint64_t before = idt_count[13], val = 0;

		GUEST_SYNC(0);
		idt_skip = 2;	/* RDMSR and WRMSR are two bytes */
		if (g_write)
			wrmsr(g_index, g_value);
		else
			val = rdmsr(g_index);
		idt_skip = 0;
		GUEST_SYNC2(idt_count[13] - before, val);
	}
}

static void guest_mce(void)
{
	idt_install();
	for (;;)
		ucall(UCALL_SYNC, 3, idt_count[18], idt_rip, 0);
}

/* ---- host ---- */

/* One guest RDMSR or WRMSR; returns the #GP count, *val the value read. */
static int guest_access(struct kvm_vcpu *v, uint32_t index, uint64_t value,
			bool write, uint64_t *val)
{
	struct ucall uc;
	int gp;

	g_index = index;
	g_value = value;
	g_write = write;
	sync_global_to_guest(v->vm, g_index);
	sync_global_to_guest(v->vm, g_value);
	sync_global_to_guest(v->vm, g_write);
	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "guest access");
	gp = uc.args[0];
	if (val)
		*val = uc.args[1];
	/* Back to its SYNC(0), where it waits for the next access. */
	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "guest idle");
	return gp;
}

static void test_index_list(void)
{
	int kvm = kvm_open();
	struct kvm_msr_list hdr = { .nmsrs = 0 }, *list;
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *v;
	struct msrs *m = calloc(1, sizeof(*m));
	uint32_t i, n;
	int r;

	/*
	 * As QEMU: with the in-kernel irqchip. Without a local APIC in the
	 * kernel, KVM refuses MSR_KVM_ASYNC_PF_INT even from KVM_SET_MSRS.
	 */
	TEST_ASSERT(!ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0), "KVM_CREATE_IRQCHIP");
	v = vcpu_add(vm, 0, guest_msr);
	TEST_ASSERT(ioctl(kvm, KVM_GET_MSR_INDEX_LIST, &hdr) == -1 && errno == E2BIG,
		    "E2BIG for nmsrs 0");
	n = hdr.nmsrs;
	list = calloc(1, sizeof(*list) + n * sizeof(list->indices[0]));
	list->nmsrs = n;
	TEST_ASSERT(!ioctl(kvm, KVM_GET_MSR_INDEX_LIST, list), "KVM_GET_MSR_INDEX_LIST");
	TEST_ASSERT(n <= 256, "%u MSRs", n);

	m->hdr.nmsrs = n;
	for (i = 0; i < n; i++)
		m->e[i].index = list->indices[i];
	r = ioctl(v->fd, KVM_GET_MSRS, m);
	if (r != (int)n)
		ksft_print_msg("KVM_GET_MSRS stopped at MSR 0x%x", list->indices[r]);
	ksft_test_result(r == (int)n, "KVM_GET_MSRS reads all %u MSRs of KVM_GET_MSR_INDEX_LIST\n", n);
	r = ioctl(v->fd, KVM_SET_MSRS, m);
	if (r != (int)n)
		ksft_print_msg("KVM_SET_MSRS stopped at MSR 0x%x = 0x%llx", list->indices[r],
			       (unsigned long long)m->e[r].data);
	ksft_test_result(r == (int)n, "KVM_SET_MSRS writes them all back\n");
	{
		static const uint32_t want[] = {
			0x11, 0x12, 0x4b564d00, 0x4b564d01, MSR_IA32_MISC_ENABLE,
			MSR_IA32_MCG_STATUS, MSR_IA32_MCG_CTL, 0x3b /* TSC_ADJUST */,
			MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK,
			MSR_KERNEL_GS_BASE, 0x10 /* TSC */,
		};
		bool all = true;

		for (unsigned int k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
			bool found = false;

			for (i = 0; i < n; i++)
				found |= list->indices[i] == want[k];
			if (!found)
				ksft_print_msg("MSR 0x%x not in the list", want[k]);
			all &= found;
		}
		ksft_test_result(all, "the list has what QEMU saves (kvmclock, MISC_ENABLE, MCG, syscall, TSC)\n");
	}
	free(m);
	free(list);
	close(kvm);
	kvm_vm_free(vm);
}

static void test_mtrr_misc(void)
{
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *v = vcpu_add(vm, 0, guest_msr);
	struct ucall uc;
	uint64_t d;

	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "guest at its first SYNC");
	TEST_ASSERT(get_msr(v, MSR_MTRRcap, &d) == 1, "MTRRcap");
	ksft_test_result((d & 0xff) == 8 && (d & (1 << 8)) && (d & (1 << 10)),
			 "MTRRcap: 8 variable ranges, fixed ranges, WC (0x%llx)\n",
			 (unsigned long long)d);
	CHECK_EQ(set_msr(v, MSR_MTRRcap, d), 0, "MTRRcap is read-only for KVM_SET_MSRS");
	CHECK_EQ(set_msr(v, MSR_MTRRdefType, 0xc06), 1, "MTRRdefType E|FE|WB");
	CHECK_EQ(set_msr(v, MSR_MTRRdefType, 0x1006), 0, "MTRRdefType reserved bit 12: refused");
	CHECK_EQ(set_msr(v, MSR_MTRRdefType, 0x802), 0, "MTRRdefType type 2: refused");
	CHECK_EQ(set_msr(v, MSR_MTRRfix64K_00000, 0x0606060606060606ULL), 1, "fixed MTRR all WB");
	CHECK_EQ(set_msr(v, MSR_MTRRfix64K_00000, 0x0606060606060603ULL), 0,
		 "fixed MTRR with a type-3 byte: refused");
	CHECK_EQ(set_msr(v, MSR_MTRRphysBase0, 0x80000006ULL), 1, "variable MTRR base");
	CHECK_EQ(set_msr(v, MSR_MTRRphysMask0, 0xf80000800ULL), 1, "variable MTRR mask, valid");
	CHECK_EQ(set_msr(v, MSR_MTRRphysMask0, 0x801ULL), 0, "variable MTRR mask bit 0: refused");
	TEST_ASSERT(get_msr(v, MSR_MTRRphysBase0, &d) == 1, "get");
	CHECK_EQ(d, 0x80000006ULL, "KVM_GET_MSRS reads the variable MTRR base back");
	{
		uint64_t val;
		int gp = guest_access(v, MSR_MTRRdefType, 0, false, &val);

		ksft_test_result(!gp && val == 0xc06, "the guest's RDMSR reads MTRRdefType\n");
		ksft_test_result(guest_access(v, MSR_MTRRdefType, 0x1006, true, NULL) == 1,
				 "the guest's WRMSR of a reserved MTRRdefType bit: #GP\n");
	}

	/* IA32_MISC_ENABLE: PEBS and BTS unavailable, read-only to the guest. */
	TEST_ASSERT(get_msr(v, MSR_IA32_MISC_ENABLE, &d) == 1, "MISC_ENABLE");
	ksft_test_result((d & ((1 << 11) | (1 << 12))) == ((1 << 11) | (1 << 12)),
			 "IA32_MISC_ENABLE after reset: BTS and PEBS unavailable (0x%llx)\n",
			 (unsigned long long)d);
	ksft_test_result(guest_access(v, MSR_IA32_MISC_ENABLE, 0, true, NULL) == 1,
			 "the guest clearing them: #GP\n");
	ksft_test_result(guest_access(v, MSR_IA32_MISC_ENABLE, d, true, NULL) == 0,
			 "the guest writing the same value: taken\n");
	CHECK_EQ(set_msr(v, MSR_IA32_MISC_ENABLE, 0), 1, "userspace may clear them");

	/* AMD HWCR: McStatusWrEn only. */
	CHECK_EQ(set_msr(v, MSR_K7_HWCR, 1ULL << 18), 1, "HWCR McStatusWrEn: taken");
	CHECK_EQ(set_msr(v, MSR_K7_HWCR, 1ULL << 20), 0, "HWCR another bit: refused");
	CHECK_EQ(set_msr(v, MSR_K7_HWCR, 0x148), 1, "HWCR's ignored bits (3, 6, 8): taken");
	/*
	 * TscFreqSel (bit 24), which Linux guests want set on some models:
	 * KVM takes it since 6.6 (6.1 refuses), ckvm as the newer KVM.
	 */
	{
		bool takes = is_ckvm() || kernel_at_least(6, 6);

		CHECK_EQ(set_msr(v, MSR_K7_HWCR, (1ULL << 24) | (1ULL << 18)), takes,
			 "HWCR TscFreqSel with McStatusWrEn: %s", takes ? "taken" : "refused (6.1)");
		TEST_ASSERT(get_msr(v, MSR_K7_HWCR, &d) == 1, "HWCR");
		CHECK_EQ(d, takes ? (1ULL << 24) | (1ULL << 18) : 1ULL << 18,
			 "HWCR reads back what was taken");
	}

	/*
	 * AMD platform MSRs that hold nothing, on either vendor as on KVM:
	 * a Linux guest reads SYSCFG (memory encryption, TOM2) at boot.
	 */
	{
		uint64_t val = ~0ULL;
		int gp = guest_access(v, MSR_AMD64_SYSCFG, 0, false, &val);

		ksft_test_result(!gp && val == 0,
				 "the guest's RDMSR of SYSCFG: 0, no #GP (#GP %d, 0x%llx)\n",
				 gp, (unsigned long long)val);
		ksft_test_result(guest_access(v, MSR_AMD64_SYSCFG, 1ULL << 23, true, NULL) == 1,
				 "the guest's WRMSR of SYSCFG: #GP\n");
		ksft_test_result(guest_access(v, MSR_AMD64_DC_CFG, 1ULL << 15, true, NULL) == 0,
				 "the guest's WRMSR of DC_CFG (an erratum bit): taken\n");
		gp = guest_access(v, MSR_AMD64_DC_CFG, 0, false, &val);
		ksft_test_result(!gp && val == 0, "...and DC_CFG still reads 0 (0x%llx)\n",
				 (unsigned long long)val);
	}
	/*
	 * IA32_APIC_BASE without an in-kernel local APIC: kept as written,
	 * for the guest too (its own value back, as Linux does at boot);
	 * reserved bits #GP.
	 */
	{
		uint64_t base = 0;
		int gp = guest_access(v, MSR_IA32_APICBASE, 0, false, &base);

		ksft_test_result(!gp && guest_access(v, MSR_IA32_APICBASE, base, true, NULL) == 0,
				 "no in-kernel APIC: the guest writes IA32_APIC_BASE back (0x%llx)\n",
				 (unsigned long long)base);
		ksft_test_result(guest_access(v, MSR_IA32_APICBASE, base | 1, true, NULL) == 1,
				 "...and a reserved bit: #GP\n");
	}
	TEST_ASSERT(get_msr(v, MSR_AMD64_SYSCFG, &d) == 1, "SYSCFG");
	CHECK_EQ(d, 0, "KVM_GET_MSRS reads SYSCFG as 0");
	CHECK_EQ(set_msr(v, MSR_FAM10H_MMIO_CONF_BASE, 0), 1, "MMIO_CONF_BASE takes 0");
	CHECK_EQ(set_msr(v, MSR_FAM10H_MMIO_CONF_BASE, 0x1), 0,
		 "MMIO_CONF_BASE refuses its enable bit");
	kvm_vm_free(vm);
}

static void test_mce(void)
{
	int kvm = kvm_open();
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *v = vcpu_add(vm, 0, guest_mce);
	uint64_t sup = 0, cap, d;
	struct kvm_x86_mce mce = {};
	struct kvm_sregs s;
	struct ucall uc;

	ksft_test_result(kvm_check_cap(KVM_CAP_MCE) == 32, "KVM_CAP_MCE: 32 banks\n");
	CHECK_OK(ioctl(kvm, KVM_X86_GET_MCE_CAP_SUPPORTED, &sup), "KVM_X86_GET_MCE_CAP_SUPPORTED");
	ksft_test_result((sup & MCG_CTL_P) && (sup & MCG_SER_P),
			 "supported: MCG_CTL_P and MCG_SER_P (0x%llx)\n", (unsigned long long)sup);
	close(kvm);

	cap = 0;
	CHECK_ERRNO(ioctl(v->fd, KVM_X86_SETUP_MCE, &cap), EINVAL, "KVM_X86_SETUP_MCE 0 banks -> EINVAL");
	cap = 33;
	CHECK_ERRNO(ioctl(v->fd, KVM_X86_SETUP_MCE, &cap), EINVAL, "33 banks -> EINVAL");
	cap = 10 | (1ULL << 40);
	CHECK_ERRNO(ioctl(v->fd, KVM_X86_SETUP_MCE, &cap), EINVAL,
		    "an unsupported capability bit -> EINVAL");
	cap = 10 | MCG_CTL_P | MCG_SER_P;
	CHECK_OK(ioctl(v->fd, KVM_X86_SETUP_MCE, &cap), "KVM_X86_SETUP_MCE: 10 banks, MCG_CTL_P, MCG_SER_P");
	TEST_ASSERT(get_msr(v, MSR_IA32_MCG_CAP, &d) == 1, "MCG_CAP");
	/* kvm_amd keeps bits 8:0 only: 63:9 are reserved on AMD. */
	CHECK_EQ(d, is_amd() ? cap & 0x1ff : cap,
		 "IA32_MCG_CAP is what was set up (AMD: bits 8:0 of it)");
	TEST_ASSERT(get_msr(v, MSR_IA32_MCG_CTL, &d) == 1, "MCG_CTL");
	CHECK_EQ(d, ~0ULL, "IA32_MCG_CTL all ones");
	TEST_ASSERT(get_msr(v, MSR_IA32_MC0_CTL + 4 * 9, &d) == 1, "MC9_CTL");
	CHECK_EQ(d, ~0ULL, "IA32_MC9_CTL all ones");
	CHECK_EQ(get_msr(v, MSR_IA32_MC0_CTL + 4 * 10, &d), 0, "IA32_MC10_CTL does not exist");
	CHECK_EQ(set_msr(v, MSR_IA32_MC0_CTL + 4, 0x1234), 0, "IA32_MC1_CTL takes only 0 or all ones");
	CHECK_EQ(set_msr(v, MSR_IA32_MCG_CTL, 0x1234), 0, "IA32_MCG_CTL takes only 0 or all ones");

	mce.bank = 10;
	mce.status = MCI_STATUS_VAL;
	CHECK_ERRNO(ioctl(v->fd, KVM_X86_SET_MCE, &mce), EINVAL, "KVM_X86_SET_MCE bank 10 of 10 -> EINVAL");
	mce.bank = 1;
	mce.status = 0;
	CHECK_ERRNO(ioctl(v->fd, KVM_X86_SET_MCE, &mce), EINVAL, "KVM_X86_SET_MCE without VAL -> EINVAL");

	/* A corrected error is logged, no #MC. */
	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "guest");
	mce.status = MCI_STATUS_VAL | MCI_STATUS_EN | 0x17;
	mce.addr = 0x1000;
	mce.misc = 0x86;
	CHECK_OK(ioctl(v->fd, KVM_X86_SET_MCE, &mce), "KVM_X86_SET_MCE: a corrected error in bank 1");
	TEST_ASSERT(get_msr(v, MSR_IA32_MC0_CTL + 4 + 1, &d) == 1, "MC1_STATUS");
	CHECK_EQ(d, mce.status, "IA32_MC1_STATUS logs it");
	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "guest");
	CHECK_EQ(uc.args[0], 0, "no #MC for a corrected error");

	/* An uncorrected one with CR4.MCE: #MC. */
	vcpu_get_sregs(v, &s);
	s.cr4 |= X86_CR4_MCE;
	vcpu_set_sregs(v, &s);
	mce.bank = 2;
	mce.status = MCI_STATUS_VAL | MCI_STATUS_UC | MCI_STATUS_EN | MCI_STATUS_PCC | 0x17;
	mce.mcg_status = MCG_STATUS_MCIP | MCG_STATUS_RIPV;
	CHECK_OK(ioctl(v->fd, KVM_X86_SET_MCE, &mce), "KVM_X86_SET_MCE: an uncorrected error in bank 2");
	TEST_ASSERT(get_msr(v, MSR_IA32_MCG_STATUS, &d) == 1, "MCG_STATUS");
	CHECK_EQ(d, mce.mcg_status, "IA32_MCG_STATUS: MCIP|RIPV");
	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "guest");
	CHECK_EQ(uc.args[0], 1, "the guest's #MC handler runs");
	/* A second while MCIP is set: the vCPU shuts down. */
	CHECK_OK(ioctl(v->fd, KVM_X86_SET_MCE, &mce), "KVM_X86_SET_MCE while MCIP is set");
	ksft_test_result(vcpu_run(v) == 0 && v->run->exit_reason == KVM_EXIT_SHUTDOWN,
			 "...shuts the vCPU down (exit %s)\n", exit_reason_str(v->run->exit_reason));
	kvm_vm_free(vm);
}

int main(void)
{
	ksft_print_header();
	ksft_set_plan(3 + 29 + 25);
	test_index_list();
	test_mtrr_misc();
	test_mce();
	return ksft_finished();
}
