// SPDX-License-Identifier: GPL-2.0
/*
 * The x86 instruction emulator, part 1: decoding, and the segmentation
 * that turns an effective address into a linear one.
 *
 * One table entry per opcode (onebyte_table, twobyte_table) says which
 * class of instruction it is, its operand kinds and sizes, and its flags;
 * where the ModRM reg field picks the instruction (the SDM's opcode groups)
 * or the mandatory prefix does (SSE), the entry points into group_table or
 * sse_table. An opcode whose entry is empty is not emulated. Everything the
 * SDM volume 2 chapter 2 says about an instruction's format is applied
 * here: legacy and REX prefixes, ModRM/SIB, displacements, immediates,
 * operand and address sizes, segment overrides.
 *
 * Like emulate.c this file includes only emulate.h and builds unchanged in
 * userspace (tools/testing/emulator/).
 */
#include <linux/types.h>
#include <linux/string.h>

#include "emulate.h"

/*
 * Groups: the ModRM reg field selects the instruction (SDM A.4). 0 is
 * "no group", so that an entry left empty is simply not emulated.
 */
enum {
	GRP_NONE,
	GRP1_80, GRP1_81, GRP1_83, GRP1A_8F, GRP11_C6, GRP11_C7, GRP3_F6,
	GRP3_F7, GRP4_FE, GRP5_FF, GRP7_0F01, GRP8_0FBA, GRP9_0FC7, NR_GROUPS
};

/* SSE opcodes: the mandatory prefix (none, 66, F3, F2) selects. */
enum {
	SSE_NONE,
	SSE_0F10, SSE_0F11, SSE_0F28, SSE_0F29, SSE_0F2B, SSE_0F6E, SSE_0F6F,
	SSE_0F7E, SSE_0F7F, SSE_0FD6, SSE_0FE7, NR_SSE
};
enum { SSE_PFX_NONE, SSE_PFX_66, SSE_PFX_F3, SSE_PFX_F2 };

/*
 * The one-byte opcode map (SDM table A-2). Entries not listed are not
 * emulated.
 */
static const struct x86emul_opcode onebyte_table[256] = {
	[0x00] = { .cls = C_ALU, .op = ALU_ADD, .dst = OPK_RM, .src = OPK_REG,
		   .dst_size = SZ_B, .src_size = SZ_B,
		   .flags = OPF_MODRM | OPF_LOCK },
	[0x01] = { .cls = C_ALU, .op = ALU_ADD, .dst = OPK_RM, .src = OPK_REG,
		   .dst_size = SZ_V, .src_size = SZ_V,
		   .flags = OPF_MODRM | OPF_LOCK },
	[0x02] = { .cls = C_ALU, .op = ALU_ADD, .dst = OPK_REG, .src = OPK_RM,
		   .dst_size = SZ_B, .src_size = SZ_B,
		   .flags = OPF_MODRM },
	[0x03] = { .cls = C_ALU, .op = ALU_ADD, .dst = OPK_REG, .src = OPK_RM,
		   .dst_size = SZ_V, .src_size = SZ_V,
		   .flags = OPF_MODRM },
	[0x04] = { .cls = C_ALU, .op = ALU_ADD, .dst = OPK_ACC, .src = OPK_IMM,
		   .dst_size = SZ_B, .src_size = SZ_B },
	[0x05] = { .cls = C_ALU, .op = ALU_ADD, .dst = OPK_ACC, .src = OPK_IMM,
		   .dst_size = SZ_V, .src_size = SZ_Z },
	[0x08] = { .cls = C_ALU, .op = ALU_OR, .dst = OPK_RM, .src = OPK_REG,
		   .dst_size = SZ_B, .src_size = SZ_B,
		   .flags = OPF_MODRM | OPF_LOCK },
	[0x09] = { .cls = C_ALU, .op = ALU_OR, .dst = OPK_RM, .src = OPK_REG,
		   .dst_size = SZ_V, .src_size = SZ_V,
		   .flags = OPF_MODRM | OPF_LOCK },
	[0x0a] = { .cls = C_ALU, .op = ALU_OR, .dst = OPK_REG, .src = OPK_RM,
		   .dst_size = SZ_B, .src_size = SZ_B,
		   .flags = OPF_MODRM },
	[0x0b] = { .cls = C_ALU, .op = ALU_OR, .dst = OPK_REG, .src = OPK_RM,
		   .dst_size = SZ_V, .src_size = SZ_V,
		   .flags = OPF_MODRM },
	[0x0c] = { .cls = C_ALU, .op = ALU_OR, .dst = OPK_ACC, .src = OPK_IMM,
		   .dst_size = SZ_B, .src_size = SZ_B },
	[0x0d] = { .cls = C_ALU, .op = ALU_OR, .dst = OPK_ACC, .src = OPK_IMM,
		   .dst_size = SZ_V, .src_size = SZ_Z },
	[0x10] = { .cls = C_ALU, .op = ALU_ADC, .dst = OPK_RM, .src = OPK_REG,
		   .dst_size = SZ_B, .src_size = SZ_B,
		   .flags = OPF_MODRM | OPF_LOCK },
	[0x11] = { .cls = C_ALU, .op = ALU_ADC, .dst = OPK_RM, .src = OPK_REG,
		   .dst_size = SZ_V, .src_size = SZ_V,
		   .flags = OPF_MODRM | OPF_LOCK },
	[0x12] = { .cls = C_ALU, .op = ALU_ADC, .dst = OPK_REG, .src = OPK_RM,
		   .dst_size = SZ_B, .src_size = SZ_B,
		   .flags = OPF_MODRM },
	[0x13] = { .cls = C_ALU, .op = ALU_ADC, .dst = OPK_REG, .src = OPK_RM,
		   .dst_size = SZ_V, .src_size = SZ_V,
		   .flags = OPF_MODRM },
	[0x14] = { .cls = C_ALU, .op = ALU_ADC, .dst = OPK_ACC, .src = OPK_IMM,
		   .dst_size = SZ_B, .src_size = SZ_B },
	[0x15] = { .cls = C_ALU, .op = ALU_ADC, .dst = OPK_ACC, .src = OPK_IMM,
		   .dst_size = SZ_V, .src_size = SZ_Z },
	[0x18] = { .cls = C_ALU, .op = ALU_SBB, .dst = OPK_RM, .src = OPK_REG,
		   .dst_size = SZ_B, .src_size = SZ_B,
		   .flags = OPF_MODRM | OPF_LOCK },
	[0x19] = { .cls = C_ALU, .op = ALU_SBB, .dst = OPK_RM, .src = OPK_REG,
		   .dst_size = SZ_V, .src_size = SZ_V,
		   .flags = OPF_MODRM | OPF_LOCK },
	[0x1a] = { .cls = C_ALU, .op = ALU_SBB, .dst = OPK_REG, .src = OPK_RM,
		   .dst_size = SZ_B, .src_size = SZ_B,
		   .flags = OPF_MODRM },
	[0x1b] = { .cls = C_ALU, .op = ALU_SBB, .dst = OPK_REG, .src = OPK_RM,
		   .dst_size = SZ_V, .src_size = SZ_V,
		   .flags = OPF_MODRM },
	[0x1c] = { .cls = C_ALU, .op = ALU_SBB, .dst = OPK_ACC, .src = OPK_IMM,
		   .dst_size = SZ_B, .src_size = SZ_B },
	[0x1d] = { .cls = C_ALU, .op = ALU_SBB, .dst = OPK_ACC, .src = OPK_IMM,
		   .dst_size = SZ_V, .src_size = SZ_Z },
	[0x20] = { .cls = C_ALU, .op = ALU_AND, .dst = OPK_RM, .src = OPK_REG,
		   .dst_size = SZ_B, .src_size = SZ_B,
		   .flags = OPF_MODRM | OPF_LOCK },
	[0x21] = { .cls = C_ALU, .op = ALU_AND, .dst = OPK_RM, .src = OPK_REG,
		   .dst_size = SZ_V, .src_size = SZ_V,
		   .flags = OPF_MODRM | OPF_LOCK },
	[0x22] = { .cls = C_ALU, .op = ALU_AND, .dst = OPK_REG, .src = OPK_RM,
		   .dst_size = SZ_B, .src_size = SZ_B,
		   .flags = OPF_MODRM },
	[0x23] = { .cls = C_ALU, .op = ALU_AND, .dst = OPK_REG, .src = OPK_RM,
		   .dst_size = SZ_V, .src_size = SZ_V,
		   .flags = OPF_MODRM },
	[0x24] = { .cls = C_ALU, .op = ALU_AND, .dst = OPK_ACC, .src = OPK_IMM,
		   .dst_size = SZ_B, .src_size = SZ_B },
	[0x25] = { .cls = C_ALU, .op = ALU_AND, .dst = OPK_ACC, .src = OPK_IMM,
		   .dst_size = SZ_V, .src_size = SZ_Z },
	[0x28] = { .cls = C_ALU, .op = ALU_SUB, .dst = OPK_RM, .src = OPK_REG,
		   .dst_size = SZ_B, .src_size = SZ_B,
		   .flags = OPF_MODRM | OPF_LOCK },
	[0x29] = { .cls = C_ALU, .op = ALU_SUB, .dst = OPK_RM, .src = OPK_REG,
		   .dst_size = SZ_V, .src_size = SZ_V,
		   .flags = OPF_MODRM | OPF_LOCK },
	[0x2a] = { .cls = C_ALU, .op = ALU_SUB, .dst = OPK_REG, .src = OPK_RM,
		   .dst_size = SZ_B, .src_size = SZ_B,
		   .flags = OPF_MODRM },
	[0x2b] = { .cls = C_ALU, .op = ALU_SUB, .dst = OPK_REG, .src = OPK_RM,
		   .dst_size = SZ_V, .src_size = SZ_V,
		   .flags = OPF_MODRM },
	[0x2c] = { .cls = C_ALU, .op = ALU_SUB, .dst = OPK_ACC, .src = OPK_IMM,
		   .dst_size = SZ_B, .src_size = SZ_B },
	[0x2d] = { .cls = C_ALU, .op = ALU_SUB, .dst = OPK_ACC, .src = OPK_IMM,
		   .dst_size = SZ_V, .src_size = SZ_Z },
	[0x30] = { .cls = C_ALU, .op = ALU_XOR, .dst = OPK_RM, .src = OPK_REG,
		   .dst_size = SZ_B, .src_size = SZ_B,
		   .flags = OPF_MODRM | OPF_LOCK },
	[0x31] = { .cls = C_ALU, .op = ALU_XOR, .dst = OPK_RM, .src = OPK_REG,
		   .dst_size = SZ_V, .src_size = SZ_V,
		   .flags = OPF_MODRM | OPF_LOCK },
	[0x32] = { .cls = C_ALU, .op = ALU_XOR, .dst = OPK_REG, .src = OPK_RM,
		   .dst_size = SZ_B, .src_size = SZ_B,
		   .flags = OPF_MODRM },
	[0x33] = { .cls = C_ALU, .op = ALU_XOR, .dst = OPK_REG, .src = OPK_RM,
		   .dst_size = SZ_V, .src_size = SZ_V,
		   .flags = OPF_MODRM },
	[0x34] = { .cls = C_ALU, .op = ALU_XOR, .dst = OPK_ACC, .src = OPK_IMM,
		   .dst_size = SZ_B, .src_size = SZ_B },
	[0x35] = { .cls = C_ALU, .op = ALU_XOR, .dst = OPK_ACC, .src = OPK_IMM,
		   .dst_size = SZ_V, .src_size = SZ_Z },
	[0x38] = { .cls = C_ALU, .op = ALU_CMP, .dst = OPK_RM, .src = OPK_REG,
		   .dst_size = SZ_B, .src_size = SZ_B,
		   .flags = OPF_MODRM | OPF_NOWRITE },
	[0x39] = { .cls = C_ALU, .op = ALU_CMP, .dst = OPK_RM, .src = OPK_REG,
		   .dst_size = SZ_V, .src_size = SZ_V,
		   .flags = OPF_MODRM | OPF_NOWRITE },
	[0x3a] = { .cls = C_ALU, .op = ALU_CMP, .dst = OPK_REG, .src = OPK_RM,
		   .dst_size = SZ_B, .src_size = SZ_B,
		   .flags = OPF_MODRM | OPF_NOWRITE },
	[0x3b] = { .cls = C_ALU, .op = ALU_CMP, .dst = OPK_REG, .src = OPK_RM,
		   .dst_size = SZ_V, .src_size = SZ_V,
		   .flags = OPF_MODRM | OPF_NOWRITE },
	[0x3c] = { .cls = C_ALU, .op = ALU_CMP, .dst = OPK_ACC, .src = OPK_IMM,
		   .dst_size = SZ_B, .src_size = SZ_B,
		   .flags = OPF_NOWRITE },
	[0x3d] = { .cls = C_ALU, .op = ALU_CMP, .dst = OPK_ACC, .src = OPK_IMM,
		   .dst_size = SZ_V, .src_size = SZ_Z,
		   .flags = OPF_NOWRITE },
	/* MOVSXD in 64-bit mode (ARPL elsewhere, which is not emulated). */
	[0x63] = { .cls = C_MOV, .op = MOV_SX, .dst = OPK_REG, .src = OPK_RM,
		   .dst_size = SZ_V, .src_size = SZ_Z,
		   .flags = OPF_MODRM | OPF_ONLY64 },
	[0x80] = { .flags = OPF_MODRM, .group = GRP1_80 },
	[0x81] = { .flags = OPF_MODRM, .group = GRP1_81 },
	[0x83] = { .flags = OPF_MODRM, .group = GRP1_83 },
	[0x84] = { .cls = C_ALU, .op = ALU_TEST, .dst = OPK_RM, .src = OPK_REG,
		   .dst_size = SZ_B, .src_size = SZ_B,
		   .flags = OPF_MODRM | OPF_NOWRITE },
	[0x85] = { .cls = C_ALU, .op = ALU_TEST, .dst = OPK_RM, .src = OPK_REG,
		   .dst_size = SZ_V, .src_size = SZ_V,
		   .flags = OPF_MODRM | OPF_NOWRITE },
	[0x86] = { .cls = C_XCHG, .dst = OPK_RM, .src = OPK_REG,
		   .dst_size = SZ_B, .src_size = SZ_B,
		   .flags = OPF_MODRM | OPF_LOCK },
	[0x87] = { .cls = C_XCHG, .dst = OPK_RM, .src = OPK_REG,
		   .dst_size = SZ_V, .src_size = SZ_V,
		   .flags = OPF_MODRM | OPF_LOCK },
	[0x88] = { .cls = C_MOV, .op = MOV_PLAIN, .dst = OPK_RM, .src = OPK_REG,
		   .dst_size = SZ_B, .src_size = SZ_B,
		   .flags = OPF_MODRM },
	[0x89] = { .cls = C_MOV, .op = MOV_PLAIN, .dst = OPK_RM, .src = OPK_REG,
		   .dst_size = SZ_V, .src_size = SZ_V,
		   .flags = OPF_MODRM },
	[0x8a] = { .cls = C_MOV, .op = MOV_PLAIN, .dst = OPK_REG, .src = OPK_RM,
		   .dst_size = SZ_B, .src_size = SZ_B,
		   .flags = OPF_MODRM },
	[0x8b] = { .cls = C_MOV, .op = MOV_PLAIN, .dst = OPK_REG, .src = OPK_RM,
		   .dst_size = SZ_V, .src_size = SZ_V,
		   .flags = OPF_MODRM },
	[0x8f] = { .flags = OPF_MODRM, .group = GRP1A_8F },
	[0xa0] = { .cls = C_MOV, .op = MOV_PLAIN, .dst = OPK_ACC,
		   .src = OPK_MOFFS, .dst_size = SZ_B, .src_size = SZ_B },
	[0xa1] = { .cls = C_MOV, .op = MOV_PLAIN, .dst = OPK_ACC,
		   .src = OPK_MOFFS, .dst_size = SZ_V, .src_size = SZ_V },
	[0xa2] = { .cls = C_MOV, .op = MOV_PLAIN, .dst = OPK_MOFFS,
		   .src = OPK_ACC, .dst_size = SZ_B, .src_size = SZ_B },
	[0xa3] = { .cls = C_MOV, .op = MOV_PLAIN, .dst = OPK_MOFFS,
		   .src = OPK_ACC, .dst_size = SZ_V, .src_size = SZ_V },
	[0xa4] = { .cls = C_STRING, .op = STR_MOVS, .dst = OPK_STR_DST,
		   .src = OPK_STR_SRC, .dst_size = SZ_B, .src_size = SZ_B,
		   .flags = OPF_BYTEOP },
	[0xa5] = { .cls = C_STRING, .op = STR_MOVS, .dst = OPK_STR_DST,
		   .src = OPK_STR_SRC, .dst_size = SZ_V, .src_size = SZ_V },
	[0xa6] = { .cls = C_STRING, .op = STR_CMPS, .dst = OPK_STR_DST,
		   .src = OPK_STR_SRC, .dst_size = SZ_B, .src_size = SZ_B,
		   .flags = OPF_BYTEOP },
	[0xa7] = { .cls = C_STRING, .op = STR_CMPS, .dst = OPK_STR_DST,
		   .src = OPK_STR_SRC, .dst_size = SZ_V, .src_size = SZ_V },
	[0xa8] = { .cls = C_ALU, .op = ALU_TEST, .dst = OPK_ACC, .src = OPK_IMM,
		   .dst_size = SZ_B, .src_size = SZ_B,
		   .flags = OPF_NOWRITE },
	[0xa9] = { .cls = C_ALU, .op = ALU_TEST, .dst = OPK_ACC, .src = OPK_IMM,
		   .dst_size = SZ_V, .src_size = SZ_Z,
		   .flags = OPF_NOWRITE },
	[0xaa] = { .cls = C_STRING, .op = STR_STOS, .dst = OPK_STR_DST,
		   .src = OPK_ACC, .dst_size = SZ_B, .src_size = SZ_B,
		   .flags = OPF_BYTEOP },
	[0xab] = { .cls = C_STRING, .op = STR_STOS, .dst = OPK_STR_DST,
		   .src = OPK_ACC, .dst_size = SZ_V, .src_size = SZ_V },
	[0xac] = { .cls = C_STRING, .op = STR_LODS, .dst = OPK_ACC,
		   .src = OPK_STR_SRC, .dst_size = SZ_B, .src_size = SZ_B,
		   .flags = OPF_BYTEOP },
	[0xad] = { .cls = C_STRING, .op = STR_LODS, .dst = OPK_ACC,
		   .src = OPK_STR_SRC, .dst_size = SZ_V, .src_size = SZ_V },
	[0xae] = { .cls = C_STRING, .op = STR_SCAS, .dst = OPK_ACC,
		   .src = OPK_STR_DST, .dst_size = SZ_B, .src_size = SZ_B,
		   .flags = OPF_BYTEOP },
	[0xaf] = { .cls = C_STRING, .op = STR_SCAS, .dst = OPK_ACC,
		   .src = OPK_STR_DST, .dst_size = SZ_V, .src_size = SZ_V },
	[0xc6] = { .flags = OPF_MODRM, .group = GRP11_C6 },
	[0xc7] = { .flags = OPF_MODRM, .group = GRP11_C7 },
	[0xf4] = { .cls = C_SYSTEM, .op = SYS_HLT },
	[0xf6] = { .flags = OPF_MODRM, .group = GRP3_F6 },
	[0xf7] = { .flags = OPF_MODRM, .group = GRP3_F7 },
	[0xfe] = { .flags = OPF_MODRM, .group = GRP4_FE },
	[0xff] = { .flags = OPF_MODRM, .group = GRP5_FF },
};

/* The two-byte opcode map, 0F xx (SDM table A-3). */
static const struct x86emul_opcode twobyte_table[256] = {
	[0x01] = { .flags = OPF_MODRM, .group = GRP7_0F01 },
	[0x06] = { .cls = C_SYSTEM, .op = SYS_CLTS },
	[0x10] = { .flags = OPF_MODRM, .sse = SSE_0F10 },
	[0x11] = { .flags = OPF_MODRM, .sse = SSE_0F11 },
	/* MOV from/to CRn: ModRM.reg is n, .rm a GPR (SDM MOV CR). */
	[0x20] = { .cls = C_SYSTEM, .op = SYS_MOV_FROM_CR,
		   .flags = OPF_MODRM | OPF_RM_REG },
	/* MOV from/to DRn, the same form (SDM MOV DR). */
	[0x21] = { .cls = C_SYSTEM, .op = SYS_MOV_FROM_DR,
		   .flags = OPF_MODRM | OPF_RM_REG },
	[0x22] = { .cls = C_SYSTEM, .op = SYS_MOV_TO_CR,
		   .flags = OPF_MODRM | OPF_RM_REG },
	[0x23] = { .cls = C_SYSTEM, .op = SYS_MOV_TO_DR,
		   .flags = OPF_MODRM | OPF_RM_REG },
	[0x28] = { .flags = OPF_MODRM, .sse = SSE_0F28 },
	[0x29] = { .flags = OPF_MODRM, .sse = SSE_0F29 },
	[0x2b] = { .flags = OPF_MODRM, .sse = SSE_0F2B },
	[0x40] = { .cls = C_CMOVCC, .op = 0x0, .dst = OPK_REG, .src = OPK_RM,
		   .dst_size = SZ_V, .src_size = SZ_V,
		   .flags = OPF_MODRM },
	[0x41] = { .cls = C_CMOVCC, .op = 0x1, .dst = OPK_REG, .src = OPK_RM,
		   .dst_size = SZ_V, .src_size = SZ_V,
		   .flags = OPF_MODRM },
	[0x42] = { .cls = C_CMOVCC, .op = 0x2, .dst = OPK_REG, .src = OPK_RM,
		   .dst_size = SZ_V, .src_size = SZ_V,
		   .flags = OPF_MODRM },
	[0x43] = { .cls = C_CMOVCC, .op = 0x3, .dst = OPK_REG, .src = OPK_RM,
		   .dst_size = SZ_V, .src_size = SZ_V,
		   .flags = OPF_MODRM },
	[0x44] = { .cls = C_CMOVCC, .op = 0x4, .dst = OPK_REG, .src = OPK_RM,
		   .dst_size = SZ_V, .src_size = SZ_V,
		   .flags = OPF_MODRM },
	[0x45] = { .cls = C_CMOVCC, .op = 0x5, .dst = OPK_REG, .src = OPK_RM,
		   .dst_size = SZ_V, .src_size = SZ_V,
		   .flags = OPF_MODRM },
	[0x46] = { .cls = C_CMOVCC, .op = 0x6, .dst = OPK_REG, .src = OPK_RM,
		   .dst_size = SZ_V, .src_size = SZ_V,
		   .flags = OPF_MODRM },
	[0x47] = { .cls = C_CMOVCC, .op = 0x7, .dst = OPK_REG, .src = OPK_RM,
		   .dst_size = SZ_V, .src_size = SZ_V,
		   .flags = OPF_MODRM },
	[0x48] = { .cls = C_CMOVCC, .op = 0x8, .dst = OPK_REG, .src = OPK_RM,
		   .dst_size = SZ_V, .src_size = SZ_V,
		   .flags = OPF_MODRM },
	[0x49] = { .cls = C_CMOVCC, .op = 0x9, .dst = OPK_REG, .src = OPK_RM,
		   .dst_size = SZ_V, .src_size = SZ_V,
		   .flags = OPF_MODRM },
	[0x4a] = { .cls = C_CMOVCC, .op = 0xa, .dst = OPK_REG, .src = OPK_RM,
		   .dst_size = SZ_V, .src_size = SZ_V,
		   .flags = OPF_MODRM },
	[0x4b] = { .cls = C_CMOVCC, .op = 0xb, .dst = OPK_REG, .src = OPK_RM,
		   .dst_size = SZ_V, .src_size = SZ_V,
		   .flags = OPF_MODRM },
	[0x4c] = { .cls = C_CMOVCC, .op = 0xc, .dst = OPK_REG, .src = OPK_RM,
		   .dst_size = SZ_V, .src_size = SZ_V,
		   .flags = OPF_MODRM },
	[0x4d] = { .cls = C_CMOVCC, .op = 0xd, .dst = OPK_REG, .src = OPK_RM,
		   .dst_size = SZ_V, .src_size = SZ_V,
		   .flags = OPF_MODRM },
	[0x4e] = { .cls = C_CMOVCC, .op = 0xe, .dst = OPK_REG, .src = OPK_RM,
		   .dst_size = SZ_V, .src_size = SZ_V,
		   .flags = OPF_MODRM },
	[0x4f] = { .cls = C_CMOVCC, .op = 0xf, .dst = OPK_REG, .src = OPK_RM,
		   .dst_size = SZ_V, .src_size = SZ_V,
		   .flags = OPF_MODRM },
	[0x6e] = { .flags = OPF_MODRM, .sse = SSE_0F6E },
	[0x6f] = { .flags = OPF_MODRM, .sse = SSE_0F6F },
	[0x7e] = { .flags = OPF_MODRM, .sse = SSE_0F7E },
	[0x7f] = { .flags = OPF_MODRM, .sse = SSE_0F7F },
	[0x90] = { .cls = C_SETCC, .op = 0x0, .dst = OPK_RM, .dst_size = SZ_B,
		   .flags = OPF_MODRM },
	[0x91] = { .cls = C_SETCC, .op = 0x1, .dst = OPK_RM, .dst_size = SZ_B,
		   .flags = OPF_MODRM },
	[0x92] = { .cls = C_SETCC, .op = 0x2, .dst = OPK_RM, .dst_size = SZ_B,
		   .flags = OPF_MODRM },
	[0x93] = { .cls = C_SETCC, .op = 0x3, .dst = OPK_RM, .dst_size = SZ_B,
		   .flags = OPF_MODRM },
	[0x94] = { .cls = C_SETCC, .op = 0x4, .dst = OPK_RM, .dst_size = SZ_B,
		   .flags = OPF_MODRM },
	[0x95] = { .cls = C_SETCC, .op = 0x5, .dst = OPK_RM, .dst_size = SZ_B,
		   .flags = OPF_MODRM },
	[0x96] = { .cls = C_SETCC, .op = 0x6, .dst = OPK_RM, .dst_size = SZ_B,
		   .flags = OPF_MODRM },
	[0x97] = { .cls = C_SETCC, .op = 0x7, .dst = OPK_RM, .dst_size = SZ_B,
		   .flags = OPF_MODRM },
	[0x98] = { .cls = C_SETCC, .op = 0x8, .dst = OPK_RM, .dst_size = SZ_B,
		   .flags = OPF_MODRM },
	[0x99] = { .cls = C_SETCC, .op = 0x9, .dst = OPK_RM, .dst_size = SZ_B,
		   .flags = OPF_MODRM },
	[0x9a] = { .cls = C_SETCC, .op = 0xa, .dst = OPK_RM, .dst_size = SZ_B,
		   .flags = OPF_MODRM },
	[0x9b] = { .cls = C_SETCC, .op = 0xb, .dst = OPK_RM, .dst_size = SZ_B,
		   .flags = OPF_MODRM },
	[0x9c] = { .cls = C_SETCC, .op = 0xc, .dst = OPK_RM, .dst_size = SZ_B,
		   .flags = OPF_MODRM },
	[0x9d] = { .cls = C_SETCC, .op = 0xd, .dst = OPK_RM, .dst_size = SZ_B,
		   .flags = OPF_MODRM },
	[0x9e] = { .cls = C_SETCC, .op = 0xe, .dst = OPK_RM, .dst_size = SZ_B,
		   .flags = OPF_MODRM },
	[0x9f] = { .cls = C_SETCC, .op = 0xf, .dst = OPK_RM, .dst_size = SZ_B,
		   .flags = OPF_MODRM },
	[0xa3] = { .cls = C_BT, .op = BT_BT, .dst = OPK_RM, .src = OPK_REG,
		   .dst_size = SZ_V, .src_size = SZ_V,
		   .flags = OPF_MODRM | OPF_NOWRITE },
	[0xab] = { .cls = C_BT, .op = BT_BTS, .dst = OPK_RM, .src = OPK_REG,
		   .dst_size = SZ_V, .src_size = SZ_V,
		   .flags = OPF_MODRM | OPF_LOCK },
	[0xb0] = { .cls = C_CMPXCHG, .dst = OPK_RM, .src = OPK_REG,
		   .dst_size = SZ_B, .src_size = SZ_B,
		   .flags = OPF_MODRM | OPF_LOCK },
	[0xb1] = { .cls = C_CMPXCHG, .dst = OPK_RM, .src = OPK_REG,
		   .dst_size = SZ_V, .src_size = SZ_V,
		   .flags = OPF_MODRM | OPF_LOCK },
	[0xb3] = { .cls = C_BT, .op = BT_BTR, .dst = OPK_RM, .src = OPK_REG,
		   .dst_size = SZ_V, .src_size = SZ_V,
		   .flags = OPF_MODRM | OPF_LOCK },
	[0xb6] = { .cls = C_MOV, .op = MOV_ZX, .dst = OPK_REG, .src = OPK_RM,
		   .dst_size = SZ_V, .src_size = SZ_B,
		   .flags = OPF_MODRM },
	[0xb7] = { .cls = C_MOV, .op = MOV_ZX, .dst = OPK_REG, .src = OPK_RM,
		   .dst_size = SZ_V, .src_size = SZ_W,
		   .flags = OPF_MODRM },
	[0xba] = { .flags = OPF_MODRM, .group = GRP8_0FBA },
	[0xbb] = { .cls = C_BT, .op = BT_BTC, .dst = OPK_RM, .src = OPK_REG,
		   .dst_size = SZ_V, .src_size = SZ_V,
		   .flags = OPF_MODRM | OPF_LOCK },
	[0xbe] = { .cls = C_MOV, .op = MOV_SX, .dst = OPK_REG, .src = OPK_RM,
		   .dst_size = SZ_V, .src_size = SZ_B,
		   .flags = OPF_MODRM },
	[0xbf] = { .cls = C_MOV, .op = MOV_SX, .dst = OPK_REG, .src = OPK_RM,
		   .dst_size = SZ_V, .src_size = SZ_W,
		   .flags = OPF_MODRM },
	[0xc0] = { .cls = C_XADD, .dst = OPK_RM, .src = OPK_REG,
		   .dst_size = SZ_B, .src_size = SZ_B,
		   .flags = OPF_MODRM | OPF_LOCK },
	[0xc1] = { .cls = C_XADD, .dst = OPK_RM, .src = OPK_REG,
		   .dst_size = SZ_V, .src_size = SZ_V,
		   .flags = OPF_MODRM | OPF_LOCK },
	/* MOVNTI m32/m64, r32/r64: a plain store for the emulator. */
	[0xc3] = { .cls = C_MOV, .op = MOV_PLAIN, .dst = OPK_RM, .src = OPK_REG,
		   .dst_size = SZ_Y, .src_size = SZ_Y,
		   .flags = OPF_MODRM | OPF_MEM_ONLY },
	[0xc7] = { .flags = OPF_MODRM, .group = GRP9_0FC7 },
	[0xd6] = { .flags = OPF_MODRM, .sse = SSE_0FD6 },
	[0xe7] = { .flags = OPF_MODRM, .sse = SSE_0FE7 },
};

/* group_table[group][ModRM.reg] (SDM table A-6). */
static const struct x86emul_opcode group_table[NR_GROUPS][8] = {
	[GRP1_80] = {
		{ .cls = C_ALU, .op = ALU_ADD, .dst = OPK_RM, .src = OPK_IMM,
		  .dst_size = SZ_B, .src_size = SZ_B,
		  .flags = OPF_MODRM | OPF_LOCK },
		{ .cls = C_ALU, .op = ALU_OR, .dst = OPK_RM, .src = OPK_IMM,
		  .dst_size = SZ_B, .src_size = SZ_B,
		  .flags = OPF_MODRM | OPF_LOCK },
		{ .cls = C_ALU, .op = ALU_ADC, .dst = OPK_RM, .src = OPK_IMM,
		  .dst_size = SZ_B, .src_size = SZ_B,
		  .flags = OPF_MODRM | OPF_LOCK },
		{ .cls = C_ALU, .op = ALU_SBB, .dst = OPK_RM, .src = OPK_IMM,
		  .dst_size = SZ_B, .src_size = SZ_B,
		  .flags = OPF_MODRM | OPF_LOCK },
		{ .cls = C_ALU, .op = ALU_AND, .dst = OPK_RM, .src = OPK_IMM,
		  .dst_size = SZ_B, .src_size = SZ_B,
		  .flags = OPF_MODRM | OPF_LOCK },
		{ .cls = C_ALU, .op = ALU_SUB, .dst = OPK_RM, .src = OPK_IMM,
		  .dst_size = SZ_B, .src_size = SZ_B,
		  .flags = OPF_MODRM | OPF_LOCK },
		{ .cls = C_ALU, .op = ALU_XOR, .dst = OPK_RM, .src = OPK_IMM,
		  .dst_size = SZ_B, .src_size = SZ_B,
		  .flags = OPF_MODRM | OPF_LOCK },
		{ .cls = C_ALU, .op = ALU_CMP, .dst = OPK_RM, .src = OPK_IMM,
		  .dst_size = SZ_B, .src_size = SZ_B,
		  .flags = OPF_MODRM | OPF_NOWRITE },
	},
	[GRP1_81] = {
		{ .cls = C_ALU, .op = ALU_ADD, .dst = OPK_RM, .src = OPK_IMM,
		  .dst_size = SZ_V, .src_size = SZ_Z,
		  .flags = OPF_MODRM | OPF_LOCK },
		{ .cls = C_ALU, .op = ALU_OR, .dst = OPK_RM, .src = OPK_IMM,
		  .dst_size = SZ_V, .src_size = SZ_Z,
		  .flags = OPF_MODRM | OPF_LOCK },
		{ .cls = C_ALU, .op = ALU_ADC, .dst = OPK_RM, .src = OPK_IMM,
		  .dst_size = SZ_V, .src_size = SZ_Z,
		  .flags = OPF_MODRM | OPF_LOCK },
		{ .cls = C_ALU, .op = ALU_SBB, .dst = OPK_RM, .src = OPK_IMM,
		  .dst_size = SZ_V, .src_size = SZ_Z,
		  .flags = OPF_MODRM | OPF_LOCK },
		{ .cls = C_ALU, .op = ALU_AND, .dst = OPK_RM, .src = OPK_IMM,
		  .dst_size = SZ_V, .src_size = SZ_Z,
		  .flags = OPF_MODRM | OPF_LOCK },
		{ .cls = C_ALU, .op = ALU_SUB, .dst = OPK_RM, .src = OPK_IMM,
		  .dst_size = SZ_V, .src_size = SZ_Z,
		  .flags = OPF_MODRM | OPF_LOCK },
		{ .cls = C_ALU, .op = ALU_XOR, .dst = OPK_RM, .src = OPK_IMM,
		  .dst_size = SZ_V, .src_size = SZ_Z,
		  .flags = OPF_MODRM | OPF_LOCK },
		{ .cls = C_ALU, .op = ALU_CMP, .dst = OPK_RM, .src = OPK_IMM,
		  .dst_size = SZ_V, .src_size = SZ_Z,
		  .flags = OPF_MODRM | OPF_NOWRITE },
	},
	[GRP1_83] = {
		{ .cls = C_ALU, .op = ALU_ADD, .dst = OPK_RM, .src = OPK_IMM8,
		  .dst_size = SZ_V, .src_size = SZ_B,
		  .flags = OPF_MODRM | OPF_LOCK },
		{ .cls = C_ALU, .op = ALU_OR, .dst = OPK_RM, .src = OPK_IMM8,
		  .dst_size = SZ_V, .src_size = SZ_B,
		  .flags = OPF_MODRM | OPF_LOCK },
		{ .cls = C_ALU, .op = ALU_ADC, .dst = OPK_RM, .src = OPK_IMM8,
		  .dst_size = SZ_V, .src_size = SZ_B,
		  .flags = OPF_MODRM | OPF_LOCK },
		{ .cls = C_ALU, .op = ALU_SBB, .dst = OPK_RM, .src = OPK_IMM8,
		  .dst_size = SZ_V, .src_size = SZ_B,
		  .flags = OPF_MODRM | OPF_LOCK },
		{ .cls = C_ALU, .op = ALU_AND, .dst = OPK_RM, .src = OPK_IMM8,
		  .dst_size = SZ_V, .src_size = SZ_B,
		  .flags = OPF_MODRM | OPF_LOCK },
		{ .cls = C_ALU, .op = ALU_SUB, .dst = OPK_RM, .src = OPK_IMM8,
		  .dst_size = SZ_V, .src_size = SZ_B,
		  .flags = OPF_MODRM | OPF_LOCK },
		{ .cls = C_ALU, .op = ALU_XOR, .dst = OPK_RM, .src = OPK_IMM8,
		  .dst_size = SZ_V, .src_size = SZ_B,
		  .flags = OPF_MODRM | OPF_LOCK },
		{ .cls = C_ALU, .op = ALU_CMP, .dst = OPK_RM, .src = OPK_IMM8,
		  .dst_size = SZ_V, .src_size = SZ_B,
		  .flags = OPF_MODRM | OPF_NOWRITE },
	},
	[GRP1A_8F] = {
		{ .cls = C_POP, .dst = OPK_RM, .dst_size = SZ_V,
		  .flags = OPF_MODRM | OPF_STACK | OPF_INC_SP },
	},
	[GRP11_C6] = {
		{ .cls = C_MOV, .op = MOV_PLAIN, .dst = OPK_RM, .src = OPK_IMM,
		  .dst_size = SZ_B, .src_size = SZ_B,
		  .flags = OPF_MODRM },
	},
	[GRP11_C7] = {
		{ .cls = C_MOV, .op = MOV_PLAIN, .dst = OPK_RM, .src = OPK_IMM,
		  .dst_size = SZ_V, .src_size = SZ_Z,
		  .flags = OPF_MODRM },
	},
	[GRP3_F6] = {
		[0] = { .cls = C_ALU, .op = ALU_TEST, .dst = OPK_RM, .src = OPK_IMM,
			.dst_size = SZ_B, .src_size = SZ_B,
			.flags = OPF_MODRM | OPF_NOWRITE },
		[2] = { .cls = C_UNARY, .op = UNARY_NOT, .dst = OPK_RM,
			.dst_size = SZ_B,
			.flags = OPF_MODRM | OPF_LOCK },
		[3] = { .cls = C_UNARY, .op = UNARY_NEG, .dst = OPK_RM,
			.dst_size = SZ_B,
			.flags = OPF_MODRM | OPF_LOCK },
	},
	[GRP3_F7] = {
		[0] = { .cls = C_ALU, .op = ALU_TEST, .dst = OPK_RM, .src = OPK_IMM,
			.dst_size = SZ_V, .src_size = SZ_Z,
			.flags = OPF_MODRM | OPF_NOWRITE },
		[2] = { .cls = C_UNARY, .op = UNARY_NOT, .dst = OPK_RM,
			.dst_size = SZ_V,
			.flags = OPF_MODRM | OPF_LOCK },
		[3] = { .cls = C_UNARY, .op = UNARY_NEG, .dst = OPK_RM,
			.dst_size = SZ_V,
			.flags = OPF_MODRM | OPF_LOCK },
	},
	[GRP4_FE] = {
		[0] = { .cls = C_UNARY, .op = UNARY_INC, .dst = OPK_RM,
			.dst_size = SZ_B,
			.flags = OPF_MODRM | OPF_LOCK },
		[1] = { .cls = C_UNARY, .op = UNARY_DEC, .dst = OPK_RM,
			.dst_size = SZ_B,
			.flags = OPF_MODRM | OPF_LOCK },
	},
	[GRP5_FF] = {
		[0] = { .cls = C_UNARY, .op = UNARY_INC, .dst = OPK_RM,
			.dst_size = SZ_V,
			.flags = OPF_MODRM | OPF_LOCK },
		[1] = { .cls = C_UNARY, .op = UNARY_DEC, .dst = OPK_RM,
			.dst_size = SZ_V,
			.flags = OPF_MODRM | OPF_LOCK },
		[6] = { .cls = C_PUSH, .src = OPK_RM, .src_size = SZ_V,
			.flags = OPF_MODRM | OPF_STACK },
	},
	[GRP8_0FBA] = {
		[4] = { .cls = C_BT, .op = BT_BT, .dst = OPK_RM, .src = OPK_IMM,
			.dst_size = SZ_V, .src_size = SZ_B,
			.flags = OPF_MODRM | OPF_NOWRITE },
		[5] = { .cls = C_BT, .op = BT_BTS, .dst = OPK_RM, .src = OPK_IMM,
			.dst_size = SZ_V, .src_size = SZ_B,
			.flags = OPF_MODRM | OPF_LOCK },
		[6] = { .cls = C_BT, .op = BT_BTR, .dst = OPK_RM, .src = OPK_IMM,
			.dst_size = SZ_V, .src_size = SZ_B,
			.flags = OPF_MODRM | OPF_LOCK },
		[7] = { .cls = C_BT, .op = BT_BTC, .dst = OPK_RM, .src = OPK_IMM,
			.dst_size = SZ_V, .src_size = SZ_B,
			.flags = OPF_MODRM | OPF_LOCK },
	},
	[GRP7_0F01] = {
		[2] = { .cls = C_SYSTEM, .op = SYS_LGDT, .dst = OPK_RM,
			.flags = OPF_MODRM | OPF_MEM_ONLY },
		[3] = { .cls = C_SYSTEM, .op = SYS_LIDT, .dst = OPK_RM,
			.flags = OPF_MODRM | OPF_MEM_ONLY },
		/* SMSW: a register gets the operand size, memory 2 bytes. */
		[4] = { .cls = C_SYSTEM, .op = SYS_SMSW, .dst = OPK_RM,
			.dst_size = SZ_V, .flags = OPF_MODRM },
		[6] = { .cls = C_SYSTEM, .op = SYS_LMSW, .src = OPK_RM,
			.src_size = SZ_W, .flags = OPF_MODRM },
		[7] = { .cls = C_SYSTEM, .op = SYS_INVLPG, .dst = OPK_RM,
			.flags = OPF_MODRM | OPF_MEM_ONLY },
	},
	[GRP9_0FC7] = {
		/* The size is 8 bytes, or 16 (CMPXCHG16B) with REX.W. */
		[1] = { .cls = C_CMPXCHG8B, .dst = OPK_RM, .dst_size = SZ_Q,
			.flags = OPF_MODRM | OPF_LOCK | OPF_MEM_ONLY |
				 OPF_ALIGN16 },
	},
};

/*
 * sse_table[opcode][mandatory prefix] (SDM table A-3): the moves between
 * XMM registers and memory or GPRs. An XMM destination narrower than 16
 * bytes has its upper bytes zeroed (MOVD, MOVQ).
 */
static const struct x86emul_opcode sse_table[NR_SSE][4] = {
	[SSE_0F10] = {	/* MOVUPS, MOVUPD xmm, xmm/m128 */
		[SSE_PFX_NONE] = { .cls = C_SSE_MOV, .dst = OPK_XMM_REG,
			.src = OPK_XMM_RM, .dst_size = SZ_DQ, .src_size = SZ_DQ,
			.flags = OPF_MODRM | OPF_SSE },
		[SSE_PFX_66] = { .cls = C_SSE_MOV, .dst = OPK_XMM_REG,
			.src = OPK_XMM_RM, .dst_size = SZ_DQ, .src_size = SZ_DQ,
			.flags = OPF_MODRM | OPF_SSE },
	},
	[SSE_0F11] = {	/* MOVUPS, MOVUPD xmm/m128, xmm */
		[SSE_PFX_NONE] = { .cls = C_SSE_MOV, .dst = OPK_XMM_RM,
			.src = OPK_XMM_REG, .dst_size = SZ_DQ, .src_size = SZ_DQ,
			.flags = OPF_MODRM | OPF_SSE },
		[SSE_PFX_66] = { .cls = C_SSE_MOV, .dst = OPK_XMM_RM,
			.src = OPK_XMM_REG, .dst_size = SZ_DQ, .src_size = SZ_DQ,
			.flags = OPF_MODRM | OPF_SSE },
	},
	[SSE_0F28] = {	/* MOVAPS, MOVAPD xmm, xmm/m128 */
		[SSE_PFX_NONE] = { .cls = C_SSE_MOV, .dst = OPK_XMM_REG,
			.src = OPK_XMM_RM, .dst_size = SZ_DQ, .src_size = SZ_DQ,
			.flags = OPF_MODRM | OPF_SSE | OPF_ALIGN16 },
		[SSE_PFX_66] = { .cls = C_SSE_MOV, .dst = OPK_XMM_REG,
			.src = OPK_XMM_RM, .dst_size = SZ_DQ, .src_size = SZ_DQ,
			.flags = OPF_MODRM | OPF_SSE | OPF_ALIGN16 },
	},
	[SSE_0F29] = {	/* MOVAPS, MOVAPD xmm/m128, xmm */
		[SSE_PFX_NONE] = { .cls = C_SSE_MOV, .dst = OPK_XMM_RM,
			.src = OPK_XMM_REG, .dst_size = SZ_DQ, .src_size = SZ_DQ,
			.flags = OPF_MODRM | OPF_SSE | OPF_ALIGN16 },
		[SSE_PFX_66] = { .cls = C_SSE_MOV, .dst = OPK_XMM_RM,
			.src = OPK_XMM_REG, .dst_size = SZ_DQ, .src_size = SZ_DQ,
			.flags = OPF_MODRM | OPF_SSE | OPF_ALIGN16 },
	},
	[SSE_0F2B] = {	/* MOVNTPS, MOVNTPD m128, xmm */
		[SSE_PFX_NONE] = { .cls = C_SSE_MOV, .dst = OPK_XMM_RM,
			.src = OPK_XMM_REG, .dst_size = SZ_DQ, .src_size = SZ_DQ,
			.flags = OPF_MODRM | OPF_SSE | OPF_ALIGN16 |
				 OPF_MEM_ONLY },
		[SSE_PFX_66] = { .cls = C_SSE_MOV, .dst = OPK_XMM_RM,
			.src = OPK_XMM_REG, .dst_size = SZ_DQ, .src_size = SZ_DQ,
			.flags = OPF_MODRM | OPF_SSE | OPF_ALIGN16 |
				 OPF_MEM_ONLY },
	},
	[SSE_0F6E] = {	/* MOVD/MOVQ xmm, r/m32 or r/m64 */
		[SSE_PFX_66] = { .cls = C_SSE_MOV, .dst = OPK_XMM_REG,
			.src = OPK_RM, .dst_size = SZ_Y, .src_size = SZ_Y,
			.flags = OPF_MODRM | OPF_SSE },
	},
	[SSE_0F6F] = {	/* MOVDQA, MOVDQU xmm, xmm/m128 */
		[SSE_PFX_66] = { .cls = C_SSE_MOV, .dst = OPK_XMM_REG,
			.src = OPK_XMM_RM, .dst_size = SZ_DQ, .src_size = SZ_DQ,
			.flags = OPF_MODRM | OPF_SSE | OPF_ALIGN16 },
		[SSE_PFX_F3] = { .cls = C_SSE_MOV, .dst = OPK_XMM_REG,
			.src = OPK_XMM_RM, .dst_size = SZ_DQ, .src_size = SZ_DQ,
			.flags = OPF_MODRM | OPF_SSE },
	},
	[SSE_0F7E] = {
		/* MOVD/MOVQ r/m32 or r/m64, xmm */
		[SSE_PFX_66] = { .cls = C_SSE_MOV, .dst = OPK_RM,
			.src = OPK_XMM_REG, .dst_size = SZ_Y, .src_size = SZ_Y,
			.flags = OPF_MODRM | OPF_SSE },
		/* MOVQ xmm, xmm/m64 */
		[SSE_PFX_F3] = { .cls = C_SSE_MOV, .dst = OPK_XMM_REG,
			.src = OPK_XMM_RM, .dst_size = SZ_Q, .src_size = SZ_Q,
			.flags = OPF_MODRM | OPF_SSE },
	},
	[SSE_0F7F] = {	/* MOVDQA, MOVDQU xmm/m128, xmm */
		[SSE_PFX_66] = { .cls = C_SSE_MOV, .dst = OPK_XMM_RM,
			.src = OPK_XMM_REG, .dst_size = SZ_DQ, .src_size = SZ_DQ,
			.flags = OPF_MODRM | OPF_SSE | OPF_ALIGN16 },
		[SSE_PFX_F3] = { .cls = C_SSE_MOV, .dst = OPK_XMM_RM,
			.src = OPK_XMM_REG, .dst_size = SZ_DQ, .src_size = SZ_DQ,
			.flags = OPF_MODRM | OPF_SSE },
	},
	[SSE_0FD6] = {	/* MOVQ xmm/m64, xmm */
		[SSE_PFX_66] = { .cls = C_SSE_MOV, .dst = OPK_XMM_RM,
			.src = OPK_XMM_REG, .dst_size = SZ_Q, .src_size = SZ_Q,
			.flags = OPF_MODRM | OPF_SSE },
	},
	[SSE_0FE7] = {	/* MOVNTDQ m128, xmm */
		[SSE_PFX_66] = { .cls = C_SSE_MOV, .dst = OPK_XMM_RM,
			.src = OPK_XMM_REG, .dst_size = SZ_DQ, .src_size = SZ_DQ,
			.flags = OPF_MODRM | OPF_SSE | OPF_ALIGN16 |
				 OPF_MEM_ONLY },
	},
};

int x86emul_raise(struct x86_emulate_ctxt *ctxt, u8 vector, bool has_error,
		  u32 error_code)
{
	ctxt->exception.vector = vector;
	ctxt->exception.error_code_valid = has_error;
	ctxt->exception.error_code = error_code;
	ctxt->exception.address = 0;
	return X86EMUL_EXCEPTION;
}

/* The mask of the address size: 16, 32 or 64 bits. */
u64 x86emul_ad_mask(const struct x86_emulate_ctxt *ctxt)
{
	switch (ctxt->insn.ad_bytes) {
	case 2:
		return 0xffff;
	case 4:
		return 0xffffffff;
	default:
		return ~0ULL;
	}
}

/* A segment register, read once per instruction. */
const struct x86emul_segment *x86emul_segment(struct x86_emulate_ctxt *ctxt,
					      int seg)
{
	if (!(ctxt->seg_cached & (1u << seg))) {
		ctxt->ops->get_segment(ctxt, seg, &ctxt->seg_cache[seg]);
		ctxt->seg_cached |= 1u << seg;
	}
	return &ctxt->seg_cache[seg];
}

/* Bits 63:47 all equal (4-level paging; SDM 3.3.7.1). */
static bool is_canonical(u64 la)
{
	return (u64)((s64)(la << 16) >> 16) == la;
}

/*
 * Effective address -> linear address, with the checks the CPU makes
 * (SDM 5.3, 5.4 and 3.3.7.1): in 64-bit mode only FS and GS have a base
 * and the address must be canonical; elsewhere the segment must be usable
 * and allow the access, and the whole operand must be within its limit
 * (expand-down segments the other way round). A violation is #GP(0), or
 * #SS(0) on the stack segment. In real and virtual-8086 mode only the
 * limit is checked. @align16: the operand must be 16-byte aligned
 * (MOVDQA & co., CMPXCHG16B), checked first: #GP(0) whatever the segment.
 */
int x86emul_linearize(struct x86_emulate_ctxt *ctxt, int seg, u64 ea,
		      unsigned int bytes, bool write, bool align16, u64 *linear)
{
	u8 vector = seg == X86EMUL_SEG_SS ? X86EMUL_SS_VECTOR :
					    X86EMUL_GP_VECTOR;
	const struct x86emul_segment *s;
	u64 la, upper;

	if (ctxt->mode == X86EMUL_MODE_PROT64) {
		la = ea;
		if (seg == X86EMUL_SEG_FS || seg == X86EMUL_SEG_GS)
			la += x86emul_segment(ctxt, seg)->base;
		if (align16 && (la & 15))
			return x86emul_raise(ctxt, X86EMUL_GP_VECTOR, true, 0);
		if (!is_canonical(la) || !is_canonical(la + bytes - 1))
			return x86emul_raise(ctxt, vector, true, 0);
		*linear = la;
		return X86EMUL_CONTINUE;
	}

	s = x86emul_segment(ctxt, seg);
	if (align16 && ((s->base + ea) & 15))
		return x86emul_raise(ctxt, X86EMUL_GP_VECTOR, true, 0);
	if (ctxt->mode == X86EMUL_MODE_PROT16 ||
	    ctxt->mode == X86EMUL_MODE_PROT32) {
		if (s->unusable || !s->present)
			return x86emul_raise(ctxt, vector, true, 0);
		if (s->type & 8) {
			/* Code: never written, read only if readable. */
			if (write || !(s->type & 2))
				return x86emul_raise(ctxt, vector, true, 0);
		} else if (write && !(s->type & 2)) {
			return x86emul_raise(ctxt, vector, true, 0);
		}
	}
	if (!(s->type & 8) && (s->type & 4)) {
		/* Expand-down: offsets above the limit, up to 64K or 4G. */
		upper = s->db ? 0xffffffff : 0xffff;
		if (ea <= s->limit || ea + bytes - 1 > upper)
			return x86emul_raise(ctxt, vector, true, 0);
	} else if (ea > s->limit || bytes - 1 > s->limit - ea) {
		return x86emul_raise(ctxt, vector, true, 0);
	}
	*linear = (u32)(s->base + ea);
	return X86EMUL_CONTINUE;
}

/*
 * Have bytes [0, @need) of the instruction in ctxt->fetch. Fetches as far
 * as the page, the code segment and the 15-byte limit allow, so that most
 * instructions take one call. An instruction longer than 15 bytes or past
 * the CS limit is #GP(0) (SDM 2.3.11, 5.3).
 */
int x86emul_fetch_bytes(struct x86_emulate_ctxt *ctxt, unsigned int need)
{
	while (ctxt->fetch_len < need) {
		u64 ip = ctxt->rip + ctxt->fetch_len;
		unsigned int n = X86EMUL_MAX_INSN - ctxt->fetch_len;
		u64 la;
		int rc;

		if (need > X86EMUL_MAX_INSN)
			return x86emul_raise(ctxt, X86EMUL_GP_VECTOR, true, 0);
		if (ctxt->mode == X86EMUL_MODE_PROT64) {
			if (!is_canonical(ip))
				return x86emul_raise(ctxt, X86EMUL_GP_VECTOR,
						     true, 0);
			la = ip;
		} else {
			const struct x86emul_segment *cs =
				x86emul_segment(ctxt, X86EMUL_SEG_CS);

			ip = (u32)ip;
			if (ip > cs->limit)
				return x86emul_raise(ctxt, X86EMUL_GP_VECTOR,
						     true, 0);
			if (n > cs->limit - ip + 1)
				n = cs->limit - ip + 1;
			la = (u32)(cs->base + ip);
		}
		/* One page at a time: the next may be absent and unneeded. */
		if (n > 4096 - (la & 4095))
			n = 4096 - (la & 4095);
		rc = ctxt->ops->fetch(ctxt, la, &ctxt->fetch[ctxt->fetch_len], n);
		if (rc != X86EMUL_CONTINUE)
			return rc;
		ctxt->fetch_len += n;
	}
	return X86EMUL_CONTINUE;
}

/* The next @bytes instruction bytes, little-endian, sign-extended. */
static int insn_fetch(struct x86_emulate_ctxt *ctxt, unsigned int bytes,
		      s64 *val)
{
	struct x86emul_insn *insn = &ctxt->insn;
	u64 v = 0;
	unsigned int i;
	int rc;

	rc = x86emul_fetch_bytes(ctxt, insn->len + bytes);
	if (rc != X86EMUL_CONTINUE)
		return rc;
	for (i = 0; i < bytes; i++)
		v |= (u64)ctxt->fetch[insn->len + i] << (8 * i);
	insn->len += bytes;
	switch (bytes) {
	case 1:
		*val = (s8)v;
		break;
	case 2:
		*val = (s16)v;
		break;
	case 4:
		*val = (s32)v;
		break;
	default:
		*val = v;
		break;
	}
	return X86EMUL_CONTINUE;
}

/* An operand size of the table, in bytes, for this instruction. */
static unsigned int size_bytes(const struct x86emul_insn *insn, u8 size)
{
	switch (size) {
	case SZ_B:
		return 1;
	case SZ_W:
		return 2;
	case SZ_D:
		return 4;
	case SZ_Q:
		return 8;
	case SZ_DQ:
		return 16;
	case SZ_V:
		return insn->op_bytes;
	case SZ_Z:
		return insn->op_bytes == 2 ? 2 : 4;
	case SZ_Y:
		return (insn->rex & 8) ? 8 : 4;
	default:
		return 0;
	}
}

/*
 * The memory operand of a ModRM byte (SDM 2.1.5 tables 2-1 to 2-3, 2.2.1):
 * its effective address, masked to the address size, and its default
 * segment, SS when the base is rBP or rSP. A RIP-relative address gets
 * the next instruction's RIP when decoding is complete.
 */
static int decode_modrm_mem(struct x86_emulate_ctxt *ctxt, bool *rip_rel,
			    u64 *ea, u8 *seg)
{
	/* [BX+SI] [BX+DI] [BP+SI] [BP+DI] [SI] [DI] [BP] [BX] */
	static const u8 base16[8] = { 3, 3, 5, 5, 6, 7, 5, 3 };
	static const s8 index16[8] = { 6, 7, 6, 7, -1, -1, -1, -1 };
	struct x86emul_insn *insn = &ctxt->insn;
	u8 mod = insn->modrm_mod, rm = insn->modrm_rm & 7;
	s64 disp = 0;
	int rc, base = -1, index = -1, scale = 0;

	*rip_rel = false;
	*seg = X86EMUL_SEG_DS;
	if (insn->ad_bytes == 2) {
		if (mod == 0 && rm == 6) {
			rc = insn_fetch(ctxt, 2, &disp);
		} else {
			base = base16[rm];
			index = index16[rm];
			if (rm == 2 || rm == 3 || rm == 6)
				*seg = X86EMUL_SEG_SS;
			rc = X86EMUL_CONTINUE;
			if (mod == 1)
				rc = insn_fetch(ctxt, 1, &disp);
			else if (mod == 2)
				rc = insn_fetch(ctxt, 2, &disp);
		}
		if (rc != X86EMUL_CONTINUE)
			return rc;
		*ea = disp;
		if (base >= 0)
			*ea += ctxt->regs[base];
		if (index >= 0)
			*ea += ctxt->regs[index];
		*ea &= 0xffff;
		return X86EMUL_CONTINUE;
	}

	if (rm == 4) {
		s64 sib;

		rc = insn_fetch(ctxt, 1, &sib);
		if (rc != X86EMUL_CONTINUE)
			return rc;
		scale = (sib >> 6) & 3;
		index = ((sib >> 3) & 7) | ((insn->rex & 2) << 2);
		if (index == 4)
			index = -1;	/* no index; r12 is one */
		base = (sib & 7) | ((insn->rex & 1) << 3);
		if ((base & 7) == 5 && mod == 0) {
			base = -1;
			rc = insn_fetch(ctxt, 4, &disp);
			if (rc != X86EMUL_CONTINUE)
				return rc;
		}
	} else if (rm == 5 && mod == 0) {
		rc = insn_fetch(ctxt, 4, &disp);
		if (rc != X86EMUL_CONTINUE)
			return rc;
		*rip_rel = ctxt->mode == X86EMUL_MODE_PROT64;
	} else {
		base = rm | ((insn->rex & 1) << 3);
	}
	if (mod == 1)
		rc = insn_fetch(ctxt, 1, &disp);
	else if (mod == 2)
		rc = insn_fetch(ctxt, 4, &disp);
	else
		rc = X86EMUL_CONTINUE;
	if (rc != X86EMUL_CONTINUE)
		return rc;
	if (base == 4 || base == 5)
		*seg = X86EMUL_SEG_SS;
	*ea = disp;
	if (base >= 0)
		*ea += ctxt->regs[base];
	if (index >= 0)
		*ea += ctxt->regs[index] << scale;
	/* POP r/m computes an rSP-based address after popping (SDM POP). */
	if (base == 4 && (insn->d.flags & OPF_INC_SP))
		*ea += insn->op_bytes;
	*ea &= x86emul_ad_mask(ctxt);
	return X86EMUL_CONTINUE;
}

/* A GPR operand: number @reg (REX bits included). */
static void set_gpr_operand(const struct x86emul_insn *insn,
			    struct x86emul_operand *op, int reg)
{
	op->reg = reg;
	/* Without REX, byte registers 4-7 are AH, CH, DH, BH. */
	if (op->bytes == 1 && !insn->rex && reg >= 4 && reg < 8) {
		op->reg = reg - 4;
		op->high_byte = true;
	}
}

static int decode_operand(struct x86_emulate_ctxt *ctxt,
			  struct x86emul_operand *op, u8 kind, u8 size,
			  const struct x86emul_operand *mem)
{
	struct x86emul_insn *insn = &ctxt->insn;
	int reg_field = insn->modrm_reg | ((insn->rex & 4) << 1);
	int rm_field = insn->modrm_rm | ((insn->rex & 1) << 3);
	s64 v;
	int rc;

	op->kind = kind;
	op->bytes = size_bytes(insn, size);
	switch (kind) {
	case OPK_NONE:
		break;
	case OPK_REG:
		set_gpr_operand(insn, op, reg_field);
		break;
	case OPK_XMM_REG:
		op->reg = reg_field;
		break;
	case OPK_RM:
	case OPK_XMM_RM:
		if (insn->modrm_mod != 3) {
			op->mem = true;
			op->seg = mem->seg;
			op->ea = mem->ea;
		} else if (kind == OPK_RM) {
			set_gpr_operand(insn, op, rm_field);
		} else {
			op->reg = rm_field;
		}
		break;
	case OPK_ACC:
		op->reg = 0;
		break;
	case OPK_IMM:
	case OPK_IMM8:
		rc = insn_fetch(ctxt, kind == OPK_IMM8 ? 1 : op->bytes, &v);
		if (rc != X86EMUL_CONTINUE)
			return rc;
		op->imm = v;
		break;
	case OPK_MOFFS:
		rc = insn_fetch(ctxt, insn->ad_bytes, &v);
		if (rc != X86EMUL_CONTINUE)
			return rc;
		op->mem = true;
		op->seg = insn->seg_override >= 0 ? insn->seg_override :
						    X86EMUL_SEG_DS;
		op->ea = v & x86emul_ad_mask(ctxt);
		break;
	case OPK_STR_SRC:
		op->mem = true;
		op->seg = insn->seg_override >= 0 ? insn->seg_override :
						    X86EMUL_SEG_DS;
		break;
	case OPK_STR_DST:
		/* ES:rDI cannot be overridden. */
		op->mem = true;
		op->seg = X86EMUL_SEG_ES;
		break;
	}
	return X86EMUL_CONTINUE;
}

/*
 * The legacy and REX prefixes (SDM 2.1.1, 2.2.1). A REX prefix counts only
 * right before the opcode; a legacy prefix after it cancels it. Of F2 and
 * F3 the last one counts. In 64-bit mode the ES, CS, SS and DS overrides
 * are ignored.
 */
static int decode_prefixes(struct x86_emulate_ctxt *ctxt, s64 *opcode)
{
	struct x86emul_insn *insn = &ctxt->insn;
	bool mode64 = ctxt->mode == X86EMUL_MODE_PROT64;
	int rc;

	for (;;) {
		rc = insn_fetch(ctxt, 1, opcode);
		if (rc != X86EMUL_CONTINUE)
			return rc;
		switch ((u8)*opcode) {
		case 0x66:
			insn->prefixes |= PFX_OPSIZE;
			break;
		case 0x67:
			insn->prefixes |= PFX_ADSIZE;
			break;
		case 0xf0:
			insn->prefixes |= PFX_LOCK;
			break;
		case 0xf2:
			insn->prefixes = (insn->prefixes & ~PFX_REP) | PFX_REPNE;
			break;
		case 0xf3:
			insn->prefixes = (insn->prefixes & ~PFX_REPNE) | PFX_REP;
			break;
		case 0x26:
		case 0x2e:
		case 0x36:
		case 0x3e:
			if (!mode64)
				insn->seg_override = ((u8)*opcode >> 3) & 3;
			break;
		case 0x64:
			insn->seg_override = X86EMUL_SEG_FS;
			break;
		case 0x65:
			insn->seg_override = X86EMUL_SEG_GS;
			break;
		case 0x40 ... 0x4f:
			if (!mode64)
				return X86EMUL_CONTINUE;	/* INC/DEC */
			insn->rex = (u8)*opcode;
			continue;
		default:
			return X86EMUL_CONTINUE;
		}
		insn->rex = 0;
	}
}

/* The entry of the opcode at hand, with groups and SSE resolved. */
static int decode_opcode(struct x86_emulate_ctxt *ctxt, u8 opcode)
{
	struct x86emul_insn *insn = &ctxt->insn;
	const struct x86emul_opcode *d;
	s64 v;
	int rc, pfx;

	if (opcode == 0x0f) {
		rc = insn_fetch(ctxt, 1, &v);
		if (rc != X86EMUL_CONTINUE)
			return rc;
		insn->twobyte = true;
		opcode = v;
		d = &twobyte_table[opcode];
	} else {
		d = &onebyte_table[opcode];
	}
	insn->opcode = opcode;
	if (d->flags & OPF_MODRM) {
		rc = insn_fetch(ctxt, 1, &v);
		if (rc != X86EMUL_CONTINUE)
			return rc;
		insn->modrm = v;
		insn->modrm_mod = insn->modrm >> 6;
		insn->modrm_reg = (insn->modrm >> 3) & 7;
		insn->modrm_rm = insn->modrm & 7;
	}
	if (d->group) {
		d = &group_table[d->group][insn->modrm_reg];
	} else if (d->sse) {
		if (insn->prefixes & PFX_REP)
			pfx = SSE_PFX_F3;
		else if (insn->prefixes & PFX_REPNE)
			pfx = SSE_PFX_F2;
		else if (insn->prefixes & PFX_OPSIZE)
			pfx = SSE_PFX_66;
		else
			pfx = SSE_PFX_NONE;
		d = &sse_table[d->sse][pfx];
	}
	insn->d = *d;
	if (d->cls == C_NONE)
		return X86EMUL_UNHANDLEABLE;
	if ((d->flags & OPF_ONLY64) && ctxt->mode != X86EMUL_MODE_PROT64)
		return X86EMUL_UNHANDLEABLE;
	return X86EMUL_CONTINUE;
}

/*
 * Decode the instruction at CS:RIP into ctxt->insn.
 *
 * Returns X86EMUL_CONTINUE; X86EMUL_EXCEPTION (a fault fetching it: #PF,
 * #GP for a CS limit or more than 15 bytes); X86EMUL_UNHANDLEABLE for an
 * instruction the emulator does not know.
 */
int x86_decode_insn(struct x86_emulate_ctxt *ctxt)
{
	struct x86emul_insn *insn = &ctxt->insn;
	struct x86emul_operand mem = { 0 };
	u8 def_op, def_ad;
	bool rip_rel = false;
	s64 opcode;
	int rc;

	memset(insn, 0, sizeof(*insn));
	insn->seg_override = -1;
	ctxt->seg_cached = 0;
	ctxt->rep_incomplete = false;
	ctxt->iterations = 0;

	switch (ctxt->mode) {
	case X86EMUL_MODE_PROT64:
		def_op = 4;
		def_ad = 8;
		break;
	case X86EMUL_MODE_PROT32:
		def_op = 4;
		def_ad = 4;
		break;
	default:
		/* Real mode follows CS.D too ("big real" code). */
		def_op = 2;
		if (ctxt->mode == X86EMUL_MODE_REAL &&
		    x86emul_segment(ctxt, X86EMUL_SEG_CS)->db)
			def_op = 4;
		def_ad = def_op;
		break;
	}

	rc = decode_prefixes(ctxt, &opcode);
	if (rc != X86EMUL_CONTINUE)
		return rc;

	/* Sizes (SDM 2.2.1.2, 3.6): REX.W over 66 over the default. */
	if (ctxt->mode == X86EMUL_MODE_PROT64) {
		insn->ad_bytes = (insn->prefixes & PFX_ADSIZE) ? 4 : 8;
		insn->op_bytes = 4;
	} else {
		insn->ad_bytes = (insn->prefixes & PFX_ADSIZE) ?
				 def_ad ^ 6 : def_ad;
		insn->op_bytes = def_op;
	}
	if (insn->prefixes & PFX_OPSIZE)
		insn->op_bytes ^= 6;

	rc = decode_opcode(ctxt, opcode);
	if (rc != X86EMUL_CONTINUE)
		return rc;
	if (ctxt->mode == X86EMUL_MODE_PROT64) {
		if (insn->rex & 8)
			insn->op_bytes = 8;
		else if ((insn->d.flags & OPF_STACK) &&
			 !(insn->prefixes & PFX_OPSIZE))
			insn->op_bytes = 8;
	}

	if ((insn->d.flags & OPF_MODRM) && insn->modrm_mod != 3 &&
	    !(insn->d.flags & OPF_RM_REG)) {
		rc = decode_modrm_mem(ctxt, &rip_rel, &mem.ea, &mem.seg);
		if (rc != X86EMUL_CONTINUE)
			return rc;
		if (insn->seg_override >= 0)
			mem.seg = insn->seg_override;
	}
	rc = decode_operand(ctxt, &insn->dst, insn->d.dst, insn->d.dst_size,
			    &mem);
	if (rc != X86EMUL_CONTINUE)
		return rc;
	rc = decode_operand(ctxt, &insn->src, insn->d.src, insn->d.src_size,
			    &mem);
	if (rc != X86EMUL_CONTINUE)
		return rc;
	if (insn->d.cls == C_CMPXCHG8B)
		insn->dst.bytes = (insn->rex & 8) ? 16 : 8;
	/*
	 * MOVSXD with a 16-bit operand size: Intel reads a word (SDM Vol. 2B
	 * "MOVSXD r16, r/m16"), AMD a doubleword and keeps its low word, so
	 * only AMD faults on the upper half (seen in the differential test).
	 */
	if (insn->d.op == MOV_SX && insn->d.src_size == SZ_Z &&
	    insn->d.cls == C_MOV && (ctxt->flags & X86EMUL_F_AMD))
		insn->src.bytes = 4;
	if (rip_rel) {
		u64 next = ctxt->rip + insn->len;

		if (insn->dst.mem)
			insn->dst.ea = (insn->dst.ea + next) &
				       x86emul_ad_mask(ctxt);
		if (insn->src.mem)
			insn->src.ea = (insn->src.ea + next) &
				       x86emul_ad_mask(ctxt);
	}
	return X86EMUL_CONTINUE;
}
