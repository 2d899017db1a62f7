// SPDX-License-Identifier: GPL-2.0
/* ckvm selftest library; see ckvm_util.h for how to write a test. */
#include "ckvm_util.h"
#include <elf.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <pthread.h>
#include <dirent.h>

/* ------------------------------------------------------------ TAP */
static unsigned int ksft_plan, ksft_n, ksft_pass, ksft_fail, ksft_skip;

/* Print each line of @path as "# @tag: line" (a diagnostic). */
static void dump_file(const char *path, const char *tag)
{
	char line[256];
	FILE *f = fopen(path, "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		printf("# %s: %s%s", tag, line,
		       line[strlen(line) - 1] == '\n' ? "" : "\n");
	fclose(f);
}

/*
 * What a hung test was doing, for its log: the kernel stack of each of
 * its threads (spinning in KVM_RUN, asleep in a halt, waiting on a lock).
 * Best effort: needs root and CONFIG_STACKTRACE.
 */
static void dump_hang(void)
{
	char path[64], tag[48];
	struct dirent *e;
	DIR *d = opendir("/proc/self/task");

	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%.20s/stack", e->d_name);
		snprintf(tag, sizeof(tag), "hang: thread %.20s", e->d_name);
		dump_file(path, tag);
	}
	if (d)
		closedir(d);
}

/*
 * Watchdog: a hung KVM_RUN must not hang the whole test run. After
 * $CKVM_TEST_TIMEOUT seconds (default 90) print "Bail out!" and what the
 * test was doing (dump_hang()), and exit 1.
 */
static void *watchdog(void *arg)
{
	long secs = (long)arg;

	sleep(secs);
	printf("Bail out! watchdog: test still running after %ld s\n", secs);
	printf("# Totals: pass:%u fail:%u xfail:0 xpass:0 skip:%u error:1\n",
	       ksft_pass, ksft_fail, ksft_skip);
	fflush(stdout);
	dump_hang();
	fflush(stdout);
	_exit(KSFT_FAIL);
	return NULL;
}

void ksft_print_header(void)
{
	const char *t = getenv("CKVM_TEST_TIMEOUT");
	long secs = t ? atol(t) : 90;
	pthread_t th;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n");
	if (secs > 0 && !pthread_create(&th, NULL, watchdog, (void *)secs))
		pthread_detach(th);
}

void ksft_set_plan(unsigned int n)
{
	ksft_plan = n;
	printf("1..%u\n", n);
}

static void vprint_name(const char *fmt, va_list ap)
{
	char buf[512];
	size_t l;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	l = strlen(buf);
	while (l && buf[l - 1] == '\n')
		buf[--l] = 0;
	fputs(buf, stdout);
}

void ksft_print_msg(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprint_name(fmt, ap);
	va_end(ap);
	printf("\n");
}

bool ksft_test_result(bool ok, const char *fmt, ...)
{
	va_list ap;

	ksft_n++;
	if (ok)
		ksft_pass++;
	else
		ksft_fail++;
	printf("%s %u ", ok ? "ok" : "not ok", ksft_n);
	va_start(ap, fmt);
	vprint_name(fmt, ap);
	va_end(ap);
	printf("\n");
	return ok;
}

void ksft_test_result_skip(const char *fmt, ...)
{
	va_list ap;
	char buf[512];

	ksft_n++;
	ksft_skip++;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* fmt is "name # reason"-less: callers pass "name: reason" */
	printf("ok %u ", ksft_n);
	{
		size_t l = strlen(buf);

		while (l && buf[l - 1] == '\n')
			buf[--l] = 0;
	}
	/* split "name: reason" into "name # SKIP reason" */
	char *c = strstr(buf, ": ");
	if (c) {
		*c = 0;
		printf("%s # SKIP %s\n", buf, c + 2);
	} else {
		printf("%s # SKIP\n", buf);
	}
}

int ksft_finished(void)
{
	if (!ksft_plan)
		printf("1..%u\n", ksft_n);
	else if (ksft_plan != ksft_n) {
		printf("# Planned tests != run tests (%u != %u)\n", ksft_plan, ksft_n);
		ksft_fail++;
	}
	printf("# Totals: pass:%u fail:%u xfail:0 xpass:0 skip:%u error:0\n",
	       ksft_pass, ksft_fail, ksft_skip);
	fflush(stdout);
	if (ksft_fail)
		exit(KSFT_FAIL);
	if (ksft_skip && !ksft_pass)
		exit(KSFT_SKIP);
	exit(KSFT_PASS);
}

void ksft_exit_skip(const char *fmt, ...)
{
	va_list ap;
	char buf[512];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (!ksft_n && !ksft_plan)
		printf("1..0 # SKIP %s\n", buf);
	else
		printf("# SKIP %s\n", buf);
	fflush(stdout);
	exit(ksft_fail ? KSFT_FAIL : KSFT_SKIP);
}

void ksft_exit_fail_msg(const char *fmt, ...)
{
	va_list ap;

	printf("Bail out! ");
	va_start(ap, fmt);
	vprint_name(fmt, ap);
	va_end(ap);
	printf("\n");
	printf("# Totals: pass:%u fail:%u xfail:0 xpass:0 skip:%u error:1\n",
	       ksft_pass, ksft_fail, ksft_skip);
	fflush(stdout);
	exit(KSFT_FAIL);
}

/* ------------------------------------------------------------ /dev/kvm */
/* Where KVM's documented behaviour differs between its two vendors. */
bool host_is_amd(void)
{
	uint32_t a, b, c, d;

	cpuid_count(0, 0, &a, &b, &c, &d);
	return b == 0x68747541;	/* "Auth" */
}

bool is_ckvm(void)
{
	struct stat st;

	return stat("/sys/module/ckvm", &st) == 0;
}

bool kernel_at_least(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;

	TEST_ASSERT(uname(&u) == 0 && sscanf(u.release, "%d.%d", &ma, &mi) == 2,
		    "uname release");
	return ma > major || (ma == major && mi >= minor);
}

bool emulator_qemu_at_least(int major, int minor)
{
	const char *e = getenv("ckvm_emulator");
	int ma = 0, mi = 0;

	if (!e || sscanf(e, "qemu-%d.%d", &ma, &mi) != 2)
		return false;
	return ma > major || (ma == major && mi >= minor);
}

/* The counter @name of the stats file of @obj_fd (a VM or a vCPU). */
static uint64_t stat_by_name(int obj_fd, const char *name)
{
	struct kvm_stats_header h;
	uint64_t val = ~0ULL;
	size_t dsize;
	char *d;
	int fd = ioctl(obj_fd, KVM_GET_STATS_FD, NULL);

	TEST_ASSERT(fd >= 0, "KVM_GET_STATS_FD");
	TEST_ASSERT(pread(fd, &h, sizeof(h), 0) == sizeof(h), "stats header");
	dsize = sizeof(struct kvm_stats_desc) + h.name_size;
	d = calloc(h.num_desc, dsize);
	TEST_ASSERT(d, "calloc");
	TEST_ASSERT(pread(fd, d, h.num_desc * dsize, h.desc_offset) ==
		    (ssize_t)(h.num_desc * dsize), "stats descriptors");
	for (unsigned int i = 0; i < h.num_desc; i++) {
		struct kvm_stats_desc *e = (void *)(d + i * dsize);

		if (!strcmp(e->name, name)) {
			TEST_ASSERT(pread(fd, &val, 8, h.data_offset + e->offset) == 8,
				    "stat %s", name);
			break;
		}
	}
	free(d);
	close(fd);
	return val;
}

uint64_t vm_stat(struct kvm_vm *vm, const char *name)
{
	return stat_by_name(vm->fd, name);
}

uint64_t vcpu_stat(struct kvm_vcpu *v, const char *name)
{
	return stat_by_name(v->fd, name);
}

int kvm_open(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		ksft_exit_skip("/dev/kvm not available: %s", strerror(errno));
	return fd;
}

int kvm_check_cap(long cap)
{
	int kvm = kvm_open();
	int r = ioctl(kvm, KVM_CHECK_EXTENSION, cap);

	close(kvm);
	return r;
}

long kvm_run_size(void)
{
	int kvm = kvm_open();
	long r = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);

	TEST_ASSERT(r > 0, "KVM_GET_VCPU_MMAP_SIZE");
	close(kvm);
	return r;
}

const char *exit_reason_str(uint32_t r)
{
	static const char *n[] = {
		[KVM_EXIT_UNKNOWN] = "UNKNOWN", [KVM_EXIT_EXCEPTION] = "EXCEPTION",
		[KVM_EXIT_IO] = "IO", [KVM_EXIT_HYPERCALL] = "HYPERCALL",
		[KVM_EXIT_DEBUG] = "DEBUG", [KVM_EXIT_HLT] = "HLT",
		[KVM_EXIT_MMIO] = "MMIO", [KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
		[KVM_EXIT_SHUTDOWN] = "SHUTDOWN", [KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
		[KVM_EXIT_INTR] = "INTR", [KVM_EXIT_SET_TPR] = "SET_TPR",
		[KVM_EXIT_TPR_ACCESS] = "TPR_ACCESS", [KVM_EXIT_NMI] = "NMI",
		[KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
		[KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
	};

	if (r < sizeof(n) / sizeof(n[0]) && n[r])
		return n[r];
	return "?";
}

/* ------------------------------------------------------------ VM */
struct kvm_vm *vm_create_bare(void)
{
	struct kvm_vm *vm = calloc(1, sizeof(*vm));

	TEST_ASSERT(vm, "calloc");
	vm->kvm_fd = kvm_open();
	vm->fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	TEST_ASSERT(vm->fd >= 0, "KVM_CREATE_VM");
	vm->alloc_next = ALLOC_GPA;
	return vm;
}

int __vm_set_region(struct kvm_vm *vm, uint32_t slot, uint32_t flags,
		    uint64_t gpa, uint64_t size, void *hva)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot, .flags = flags, .guest_phys_addr = gpa,
		.memory_size = size, .userspace_addr = (uint64_t)(uintptr_t)hva,
	};

	return ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r);
}

void vm_track_memslot(struct kvm_vm *vm, uint32_t slot, uint64_t gpa,
		      uint64_t size, uint32_t flags, void *hva)
{
	int i;

	for (i = 0; i < vm->nr_slots; i++)
		if (vm->slots[i].slot == slot)
			break;
	if (i == vm->nr_slots) {
		TEST_ASSERT(vm->nr_slots < 64, "too many slots");
		vm->nr_slots++;
		vm->slots[i].owned = false;
	}
	vm->slots[i].slot = slot;
	vm->slots[i].gpa = gpa;
	vm->slots[i].size = size;
	vm->slots[i].flags = flags;
	vm->slots[i].hva = hva;
}

void vm_forget_memslot(struct kvm_vm *vm, uint32_t slot)
{
	for (int i = 0; i < vm->nr_slots; i++)
		if (vm->slots[i].slot == slot) {
			vm->slots[i] = vm->slots[--vm->nr_slots];
			return;
		}
}

void *vm_add_memslot(struct kvm_vm *vm, uint32_t slot, uint64_t gpa,
		     uint64_t size, uint32_t flags)
{
	void *hva = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	TEST_ASSERT(hva != MAP_FAILED, "mmap %llu bytes", (unsigned long long)size);
	TEST_ASSERT(__vm_set_region(vm, slot, flags, gpa, size, hva) == 0,
		    "KVM_SET_USER_MEMORY_REGION slot %u gpa 0x%llx size 0x%llx", slot,
		    (unsigned long long)gpa, (unsigned long long)size);
	vm_track_memslot(vm, slot, gpa, size, flags, hva);
	for (int i = 0; i < vm->nr_slots; i++)
		if (vm->slots[i].slot == slot)
			vm->slots[i].owned = true;
	return hva;
}

void *addr_gpa2hva(struct kvm_vm *vm, uint64_t gpa)
{
	for (int i = 0; i < vm->nr_slots; i++) {
		struct memslot *s = &vm->slots[i];

		if (gpa >= s->gpa && gpa - s->gpa < s->size)
			return (char *)s->hva + (gpa - s->gpa);
	}
	ksft_exit_fail_msg("gpa 0x%llx is not in any memslot", (unsigned long long)gpa);
}

uint64_t vm_alloc_pages(struct kvm_vm *vm, int n)
{
	uint64_t gpa = vm->alloc_next;

	vm->alloc_next += (uint64_t)n * 4096;
	TEST_ASSERT(vm->alloc_next <= MAIN_MEM_SIZE, "guest memory exhausted");
	memset(addr_gpa2hva(vm, gpa), 0, (size_t)n * 4096);
	return gpa;
}

void vm_load_code(struct kvm_vm *vm, uint64_t gpa, const void *start, const void *end)
{
	memcpy(addr_gpa2hva(vm, gpa), start, (const char *)end - (const char *)start);
}

/* Copy this program's PT_LOAD segments from /proc/self/exe into guest memory. */
static void vm_load_elf(struct kvm_vm *vm)
{
	int fd = open("/proc/self/exe", O_RDONLY);
	Elf64_Ehdr eh;

	TEST_ASSERT(fd >= 0, "open /proc/self/exe");
	TEST_ASSERT(pread(fd, &eh, sizeof(eh), 0) == sizeof(eh), "read ELF header");
	TEST_ASSERT(!memcmp(eh.e_ident, ELFMAG, SELFMAG) && eh.e_type == ET_EXEC,
		    "test must be a static non-PIE ELF executable");
	for (int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		TEST_ASSERT(pread(fd, &ph, sizeof(ph), eh.e_phoff + i * eh.e_phentsize) ==
			    sizeof(ph), "read phdr");
		if (ph.p_type != PT_LOAD)
			continue;
		TEST_ASSERT(ph.p_vaddr + ph.p_memsz <= ALLOC_GPA,
			    "segment 0x%llx+0x%llx does not fit below ALLOC_GPA",
			    (unsigned long long)ph.p_vaddr, (unsigned long long)ph.p_memsz);
		char *dst = addr_gpa2hva(vm, ph.p_vaddr);

		TEST_ASSERT(pread(fd, dst, ph.p_filesz, ph.p_offset) == (ssize_t)ph.p_filesz,
			    "read segment");
		memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
	}
	close(fd);
}

static uint64_t gdt_entry(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	return (limit & 0xffffULL) | ((base & 0xffffffULL) << 16) | ((uint64_t)access << 40) |
	       ((uint64_t)((limit >> 16) & 0xf) << 48) | ((uint64_t)(flags & 0xf) << 52) |
	       ((uint64_t)(base >> 24) << 56);
}

struct kvm_vm *vm_create(void)
{
	struct kvm_vm *vm = vm_create_bare();
	uint64_t *p;

	vm_add_memslot(vm, 0, 0, MAIN_MEM_SIZE, 0);
	vm_load_elf(vm);

	/* 4-level identity map of 0..4 GiB with 2 MiB pages */
	p = addr_gpa2hva(vm, PML4_GPA);
	memset(p, 0, 4096);
	p[0] = PDPT_GPA | 3;
	p = addr_gpa2hva(vm, PDPT_GPA);
	memset(p, 0, 4096);
	for (int i = 0; i < 4; i++)
		p[i] = (PD_GPA + i * 4096) | 3;
	p = addr_gpa2hva(vm, PD_GPA);
	for (uint64_t i = 0; i < 4 * 512; i++)
		p[i] = (i << 21) | 0x83;	/* P, RW, PS */
	/* 2-level 32-bit identity map with 4 MiB pages (CR4.PSE) */
	uint32_t *q = addr_gpa2hva(vm, PD32_GPA);
	for (uint32_t i = 0; i < 1024; i++)
		q[i] = (i << 22) | 0x83;

	/* GDT */
	p = addr_gpa2hva(vm, GDT_GPA);
	p[0] = 0;
	p[SEL_CODE32 / 8] = gdt_entry(0, 0xfffff, 0x9b, 0xc);	/* G, D */
	p[SEL_DATA / 8] = gdt_entry(0, 0xfffff, 0x93, 0xc);
	p[SEL_CODE64 / 8] = gdt_entry(0, 0xfffff, 0x9b, 0xa);	/* G, L */
	p[SEL_CODE16 / 8] = gdt_entry(0, 0xffff, 0x9b, 0x0);
	p[SEL_DATA16 / 8] = gdt_entry(0, 0xffff, 0x93, 0x0);
	return vm;
}

void kvm_vm_free(struct kvm_vm *vm)
{
	close(vm->fd);
	close(vm->kvm_fd);
	for (int i = 0; i < vm->nr_slots; i++)
		if (vm->slots[i].owned)
			munmap(vm->slots[i].hva, vm->slots[i].size);
	free(vm);
}

/* ------------------------------------------------------------ vCPU */
struct kvm_vcpu *vcpu_create(struct kvm_vm *vm, int id)
{
	struct kvm_vcpu *v = calloc(1, sizeof(*v));

	TEST_ASSERT(v, "calloc");
	v->vm = vm;
	v->id = id;
	v->fd = ioctl(vm->fd, KVM_CREATE_VCPU, id);
	TEST_ASSERT(v->fd >= 0, "KVM_CREATE_VCPU %d", id);
	v->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	TEST_ASSERT(v->run != MAP_FAILED, "mmap kvm_run");
	return v;
}

void vcpu_free(struct kvm_vcpu *v)
{
	munmap(v->run, v->run_size);
	close(v->fd);
	free(v);
}

void vcpu_get_regs(struct kvm_vcpu *v, struct kvm_regs *r)
{
	TEST_ASSERT(!ioctl(v->fd, KVM_GET_REGS, r), "KVM_GET_REGS");
}

void vcpu_set_regs(struct kvm_vcpu *v, struct kvm_regs *r)
{
	TEST_ASSERT(!ioctl(v->fd, KVM_SET_REGS, r), "KVM_SET_REGS");
}

void vcpu_get_sregs(struct kvm_vcpu *v, struct kvm_sregs *s)
{
	TEST_ASSERT(!ioctl(v->fd, KVM_GET_SREGS, s), "KVM_GET_SREGS");
}

void vcpu_set_sregs(struct kvm_vcpu *v, struct kvm_sregs *s)
{
	TEST_ASSERT(!ioctl(v->fd, KVM_SET_SREGS, s), "KVM_SET_SREGS");
}

int vcpu_run(struct kvm_vcpu *v)
{
	int r = ioctl(v->fd, KVM_RUN, 0);

	return r < 0 ? -errno : r;
}

void seg_flat(struct kvm_segment *s, uint16_t sel, int type, bool l, bool db)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->dpl = 0;
	s->db = db;
	s->s = 1;
	s->l = l;
	s->g = 1;
}

static void sregs_common_pm(struct kvm_sregs *s)
{
	seg_flat(&s->ds, SEL_DATA, 3, 0, 1);
	s->es = s->fs = s->gs = s->ss = s->ds;
	s->gdt.base = GDT_GPA;
	s->gdt.limit = 6 * 8 - 1;
	s->idt.base = 0;
	s->idt.limit = 0;
}

void sregs_long_mode(struct kvm_sregs *s)
{
	sregs_common_pm(s);
	seg_flat(&s->cs, SEL_CODE64, 11, 1, 0);
	s->cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP | X86_CR0_PG;
	s->cr3 = PML4_GPA;
	s->cr4 = X86_CR4_PAE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
	s->efer = EFER_LME | EFER_LMA;
}

int __vcpu_setup_long_mode(struct kvm_vcpu *v)
{
	struct kvm_sregs s;

	vcpu_get_sregs(v, &s);
	sregs_long_mode(&s);
	return ioctl(v->fd, KVM_SET_SREGS, &s);
}

void vcpu_setup_long_mode(struct kvm_vcpu *v)
{
	TEST_ASSERT(!__vcpu_setup_long_mode(v), "KVM_SET_SREGS (long mode)");
}

void vcpu_setup_real_mode(struct kvm_vcpu *v, uint16_t cs, uint16_t ip)
{
	struct kvm_sregs s;
	struct kvm_regs r;

	vcpu_get_sregs(v, &s);
	s.cs.selector = cs;
	s.cs.base = (uint64_t)cs << 4;
	vcpu_set_sregs(v, &s);
	vcpu_get_regs(v, &r);
	r.rip = ip;
	r.rsp = 0x7ff0;
	vcpu_set_regs(v, &r);
}

void vcpu_setup_pm32(struct kvm_vcpu *v, uint32_t eip, bool paging)
{
	struct kvm_sregs s;
	struct kvm_regs r;

	vcpu_get_sregs(v, &s);
	sregs_common_pm(&s);
	seg_flat(&s.cs, SEL_CODE32, 11, 0, 1);
	s.cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE;
	s.cr4 = 0;
	s.efer = 0;
	if (paging) {
		s.cr0 |= X86_CR0_PG;
		s.cr3 = PD32_GPA;
		s.cr4 = X86_CR4_PSE;
	}
	vcpu_set_sregs(v, &s);
	vcpu_get_regs(v, &r);
	r.rip = eip;
	r.rsp = 0x7ff0;
	r.rflags = 2;
	vcpu_set_regs(v, &r);
}

struct kvm_vcpu *vcpu_add(struct kvm_vm *vm, int id, void *guest_code)
{
	struct kvm_vcpu *v = vcpu_create(vm, id);
	struct kvm_regs r;

	vcpu_set_cpuid_host(v);
	vcpu_setup_long_mode(v);
	v->stack_top = vm_alloc_pages(vm, 16) + 16 * 4096;
	vcpu_get_regs(v, &r);
	r.rip = (uint64_t)guest_code;
	r.rsp = v->stack_top - 8;	/* as after a call: rsp+8 is 16-aligned */
	r.rflags = 2;
	vcpu_set_regs(v, &r);
	return v;
}

void vcpu_args_set(struct kvm_vcpu *v, int n, ...)
{
	struct kvm_regs r;
	/* The SysV AMD64 argument registers, in order. */
	__u64 *const arg[] = { &r.rdi, &r.rsi, &r.rdx, &r.rcx, &r.r8, &r.r9 };
	va_list ap;

	vcpu_get_regs(v, &r);
	va_start(ap, n);
	for (int i = 0; i < n && i < 6; i++)
		*arg[i] = va_arg(ap, uint64_t);
	va_end(ap);
	vcpu_set_regs(v, &r);
}

struct kvm_cpuid2 *kvm_get_supported_cpuid(void)
{
	int kvm = kvm_open();
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 256 * sizeof(c->entries[0]));

	c->nent = 256;
	TEST_ASSERT(!ioctl(kvm, KVM_GET_SUPPORTED_CPUID, c), "KVM_GET_SUPPORTED_CPUID");
	close(kvm);
	return c;
}

void vcpu_set_cpuid_host(struct kvm_vcpu *v)
{
	struct kvm_cpuid2 *c = kvm_get_supported_cpuid();

	TEST_ASSERT(!ioctl(v->fd, KVM_SET_CPUID2, c), "KVM_SET_CPUID2");
	free(c);
}

/* ------------------------------------------------------------ ucall */
void ucall(uint64_t cmd, int nargs, ...)
{
	struct ucall uc = { .cmd = cmd };
	va_list ap;

	va_start(ap, nargs);
	for (int i = 0; i < nargs && i < 6; i++)
		uc.args[i] = va_arg(ap, uint64_t);
	va_end(ap);
	asm volatile("outl %0, %1" :: "a"((uint32_t)(uintptr_t)&uc), "Nd"(UCALL_PORT) : "memory");
}

void ucall_assert(const char *file, int line, const char *expr, uint64_t a, uint64_t b)
{
	struct ucall uc = { .cmd = UCALL_ABORT, .file = file, .expr = expr, .line = line };

	uc.args[0] = a;
	uc.args[1] = b;
	for (;;)
		asm volatile("outl %0, %1" :: "a"((uint32_t)(uintptr_t)&uc), "Nd"(UCALL_PORT) : "memory");
}

int get_ucall(struct kvm_vcpu *v, struct ucall *uc)
{
	struct kvm_run *run = v->run;
	uint32_t gpa;

	memset(uc, 0, sizeof(*uc));
	if (run->exit_reason != KVM_EXIT_IO || run->io.port != UCALL_PORT ||
	    run->io.direction != KVM_EXIT_IO_OUT || run->io.size != 4 || run->io.count != 1)
		return UCALL_NONE;
	memcpy(&gpa, (char *)run + run->io.data_offset, 4);
	memcpy(uc, addr_gpa2hva(v->vm, gpa), sizeof(*uc));
	return (int)uc->cmd;
}

int vcpu_run_ucall(struct kvm_vcpu *v, struct ucall *uc)
{
	int r = vcpu_run(v);
	int cmd;

	if (r) {
		ksft_print_msg("vcpu %d: KVM_RUN failed: %s (exit_reason %u %s)", v->id,
			       strerror(-r), v->run->exit_reason,
			       exit_reason_str(v->run->exit_reason));
		memset(uc, 0, sizeof(*uc));
		return UCALL_NONE;
	}
	cmd = get_ucall(v, uc);
	if (cmd == UCALL_ABORT)
		ksft_print_msg("vcpu %d: guest assertion failed at %s:%llu: %s (0x%llx vs 0x%llx)",
			       v->id, uc->file, (unsigned long long)uc->line, uc->expr,
			       (unsigned long long)uc->args[0], (unsigned long long)uc->args[1]);
	else if (cmd == UCALL_NONE) {
		struct kvm_regs regs;

		ioctl(v->fd, KVM_GET_REGS, &regs);
		ksft_print_msg("vcpu %d: unexpected exit %u (%s), rip 0x%llx", v->id,
			       v->run->exit_reason, exit_reason_str(v->run->exit_reason),
			       (unsigned long long)regs.rip);
		if (v->run->exit_reason == KVM_EXIT_IO)
			ksft_print_msg("  io port 0x%x size %d dir %d count %u", v->run->io.port,
				       v->run->io.size, v->run->io.direction, v->run->io.count);
	}
	return cmd;
}

bool check_unmapped_exit(struct kvm_vcpu *v, uint64_t gpa, int len, bool write, uint64_t wdata)
{
	struct kvm_run *run = v->run;
	uint64_t d = 0;

	memcpy(&d, run->mmio.data, len > 8 ? 8 : len);
	if (run->exit_reason == KVM_EXIT_MMIO && run->mmio.phys_addr == gpa &&
	    run->mmio.len == (uint32_t)len && run->mmio.is_write == write && (!write || d == wdata))
		return true;
	ksft_print_msg("want MMIO gpa 0x%llx len %d write %d data 0x%llx; got exit %u (%s) gpa 0x%llx len %u write %d data 0x%llx",
		       (unsigned long long)gpa, len, write, (unsigned long long)wdata,
		       run->exit_reason, exit_reason_str(run->exit_reason),
		       (unsigned long long)run->mmio.phys_addr, run->mmio.len, run->mmio.is_write,
		       (unsigned long long)d);
	return false;
}
