/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmfuzz.h: what the parts of kvmfuzz share (kvmfuzz.c: the driver, the
 * kernel log, running and reducing programs, main; fuzz_prog.c: building
 * and printing programs; fuzz_ioctl.c: the ioctl table and the ioctl
 * programs; fuzz_guest.c: hostile guests; fuzz_life.c: the lifecycle
 * stress). fuzz_exec.h, the interpreter, is shared with the reproducers.
 */
#ifndef KVMFUZZ_H
#define KVMFUZZ_H

#include "fuzz_exec.h"

#include <ctype.h>
#include <stddef.h>
#include <stdarg.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <asm/kvm.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Random numbers: splitmix64, from the seed alone (prog_seed()). */
struct rng {
	uint64_t s;
};

static inline uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline uint64_t rnd64(struct rng *r)
{
	return splitmix(&r->s);
}

static inline uint32_t rnd(struct rng *r, uint32_t n)
{
	return n ? (uint32_t)(rnd64(r) % n) : 0;
}

static inline int chance(struct rng *r, int pct)
{
	return (int)rnd(r, 100) < pct;
}

struct prog {
	struct fz_op *ops;
	size_t n, cap;
	int nvm, nvcpu, nmap, nkvm, nevfd;	/* objects created so far */
};

struct gen {
	struct rng *r;
	struct prog *p;
};

typedef void gen_fn(struct gen *g, struct fz_op *op, unsigned long aux);

struct ioctl_desc {
	const char *name;
	unsigned long nr;
	int target;		/* T_KVM, T_VM, T_VCPU */
	gen_fn *gen;		/* NULL: a blob of _IOC_SIZE(nr) bytes */
	unsigned long aux;	/* generator's parameter (e.g. the GET of a SET) */
	int weight;		/* 0 = 1 */
};

enum { M_REAL, M_PROT16, M_PROT32, M_PROT32_PG, M_LONG, M_NR };

#define G_MEM		0x200000	/* slot 0: 2 MiB at gpa 0 */

#define G_GDT		0x1000

#define G_IDT		0x2000

#define G_PML4		0x3000

#define G_PDPT		0x4000

#define G_PD		0x5000

#define G_TSS		0x6000

#define G_STACK		0x7ff0

#define G_CODE		0x8000

#define G_HANDLER	0x7000

#define G_ZERO_IDTR	0x1f00		/* 10 zero bytes: an IDT of limit 0 */

#define G_PD32		0x9000		/* 32-bit paging: 4 MiB pages */

struct code {
	uint8_t b[8192];
	size_t n;
	int mode;
};

struct tmpl {
	const char *name;
	uint8_t b[6];
	uint8_t n;
	uint8_t setup;		/* which registers to load first: 1 eax 2 ecx 4 edx */
};

enum { GK_RANDOM, GK_TRIPLE, GK_FAULTLOOP, GK_MSRSWEEP, GK_NR };

struct guest_desc {
	int mode, kind;
};

enum { RES_OK, RES_HANG, RES_SPLAT, RES_CRASH, RES_MISMATCH };

struct result {
	int kind;
	char sig[256];
	uint64_t op;
};

struct opts {
	uint64_t seed;
	int seconds;
	long programs;
	const char *repro_dir;
	int verbose;
	int slice;
	int compare;		/* kvmfuzz_compare: traced, no reduction */
};

/* The (call, errno) table: the ioctls and the pseudo entries, errnos. */
#define NCALLS_MAX	256
#define NERR		134

struct shared {
	struct fz_stats st;
	volatile uint32_t pairs[NCALLS_MAX][NERR];
	volatile uint64_t guests;
};

/* fuzz_prog.c */
uint64_t edge(struct rng *r);
struct fz_op *add_op(struct prog *p, int kind, int target, unsigned int tidx);
void prog_free(struct prog *p);
uint8_t *op_bytes(struct fz_op *op, uint32_t len);
void op_mut(struct fz_op *op, uint16_t off, uint8_t width, uint64_t val);
void op_fix(struct fz_op *op, uint16_t off, uint8_t kind, uint16_t idx, uint64_t add);
void put(uint8_t *b, size_t off, int w, uint64_t v);
void mutate(struct rng *r, struct fz_op *op, uint32_t len, int n);
void print_op(FILE *f, const struct fz_op *op, size_t i);
void emit_c(FILE *f, const struct fz_op *ops, size_t n, const char *what);

/* fuzz_ioctl.c */
uint32_t msr_index(struct rng *r);
extern const size_t ncalls;	/* ioctls and the pseudo entries */
int ioctl_slot(const struct fz_op *op);
const char *slot_name(int s);
extern const char *const target_names[T_NR];
void gen_ioctl_prog(struct prog *p, struct rng *r);
const char *nr_name(unsigned long nr);

/* fuzz_guest.c */
extern const char *const mode_names[M_NR];
extern const struct tmpl tmpls[];
extern const size_t n_tmpls;
void emit_tmpl(struct rng *r, struct code *c, const struct tmpl *t);
void seg(struct kvm_segment *s, uint16_t sel, uint8_t type, int dpl, int db, int l,
		uint32_t base, uint32_t limit, int g);
extern const char *const gk_names[GK_NR];
void gen_guest(struct prog *p, struct rng *r, struct guest_desc *gd, int kind_forced,
		      int mode_forced);

/* fuzz_life.c */
extern int life_vcpus_cap;
int run_life(const struct opts *o, int cycles, int budget_s);

/* kvmfuzz.c */
extern struct shared *sh;
void kmsg_mark(const char *what);
int kmsg_check(char *sig, size_t siglen, int show);
extern int failures;
uint64_t prog_seed(uint64_t seed, const char *mode, uint64_t i);

#endif
