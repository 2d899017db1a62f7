// SPDX-License-Identifier: GPL-2.0
/*
 * kvmbench: small guest workloads over /dev/kvm, timed from userspace.
 * The same binary runs on ckvm and on the distro kvm; tools/bench/run.sh
 * compares the two.
 *
 *   kvmbench [-r RUNS] [-n N] [-t SECONDS] [-m PARAM=VALUE] [-N NAME] [-s]
 *            WORKLOAD
 *
 * RUNS defaults to 7 (touch64: 5, touch512: 3), each in a fresh VM; N is
 * the operations per run (defaults below; ignored by the touch workloads).
 * After SECONDS (default 40) no new run starts: a slow or loaded machine
 * reports fewer runs (runs=) instead of running into the caller's limit.
 *
 * WORKLOAD  what one operation is
 *   out       guest OUT -> exit to userspace -> KVM_RUN again
 *   cpuid     guest CPUID, handled in the kernel
 *   touch64   first guest write to each 4 KiB page of a fresh 64 MiB slot
 *   touch512  the same, 512 MiB
 *   vm        KVM_CREATE_VM + KVM_CREATE_VCPU + close both
 *   slot1 slot100 slot1000
 *             KVM_SET_USER_MEMORY_REGION add + delete of one slot with
 *             1, 100 or 1000 other slots present
 *   ioctl     KVM_RUN with kvm_run->immediate_exit = 1 (returns EINTR)
 *   mmio      guest 4-byte MMIO write (no memslot) -> KVM_EXIT_MMIO ->
 *             KVM_RUN again
 *   mmiofd    guest 4-byte MMIO write taken in the kernel by an ioeventfd
 *             (KVM_IOEVENTFD, any value): no exit to userspace
 *   pfault    a guest page fault: the guest touches a page its tables do
 *             not map, its #PF handler writes the PTE (demand paging)
 *   cow       a guest copy-on-write fault: a write to a read-only PTE,
 *             the handler copies the 4 KiB page and maps the copy
 *             writable (and INVLPGs it)
 *   cs2 cs16 cs64
 *             a guest context switch: MOV to CR3 round robin over 2, 16
 *             or 64 address spaces, and a read of a page each maps alone
 *
 *   -m PARAM=VALUE (repeatable) sets /sys/module/ckvm/parameters/PARAM
 *   for the run (ckvm only; ignored where the file does not exist), and
 *   -N NAME names the RESULT line (default: the workload), and -s adds
 *   a STATS line: every counter of the vCPU's binary stats, per operation,
 *   over the last run (where the exits of a workload go, by reason).
 *
 * Output, one line (times in ns per operation):
 *   RESULT <workload> median=<ns> min=<ns> max=<ns> runs=<R> ops=<N> \
 *          uexits=<exits to userspace per op> kexits=<all exits per op>
 * kexits comes from the vCPU's binary stats ("exits"), "-" when the module
 * does not provide them. Exit status 0, or 1 with a message on stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define die(...) do { fprintf(stderr, "kvmbench: " __VA_ARGS__); \
	fprintf(stderr, " (errno %d: %s)\n", errno, strerror(errno)); exit(1); } while (0)

#define MEM0_SIZE	(2UL << 20)	/* slot 0: page tables, code, stack */
#define PML4		0x1000
#define PDPT		0x2000
#define PD0		0x3000		/* 4 PDs: 0-4 GiB in 2 MiB pages */
#define CODE		0x10000
#define STACK_TOP	0x1ff000
#define TOUCH_GPA	(1UL << 30)	/* fresh slot for the touch workloads */
#define PORT_LOOP	0xf1
#define PORT_DONE	0xf0
#define MMIO_GPA	0xc0000000UL	/* no memslot: MMIO */

/* The paging workloads: their own tables in slot 0, pages in slot 1. */
#define PG_VA		(1UL << 39)	/* PML4 entry 1 */
#define PG_PDPT		0x7000
#define PG_PD		0x8000
#define PG_IDT		0x9000
#define PG_VARS		0xa000		/* the handler's next free page */
#define PG_GDT		0xb000		/* exceptions need CS in a GDT */
#define PG_PT		0x20000		/* 64 page tables: 128 MiB of pages */
#define PG_NPT		64
#define PG_DATA		TOUCH_GPA	/* slot 1: pages the guest maps */
#define PG_DATA_SIZE	(256UL << 20)
#define PG_AS		(PG_DATA + (64UL << 20))	/* cs: 4 pages a space */

/* Guest code, position independent, copied to CODE. */
extern const char g_out[], g_out_end[], g_cpuid[], g_cpuid_end[];
extern const char g_touch[], g_touch_end[];
extern const char g_mmio[], g_mmio_end[], g_mmiofd[], g_mmiofd_end[];
extern const char g_pf[], g_pf_end[], g_pf_handler[], g_cow_handler[];
extern const char g_cs[], g_cs_end[];
asm(".pushsection .rodata\n"
    /* out: for (;;) outb(PORT_LOOP) */
    "g_out: out %al, $0xf1\n"
    "	jmp g_out\n"
    "g_out_end:\n"
    /* cpuid: rdi iterations of CPUID(0), then outb(PORT_DONE) */
    "g_cpuid: mov %rdi, %r8\n"
    "1:	xor %eax, %eax\n"
    "	xor %ecx, %ecx\n"
    "	cpuid\n"
    "	dec %r8\n"
    "	jnz 1b\n"
    "	out %al, $0xf0\n"
    "	jmp g_cpuid\n"
    "g_cpuid_end:\n"
    /* touch: write one byte to each of rsi pages from rdi, then outb(DONE) */
    "g_touch: movb $1, (%rdi)\n"
    "	add $4096, %rdi\n"
    "	dec %rsi\n"
    "	jnz g_touch\n"
    "	out %al, $0xf0\n"
    "	jmp g_touch\n"
    "g_touch_end:\n"
    /* mmio: for (;;) *(u32 *)MMIO_GPA = eax */
    "g_mmio: mov $0xc0000000, %edx\n"
    "1:	movl %eax, (%rdx)\n"
    "	jmp 1b\n"
    "g_mmio_end:\n"
    /* mmiofd: rdi writes of *(u32 *)MMIO_GPA, then outb(PORT_DONE) */
    "g_mmiofd: mov $0xc0000000, %edx\n"
    "	mov %rdi, %r8\n"
    "1:	movl %eax, (%rdx)\n"
    "	dec %r8\n"
    "	jnz 1b\n"
    "	out %al, $0xf0\n"
    "	jmp g_mmiofd\n"
    "g_mmiofd_end:\n"
    /*
     * pf: touch rsi pages from rdi (a write each), then outb(DONE). The
     * #PF handlers follow: g_pf_handler maps a fresh page, g_cow_handler
     * copies the read-only page and maps the copy. The next free page is
     * at PG_VARS; the PTEs of PG_VA are at PG_PT.
     */
    "g_pf: movb $1, (%rdi)\n"
    "	add $4096, %rdi\n"
    "	dec %rsi\n"
    "	jnz g_pf\n"
    "	out %al, $0xf0\n"
    "	jmp g_pf\n"
    "g_pf_handler:\n"
    "	push %rax\n push %rdx\n"
    "	mov %cr2, %rax\n"
    "	btr $39, %rax\n"		/* minus PG_VA */
    "	shr $12, %rax\n"
    "	mov 0xa000, %rdx\n"
    "	or $0x63, %rdx\n"		/* P, RW, A, D */
    "	mov %rdx, 0x20000(,%rax,8)\n"
    "	addq $4096, 0xa000\n"
    "	pop %rdx\n pop %rax\n"
    "	add $8, %rsp\n"
    "	iretq\n"
    "g_cow_handler:\n"
    "	push %rax\n push %rcx\n push %rsi\n push %rdi\n"
    "	mov %cr2, %rax\n"
    "	and $-4096, %rax\n"
    "	mov %rax, %rsi\n"
    "	mov 0xa000, %rdi\n"
    "	push %rdi\n"
    "	mov $512, %ecx\n"
    "	rep movsq\n"
    "	pop %rdi\n"
    "	mov %rax, %rcx\n"
    "	btr $39, %rcx\n"
    "	shr $12, %rcx\n"
    "	or $0x63, %rdi\n"
    "	mov %rdi, 0x20000(,%rcx,8)\n"
    "	invlpg (%rax)\n"
    "	addq $4096, 0xa000\n"
    "	pop %rdi\n pop %rsi\n pop %rcx\n pop %rax\n"
    "	add $8, %rsp\n"
    "	iretq\n"
    "g_pf_end:\n"
    /* cs: rdi switches over rsi CR3s at PG_AS + 16 KiB * i, reading each. */
    "g_cs: xor %ecx, %ecx\n"
    "1:	mov %rcx, %rax\n"
    "	shl $14, %rax\n"
    "	add $0x44000000, %rax\n"	/* PG_AS */
    "	mov %rax, %cr3\n"
    "	movabs 0x8000000000, %rax\n"	/* PG_VA: the space's own page */
    "	inc %rcx\n"
    "	cmp %rsi, %rcx\n"
    "	jb 2f\n"
    "	xor %ecx, %ecx\n"
    "2:	dec %rdi\n"
    "	jnz 1b\n"
    "	mov $0x1000, %eax\n"
    "	mov %rax, %cr3\n"
    "	out %al, $0xf0\n"
    "	jmp g_cs\n"
    "g_cs_end:\n"
    ".popsection\n");

static int kvm_fd;

/* -m PARAM=VALUE: ckvm's module parameters for the run, and their old values. */
#define MAX_PARAMS 4
static struct { char path[128], val[16], old[16]; } params[MAX_PARAMS];
static int nparams;

#define MAX_STATS 32

struct vm {
	int fd, vcpu_fd, stats_fd;
	struct kvm_run *run;
	uint8_t *mem0;
	long exits_off;		/* offset of the "exits" stat in stats_fd, or -1 */
};

/*
 * -s: the vCPU's counters (name, offset in the stats fd) and their values
 * at the last two exits_read() calls, i.e. around the measured operations.
 */
static struct {
	char name[MAX_STATS][48];
	long off[MAX_STATS];
	uint64_t prev[MAX_STATS], cur[MAX_STATS];
	int n;
} stats;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void set_slot(int vm_fd, uint32_t slot, uint64_t gpa, uint64_t size, void *hva)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot, .guest_phys_addr = gpa,
		.memory_size = size, .userspace_addr = (uintptr_t)hva,
	};

	if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &r))
		die("KVM_SET_USER_MEMORY_REGION slot %u gpa 0x%llx size 0x%llx",
		    slot, (unsigned long long)gpa, (unsigned long long)size);
}

/* Find the vCPU's "exits" counter in its binary stats, if there are any. */
static void stats_open(struct vm *vm)
{
	struct kvm_stats_header h;
	size_t dsz;
	char *d;
	uint32_t i;

	vm->exits_off = -1;
	stats.n = 0;
	vm->stats_fd = ioctl(vm->vcpu_fd, KVM_GET_STATS_FD, NULL);
	if (vm->stats_fd < 0)
		return;
	if (pread(vm->stats_fd, &h, sizeof(h), 0) != sizeof(h))
		return;
	dsz = sizeof(struct kvm_stats_desc) + h.name_size;
	d = calloc(h.num_desc, dsz);
	if (!d || pread(vm->stats_fd, d, dsz * h.num_desc, h.desc_offset) != (ssize_t)(dsz * h.num_desc)) {
		free(d);
		return;
	}
	for (i = 0; i < h.num_desc; i++) {
		struct kvm_stats_desc *s = (void *)(d + i * dsz);

		if (!strcmp(s->name, "exits"))
			vm->exits_off = h.data_offset + s->offset;
		if (stats.n < MAX_STATS && s->size == 1) {
			snprintf(stats.name[stats.n], sizeof(stats.name[0]), "%s", s->name);
			stats.off[stats.n++] = h.data_offset + s->offset;
		}
	}
	free(d);
}

static long exits_read(struct vm *vm)
{
	uint64_t v;
	int i;

	for (i = 0; i < stats.n; i++) {
		stats.prev[i] = stats.cur[i];
		if (pread(vm->stats_fd, &stats.cur[i], 8, stats.off[i]) != 8)
			stats.cur[i] = 0;
	}

	if (vm->exits_off < 0 || pread(vm->stats_fd, &v, sizeof(v), vm->exits_off) != sizeof(v))
		return -1;
	return (long)v;
}

/* A VM with one vCPU in 64-bit long mode, identity-mapped 0-4 GiB. */
static void vm_create(struct vm *vm, const char *code, size_t code_len)
{
	struct kvm_segment cs = {
		.base = 0, .limit = 0xffffffff, .selector = 8, .type = 11,
		.present = 1, .dpl = 0, .db = 0, .s = 1, .l = 1, .g = 1,
	};
	struct kvm_segment ds = cs;
	struct kvm_segment tr = {
		.base = 0, .limit = 0x67, .selector = 0x18, .type = 11,
		.present = 1, .s = 0,
	};
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	uint64_t *pml4, *pdpt, *pd;
	int mmap_size, i;

	vm->fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm->fd < 0)
		die("KVM_CREATE_VM");
	vm->mem0 = mmap(NULL, MEM0_SIZE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->mem0 == MAP_FAILED)
		die("mmap");
	pml4 = (void *)(vm->mem0 + PML4);
	pdpt = (void *)(vm->mem0 + PDPT);
	pd = (void *)(vm->mem0 + PD0);
	pml4[0] = PDPT | 3;
	for (i = 0; i < 4; i++)
		pdpt[i] = (PD0 + i * 0x1000) | 3;
	for (i = 0; i < 4 * 512; i++)
		pd[i] = ((uint64_t)i << 21) | 0x83;	/* P, RW, PS */
	memcpy(vm->mem0 + CODE, code, code_len);
	set_slot(vm->fd, 0, 0, MEM0_SIZE, vm->mem0);

	vm->vcpu_fd = ioctl(vm->fd, KVM_CREATE_VCPU, 0);
	if (vm->vcpu_fd < 0)
		die("KVM_CREATE_VCPU");
	mmap_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (mmap_size < (int)sizeof(struct kvm_run))
		die("KVM_GET_VCPU_MMAP_SIZE");
	vm->run = mmap(NULL, mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, vm->vcpu_fd, 0);
	if (vm->run == MAP_FAILED)
		die("mmap kvm_run");

	if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sregs))
		die("KVM_GET_SREGS");
	ds.type = 3;
	ds.selector = 0x10;
	ds.l = 0;
	ds.db = 1;
	sregs.cs = cs;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = ds;
	sregs.tr = tr;
	sregs.cr3 = PML4;
	sregs.cr4 = 0x20 | 0x200;		/* PAE, OSFXSR */
	sregs.cr0 = 0x80000033;			/* PG, NE, ET, MP, PE */
	sregs.efer = 0x500;			/* LME, LMA */
	if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, &sregs))
		die("KVM_SET_SREGS");
	memset(&regs, 0, sizeof(regs));
	regs.rip = CODE;
	regs.rsp = STACK_TOP;
	regs.rflags = 2;
	if (ioctl(vm->vcpu_fd, KVM_SET_REGS, &regs))
		die("KVM_SET_REGS");
	stats_open(vm);
}

static void vm_destroy(struct vm *vm)
{
	if (vm->stats_fd >= 0)
		close(vm->stats_fd);
	close(vm->vcpu_fd);
	close(vm->fd);
	munmap(vm->mem0, MEM0_SIZE);
}

static void vm_set_args(struct vm *vm, uint64_t rdi, uint64_t rsi)
{
	struct kvm_regs regs;

	if (ioctl(vm->vcpu_fd, KVM_GET_REGS, &regs))
		die("KVM_GET_REGS");
	regs.rdi = rdi;
	regs.rsi = rsi;
	if (ioctl(vm->vcpu_fd, KVM_SET_REGS, &regs))
		die("KVM_SET_REGS");
}

/* Run until the guest does OUT to @port; return the number of KVM_RUNs. */
static long run_until(struct vm *vm, int port)
{
	long n = 0;

	for (;;) {
		n++;
		if (ioctl(vm->vcpu_fd, KVM_RUN, 0) && errno != EINTR)
			die("KVM_RUN");
		if (vm->run->exit_reason == KVM_EXIT_IO && vm->run->io.port == port)
			return n;
		if (vm->run->exit_reason == KVM_EXIT_IO)
			continue;
		if (vm->run->exit_reason == KVM_EXIT_INTR)
			continue;
		errno = 0;
		die("unexpected exit reason %u (hw %llx) at run %ld", vm->run->exit_reason,
		    (unsigned long long)vm->run->fail_entry.hardware_entry_failure_reason, n);
	}
}

/* Run until the guest writes MMIO_GPA (an exit to userspace). */
static void run_until_mmio(struct vm *vm)
{
	for (;;) {
		if (ioctl(vm->vcpu_fd, KVM_RUN, 0) && errno != EINTR)
			die("KVM_RUN");
		if (vm->run->exit_reason == KVM_EXIT_MMIO &&
		    vm->run->mmio.phys_addr == MMIO_GPA && vm->run->mmio.is_write)
			return;
		if (vm->run->exit_reason == KVM_EXIT_INTR)
			continue;
		errno = 0;
		die("unexpected exit reason %u (suberror %u) instead of MMIO",
		    vm->run->exit_reason, vm->run->internal.suberror);
	}
}

static void param_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0)
		return;
	if (write(fd, val, strlen(val)) < 0)
		die("write %s", path);
	close(fd);
}

static void params_set(bool restore)
{
	for (int i = 0; i < nparams; i++)
		param_write(params[i].path, restore ? params[i].old : params[i].val);
}

static void param_add(const char *arg)
{
	const char *eq = strchr(arg, '=');
	int fd, n;

	if (!eq || nparams == MAX_PARAMS) {
		errno = 0;
		die("-m PARAM=VALUE, at most %d", MAX_PARAMS);
	}
	snprintf(params[nparams].path, sizeof(params[0].path),
		 "/sys/module/ckvm/parameters/%.*s", (int)(eq - arg), arg);
	snprintf(params[nparams].val, sizeof(params[0].val), "%s", eq + 1);
	fd = open(params[nparams].path, O_RDONLY);
	if (fd < 0)
		return;		/* not ckvm, or no such parameter: nothing to set */
	n = read(fd, params[nparams].old, sizeof(params[0].old) - 1);
	close(fd);
	params[nparams].old[n > 0 ? n : 0] = 0;
	nparams++;
}

/*
 * The paging workloads' guest: an IDT with @handler (in g_pf's code) for
 * #PF, page tables at PG_VA whose leaves the workload fills, and slot 1
 * with the pages they map.
 */
static void *paging_setup(struct vm *vm, const char *handler)
{
	uint64_t *pml4 = (void *)(vm->mem0 + PML4);
	uint64_t *pdpt = (void *)(vm->mem0 + PG_PDPT);
	uint64_t *pd = (void *)(vm->mem0 + PG_PD);
	uint64_t *idt = (void *)(vm->mem0 + PG_IDT);
	uint64_t *gdt = (void *)(vm->mem0 + PG_GDT);
	uint64_t h = CODE + (handler - g_pf);
	struct kvm_sregs sregs;
	void *data;
	int i;

	pml4[1] = PG_PDPT | 7;
	pdpt[0] = PG_PD | 7;
	for (i = 0; i < PG_NPT; i++)
		pd[i] = (PG_PT + i * 4096) | 7;
	idt[14 * 2] = (h & 0xffff) | (8ULL << 16) | (0x8eULL << 40) |
		      ((h & 0xffff0000ULL) << 32);
	idt[14 * 2 + 1] = h >> 32;
	gdt[1] = 0x00af9b000000ffffULL;		/* 0x08: 64-bit code */
	gdt[2] = 0x00cf93000000ffffULL;		/* 0x10: data */
	if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sregs))
		die("KVM_GET_SREGS");
	sregs.idt.base = PG_IDT;
	sregs.idt.limit = 4095;
	sregs.gdt.base = PG_GDT;
	sregs.gdt.limit = 3 * 8 - 1;
	sregs.cr0 |= 1 << 16;			/* WP: read-only means it */
	if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, &sregs))
		die("KVM_SET_SREGS");
	data = mmap(NULL, PG_DATA_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (data == MAP_FAILED)
		die("mmap");
	set_slot(vm->fd, 1, PG_DATA, PG_DATA_SIZE, data);
	*(uint64_t *)(vm->mem0 + PG_VARS) = PG_DATA + (PG_DATA_SIZE >> 1);
	return data;
}

/*
 * cs: @k address spaces in slot 1 (@data), each a PML4, PDPT, PD and PT
 * mapping a page of its own at PG_VA, the identity map shared.
 */
static void cs_setup(struct vm *vm, uint8_t *data, int k)
{
	uint64_t *pml4 = (void *)(vm->mem0 + PML4);
	int i, l;

	for (i = 0; i < k; i++) {
		uint64_t as = PG_AS + i * 16384;
		uint64_t *t = (void *)(data + (as - PG_DATA));

		/* Four pages: PML4 (+0), PDPT (+4K), PD (+8K), PT (+12K). */
		t[0] = pml4[0];
		t[1] = (as + 4096) | 3;
		for (l = 1; l < 3; l++)
			t[l * 512] = (as + (l + 1) * 4096) | 3;
		t[3 * 512] = (PG_DATA + i * 4096) | 3;
	}
}

/* One measured run of @w with @n operations: ns total; exits via pointers. */
static double run_once(const char *w, long n, double *uexits, double *kexits)
{
	struct vm vm;
	double t0, t1;
	long e0 = -1, e1 = -1, i;

	*uexits = -1;
	*kexits = -1;
	if (!strcmp(w, "out")) {
		vm_create(&vm, g_out, g_out_end - g_out);
		run_until(&vm, PORT_LOOP);		/* warm up */
		e0 = exits_read(&vm);
		t0 = now_ns();
		for (i = 0; i < n; i++)
			run_until(&vm, PORT_LOOP);
		t1 = now_ns();
		e1 = exits_read(&vm);
		*uexits = 1;
	} else if (!strcmp(w, "cpuid")) {
		long runs;

		vm_create(&vm, g_cpuid, g_cpuid_end - g_cpuid);
		vm_set_args(&vm, 100, 0);
		run_until(&vm, PORT_DONE);		/* warm up */
		vm_set_args(&vm, n, 0);
		e0 = exits_read(&vm);
		t0 = now_ns();
		runs = run_until(&vm, PORT_DONE);
		t1 = now_ns();
		e1 = exits_read(&vm);
		*uexits = (double)runs / n;
	} else if (!strcmp(w, "touch64") || !strcmp(w, "touch512")) {
		uint64_t size = (w[5] == '6' ? 64UL : 512UL) << 20;
		long runs;
		void *mem;

		vm_create(&vm, g_touch, g_touch_end - g_touch);
		vm_set_args(&vm, 0x100000, 16);		/* warm up in slot 0 */
		run_until(&vm, PORT_DONE);
		mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (mem == MAP_FAILED)
			die("mmap %llu", (unsigned long long)size);
		set_slot(vm.fd, 1, TOUCH_GPA, size, mem);
		vm_set_args(&vm, TOUCH_GPA, size >> 12);
		n = size >> 12;
		e0 = exits_read(&vm);
		t0 = now_ns();
		runs = run_until(&vm, PORT_DONE);
		t1 = now_ns();
		e1 = exits_read(&vm);
		*uexits = (double)runs / n;
		set_slot(vm.fd, 1, TOUCH_GPA, 0, mem);
		munmap(mem, size);
	} else if (!strcmp(w, "vm")) {
		t0 = now_ns();
		for (i = 0; i < n; i++) {
			int v = ioctl(kvm_fd, KVM_CREATE_VM, 0), c;

			if (v < 0)
				die("KVM_CREATE_VM");
			c = ioctl(v, KVM_CREATE_VCPU, 0);
			if (c < 0)
				die("KVM_CREATE_VCPU");
			close(c);
			close(v);
		}
		t1 = now_ns();
		return t1 - t0;
	} else if (!strncmp(w, "slot", 4)) {
		long others = atol(w + 4), max = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
		uint8_t *pages;
		int fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);

		if (fd < 0)
			die("KVM_CREATE_VM");
		if (max > 0 && others + 1 > max) {
			errno = 0;
			die("KVM_CAP_NR_MEMSLOTS is %ld, need %ld", max, others + 1);
		}
		pages = mmap(NULL, (others + 1) << 12, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (pages == MAP_FAILED)
			die("mmap");
		/* Slots 0..others-1 one page each, 2 pages apart. */
		for (i = 0; i < others; i++)
			set_slot(fd, i, 0x100000 + (i << 13), 4096, pages + (i << 12));
		t0 = now_ns();
		for (i = 0; i < n; i++) {
			set_slot(fd, others, 0x80000000UL, 4096, pages + (others << 12));
			set_slot(fd, others, 0x80000000UL, 0, pages + (others << 12));
		}
		t1 = now_ns();
		close(fd);
		munmap(pages, (others + 1) << 12);
		return t1 - t0;
	} else if (!strcmp(w, "mmio")) {
		vm_create(&vm, g_mmio, g_mmio_end - g_mmio);
		run_until_mmio(&vm);			/* warm up */
		e0 = exits_read(&vm);
		t0 = now_ns();
		for (i = 0; i < n; i++)
			run_until_mmio(&vm);
		t1 = now_ns();
		e1 = exits_read(&vm);
		*uexits = 1;
	} else if (!strcmp(w, "mmiofd")) {
		struct kvm_ioeventfd ioe = { .addr = MMIO_GPA, .len = 4 };
		long runs;

		vm_create(&vm, g_mmiofd, g_mmiofd_end - g_mmiofd);
		ioe.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (ioe.fd < 0 || ioctl(vm.fd, KVM_IOEVENTFD, &ioe))
			die("KVM_IOEVENTFD");
		vm_set_args(&vm, 100, 0);
		run_until(&vm, PORT_DONE);		/* warm up */
		vm_set_args(&vm, n, 0);
		e0 = exits_read(&vm);
		t0 = now_ns();
		runs = run_until(&vm, PORT_DONE);
		t1 = now_ns();
		e1 = exits_read(&vm);
		*uexits = (double)runs / n;
		close(ioe.fd);
	} else if (!strcmp(w, "pfault") || !strcmp(w, "cow")) {
		bool cow = w[0] == 'c';
		uint64_t *pt;
		void *data;
		long runs;

		vm_create(&vm, g_pf, g_pf_end - g_pf);
		data = paging_setup(&vm, cow ? g_cow_handler : g_pf_handler);
		pt = (void *)(vm.mem0 + PG_PT);
		/* cow: every page starts read-only, mapping one shared page. */
		if (cow)
			for (i = 0; i < n + 16; i++)
				pt[i] = PG_DATA | 0x21;	/* P, A */
		vm_set_args(&vm, PG_VA, 16);		/* warm up */
		run_until(&vm, PORT_DONE);
		vm_set_args(&vm, PG_VA + 16 * 4096, n);
		e0 = exits_read(&vm);
		t0 = now_ns();
		runs = run_until(&vm, PORT_DONE);
		t1 = now_ns();
		e1 = exits_read(&vm);
		*uexits = (double)runs / n;
		set_slot(vm.fd, 1, PG_DATA, 0, data);
		munmap(data, PG_DATA_SIZE);
	} else if (!strncmp(w, "cs", 2)) {
		int k = atoi(w + 2);
		void *data;
		long runs;

		if (k < 1 || k > 64) {
			errno = 0;
			die("cs: 1 to 64 address spaces");
		}
		vm_create(&vm, g_cs, g_cs_end - g_cs);
		data = paging_setup(&vm, g_pf_handler);
		cs_setup(&vm, data, k);
		vm_set_args(&vm, 4 * k, k);		/* warm up */
		run_until(&vm, PORT_DONE);
		vm_set_args(&vm, n, k);
		e0 = exits_read(&vm);
		t0 = now_ns();
		runs = run_until(&vm, PORT_DONE);
		t1 = now_ns();
		e1 = exits_read(&vm);
		*uexits = (double)runs / n;
		set_slot(vm.fd, 1, PG_DATA, 0, data);
		munmap(data, PG_DATA_SIZE);
	} else if (!strcmp(w, "ioctl")) {
		vm_create(&vm, g_out, g_out_end - g_out);
		vm.run->immediate_exit = 1;
		e0 = exits_read(&vm);
		t0 = now_ns();
		for (i = 0; i < n; i++) {
			if (ioctl(vm.vcpu_fd, KVM_RUN, 0) != -1 || errno != EINTR)
				die("KVM_RUN with immediate_exit did not fail with EINTR");
		}
		t1 = now_ns();
		e1 = exits_read(&vm);
		*uexits = 0;
	} else {
		errno = 0;
		die("unknown workload %s", w);
	}
	if (e0 >= 0 && e1 >= 0)
		*kexits = (double)(e1 - e0) / n;
	vm_destroy(&vm);
	return t1 - t0;
}

static long default_n(const char *w)
{
	if (!strcmp(w, "out")) return 20000;
	if (!strcmp(w, "cpuid")) return 20000;
	if (!strcmp(w, "vm")) return 30;
	if (!strncmp(w, "slot", 4)) return 1000;
	if (!strcmp(w, "ioctl")) return 100000;
	if (!strcmp(w, "mmio")) return 20000;
	if (!strcmp(w, "mmiofd")) return 20000;
	if (!strcmp(w, "pfault") || !strcmp(w, "cow")) return 8192;
	if (!strncmp(w, "cs", 2)) return 20000;
	return 1;	/* touch: n is the page count */
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void fmt_exits(char *buf, size_t len, double v)
{
	if (v < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.3g", v);
}

int main(int argc, char **argv)
{
	int runs = 0, opt, i, show_stats = 0;
	double budget = 40, start;
	long n = 0, ops;
	double t[64], ue = -1, ke = -1;
	char ues[32], kes[32];
	const char *w, *name = NULL;

	while ((opt = getopt(argc, argv, "r:n:t:m:N:s")) != -1) {
		switch (opt) {
		case 'm': param_add(optarg); break;
		case 'N': name = optarg; break;
		case 't': budget = atof(optarg); break;
		case 'r': runs = atoi(optarg); break;
		case 'n': n = atol(optarg); break;
		case 's': show_stats = 1; break;
		default: goto usage;
		}
	}
	if (optind != argc - 1 || runs < 0 || runs > 64)
		goto usage;
	w = argv[optind];
	if (!runs)	/* 7, fewer where one run takes long */
		runs = !strcmp(w, "touch512") ? 3 : !strcmp(w, "touch64") ? 5 : 7;
	if (!n)
		n = default_n(w);
	if (!strncmp(w, "touch", 5))
		n = (w[5] == '6' ? 64L : 512L) << 8;

	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0)
		die("open /dev/kvm");
	if (ioctl(kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		die("KVM_GET_API_VERSION is not %d", KVM_API_VERSION);

	ops = n;
	params_set(false);
	start = now_ns();
	for (i = 0; i < runs; i++) {
		if (i && now_ns() - start > budget * 1e9)
			break;
		t[i] = run_once(w, n, &ue, &ke) / ops;
	}
	runs = i;
	params_set(true);
	qsort(t, runs, sizeof(t[0]), cmp);
	fmt_exits(ues, sizeof(ues), ue);
	fmt_exits(kes, sizeof(kes), ke);
	printf("RESULT %s median=%.0f min=%.0f max=%.0f runs=%d ops=%ld uexits=%s kexits=%s\n",
	       name ? name : w,
	       runs % 2 ? t[runs / 2] : (t[runs / 2 - 1] + t[runs / 2]) / 2,
	       t[0], t[runs - 1], runs, ops, ues, kes);
	if (show_stats && stats.n) {
		printf("STATS %s", name ? name : w);
		for (i = 0; i < stats.n; i++)
			if (stats.cur[i] != stats.prev[i])
				printf(" %s=%.3g", stats.name[i],
				       (double)(stats.cur[i] - stats.prev[i]) / ops);
		printf("\n");
	}
	return 0;
usage:
	fprintf(stderr, "usage: kvmbench [-r RUNS] [-n N] [-t SECONDS] [-m PARAM=VALUE] [-N NAME] [-s] out|cpuid|touch64|touch512|vm|slot1|slot100|slot1000|ioctl|mmio|mmiofd|pfault|cow|cs2|cs16|cs64\n");
	return 2;
}
