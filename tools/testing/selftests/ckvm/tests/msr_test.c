// SPDX-License-Identifier: GPL-2.0
/*
 * MSR and MP-state ioctls: KVM_GET_MSR_INDEX_LIST, KVM_GET_MSRS,
 * KVM_SET_MSRS, KVM_GET_MP_STATE, KVM_SET_MP_STATE. Every upstream
 * selftest and QEMU use them on every vCPU.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#include "ckvm_util.h"

#define MSR_EFER	0xc0000080
#define MSR_STAR	0xc0000081
#define MSR_LSTAR	0xc0000082
#define MSR_BOGUS	0xdeadbeef
#define MSR_UCODE_REV	0x8b
#define MSR_TSC		0x10
#define MSR_TSC_ADJUST	0x3b
/* Generous: 2^36 cycles is over a minute of emulated time at 1 GHz. */
#define TSC_SLACK	(1ULL << 36)
#define TSC_SET		(1ULL << 40)
#define TSC_ADJ		(1ULL << 38)
#define MSR_PLATFORM_INFO	0xce
#define PLATFORM_INFO_VAL	0x0000000000002800ULL	/* max ratio 0x28 */

static void guest_code(void)
{
	/* The host set LSTAR before the first run. */
	GUEST_SYNC(rdmsr(MSR_LSTAR));
	wrmsr(MSR_STAR, 0x0023001000000000ull);
	GUEST_DONE();
}

static uint64_t guest_rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static void guest_tsc(void)
{
	GUEST_SYNC(guest_rdtsc());
	/* A guest write of TSC_ADJUST moves the TSC by the difference. */
	wrmsr(MSR_TSC_ADJUST, TSC_ADJ);
	GUEST_SYNC(guest_rdtsc());
	GUEST_DONE();
}

static void guest_platform_info(void)
{
	/* Nobody set this vCPU's TSC: RDTSC counts from 0 too. */
	GUEST_SYNC(guest_rdtsc());
	GUEST_SYNC(rdmsr(MSR_PLATFORM_INFO));
	/* The host turned reading off: #GP, and with no IDT a shutdown. */
	GUEST_SYNC(rdmsr(MSR_PLATFORM_INFO));
}

struct msrs {
	struct kvm_msrs hdr;
	struct kvm_msr_entry e[4];
};

static int msr_io(struct kvm_vcpu *v, unsigned long ioctl_nr, struct msrs *m,
		  int n)
{
	m->hdr.nmsrs = n;
	m->hdr.pad = 0;
	return ioctl(v->fd, ioctl_nr, m);
}

int main(void)
{
	struct kvm_msr_list *list;
	struct kvm_mp_state mp;
	struct kvm_vm *vm;
	struct kvm_vcpu *v;
	struct msrs m = {};
	struct kvm_msrs *big;
	struct ucall uc;
	bool star = false, lstar = false;
	unsigned int i;
	int kvm, r;

	ksft_print_header();
	ksft_set_plan(41);
	kvm = kvm_open();

	/* KVM_GET_MSR_INDEX_LIST */
	list = calloc(1, sizeof(*list) + 1024 * sizeof(uint32_t));
	list->nmsrs = 0;
	CHECK_ERRNO(ioctl(kvm, KVM_GET_MSR_INDEX_LIST, list), E2BIG,
		    "MSR index list with nmsrs=0 -> E2BIG");
	ksft_test_result(list->nmsrs > 0, "E2BIG reports the needed count (%u)\n",
			 list->nmsrs);
	list->nmsrs = 1024;
	CHECK_OK(ioctl(kvm, KVM_GET_MSR_INDEX_LIST, list), "MSR index list");
	for (i = 0; i < list->nmsrs && i < 1024; i++) {
		star |= list->indices[i] == MSR_STAR;
		lstar |= list->indices[i] == MSR_LSTAR;
	}
	ksft_test_result(star && lstar, "index list names STAR and LSTAR\n");
	CHECK_ERRNO(ioctl(kvm, KVM_GET_MSR_INDEX_LIST, NULL), EFAULT,
		    "MSR index list, NULL pointer -> EFAULT");

	/* Feature MSRs: a list on /dev/kvm, each readable there. */
	ksft_test_result(kvm_check_cap(KVM_CAP_GET_MSR_FEATURES) > 0,
			 "KVM_CAP_GET_MSR_FEATURES\n");
	list->nmsrs = 0;
	CHECK_ERRNO(ioctl(kvm, KVM_GET_MSR_FEATURE_INDEX_LIST, list), E2BIG,
		    "feature list with nmsrs=0 -> E2BIG");
	list->nmsrs = 1024;
	CHECK_OK(ioctl(kvm, KVM_GET_MSR_FEATURE_INDEX_LIST, list), "feature list");
	{
		unsigned int ok = 0;

		for (i = 0; i < list->nmsrs && i < 1024; i++) {
			m.e[0].index = list->indices[i];
			m.hdr.nmsrs = 1;
			ok += ioctl(kvm, KVM_GET_MSRS, &m) == 1;
		}
		ksft_test_result(list->nmsrs && ok == list->nmsrs,
				 "every feature MSR reads on /dev/kvm (%u of %u)\n",
				 ok, list->nmsrs);
	}
	m.e[0].index = MSR_BOGUS;
	m.hdr.nmsrs = 1;
	CHECK_EQ(ioctl(kvm, KVM_GET_MSRS, &m), 0,
		 "/dev/kvm GET_MSRS of a non-feature MSR reads none");

	vm = vm_create();
	v = vcpu_add(vm, 0, guest_code);

	/*
	 * The microcode revision a vCPU starts with is made up, per vendor
	 * (kvm_amd: 0x01000065, kvm_intel: 0x100000000); the host may set it.
	 */
	{
		uint32_t a, b, c, d;

		cpuid_count(0, 0, &a, &b, &c, &d);
		m.e[0].index = MSR_UCODE_REV;
		r = msr_io(v, KVM_GET_MSRS, &m, 1);
		CHECK_EQ(r == 1 ? m.e[0].data : 0,
			 b == 0x68747541 ? 0x01000065ull : 0x100000000ull,
			 "vCPU UCODE_REV starts at the vendor's made-up value");
	}
	m.e[0].data = 0x42;
	r = msr_io(v, KVM_SET_MSRS, &m, 1);
	m.e[0].data = 0;
	msr_io(v, KVM_GET_MSRS, &m, 1);
	CHECK_EQ(r == 1 ? m.e[0].data : 0, 0x42, "host sets UCODE_REV");

	/* KVM_SET_MSRS / KVM_GET_MSRS */
	m.e[0].index = MSR_LSTAR;
	m.e[0].data = 0xffffffff81234560ull;
	r = msr_io(v, KVM_SET_MSRS, &m, 1);
	CHECK_EQ(r, 1, "SET_MSRS of LSTAR sets 1");
	m.e[0].data = 0;
	r = msr_io(v, KVM_GET_MSRS, &m, 1);
	ksft_test_result(r == 1 && m.e[0].data == 0xffffffff81234560ull,
			 "GET_MSRS reads LSTAR back (r=%d data=%llx)\n", r,
			 (unsigned long long)m.e[0].data);

	m.e[0].index = MSR_LSTAR;
	m.e[0].data = 0xffffffff81234560ull;
	m.e[1].index = MSR_BOGUS;
	m.e[2].index = MSR_STAR;
	r = msr_io(v, KVM_SET_MSRS, &m, 3);
	CHECK_EQ(r, 1, "SET_MSRS stops at an unknown MSR");
	r = msr_io(v, KVM_GET_MSRS, &m, 3);
	CHECK_EQ(r, 1, "GET_MSRS stops at an unknown MSR");

	m.e[0].index = MSR_EFER;
	m.e[0].data = 1ull << 1;	/* reserved */
	CHECK_EQ(msr_io(v, KVM_SET_MSRS, &m, 1), 0,
		 "SET_MSRS refuses a reserved EFER bit");

	big = calloc(1, sizeof(*big) + 256 * sizeof(struct kvm_msr_entry));
	big->nmsrs = 256;
	CHECK_ERRNO(ioctl(v->fd, KVM_GET_MSRS, big), E2BIG,
		    "GET_MSRS with 256 entries -> E2BIG");
	CHECK_ERRNO(ioctl(v->fd, KVM_SET_MSRS, NULL), EFAULT,
		    "SET_MSRS, NULL pointer -> EFAULT");
	m.hdr.nmsrs = 1;
	CHECK_ERRNO(ioctl(v->fd, KVM_GET_MSRS, (void *)8), EFAULT,
		    "GET_MSRS, bad pointer -> EFAULT");

	/* The guest sees what the host set, the host what the guest wrote. */
	ksft_test_result(vcpu_run_ucall(v, &uc) == UCALL_SYNC &&
			 uc.args[0] == 0xffffffff81234560ull,
			 "guest RDMSR LSTAR sees the host's value (%llx)\n",
			 (unsigned long long)uc.args[0]);
	ksft_test_result(vcpu_run_ucall(v, &uc) == UCALL_DONE, "guest done\n");
	m.e[0].index = MSR_STAR;
	m.e[0].data = 0;
	r = msr_io(v, KVM_GET_MSRS, &m, 1);
	ksft_test_result(r == 1 && m.e[0].data == 0x0023001000000000ull,
			 "GET_MSRS sees the guest's WRMSR STAR (%llx)\n",
			 (unsigned long long)m.e[0].data);

	/* KVM_GET_MP_STATE / KVM_SET_MP_STATE without an in-kernel irqchip */
	ksft_test_result(kvm_check_cap(KVM_CAP_MP_STATE) > 0,
			 "KVM_CAP_MP_STATE\n");
	mp.mp_state = 1234;
	CHECK_OK(ioctl(v->fd, KVM_GET_MP_STATE, &mp), "GET_MP_STATE");
	CHECK_EQ(mp.mp_state, KVM_MP_STATE_RUNNABLE, "vCPU is runnable");
	mp.mp_state = KVM_MP_STATE_RUNNABLE;
	CHECK_OK(ioctl(v->fd, KVM_SET_MP_STATE, &mp), "SET_MP_STATE runnable");
	mp.mp_state = KVM_MP_STATE_HALTED;
	CHECK_ERRNO(ioctl(v->fd, KVM_SET_MP_STATE, &mp), EINVAL,
		    "SET_MP_STATE halted without irqchip -> EINVAL");

	kvm_vm_free(vm);

	/* The TSC: KVM's offset semantics (the guest's TSC starts at 0). */
	vm = vm_create();
	v = vcpu_add(vm, 0, guest_tsc);
	m.e[0].index = MSR_TSC;
	r = msr_io(v, KVM_GET_MSRS, &m, 1);
	ksft_test_result(r == 1 && m.e[0].data < TSC_SLACK,
			 "a new vCPU's TSC starts near 0 (%llx)\n",
			 (unsigned long long)m.e[0].data);
	m.e[0].data = TSC_SET;
	CHECK_EQ(msr_io(v, KVM_SET_MSRS, &m, 1), 1, "host sets IA32_TSC");
	m.e[0].index = MSR_TSC_ADJUST;
	m.e[0].data = 123;
	msr_io(v, KVM_SET_MSRS, &m, 1);
	m.e[0].index = MSR_TSC;
	m.e[1].index = MSR_TSC_ADJUST;
	r = msr_io(v, KVM_GET_MSRS, &m, 2);
	ksft_test_result(r == 2 && m.e[0].data >= TSC_SET &&
			 m.e[0].data < TSC_SET + TSC_SLACK && m.e[1].data == 123,
			 "TSC reads what the host set; a host TSC_ADJUST write leaves it (%llx, %llx)\n",
			 (unsigned long long)m.e[0].data,
			 (unsigned long long)m.e[1].data);
	m.e[0].index = MSR_TSC_ADJUST;
	m.e[0].data = 0;
	msr_io(v, KVM_SET_MSRS, &m, 1);
	r = vcpu_run_ucall(v, &uc);
	ksft_test_result(r == UCALL_SYNC && uc.args[0] >= TSC_SET &&
			 uc.args[0] < TSC_SET + TSC_SLACK,
			 "guest RDTSC sees the host's TSC (%llx)\n",
			 (unsigned long long)uc.args[0]);
	r = vcpu_run_ucall(v, &uc);
	ksft_test_result(r == UCALL_SYNC && uc.args[0] >= TSC_SET + TSC_ADJ &&
			 uc.args[0] < TSC_SET + TSC_ADJ + TSC_SLACK,
			 "guest TSC_ADJUST write moved the TSC (%llx)\n",
			 (unsigned long long)uc.args[0]);
	m.e[0].index = MSR_TSC_ADJUST;
	r = msr_io(v, KVM_GET_MSRS, &m, 1);
	CHECK_EQ(r == 1 ? m.e[0].data : 0, TSC_ADJ, "host reads the guest's TSC_ADJUST");
	ksft_test_result(vcpu_run_ucall(v, &uc) == UCALL_DONE, "TSC guest done\n");
	kvm_vm_free(vm);

	/* MSR_PLATFORM_INFO: set by the host, readable by the guest unless
	 * KVM_CAP_MSR_PLATFORM_INFO turns that off. */
	ksft_test_result(kvm_check_cap(KVM_CAP_MSR_PLATFORM_INFO) > 0,
			 "KVM_CAP_MSR_PLATFORM_INFO\n");
	vm = vm_create();
	v = vcpu_add(vm, 0, guest_platform_info);
	m.e[0].index = MSR_PLATFORM_INFO;
	m.e[0].data = PLATFORM_INFO_VAL;
	CHECK_EQ(msr_io(v, KVM_SET_MSRS, &m, 1), 1, "host sets MSR_PLATFORM_INFO");
	r = vcpu_run_ucall(v, &uc);
	{
		/*
		 * The host's TSC counts since the machine booted (seconds),
		 * the vCPU's since it was created (milliseconds ago): a guest
		 * that saw the host's TSC would be near it, not below half.
		 */
		uint64_t host = guest_rdtsc();

		ksft_test_result(r == UCALL_SYNC && uc.args[0] < host / 2,
				 "guest RDTSC of a new vCPU counts from 0 (%llx, host %llx)\n",
				 (unsigned long long)uc.args[0],
				 (unsigned long long)host);
	}
	r = vcpu_run_ucall(v, &uc);
	ksft_test_result(r == UCALL_SYNC && uc.args[0] == PLATFORM_INFO_VAL,
			 "guest reads the host's MSR_PLATFORM_INFO (%llx)\n",
			 (unsigned long long)uc.args[0]);
	{
		struct kvm_enable_cap cap = {
			.cap = KVM_CAP_MSR_PLATFORM_INFO, .args = { 0 },
		};

		CHECK_OK(ioctl(vm->fd, KVM_ENABLE_CAP, &cap),
			 "KVM_ENABLE_CAP(MSR_PLATFORM_INFO, 0)");
	}
	vcpu_run(v);
	CHECK_EQ(v->run->exit_reason, KVM_EXIT_SHUTDOWN,
		 "guest RDMSR after it is turned off: #GP (shutdown without IDT)");
	kvm_vm_free(vm);
	return ksft_finished();
}
