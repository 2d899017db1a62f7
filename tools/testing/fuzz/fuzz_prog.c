// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_prog.c: building and printing kvmfuzz programs: edge values, the
 * op list of a program (add_op() and the argument helpers), a program
 * printed op by op (print_op()) and as a standalone C reproducer over
 * fuzz_exec.h (emit_c()).
 */
#include "kvmfuzz.h"

/* ------------------------------------------------------------ random */
static const uint64_t edges[] = {
	0, 1, 2, 3, 4, 7, 8, 0xf, 0x10, 0x1f, 0x20, 0x3f, 0x40, 0x7f, 0x80,
	0xff, 0x100, 0x1ff, 0x200, 0x3ff, 0x400, 0xfff, 0x1000, 0x1001,
	0x7fff, 0x8000, 0xffff, 0x10000, 0x1fffff, 0x200000, 0xfffff,
	0x100000, 0x7fffffff, 0x80000000, 0xfec00000, 0xfee00000,
	0xfffff000, 0xffffffff, 0x100000000ull, 0xfffffffff000ull,
	0x7ffffffff000ull, 0x800000000000ull, 0xffff800000000000ull,
	0x000fffffffffffffull, 0x0010000000000000ull, 0x8000000000000000ull,
	0x7fffffffffffffffull, 0xfffffffffffff000ull, 0xffffffffffffffffull,
	0xfffffffffffffffeull,
};

/* An edge value, sometimes off by a little, sometimes anything. */
uint64_t edge(struct rng *r)
{
	uint64_t v;

	switch (rnd(r, 8)) {
	case 0:
		return rnd64(r);
	case 1:
		return rnd(r, 64);
	case 2:
		return 1ull << rnd(r, 64);
	default:
		v = edges[rnd(r, ARRAY_SIZE(edges))];
		if (chance(r, 20))
			v += (int64_t)rnd(r, 5) - 2;
		return v;
	}
}

/* ------------------------------------------------------------ programs */
struct fz_op *add_op(struct prog *p, int kind, int target, unsigned int tidx)
{
	struct fz_op *op;

	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 64;
		p->ops = realloc(p->ops, p->cap * sizeof(*p->ops));
	}
	op = &p->ops[p->n++];
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->target = target;
	op->tidx = tidx;
	op->expect = FZ_ANY;
	return op;
}

void prog_free(struct prog *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		free((void *)p->ops[i].bytes);
	free(p->ops);
	memset(p, 0, sizeof(*p));
}

uint8_t *op_bytes(struct fz_op *op, uint32_t len)
{
	uint8_t *b = calloc(1, len ? len : 1);

	op->bytes = b;
	op->len = len;
	op->base = BASE_BYTES;
	return b;
}

void op_mut(struct fz_op *op, uint16_t off, uint8_t width, uint64_t val)
{
	if (op->nmut < FZ_MAX_MUT)
		op->mut[op->nmut++] = (struct fz_mut){ off, width, val };
}

void op_fix(struct fz_op *op, uint16_t off, uint8_t kind, uint16_t idx, uint64_t add)
{
	if (op->nfix < FZ_MAX_FIX)
		op->fix[op->nfix++] = (struct fz_fix){ off, kind, idx, add };
}

void put(uint8_t *b, size_t off, int w, uint64_t v)
{
	memcpy(b + off, &v, w);
}

/* Random mutations of a structure: edge values at aligned offsets. */
void mutate(struct rng *r, struct fz_op *op, uint32_t len, int n)
{
	while (n-- > 0 && len) {
		static const uint8_t widths[] = { 1, 2, 4, 8 };
		uint8_t w = widths[rnd(r, 4)];
		uint32_t off;

		if (w > len)
			w = 1;
		off = rnd(r, len - w + 1) & ~(uint32_t)(w - 1);
		op_mut(op, off, w, edge(r));
	}
}

/* ------------------------------------------------------------ printing */
void print_op(FILE *f, const struct fz_op *op, size_t i)
{
	static const char *const kinds[OP_NR_KINDS] = {
		"open", "create_vm", "create_vcpu", "map", "ioctl", "run", "run_start",
		"run_stop", "close", "fork", "write_mem", "mprotect", "munmap",
		"eventfd", "sleep", "cpuid_host",
	};
	int s = ioctl_slot(op), k;

	fprintf(f, "#%zu %s %s[%u]", i, op->kind < OP_NR_KINDS ? kinds[op->kind] : "?",
		target_names[op->target < T_NR ? op->target : T_NONE], op->tidx);
	if (op->kind == OP_IOCTL || op->kind == OP_FORK)
		fprintf(f, " %s", op->kind == OP_IOCTL ? slot_name(s) : "");
	if (op->nr && op->kind != OP_IOCTL)
		fprintf(f, " nr=%#lx", op->nr);
	fprintf(f, " val=%#llx flags=%#x", (unsigned long long)op->val, op->flags);
	if (op->base == BASE_GET)
		fprintf(f, " from-get");
	for (k = 0; k < op->nmut; k++)
		fprintf(f, " [%u:%u]=%#llx", op->mut[k].off, op->mut[k].width,
			(unsigned long long)op->mut[k].val);
	for (k = 0; k < op->nfix; k++)
		fprintf(f, " fix(%u,%u,%u,%#llx)", op->fix[k].off, op->fix[k].kind,
			op->fix[k].idx, (unsigned long long)op->fix[k].add);
	if (op->bytes && op->len) {
		uint32_t j, n = op->len < 48 ? op->len : 48;

		fprintf(f, " bytes(%u)=", op->len);
		for (j = 0; j < n; j++)
			fprintf(f, "%02x", op->bytes[j]);
		if (n < op->len)
			fprintf(f, "...");
	}
	fprintf(f, "\n");
}

static const char *const kind_enum[OP_NR_KINDS] = {
	"OP_OPEN_KVM", "OP_CREATE_VM", "OP_CREATE_VCPU", "OP_MAP", "OP_IOCTL", "OP_RUN",
	"OP_RUN_START", "OP_RUN_STOP", "OP_CLOSE", "OP_FORK", "OP_WRITE_MEM",
	"OP_MPROTECT", "OP_MUNMAP", "OP_EVENTFD", "OP_SLEEP", "OP_CPUID_HOST",
};
static const char *const target_enum[T_NR] = {
	"T_KVM", "T_VM", "T_VCPU", "T_MAP", "T_EVENTFD", "T_OTHER", "T_NONE",
};
static const char *const base_enum[] = {
	"BASE_NONE", "BASE_INT", "BASE_BYTES", "BASE_ZERO", "BASE_GET", "BASE_BADPTR",
};

static void emit_nr(FILE *f, unsigned long nr)
{
	const char *n = nr_name(nr);

	if (n)
		fprintf(f, "%s", n);
	else
		fprintf(f, "%#lx", nr);
}

/*
 * emit_c: the program as a standalone C program for the selftests: the
 * ops as data, fuzz_exec.h to run them, TAP output.
 */
void emit_c(FILE *f, const struct fz_op *ops, size_t n, const char *what)
{
	size_t i;
	uint32_t j;
	int k;

	fprintf(f, "// SPDX-License-Identifier: GPL-2.0\n/*\n * Reproducer made by kvmfuzz: %s\n"
		" * (tools/testing/fuzz; the ops run in a child, which fz_exec_prog()\n"
		" * watches for a hang; the machine's /init judges the kernel log).\n */\n"
		"#include \"../../../fuzz/fuzz_exec.h\"\n\n", what);
	for (i = 0; i < n; i++) {
		if (!ops[i].bytes || !ops[i].len)
			continue;
		fprintf(f, "static const uint8_t b%zu[%u] = {", i, ops[i].len);
		for (j = 0; j < ops[i].len; j++)
			fprintf(f, "%s0x%02x,", j % 12 ? " " : "\n\t", ops[i].bytes[j]);
		fprintf(f, "\n};\n");
	}
	fprintf(f, "\nstatic const struct fz_op ops[] = {\n");
	for (i = 0; i < n; i++) {
		const struct fz_op *op = &ops[i];

		fprintf(f, "\t{ .kind = %s, .target = %s, .tidx = %u, .flags = %#x,\n\t  .nr = ",
			kind_enum[op->kind], target_enum[op->target < T_NR ? op->target : T_NONE],
			op->tidx, op->flags);
		emit_nr(f, op->nr);
		fprintf(f, ", .val = %#llxull, .base = %s, .len = %u,",
			(unsigned long long)op->val, base_enum[op->base], op->len);
		if (op->bytes && op->len)
			fprintf(f, " .bytes = b%zu,", i);
		if (op->getnr) {
			fprintf(f, " .getnr = ");
			emit_nr(f, op->getnr);
			fprintf(f, ",");
		}
		if (op->nmut) {
			fprintf(f, "\n\t  .nmut = %u, .mut = {", op->nmut);
			for (k = 0; k < op->nmut; k++)
				fprintf(f, " { %u, %u, %#llxull },", op->mut[k].off, op->mut[k].width,
					(unsigned long long)op->mut[k].val);
			fprintf(f, " },");
		}
		if (op->nfix) {
			fprintf(f, "\n\t  .nfix = %u, .fix = {", op->nfix);
			for (k = 0; k < op->nfix; k++)
				fprintf(f, " { %u, %u, %u, %#llxull },", op->fix[k].off, op->fix[k].kind,
					op->fix[k].idx, (unsigned long long)op->fix[k].add);
			fprintf(f, " },");
		}
		fprintf(f, "\n\t  .expect = ");
		if (op->expect == FZ_ANY)
			fprintf(f, "FZ_ANY },\n");
		else
			fprintf(f, "%d },\n", op->expect);
	}
	fprintf(f, "};\n\n"
		"int main(void)\n{\n"
		"\tstruct fz_stats *st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE,\n"
		"\t\t\t\t   MAP_SHARED | MAP_ANONYMOUS, -1, 0);\n"
		"\tstatic struct fz_exec x;\n\tint status;\n\tpid_t pid;\n\n"
		"\tprintf(\"TAP version 13\\n1..1\\n\");\n"
		"\tif (access(\"/dev/kvm\", R_OK | W_OK)) {\n"
		"\t\tprintf(\"ok 1 # SKIP no /dev/kvm\\n\");\n\t\treturn 4;\n\t}\n"
		"\tfflush(stdout);\n"
		"\tpid = fork();\n\tif (pid == 0) {\n"
		"\t\tfz_exec_init(&x, st);\n"
		"\t\tfz_exec_prog(&x, ops, sizeof(ops) / sizeof(ops[0]));\n"
		"\t\tfflush(stdout);\n"
		"\t\t_exit(x.mismatches ? 1 : 0);\n\t}\n"
		"\twaitpid(pid, &status, 0);\n"
		"\tif (WIFEXITED(status) && WEXITSTATUS(status) == 0) {\n"
		"\t\tprintf(\"ok 1 %%zu calls, no hang\\n\", sizeof(ops) / sizeof(ops[0]));\n"
		"\t\treturn 0;\n\t}\n"
		"\tprintf(\"not ok 1 status %%#x (op %%llu)\\n\", status,\n"
		"\t       (unsigned long long)st->cur_op);\n"
		"\treturn 1;\n}\n");
}
