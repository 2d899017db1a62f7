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

/* Add 1 to an eventfd's counter and wake its readers (6.8 dropped @n). */
static inline void ckvm_eventfd_signal(struct eventfd_ctx *ctx)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
	eventfd_signal(ctx);
#else
	eventfd_signal(ctx, 1);
#endif
}

#endif
