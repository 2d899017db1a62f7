/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace stand-in for the kernel's <linux/string.h>. */
#ifndef CKVM_TEST_LINUX_STRING_H
#define CKVM_TEST_LINUX_STRING_H

#include <string.h>

#endif
