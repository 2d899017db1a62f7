// SPDX-License-Identifier: GPL-2.0
/*
 * CPUID: the table KVM_GET_SUPPORTED_CPUID reports (the host's CPUID with
 * everything ckvm cannot virtualise masked out), the per-vCPU table set by
 * KVM_SET_CPUID2, and the guest's CPUID instruction answered from it.
 *
 * The masks below are allow-lists: a feature the guest can see is one
 * ckvm knows it runs correctly, never one that merely happens to be on
 * the host.
 */
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/cpufeature.h>
#include <asm/fpu/api.h>
#include <asm/fpu/xcr.h>
#include <asm/fpu/xstate.h>
#include <asm/kvm_para.h>
#include <asm/msr-index.h>
#include <asm/processor.h>

#include "ckvm.h"
#include "x86_ops.h"
#include "trace.h"
#include "cpuid.h"
#include "x86_state.h"

/* The bit of a feature flag within its CPUID register. */
#define F(name)		BIT(X86_FEATURE_##name & 31)

#define CPUID_1_ECX	(F(XMM3) | F(PCLMULQDQ) | F(SSSE3) | F(FMA) | \
			 F(CX16) | F(PCID) | F(XMM4_1) | F(XMM4_2) | \
			 F(MOVBE) | F(POPCNT) | F(AES) | F(XSAVE) | F(AVX) | \
			 F(F16C) | F(RDRAND))
#define CPUID_1_EDX	(F(FPU) | F(VME) | F(DE) | F(PSE) | F(TSC) | \
			 F(MSR) | F(PAE) | F(MCE) | F(CX8) | F(APIC) | \
			 F(SEP) | F(MTRR) | F(PGE) | F(MCA) | F(CMOV) | \
			 F(PAT) | F(PSE36) | \
			 F(CLFLUSH) | F(MMX) | F(FXSR) | F(XMM) | F(XMM2))
#define CPUID_7_EBX	(F(FSGSBASE) | F(BMI1) | F(AVX2) | F(SMEP) | \
			 F(BMI2) | F(ERMS) | F(INVPCID) | F(AVX512F) | \
			 F(AVX512DQ) | F(RDSEED) | F(ADX) | F(SMAP) | \
			 F(AVX512IFMA) | F(CLFLUSHOPT) | F(CLWB) | \
			 F(AVX512CD) | F(SHA_NI) | F(AVX512BW) | F(AVX512VL))
#define CPUID_7_ECX	(F(AVX512VBMI) | F(AVX512_VBMI2) | F(GFNI) | \
			 F(VAES) | F(VPCLMULQDQ) | F(AVX512_VNNI) | \
			 F(AVX512_BITALG) | F(AVX512_VPOPCNTDQ))
#define CPUID_7_EDX	(F(FSRM))
#define CPUID_8_1_ECX	(F(LAHF_LM) | F(ABM) | F(SSE4A) | F(MISALIGNSSE) | \
			 F(3DNOWPREFETCH) | F(XOP) | F(FMA4) | F(TBM))
/* On AMD, 0x80000001.EDX repeats these bits of leaf 1's EDX. */
#define CPUID_8_1_EDX	(F(SYSCALL) | F(NX) | F(MMXEXT) | F(FXSR_OPT) | \
			 F(GBPAGES) | F(LM) | F(3DNOWEXT) | F(3DNOW) | \
			 (CPUID_1_EDX & 0x0183f3ff))
#define CPUID_D_1_EAX	(F(XSAVEOPT) | F(XSAVEC) | F(XGETBV1))

#define XCR0_VIRTUALISABLE	(XFEATURE_MASK_FPSSE | XFEATURE_MASK_YMM | \
				 XFEATURE_MASK_AVX512)

static struct kvm_cpuid_entry2 supported[CKVM_MAX_CPUID_ENTRIES];
static int supported_nent;
static u64 supported_xcr0;

static struct kvm_cpuid_entry2 *add_leaf(u32 function, u32 index, u32 flags)
{
	struct kvm_cpuid_entry2 *e;

	if (WARN_ON_ONCE(supported_nent >= CKVM_MAX_CPUID_ENTRIES))
		return NULL;
	e = &supported[supported_nent++];
	e->function = function;
	e->index = index;
	e->flags = flags;
	cpuid_count(function, index, &e->eax, &e->ebx, &e->ecx, &e->edx);
	return e;
}

/* Bytes an XSAVE image needs for the features in @xcr0 (standard format). */
static u32 xstate_size(u64 xcr0)
{
	u32 size = 512 + 64, eax, ebx, ecx, edx;
	int i;

	for (i = 2; i < 64; i++) {
		if (!(xcr0 & BIT_ULL(i)))
			continue;
		cpuid_count(0xd, i, &eax, &ebx, &ecx, &edx);
		size = max(size, eax + ebx);
	}
	return size;
}

static void build_xsave_leaves(void)
{
	struct kvm_cpuid_entry2 *e;
	int i;

	supported_xcr0 = xgetbv(XCR_XFEATURE_ENABLED_MASK) & XCR0_VIRTUALISABLE;
	e = add_leaf(0xd, 0, KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
	e->eax = (u32)supported_xcr0;
	e->edx = supported_xcr0 >> 32;
	e->ebx = xstate_size(supported_xcr0);
	e->ecx = e->ebx;
	e = add_leaf(0xd, 1, KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
	e->eax &= CPUID_D_1_EAX;
	e->ebx = e->ecx = e->edx = 0;
	for (i = 2; i < 64; i++) {
		if (!(supported_xcr0 & BIT_ULL(i)))
			continue;
		e = add_leaf(0xd, i, KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
		e->ecx = 0;
		e->edx = 0;
	}
}

int ckvm_cpuid_init(void)
{
	struct kvm_cpuid_entry2 *e;
	u32 max_basic = min(cpuid_eax(0), 0xdu);
	u32 max_ext = min(cpuid_eax(0x80000000), 0x80000008u);
	u32 f;

	supported_nent = 0;
	e = add_leaf(0, 0, 0);
	e->eax = max_basic;

	e = add_leaf(1, 0, 0);
	e->ebx &= 0x00ffffff;		/* APIC ID: userspace's to set */
	/* The in-kernel local APIC has x2APIC whatever the host has. */
	e->ecx = (e->ecx & CPUID_1_ECX) | F(HYPERVISOR) | F(X2APIC);
	e->edx &= CPUID_1_EDX;

	if (max_basic >= 7) {
		e = add_leaf(7, 0, KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
		e->eax = 0;
		/* IA32_TSC_ADJUST is emulated, whatever the host has. */
		e->ebx = (e->ebx & CPUID_7_EBX) | F(TSC_ADJUST);
		/* Shadow paging intercepts INVPCID without decoding it. */
		if (!ckvm_tdp)
			e->ebx &= ~F(INVPCID);
		e->ecx &= CPUID_7_ECX;
		e->edx &= CPUID_7_EDX;
	}
	if (max_basic >= 0xd)
		build_xsave_leaves();

	/*
	 * The hypervisor leaves: KVM's signature, so guests and tools know
	 * where they run, and the paravirtual features ckvm implements
	 * (x86/kvmclock.c).
	 */
	e = &supported[supported_nent++];
	memset(e, 0, sizeof(*e));
	e->function = KVM_CPUID_SIGNATURE;
	e->eax = KVM_CPUID_FEATURES;
	memcpy(&e->ebx, "KVMK", 4);
	memcpy(&e->ecx, "VMKV", 4);
	memcpy(&e->edx, "M\0\0\0", 4);
	e = &supported[supported_nent++];
	memset(e, 0, sizeof(*e));
	e->function = KVM_CPUID_FEATURES;
	e->eax = ckvm_kvmclock_cpuid_features();

	e = add_leaf(0x80000000, 0, 0);
	e->eax = max_ext;
	for (f = 0x80000001; f <= max_ext; f++) {
		e = add_leaf(f, 0, 0);
		switch (f) {
		case 0x80000001:
			e->ecx &= CPUID_8_1_ECX;
			e->edx &= CPUID_8_1_EDX;
			break;
		case 0x80000007:
			/* Only the invariant TSC: the guest reads the host's. */
			e->eax = e->ebx = e->ecx = 0;
			e->edx &= BIT(8);
			break;
		case 0x80000008:
			/* Address sizes only. */
			e->ebx = e->ecx = e->edx = 0;
			break;
		}
	}
	return 0;
}

long ckvm_dev_get_supported_cpuid(struct kvm_cpuid2 __user *argp)
{
	struct kvm_cpuid2 hdr;

	if (copy_from_user(&hdr, argp, sizeof(hdr)))
		return -EFAULT;
	if (hdr.nent < 1 || min_t(u32, hdr.nent, CKVM_MAX_CPUID_ENTRIES) <
	    supported_nent)
		return -E2BIG;
	if (copy_to_user(argp->entries, supported,
			 supported_nent * sizeof(supported[0])))
		return -EFAULT;
	hdr.nent = supported_nent;
	if (copy_to_user(argp, &hdr, sizeof(hdr)))
		return -EFAULT;
	return 0;
}

/*
 * The entry of a table for (function, index): the first with that
 * function whose index is not significant or is @index; with
 * @any_index, the first with that function (for a leaf that has no
 * subleaves, whatever the table's flags say: KVM's lookup of
 * KVM_CPUID_INDEX_NOT_SIGNIFICANT).
 */
static struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid_entry2 *e, int nent,
					   u32 function, u32 index, bool any_index)
{
	int i;

	for (i = 0; i < nent; i++, e++) {
		if (e->function != function)
			continue;
		if (any_index || !(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) ||
		    e->index == index)
			return e;
	}
	return NULL;
}

static struct kvm_cpuid_entry2 *cpuid_entry(struct ckvm_vcpu *vcpu,
					    u32 function, u32 index)
{
	return cpuid_find(vcpu->arch.cpuid_entries, vcpu->arch.cpuid_nent,
			  function, index, false);
}

bool ckvm_cpuid_has(struct ckvm_vcpu *vcpu, u32 function, int reg, int bit)
{
	struct kvm_cpuid_entry2 *e = cpuid_entry(vcpu, function, 0);
	u32 regs[4];

	if (!e)
		return false;
	regs[0] = e->eax;
	regs[1] = e->ebx;
	regs[2] = e->ecx;
	regs[3] = e->edx;
	return regs[reg] & BIT(bit);
}

enum { EAX, EBX, ECX, EDX };

bool ckvm_guest_has_x2apic(struct ckvm_vcpu *vcpu)
{
	return ckvm_cpuid_has(vcpu, 1, ECX, X86_FEATURE_X2APIC & 31);
}

/* 4 MiB pages map physical address bits above 31 (PDE bits 20:13). */
bool ckvm_guest_has_pse36(struct ckvm_vcpu *vcpu)
{
	return ckvm_cpuid_has(vcpu, 1, EDX, X86_FEATURE_PSE36 & 31);
}

/* 1 GiB pages: a PDPTE may map a page. */
bool ckvm_guest_has_gbpages(struct ckvm_vcpu *vcpu)
{
	return ckvm_cpuid_has(vcpu, 0x80000001, EDX,
			      X86_FEATURE_GBPAGES & 31);
}

/**
 * ckvm_cpuid_maxphyaddr() - the guest's physical address width
 * @vcpu: the vCPU; under vcpu->mutex.
 *
 * Return: CPUID 0x80000008 EAX[7:0], or 36 without that leaf (KVM's
 * default, the width of the first PAE CPUs), in bits.
 */
int ckvm_cpuid_maxphyaddr(struct ckvm_vcpu *vcpu)
{
	struct kvm_cpuid_entry2 *e = cpuid_entry(vcpu, 0x80000008, 0);

	if (!e || !(e->eax & 0xff))
		return 36;
	return min_t(int, e->eax & 0xff, 52);
}

u32 ckvm_cpuid_signature(struct ckvm_vcpu *vcpu)
{
	struct kvm_cpuid_entry2 *e = cpuid_entry(vcpu, 1, 0);

	return e ? e->eax : 0x600;
}

/**
 * ckvm_cpuid_supported_xcr0() - the XSAVE features ckvm virtualises
 *
 * Return: the XCR0 bits a guest may have (KVM_GET_SUPPORTED_CPUID 0xD).
 */
u64 ckvm_cpuid_supported_xcr0(void)
{
	return supported_xcr0;
}

/**
 * ckvm_guest_is_amd() - does the guest's CPUID say AMD (or Hygon)?
 * @vcpu: the vCPU, under vcpu->mutex.
 *
 * Return: true for the vendor strings AuthenticAMD and HygonGenuine.
 */
bool ckvm_guest_is_amd(struct ckvm_vcpu *vcpu)
{
	struct kvm_cpuid_entry2 *e = cpuid_entry(vcpu, 0, 0);

	return e && ((e->ebx == 0x68747541 && e->ecx == 0x444d4163 &&
		      e->edx == 0x69746e65) ||
		     (e->ebx == 0x6f677948 && e->ecx == 0x656e6975 &&
		      e->edx == 0x6e65476e));
}

/* XCR0 bits the guest may set: what its CPUID says, within what ckvm can. */
u64 ckvm_cpuid_guest_xcr0(struct ckvm_vcpu *vcpu)
{
	struct kvm_cpuid_entry2 *e = cpuid_entry(vcpu, 0xd, 0);
	u64 xcr0 = XFEATURE_MASK_FP;

	if (e)
		xcr0 |= ((u64)e->edx << 32 | e->eax) & supported_xcr0;
	return xcr0;
}

/*
 * Before KVM_SET_CPUID2 the vCPU model is not known yet, and KVM accepts
 * every CR4 bit it could offer: check against the supported table then.
 */
static bool cr4_feature(struct ckvm_vcpu *vcpu, u32 function, int reg, int bit)
{
	const struct kvm_cpuid_entry2 *e = supported;
	int i;

	if (vcpu->arch.cpuid_nent)
		return ckvm_cpuid_has(vcpu, function, reg, bit);
	for (i = 0; i < supported_nent; i++, e++) {
		const u32 regs[4] = { e->eax, e->ebx, e->ecx, e->edx };

		if (e->function == function && e->index == 0)
			return regs[reg] & BIT(bit);
	}
	return false;
}

bool ckvm_cr4_valid(struct ckvm_vcpu *vcpu, u64 cr4)
{
	u64 ok = X86_CR4_VME | X86_CR4_PVI | X86_CR4_TSD | X86_CR4_DE |
		 X86_CR4_PSE | X86_CR4_PAE | X86_CR4_MCE | X86_CR4_PGE |
		 X86_CR4_PCE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;

	/* Bits that exist only where the guest's CPUID says so. */
	if (cr4_feature(vcpu, 1, ECX, X86_FEATURE_XSAVE & 31))
		ok |= X86_CR4_OSXSAVE;
	if (cr4_feature(vcpu, 1, ECX, X86_FEATURE_PCID & 31))
		ok |= X86_CR4_PCIDE;
	if (cr4_feature(vcpu, 7, EBX, X86_FEATURE_FSGSBASE & 31))
		ok |= X86_CR4_FSGSBASE;
	if (cr4_feature(vcpu, 7, EBX, X86_FEATURE_SMEP & 31))
		ok |= X86_CR4_SMEP;
	if (cr4_feature(vcpu, 7, EBX, X86_FEATURE_SMAP & 31))
		ok |= X86_CR4_SMAP;
	return !(cr4 & ~ok);
}

/**
 * ckvm_reserved_gpa_bits() - guest-physical address bits that must be 0
 * @vcpu: the vCPU whose CPUID table (KVM_SET_CPUID2) decides
 *
 * Bits from the guest's MAXPHYADDR up to 63. KVM's rule for MAXPHYADDR:
 * CPUID.80000008H:EAX[7:0] when the table's leaf 0x80000000 reaches that
 * leaf, else 36 (SDM 4.1.4), which is also what a vCPU has before
 * KVM_SET_CPUID2. A width userspace made 64 or more reserves nothing.
 *
 * Return: the mask of reserved bits.
 */
u64 ckvm_reserved_gpa_bits(struct ckvm_vcpu *vcpu)
{
	struct kvm_cpuid_entry2 *e = cpuid_entry(vcpu, 0x80000000, 0);
	u32 width = 36;

	if (e && e->eax >= 0x80000008) {
		e = cpuid_entry(vcpu, 0x80000008, 0);
		if (e)
			width = e->eax & 0xff;
	}
	return width < 64 ? GENMASK_ULL(63, width) : 0;
}

/*
 * IA32_APIC_BASE bits that must be 0 (SDM 10.4.4): 7:0, 9 and the
 * reserved guest-physical bits, as KVM checks them; and x2APIC mode,
 * which only the in-kernel local APIC provides (its own check allows it).
 */
u64 ckvm_apic_base_reserved(struct ckvm_vcpu *vcpu)
{
	return 0x2ff | X2APIC_ENABLE | ckvm_reserved_gpa_bits(vcpu);
}

/*
 * The bits of a CPUID table that follow the vCPU's state rather than its
 * model: OSXSAVE (CR4) and the XSAVE area size for the current XCR0. As
 * in KVM, they are kept current in the stored table, so KVM_GET_CPUID2
 * shows what the guest's CPUID returns.
 */
static void cpuid_update_runtime(struct ckvm_vcpu *vcpu,
				 struct kvm_cpuid_entry2 *e, int nent)
{
	int i;

	for (i = 0; i < nent; i++, e++) {
		if (e->function == 1 && (e->ecx & F(XSAVE))) {
			e->ecx &= ~F(OSXSAVE);
			if (ckvm_x86_ops->get_cr(vcpu, 4) & X86_CR4_OSXSAVE)
				e->ecx |= F(OSXSAVE);
		}
		if (e->function == 0xd && e->index == 0)
			e->ebx = xstate_size(vcpu->arch.xcr0);
	}
}

/*
 * Two tables are the same model when their entries are, field by field,
 * in the same order; the padding of an entry does not count (KVM's
 * kvm_cpuid_check_equal()).
 */
static bool cpuid_equal(const struct kvm_cpuid_entry2 *a,
			const struct kvm_cpuid_entry2 *b, int na, int nb)
{
	int i;

	if (na != nb)
		return false;
	for (i = 0; i < na; i++, a++, b++)
		if (a->function != b->function || a->index != b->index ||
		    a->flags != b->flags || a->eax != b->eax ||
		    a->ebx != b->ebx || a->ecx != b->ecx || a->edx != b->edx)
			return false;
	return true;
}

/*
 * What KVM refuses in a new table (kvm_check_cpuid() of 6.1): a
 * linear-address width in CPUID 0x80000008 EAX[15:8] other than 48 or 57
 * (0: not given), which the canonical checks assume (-EINVAL); and a
 * dynamic XSAVE feature in CPUID 0xD.0 EDX:EAX (AMX tile data) that the
 * process was not granted with arch_prctl(ARCH_REQ_XCOMP_GUEST_PERM):
 * the kernel's fpu_enable_guest_xfd_features() answers -EPERM then, and
 * else enlarges the guest's FPU state as it does for KVM (ckvm offers no
 * dynamic feature in XCR0, so the guest still cannot enable it).
 */
static int cpuid_check(struct ckvm_vcpu *vcpu, struct kvm_cpuid_entry2 *e,
		       int nent)
{
	struct kvm_cpuid_entry2 *best;
	u64 xfeatures;

	best = cpuid_find(e, nent, 0x80000008, 0, true);
	if (best) {
		u32 vaddr_bits = (best->eax >> 8) & 0xff;

		if (vaddr_bits != 0 && vaddr_bits != 48 && vaddr_bits != 57)
			return -EINVAL;
	}
	best = cpuid_find(e, nent, 0xd, 0, false);
	if (!best)
		return 0;
	xfeatures = ((u64)best->edx << 32 | best->eax) & XFEATURE_MASK_USER_DYNAMIC;
	if (!xfeatures)
		return 0;
	return fpu_enable_guest_xfd_features(&vcpu->arch.guest_fpu, xfeatures);
}

long ckvm_vcpu_set_cpuid2(struct ckvm_vcpu *vcpu, struct kvm_cpuid2 __user *argp)
{
	struct kvm_cpuid2 hdr;
	struct kvm_cpuid_entry2 *e = NULL;
	size_t size;
	int r;

	if (copy_from_user(&hdr, argp, sizeof(hdr)))
		return -EFAULT;
	if (hdr.nent > CKVM_MAX_CPUID_ENTRIES)
		return -E2BIG;
	size = hdr.nent * sizeof(*e);
	if (hdr.nent) {
		e = vmemdup_user(argp->entries, size);
		if (IS_ERR(e))
			return PTR_ERR(e);
	}
	cpuid_update_runtime(vcpu, e, hdr.nent);
	/*
	 * As in KVM since 5.19: once the vCPU has entered the guest, the
	 * model may not change under the guest's feet; the same table again
	 * is fine (QEMU sets it again on vCPU hotplug).
	 */
	if (vcpu->arch.has_run) {
		bool same;

		cpuid_update_runtime(vcpu, vcpu->arch.cpuid_entries,
				     vcpu->arch.cpuid_nent);
		same = cpuid_equal(e, vcpu->arch.cpuid_entries, hdr.nent,
				   vcpu->arch.cpuid_nent);
		kvfree(e);
		return same ? 0 : -EINVAL;
	}
	r = cpuid_check(vcpu, e, hdr.nent);
	if (r) {
		kvfree(e);
		return r;
	}
	kvfree(vcpu->arch.cpuid_entries);
	vcpu->arch.cpuid_entries = e;
	vcpu->arch.cpuid_nent = hdr.nent;
	ckvm_mmu_reset_cpu_role(vcpu);
	return 0;
}

long ckvm_vcpu_get_cpuid2(struct ckvm_vcpu *vcpu, struct kvm_cpuid2 __user *argp)
{
	struct kvm_cpuid2 hdr;

	if (copy_from_user(&hdr, argp, sizeof(hdr)))
		return -EFAULT;
	if (hdr.nent < vcpu->arch.cpuid_nent)
		return -E2BIG;
	cpuid_update_runtime(vcpu, vcpu->arch.cpuid_entries,
			     vcpu->arch.cpuid_nent);
	if (copy_to_user(argp->entries, vcpu->arch.cpuid_entries,
			 vcpu->arch.cpuid_nent * sizeof(struct kvm_cpuid_entry2)))
		return -EFAULT;
	hdr.nent = vcpu->arch.cpuid_nent;
	if (copy_to_user(argp, &hdr, sizeof(hdr)))
		return -EFAULT;
	return 0;
}

/* The guest's CPUID: from the vCPU's table, zeros for a leaf not in it. */
int ckvm_emulate_cpuid(struct ckvm_vcpu *vcpu)
{
	unsigned long *regs = vcpu->arch.regs;
	u32 function = regs[VCPU_REGS_RAX], index = regs[VCPU_REGS_RCX];
	struct kvm_cpuid_entry2 *e = cpuid_entry(vcpu, function, index);
	u32 eax = 0, ebx = 0, ecx = 0, edx = 0;

	vcpu->stat.arch.cpuid_exits++;
	if (e) {
		/* Bits that follow the guest's own CR4 and XCR0. */
		cpuid_update_runtime(vcpu, e, 1);
		eax = e->eax;
		ebx = e->ebx;
		ecx = e->ecx;
		edx = e->edx;
	}
	trace_ckvm_cpuid(vcpu->vcpu_id, function, index, eax, ebx, ecx, edx, !!e);
	regs[VCPU_REGS_RAX] = eax;
	regs[VCPU_REGS_RBX] = ebx;
	regs[VCPU_REGS_RCX] = ecx;
	regs[VCPU_REGS_RDX] = edx;
	ckvm_x86_ops->skip_instruction(vcpu);
	return 1;
}
