// SPDX-License-Identifier: GPL-2.0
/*
 * Port I/O exits to userspace: IN/OUT of 1, 2 and 4 bytes and the string
 * forms INS/OUTS with or without REP.
 *
 * As in KVM, RIP stays on the I/O instruction while userspace handles the
 * exit; the next KVM_RUN completes it (stores IN data, advances rSI/rDI and
 * rCX, moves RIP on). A REP string instruction whose count is not used up
 * is simply executed again by the guest and exits again, so one exit
 * carries at most one page of data.
 */
#include <asm/processor-flags.h>

#include "ckvm.h"
#include "x86_ops.h"
#include "trace.h"

static unsigned long addr_mask(const struct ckvm_pio *p)
{
	return p->addr_bytes == 8 ? ~0UL : (1UL << (p->addr_bytes * 8)) - 1;
}

/* Write a register as an address-size-wide operand does (SDM 3.4.1.1). */
static void reg_write_addr(struct ckvm_vcpu *vcpu, int reg, unsigned long val,
			   const struct ckvm_pio *p)
{
	unsigned long *r = &vcpu->arch.regs[reg];

	if (p->addr_bytes == 2)
		*r = (*r & ~0xffffUL) | (val & 0xffff);
	else
		*r = val & addr_mask(p);
}

/*
 * Guest-physical address of the string operand's next item: 0, 1 with
 * @fault filled (#PF to deliver), or -EFAULT.
 */
static int string_operand_gpa(struct ckvm_vcpu *vcpu, const struct ckvm_pio *p,
			      u64 *linear, u64 *gpa, struct x86_exception *fault)
{
	int reg = p->in ? VCPU_REGS_RDI : VCPU_REGS_RSI;
	int seg = p->in ? CKVM_SEG_ES : p->seg;
	struct kvm_segment s, cs;
	u64 base = 0;

	ckvm_x86_ops->get_segment(vcpu, &s, seg);
	ckvm_x86_ops->get_segment(vcpu, &cs, CKVM_SEG_CS);
	/* In 64-bit mode only FS and GS have a base. */
	if (!cs.l || seg == CKVM_SEG_FS || seg == CKVM_SEG_GS)
		base = s.base;
	*linear = base + (vcpu->arch.regs[reg] & addr_mask(p));
	if (!cs.l)
		*linear = (u32)*linear;
	return ckvm_mmu_gva_to_gpa(vcpu, *linear,
				   (p->in ? CKVM_ACC_WRITE : 0) |
				   (ckvm_cpl(vcpu) == 3 ? CKVM_ACC_USER : 0),
				   gpa, fault);
}

static int complete_string(struct ckvm_vcpu *vcpu)
{
	struct ckvm_pio *p = &vcpu->arch.pio;
	unsigned long *regs = vcpu->arch.regs;
	u32 count = p->count, bytes;
	long delta;
	int reg = p->in ? VCPU_REGS_RDI : VCPU_REGS_RSI;
	struct x86_exception fault;
	u64 linear, gpa;
	int r;

	/*
	 * As KVM: the instruction completes with the registers it has now.
	 * Userspace may have lowered RCX during the exit; then only that
	 * many of the items are used (and RCX never wraps below 0).
	 */
	if (p->rep)
		count = min_t(u64, count, regs[VCPU_REGS_RCX] & addr_mask(p));
	bytes = count * p->size;
	delta = (ckvm_x86_ops->get_rflags(vcpu) & X86_EFLAGS_DF) ?
		-(long)bytes : (long)bytes;
	if (p->in && bytes) {
		r = string_operand_gpa(vcpu, p, &linear, &gpa, &fault);
		if (r == 1) {
			/* The page went away meanwhile: the guest retries. */
			ckvm_inject_exception(vcpu, &fault);
			return 1;
		}
		if (r || ckvm_write_guest(vcpu->vm, gpa, vcpu->pio_data, bytes))
			return ckvm_exit_emulation_failed(vcpu, linear);
	}
	reg_write_addr(vcpu, reg, regs[reg] + delta, p);
	if (p->rep) {
		reg_write_addr(vcpu, VCPU_REGS_RCX, regs[VCPU_REGS_RCX] - count, p);
		if (regs[VCPU_REGS_RCX] & addr_mask(p))
			return 1;	/* the guest executes it again */
	}
	regs[VCPU_REGS_RIP] = p->next_rip;
	ckvm_complete_instruction(vcpu);
	return 1;
}

static int complete_pio(struct ckvm_vcpu *vcpu)
{
	struct ckvm_pio *p = &vcpu->arch.pio;
	unsigned long *regs = vcpu->arch.regs;
	unsigned long val = 0;

	/* Userspace moved RIP elsewhere: the instruction is abandoned. */
	if (regs[VCPU_REGS_RIP] != vcpu->arch.pio_rip)
		return 1;
	if (p->in)
		trace_ckvm_pio(vcpu->vcpu_id, false, p->port, p->size, p->count,
			       vcpu->pio_data);
	if (p->string)
		return complete_string(vcpu);
	if (p->in) {
		/* A 32-bit IN zero-extends into RAX; 8 and 16 bits merge. */
		if (p->size < 4)
			val = regs[VCPU_REGS_RAX] & ~((1UL << (p->size * 8)) - 1);
		regs[VCPU_REGS_RAX] = val;
		memcpy(&regs[VCPU_REGS_RAX], vcpu->pio_data, p->size);
		regs[VCPU_REGS_RAX] |= val;
	}
	regs[VCPU_REGS_RIP] = p->next_rip;
	ckvm_complete_instruction(vcpu);
	return 1;
}

/*
 * How many items of a string instruction this exit carries: up to RCX, up
 * to one page of data, and within one guest page so that one translation
 * covers them. Going down (EFLAGS.DF) it carries one.
 */
static u32 string_count(struct ckvm_vcpu *vcpu, const struct ckvm_pio *p,
			u64 linear)
{
	u32 count = p->rep ? vcpu->arch.regs[VCPU_REGS_RCX] & addr_mask(p) : 1;
	u32 in_page = (PAGE_SIZE - offset_in_page(linear)) / p->size;

	if (ckvm_x86_ops->get_rflags(vcpu) & X86_EFLAGS_DF)
		return min(count, 1u);
	return min(count, max(in_page, 1u));
}

/*
 * Offer the items of @p to the devices on the PIO bus (ioeventfds,
 * coalesced PIO zones): 0 if they took at least the first. If one of a
 * string's later items is not taken, @p is cut to the items before it;
 * the guest executes the REP instruction again for the rest, which then
 * exits to userspace. (KVM drops such a rest instead.)
 */
static int pio_in_kernel(struct ckvm_vcpu *vcpu, struct ckvm_pio *p)
{
	void *data = vcpu->pio_data;
	u32 i;

	for (i = 0; i < p->count; i++, data += p->size) {
		int r = p->in ?
			ckvm_io_bus_read(vcpu, CKVM_PIO_BUS, p->port, p->size, data) :
			ckvm_io_bus_write(vcpu, CKVM_PIO_BUS, p->port, p->size, data);

		if (r && !i)
			return r;
		if (r) {
			p->count = i;
			break;
		}
	}
	return 0;
}

/* Called by a backend on a port I/O exit; contract in x86_ops.h. */
int ckvm_emulate_pio(struct ckvm_vcpu *vcpu, const struct ckvm_pio *pio)
{
	struct ckvm_pio *p = &vcpu->arch.pio;
	struct kvm_run *run = vcpu->run;
	struct x86_exception fault;
	u64 linear, gpa;
	int r;

	vcpu->stat.arch.io_exits++;
	*p = *pio;
	p->count = 1;
	if (p->string && !p->addr_bytes) {
		/* Not reported: the default size (no 0x67 prefix assumed). */
		struct kvm_segment cs;

		ckvm_x86_ops->get_segment(vcpu, &cs, CKVM_SEG_CS);
		p->addr_bytes = cs.l ? 8 : cs.db ? 4 : 2;
	}
	if (p->string) {
		r = string_operand_gpa(vcpu, p, &linear, &gpa, &fault);
		if (r == 1) {
			/* The CPU checks the I/O intercept before the page. */
			ckvm_inject_exception(vcpu, &fault);
			return 1;
		}
		if (r)
			return ckvm_exit_emulation_failed(vcpu, linear);
		p->count = string_count(vcpu, p, linear);
		if (!p->count) {
			/* REP with rCX = 0 does nothing. */
			vcpu->arch.regs[VCPU_REGS_RIP] = p->next_rip;
			ckvm_complete_instruction(vcpu);
			return 1;
		}
		if (!p->in && ckvm_read_guest(vcpu->vm, gpa, vcpu->pio_data,
					      p->count * p->size))
			return ckvm_exit_emulation_failed(vcpu, linear);
	} else if (!p->in) {
		memcpy(vcpu->pio_data, &vcpu->arch.regs[VCPU_REGS_RAX], p->size);
	}

	if (!p->in)
		trace_ckvm_pio(vcpu->vcpu_id, true, p->port, p->size, p->count,
			       vcpu->pio_data);
	vcpu->arch.pio_rip = vcpu->arch.regs[VCPU_REGS_RIP];
	if (!pio_in_kernel(vcpu, p))
		return complete_pio(vcpu);
	run->exit_reason = KVM_EXIT_IO;
	run->io.direction = p->in ? KVM_EXIT_IO_IN : KVM_EXIT_IO_OUT;
	run->io.size = p->size;
	run->io.port = p->port;
	run->io.count = p->count;
	run->io.data_offset = CKVM_PIO_PAGE_OFFSET * PAGE_SIZE;
	vcpu->arch.complete_userspace_io = complete_pio;
	return 0;
}
