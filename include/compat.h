/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one place that knows about differences between the host kernels ckvm
 * builds against (Debian 12's 6.1 and the 6.12 backports kernel). No
 * LINUX_VERSION_CODE test belongs anywhere else.
 */
#ifndef CKVM_COMPAT_H
#define CKVM_COMPAT_H

#include <linux/version.h>

/*
 * The host's NMI entry that VMX calls on the kernel stack for an NMI that
 * caused an exit (vmx/vmenter.S): exported for kvm_intel, renamed after
 * 6.1. Usable from assembly.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
#define CKVM_HOST_NMI_ENTRY	asm_exc_nmi_kvm_vmx
#else
#define CKVM_HOST_NMI_ENTRY	asm_exc_nmi_noist
#endif

#ifndef __ASSEMBLY__
#include <linux/eventfd.h>
#include <linux/kvm.h>
#include <asm/fpu/api.h>
#include <asm/fpu/types.h>

/*
 * 6.3 made smp_send_reschedule() a call site of the ipi_send_cpu
 * tracepoint, which a module must declare itself.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
#include <trace/events/ipi.h>
#endif

/*
 * Later kernels (6.12's headers have it; 6.1's do not) name kvm_run's
 * immediate_exit immediate_exit__unsafe in kernel code, so that it is not
 * read without care: userspace may change it at any time. Read it once.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
#define ckvm_run_immediate_exit(run)	READ_ONCE((run)->immediate_exit__unsafe)
#else
#define ckvm_run_immediate_exit(run)	READ_ONCE((run)->immediate_exit)
#endif

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

/*
 * KVM_SET_USER_MEMORY_REGION2 (6.8; KVM's api.rst 4.141): the memslot
 * ioctl with guest_memfd fields and room to grow. 6.1's <uapi/linux/kvm.h>
 * has neither the struct nor the ioctl; the ABI is KVM's, so ckvm defines
 * them here for such headers, with KVM's layout and numbers, and takes the
 * header's own where it has them.
 */
#ifndef KVM_SET_USER_MEMORY_REGION2
struct kvm_userspace_memory_region2 {
	__u32 slot;
	__u32 flags;
	__u64 guest_phys_addr;
	__u64 memory_size;
	__u64 userspace_addr;
	__u64 guest_memfd_offset;
	__u32 guest_memfd;
	__u32 pad1;
	__u64 pad2[14];
};

#define KVM_SET_USER_MEMORY_REGION2	_IOW(KVMIO, 0x49, \
					     struct kvm_userspace_memory_region2)
#endif
/* KVM's ABI, whoever defined the struct (the ioctl number encodes it). */
static_assert(sizeof(struct kvm_userspace_memory_region2) == 160);
#ifndef KVM_CAP_USER_MEMORY2
#define KVM_CAP_USER_MEMORY2		231
#endif
#ifndef KVM_MEM_GUEST_MEMFD
#define KVM_MEM_GUEST_MEMFD		(1UL << 2)
#endif

#endif /* !__ASSEMBLY__ */
#endif
