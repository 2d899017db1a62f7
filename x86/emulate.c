// SPDX-License-Identifier: GPL-2.0
/*
 * The x86 instruction emulator, part 2: executing the instruction
 * x86_decode_insn() decoded. One function per class of instruction (the
 * table's .cls); flags are computed in one place, alu(). Memory goes
 * through the caller's callbacks by linear address; GPRs, RIP and RFLAGS
 * are ctxt's copies, which each function changes only after its last
 * memory access succeeded, so that an access that faults or waits for
 * userspace leaves the instruction undone (a REP string instruction keeps
 * the iterations it completed).
 *
 * Includes only emulate.h: the same file builds in userspace.
 */
#include <linux/types.h>
#include <linux/string.h>

#include "emulate.h"

/*
 * RFLAGS bits (SDM 3.4.3). Spelled out here, not taken from the kernel's
 * <asm/processor-flags.h>, because this file also builds in userspace.
 */
#define EFLAGS_CF	0x0001ULL
#define EFLAGS_PF	0x0004ULL
#define EFLAGS_AF	0x0010ULL
#define EFLAGS_ZF	0x0040ULL
#define EFLAGS_SF	0x0080ULL
#define EFLAGS_DF	0x0400ULL
#define EFLAGS_OF	0x0800ULL
#define EFLAGS_STATUS	(EFLAGS_CF | EFLAGS_PF | EFLAGS_AF | EFLAGS_ZF | \
			 EFLAGS_SF | EFLAGS_OF)

/* CR0 and CR4 bits the SSE moves depend on (SDM 13.1). */
#define CR0_EM		(1ULL << 2)
#define CR0_TS		(1ULL << 3)
#define CR4_OSFXSR	(1ULL << 9)
#define CR4_DE		(1ULL << 3)

#define REG_RAX		0
#define REG_RCX		1
#define REG_RDX		2
#define REG_RBX		3
#define REG_RSP		4
#define REG_RSI		6
#define REG_RDI		7

/* A LOCKed read-modify-write that lost a race is tried again this often. */
#define CMPXCHG_RETRIES	16

static u64 size_mask(unsigned int bytes)
{
	return bytes >= 8 ? ~0ULL : (1ULL << (bytes * 8)) - 1;
}

static u64 sign_extend(u64 v, unsigned int bytes)
{
	switch (bytes) {
	case 1:
		return (s64)(s8)v;
	case 2:
		return (s64)(s16)v;
	case 4:
		return (s64)(s32)v;
	default:
		return v;
	}
}

/* ---- flags: the one place they are computed ---- */

/* PF: the low byte of the result has an even number of ones. */
static bool parity_even(u8 v)
{
	v ^= v >> 4;
	v ^= v >> 2;
	v ^= v >> 1;
	return !(v & 1);
}

/*
 * Result of the arithmetic or logic operation @op (ALU_*) on @bytes-wide
 * operands @a and @b, and the six status flags it sets in *@flags, as the
 * SDM's "Flags Affected" of ADD, ADC, SUB, SBB, CMP, AND, OR, XOR and
 * TEST define them. The logic operations leave AF undefined; it is 0
 * here. @rflags supplies the carry of ADC and SBB.
 */
static u64 alu(int op, u64 a, u64 b, u64 rflags, unsigned int bytes,
	       u64 *flags)
{
	u64 mask = size_mask(bytes), msb = 1ULL << (bytes * 8 - 1);
	u64 cf_in = (rflags & EFLAGS_CF) ? 1 : 0;
	u64 r, f = 0;

	a &= mask;
	b &= mask;
	switch (op) {
	case ALU_ADD:
	case ALU_ADC:
		if (op == ALU_ADD)
			cf_in = 0;
		r = (a + b + cf_in) & mask;
		if (r < a || (cf_in && r == a))
			f |= EFLAGS_CF;
		if ((a ^ r) & (b ^ r) & msb)
			f |= EFLAGS_OF;
		if ((a ^ b ^ r) & 0x10)
			f |= EFLAGS_AF;
		break;
	case ALU_SUB:
	case ALU_SBB:
	case ALU_CMP:
		if (op != ALU_SBB)
			cf_in = 0;
		r = (a - b - cf_in) & mask;
		if (a < b || (cf_in && a == b))
			f |= EFLAGS_CF;
		if ((a ^ b) & (a ^ r) & msb)
			f |= EFLAGS_OF;
		if ((a ^ b ^ r) & 0x10)
			f |= EFLAGS_AF;
		break;
	case ALU_OR:
		r = a | b;
		break;
	case ALU_XOR:
		r = a ^ b;
		break;
	default:	/* ALU_AND, ALU_TEST */
		r = a & b;
		break;
	}
	if (!r)
		f |= EFLAGS_ZF;
	if (r & msb)
		f |= EFLAGS_SF;
	if (parity_even(r))
		f |= EFLAGS_PF;
	*flags = f;
	return r;
}

static void set_flags(struct x86_emulate_ctxt *ctxt, u64 affected, u64 flags)
{
	ctxt->rflags = (ctxt->rflags & ~affected) | (flags & affected);
}

/* Condition code @cc (the low nibble of Jcc, SETcc, CMOVcc; SDM B.1.4.7). */
static bool test_cc(unsigned int cc, u64 f)
{
	bool sf_ne_of = !(f & EFLAGS_SF) != !(f & EFLAGS_OF);
	bool r;

	switch (cc >> 1) {
	case 0:
		r = f & EFLAGS_OF;
		break;
	case 1:
		r = f & EFLAGS_CF;
		break;
	case 2:
		r = f & EFLAGS_ZF;
		break;
	case 3:
		r = f & (EFLAGS_CF | EFLAGS_ZF);
		break;
	case 4:
		r = f & EFLAGS_SF;
		break;
	case 5:
		r = f & EFLAGS_PF;
		break;
	case 6:
		r = sf_ne_of;
		break;
	default:
		r = (f & EFLAGS_ZF) || sf_ne_of;
		break;
	}
	return (cc & 1) ? !r : r;
}

/* ---- registers ---- */

/* Write a GPR as an instruction of that operand size does (SDM 3.4.1.1). */
static void gpr_write(struct x86_emulate_ctxt *ctxt, int reg, bool high_byte,
		      unsigned int bytes, u64 val)
{
	u64 *r = &ctxt->regs[reg];

	switch (bytes) {
	case 1:
		if (high_byte)
			*r = (*r & ~0xff00ULL) | ((val & 0xff) << 8);
		else
			*r = (*r & ~0xffULL) | (val & 0xff);
		break;
	case 2:
		*r = (*r & ~0xffffULL) | (val & 0xffff);
		break;
	case 4:
		*r = (u32)val;		/* zero-extended in 64-bit mode */
		break;
	default:
		*r = val;
		break;
	}
}

static u64 gpr_read(struct x86_emulate_ctxt *ctxt,
		    const struct x86emul_operand *op)
{
	u64 v = ctxt->regs[op->reg];

	if (op->high_byte)
		v >>= 8;
	return v & size_mask(op->bytes);
}

/* ---- memory ---- */

static int mem_linear(struct x86_emulate_ctxt *ctxt, int seg, u64 ea,
		      unsigned int bytes, bool write, u64 *la)
{
	bool align = bytes == 16 && (ctxt->insn.d.flags & OPF_ALIGN16);

	return x86emul_linearize(ctxt, seg, ea, bytes, write, align, la);
}

static int mem_read(struct x86_emulate_ctxt *ctxt, int seg, u64 ea,
		    unsigned int bytes, void *val, bool for_write)
{
	u64 la;
	int rc = mem_linear(ctxt, seg, ea, bytes, for_write, &la);

	if (rc != X86EMUL_CONTINUE)
		return rc;
	return ctxt->ops->read(ctxt, la, val, bytes, for_write);
}

static int mem_write(struct x86_emulate_ctxt *ctxt, int seg, u64 ea,
		     unsigned int bytes, const void *val)
{
	u64 la;
	int rc = mem_linear(ctxt, seg, ea, bytes, true, &la);

	if (rc != X86EMUL_CONTINUE)
		return rc;
	return ctxt->ops->write(ctxt, la, val, bytes);
}

/*
 * Write back a read-modify-write memory operand: atomically (cmpxchg
 * against the value read) under LOCK and for XCHG, which always locks.
 */
static int mem_writeback(struct x86_emulate_ctxt *ctxt,
			 const struct x86emul_operand *op, const void *old,
			 const void *new, bool locked)
{
	u64 la;
	int rc;

	if (!locked)
		return mem_write(ctxt, op->seg, op->ea, op->bytes, new);
	rc = mem_linear(ctxt, op->seg, op->ea, op->bytes, true, &la);
	if (rc != X86EMUL_CONTINUE)
		return rc;
	return ctxt->ops->cmpxchg_emulated(ctxt, la, old, new, op->bytes);
}

static bool insn_locked(const struct x86_emulate_ctxt *ctxt)
{
	return ctxt->insn.prefixes & PFX_LOCK;
}

/* ---- operands ---- */

/*
 * The value of operand @op in v[0] (and v[1] for 16 bytes), zero above its
 * size; an immediate sign-extended. @for_write: a memory destination that
 * will be written back.
 */
static int op_read(struct x86_emulate_ctxt *ctxt,
		   const struct x86emul_operand *op, u64 v[2], bool for_write)
{
	u8 xmm[16];

	v[0] = 0;
	v[1] = 0;
	if (op->mem)
		return mem_read(ctxt, op->seg, op->ea, op->bytes, v, for_write);
	switch (op->kind) {
	case OPK_IMM:
	case OPK_IMM8:
		v[0] = op->imm;
		break;
	case OPK_XMM_REG:
	case OPK_XMM_RM:
		ctxt->ops->get_xmm(ctxt, op->reg, xmm);
		memcpy(v, xmm, op->bytes);
		break;
	default:
		v[0] = gpr_read(ctxt, op);
		break;
	}
	return X86EMUL_CONTINUE;
}

/*
 * Store @v into operand @op: memory, a GPR (with its size's rules) or an
 * XMM register, whose bytes above @op->bytes are zeroed (MOVD, MOVQ).
 */
static int op_write(struct x86_emulate_ctxt *ctxt,
		    const struct x86emul_operand *op, const u64 v[2])
{
	u8 xmm[16];

	if (op->mem)
		return mem_write(ctxt, op->seg, op->ea, op->bytes, v);
	switch (op->kind) {
	case OPK_XMM_REG:
	case OPK_XMM_RM:
		memset(xmm, 0, sizeof(xmm));
		memcpy(xmm, v, op->bytes);
		ctxt->ops->put_xmm(ctxt, op->reg, xmm);
		break;
	default:
		gpr_write(ctxt, op->reg, op->high_byte, op->bytes, v[0]);
		break;
	}
	return X86EMUL_CONTINUE;
}

/* ---- the classes ---- */

/* MOV, MOVZX, MOVSX, MOVSXD, MOVNTI. */
static int em_mov(struct x86_emulate_ctxt *ctxt)
{
	struct x86emul_insn *insn = &ctxt->insn;
	u64 v[2];
	int rc;

	rc = op_read(ctxt, &insn->src, v, false);
	if (rc != X86EMUL_CONTINUE)
		return rc;
	if (insn->d.op == MOV_SX && insn->src.kind != OPK_IMM)
		v[0] = sign_extend(v[0], insn->src.bytes);
	v[0] &= size_mask(insn->dst.bytes);
	return op_write(ctxt, &insn->dst, v);
}

/* ADD OR ADC SBB AND SUB XOR CMP TEST. */
static int em_alu(struct x86_emulate_ctxt *ctxt)
{
	struct x86emul_insn *insn = &ctxt->insn;
	bool nowrite = insn->d.flags & OPF_NOWRITE;
	u64 a[2], b[2], r[2] = { 0, 0 }, flags;
	int rc;

	rc = op_read(ctxt, &insn->dst, a, !nowrite);
	if (rc != X86EMUL_CONTINUE)
		return rc;
	rc = op_read(ctxt, &insn->src, b, false);
	if (rc != X86EMUL_CONTINUE)
		return rc;
	r[0] = alu(insn->d.op, a[0], b[0], ctxt->rflags, insn->dst.bytes,
		   &flags);
	if (!nowrite) {
		if (insn->dst.mem)
			rc = mem_writeback(ctxt, &insn->dst, a, r,
					   insn_locked(ctxt));
		else
			rc = op_write(ctxt, &insn->dst, r);
		if (rc != X86EMUL_CONTINUE)
			return rc;
	}
	set_flags(ctxt, EFLAGS_STATUS, flags);
	return X86EMUL_CONTINUE;
}

/* INC DEC NOT NEG. */
static int em_unary(struct x86_emulate_ctxt *ctxt)
{
	struct x86emul_insn *insn = &ctxt->insn;
	u64 a[2], r[2] = { 0, 0 }, flags = 0, affected = EFLAGS_STATUS;
	int rc;

	rc = op_read(ctxt, &insn->dst, a, true);
	if (rc != X86EMUL_CONTINUE)
		return rc;
	switch (insn->d.op) {
	case UNARY_INC:
		r[0] = alu(ALU_ADD, a[0], 1, 0, insn->dst.bytes, &flags);
		affected &= ~EFLAGS_CF;		/* INC and DEC keep CF */
		break;
	case UNARY_DEC:
		r[0] = alu(ALU_SUB, a[0], 1, 0, insn->dst.bytes, &flags);
		affected &= ~EFLAGS_CF;
		break;
	case UNARY_NOT:
		r[0] = ~a[0] & size_mask(insn->dst.bytes);
		affected = 0;
		break;
	default:	/* UNARY_NEG: 0 - dst, CF = (dst != 0) */
		r[0] = alu(ALU_SUB, 0, a[0], 0, insn->dst.bytes, &flags);
		break;
	}
	if (insn->dst.mem)
		rc = mem_writeback(ctxt, &insn->dst, a, r, insn_locked(ctxt));
	else
		rc = op_write(ctxt, &insn->dst, r);
	if (rc != X86EMUL_CONTINUE)
		return rc;
	set_flags(ctxt, affected, flags);
	return X86EMUL_CONTINUE;
}

/* XCHG r/m, r: locked whenever memory is involved. */
static int em_xchg(struct x86_emulate_ctxt *ctxt)
{
	struct x86emul_insn *insn = &ctxt->insn;
	u64 a[2], b[2];
	int rc;

	rc = op_read(ctxt, &insn->dst, a, true);
	if (rc != X86EMUL_CONTINUE)
		return rc;
	rc = op_read(ctxt, &insn->src, b, false);
	if (rc != X86EMUL_CONTINUE)
		return rc;
	if (insn->dst.mem)
		rc = mem_writeback(ctxt, &insn->dst, a, b, true);
	else
		rc = op_write(ctxt, &insn->dst, b);
	if (rc != X86EMUL_CONTINUE)
		return rc;
	return op_write(ctxt, &insn->src, a);
}

/* XADD r/m, r: TEMP = SRC + DEST; SRC = DEST; DEST = TEMP. */
static int em_xadd(struct x86_emulate_ctxt *ctxt)
{
	struct x86emul_insn *insn = &ctxt->insn;
	u64 a[2], b[2], r[2] = { 0, 0 }, flags;
	int rc;

	rc = op_read(ctxt, &insn->dst, a, true);
	if (rc != X86EMUL_CONTINUE)
		return rc;
	rc = op_read(ctxt, &insn->src, b, false);
	if (rc != X86EMUL_CONTINUE)
		return rc;
	r[0] = alu(ALU_ADD, a[0], b[0], 0, insn->dst.bytes, &flags);
	if (insn->dst.mem) {
		rc = mem_writeback(ctxt, &insn->dst, a, r, insn_locked(ctxt));
		if (rc != X86EMUL_CONTINUE)
			return rc;
		op_write(ctxt, &insn->src, a);
	} else {
		op_write(ctxt, &insn->src, a);
		op_write(ctxt, &insn->dst, r);
	}
	set_flags(ctxt, EFLAGS_STATUS, flags);
	return X86EMUL_CONTINUE;
}

/*
 * CMPXCHG r/m, r: compare the accumulator with the destination; equal:
 * the destination gets the source, else the accumulator the destination.
 * As KVM, a failed compare does not write the destination back (the CPU's
 * bus write of the old value), so MMIO sees no write then.
 */
static int em_cmpxchg(struct x86_emulate_ctxt *ctxt)
{
	struct x86emul_insn *insn = &ctxt->insn;
	unsigned int bytes = insn->dst.bytes;
	u64 a[2], b[2], flags;
	u64 acc = ctxt->regs[REG_RAX] & size_mask(bytes);
	int rc;

	rc = op_read(ctxt, &insn->dst, a, true);
	if (rc != X86EMUL_CONTINUE)
		return rc;
	rc = op_read(ctxt, &insn->src, b, false);
	if (rc != X86EMUL_CONTINUE)
		return rc;
	alu(ALU_CMP, acc, a[0], 0, bytes, &flags);
	if (acc == a[0]) {
		if (insn->dst.mem)
			rc = mem_writeback(ctxt, &insn->dst, a, b,
					   insn_locked(ctxt));
		else
			rc = op_write(ctxt, &insn->dst, b);
		if (rc != X86EMUL_CONTINUE)
			return rc;
	} else {
		gpr_write(ctxt, REG_RAX, false, bytes, a[0]);
	}
	set_flags(ctxt, EFLAGS_STATUS, flags);
	return X86EMUL_CONTINUE;
}

/*
 * CMPXCHG8B m64 / CMPXCHG16B m128: compare rDX:rAX with memory; equal:
 * memory gets rCX:rBX and ZF = 1, else rDX:rAX gets memory and ZF = 0.
 */
static int em_cmpxchg8b(struct x86_emulate_ctxt *ctxt)
{
	struct x86emul_insn *insn = &ctxt->insn;
	unsigned int half = insn->dst.bytes / 2;
	u64 m = size_mask(half), old[2], new[2], lo, hi;
	int rc;

	rc = op_read(ctxt, &insn->dst, old, true);
	if (rc != X86EMUL_CONTINUE)
		return rc;
	if (half == 4) {
		lo = old[0] & m;
		hi = old[0] >> 32;
		new[0] = (ctxt->regs[REG_RBX] & m) |
			 (ctxt->regs[REG_RCX] << 32);
		new[1] = 0;
	} else {
		lo = old[0];
		hi = old[1];
		new[0] = ctxt->regs[REG_RBX];
		new[1] = ctxt->regs[REG_RCX];
	}
	if (lo == (ctxt->regs[REG_RAX] & m) && hi == (ctxt->regs[REG_RDX] & m)) {
		rc = mem_writeback(ctxt, &insn->dst, old, new,
				   insn_locked(ctxt));
		if (rc != X86EMUL_CONTINUE)
			return rc;
		ctxt->rflags |= EFLAGS_ZF;
	} else {
		gpr_write(ctxt, REG_RAX, false, half, lo);
		gpr_write(ctxt, REG_RDX, false, half, hi);
		ctxt->rflags &= ~EFLAGS_ZF;
	}
	return X86EMUL_CONTINUE;
}

/*
 * BT BTS BTR BTC. With a register bit offset and a memory operand the
 * offset is signed and reaches beyond the operand: the operand read is the
 * one that holds the bit (SDM "BT": EA + operand size * (offset DIV
 * operand bits)). CF gets the bit; OF, SF, AF and PF are undefined and
 * left alone.
 */
static int em_bt(struct x86_emulate_ctxt *ctxt)
{
	struct x86emul_insn *insn = &ctxt->insn;
	struct x86emul_operand dst = insn->dst;
	unsigned int bits = dst.bytes * 8;
	u64 a[2], b[2], r[2] = { 0, 0 }, bit;
	s64 off;
	int rc;

	rc = op_read(ctxt, &insn->src, b, false);
	if (rc != X86EMUL_CONTINUE)
		return rc;
	off = sign_extend(b[0], insn->src.kind == OPK_IMM ? 1 : dst.bytes);
	if (dst.mem && insn->src.kind != OPK_IMM) {
		/* Arithmetic shift: the floor of a signed division. */
		s64 word = off >> (bits == 16 ? 4 : bits == 32 ? 5 : 6);

		dst.ea = (dst.ea + (u64)word * dst.bytes) & x86emul_ad_mask(ctxt);
	}
	bit = 1ULL << (off & (bits - 1));
	rc = op_read(ctxt, &dst, a, insn->d.op != BT_BT);
	if (rc != X86EMUL_CONTINUE)
		return rc;
	switch (insn->d.op) {
	case BT_BTS:
		r[0] = a[0] | bit;
		break;
	case BT_BTR:
		r[0] = a[0] & ~bit;
		break;
	case BT_BTC:
		r[0] = a[0] ^ bit;
		break;
	}
	if (insn->d.op != BT_BT) {
		if (dst.mem)
			rc = mem_writeback(ctxt, &dst, a, r, insn_locked(ctxt));
		else
			rc = op_write(ctxt, &dst, r);
		if (rc != X86EMUL_CONTINUE)
			return rc;
	}
	set_flags(ctxt, EFLAGS_CF, (a[0] & bit) ? EFLAGS_CF : 0);
	return X86EMUL_CONTINUE;
}

static int em_setcc(struct x86_emulate_ctxt *ctxt)
{
	u64 v[2] = { test_cc(ctxt->insn.d.op, ctxt->rflags), 0 };

	return op_write(ctxt, &ctxt->insn.dst, v);
}

/*
 * CMOVcc r, r/m: the source is read (and may fault) whatever the
 * condition; a 32-bit destination is zero-extended even when it is not
 * moved.
 */
static int em_cmovcc(struct x86_emulate_ctxt *ctxt)
{
	struct x86emul_insn *insn = &ctxt->insn;
	u64 v[2];
	int rc;

	rc = op_read(ctxt, &insn->src, v, false);
	if (rc != X86EMUL_CONTINUE)
		return rc;
	if (test_cc(insn->d.op, ctxt->rflags))
		return op_write(ctxt, &insn->dst, v);
	if (insn->dst.bytes == 4)
		ctxt->regs[insn->dst.reg] = (u32)ctxt->regs[insn->dst.reg];
	return X86EMUL_CONTINUE;
}

/* The stack's address size: SS.B outside 64-bit mode (SDM 6.2.3). */
static unsigned int stack_bytes(struct x86_emulate_ctxt *ctxt)
{
	if (ctxt->mode == X86EMUL_MODE_PROT64)
		return 8;
	return x86emul_segment(ctxt, X86EMUL_SEG_SS)->db ? 4 : 2;
}

/* Set rSP to @sp as a register of the stack's address size. */
static void set_sp(struct x86_emulate_ctxt *ctxt, unsigned int sp_bytes, u64 sp)
{
	u64 m = size_mask(sp_bytes);

	ctxt->regs[REG_RSP] = (ctxt->regs[REG_RSP] & ~m) | (sp & m);
}

/* PUSH r/m: read the operand, then store it below rSP. */
static int em_push(struct x86_emulate_ctxt *ctxt)
{
	struct x86emul_insn *insn = &ctxt->insn;
	unsigned int sp_bytes = stack_bytes(ctxt), bytes = insn->src.bytes;
	u64 v[2], sp;
	int rc;

	rc = op_read(ctxt, &insn->src, v, false);
	if (rc != X86EMUL_CONTINUE)
		return rc;
	sp = (ctxt->regs[REG_RSP] - bytes) & size_mask(sp_bytes);
	rc = mem_write(ctxt, X86EMUL_SEG_SS, sp, bytes, v);
	if (rc != X86EMUL_CONTINUE)
		return rc;
	set_sp(ctxt, sp_bytes, sp);
	return X86EMUL_CONTINUE;
}

/*
 * POP r/m: load from rSP, then store. An rSP-based destination address
 * was computed with the incremented rSP (decode, OPF_INC_SP); POP into rSP
 * leaves the popped value there.
 */
static int em_pop(struct x86_emulate_ctxt *ctxt)
{
	struct x86emul_insn *insn = &ctxt->insn;
	unsigned int sp_bytes = stack_bytes(ctxt), bytes = insn->dst.bytes;
	u64 v[2] = { 0, 0 }, sp = ctxt->regs[REG_RSP] & size_mask(sp_bytes);
	int rc;

	rc = mem_read(ctxt, X86EMUL_SEG_SS, sp, bytes, v, false);
	if (rc != X86EMUL_CONTINUE)
		return rc;
	if (insn->dst.mem) {
		rc = op_write(ctxt, &insn->dst, v);
		if (rc != X86EMUL_CONTINUE)
			return rc;
		set_sp(ctxt, sp_bytes, sp + bytes);
	} else {
		set_sp(ctxt, sp_bytes, sp + bytes);
		op_write(ctxt, &insn->dst, v);
	}
	return X86EMUL_CONTINUE;
}

/* rSI/rDI/rCX as registers of the address size (SDM 3.6, string insns). */
static void set_addr_reg(struct x86_emulate_ctxt *ctxt, int reg, u64 val)
{
	gpr_write(ctxt, reg, false, ctxt->insn.ad_bytes, val);
}

/*
 * One iteration of MOVS, CMPS, STOS, LODS or SCAS: its memory accesses,
 * then its register updates. CMPS compares the first operand, seg:rSI,
 * with the second, ES:rDI (read first); SCAS the accumulator with ES:rDI.
 */
static int string_iteration(struct x86_emulate_ctxt *ctxt)
{
	struct x86emul_insn *insn = &ctxt->insn;
	unsigned int bytes = insn->d.flags & OPF_BYTEOP ? 1 : insn->op_bytes;
	u64 admask = x86emul_ad_mask(ctxt);
	u64 si = ctxt->regs[REG_RSI] & admask;
	u64 di = ctxt->regs[REG_RDI] & admask;
	s64 delta = (ctxt->rflags & EFLAGS_DF) ? -(s64)bytes : bytes;
	int src_seg = insn->seg_override >= 0 ? insn->seg_override :
						X86EMUL_SEG_DS;
	u64 a[2] = { 0, 0 }, b[2] = { 0, 0 }, flags;
	int rc = X86EMUL_CONTINUE;

	switch (insn->d.op) {
	case STR_MOVS:
		rc = mem_read(ctxt, src_seg, si, bytes, a, false);
		if (rc == X86EMUL_CONTINUE)
			rc = mem_write(ctxt, X86EMUL_SEG_ES, di, bytes, a);
		break;
	case STR_STOS:
		a[0] = ctxt->regs[REG_RAX];
		rc = mem_write(ctxt, X86EMUL_SEG_ES, di, bytes, a);
		break;
	case STR_LODS:
		rc = mem_read(ctxt, src_seg, si, bytes, a, false);
		break;
	case STR_CMPS:
		/*
		 * Where both operands fault, Intel reports ES:rDI's fault and
		 * AMD DS:rSI's (both seen in the differential test).
		 */
		if (ctxt->flags & X86EMUL_F_AMD) {
			rc = mem_read(ctxt, src_seg, si, bytes, a, false);
			if (rc == X86EMUL_CONTINUE)
				rc = mem_read(ctxt, X86EMUL_SEG_ES, di, bytes, b, false);
			break;
		}
		rc = mem_read(ctxt, X86EMUL_SEG_ES, di, bytes, b, false);
		if (rc == X86EMUL_CONTINUE)
			rc = mem_read(ctxt, src_seg, si, bytes, a, false);
		break;
	case STR_SCAS:
		rc = mem_read(ctxt, X86EMUL_SEG_ES, di, bytes, b, false);
		break;
	}
	if (rc != X86EMUL_CONTINUE)
		return rc;

	switch (insn->d.op) {
	case STR_MOVS:
		set_addr_reg(ctxt, REG_RSI, si + delta);
		set_addr_reg(ctxt, REG_RDI, di + delta);
		break;
	case STR_STOS:
		set_addr_reg(ctxt, REG_RDI, di + delta);
		break;
	case STR_LODS:
		gpr_write(ctxt, REG_RAX, false, bytes, a[0]);
		set_addr_reg(ctxt, REG_RSI, si + delta);
		break;
	case STR_CMPS:
		alu(ALU_CMP, a[0], b[0], 0, bytes, &flags);
		set_flags(ctxt, EFLAGS_STATUS, flags);
		set_addr_reg(ctxt, REG_RSI, si + delta);
		set_addr_reg(ctxt, REG_RDI, di + delta);
		break;
	case STR_SCAS:
		alu(ALU_CMP, ctxt->regs[REG_RAX], b[0], 0, bytes, &flags);
		set_flags(ctxt, EFLAGS_STATUS, flags);
		set_addr_reg(ctxt, REG_RDI, di + delta);
		break;
	}
	return X86EMUL_CONTINUE;
}

/*
 * The string instructions, with REP (F3; REPE for CMPS and SCAS) or REPNE
 * (F2). rCX counts in the address size. Every completed iteration is
 * kept: a fault or a wait for userspace in the next one returns with RIP
 * still on the instruction and the registers where the CPU would have
 * them, so that the instruction restarts where it stopped. After
 * X86EMUL_REP_CHUNK iterations the guest runs again (rep_incomplete).
 */
static int em_string(struct x86_emulate_ctxt *ctxt)
{
	struct x86emul_insn *insn = &ctxt->insn;
	bool rep = insn->prefixes & (PFX_REP | PFX_REPNE);
	bool cmp = insn->d.op == STR_CMPS || insn->d.op == STR_SCAS;
	u64 admask = x86emul_ad_mask(ctxt), rflags = ctxt->rflags;
	bool amd = ctxt->flags & X86EMUL_F_AMD;
	unsigned int done;
	int rc;

	/*
	 * Intel's REP writes rCX in the address size before the first
	 * iteration: with 32-bit addresses in 64-bit mode its upper half is
	 * cleared even if nothing else happens; REP MOVS and REP STOS do the
	 * same to the address registers they use (not LODS, CMPS, SCAS).
	 * AMD's leaves all three alone when rCX is 0. As the CPUs of both
	 * vendors do in the differential test; KVM models the same quirk.
	 */
	if (rep && !amd) {
		set_addr_reg(ctxt, REG_RCX, ctxt->regs[REG_RCX]);
		if (insn->d.op == STR_MOVS)
			set_addr_reg(ctxt, REG_RSI, ctxt->regs[REG_RSI]);
		if (insn->d.op == STR_MOVS || insn->d.op == STR_STOS)
			set_addr_reg(ctxt, REG_RDI, ctxt->regs[REG_RDI]);
	}
	if (rep && !(ctxt->regs[REG_RCX] & admask))
		return X86EMUL_CONTINUE;
	for (done = 0;; done++) {
		if (done == X86EMUL_REP_CHUNK) {
			ctxt->rep_incomplete = true;
			if (cmp && !amd)
				ctxt->rflags = rflags;
			return X86EMUL_CONTINUE;
		}
		rc = string_iteration(ctxt);
		if (rc != X86EMUL_CONTINUE) {
			/*
			 * An interrupted REPE/REPNE CMPS or SCAS shows the
			 * flags it started with on Intel (the next iteration
			 * computes its own before testing them), those of its
			 * last completed iteration on AMD.
			 */
			if (cmp && rep && !amd)
				ctxt->rflags = rflags;
			return rc;
		}
		ctxt->iterations++;
		if (!rep)
			return X86EMUL_CONTINUE;
		set_addr_reg(ctxt, REG_RCX, ctxt->regs[REG_RCX] - 1);
		if (!(ctxt->regs[REG_RCX] & admask))
			return X86EMUL_CONTINUE;
		if (cmp && (insn->prefixes & PFX_REP) &&
		    !(ctxt->rflags & EFLAGS_ZF))
			return X86EMUL_CONTINUE;
		if (cmp && (insn->prefixes & PFX_REPNE) &&
		    (ctxt->rflags & EFLAGS_ZF))
			return X86EMUL_CONTINUE;
	}
}

/* MOVD MOVQ MOVDQA MOVDQU MOVAPS MOVUPS MOVAPD MOVUPD MOVNTDQ MOVNTPS. */
static int em_sse_mov(struct x86_emulate_ctxt *ctxt)
{
	struct x86emul_insn *insn = &ctxt->insn;
	u64 v[2];
	int rc;

	rc = op_read(ctxt, &insn->src, v, false);
	if (rc != X86EMUL_CONTINUE)
		return rc;
	return op_write(ctxt, &insn->dst, v);
}

/* ---- system instructions ---- */

static bool valid_cr(int cr)
{
	return cr == 0 || cr == 2 || cr == 3 || cr == 4 || cr == 8;
}

/*
 * MOV from/to DRn (SDM MOV DR, 17.2.2): REX.R names no debug register
 * (#UD), DR4/DR5 are DR6/DR7 unless CR4.DE (#UD); the operand is 64 bits
 * in 64-bit mode, else 32. CPL 0 was checked.
 */
static int em_mov_dr(struct x86_emulate_ctxt *ctxt, bool to, int dr, int reg)
{
	const struct x86_emulate_ops *ops = ctxt->ops;
	bool mode64 = ctxt->mode == X86EMUL_MODE_PROT64;
	u64 v;

	if (!ops->get_dr || !ops->set_dr)
		return X86EMUL_UNHANDLEABLE;
	if (dr > 7 || ((dr == 4 || dr == 5) && (ops->get_cr(ctxt, 4) & CR4_DE)))
		return x86emul_raise(ctxt, X86EMUL_UD_VECTOR, false, 0);
	if (dr == 4 || dr == 5)
		dr += 2;
	if (!to) {
		v = ops->get_dr(ctxt, dr);
		ctxt->regs[reg] = mode64 ? v : (u32)v;
		return X86EMUL_CONTINUE;
	}
	v = mode64 ? ctxt->regs[reg] : (u32)ctxt->regs[reg];
	if (ops->set_dr(ctxt, dr, v))
		return x86emul_raise(ctxt, X86EMUL_GP_VECTOR, true, 0);
	return X86EMUL_CONTINUE;
}

/* LGDT, LIDT: the limit, then a 24-, 32- or 64-bit base (SDM LGDT). */
static int em_load_dtable(struct x86_emulate_ctxt *ctxt, bool idt)
{
	struct x86emul_insn *insn = &ctxt->insn;
	bool mode64 = ctxt->mode == X86EMUL_MODE_PROT64;
	u64 limit[2] = { 0 }, base[2] = { 0 };
	int rc;

	rc = mem_read(ctxt, insn->dst.seg, insn->dst.ea, 2, limit, false);
	if (rc != X86EMUL_CONTINUE)
		return rc;
	rc = mem_read(ctxt, insn->dst.seg,
		      (insn->dst.ea + 2) & x86emul_ad_mask(ctxt),
		      mode64 ? 8 : 4, base, false);
	if (rc != X86EMUL_CONTINUE)
		return rc;
	if (!mode64 && insn->op_bytes == 2)
		base[0] &= 0xffffff;
	ctxt->ops->set_dtable(ctxt, idt, base[0], limit[0]);
	return X86EMUL_CONTINUE;
}

/*
 * MOV from/to a control or debug register, CLTS, LMSW, SMSW, INVLPG,
 * LGDT, LIDT, HLT (SDM volume 2): what a hypervisor intercepts without the CPU's
 * decode assists, or what virtual-8086 mode cannot run. The callbacks do
 * the work; all but SMSW need CPL 0.
 */
static int em_system(struct x86_emulate_ctxt *ctxt)
{
	const struct x86_emulate_ops *ops = ctxt->ops;
	struct x86emul_insn *insn = &ctxt->insn;
	bool mode64 = ctxt->mode == X86EMUL_MODE_PROT64;
	int cr = insn->modrm_reg | ((insn->rex & 4) << 1);
	int reg = insn->modrm_rm | ((insn->rex & 1) << 3);
	u64 v[2], cr0, linear;
	int rc;

	if (!ops->set_cr || !ops->invlpg || !ops->set_dtable || !ops->halt)
		return X86EMUL_UNHANDLEABLE;
	if (insn->d.op != SYS_SMSW && ctxt->cpl)
		return x86emul_raise(ctxt, X86EMUL_GP_VECTOR, true, 0);
	switch (insn->d.op) {
	case SYS_MOV_FROM_CR:
		if (!valid_cr(cr))
			return x86emul_raise(ctxt, X86EMUL_UD_VECTOR, false, 0);
		v[0] = ops->get_cr(ctxt, cr);
		ctxt->regs[reg] = mode64 ? v[0] : (u32)v[0];
		return X86EMUL_CONTINUE;
	case SYS_MOV_FROM_DR:
	case SYS_MOV_TO_DR:
		return em_mov_dr(ctxt, insn->d.op == SYS_MOV_TO_DR, cr, reg);
	case SYS_MOV_TO_CR:
		if (!valid_cr(cr))
			return x86emul_raise(ctxt, X86EMUL_UD_VECTOR, false, 0);
		v[0] = mode64 ? ctxt->regs[reg] : (u32)ctxt->regs[reg];
		break;
	case SYS_CLTS:
		cr = 0;
		v[0] = ops->get_cr(ctxt, 0) & ~(u64)CR0_TS;
		break;
	case SYS_LMSW:
		/* PE, MP, EM, TS; PE can be set but not cleared. */
		rc = op_read(ctxt, &insn->src, v, false);
		if (rc != X86EMUL_CONTINUE)
			return rc;
		cr0 = ops->get_cr(ctxt, 0);
		cr = 0;
		v[0] = (cr0 & ~0xfULL) | (v[0] & 0xf) | (cr0 & 1);
		break;
	case SYS_SMSW:
		v[0] = ops->get_cr(ctxt, 0);
		v[1] = 0;
		if (insn->dst.mem)
			insn->dst.bytes = 2;
		return op_write(ctxt, &insn->dst, v);
	case SYS_INVLPG:
		rc = x86emul_linearize(ctxt, insn->dst.seg, insn->dst.ea, 1,
				       false, false, &linear);
		if (rc != X86EMUL_CONTINUE)
			return rc;
		ops->invlpg(ctxt, linear);
		return X86EMUL_CONTINUE;
	case SYS_LGDT:
	case SYS_LIDT:
		return em_load_dtable(ctxt, insn->d.op == SYS_LIDT);
	case SYS_HLT:
		ops->halt(ctxt);
		return X86EMUL_CONTINUE;
	default:
		return X86EMUL_UNHANDLEABLE;
	}
	if (ops->set_cr(ctxt, cr, v[0]))
		return x86emul_raise(ctxt, X86EMUL_GP_VECTOR, true, 0);
	return X86EMUL_CONTINUE;
}

/* The checks every instruction of its kind gets before it executes. */
static int check_insn(struct x86_emulate_ctxt *ctxt)
{
	struct x86emul_insn *insn = &ctxt->insn;
	u64 cr0;

	/* LOCK: only the listed instructions, on a memory destination. */
	if ((insn->prefixes & PFX_LOCK) &&
	    (!(insn->d.flags & OPF_LOCK) || !insn->dst.mem))
		return x86emul_raise(ctxt, X86EMUL_UD_VECTOR, false, 0);
	if ((insn->d.flags & OPF_MEM_ONLY) && insn->modrm_mod == 3)
		return x86emul_raise(ctxt, X86EMUL_UD_VECTOR, false, 0);
	if (insn->d.flags & OPF_SSE) {
		cr0 = ctxt->ops->get_cr(ctxt, 0);
		if ((cr0 & CR0_EM) || !(ctxt->ops->get_cr(ctxt, 4) & CR4_OSFXSR))
			return x86emul_raise(ctxt, X86EMUL_UD_VECTOR, false, 0);
		if (cr0 & CR0_TS)
			return x86emul_raise(ctxt, X86EMUL_NM_VECTOR, false, 0);
	}
	return X86EMUL_CONTINUE;
}

static int execute(struct x86_emulate_ctxt *ctxt)
{
	switch (ctxt->insn.d.cls) {
	case C_MOV:
		return em_mov(ctxt);
	case C_ALU:
		return em_alu(ctxt);
	case C_UNARY:
		return em_unary(ctxt);
	case C_XCHG:
		return em_xchg(ctxt);
	case C_XADD:
		return em_xadd(ctxt);
	case C_CMPXCHG:
		return em_cmpxchg(ctxt);
	case C_CMPXCHG8B:
		return em_cmpxchg8b(ctxt);
	case C_BT:
		return em_bt(ctxt);
	case C_SETCC:
		return em_setcc(ctxt);
	case C_CMOVCC:
		return em_cmovcc(ctxt);
	case C_PUSH:
		return em_push(ctxt);
	case C_POP:
		return em_pop(ctxt);
	case C_STRING:
		return em_string(ctxt);
	case C_SSE_MOV:
		return em_sse_mov(ctxt);
	case C_SYSTEM:
		return em_system(ctxt);
	default:
		return X86EMUL_UNHANDLEABLE;
	}
}

/*
 * Execute the instruction x86_decode_insn() decoded, and move RIP past it
 * (unless a REP string instruction has iterations left).
 *
 * Returns X86EMUL_CONTINUE, X86EMUL_EXCEPTION (ctxt->exception),
 * X86EMUL_IO_NEEDED (an access waits for userspace: call again, after
 * decoding again, once it can complete) or X86EMUL_UNHANDLEABLE.
 */
int x86_emulate_insn(struct x86_emulate_ctxt *ctxt)
{
	struct x86emul_insn *insn = &ctxt->insn;
	u64 regs[16], rflags = ctxt->rflags;
	int rc, tries;

	rc = check_insn(ctxt);
	if (rc != X86EMUL_CONTINUE)
		return rc;
	memcpy(regs, ctxt->regs, sizeof(regs));
	for (tries = 0;; tries++) {
		rc = execute(ctxt);
		if (rc != X86EMUL_CMPXCHG_FAILED)
			break;
		/* Another CPU changed the operand: start over. */
		if (tries == CMPXCHG_RETRIES)
			return X86EMUL_UNHANDLEABLE;
		memcpy(ctxt->regs, regs, sizeof(regs));
		ctxt->rflags = rflags;
		ctxt->rep_incomplete = false;
		ctxt->iterations = 0;
	}
	if (rc == X86EMUL_CONTINUE && !ctxt->rep_incomplete) {
		ctxt->rip += insn->len;
		if (ctxt->mode != X86EMUL_MODE_PROT64)
			ctxt->rip = (u32)ctxt->rip;
	}
	return rc;
}
