/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The x86 instruction emulator (x86/decode.c, x86/emulate.c): decodes and
 * executes one instruction against a small context, the guest's registers
 * and a table of callbacks for memory. It knows no vCPU, backend or kernel
 * service: the same two files build in userspace for their differential
 * test (tools/testing/emulator/), which supplies <linux/types.h> and
 * <linux/string.h> of its own. Documentation/emulator.rst describes it.
 *
 * Contract with the caller ("the glue", x86/mmio.c in the module):
 *  - fill ctxt->ops, ->priv, ->mode, ->cpl, ->regs, ->rip, ->rflags and
 *    optionally ->fetch with instruction bytes the CPU already reported;
 *  - x86_decode_insn(), then x86_emulate_insn();
 *  - whatever they return (but X86EMUL_UNHANDLEABLE), copy ->regs, ->rip
 *    and ->rflags back to the vCPU: the emulator changes them only at an
 *    instruction boundary, or for a REP string instruction after each
 *    completed iteration;
 *  - X86EMUL_EXCEPTION: deliver ctxt->exception to the guest.
 */
#ifndef CKVM_EMULATE_H
#define CKVM_EMULATE_H

#include <linux/types.h>

/* A fault to deliver to the guest: #PF, #GP, #SS, #UD, #NM... */
struct x86_exception {
	u8 vector;
	bool error_code_valid;
	u32 error_code;
	u64 address;		/* #PF: the linear address, for CR2 */
};

/* Return codes of the emulator and of its callbacks. */
#define X86EMUL_CONTINUE	0	/* done; go on */
#define X86EMUL_EXCEPTION	1	/* ctxt->exception is to be delivered */
#define X86EMUL_IO_NEEDED	2	/* the access waits for userspace */
#define X86EMUL_UNHANDLEABLE	3	/* cannot be emulated */
#define X86EMUL_CMPXCHG_FAILED	4	/* cmpxchg_emulated(): memory no longer held @old */

/*
 * ctxt->flags. X86EMUL_F_AMD: the guest's CPUID vendor is AMD's (or
 * Hygon's), whose REP string instructions and 16-bit MOVSXD differ from
 * Intel's in details (em_string(), string_iteration(), x86_decode_insn();
 * Documentation/emulator.rst).
 */
#define X86EMUL_F_AMD		(1u << 0)

/* Exception vectors the emulator raises (SDM 6.15). */
#define X86EMUL_UD_VECTOR	6
#define X86EMUL_NM_VECTOR	7
#define X86EMUL_SS_VECTOR	12
#define X86EMUL_GP_VECTOR	13
#define X86EMUL_PF_VECTOR	14

enum x86emul_mode {
	X86EMUL_MODE_REAL,	/* CR0.PE = 0 */
	X86EMUL_MODE_VM86,	/* RFLAGS.VM = 1 */
	X86EMUL_MODE_PROT16,	/* protected or compatibility mode, CS.D = 0 */
	X86EMUL_MODE_PROT32,	/* protected or compatibility mode, CS.D = 1 */
	X86EMUL_MODE_PROT64,	/* 64-bit mode: EFER.LMA = 1 and CS.L = 1 */
};

/* Segment registers, in the encoding order of the instruction set. */
enum x86emul_seg {
	X86EMUL_SEG_ES,
	X86EMUL_SEG_CS,
	X86EMUL_SEG_SS,
	X86EMUL_SEG_DS,
	X86EMUL_SEG_FS,
	X86EMUL_SEG_GS,
	X86EMUL_NR_SEGS
};

/* A segment register's hidden part, as the CPU caches it. */
struct x86emul_segment {
	u64 base;
	u32 limit;		/* in bytes: granularity already applied */
	u16 selector;
	u8 type;		/* descriptor type, bits 3:0 */
	u8 dpl;
	bool s;			/* code or data (not system) */
	bool present;
	bool db;		/* D/B: 32-bit default (code), big (stack) */
	bool unusable;		/* null selector loaded: any use faults */
};

/* Instruction bytes: at most 15 (SDM 2.3.11). */
#define X86EMUL_MAX_INSN	15

struct x86_emulate_ctxt;

/*
 * The callbacks. Addresses are linear (segmentation done); lengths are in
 * bytes, 1 to 16, and an access may cross a page, which the callee
 * splits. Each returns X86EMUL_CONTINUE, or X86EMUL_EXCEPTION with
 * ctxt->exception filled (#PF), or X86EMUL_IO_NEEDED when the access
 * must wait for userspace (the emulator stops without side effects of its
 * own), or X86EMUL_UNHANDLEABLE.
 */
struct x86_emulate_ops {
	/* Instruction bytes; never crosses a page. */
	int (*fetch)(struct x86_emulate_ctxt *ctxt, u64 addr, void *val,
		     unsigned int len);
	/*
	 * @for_write: the operand is read to be written back (read-modify-
	 * write), so the access needs write permission already.
	 */
	int (*read)(struct x86_emulate_ctxt *ctxt, u64 addr, void *val,
		    unsigned int len, bool for_write);
	int (*write)(struct x86_emulate_ctxt *ctxt, u64 addr, const void *val,
		     unsigned int len);
	/*
	 * Store @new where memory still holds @old, atomically where the
	 * memory allows it (RAM); X86EMUL_CMPXCHG_FAILED if it did not hold
	 * @old. Used for LOCK and XCHG on memory.
	 */
	int (*cmpxchg_emulated)(struct x86_emulate_ctxt *ctxt, u64 addr,
				const void *old, const void *new, unsigned int len);
	void (*get_segment)(struct x86_emulate_ctxt *ctxt, int seg,
			    struct x86emul_segment *s);
	u64 (*get_cr)(struct x86_emulate_ctxt *ctxt, int cr);
	/*
	 * The system instructions (C_SYSTEM), optional: without them those
	 * are not emulated. set_cr: MOV to CR0, CR2, CR3, CR4 or CR8 (also
	 * CLTS, LMSW), 0 or -1 for a #GP(0) the new value deserves. invlpg:
	 * the guest invalidates the TLB entries of linear @addr. set_dtable:
	 * LGDT (@idt false) or LIDT. halt: HLT, done once RIP moved on.
	 */
	int (*set_cr)(struct x86_emulate_ctxt *ctxt, int cr, u64 val);
	void (*invlpg)(struct x86_emulate_ctxt *ctxt, u64 addr);
	void (*set_dtable)(struct x86_emulate_ctxt *ctxt, bool idt, u64 base,
			   u16 limit);
	void (*halt)(struct x86_emulate_ctxt *ctxt);
	/*
	 * Optional: MOV from/to DR0-7 (4 and 5 already mapped to 6 and 7).
	 * get_dr returns the guest's value; set_dr returns 0, or -1 for a
	 * #GP(0) the value deserves (DR6/DR7 bits 63:32). Without them MOV DR
	 * is not emulated. The caller checked DR7.GD before.
	 */
	u64 (*get_dr)(struct x86_emulate_ctxt *ctxt, int dr);
	int (*set_dr)(struct x86_emulate_ctxt *ctxt, int dr, u64 val);
	/* The guest's XMM register @reg (0-15): 16 bytes. */
	void (*get_xmm)(struct x86_emulate_ctxt *ctxt, int reg, void *val);
	void (*put_xmm)(struct x86_emulate_ctxt *ctxt, int reg, const void *val);
};

/* Operand kinds of the decode table (decode.c). */
enum x86emul_opk {
	OPK_NONE,
	OPK_RM,		/* ModRM.rm: a GPR or memory */
	OPK_REG,	/* ModRM.reg: a GPR */
	OPK_ACC,	/* AL, AX, EAX or RAX */
	OPK_IMM,	/* immediate of the operand's size (at most 4 bytes) */
	OPK_IMM8,	/* imm8, sign-extended to the operand's size */
	OPK_MOFFS,	/* memory at an absolute offset (MOV A0-A3) */
	OPK_XMM_RM,	/* ModRM.rm: an XMM register or memory */
	OPK_XMM_REG,	/* ModRM.reg: an XMM register */
	OPK_STR_SRC,	/* seg:rSI of a string instruction */
	OPK_STR_DST,	/* ES:rDI of a string instruction */
};

/* Operand sizes of the decode table. */
enum x86emul_size {
	SZ_NONE,
	SZ_B,		/* 1 byte */
	SZ_W,		/* 2 bytes */
	SZ_D,		/* 4 bytes */
	SZ_Q,		/* 8 bytes */
	SZ_DQ,		/* 16 bytes */
	SZ_V,		/* the operand size: 2, 4 or 8 */
	SZ_Z,		/* 2 with a 16-bit operand size, else 4 */
	SZ_Y,		/* 4, or 8 with REX.W (MOVD/MOVQ, MOVNTI) */
};

/* Instruction classes: one execute function each (emulate.c). */
enum x86emul_class {
	C_NONE,		/* not emulated */
	C_MOV,		/* MOV, MOVZX, MOVSX, MOVSXD, MOVNTI */
	C_ALU,		/* ADD OR ADC SBB AND SUB XOR CMP TEST */
	C_UNARY,	/* INC DEC NOT NEG */
	C_XCHG,
	C_XADD,
	C_CMPXCHG,
	C_CMPXCHG8B,	/* and CMPXCHG16B */
	C_BT,		/* BT BTS BTR BTC */
	C_SETCC,
	C_CMOVCC,
	C_PUSH,
	C_POP,
	C_STRING,	/* MOVS STOS LODS CMPS SCAS */
	C_SSE_MOV,	/* MOVD MOVQ MOVDQU MOVDQA MOVUPS MOVAPS ... */
	C_SYSTEM,	/* MOV CR/DR, CLTS, LMSW, SMSW, INVLPG, LGDT, LIDT, HLT */
};

/* Sub-operations (x86emul_opcode.op), per class. */
enum {
	ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP,
	ALU_TEST,
};
enum { UNARY_INC, UNARY_DEC, UNARY_NOT, UNARY_NEG };
enum { BT_BT, BT_BTS, BT_BTR, BT_BTC };
enum { MOV_PLAIN, MOV_ZX, MOV_SX };
enum { STR_MOVS, STR_CMPS, STR_STOS, STR_LODS, STR_SCAS };
enum {
	SYS_MOV_FROM_CR, SYS_MOV_TO_CR, SYS_CLTS, SYS_LMSW, SYS_SMSW,
	SYS_INVLPG, SYS_LGDT, SYS_LIDT, SYS_HLT,
	SYS_MOV_FROM_DR, SYS_MOV_TO_DR,
};

/* Flags of a decode table entry. */
#define OPF_MODRM	(1u << 0)	/* a ModRM byte follows */
#define OPF_LOCK	(1u << 1)	/* LOCK allowed (memory destination) */
#define OPF_NOWRITE	(1u << 2)	/* the destination is only read */
#define OPF_STACK	(1u << 3)	/* default operand size 64 in 64-bit mode */
#define OPF_MEM_ONLY	(1u << 4)	/* ModRM.mod = 3 is #UD */
#define OPF_ALIGN16	(1u << 5)	/* a 16-byte memory operand must be aligned */
#define OPF_SSE		(1u << 6)	/* SSE: CR0.EM/TS, CR4.OSFXSR apply */
#define OPF_BYTEOP	(1u << 7)	/* string instruction on bytes */
#define OPF_NO64	(1u << 8)	/* #UD in 64-bit mode */
#define OPF_INC_SP	(1u << 9)	/* POP r/m: rSP-based address after pop */
#define OPF_ONLY64	(1u << 10)	/* not this instruction outside 64-bit mode */
#define OPF_RM_REG	(1u << 11)	/* ModRM.rm is a GPR whatever mod says */

/* One decode table entry. */
struct x86emul_opcode {
	u8 cls;		/* enum x86emul_class */
	u8 op;		/* sub-operation within the class */
	u8 dst, src;	/* enum x86emul_opk */
	u8 dst_size, src_size;	/* enum x86emul_size */
	u16 flags;	/* OPF_* */
	u8 group;	/* > 0: ModRM.reg selects in group_table[group] */
	u8 sse;		/* > 0: the mandatory prefix selects in sse_table[sse] */
};

/* An operand after decode. */
struct x86emul_operand {
	u8 kind;		/* enum x86emul_opk; OPK_NONE: absent */
	u8 bytes;		/* 1, 2, 4, 8 or 16 */
	bool mem;		/* in memory at seg:ea */
	u8 reg;			/* GPR or XMM number */
	bool high_byte;		/* AH, CH, DH or BH */
	u8 seg;			/* enum x86emul_seg */
	u64 ea;			/* effective address, address-size wide */
	u64 imm;		/* OPK_IMM, OPK_IMM8: sign-extended to 64 */
};

/* Prefixes seen (x86emul_insn.prefixes). */
#define PFX_LOCK	(1u << 0)
#define PFX_REP		(1u << 1)	/* F3: REP/REPE */
#define PFX_REPNE	(1u << 2)	/* F2: REPNE */
#define PFX_OPSIZE	(1u << 3)	/* 66 */
#define PFX_ADSIZE	(1u << 4)	/* 67 */

/* What x86_decode_insn() found. */
struct x86emul_insn {
	u8 len;			/* bytes */
	u8 opcode;		/* the last opcode byte */
	bool twobyte;		/* 0F-prefixed */
	u8 prefixes;		/* PFX_* */
	u8 rex;			/* 0 or 0x40-0x4f */
	u8 op_bytes;		/* operand size: 2, 4 or 8 */
	u8 ad_bytes;		/* address size: 2, 4 or 8 */
	s8 seg_override;	/* -1 or enum x86emul_seg */
	u8 modrm, modrm_mod, modrm_reg, modrm_rm;
	struct x86emul_opcode d;	/* the entry, groups and SSE resolved */
	struct x86emul_operand dst, src;
};

/*
 * Iterations of a REP string instruction per call of x86_emulate_insn():
 * then RIP stays on the instruction and the guest runs again before the
 * rest (interrupts can come in between).
 */
#define X86EMUL_REP_CHUNK	1024

struct x86_emulate_ctxt {
	const struct x86_emulate_ops *ops;
	void *priv;			/* the caller's (the vCPU) */

	/* In, and out at an instruction boundary. */
	enum x86emul_mode mode;
	u8 cpl;
	u32 flags;			/* X86EMUL_F_* */
	u64 regs[16];			/* GPRs in encoding order */
	u64 rip;
	u64 rflags;

	/*
	 * Instruction bytes: the caller may put what the CPU reported here
	 * (fetch_len bytes at RIP); the decoder fetches what is missing.
	 */
	u8 fetch[X86EMUL_MAX_INSN];
	u8 fetch_len;

	struct x86emul_insn insn;
	/* Segment registers read so far for this instruction. */
	struct x86emul_segment seg_cache[X86EMUL_NR_SEGS];
	u8 seg_cached;			/* bit per segment */
	/* A REP string instruction stopped before its last iteration. */
	bool rep_incomplete;
	/* Iterations of a string instruction completed by this call. */
	u32 iterations;
	/* Out: the fault of X86EMUL_EXCEPTION. */
	struct x86_exception exception;
};

int x86_decode_insn(struct x86_emulate_ctxt *ctxt);
int x86_emulate_insn(struct x86_emulate_ctxt *ctxt);

/* decode.c, for emulate.c */
int x86emul_fetch_bytes(struct x86_emulate_ctxt *ctxt, unsigned int need);
int x86emul_linearize(struct x86_emulate_ctxt *ctxt, int seg, u64 ea,
		      unsigned int bytes, bool write, bool align16, u64 *linear);
int x86emul_raise(struct x86_emulate_ctxt *ctxt, u8 vector, bool has_error,
		  u32 error_code);
u64 x86emul_ad_mask(const struct x86_emulate_ctxt *ctxt);
const struct x86emul_segment *x86emul_segment(struct x86_emulate_ctxt *ctxt,
					      int seg);

#endif
