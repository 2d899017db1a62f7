// SPDX-License-Identifier: GPL-2.0
/*
 * MSRs that hold what was written and change nothing in the host, with
 * the checks of the SDM and KVM: the MTRRs (SDM 11.11; nested paging maps
 * guest memory write-back whatever they say, as KVM does without
 * assigned devices), IA32_MISC_ENABLE, IA32_POWER_CTL, AMD's HWCR and
 * its platform MSRs that hold nothing, and the machine-check architecture
 * (SDM 15.3) with KVM_X86_SETUP_MCE and KVM_X86_SET_MCE.
 *
 * Every function here returns 0 when done, 1 when the value or the access
 * is refused (#GP for the guest; KVM_GET/SET_MSRS stops there), and
 * CKVM_MSR_UNKNOWN for an MSR that is not one of this file's.
 */
#include <linux/nospec.h>
#include <linux/uaccess.h>
#include <asm/mce.h>
#include <asm/msr-index.h>
#include <asm/mtrr.h>
#include <asm/trapnr.h>

#include "ckvm.h"
#include "x86_ops.h"
#include "cpuid.h"
#include "x86_state.h"

/* The machine-check capabilities KVM_X86_SETUP_MCE may ask for. */
#define CKVM_MCG_CAP_SUPPORTED	(MCG_CTL_P | MCG_SER_P)
/* MCG_CAP bits that are counts: banks (7:0), extended registers (23:16). */
#define MCG_CAP_COUNTS		(0xffULL | 0xff0000ULL)
/* AMD HWCR.McStatusWrEn: the guest may write MCi_STATUS. */
#define HWCR_MCSTATUSWREN	BIT_ULL(18)
/* AMD HWCR.TscFreqSel: the TSC counts at the P0 frequency. */
#define HWCR_TSCFREQSEL		BIT_ULL(24)
/* The MISC_ENABLE bits a guest cannot change: no PEBS, no BTS. */
#define MISC_ENABLE_RO		(MSR_IA32_MISC_ENABLE_PEBS_UNAVAIL | \
				 MSR_IA32_MISC_ENABLE_BTS_UNAVAIL)

/* ---- platform MSRs with no state ---- */

/*
 * AMD platform MSRs that a guest kernel reads while it probes the machine
 * (memory encryption and TOM2 in SYSCFG, the northbridge, the SMM TSEG)
 * and that describe nothing a virtual CPU has: they read as 0, as on KVM.
 * The configuration MSRs whose bits tune the cache and decode units of a
 * real core (errata workarounds Linux applies on AMD families) also take
 * any write and keep nothing, as on KVM; MMIO_CONF_BASE takes 0, which
 * leaves the (absent) extended configuration space off; a write to the
 * others is refused.
 */
#define STATELESS_WRITE_IGNORED	BIT(0)	/* any value is taken */
#define STATELESS_WRITE_ZERO	BIT(1)	/* 0 is taken, the rest refused */

static const struct {
	u32 index;
	u32 flags;		/* STATELESS_* */
} stateless_msrs[] = {
	{ MSR_AMD64_SYSCFG,		0 },
	{ MSR_K8_TSEG_ADDR,		0 },
	{ MSR_K8_TSEG_MASK,		0 },
	{ MSR_K8_INT_PENDING_MSG,	0 },
	{ MSR_FAM10H_MMIO_CONF_BASE,	STATELESS_WRITE_ZERO },
	{ MSR_AMD64_NB_CFG,		STATELESS_WRITE_IGNORED },
	{ MSR_AMD64_DC_CFG,		STATELESS_WRITE_IGNORED },
	{ MSR_AMD64_BU_CFG2,		STATELESS_WRITE_IGNORED },
	{ MSR_AMD64_TW_CFG,		STATELESS_WRITE_IGNORED },
	{ MSR_F15H_EX_CFG,		STATELESS_WRITE_IGNORED },
};

/* The entry of stateless_msrs[] for @index, or -1. */
static int stateless_msr(u32 index)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(stateless_msrs); i++)
		if (stateless_msrs[i].index == index)
			return i;
	return -1;
}

/* ---- MTRRs ---- */

static const u32 fixed_mtrrs[11] = {
	MSR_MTRRfix64K_00000, MSR_MTRRfix16K_80000, MSR_MTRRfix16K_A0000,
	MSR_MTRRfix4K_C0000, MSR_MTRRfix4K_C8000, MSR_MTRRfix4K_D0000,
	MSR_MTRRfix4K_D8000, MSR_MTRRfix4K_E0000, MSR_MTRRfix4K_E8000,
	MSR_MTRRfix4K_F0000, MSR_MTRRfix4K_F8000,
};

/* MTRRcap: 8 variable ranges, fixed ranges, write-combining (SDM 11.11.1). */
#define MTRRCAP_VALUE	(CKVM_NR_VAR_MTRR | BIT(8) | BIT(10))

/* UC, WC, WT, WP, WB (SDM table 11-8); 2, 3 and 7 are reserved. */
static bool mtrr_type_valid(u8 t)
{
	return t < 8 && ((1 << t) & 0x73);
}

static int fixed_index(u32 index)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(fixed_mtrrs); i++)
		if (fixed_mtrrs[i] == index)
			return i;
	return -1;
}

static bool is_var_mtrr(u32 index)
{
	return index >= MTRRphysBase_MSR(0) &&
	       index < MTRRphysBase_MSR(CKVM_NR_VAR_MTRR);
}

/*
 * SDM 11.11.2: IA32_MTRR_DEF_TYPE has the type (7:0), FE (10) and E
 * (11); a fixed-range MTRR a type per byte; a variable range base the
 * type (7:0) and the address, its mask V (11) and the address, neither
 * beyond MAXPHYADDR.
 */
static bool mtrr_valid(struct ckvm_vcpu *vcpu, u32 index, u64 data)
{
	u64 reserved;
	int i;

	if (index == MSR_MTRRdefType)
		return !(data & ~0xcffULL) && mtrr_type_valid(data & 0xff);
	if (fixed_index(index) >= 0) {
		for (i = 0; i < 8; i++)
			if (!mtrr_type_valid(data >> (i * 8)))
				return false;
		return true;
	}
	reserved = ckvm_reserved_gpa_bits(vcpu);
	if (!(index & 1)) {
		if (!mtrr_type_valid(data & 0xff))
			return false;
		reserved |= 0xf00;
	} else {
		reserved |= 0x7ff;
	}
	return !(data & reserved);
}

static u64 *mtrr_reg(struct ckvm_vcpu *vcpu, u32 index)
{
	struct ckvm_msr_state *m = &vcpu->arch.msrs;
	int i;

	if (index == MSR_MTRRdefType)
		return &m->mtrr_deftype;
	i = fixed_index(index);
	if (i >= 0)
		return &m->mtrr_fixed[i];
	if (is_var_mtrr(index))
		return &m->mtrr_var[index - MTRRphysBase_MSR(0)];
	return NULL;
}

/* ---- machine check ---- */

/* IA32_MC0_CTL and on: four MSRs a bank, as many banks as MCG_CAP says. */
static u64 *mce_bank_reg(struct ckvm_vcpu *vcpu, u32 index)
{
	unsigned int banks = vcpu->arch.msrs.mcg_cap & 0xff;
	unsigned int off;

	if (index < MSR_IA32_MC0_CTL || index >= MSR_IA32_MCx_CTL(banks))
		return NULL;
	off = array_index_nospec(index - MSR_IA32_MC0_CTL, banks * 4);
	return &vcpu->arch.msrs.mce_banks[off];
}

static bool is_mce_bank(u32 index)
{
	return index >= MSR_IA32_MC0_CTL &&
	       index < MSR_IA32_MCx_CTL(CKVM_MAX_MCE_BANKS);
}

/* AMD lets the guest write MCi_STATUS with HWCR.McStatusWrEn; Intel never. */
static bool guest_may_write_mci_status(struct ckvm_vcpu *vcpu)
{
	return ckvm_guest_is_amd(vcpu) &&
	       (vcpu->arch.msrs.hwcr & HWCR_MCSTATUSWREN);
}

/* ---- the MSRs ---- */

/**
 * ckvm_msrs_get() - read one of the MSRs of this file
 * @vcpu: the vCPU, under vcpu->mutex.
 * @index: the MSR.
 * @data: its value.
 * @host: KVM_GET_MSRS rather than the guest's RDMSR.
 *
 * Return: 0, 1 (refused) or CKVM_MSR_UNKNOWN.
 */
int ckvm_msrs_get(struct ckvm_vcpu *vcpu, u32 index, u64 *data, bool host)
{
	struct ckvm_msr_state *m = &vcpu->arch.msrs;
	u64 *reg;

	switch (index) {
	case MSR_MTRRcap:
		*data = MTRRCAP_VALUE;
		return 0;
	case MSR_IA32_MISC_ENABLE:
		*data = m->misc_enable;
		return 0;
	case MSR_IA32_POWER_CTL:
		*data = m->power_ctl;
		return 0;
	case MSR_K7_HWCR:
		*data = m->hwcr;
		return 0;
	case MSR_IA32_MCG_CAP:
		*data = m->mcg_cap;
		return 0;
	case MSR_IA32_MCG_STATUS:
		*data = m->mcg_status;
		return 0;
	case MSR_IA32_MCG_CTL:
		if (!(m->mcg_cap & MCG_CTL_P) && !host)
			return 1;
		*data = m->mcg_ctl;
		return 0;
	}
	if (stateless_msr(index) >= 0) {
		*data = 0;
		return 0;
	}
	reg = mtrr_reg(vcpu, index);
	if (reg) {
		*data = *reg;
		return 0;
	}
	if (is_mce_bank(index)) {
		reg = mce_bank_reg(vcpu, index);
		if (!reg)
			return 1;
		*data = *reg;
		return 0;
	}
	return CKVM_MSR_UNKNOWN;
}

/*
 * IA32_MISC_ENABLE: the guest cannot change the read-only bits (#GP) nor
 * the EMON bit (ignored); userspace sets anything.
 */
static int set_misc_enable(struct ckvm_vcpu *vcpu, u64 data, bool host)
{
	u64 old = vcpu->arch.msrs.misc_enable;

	if (!host) {
		if ((old ^ data) & MISC_ENABLE_RO)
			return 1;
		data = (data & ~MSR_IA32_MISC_ENABLE_EMON) |
		       (old & MSR_IA32_MISC_ENABLE_EMON);
	}
	vcpu->arch.msrs.misc_enable = data;
	return 0;
}

/*
 * AMD HWCR: writes of the flush-filter, IGNNE and TLB-cache-disable bits
 * are ignored (as KVM); of the rest only McStatusWrEn and TscFreqSel can
 * be set (KVM since 6.6: Linux guests complain on some models when
 * TscFreqSel is clear; 6.1 refused it).
 */
static int set_hwcr(struct ckvm_vcpu *vcpu, u64 data)
{
	data &= ~(BIT_ULL(3) | BIT_ULL(6) | BIT_ULL(8));
	if (data & ~(HWCR_MCSTATUSWREN | HWCR_TSCFREQSEL))
		return 1;
	vcpu->arch.msrs.hwcr = data;
	return 0;
}

/*
 * SDM 15.3.2: IA32_MCi_CTL takes 0 or all ones (KVM also lets bit 10 of
 * it be clear, which old Linux kernels clear on AMD K8); MCi_STATUS only
 * 0 from the guest unless AMD's McStatusWrEn is set. IA32_MCG_CTL exists
 * with MCG_CTL_P and takes 0 or all ones (userspace may write 0 without).
 */
static int set_mce(struct ckvm_vcpu *vcpu, u32 index, u64 data, bool host)
{
	struct ckvm_msr_state *m = &vcpu->arch.msrs;
	u64 *reg;

	switch (index) {
	case MSR_IA32_MCG_STATUS:
		m->mcg_status = data;
		return 0;
	case MSR_IA32_MCG_CTL:
		if (!(m->mcg_cap & MCG_CTL_P) && (data || !host))
			return 1;
		if (data && data != ~0ULL)
			return 1;
		m->mcg_ctl = data;
		return 0;
	}
	reg = mce_bank_reg(vcpu, index);
	if (!reg)
		return 1;
	switch ((index - MSR_IA32_MC0_CTL) & 3) {
	case 0:
		if (data && (data | BIT_ULL(10) | 1) != ~0ULL)
			return 1;
		break;
	case 1:
		if (!host && data && !guest_may_write_mci_status(vcpu))
			return 1;
		break;
	}
	*reg = data;
	return 0;
}

/**
 * ckvm_msrs_set() - write one of the MSRs of this file
 * @vcpu: the vCPU, under vcpu->mutex.
 * @index: the MSR.
 * @data: the value.
 * @host: KVM_SET_MSRS rather than the guest's WRMSR.
 *
 * MTRRcap and MCG_CAP are read-only (KVM_X86_SETUP_MCE sets MCG_CAP).
 *
 * Return: 0, 1 (refused) or CKVM_MSR_UNKNOWN.
 */
int ckvm_msrs_set(struct ckvm_vcpu *vcpu, u32 index, u64 data, bool host)
{
	u64 *reg;
	int i;

	switch (index) {
	case MSR_MTRRcap:
	case MSR_IA32_MCG_CAP:
		return 1;
	case MSR_IA32_MISC_ENABLE:
		return set_misc_enable(vcpu, data, host);
	case MSR_IA32_POWER_CTL:
		vcpu->arch.msrs.power_ctl = data;
		return 0;
	case MSR_K7_HWCR:
		return set_hwcr(vcpu, data);
	case MSR_IA32_MCG_STATUS:
	case MSR_IA32_MCG_CTL:
		return set_mce(vcpu, index, data, host);
	}
	i = stateless_msr(index);
	if (i >= 0) {
		if (stateless_msrs[i].flags & STATELESS_WRITE_IGNORED)
			return 0;
		if ((stateless_msrs[i].flags & STATELESS_WRITE_ZERO) && !data)
			return 0;
		return 1;
	}
	reg = mtrr_reg(vcpu, index);
	if (reg) {
		if (!mtrr_valid(vcpu, index, data))
			return 1;
		*reg = data;
		return 0;
	}
	if (is_mce_bank(index))
		return set_mce(vcpu, index, data, host);
	return CKVM_MSR_UNKNOWN;
}

/**
 * ckvm_msrs_reset() - the values after RESET (SDM 9.1.1, KVM's)
 * @vcpu: the vCPU being created.
 *
 * MTRRs off, MISC_ENABLE with no PEBS and no BTS, and KVM's default
 * machine-check setup: 32 banks, no MCG_CTL, all controls 0, until
 * userspace calls KVM_X86_SETUP_MCE.
 */
void ckvm_msrs_reset(struct ckvm_vcpu *vcpu)
{
	struct ckvm_msr_state *m = &vcpu->arch.msrs;

	memset(m, 0, sizeof(*m));
	m->misc_enable = MISC_ENABLE_RO;
	m->mcg_cap = CKVM_MAX_MCE_BANKS;
}

/* ---- KVM_X86_GET_MCE_CAP_SUPPORTED, KVM_X86_SETUP_MCE, KVM_X86_SET_MCE ---- */

/**
 * ckvm_mce_get_cap_supported() - KVM_X86_GET_MCE_CAP_SUPPORTED
 * @argp: where the u64 goes.
 *
 * Return: 0 or -EFAULT.
 */
long ckvm_mce_get_cap_supported(u64 __user *argp)
{
	u64 cap = CKVM_MCG_CAP_SUPPORTED;

	return copy_to_user(argp, &cap, sizeof(cap)) ? -EFAULT : 0;
}

/*
 * KVM_X86_SETUP_MCE: 1 to 32 banks, capabilities among the supported
 * ones (the extended-register count is taken as it is, as KVM). The
 * controls start enabled: MCG_CTL and every MCi_CTL all ones.
 */
static long setup_mce(struct ckvm_vcpu *vcpu, u64 __user *argp)
{
	struct ckvm_msr_state *m = &vcpu->arch.msrs;
	unsigned int banks, i;
	u64 cap;

	if (copy_from_user(&cap, argp, sizeof(cap)))
		return -EFAULT;
	banks = cap & 0xff;
	if (!banks || banks > CKVM_MAX_MCE_BANKS)
		return -EINVAL;
	if (cap & ~(CKVM_MCG_CAP_SUPPORTED | MCG_CAP_COUNTS))
		return -EINVAL;
	/* Accepted, then trimmed to what the vendor defines, as KVM. */
	if (ckvm_x86_ops->mcg_cap_mask)
		cap &= ckvm_x86_ops->mcg_cap_mask;
	m->mcg_cap = cap;
	if (cap & MCG_CTL_P)
		m->mcg_ctl = ~0ULL;
	for (i = 0; i < banks; i++)
		m->mce_banks[i * 4] = ~0ULL;
	return 0;
}

/*
 * An uncorrected error with no action required and none signalled: it is
 * only logged (a UCNA, SDM 15.6.3), no #MC. KVM signals it with CMCI,
 * which ckvm does not offer.
 */
static bool is_ucna(const struct kvm_x86_mce *mce)
{
	return !mce->mcg_status &&
	       !(mce->status & (MCI_STATUS_PCC | MCI_STATUS_S | MCI_STATUS_AR)) &&
	       (mce->status & MCI_STATUS_UC);
}

/*
 * KVM_X86_SET_MCE: log an error in a bank, as the hardware would (SDM
 * 15.3.2.2), and for an uncorrected one raise #MC, or shut the vCPU down
 * (a triple fault, as the CPU does) if a machine check is already in
 * progress or CR4.MCE is clear. Disabled reporting (MCG_CTL or MCi_CTL
 * not all ones) drops an uncorrected error silently.
 */
static long inject_mce(struct ckvm_vcpu *vcpu, struct kvm_x86_mce __user *argp)
{
	struct ckvm_msr_state *m = &vcpu->arch.msrs;
	struct kvm_x86_mce mce;
	unsigned int banks = m->mcg_cap & 0xff;
	u64 *bank;

	if (copy_from_user(&mce, argp, sizeof(mce)))
		return -EFAULT;
	if (mce.bank >= banks || !(mce.status & MCI_STATUS_VAL))
		return -EINVAL;
	bank = &m->mce_banks[array_index_nospec(mce.bank, banks) * 4];

	if (is_ucna(&mce)) {
		bank[1] = mce.status;
		bank[2] = mce.addr;
		bank[3] = mce.misc;
		m->mcg_status = mce.mcg_status;
		return 0;
	}
	if (mce.status & MCI_STATUS_UC) {
		if ((m->mcg_cap & MCG_CTL_P) && m->mcg_ctl != ~0ULL)
			return 0;
		if (bank[0] != ~0ULL)
			return 0;
		if ((m->mcg_status & MCG_STATUS_MCIP) ||
		    !(ckvm_x86_ops->get_cr(vcpu, 4) & X86_CR4_MCE)) {
			vcpu->arch.triple_fault_pending = true;
			return 0;
		}
		if (bank[1] & MCI_STATUS_VAL)
			mce.status |= MCI_STATUS_OVER;
		bank[1] = mce.status;
		bank[2] = mce.addr;
		bank[3] = mce.misc;
		m->mcg_status = mce.mcg_status;
		ckvm_x86_ops->queue_exception(vcpu, X86_TRAP_MC, false, 0);
		return 0;
	}
	/* Corrected: it overwrites a corrected one, not an uncorrected one. */
	if ((bank[1] & MCI_STATUS_VAL) && (bank[1] & MCI_STATUS_UC)) {
		bank[1] |= MCI_STATUS_OVER;
		return 0;
	}
	if (bank[1] & MCI_STATUS_VAL)
		mce.status |= MCI_STATUS_OVER;
	bank[1] = mce.status;
	bank[2] = mce.addr;
	bank[3] = mce.misc;
	return 0;
}

/**
 * ckvm_mce_vcpu_ioctl() - KVM_X86_SETUP_MCE and KVM_X86_SET_MCE
 * @vcpu: the vCPU, loaded, under vcpu->mutex.
 * @ioctl: the ioctl.
 * @argp: its argument.
 *
 * Return: 0 or a negative errno; -ENOIOCTLCMD for another ioctl.
 */
long ckvm_mce_vcpu_ioctl(struct ckvm_vcpu *vcpu, unsigned int ioctl,
			 void __user *argp)
{
	switch (ioctl) {
	case KVM_X86_SETUP_MCE:
		return setup_mce(vcpu, argp);
	case KVM_X86_SET_MCE:
		return inject_mce(vcpu, argp);
	default:
		return -ENOIOCTLCMD;
	}
}
