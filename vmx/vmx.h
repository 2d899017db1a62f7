/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CKVM_VMX_VMX_H
#define CKVM_VMX_VMX_H

#include <linux/types.h>

/* vmenter.S: one VMLAUNCH/VMRESUME with the guest GPRs in @regs. */
int ckvm_vmx_vmenter(unsigned long *regs, bool launched,
		     unsigned long host_rsp_field);
/* vmenter.S: where a VM exit lands (HOST_RIP); not to be called. */
void ckvm_vmx_vmexit(void);
/* vmenter.S: run the host NMI handler for an NMI that caused an exit. */
void ckvm_vmx_do_nmi_irqoff(void);

#endif
