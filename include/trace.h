/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ckvm's tracepoints: the events/ckvm/ directory of tracefs.
 *
 * Each one is a static key: while it is disabled, the call site costs one
 * patched-out jump and none of the TP_fast_assign work (reading the exit
 * information, the registers) runs. trace.c instantiates them
 * (CREATE_TRACE_POINTS); every other file just includes this header.
 *
 * The field names and the text of the common events follow KVM's own
 * (kvm:kvm_exit's exit_reason, kvm:kvm_pio's "pio_write at 0x...") so
 * that tools written for KVM's trace read ckvm's with the system name
 * changed. Documentation/tracing.rst lists them.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM ckvm

#if !defined(CKVM_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define CKVM_TRACE_H

#include <linux/tracepoint.h>
#include <uapi/asm/svm.h>
#include <uapi/asm/vmx.h>

#include "ckvm.h"
#include "x86_ops.h"

/* Which backend's exit codes an exit event carries. */
#define CKVM_ISA_VMX	1
#define CKVM_ISA_SVM	2

/**
 * ckvm_entry - the vCPU is about to enter the guest
 * @vcpu_id: its KVM_CREATE_VCPU id
 * @rip: the guest RIP it resumes at
 */
TRACE_EVENT(ckvm_entry,
	TP_PROTO(struct ckvm_vcpu *vcpu),
	TP_ARGS(vcpu),
	TP_STRUCT__entry(
		__field(u32, vcpu_id)
		__field(u64, rip)
	),
	TP_fast_assign(
		__entry->vcpu_id = vcpu->vcpu_id;
		__entry->rip = vcpu->arch.regs[VCPU_REGS_RIP];
	),
	TP_printk("vcpu %u rip 0x%llx", __entry->vcpu_id, __entry->rip)
);

/*
 * ckvm_exit - the guest exited, before the exit is handled. exit_reason is
 * the VMX basic exit reason or the SVM exit code (by name); info1/info2
 * are the exit qualification and IDT-vectoring information (VMX) or
 * EXITINFO1/EXITINFO2 (SVM); intr_info/error_code the VM-exit interruption
 * information (VMX) or EXITINTINFO (SVM) and its error code.
 */
TRACE_EVENT(ckvm_exit,
	TP_PROTO(struct ckvm_vcpu *vcpu, u32 isa),
	TP_ARGS(vcpu, isa),
	TP_STRUCT__entry(
		__field(u32, vcpu_id)
		__field(u32, isa)
		__field(u32, exit_reason)
		__field(u64, guest_rip)
		__field(u64, info1)
		__field(u64, info2)
		__field(u64, intr_info)
		__field(u32, error_code)
	),
	TP_fast_assign(
		u64 info[5] = { 0 };

		/* Optional in x86_ops; both backends have it. */
		if (ckvm_x86_ops->get_exit_info)
			ckvm_x86_ops->get_exit_info(vcpu, info);
		__entry->vcpu_id = vcpu->vcpu_id;
		__entry->isa = isa;
		/* VMX: bits 31:16 are flags (entry failure, enclave mode). */
		__entry->exit_reason = isa == CKVM_ISA_VMX ? (u16)info[0] : info[0];
		__entry->guest_rip = vcpu->arch.regs[VCPU_REGS_RIP];
		__entry->info1 = info[1];
		__entry->info2 = info[2];
		__entry->intr_info = info[3];
		__entry->error_code = info[4];
	),
	TP_printk("vcpu %u reason %s rip 0x%llx info1 0x%016llx info2 0x%016llx intr_info 0x%08llx error_code 0x%08x",
		  __entry->vcpu_id,
		  __entry->isa == CKVM_ISA_VMX ?
		  __print_symbolic(__entry->exit_reason, VMX_EXIT_REASONS) :
		  __print_symbolic(__entry->exit_reason, SVM_EXIT_REASONS),
		  __entry->guest_rip, __entry->info1, __entry->info2,
		  __entry->intr_info, __entry->error_code)
);

/*
 * ckvm_pio - one port I/O instruction: an OUT when it exits (val is its
 * first item), an IN when its data has arrived (from a device or from
 * userspace). count > 1 for a string instruction.
 */
TRACE_EVENT(ckvm_pio,
	TP_PROTO(u32 vcpu_id, bool write, u16 port, u8 size, u32 count,
		 const void *data),
	TP_ARGS(vcpu_id, write, port, size, count, data),
	TP_STRUCT__entry(
		__field(u32, vcpu_id)
		__field(u8, rw)
		__field(u16, port)
		__field(u8, size)
		__field(u32, count)
		__field(u64, val)
	),
	TP_fast_assign(
		__entry->vcpu_id = vcpu_id;
		__entry->rw = write;
		__entry->port = port;
		__entry->size = size;
		__entry->count = count;
		__entry->val = 0;
		memcpy(&__entry->val, data, min_t(u8, size, sizeof(u64)));
	),
	TP_printk("pio_%s at 0x%x size %u count %u val 0x%llx%s",
		  __entry->rw ? "write" : "read", __entry->port, __entry->size,
		  __entry->count, __entry->val,
		  __entry->count > 1 ? " (...)" : "")
);

#define CKVM_TRACE_MMIO_READ_UNSATISFIED	0
#define CKVM_TRACE_MMIO_READ			1
#define CKVM_TRACE_MMIO_WRITE			2

/*
 * ckvm_mmio - one access of the emulator to MMIO (at most 8 bytes): a
 * write, a read with its value, or a read that waits for userspace.
 */
TRACE_EVENT(ckvm_mmio,
	TP_PROTO(u32 vcpu_id, int type, u32 len, u64 gpa, const void *data),
	TP_ARGS(vcpu_id, type, len, gpa, data),
	TP_STRUCT__entry(
		__field(u32, vcpu_id)
		__field(u32, type)
		__field(u32, len)
		__field(u64, gpa)
		__field(u64, val)
	),
	TP_fast_assign(
		__entry->vcpu_id = vcpu_id;
		__entry->type = type;
		__entry->len = len;
		__entry->gpa = gpa;
		__entry->val = 0;
		if (data)
			memcpy(&__entry->val, data, min_t(u32, len, sizeof(u64)));
	),
	TP_printk("mmio %s len %u gpa 0x%llx val 0x%llx",
		  __print_symbolic(__entry->type,
			{ CKVM_TRACE_MMIO_READ_UNSATISFIED, "unsatisfied-read" },
			{ CKVM_TRACE_MMIO_READ, "read" },
			{ CKVM_TRACE_MMIO_WRITE, "write" }),
		  __entry->len, __entry->gpa, __entry->val)
);

/* ckvm_msr - a guest RDMSR or WRMSR; exception: it raised #GP instead. */
TRACE_EVENT(ckvm_msr,
	TP_PROTO(u32 vcpu_id, bool write, u32 index, u64 data, bool exception),
	TP_ARGS(vcpu_id, write, index, data, exception),
	TP_STRUCT__entry(
		__field(u32, vcpu_id)
		__field(u8, write)
		__field(u8, exception)
		__field(u32, ecx)
		__field(u64, data)
	),
	TP_fast_assign(
		__entry->vcpu_id = vcpu_id;
		__entry->write = write;
		__entry->exception = exception;
		__entry->ecx = index;
		__entry->data = data;
	),
	TP_printk("msr_%s %x = 0x%llx%s", __entry->write ? "write" : "read",
		  __entry->ecx, __entry->data,
		  __entry->exception ? " (#GP)" : "")
);

/* ckvm_cpuid - a guest CPUID and what it returned. */
TRACE_EVENT(ckvm_cpuid,
	TP_PROTO(u32 vcpu_id, u32 function, u32 index, u32 eax, u32 ebx,
		 u32 ecx, u32 edx, bool found),
	TP_ARGS(vcpu_id, function, index, eax, ebx, ecx, edx, found),
	TP_STRUCT__entry(
		__field(u32, vcpu_id)
		__field(u32, function)
		__field(u32, index)
		__field(u32, rax)
		__field(u32, rbx)
		__field(u32, rcx)
		__field(u32, rdx)
		__field(u8, found)
	),
	TP_fast_assign(
		__entry->vcpu_id = vcpu_id;
		__entry->function = function;
		__entry->index = index;
		__entry->rax = eax;
		__entry->rbx = ebx;
		__entry->rcx = ecx;
		__entry->rdx = edx;
		__entry->found = found;
	),
	TP_printk("func %x idx %x rax %x rbx %x rcx %x rdx %x%s",
		  __entry->function, __entry->index, __entry->rax,
		  __entry->rbx, __entry->rcx, __entry->rdx,
		  __entry->found ? "" : " (not in the table)")
);

/* ckvm_inj_virq - an external interrupt queued for the next entry. */
TRACE_EVENT(ckvm_inj_virq,
	TP_PROTO(u32 vcpu_id, u8 vector),
	TP_ARGS(vcpu_id, vector),
	TP_STRUCT__entry(
		__field(u32, vcpu_id)
		__field(u8, vector)
	),
	TP_fast_assign(
		__entry->vcpu_id = vcpu_id;
		__entry->vector = vector;
	),
	TP_printk("vcpu %u irq %u", __entry->vcpu_id, __entry->vector)
);

/* ckvm_inj_exception - an exception queued for the next entry. */
TRACE_EVENT(ckvm_inj_exception,
	TP_PROTO(u32 vcpu_id, u8 vector, bool has_error, u32 error_code),
	TP_ARGS(vcpu_id, vector, has_error, error_code),
	TP_STRUCT__entry(
		__field(u32, vcpu_id)
		__field(u8, exception)
		__field(u8, has_error)
		__field(u32, error_code)
	),
	TP_fast_assign(
		__entry->vcpu_id = vcpu_id;
		__entry->exception = vector;
		__entry->has_error = has_error;
		__entry->error_code = error_code;
	),
	TP_printk("vcpu %u vector %u%s 0x%x", __entry->vcpu_id,
		  __entry->exception,
		  __entry->has_error ? " error_code" : " no error_code",
		  __entry->has_error ? __entry->error_code : 0)
);

/*
 * ckvm_page_fault - a fault the MMU handles: tdp 1 is a nested page fault
 * (NPT, EPT violation) on guest-physical @addr, tdp 0 a guest #PF under
 * shadow paging on guest-linear @addr; error_code is the x86 page-fault
 * error code (shadow) or the MMU's access bits (tdp).
 */
TRACE_EVENT(ckvm_page_fault,
	TP_PROTO(u32 vcpu_id, bool tdp, u64 addr, u32 error_code),
	TP_ARGS(vcpu_id, tdp, addr, error_code),
	TP_STRUCT__entry(
		__field(u32, vcpu_id)
		__field(u8, tdp)
		__field(u64, addr)
		__field(u32, error_code)
	),
	TP_fast_assign(
		__entry->vcpu_id = vcpu_id;
		__entry->tdp = tdp;
		__entry->addr = addr;
		__entry->error_code = error_code;
	),
	TP_printk("vcpu %u %s 0x%llx error_code 0x%x", __entry->vcpu_id,
		  __entry->tdp ? "gpa" : "gva", __entry->addr,
		  __entry->error_code)
);

#define CKVM_TRACE_SLOT_CREATE	0
#define CKVM_TRACE_SLOT_DELETE	1
#define CKVM_TRACE_SLOT_MOVE	2	/* or new flags */

/* ckvm_memslot - KVM_SET_USER_MEMORY_REGION changed a slot. */
TRACE_EVENT(ckvm_memslot,
	TP_PROTO(int op, u16 slot, u64 gpa, u64 npages, u64 hva, u32 flags),
	TP_ARGS(op, slot, gpa, npages, hva, flags),
	TP_STRUCT__entry(
		__field(u32, op)
		__field(u16, slot)
		__field(u64, gpa)
		__field(u64, npages)
		__field(u64, hva)
		__field(u32, flags)
	),
	TP_fast_assign(
		__entry->op = op;
		__entry->slot = slot;
		__entry->gpa = gpa;
		__entry->npages = npages;
		__entry->hva = hva;
		__entry->flags = flags;
	),
	TP_printk("%s slot %u gpa 0x%llx npages %llu hva 0x%llx flags 0x%x",
		  __print_symbolic(__entry->op,
			{ CKVM_TRACE_SLOT_CREATE, "create" },
			{ CKVM_TRACE_SLOT_DELETE, "delete" },
			{ CKVM_TRACE_SLOT_MOVE, "move" }),
		  __entry->slot, __entry->gpa, __entry->npages, __entry->hva,
		  __entry->flags)
);

#endif /* CKVM_TRACE_H */

/* The part that instantiates the events when CREATE_TRACE_POINTS is set. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
