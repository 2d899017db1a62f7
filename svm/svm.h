/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CKVM_SVM_SVM_H
#define CKVM_SVM_SVM_H

#include <linux/types.h>

/* vmenter.S: one VMRUN with the guest GPRs in @regs. */
void ckvm_svm_vmrun(unsigned long *regs, u64 vmcb_pa, u64 host_save_pa);

#endif
