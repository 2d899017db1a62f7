// SPDX-License-Identifier: GPL-2.0
/*
 * Differential test of the instruction emulator (x86/decode.c,
 * x86/emulate.c, built here unchanged against a fake vCPU).
 *
 * Each case is a random instruction from the set the emulator supports,
 * with random prefixes, operands, register values and flags, and a memory
 * operand aimed into a 16 KiB buffer (sometimes across its edge into an
 * unmapped guard page, sometimes at a non-canonical address). The
 * instruction runs twice:
 *   natively, on this CPU in 64-bit mode at CPL 3, on the buffer, faults
 *     caught with a signal handler;
 *   in the emulator, on a copy of the buffer behind the fake vCPU's
 *     memory callbacks (the "fake MMIO"), guard pages reading as not
 *     present.
 * Every GPR, RIP, the defined RFLAGS bits, every XMM register, every byte
 * of the buffer, and the fault (vector, error code, CR2) must come out the
 * same. A case is a function of its seed: -c SEED replays one, verbosely.
 *
 *   difftest [-n CASES] [-t SECONDS] [-s FIRST_SEED] [-c SEED] [-v]
 *
 * -t stops after that many seconds even if fewer than CASES ran (make
 * check's machine is shared); the count of cases run is printed.
 * Exit status 0 when every case matched, 1 otherwise.
 */
#define _GNU_SOURCE
#include <asm/ldt.h>
#include <cpuid.h>
#include <asm/prctl.h>
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/ucontext.h>
#include <time.h>
#include <unistd.h>

#include "emulate.h"

#define PAGE		4096
#define DATA_PAGES	4
#define DATA_SIZE	(DATA_PAGES * PAGE)

#define EFL_CF	0x0001
#define EFL_PF	0x0004
#define EFL_AF	0x0010
#define EFL_ZF	0x0040
#define EFL_SF	0x0080
#define EFL_DF	0x0400
#define EFL_OF	0x0800
#define EFL_STATUS (EFL_CF | EFL_PF | EFL_AF | EFL_ZF | EFL_SF | EFL_OF)
/* What is compared: the status flags and DF (RF, set on faults, is not). */
#define EFL_COMPARE (EFL_STATUS | EFL_DF)

/* native.S's view; offsets fixed there. */
struct cpu_state {
	uint64_t gpr[16];
	uint64_t rflags;
	uint64_t rip;
	uint8_t xmm[16][16];
};
_Static_assert(__builtin_offsetof(struct cpu_state, rflags) == 128, "layout");
_Static_assert(__builtin_offsetof(struct cpu_state, xmm) == 144, "layout");

struct cpu_state ns_in, ns_out;
uint64_t host_rsp;
void *native_code;
uint16_t native_seg;		/* ES and GS in compatibility mode */
void run_native(void);
void run_native32(void);
extern char native_back[];

/*
 * Compatibility mode (a third of the cases): 16- and 32-bit operands and
 * addresses, no REX, CS 0x23 and DS/SS 0x2b flat, ES and GS an LDT data
 * segment with its own base, limit, direction and writability.
 */
static int mode32;
/*
 * Set when this kernel cannot run compatibility-mode code natively (booted
 * with ia32_emulation=off: no 32-bit user code segment, no LDT loaded):
 * the compatibility-mode cases are then left out, and main() says so.
 */
static int no_compat;
/* The emulator's X86EMUL_F_AMD when this CPU is AMD's or Hygon's. */
static u32 host_flags;
static struct {
	uint64_t base;
	uint32_t limit;		/* bytes */
	int expdown, readonly, db;
} ldt;
#define LDT_SEL		7	/* LDT entry 0, RPL 3 */

/* The memory: [guard][data x4][guard][code], all below 2 GiB. */
static uint8_t *region, *buf, *code;
static uint8_t mirror[DATA_SIZE];	/* the emulator's copy ("MMIO") */
static uint64_t gs_base;

static sigjmp_buf fault_jmp;
static volatile int faulted;
static struct {
	uint64_t trapno, err, cr2, rip, rflags;
	uint64_t gpr[16];
} nfault;

/* ---- random numbers: splitmix64, one stream per case ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned int rn(unsigned int n)
{
	return rnd() % n;
}

/* Register values with edges: 0, -1, sign bits, small numbers. */
static uint64_t rnd_val(void)
{
	static const uint64_t edges[] = {
		0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff,
		0x7fffffff, 0x80000000, 0xffffffff, 0x7fffffffffffffffULL,
		0x8000000000000000ULL, ~0ULL, ~0ULL - 1,
	};

	switch (rn(4)) {
	case 0:
		return edges[rn(sizeof(edges) / sizeof(edges[0]))];
	case 1:
		return rn(256) - 128;
	default:
		return rnd();
	}
}

/* ---- the instruction set under test ---- */

enum { IMM_NONE, IMM_B, IMM_Z, IMM_8S };

#define T_BYTE		0x0001	/* byte operation */
#define T_LOCK		0x0002	/* LOCK allowed with a memory destination */
#define T_STR		0x0004	/* string instruction: REP allowed */
#define T_MEMONLY	0x0008	/* ModRM.mod = 3 is #UD */
#define T_ALIGN		0x0010	/* 16-byte memory operand, aligned */
#define T_NO66		0x0020	/* no random 66 (a mandatory prefix or none) */
#define T_STACK		0x0040	/* PUSH/POP: rSP points into the buffer */
#define T_CMPS		0x0080	/* REPE/REPNE */
#define T_MOFFS		0x0100	/* MOV A0-A3 */
#define T_NOMODRM	0x0200	/* operands are implicit */
#define T_POP		0x0400	/* POP r/m */
#define T_BTREG		0x0800	/* BTx with a register bit offset */
#define T_SRC_RSI	0x1000	/* string: reads seg:rSI */
#define T_DST_RDI	0x2000	/* string: uses ES:rDI */
#define T_0F		0x4000	/* two-byte opcode: no F2/F3 added */
#define T_SSE		0x8000	/* moves an XMM register */

struct tmpl {
	const char *name;
	uint8_t pfx;		/* mandatory prefix, or 0 */
	uint8_t op[2];
	int oplen;
	int reg;		/* fixed ModRM.reg, or -1 */
	int imm;
	int flags;
	uint64_t undef;		/* RFLAGS bits the SDM leaves undefined */
};

#define LOGIC_UNDEF	EFL_AF
#define BT_UNDEF	(EFL_OF | EFL_SF | EFL_ZF | EFL_AF | EFL_PF)

static const struct tmpl tmpls[] = {
	{ "add r/m8,r8", 0, { 0x00 }, 1, -1, IMM_NONE, T_BYTE | T_LOCK, 0 },
	{ "add r/m,r", 0, { 0x01 }, 1, -1, IMM_NONE, T_LOCK, 0 },
	{ "add r8,r/m8", 0, { 0x02 }, 1, -1, IMM_NONE, T_BYTE, 0 },
	{ "add r,r/m", 0, { 0x03 }, 1, -1, IMM_NONE, 0, 0 },
	{ "or r/m8,r8", 0, { 0x08 }, 1, -1, IMM_NONE, T_BYTE | T_LOCK, LOGIC_UNDEF },
	{ "or r/m,r", 0, { 0x09 }, 1, -1, IMM_NONE, T_LOCK, LOGIC_UNDEF },
	{ "or r,r/m", 0, { 0x0b }, 1, -1, IMM_NONE, 0, LOGIC_UNDEF },
	{ "adc r/m8,r8", 0, { 0x10 }, 1, -1, IMM_NONE, T_BYTE | T_LOCK, 0 },
	{ "adc r/m,r", 0, { 0x11 }, 1, -1, IMM_NONE, T_LOCK, 0 },
	{ "adc r,r/m", 0, { 0x13 }, 1, -1, IMM_NONE, 0, 0 },
	{ "sbb r/m8,r8", 0, { 0x18 }, 1, -1, IMM_NONE, T_BYTE | T_LOCK, 0 },
	{ "sbb r/m,r", 0, { 0x19 }, 1, -1, IMM_NONE, T_LOCK, 0 },
	{ "sbb r,r/m", 0, { 0x1b }, 1, -1, IMM_NONE, 0, 0 },
	{ "and r/m8,r8", 0, { 0x20 }, 1, -1, IMM_NONE, T_BYTE | T_LOCK, LOGIC_UNDEF },
	{ "and r/m,r", 0, { 0x21 }, 1, -1, IMM_NONE, T_LOCK, LOGIC_UNDEF },
	{ "and r,r/m", 0, { 0x23 }, 1, -1, IMM_NONE, 0, LOGIC_UNDEF },
	{ "sub r/m8,r8", 0, { 0x28 }, 1, -1, IMM_NONE, T_BYTE | T_LOCK, 0 },
	{ "sub r/m,r", 0, { 0x29 }, 1, -1, IMM_NONE, T_LOCK, 0 },
	{ "sub r,r/m", 0, { 0x2b }, 1, -1, IMM_NONE, 0, 0 },
	{ "xor r/m8,r8", 0, { 0x30 }, 1, -1, IMM_NONE, T_BYTE | T_LOCK, LOGIC_UNDEF },
	{ "xor r/m,r", 0, { 0x31 }, 1, -1, IMM_NONE, T_LOCK, LOGIC_UNDEF },
	{ "xor r,r/m", 0, { 0x33 }, 1, -1, IMM_NONE, 0, LOGIC_UNDEF },
	{ "cmp r/m8,r8", 0, { 0x38 }, 1, -1, IMM_NONE, T_BYTE, 0 },
	{ "cmp r/m,r", 0, { 0x39 }, 1, -1, IMM_NONE, 0, 0 },
	{ "cmp r8,r/m8", 0, { 0x3a }, 1, -1, IMM_NONE, T_BYTE, 0 },
	{ "cmp r,r/m", 0, { 0x3b }, 1, -1, IMM_NONE, 0, 0 },
	{ "add al,imm8", 0, { 0x04 }, 1, -1, IMM_B, T_BYTE | T_NOMODRM, 0 },
	{ "sub eax,imm", 0, { 0x2d }, 1, -1, IMM_Z, T_NOMODRM, 0 },
	{ "movsxd r,r/m", 0, { 0x63 }, 1, -1, IMM_NONE, 0, 0 },
	{ "grp1 r/m8,imm8", 0, { 0x80 }, 1, -2, IMM_B, T_BYTE | T_LOCK, 0 },
	{ "grp1 r/m,imm", 0, { 0x81 }, 1, -2, IMM_Z, T_LOCK, 0 },
	{ "grp1 r/m,imm8s", 0, { 0x83 }, 1, -2, IMM_8S, T_LOCK, 0 },
	{ "test r/m8,r8", 0, { 0x84 }, 1, -1, IMM_NONE, T_BYTE, LOGIC_UNDEF },
	{ "test r/m,r", 0, { 0x85 }, 1, -1, IMM_NONE, 0, LOGIC_UNDEF },
	{ "xchg r/m8,r8", 0, { 0x86 }, 1, -1, IMM_NONE, T_BYTE | T_LOCK, 0 },
	{ "xchg r/m,r", 0, { 0x87 }, 1, -1, IMM_NONE, T_LOCK, 0 },
	{ "mov r/m8,r8", 0, { 0x88 }, 1, -1, IMM_NONE, T_BYTE, 0 },
	{ "mov r/m,r", 0, { 0x89 }, 1, -1, IMM_NONE, 0, 0 },
	{ "mov r8,r/m8", 0, { 0x8a }, 1, -1, IMM_NONE, T_BYTE, 0 },
	{ "mov r,r/m", 0, { 0x8b }, 1, -1, IMM_NONE, 0, 0 },
	{ "pop r/m", 0, { 0x8f }, 1, 0, IMM_NONE, T_STACK | T_POP, 0 },
	{ "mov al,moffs", 0, { 0xa0 }, 1, -1, IMM_NONE, T_BYTE | T_MOFFS | T_NOMODRM, 0 },
	{ "mov eax,moffs", 0, { 0xa1 }, 1, -1, IMM_NONE, T_MOFFS | T_NOMODRM, 0 },
	{ "mov moffs,al", 0, { 0xa2 }, 1, -1, IMM_NONE, T_BYTE | T_MOFFS | T_NOMODRM, 0 },
	{ "mov moffs,eax", 0, { 0xa3 }, 1, -1, IMM_NONE, T_MOFFS | T_NOMODRM, 0 },
	{ "movsb", 0, { 0xa4 }, 1, -1, IMM_NONE, T_BYTE | T_STR | T_NOMODRM | T_SRC_RSI | T_DST_RDI, 0 },
	{ "movs", 0, { 0xa5 }, 1, -1, IMM_NONE, T_STR | T_NOMODRM | T_SRC_RSI | T_DST_RDI, 0 },
	{ "cmpsb", 0, { 0xa6 }, 1, -1, IMM_NONE, T_BYTE | T_STR | T_CMPS | T_NOMODRM | T_SRC_RSI | T_DST_RDI, 0 },
	{ "cmps", 0, { 0xa7 }, 1, -1, IMM_NONE, T_STR | T_CMPS | T_NOMODRM | T_SRC_RSI | T_DST_RDI, 0 },
	{ "test al,imm8", 0, { 0xa8 }, 1, -1, IMM_B, T_BYTE | T_NOMODRM, LOGIC_UNDEF },
	{ "stosb", 0, { 0xaa }, 1, -1, IMM_NONE, T_BYTE | T_STR | T_NOMODRM | T_DST_RDI, 0 },
	{ "stos", 0, { 0xab }, 1, -1, IMM_NONE, T_STR | T_NOMODRM | T_DST_RDI, 0 },
	{ "lodsb", 0, { 0xac }, 1, -1, IMM_NONE, T_BYTE | T_STR | T_NOMODRM | T_SRC_RSI, 0 },
	{ "lods", 0, { 0xad }, 1, -1, IMM_NONE, T_STR | T_NOMODRM | T_SRC_RSI, 0 },
	{ "scasb", 0, { 0xae }, 1, -1, IMM_NONE, T_BYTE | T_STR | T_CMPS | T_NOMODRM | T_DST_RDI, 0 },
	{ "scas", 0, { 0xaf }, 1, -1, IMM_NONE, T_STR | T_CMPS | T_NOMODRM | T_DST_RDI, 0 },
	{ "mov r/m8,imm8", 0, { 0xc6 }, 1, 0, IMM_B, T_BYTE, 0 },
	{ "mov r/m,imm", 0, { 0xc7 }, 1, 0, IMM_Z, 0, 0 },
	{ "test r/m8,imm8", 0, { 0xf6 }, 1, 0, IMM_B, T_BYTE, LOGIC_UNDEF },
	{ "not r/m8", 0, { 0xf6 }, 1, 2, IMM_NONE, T_BYTE | T_LOCK, 0 },
	{ "neg r/m8", 0, { 0xf6 }, 1, 3, IMM_NONE, T_BYTE | T_LOCK, 0 },
	{ "test r/m,imm", 0, { 0xf7 }, 1, 0, IMM_Z, 0, LOGIC_UNDEF },
	{ "not r/m", 0, { 0xf7 }, 1, 2, IMM_NONE, T_LOCK, 0 },
	{ "neg r/m", 0, { 0xf7 }, 1, 3, IMM_NONE, T_LOCK, 0 },
	{ "inc r/m8", 0, { 0xfe }, 1, 0, IMM_NONE, T_BYTE | T_LOCK, 0 },
	{ "dec r/m8", 0, { 0xfe }, 1, 1, IMM_NONE, T_BYTE | T_LOCK, 0 },
	{ "inc r/m", 0, { 0xff }, 1, 0, IMM_NONE, T_LOCK, 0 },
	{ "dec r/m", 0, { 0xff }, 1, 1, IMM_NONE, T_LOCK, 0 },
	{ "push r/m", 0, { 0xff }, 1, 6, IMM_NONE, T_STACK, 0 },
	{ "cmovcc r,r/m", 0, { 0x0f, 0x40 }, 2, -1, IMM_NONE, T_0F, 0 },
	{ "setcc r/m8", 0, { 0x0f, 0x90 }, 2, -3, IMM_NONE, T_BYTE | T_0F, 0 },
	{ "bt r/m,r", 0, { 0x0f, 0xa3 }, 2, -1, IMM_NONE, T_BTREG | T_0F, BT_UNDEF },
	{ "bts r/m,r", 0, { 0x0f, 0xab }, 2, -1, IMM_NONE, T_BTREG | T_LOCK | T_0F, BT_UNDEF },
	{ "btr r/m,r", 0, { 0x0f, 0xb3 }, 2, -1, IMM_NONE, T_BTREG | T_LOCK | T_0F, BT_UNDEF },
	{ "btc r/m,r", 0, { 0x0f, 0xbb }, 2, -1, IMM_NONE, T_BTREG | T_LOCK | T_0F, BT_UNDEF },
	{ "bt r/m,imm8", 0, { 0x0f, 0xba }, 2, 4, IMM_B, T_0F, BT_UNDEF },
	{ "bts r/m,imm8", 0, { 0x0f, 0xba }, 2, 5, IMM_B, T_LOCK | T_0F, BT_UNDEF },
	{ "btr r/m,imm8", 0, { 0x0f, 0xba }, 2, 6, IMM_B, T_LOCK | T_0F, BT_UNDEF },
	{ "btc r/m,imm8", 0, { 0x0f, 0xba }, 2, 7, IMM_B, T_LOCK | T_0F, BT_UNDEF },
	{ "cmpxchg r/m8,r8", 0, { 0x0f, 0xb0 }, 2, -1, IMM_NONE, T_BYTE | T_LOCK | T_0F, 0 },
	{ "cmpxchg r/m,r", 0, { 0x0f, 0xb1 }, 2, -1, IMM_NONE, T_LOCK | T_0F, 0 },
	{ "movzx r,r/m8", 0, { 0x0f, 0xb6 }, 2, -1, IMM_NONE, T_0F, 0 },
	{ "movzx r,r/m16", 0, { 0x0f, 0xb7 }, 2, -1, IMM_NONE, T_0F, 0 },
	{ "movsx r,r/m8", 0, { 0x0f, 0xbe }, 2, -1, IMM_NONE, T_0F, 0 },
	{ "movsx r,r/m16", 0, { 0x0f, 0xbf }, 2, -1, IMM_NONE, T_0F, 0 },
	{ "xadd r/m8,r8", 0, { 0x0f, 0xc0 }, 2, -1, IMM_NONE, T_BYTE | T_LOCK | T_0F, 0 },
	{ "xadd r/m,r", 0, { 0x0f, 0xc1 }, 2, -1, IMM_NONE, T_LOCK | T_0F, 0 },
	{ "movnti m,r", 0, { 0x0f, 0xc3 }, 2, -1, IMM_NONE, T_MEMONLY | T_NO66 | T_0F, 0 },
	{ "cmpxchg8b/16b m", 0, { 0x0f, 0xc7 }, 2, 1, IMM_NONE, T_MEMONLY | T_LOCK | T_NO66 | T_0F, 0 },
	{ "movups x,x/m", 0, { 0x0f, 0x10 }, 2, -1, IMM_NONE, T_NO66 | T_0F | T_SSE, 0 },
	{ "movups x/m,x", 0, { 0x0f, 0x11 }, 2, -1, IMM_NONE, T_NO66 | T_0F | T_SSE, 0 },
	{ "movupd x,x/m", 0x66, { 0x0f, 0x10 }, 2, -1, IMM_NONE, T_NO66 | T_0F | T_SSE, 0 },
	{ "movaps x,x/m", 0, { 0x0f, 0x28 }, 2, -1, IMM_NONE, T_ALIGN | T_NO66 | T_0F | T_SSE, 0 },
	{ "movaps x/m,x", 0, { 0x0f, 0x29 }, 2, -1, IMM_NONE, T_ALIGN | T_NO66 | T_0F | T_SSE, 0 },
	{ "movapd x/m,x", 0x66, { 0x0f, 0x29 }, 2, -1, IMM_NONE, T_ALIGN | T_NO66 | T_0F | T_SSE, 0 },
	{ "movntps m,x", 0, { 0x0f, 0x2b }, 2, -1, IMM_NONE, T_ALIGN | T_MEMONLY | T_NO66 | T_0F | T_SSE, 0 },
	{ "movd/q x,r/m", 0x66, { 0x0f, 0x6e }, 2, -1, IMM_NONE, T_NO66 | T_0F | T_SSE, 0 },
	{ "movd/q r/m,x", 0x66, { 0x0f, 0x7e }, 2, -1, IMM_NONE, T_NO66 | T_0F | T_SSE, 0 },
	{ "movq x,x/m64", 0xf3, { 0x0f, 0x7e }, 2, -1, IMM_NONE, T_NO66 | T_0F | T_SSE, 0 },
	{ "movq x/m64,x", 0x66, { 0x0f, 0xd6 }, 2, -1, IMM_NONE, T_NO66 | T_0F | T_SSE, 0 },
	{ "movdqa x,x/m", 0x66, { 0x0f, 0x6f }, 2, -1, IMM_NONE, T_ALIGN | T_NO66 | T_0F | T_SSE, 0 },
	{ "movdqa x/m,x", 0x66, { 0x0f, 0x7f }, 2, -1, IMM_NONE, T_ALIGN | T_NO66 | T_0F | T_SSE, 0 },
	{ "movdqu x,x/m", 0xf3, { 0x0f, 0x6f }, 2, -1, IMM_NONE, T_NO66 | T_0F | T_SSE, 0 },
	{ "movdqu x/m,x", 0xf3, { 0x0f, 0x7f }, 2, -1, IMM_NONE, T_NO66 | T_0F | T_SSE, 0 },
	{ "movntdq m,x", 0x66, { 0x0f, 0xe7 }, 2, -1, IMM_NONE, T_ALIGN | T_MEMONLY | T_NO66 | T_0F | T_SSE, 0 },
};
#define NR_TMPLS (sizeof(tmpls) / sizeof(tmpls[0]))

/* ---- one case ---- */

struct gcase {
	const struct tmpl *t;
	uint8_t insn[32];
	int len;
	uint64_t undef;
	uint64_t target;	/* the memory operand's linear address, or 0 */
};

/*
 * A linear address for a @bytes operand: mostly inside the buffer with
 * room around it (@margin), sometimes across the buffer's first or last
 * byte into a guard page, rarely non-canonical.
 */
static uint64_t pick_target(int bytes, int margin, int align16, int canon_ok)
{
	uint64_t lo = (uint64_t)buf, hi = lo + DATA_SIZE;
	unsigned int r = rn(100);
	uint64_t t;

	if (r < 90 || !canon_ok) {
		t = lo + margin + rn(DATA_SIZE - 2 * margin - bytes);
		if (align16 && rn(8))
			t &= ~15ULL;
		return t;
	}
	if (r < 94)
		return lo - 1 - rn(bytes);
	if (r < 98)
		return hi - 1 - rn(bytes);
	/*
	 * Non-canonical (#GP, or #SS on the stack segment). Not the last
	 * canonical page: Linux reports faults there with P set, to hide
	 * what lies above.
	 */
	return rn(2) ? 0x0000800000000000ULL + rn(64) :
		       0xffff7fffffffffc0ULL + rn(64);
}

static void emit(struct gcase *c, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		c->insn[c->len++] = v >> (8 * i);
}

static void emit_at(struct gcase *c, int at, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		c->insn[at + i] = v >> (8 * i);
}

/* The addressing form of a memory operand, chosen before it is encoded. */
struct addr {
	int mod, rm, sib;	/* sib < 0: none */
	int base, index, scale;	/* -1: none */
	int riprel;
	int disp_bytes;
};

/* 16-bit addressing: [BX+SI] [BX+DI] [BP+SI] [BP+DI] [SI] [DI] [BP] [BX] */
static const int base16[8] = { 3, 3, 5, 5, 6, 7, 5, 3 };
static const int index16[8] = { 6, 7, 6, 7, -1, -1, -1, -1 };

static void pick_addr16(struct addr *a)
{
	memset(a, 0, sizeof(*a));
	a->sib = -1;
	a->mod = rn(3);
	a->rm = rn(8);
	a->base = base16[a->rm];
	a->index = index16[a->rm];
	if (a->mod == 0 && a->rm == 6) {	/* [disp16] */
		a->base = -1;
		a->disp_bytes = 2;
	} else {
		a->disp_bytes = a->mod == 1 ? 1 : a->mod == 2 ? 2 : 0;
	}
}

static void pick_addr(struct addr *a, int rex, int f, int reg)
{
	unsigned int k = rn(10);

	memset(a, 0, sizeof(*a));
	a->sib = -1;
	a->base = -1;
	a->index = -1;
	a->mod = rn(3);
	if (k == 0) {			/* [rip + disp32]; outside 64-bit: [disp32] */
		a->riprel = !mode32;
		a->mod = 0;
		a->rm = 5;
		a->disp_bytes = 4;
		return;
	}
	if (k == 1) {			/* [index * scale + disp32] */
		a->mod = 0;
		a->rm = 4;
		a->index = rn(8) | ((rex & 2) << 2);
		if (a->index == 4)
			a->index = -1;
		a->scale = rn(4);
		a->sib = (a->scale << 6) | ((a->index < 0 ? 4 : a->index & 7) << 3) | 5;
		a->disp_bytes = 4;
		return;
	}
	a->base = rn(8) | ((rex & 1) << 3);
	if ((a->base & 7) == 4 || rn(3) == 0) {
		a->rm = 4;
		a->index = rn(8) | ((rex & 2) << 2);
		if (a->index == 4)
			a->index = -1;
		a->scale = rn(4);
		a->sib = (a->scale << 6) | ((a->index < 0 ? 4 : a->index & 7) << 3) |
			 (a->base & 7);
	} else {
		a->rm = a->base & 7;
	}
	if (a->mod == 0 && (a->base & 7) == 5)
		a->mod = 1;
	/* rSP is the stack of PUSH/POP: aim with a 32-bit displacement. */
	if ((f & T_STACK) && a->base == 4)
		a->mod = 2;
	a->disp_bytes = a->mod == 1 ? 1 : a->mod == 2 ? 4 : 0;
	(void)reg;
}

/*
 * Build one instruction and the register state for it: prefixes, opcode,
 * the memory operand's form, immediates; then the registers the address
 * uses are solved so that it lands on a target. Returns 0 if this seed
 * gave no usable case (rare; the caller moves on).
 */
static int gen(struct gcase *c)
{
	const struct tmpl *t = &tmpls[rn(NR_TMPLS)];
	int f = t->flags;
	int p66 = 0, p67 = 0, seg = 0, lock = 0, rep = 0, rex = 0;
	int reg, opsize, ad, bytes, nprefix = 0, disp_at = -1, i;
	uint8_t prefixes[8];
	struct addr a = { .mod = 3, .sib = -1, .base = -1, .index = -1 };
	int64_t disp = 0;
	uint64_t target = 0, seg_base = 0, mask;

	memset(c, 0, sizeof(*c));
	c->t = t;
	c->undef = t->undef;
	mode32 = rn(3) == 0;
	/* Without compatibility mode the seed gives no case: later seeds are unchanged. */
	if (mode32 && no_compat)
		return 0;
	/* 63 is ARPL outside 64-bit mode; no REX.W for CMPXCHG16B/MOVQ. */
	if (mode32 && t->oplen == 1 && t->op[0] == 0x63)
		return 0;
	if (mode32) {
		ldt.db = rn(4) != 0;
		ldt.expdown = rn(5) == 0;
		ldt.readonly = rn(10) == 0;
		ldt.base = (uint64_t)buf - 16 * rn(4);
		if (ldt.expdown)
			ldt.limit = rn(DATA_SIZE / 4);
		else
			ldt.limit = rn(4) ? 0xfffff : DATA_SIZE - 1 - rn(DATA_SIZE / 2);
	}
	for (i = 0; i < 16; i++)
		ns_in.gpr[i] = rnd_val();
	for (i = 0; i < 16; i++)
		for (int j = 0; j < 16; j++)
			ns_in.xmm[i][j] = rnd();
	ns_in.rflags = (rnd() & EFL_STATUS) | (rn(4) ? 0 : EFL_DF) | 0x202;

	/* Prefixes, in random order; sometimes too many (> 15 bytes: #GP). */
	if (!(f & T_NO66) && rn(10) < 3)
		p66 = 1;
	if (rn(10) < 2)
		p67 = 1;
	if (rn(10) < 3) {
		static const uint8_t segs[] = { 0x26, 0x2e, 0x36, 0x3e, 0x65, 0x65 };

		seg = segs[rn(6)];
	}
	if ((f & T_LOCK) ? rn(10) < 4 : rn(50) == 0)
		lock = 1;
	if (f & T_STR)
		rep = rn(10) < 7 ? ((f & T_CMPS) && rn(2) ? 0xf2 : 0xf3) : 0;
	else if (!(f & T_0F) && !t->pfx && rn(50) == 0)
		rep = 0xf3;		/* meaningless here: ignored */
	if (p66)
		prefixes[nprefix++] = 0x66;
	if (p67)
		prefixes[nprefix++] = 0x67;
	if (seg)
		prefixes[nprefix++] = seg;
	if (lock)
		prefixes[nprefix++] = 0xf0;
	if (rep)
		prefixes[nprefix++] = rep;
	for (i = nprefix - 1; i > 0; i--) {
		int j = rn(i + 1);
		uint8_t x = prefixes[i];

		prefixes[i] = prefixes[j];
		prefixes[j] = x;
	}
	for (i = 0; i < nprefix; i++)
		c->insn[c->len++] = prefixes[i];
	if (rn(100) < 2)
		for (i = 4 + rn(10); i > 0; i--)
			c->insn[c->len++] = 0x3e;
	if (t->pfx)
		c->insn[c->len++] = t->pfx;
	if (rn(2) && !mode32)
		rex = 0x40 | rn(16);
	if (seg == 0x65)
		seg_base = mode32 ? ldt.base : gs_base;
	if (mode32 && seg == 0x26)
		seg_base = ldt.base;

	opsize = (rex & 8) ? 8 : p66 ? 2 : 4;
	if ((f & T_STACK) && !mode32)
		opsize = ((rex & 8) || !p66) ? 8 : 2;
	ad = mode32 ? (p67 ? 2 : 4) : p67 ? 4 : 8;
	mask = ad == 8 ? ~0ULL : ad == 4 ? 0xffffffffULL : 0xffff;
	bytes = (f & T_BYTE) ? 1 : opsize;
	if (t->pfx || (f & T_SSE) || !strcmp(t->name, "cmpxchg8b/16b m"))
		bytes = 16;

	/* ModRM: reg field (a register, the group's number, or random). */
	reg = t->reg >= 0 ? t->reg : (int)rn(8);
	if (t->reg == -1 && (rex & 4))
		reg |= 8;
	if (!(f & T_NOMODRM)) {
		if (rn(100) < 15 && !(f & T_MEMONLY)) {
			a.mod = 3;
			a.rm = rn(8);
		} else {
			if (ad == 2)
				pick_addr16(&a);
			else
				pick_addr(&a, rex, f, reg);
			/* BTx's bit offset register must not also be the address. */
			if ((f & T_BTREG) && (reg == a.base || reg == a.index))
				return 0;
		}
	}
	if (rex)
		c->insn[c->len++] = rex;
	for (i = 0; i < t->oplen; i++)
		c->insn[c->len++] = t->op[i];
	if (t->reg == -3 || !strcmp(t->name, "cmovcc r,r/m"))
		c->insn[c->len - 1] |= rn(16);	/* the condition code */
	if (!(f & T_NOMODRM)) {
		c->insn[c->len++] = (a.mod << 6) | ((reg & 7) << 3) | (a.rm & 7);
		if (a.sib >= 0)
			c->insn[c->len++] = a.sib;
		if (a.disp_bytes) {
			disp = a.disp_bytes == 1 ? (int8_t)rnd() : (int32_t)rnd();
			disp_at = c->len;
			emit(c, disp, a.disp_bytes);
		}
	}
	switch (t->imm) {
	case IMM_B:
	case IMM_8S:
		emit(c, rnd(), 1);
		break;
	case IMM_Z:
		emit(c, rnd(), (f & T_BYTE) ? 1 : opsize == 2 ? 2 : 4);
		break;
	}

	/* The stack of PUSH and POP, sometimes at the buffer's edge. */
	if (f & T_STACK) {
		ns_in.gpr[4] = pick_target(8, 64, 0, 0);
		if (rn(20) == 0)
			ns_in.gpr[4] = (uint64_t)buf + rn(8);
	}
	if (f & T_BTREG)
		ns_in.gpr[reg] = (uint64_t)(int64_t)((int)rn(1024) - 512);

	if (f & T_MOFFS) {
		target = pick_target(bytes, 16, 0, ad == 8 && !seg_base);
		if (ad == 2 && !seg_base)
			seg_base = 0;	/* DS: a low address, #PF */
		emit(c, target - seg_base, ad);
		c->target = target;
		return 1;
	}
	if (f & T_STR) {
		int n = 1 + rn(8), sz = (f & T_BYTE) ? 1 : opsize;
		int margin = n * sz + 16;
		uint64_t x;

		/* rCX: a few iterations; with a 32-bit address only ECX counts. */
		ns_in.gpr[1] = (ad == 8 ? 0 : rnd() << 32) | rn(9);
		if (f & T_SRC_RSI) {
			x = pick_target(sz, margin, 0, 0);
			if (rn(20) == 0)	/* run into a guard page */
				x = (ns_in.rflags & EFL_DF) ? (uint64_t)buf + rn(8) :
				    (uint64_t)buf + DATA_SIZE - 1 - rn(8);
			x -= seg_base;
			ns_in.gpr[6] = (ad == 8 ? 0 : rnd() << 32) | (x & mask);
		}
		if (f & T_DST_RDI) {
			x = pick_target(sz, margin, 0, 0);
			if (rn(20) == 0)
				x = (ns_in.rflags & EFL_DF) ? (uint64_t)buf + rn(8) :
				    (uint64_t)buf + DATA_SIZE - 1 - rn(8);
			if (mode32)	/* ES is the LDT segment */
				x -= ldt.base;
			ns_in.gpr[7] = (ad == 8 ? 0 : rnd() << 32) | (x & mask);
			c->target = x;
		}
		return 1;
	}
	if ((f & T_NOMODRM) || a.mod == 3)
		return 1;

	/* Aim the memory operand. */
	target = pick_target(bytes, (f & T_BTREG) ? 160 : 32, f & T_ALIGN,
			     ad == 8 && !seg_base && !(f & T_BTREG));
	{
		uint64_t need = (target - seg_base) & mask;
		uint64_t iv = a.index >= 0 ? ns_in.gpr[a.index] : 0;

		if ((f & T_POP) && a.base == 4)
			need -= opsize;		/* rSP after the pop */
		if (a.riprel) {
			uint64_t next = (uint64_t)code + c->len;
			int64_t d = (int64_t)(need - next);

			if (ad == 4)
				d = (int32_t)(uint32_t)(need - next);
			if (d != (int32_t)d || target >= 0x800000000000ULL)
				return 0;
			emit_at(c, disp_at, d, 4);
		} else if (a.base < 0 && ad == 2) {
			emit_at(c, disp_at, need, 2);	/* [disp16] */
		} else if (a.base < 0) {
			/* [index * scale + disp32]: a small index, the rest in disp. */
			iv = a.index >= 0 ? rn(64) : 0;
			if (a.index >= 0)
				ns_in.gpr[a.index] = (ad == 8 ? 0 : rnd() << 32) | iv;
			disp = (int64_t)(need - (iv << a.scale));
			if (ad == 4)
				disp = (int32_t)(uint32_t)disp;
			if (disp != (int32_t)disp || (ad == 8 && target >= 0x80000000ULL))
				return 0;
			emit_at(c, disp_at, disp, 4);
		} else if ((f & T_STACK) && a.base == 4) {
			/* rSP is fixed by the stack: the displacement aims. */
			disp = (int64_t)((need - ns_in.gpr[4] - (iv << a.scale)) & mask);
			if (ad == 4)
				disp = (int32_t)(uint32_t)disp;
			if (disp != (int32_t)disp)
				return 0;
			emit_at(c, disp_at, disp, 4);
		} else if (ad == 2) {
			/* 16-bit: base + index + disp, all modulo 64 KiB. */
			uint64_t iv16 = a.index >= 0 ? ns_in.gpr[a.index] & 0xffff : 0;

			ns_in.gpr[a.base] = (ns_in.gpr[a.base] & ~0xffffULL) |
					    ((need - iv16 - disp) & 0xffff);
		} else if (a.index == a.base) {
			uint64_t k = 1 + (1ULL << a.scale);

			ns_in.gpr[a.base] = (ad == 8 ? 0 : rnd() << 32) |
					    (((need - disp) & mask) / k);
		} else {
			ns_in.gpr[a.base] = (need - (iv << a.scale) - disp) & mask;
			if (ad == 4)
				ns_in.gpr[a.base] |= rnd() << 32;
		}
	}
	c->target = target;
	/* Not the last canonical page (Linux reports P there, see above). */
	{
		uint64_t ea = 0;

		if (a.base >= 0)
			ea += ns_in.gpr[a.base];
		if (a.index >= 0)
			ea += ns_in.gpr[a.index] << a.scale;
		ea = (ea + disp + seg_base) & mask;
		if (!mode32 && !a.riprel && ea >= 0x7ffffffff000ULL && ea < 0x800000000000ULL)
			return 0;
	}
	/* PUSH/POP whose address registers moved rSP off the stack: skip. */
	if ((f & T_STACK) && (a.base == 4 || a.index == 4) ? 0 :
	    ((f & T_STACK) && (ns_in.gpr[4] < (uint64_t)buf ||
			       ns_in.gpr[4] > (uint64_t)buf + DATA_SIZE)))
		return 0;
	return 1;
}

/* ---- the fake vCPU: the emulator's memory is the mirror ---- */

struct fake {
	struct x86_emulate_ctxt ctxt;
	uint8_t xmm[16][16];
};

/* Not-present #PF at @addr, as the CPU reports it to CPL 3. */
static int fake_pf(struct x86_emulate_ctxt *ctxt, uint64_t addr, int write)
{
	ctxt->exception.vector = X86EMUL_PF_VECTOR;
	ctxt->exception.error_code_valid = true;
	ctxt->exception.error_code = 4 | (write ? 2 : 0);
	ctxt->exception.address = addr;
	return X86EMUL_EXCEPTION;
}

/*
 * Check both pages of an access before touching either, as ckvm's glue
 * does: the buffer is present, everything around it is not.
 */
static int fake_check(struct x86_emulate_ctxt *ctxt, uint64_t addr,
		      unsigned int len, int write)
{
	uint64_t lo = (uint64_t)buf, hi = lo + DATA_SIZE;
	uint64_t second = (addr | (PAGE - 1)) + 1;

	if (addr < lo || addr >= hi)
		return fake_pf(ctxt, addr, write);
	if (addr + len > hi)
		return fake_pf(ctxt, second, write);
	return X86EMUL_CONTINUE;
}

static int fake_fetch(struct x86_emulate_ctxt *ctxt, u64 addr, void *val,
		      unsigned int len)
{
	if (addr < (uint64_t)code || addr + len > (uint64_t)code + PAGE)
		return fake_pf(ctxt, addr, 0);
	memcpy(val, (void *)addr, len);
	return X86EMUL_CONTINUE;
}

static int fake_read(struct x86_emulate_ctxt *ctxt, u64 addr, void *val,
		     unsigned int len, bool for_write)
{
	int rc = fake_check(ctxt, addr, len, for_write);

	if (rc == X86EMUL_CONTINUE)
		memcpy(val, mirror + (addr - (uint64_t)buf), len);
	return rc;
}

static int fake_write(struct x86_emulate_ctxt *ctxt, u64 addr,
		      const void *val, unsigned int len)
{
	int rc = fake_check(ctxt, addr, len, 1);

	if (rc == X86EMUL_CONTINUE)
		memcpy(mirror + (addr - (uint64_t)buf), val, len);
	return rc;
}

static int fake_cmpxchg(struct x86_emulate_ctxt *ctxt, u64 addr,
			const void *old, const void *new, unsigned int len)
{
	int rc = fake_check(ctxt, addr, len, 1);

	if (rc != X86EMUL_CONTINUE)
		return rc;
	if (memcmp(mirror + (addr - (uint64_t)buf), old, len))
		return X86EMUL_CMPXCHG_FAILED;
	memcpy(mirror + (addr - (uint64_t)buf), new, len);
	return X86EMUL_CONTINUE;
}

/*
 * 64-bit mode at CPL 3 as Linux sets it up, GS with the test's base; in
 * compatibility mode ES and GS are the LDT segment.
 */
static void fake_get_segment(struct x86_emulate_ctxt *ctxt, int seg,
			     struct x86emul_segment *s)
{
	memset(s, 0, sizeof(*s));
	s->present = true;
	s->s = true;
	s->dpl = 3;
	s->db = true;
	s->limit = 0xffffffff;
	s->type = seg == X86EMUL_SEG_CS ? 0xb : 0x3;
	if (seg == X86EMUL_SEG_GS && !mode32)
		s->base = gs_base;
	if ((seg == X86EMUL_SEG_GS || seg == X86EMUL_SEG_ES) && mode32) {
		s->base = ldt.base;
		s->limit = ldt.limit;
		s->db = ldt.db;
		s->type = 1 | (ldt.readonly ? 0 : 2) | (ldt.expdown ? 4 : 0);
	}
}

static u64 fake_get_cr(struct x86_emulate_ctxt *ctxt, int cr)
{
	if (cr == 0)
		return 0x80050033;	/* PG AM WP NE ET MP PE */
	if (cr == 4)
		return 0x3006f0;	/* OSFXSR OSXMMEXCPT ... */
	return 0;
}

static void fake_get_xmm(struct x86_emulate_ctxt *ctxt, int reg, void *val)
{
	struct fake *fk = (struct fake *)ctxt;

	memcpy(val, fk->xmm[reg], 16);
}

static void fake_put_xmm(struct x86_emulate_ctxt *ctxt, int reg,
			 const void *val)
{
	struct fake *fk = (struct fake *)ctxt;

	memcpy(fk->xmm[reg], val, 16);
}

static const struct x86_emulate_ops fake_ops = {
	.fetch = fake_fetch,
	.read = fake_read,
	.write = fake_write,
	.cmpxchg_emulated = fake_cmpxchg,
	.get_segment = fake_get_segment,
	.get_cr = fake_get_cr,
	.get_xmm = fake_get_xmm,
	.put_xmm = fake_put_xmm,
};

/* ---- running a case ---- */

static void on_fault(int sig, siginfo_t *si, void *uc_)
{
	ucontext_t *uc = uc_;
	greg_t *g = uc->uc_mcontext.gregs;
	static const int map[16] = {
		REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI,
		REG_RDI, REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13,
		REG_R14, REG_R15,
	};

	(void)sig;
	(void)si;
	nfault.trapno = g[REG_TRAPNO];
	nfault.err = g[REG_ERR];
	nfault.cr2 = g[REG_CR2];
	nfault.rip = g[REG_RIP];
	nfault.rflags = g[REG_EFL];
	for (int i = 0; i < 16; i++)
		nfault.gpr[i] = g[map[i]];
	faulted = 1;
	siglongjmp(fault_jmp, 1);
}

struct outcome {
	int fault;		/* -1: none, else the vector */
	uint32_t err;
	uint64_t cr2;
	uint64_t gpr[16];
	uint64_t rip, rflags;
	uint8_t xmm[16][16];
	int rc;			/* the emulator's */
};

/* The test's LDT segment, for ES and GS in compatibility mode. */
static void set_ldt(void)
{
	struct user_desc d;

	memset(&d, 0, sizeof(d));
	d.entry_number = 0;
	d.base_addr = ldt.base;
	d.limit = ldt.limit;
	d.seg_32bit = ldt.db;
	d.contents = ldt.expdown ? 1 : 0;
	d.read_exec_only = ldt.readonly;
	d.useable = 1;
	if (syscall(SYS_modify_ldt, 1, &d, sizeof(d))) {
		perror("modify_ldt");
		exit(2);
	}
}

static void run_case_native(struct gcase *c, struct outcome *o)
{
	memset(o, 0, sizeof(*o));
	memcpy(code, c->insn, c->len);
	if (mode32) {
		/* ljmp $0x33, $code + 0x800: back to 64-bit code there. */
		code[c->len] = 0xea;
		*(uint32_t *)(code + c->len + 1) = (uint32_t)(uint64_t)(code + 0x800);
		*(uint16_t *)(code + c->len + 5) = 0x33;
		code[0x800] = 0xff;
		code[0x801] = 0x25;
		memset(code + 0x802, 0, 4);
		*(uint64_t *)(code + 0x806) = (uint64_t)native_back;
		set_ldt();
		native_seg = LDT_SEL;
	} else {
		code[c->len] = 0xff;		/* jmp *0(%rip) */
		code[c->len + 1] = 0x25;
		memset(code + c->len + 2, 0, 4);
		*(uint64_t *)(code + c->len + 6) = (uint64_t)native_back;
		/* A compatibility-mode case left its LDT selector in GS. */
		syscall(SYS_arch_prctl, ARCH_SET_GS, gs_base);
	}
	native_code = code;
	faulted = 0;
	if (!sigsetjmp(fault_jmp, 1)) {
		if (mode32)
			run_native32();
		else
			run_native();
	}
	if (faulted) {
		o->fault = nfault.trapno;
		o->err = nfault.err;
		o->cr2 = nfault.cr2;
		o->rip = nfault.rip;
		o->rflags = nfault.rflags;
		memcpy(o->gpr, nfault.gpr, sizeof(o->gpr));
		memcpy(o->xmm, ns_in.xmm, sizeof(o->xmm));
		return;
	}
	o->fault = -1;
	memcpy(o->gpr, ns_out.gpr, sizeof(o->gpr));
	o->rflags = ns_out.rflags;
	o->rip = (uint64_t)code + c->len;
	memcpy(o->xmm, ns_out.xmm, sizeof(o->xmm));
}

static void run_case_emul(struct gcase *c, struct outcome *o, int prefill)
{
	static struct fake fk;
	struct x86_emulate_ctxt *ctxt = &fk.ctxt;
	int rc;

	memset(o, 0, sizeof(*o));
	memset(&fk, 0, sizeof(fk));
	ctxt->ops = &fake_ops;
	ctxt->mode = mode32 ? X86EMUL_MODE_PROT32 : X86EMUL_MODE_PROT64;
	ctxt->cpl = 3;
	ctxt->flags = host_flags;
	memcpy(ctxt->regs, ns_in.gpr, sizeof(ctxt->regs));
	ctxt->rip = (uint64_t)code;
	ctxt->rflags = ns_in.rflags;
	memcpy(fk.xmm, ns_in.xmm, sizeof(fk.xmm));
	if (prefill) {
		/* As SVM's decode assists: 15 bytes from RIP. */
		memcpy(ctxt->fetch, code, X86EMUL_MAX_INSN);
		ctxt->fetch_len = X86EMUL_MAX_INSN;
	}
	rc = x86_decode_insn(ctxt);
	if (rc == X86EMUL_CONTINUE)
		rc = x86_emulate_insn(ctxt);
	o->rc = rc;
	o->fault = -1;
	if (rc == X86EMUL_EXCEPTION) {
		o->fault = ctxt->exception.vector;
		o->err = ctxt->exception.error_code;
		o->cr2 = ctxt->exception.address;
	}
	memcpy(o->gpr, ctxt->regs, sizeof(o->gpr));
	o->rip = ctxt->rip;
	o->rflags = ctxt->rflags;
	memcpy(o->xmm, fk.xmm, sizeof(o->xmm));
}

static const char *const gpr_names[16] = {
	"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};

/* Compare; print the differences (all of them) when @verbose. */
static int compare(struct gcase *c, struct outcome *n, struct outcome *e,
		   int verbose)
{
	uint64_t fmask = EFL_COMPARE & ~c->undef;
	/* Compatibility mode: eight registers, their low halves. */
	uint64_t rmask = mode32 ? 0xffffffffULL : ~0ULL;
	int nregs = mode32 ? 8 : 16, bad = 0, i;

	if (e->rc == X86EMUL_UNHANDLEABLE || e->rc == X86EMUL_IO_NEEDED) {
		if (verbose)
			printf("  emulator returned %d (unhandleable)\n", e->rc);
		return 1;
	}
	if (n->fault != e->fault) {
		if (verbose)
			printf("  fault: native %d, emulator %d\n", n->fault, e->fault);
		bad = 1;
	} else if (n->fault == 14 && (n->cr2 != e->cr2 || n->err != e->err)) {
		if (verbose)
			printf("  #PF: native cr2 %#" PRIx64 " err %#x, emulator cr2 %#" PRIx64 " err %#x\n",
			       n->cr2, n->err, e->cr2, e->err);
		bad = 1;
	} else if ((n->fault == 13 || n->fault == 12) && n->err != e->err) {
		if (verbose)
			printf("  error code: native %#x, emulator %#x\n", n->err, e->err);
		bad = 1;
	}
	for (i = 0; i < nregs; i++) {
		if (!((n->gpr[i] ^ e->gpr[i]) & rmask))
			continue;
		if (verbose)
			printf("  %s: native %#018" PRIx64 ", emulator %#018" PRIx64 "\n",
			       gpr_names[i], n->gpr[i], e->gpr[i]);
		bad = 1;
	}
	if ((n->rip ^ e->rip) & rmask) {
		if (verbose)
			printf("  rip: native %#" PRIx64 ", emulator %#" PRIx64 "\n",
			       n->rip, e->rip);
		bad = 1;
	}
	if ((n->rflags ^ e->rflags) & fmask) {
		if (verbose)
			printf("  rflags (mask %#" PRIx64 "): native %#" PRIx64 ", emulator %#" PRIx64 "\n",
			       fmask, n->rflags & fmask, e->rflags & fmask);
		bad = 1;
	}
	if (n->fault < 0 && memcmp(n->xmm, e->xmm, nregs * 16)) {
		for (i = 0; i < nregs && verbose; i++)
			if (memcmp(n->xmm[i], e->xmm[i], 16))
				printf("  xmm%d differs\n", i);
		bad = 1;
	}
	if (memcmp(buf, mirror, DATA_SIZE)) {
		for (i = 0; i < DATA_SIZE && verbose; i++)
			if (buf[i] != mirror[i])
				printf("  memory +%#x: native %02x, emulator %02x\n",
				       i, buf[i], mirror[i]);
		bad = 1;
	}
	return bad;
}

static void print_case(uint64_t seed, struct gcase *c, struct outcome *n,
		       struct outcome *e)
{
	printf("MISMATCH seed %" PRIu64 " (%s, %s): bytes", seed, c->t->name,
	       mode32 ? "compatibility mode" : "64-bit mode");
	if (mode32)
		printf(" [ES/GS base %#" PRIx64 " limit %#x%s%s%s]", ldt.base, ldt.limit,
		       ldt.expdown ? " expand-down" : "", ldt.readonly ? " read-only" : "",
		       ldt.db ? "" : " 16-bit");
	for (int i = 0; i < c->len; i++)
		printf(" %02x", c->insn[i]);
	printf("\n  in: rflags %#" PRIx64, ns_in.rflags);
	for (int i = 0; i < 16; i++)
		printf("%s%s=%#" PRIx64, i % 4 ? " " : "\n      ", gpr_names[i],
		       ns_in.gpr[i]);
	printf("\n  native: fault %d rip %#" PRIx64 " rflags %#" PRIx64
	       "; emulator: rc %d fault %d rip %#" PRIx64 " rflags %#" PRIx64 "\n",
	       n->fault, n->rip, n->rflags, e->rc, e->fault, e->rip, e->rflags);
	compare(c, n, e, 1);
}

static unsigned long skipped;

/* One case from its seed: 1 if it matched or was not usable, 0 if not. */
static int run_seed(uint64_t seed, int verbose, unsigned long *faults)
{
	static uint8_t init[DATA_SIZE];
	struct gcase c;
	struct outcome n, e;
	int prefill;

	rng_state = seed;
	if (!gen(&c)) {
		skipped++;
		return 1;
	}
	prefill = rn(2);
	for (int i = 0; i < DATA_SIZE; i += 8)
		*(uint64_t *)(init + i) = rnd();
	/*
	 * Sometimes memory holds what rDX:rAX hold (CMPXCHG's equal path,
	 * SCAS matches), or what rSI points to (CMPS matches).
	 */
	if (c.target >= (uint64_t)buf && c.target + 16 <= (uint64_t)buf + DATA_SIZE &&
	    !rn(3)) {
		uint64_t off = c.target - (uint64_t)buf;

		memcpy(init + off, &ns_in.gpr[0], 8);
		memcpy(init + off + 8, &ns_in.gpr[2], 8);
		if (rn(2) && (c.t->flags & T_CMPS) &&
		    ns_in.gpr[6] >= (uint64_t)buf + 64 &&
		    ns_in.gpr[6] < (uint64_t)buf + DATA_SIZE - 64 &&
		    off >= 64 && off < DATA_SIZE - 64)
			memcpy(init + off - 32, init + (ns_in.gpr[6] - (uint64_t)buf) - 32, 64);
	}
	memcpy(buf, init, DATA_SIZE);
	memcpy(mirror, init, DATA_SIZE);
	run_case_native(&c, &n);
	run_case_emul(&c, &e, prefill);
	if (n.fault >= 0)
		(*faults)++;
	if (!compare(&c, &n, &e, 0)) {
		if (verbose) {
			printf("seed %" PRIu64 " (%s, %s) ok, fault %d:", seed, c.t->name,
			       mode32 ? "compat" : "64-bit", n.fault);
			for (int i = 0; i < c.len; i++)
				printf(" %02x", c.insn[i]);
			printf("\n");
		}
		return 1;
	}
	print_case(seed, &c, &n, &e);
	return 0;
}

/*
 * Instructions outside the supported set must be refused, never decoded
 * as something else: x87, MMX moves, MOVSS/MOVSD, VEX, three-byte maps,
 * LEA, opcodes next to supported ones.
 */
static int check_refused(void)
{
	static const struct {
		uint8_t bytes[8];
		int len;
	} cases[] = {
		{ { 0xd9, 0x00 }, 2 },			/* fld dword [rax] */
		{ { 0xdd, 0x18 }, 2 },			/* fstp qword [rax] */
		{ { 0x0f, 0x6f, 0x00 }, 3 },		/* movq mm0, [rax] */
		{ { 0x0f, 0x7e, 0x00 }, 3 },		/* movd [rax], mm0 */
		{ { 0xf3, 0x0f, 0x10, 0x00 }, 4 },	/* movss xmm0, [rax] */
		{ { 0xf2, 0x0f, 0x11, 0x00 }, 4 },	/* movsd [rax], xmm0 */
		{ { 0xc5, 0xfa, 0x6f, 0x00 }, 4 },	/* vmovdqu xmm0, [rax] */
		{ { 0x0f, 0x38, 0xf0, 0x00 }, 4 },	/* movbe eax, [rax] */
		{ { 0x66, 0x0f, 0x3a, 0x16, 0x00, 0x00 }, 6 },	/* pextrd */
		{ { 0x8d, 0x00 }, 2 },			/* lea eax, [rax] */
		{ { 0x82, 0x00, 0x00 }, 3 },		/* invalid in 64-bit */
		{ { 0xf6, 0x20 }, 2 },			/* mul byte [rax] */
		{ { 0xff, 0x10 }, 2 },			/* call [rax] */
		{ { 0xd0, 0x20 }, 2 },			/* shl byte [rax], 1 */
		{ { 0x0f, 0xc7, 0x30 }, 3 },		/* vmptrld [rax] */
		{ { 0xc6, 0x08, 0x00 }, 3 },		/* c6 /1: invalid */
		{ { 0x0f, 0xae, 0x38 }, 3 },		/* clflush [rax] */
		{ { 0x0f, 0x01, 0x38 }, 3 },		/* invlpg [rax] */
	};
	static struct fake fk;
	int bad = 0;

	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct x86_emulate_ctxt *ctxt = &fk.ctxt;
		int rc;

		memset(&fk, 0, sizeof(fk));
		ctxt->ops = &fake_ops;
		ctxt->mode = X86EMUL_MODE_PROT64;
		ctxt->cpl = 3;
		ctxt->rip = (uint64_t)code;
		memset(code, 0x90, 32);
		memcpy(code, cases[i].bytes, cases[i].len);
		rc = x86_decode_insn(ctxt);
		if (rc == X86EMUL_CONTINUE)
			rc = x86_emulate_insn(ctxt);
		if (rc != X86EMUL_UNHANDLEABLE) {
			printf("MISMATCH: unsupported instruction");
			for (int j = 0; j < cases[i].len; j++)
				printf(" %02x", cases[i].bytes[j]);
			printf(" was not refused (rc %d)\n", rc);
			bad++;
		}
	}
	return bad;
}

static void setup(void)
{
	size_t total = (1 + DATA_PAGES + 1 + 1) * PAGE;
	struct sigaction sa;
	stack_t ss;

	region = mmap(NULL, total, PROT_NONE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (region == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	buf = region + PAGE;
	code = region + (1 + DATA_PAGES + 1) * PAGE;
	if (mprotect(buf, DATA_SIZE, PROT_READ | PROT_WRITE) ||
	    mprotect(code, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC)) {
		perror("mprotect");
		exit(2);
	}
	/* GS overrides address the buffer: its base is the buffer's page. */
	gs_base = (uint64_t)buf;
	if (syscall(SYS_arch_prctl, ARCH_SET_GS, gs_base)) {
		perror("arch_prctl(ARCH_SET_GS)");
		exit(2);
	}
	ss.ss_sp = malloc(1 << 16);
	ss.ss_size = 1 << 16;
	ss.ss_flags = 0;
	sigaltstack(&ss, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
	sigaction(SIGFPE, &sa, NULL);
}

static int host_is_amd(void)
{
	unsigned int a, b, c, d;

	__cpuid(0, a, b, c, d);
	return (b == 0x68747541 && c == 0x444d4163 && d == 0x69746e65) ||
	       (b == 0x6f677948 && c == 0x656e6975 && d == 0x6e65476e);
}

/*
 * Can this process run compatibility-mode code with an LDT data segment?
 * LAR (SDM Vol. 2A) tells whether a selector names a usable descriptor
 * without loading it: CS 0x23 and the LDT's entry 0 after modify_ldt().
 */
static int native_compat(void)
{
	uint32_t ar;
	uint8_t ok_cs, ok_ldt;

	ldt.base = (uint64_t)buf;
	ldt.limit = DATA_SIZE - 1;
	ldt.db = 1;
	ldt.expdown = 0;
	ldt.readonly = 0;
	set_ldt();
	asm volatile("lar %2, %0; setz %1" : "=r"(ar), "=q"(ok_cs) : "r"(0x23u) : "cc");
	asm volatile("lar %2, %0; setz %1" : "=r"(ar), "=q"(ok_ldt) : "r"((uint32_t)LDT_SEL) : "cc");
	return ok_cs && ok_ldt;
}

int main(int argc, char **argv)
{
	unsigned long cases = 300000, bad = 0, faults = 0, i;
	double limit = 0, secs = 0;
	uint64_t first = 1, one = 0;
	int verbose = 0, opt, have_one = 0;
	struct timespec t0, t1;

	while ((opt = getopt(argc, argv, "n:t:s:c:v")) != -1) {
		switch (opt) {
		case 'n':
			cases = strtoul(optarg, NULL, 0);
			break;
		case 't':
			limit = strtod(optarg, NULL);
			break;
		case 's':
			first = strtoull(optarg, NULL, 0);
			break;
		case 'c':
			one = strtoull(optarg, NULL, 0);
			have_one = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			fprintf(stderr, "usage: %s [-n CASES] [-t SECONDS] [-s FIRST_SEED] [-c SEED] [-v]\n",
				argv[0]);
			return 2;
		}
	}
	setup();
	no_compat = !native_compat();
	host_flags = host_is_amd() ? X86EMUL_F_AMD : 0;
	if (no_compat)
		printf("SKIP compatibility mode: this kernel runs no 32-bit code (ia32_emulation=off?): 64-bit mode cases only\n");
	if (have_one)
		return run_seed(one, 1, &faults) ? 0 : 1;
	bad = check_refused();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < cases; i++) {
		if (!run_seed(first + i, verbose, &faults) && ++bad >= 20) {
			printf("stopping after %lu mismatches\n", bad);
			i++;
			break;
		}
		if (limit && !(i & 1023)) {
			clock_gettime(CLOCK_MONOTONIC, &t1);
			secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
			if (secs > limit) {
				i++;
				break;
			}
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("emulator difftest: %lu cases (seeds %" PRIu64 "..%" PRIu64 "; %lu run, %lu of them faulting, %lu seeds gave no case), %lu mismatches, %.1f s\n",
	       i, first, first + i - 1, i - skipped, faults, skipped, bad,
	       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	return bad ? 1 : 0;
}
