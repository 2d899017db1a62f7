/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CKVM_X86_CPUID_H
#define CKVM_X86_CPUID_H

#include "ckvm.h"

/* KVM's limit on a CPUID table, which userspace sizes its arrays by. */
#define CKVM_MAX_CPUID_ENTRIES	256

int ckvm_cpuid_init(void);
long ckvm_dev_get_supported_cpuid(struct kvm_cpuid2 __user *argp);
long ckvm_vcpu_set_cpuid2(struct ckvm_vcpu *vcpu, struct kvm_cpuid2 __user *argp);
long ckvm_vcpu_get_cpuid2(struct ckvm_vcpu *vcpu, struct kvm_cpuid2 __user *argp);
u32 ckvm_cpuid_signature(struct ckvm_vcpu *vcpu);
u64 ckvm_cpuid_guest_xcr0(struct ckvm_vcpu *vcpu);
u64 ckvm_cpuid_supported_xcr0(void);
bool ckvm_guest_is_amd(struct ckvm_vcpu *vcpu);
bool ckvm_cr4_valid(struct ckvm_vcpu *vcpu, u64 cr4);
u64 ckvm_reserved_gpa_bits(struct ckvm_vcpu *vcpu);
u64 ckvm_apic_base_reserved(struct ckvm_vcpu *vcpu);
bool ckvm_guest_has_x2apic(struct ckvm_vcpu *vcpu);
bool ckvm_guest_has_pse36(struct ckvm_vcpu *vcpu);
bool ckvm_guest_has_gbpages(struct ckvm_vcpu *vcpu);
int ckvm_cpuid_maxphyaddr(struct ckvm_vcpu *vcpu);

#endif
