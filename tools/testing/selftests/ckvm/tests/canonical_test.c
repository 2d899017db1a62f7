// SPDX-License-Identifier: GPL-2.0
/*
 * Addresses the guest's state holds that must be canonical or within its
 * physical-address width (issue 14, kind 1), on every path that stores
 * them: KVM_SET_MSRS (also what a VMM restores), the guest's WRMSR,
 * KVM_SET_SREGS, KVM_SET_REGS. The expected results are KVM's, measured
 * on Debian's 6.1 kvm_amd (QEMU TCG) and kvm_intel (Bochs):
 *
 *  - FS_BASE, GS_BASE, KERNEL_GS_BASE, LSTAR, CSTAR: a non-canonical value
 *    is refused (KVM_SET_MSRS sets none and stops; the guest gets #GP),
 *    KVM's check since CVE-2014-3610. VMX loads several into the host CPU.
 *    (Debian's 6.12 KVM judges KVM_SET_MSRS by the CPU's width: on a CPU
 *    with LA57 it takes a 57-bit canonical value without CR4.LA57.)
 *  - SYSENTER_ESP/EIP: made canonical instead (sign-extended); kvm_amd
 *    then keeps bits 31:0, as AMD CPUs do.
 *  - Segment and descriptor-table bases: KVM_SET_SREGS takes them; VM
 *    entry judges them (VMX: invalid guest state; SVM: runs). RIP:
 *    KVM_SET_REGS takes it; the fetch faults (#GP, a shutdown here).
 *  - IA32_APIC_BASE and CR3: bits from the guest's MAXPHYADDR up are
 *    reserved, MAXPHYADDR being CPUID 0x80000008's, 36 without one.
 */
#include "ckvm_util.h"

#define MSR_APIC_BASE		0x1b
#define MSR_SYSENTER_CS		0x174
#define MSR_SYSENTER_ESP	0x175
#define MSR_SYSENTER_EIP	0x176
#define X86_CR4_LA57		(1ULL << 12)

#define OLD		0x1000ULL
/* Canonical with 57 bits, not with 48. */
#define NONCANON48	0x0000800000000000ULL
/* Canonical with neither; bits 63:32 not 0 either. */
#define NONCANON	0x0100000000000000ULL
#define CANON_HI	0xffff800000001000ULL
#define CANON_LO	0x00007fffffff0000ULL

static const struct {
	uint32_t index;
	const char *name;
} addr_msrs[] = {
	{ MSR_FS_BASE, "FS_BASE" },
	{ MSR_GS_BASE, "GS_BASE" },
	{ MSR_KERNEL_GS_BASE, "KERNEL_GS_BASE" },
	{ MSR_LSTAR, "LSTAR" },
	{ MSR_CSTAR, "CSTAR" },
};
#define NR_ADDR_MSRS	(sizeof(addr_msrs) / sizeof(addr_msrs[0]))

struct msrs {
	struct kvm_msrs hdr;
	struct kvm_msr_entry e[4];
};

static int set_msrs(struct kvm_vcpu *v, struct msrs *m, int n)
{
	m->hdr.nmsrs = n;
	m->hdr.pad = 0;
	return ioctl(v->fd, KVM_SET_MSRS, m);
}

static int set_msr(struct kvm_vcpu *v, uint32_t index, uint64_t data)
{
	struct msrs m = { .e[0] = { .index = index, .data = data } };

	return set_msrs(v, &m, 1);
}

static uint64_t get_msr(struct kvm_vcpu *v, uint32_t index)
{
	struct msrs m = { .hdr.nmsrs = 1, .e[0] = { .index = index } };

	TEST_ASSERT(ioctl(v->fd, KVM_GET_MSRS, &m) == 1, "KVM_GET_MSRS 0x%x", index);
	return m.e[0].data;
}

/* ---- guest: WRMSR with a #GP handler that skips the instruction ---- */

struct idt_gate {
	uint16_t off0, sel;
	uint8_t ist, type;
	uint16_t off1;
	uint32_t off2, rsvd;
} __attribute__((packed));

static struct idt_gate idt[256] __attribute__((aligned(16)));
volatile uint64_t gp_count;

extern char gp_stub[];
asm(".pushsection .text\n"
    "gp_stub:\n"
    "	incq gp_count(%rip)\n"
    "	add $8, %rsp\n"		/* the error code */
    "	addq $2, (%rsp)\n"	/* past the 2-byte WRMSR */
    "	iretq\n"
    ".popsection\n");

static void guest_idt(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr;
	uint64_t a = (uint64_t)gp_stub;

	idt[13].off0 = a;
	idt[13].sel = SEL_CODE64;
	idt[13].type = 0x8e;
	idt[13].off1 = a >> 16;
	idt[13].off2 = a >> 32;
	idtr.limit = sizeof(idt) - 1;
	idtr.base = (uint64_t)idt;
	asm volatile("lidt %0" :: "m"(idtr));
}

/* The MSR the guest writes next (set by the host); 0: stop. */
volatile uint32_t next_msr;

/* For each MSR the host names: write @val, report #GPs and what reads back. */
static void guest_wrmsr(uint64_t val)
{
	guest_idt();
	for (;;) {
		uint32_t msr;
		uint64_t old, before;

		GUEST_SYNC(0);
		msr = next_msr;
		if (!msr)
			break;
		old = rdmsr(msr);
		before = gp_count;
		wrmsr(msr, val);
		GUEST_SYNC2(gp_count - before, rdmsr(msr));
		wrmsr(msr, old);
	}
	GUEST_DONE();
}

static void guest_sync(void)
{
	GUEST_SYNC(1);
	GUEST_DONE();
}

/* Let the guest write @msr (0: finish); run it to its next ucall. */
static int run_wrmsr(struct kvm_vcpu *v, uint32_t msr, struct ucall *uc)
{
	next_msr = msr;
	sync_global_to_guest(v->vm, next_msr);
	return vcpu_run_ucall(v, uc);
}

/* Does this (emulated) CPU have 5-level paging (CPUID.7.0:ECX[16])? */
static bool cpu_has_la57(void)
{
	uint32_t a, b, c, d;

	cpuid_count(7, 0, &a, &b, &c, &d);
	return c & (1u << 16);
}

static void test_host_msrs(void)
{
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *v = vcpu_add(vm, 0, guest_sync);
	struct msrs m = {};
	bool ok;
	unsigned int i;

	/* The smallest input of issue 14: one FS_BASE entry, non-canonical. */
	for (i = 0; i < NR_ADDR_MSRS; i++) {
		uint32_t msr = addr_msrs[i].index;
		int r1, r2;

		TEST_ASSERT(set_msr(v, msr, OLD) == 1, "SET_MSRS %s", addr_msrs[i].name);
		r1 = set_msr(v, msr, NONCANON48);
		/*
		 * 48-bit non-canonical but 57-bit canonical: on a CPU with
		 * LA57, KVM 6.1 (and ckvm) refuse it without CR4.LA57, KVM
		 * 6.12 takes it (it checks the CPU's width, as WRMSR does on
		 * such a CPU). Either; never a value canonical in neither.
		 */
		if (r1 == 1 && cpu_has_la57() && get_msr(v, msr) == NONCANON48)
			TEST_ASSERT(set_msr(v, msr, OLD) == 1, "SET_MSRS %s", addr_msrs[i].name);
		else if (r1 != 0)
			r1 = -1;
		r2 = set_msr(v, msr, NONCANON);
		ok = r1 >= 0 && r2 == 0 && get_msr(v, msr) == OLD;
		if (!ok)
			ksft_print_msg("%s: SET_MSRS returned %d, %d; reads 0x%llx",
				       addr_msrs[i].name, r1, r2,
				       (unsigned long long)get_msr(v, msr));
		ksft_test_result(ok, "KVM_SET_MSRS of a non-canonical %s sets none, keeps the old value\n",
				 addr_msrs[i].name);
	}
	ok = true;
	for (i = 0; i < NR_ADDR_MSRS; i++) {
		uint32_t msr = addr_msrs[i].index;

		ok &= set_msr(v, msr, CANON_HI) == 1 && get_msr(v, msr) == CANON_HI;
		ok &= set_msr(v, msr, CANON_LO) == 1 && get_msr(v, msr) == CANON_LO;
	}
	ksft_test_result(ok, "canonical values of all five are set and read back\n");

	/* KVM_SET_MSRS stops at the refused entry: what follows is not set. */
	set_msr(v, MSR_GS_BASE, OLD);
	m.e[0] = (struct kvm_msr_entry){ .index = MSR_LSTAR, .data = CANON_HI };
	m.e[1] = (struct kvm_msr_entry){ .index = MSR_FS_BASE, .data = NONCANON };
	m.e[2] = (struct kvm_msr_entry){ .index = MSR_GS_BASE, .data = CANON_LO };
	CHECK_EQ(set_msrs(v, &m, 3), 1, "SET_MSRS stops at the non-canonical entry (sets 1 of 3)");
	ksft_test_result(get_msr(v, MSR_LSTAR) == CANON_HI && get_msr(v, MSR_GS_BASE) == OLD,
			 "the entry before it is set, the one after it is not\n");

	/*
	 * SYSENTER_ESP/EIP: made canonical, not refused (measured): kvm_intel
	 * reads back the sign-extended value, kvm_amd its bits 31:0.
	 */
	{
		static const uint32_t idx[] = { MSR_SYSENTER_ESP, MSR_SYSENTER_EIP };
		static const char *const name[] = { "ESP", "EIP" };
		bool amd = host_is_amd();

		for (i = 0; i < 2; i++) {
			uint64_t a, b, c;
			int r = set_msr(v, idx[i], NONCANON48);

			a = get_msr(v, idx[i]);
			r += set_msr(v, idx[i], NONCANON);
			b = get_msr(v, idx[i]);
			r += set_msr(v, idx[i], CANON_HI);
			c = get_msr(v, idx[i]);
			ok = r == 3 && a == (amd ? 0 : 0xffff800000000000ULL) && b == 0 &&
			     c == (amd ? (uint32_t)CANON_HI : CANON_HI);
			if (!ok)
				ksft_print_msg("SYSENTER_%s: set %d of 3; reads 0x%llx 0x%llx 0x%llx",
					       name[i], r, (unsigned long long)a,
					       (unsigned long long)b, (unsigned long long)c);
			ksft_test_result(ok, "SYSENTER_%s from SET_MSRS is made canonical (%s: %s)\n",
					 name[i], amd ? "AMD" : "Intel",
					 amd ? "bits 31:0 kept" : "sign-extended");
		}
		/* Not an address, but the same restore path: kvm_intel keeps 32 bits. */
		set_msr(v, MSR_SYSENTER_CS, 0x0000001200001234ULL);
		CHECK_EQ(get_msr(v, MSR_SYSENTER_CS),
			 amd ? 0x0000001200001234ULL : 0x1234ULL,
			 "SYSENTER_CS keeps what the vendor's KVM keeps");
	}

	/* After all of it the vCPU runs (and the host stayed intact). */
	{
		struct ucall uc;

		ksft_test_result(vcpu_run_ucall(v, &uc) == UCALL_SYNC,
				 "the vCPU runs after the refused writes\n");
	}
	kvm_vm_free(vm);
}

static void test_guest_wrmsr(void)
{
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *v = vcpu_add(vm, 0, guest_wrmsr);
	bool amd = host_is_amd();
	struct ucall uc;
	unsigned int i;
	int r;

	vcpu_args_set(v, 1, NONCANON);
	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "guest start");
	for (i = 0; i < NR_ADDR_MSRS; i++) {
		r = run_wrmsr(v, addr_msrs[i].index, &uc);
		TEST_ASSERT(r == UCALL_SYNC, "guest WRMSR %s", addr_msrs[i].name);
		if (uc.args[0] == 1 && uc.args[1] != NONCANON) {
			ksft_test_result(true, "guest WRMSR of a non-canonical %s: #GP, not stored\n",
					 addr_msrs[i].name);
		} else if (amd && uc.args[0] == 0 && uc.args[1] == NONCANON) {
			/*
			 * SVM passes these MSRs to the CPU (kvm_amd too), so
			 * the CPU checks. Measured: QEMU's TCG does not.
			 */
			ksft_test_result_skip("guest WRMSR of a non-canonical %s: not intercepted on AMD, and this CPU (QEMU TCG) takes it without #GP\n",
					      addr_msrs[i].name);
		} else {
			ksft_print_msg("%s: %llu #GP, reads 0x%llx", addr_msrs[i].name,
				       (unsigned long long)uc.args[0],
				       (unsigned long long)uc.args[1]);
			ksft_test_result(false, "guest WRMSR of a non-canonical %s: #GP, not stored\n",
					 addr_msrs[i].name);
		}
		TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "guest loop");
	}
	/*
	 * SYSENTER_ESP/EIP are the CPU's on both vendors (not intercepted,
	 * as in KVM): Intel's refuses a non-canonical one, AMD's does not.
	 */
	{
		uint64_t gp = 0;
		bool stored = false;

		for (i = 0; i < 2; i++) {
			r = run_wrmsr(v, MSR_SYSENTER_ESP + i, &uc);
			TEST_ASSERT(r == UCALL_SYNC, "guest WRMSR SYSENTER");
			gp += uc.args[0];
			stored |= uc.args[1] == NONCANON;
			TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "guest loop");
		}
		/* What an AMD CPU keeps of it varies (QEMU: 64 bits, AMD's: 32). */
		ksft_test_result(amd ? gp == 0 : gp == 2 && !stored,
				 "guest WRMSR of a non-canonical SYSENTER_ESP/EIP: %s (%llu #GP)\n",
				 amd ? "taken on AMD" : "#GP on Intel",
				 (unsigned long long)gp);
	}
	r = run_wrmsr(v, 0, &uc);
	ksft_test_result(r == UCALL_DONE, "the guest finishes after its refused writes\n");
	kvm_vm_free(vm);
}

/* With 5-level paging a 57-bit canonical address is canonical. */
static void test_la57(void)
{
	struct kvm_cpuid2 *c = kvm_get_supported_cpuid();
	struct kvm_sregs s;
	struct kvm_vm *vm;
	struct kvm_vcpu *v;
	bool la57 = false;
	unsigned int i;
	int r1, r2;

	for (i = 0; i < c->nent; i++)
		if (c->entries[i].function == 7 && c->entries[i].index == 0)
			la57 = c->entries[i].ecx & (1u << 16);
	free(c);
	if (!la57) {
		ksft_test_result_skip("LA57: 5-level paging not in KVM_GET_SUPPORTED_CPUID (ckvm does not offer it yet; Bochs's CPU lacks it)\n");
		return;
	}
	vm = vm_create();
	v = vcpu_add(vm, 0, guest_sync);
	vcpu_get_sregs(v, &s);
	s.cr4 |= X86_CR4_LA57;
	vcpu_set_sregs(v, &s);
	set_msr(v, MSR_FS_BASE, OLD);
	r1 = set_msr(v, MSR_FS_BASE, NONCANON48);
	r2 = set_msr(v, MSR_FS_BASE, NONCANON);
	ksft_test_result(r1 == 1 && r2 == 0 && get_msr(v, MSR_FS_BASE) == NONCANON48,
			 "with CR4.LA57, a 57-bit canonical FS_BASE is set, a non-canonical one not (%d %d)\n",
			 r1, r2);
	kvm_vm_free(vm);
}

/*
 * KVM_SET_SREGS takes any base (measured on both vendors); VM entry is
 * the judge: on Intel it fails with "invalid guest state" (exit reason
 * 33 with bit 31), on AMD (QEMU's VMRUN) the guest runs.
 */
#define FAIL_ENTRY_INVALID_STATE	0x80000021ULL

static void test_sregs_bases(void)
{
	static const char *const name[] = {
		"CS", "DS", "SS", "FS", "GS", "TR", "LDTR", "GDTR", "IDTR", "RIP",
	};
	bool amd = host_is_amd();
	unsigned int k;

	for (k = 0; k < sizeof(name) / sizeof(name[0]); k++) {
		struct kvm_vm *vm = vm_create();
		struct kvm_vcpu *v = vcpu_add(vm, 0, guest_sync);
		struct kvm_sregs s;
		struct kvm_regs regs;
		__u64 *f, *g;
		int set, run;
		bool ok;

		vcpu_get_sregs(v, &s);
		vcpu_get_regs(v, &regs);
		f = k == 0 ? &s.cs.base : k == 1 ? &s.ds.base : k == 2 ? &s.ss.base :
		    k == 3 ? &s.fs.base : k == 4 ? &s.gs.base : k == 5 ? &s.tr.base :
		    k == 6 ? &s.ldt.base : k == 7 ? &s.gdt.base : k == 8 ? &s.idt.base :
		    &regs.rip;
		*f = NONCANON;
		errno = 0;
		set = k == 9 ? ioctl(v->fd, KVM_SET_REGS, &regs) : ioctl(v->fd, KVM_SET_SREGS, &s);
		*f = 0;
		vcpu_get_sregs(v, &s);
		vcpu_get_regs(v, &regs);
		g = k == 9 ? &regs.rip : f;
		run = vcpu_run(v);
		if (k == 9)	/* a non-canonical RIP: #GP, no IDT: shutdown */
			ok = !run && v->run->exit_reason == KVM_EXIT_SHUTDOWN;
		else if (amd)
			ok = !run && v->run->exit_reason == KVM_EXIT_IO;
		else
			ok = !run && v->run->exit_reason == KVM_EXIT_FAIL_ENTRY &&
			     v->run->fail_entry.hardware_entry_failure_reason ==
			     FAIL_ENTRY_INVALID_STATE;
		ok &= set == 0 && *g == NONCANON;
		if (!ok)
			ksft_print_msg("%s: set %d (errno %d), reads 0x%llx; run %d exit %u (%s) reason 0x%llx",
				       name[k], set, errno, (unsigned long long)*g, run,
				       v->run->exit_reason, exit_reason_str(v->run->exit_reason),
				       (unsigned long long)v->run->fail_entry.hardware_entry_failure_reason);
		ksft_test_result(ok, "non-canonical %s %s: taken; KVM_RUN %s\n", name[k],
				 k == 9 ? "from SET_REGS" : "base from SET_SREGS",
				 k == 9 ? "shuts the guest down (#GP)" :
				 amd ? "runs (VMRUN takes it)" : "fails entry (invalid guest state)");
		kvm_vm_free(vm);
	}
}

/* Bits from the guest's MAXPHYADDR up are reserved in APIC_BASE and CR3. */
static void test_maxphyaddr(void)
{
	struct kvm_cpuid2 *c = kvm_get_supported_cpuid();
	struct kvm_sregs s;
	struct kvm_vm *vm;
	struct kvm_vcpu *v;
	unsigned int i, host_bits = 36;
	bool ok;

	for (i = 0; i < c->nent; i++)
		if (c->entries[i].function == 0x80000008)
			host_bits = c->entries[i].eax & 0xff;

	/* Before KVM_SET_CPUID2 the guest's MAXPHYADDR is 36 (measured). */
	vm = vm_create();
	v = vcpu_create(vm, 0);
	ok = set_msr(v, MSR_APIC_BASE, 0xfee00900ULL | 1ULL << 35) == 1 &&
	     set_msr(v, MSR_APIC_BASE, 0xfee00900ULL | 1ULL << 36) == 0 &&
	     get_msr(v, MSR_APIC_BASE) == (0xfee00900ULL | 1ULL << 35);
	ksft_test_result(ok, "before KVM_SET_CPUID2: APIC_BASE bit 35 is set, bit 36 is reserved\n");
	set_msr(v, MSR_APIC_BASE, 0xfee00900ULL);
	/*
	 * Debian 13's kvm_amd (6.12.118) refuses long mode before
	 * KVM_SET_CPUID2 (no CPUID LM; measured): the reference skips.
	 */
	if (__vcpu_setup_long_mode(v) && !is_ckvm()) {
		ksft_test_result_skip("CR3 bit 36 in long mode before KVM_SET_CPUID2: the reference refuses long mode without CPUID LM\n");
	} else {
		vcpu_get_sregs(v, &s);
		s.cr3 = PML4_GPA | 1ULL << 36;
		CHECK_ERRNO(ioctl(v->fd, KVM_SET_SREGS, &s), EINVAL,
			    "before KVM_SET_CPUID2: CR3 bit 36 in long mode -> EINVAL");
	}
	kvm_vm_free(vm);

	/* With the supported CPUID: the host's width. */
	vm = vm_create();
	v = vcpu_create(vm, 0);
	vcpu_set_cpuid_host(v);
	ok = host_bits > 36 && host_bits < 52 &&
	     set_msr(v, MSR_APIC_BASE, 0xfee00900ULL | 1ULL << (host_bits - 1)) == 1 &&
	     set_msr(v, MSR_APIC_BASE, 0xfee00900ULL | 1ULL << host_bits) == 0;
	ksft_test_result(ok, "with the supported CPUID: APIC_BASE bit %u is set, bit %u reserved\n",
			 host_bits - 1, host_bits);
	kvm_vm_free(vm);

	/* A model with a 36-bit MAXPHYADDR: SET_SREGS refuses bit 36 too. */
	for (i = 0; i < c->nent; i++)
		if (c->entries[i].function == 0x80000008)
			c->entries[i].eax = (c->entries[i].eax & ~0xffu) | 36;
	vm = vm_create();
	v = vcpu_create(vm, 0);
	TEST_ASSERT(!ioctl(v->fd, KVM_SET_CPUID2, c), "KVM_SET_CPUID2");
	vcpu_setup_long_mode(v);
	vcpu_get_sregs(v, &s);
	s.apic_base = 0xfee00900ULL | 1ULL << 36;
	CHECK_ERRNO(ioctl(v->fd, KVM_SET_SREGS, &s), EINVAL,
		    "MAXPHYADDR 36: SET_SREGS with APIC_BASE bit 36 -> EINVAL");
	s.apic_base = 0xfee00900ULL;
	s.cr3 = PML4_GPA | 1ULL << 36;
	CHECK_ERRNO(ioctl(v->fd, KVM_SET_SREGS, &s), EINVAL,
		    "MAXPHYADDR 36: SET_SREGS with CR3 bit 36 -> EINVAL");
	kvm_vm_free(vm);
	free(c);
}

int main(void)
{
	ksft_print_header();
	kvm_open();
	ksft_set_plan(NR_ADDR_MSRS + 7 + NR_ADDR_MSRS + 2 + 1 + 10 + 5);
	test_host_msrs();
	test_guest_wrmsr();
	test_la57();
	test_sregs_bases();
	test_maxphyaddr();
	return ksft_finished();
}
