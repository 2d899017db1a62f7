/* SPDX-License-Identifier: GPL-2.0 */
/*
 * x86/: the state ioctls and the services around them, one file each:
 * events.c (NMIs, interrupts, KVM_GET/SET_VCPU_EVENTS), debugreg.c (the
 * guest's debug registers), state.c (FPU/XSAVE, XCRs, SREGS2, TSS and
 * identity map addresses, sync regs), kvmclock.c (kvmclock, steal time,
 * TSC frequency), msrs.c (the MSRs that only hold values, MCE) and
 * msr_filter.c (KVM_X86_SET_MSR_FILTER, MSR exits to userspace).
 */
#ifndef CKVM_X86_STATE_H
#define CKVM_X86_STATE_H

#include "ckvm.h"

/* x86/events.c */
void ckvm_vcpu_queue_nmi(struct ckvm_vcpu *vcpu);
void ckvm_inject_events(struct ckvm_vcpu *vcpu);
bool ckvm_events_wake(struct ckvm_vcpu *vcpu);
bool ckvm_ready_for_interrupt_injection(struct ckvm_vcpu *vcpu);
bool ckvm_want_irq_window(struct ckvm_vcpu *vcpu, bool requested);
void ckvm_get_vcpu_events(struct ckvm_vcpu *vcpu, struct kvm_vcpu_events *e);
int ckvm_set_vcpu_events(struct ckvm_vcpu *vcpu,
			 const struct kvm_vcpu_events *e);
int ckvm_events_injected_irq(struct ckvm_vcpu *vcpu);
void ckvm_events_queue_irq(struct ckvm_vcpu *vcpu, u8 vector);
void ckvm_events_reset(struct ckvm_vcpu *vcpu);
long ckvm_events_vcpu_ioctl(struct ckvm_vcpu *vcpu, unsigned int ioctl,
			    void __user *argp);

/* x86/debugreg.c */
void ckvm_debugreg_reset(struct ckvm_vcpu *vcpu);
void ckvm_debugreg_before_entry(struct ckvm_vcpu *vcpu);
void ckvm_debugreg_after_exit(struct ckvm_vcpu *vcpu);
int ckvm_exit_dr_access(struct ckvm_vcpu *vcpu);
int ckvm_guest_debug_exit(struct ckvm_vcpu *vcpu, u8 vector, u64 dr6);
int ckvm_guest_debug_step_exit(struct ckvm_vcpu *vcpu);
bool ckvm_guest_debug_owns_db(struct ckvm_vcpu *vcpu);
void ckvm_clear_dr7_gd(struct ckvm_vcpu *vcpu);
int ckvm_get_dr(struct ckvm_vcpu *vcpu, int dr, u64 *val);
int ckvm_set_dr(struct ckvm_vcpu *vcpu, int dr, u64 val);
long ckvm_debugreg_vcpu_ioctl(struct ckvm_vcpu *vcpu, unsigned int ioctl,
			      void __user *argp);

/* x86/state.c */
long ckvm_state_vcpu_ioctl(struct ckvm_vcpu *vcpu, unsigned int ioctl,
			   void __user *argp);
long ckvm_state_vm_ioctl(struct ckvm *vm, unsigned int ioctl,
			 unsigned long arg);
long ckvm_state_dev_ioctl(unsigned int ioctl, unsigned long arg);
int ckvm_state_check_extension(long ext);
int ckvm_state_enable_cap(struct ckvm *vm, const struct kvm_enable_cap *cap);
int ckvm_xsave2_size(void);
int ckvm_sync_regs_in(struct ckvm_vcpu *vcpu, u64 dirty);
void ckvm_sync_regs_out(struct ckvm_vcpu *vcpu, u64 valid);

/* x86/kvmclock.c */
int ckvm_kvmclock_init(void);
void ckvm_kvmclock_vm_init(struct ckvm *vm);
void ckvm_kvmclock_vcpu_create(struct ckvm_vcpu *vcpu);
void ckvm_kvmclock_vcpu_reset(struct ckvm_vcpu *vcpu);
void ckvm_kvmclock_vcpu_load(struct ckvm_vcpu *vcpu);
void ckvm_kvmclock_before_entry(struct ckvm_vcpu *vcpu);
int ckvm_kvmclock_get_msr(struct ckvm_vcpu *vcpu, u32 index, u64 *data);
int ckvm_kvmclock_set_msr(struct ckvm_vcpu *vcpu, u32 index, u64 data,
			  bool host);
u32 ckvm_kvmclock_cpuid_features(void);
long ckvm_kvmclock_vcpu_ioctl(struct ckvm_vcpu *vcpu, unsigned int ioctl,
			      void __user *argp);
long ckvm_kvmclock_vm_ioctl(struct ckvm *vm, unsigned int ioctl,
			    unsigned long arg);

/* x86/msrs.c */
int ckvm_msrs_get(struct ckvm_vcpu *vcpu, u32 index, u64 *data, bool host);
int ckvm_msrs_set(struct ckvm_vcpu *vcpu, u32 index, u64 data, bool host);
void ckvm_msrs_reset(struct ckvm_vcpu *vcpu);
long ckvm_mce_get_cap_supported(u64 __user *argp);
long ckvm_mce_vcpu_ioctl(struct ckvm_vcpu *vcpu, unsigned int ioctl,
			 void __user *argp);

/* x86/msr_filter.c */
bool ckvm_msr_allowed(struct ckvm_vcpu *vcpu, u32 index, u32 type);
long ckvm_vm_set_msr_filter(struct ckvm *vm,
			    struct kvm_msr_filter __user *argp);
void ckvm_msr_filter_free(struct ckvm *vm);
int ckvm_msr_exit_enable(struct ckvm *vm, u64 reasons);
bool ckvm_msr_user_exit(struct ckvm_vcpu *vcpu, u32 index, bool write,
			u64 data, int r);

/* x86/x86.c, for the files above */
void ckvm_get_regs(struct ckvm_vcpu *vcpu, struct kvm_regs *regs);
void ckvm_set_regs(struct ckvm_vcpu *vcpu, const struct kvm_regs *regs);
void ckvm_get_sregs(struct ckvm_vcpu *vcpu, struct kvm_sregs *sregs);
int ckvm_set_sregs(struct ckvm_vcpu *vcpu, const struct kvm_sregs *sregs);
bool ckvm_xcr0_valid(struct ckvm_vcpu *vcpu, u64 xcr0);
void ckvm_set_tsc_offset(struct ckvm_vcpu *vcpu, u64 offset);

#endif
