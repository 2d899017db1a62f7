/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one place that knows about differences between the host kernels ckvm
 * builds against (Debian 12's 6.1 and the 6.12 backports kernel). No
 * LINUX_VERSION_CODE test belongs anywhere else.
 */
#ifndef CKVM_COMPAT_H
#define CKVM_COMPAT_H

#include <linux/version.h>

#endif
