/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one place that knows about differences between the host kernels ckvm
 * builds against (Debian 12's 6.1 and the 6.12 backports kernel). No
 * LINUX_VERSION_CODE test belongs anywhere else.
 */
#ifndef CKVM_COMPAT_H
#define CKVM_COMPAT_H

#include <linux/eventfd.h>
#include <linux/version.h>
#include <asm/fpu/api.h>
#include <asm/fpu/types.h>

/* Add 1 to an eventfd's counter and wake its readers (6.8 dropped @n). */
static inline void ckvm_eventfd_signal(struct eventfd_ctx *ctx)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
	eventfd_signal(ctx);
#else
	eventfd_signal(ctx, 1);
#endif
}

/*
 * The guest FPU state in the XSAVE layout of the UABI (KVM_GET_XSAVE2),
 * @size bytes, the components of @xfeatures only; PKRU as 0. 6.8 added
 * the mask of features to copy, and stable 6.1 kernels have it too
 * (Debian 12's 6.1.192 does), so Kbuild looks at the header:
 * CKVM_FPU_UABI_XFEATURES. Without it the header's XSTATE_BV is masked
 * afterwards, which makes the other components read as in their init
 * state (SDM 13.4.2).
 */
static inline void ckvm_fpu_copy_to_uabi(struct fpu_guest *gfpu, void *buf,
					 unsigned int size, u64 xfeatures)
{
	struct xregs_state *x = buf;

#ifdef CKVM_FPU_UABI_XFEATURES
	fpu_copy_guest_fpstate_to_uabi(gfpu, buf, size, xfeatures, 0);
#else
	fpu_copy_guest_fpstate_to_uabi(gfpu, buf, size, 0);
#endif
	x->header.xfeatures &= xfeatures;
}

#endif
