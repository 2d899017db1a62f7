// SPDX-License-Identifier: GPL-2.0
/*
 * Binary statistics (KVM_GET_STATS_FD, KVM_CAP_BINARY_STATS_FD): the file
 * layout of the VM and vCPU stats fds (header, id string, descriptors,
 * data), counters that follow what the guest does, reads at any offset,
 * the fd's own errnos, and that a stats fd keeps its VM alive.
 *
 * Counter names differ between ckvm and KVM: the names both have are
 * checked on both; ckvm's own counters (and their exact values) only on
 * ckvm.
 */
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "ckvm_util.h"

#define NR_OUTS		50
#define NR_CPUIDS	10
#define OUT_PORT	0x80
#define MSR_APICBASE	0x1b

/* Flag bits the API defines: type, unit, base. */
#define STATS_FLAGS_KNOWN \
	(KVM_STATS_TYPE_MASK | KVM_STATS_UNIT_MASK | KVM_STATS_BASE_MASK)

static volatile uint64_t spin_count;

static void guest_code(void)
{
	uint32_t a, b, c, d;

	for (int i = 0; i < NR_OUTS; i++)
		outb(OUT_PORT, i);
	GUEST_SYNC(1);
	for (int i = 0; i < NR_CPUIDS; i++)
		cpuid_count(0, 0, &a, &b, &c, &d);
	(void)rdmsr(MSR_APICBASE);
	GUEST_SYNC(2);
	halt();
	GUEST_DONE();
}

/*
 * IF=1: Bochs exits for a host interrupt only then (with IF=0 ckvm's VMX
 * backend gets out by its preemption timer instead, which is no irq exit).
 * Nothing is ever injected without an irqchip, so no IDT is needed.
 */
static void guest_spin(void)
{
	asm volatile("sti");
	for (;;)
		spin_count++;
}

/* One stats fd, parsed. */
struct stats {
	int fd;
	struct kvm_stats_header hdr;
	char *id;
	char *descs;		/* num_desc * desc_size bytes */
	size_t desc_size;
	size_t data_size;	/* sum of size * 8 */
};

static struct kvm_stats_desc *desc_at(struct stats *s, unsigned int i)
{
	return (struct kvm_stats_desc *)(s->descs + i * s->desc_size);
}

static struct kvm_stats_desc *find_desc(struct stats *s, const char *name)
{
	for (unsigned int i = 0; i < s->hdr.num_desc; i++)
		if (!strcmp(desc_at(s, i)->name, name))
			return desc_at(s, i);
	return NULL;
}

/* The value of counter @name, or ~0 if there is none. */
static uint64_t stat_get(struct stats *s, const char *name)
{
	struct kvm_stats_desc *d = find_desc(s, name);
	uint64_t v;

	if (!d)
		return ~0ULL;
	TEST_ASSERT(pread(s->fd, &v, 8, s->hdr.data_offset + d->offset) == 8,
		    "pread of %s", name);
	return v;
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/*
 * Read the header and the id with read(), one after the other as the KVM
 * selftests do (so the id must follow the header), the descriptors with
 * pread(); check everything the API promises about them. 9 points.
 */
static void stats_open(struct stats *s, int fd, const char *want_id,
		       const char *what)
{
	bool flags_ok = true, size_ok = true, names_ok = true, place_ok = true;
	uint32_t n;

	memset(s, 0, sizeof(*s));
	s->fd = fd;
	TEST_ASSERT(read(fd, &s->hdr, sizeof(s->hdr)) == sizeof(s->hdr),
		    "%s: read header", what);
	n = s->hdr.num_desc;
	ksft_test_result(s->hdr.flags == 0 && s->hdr.name_size >= 8 && n > 0 &&
			 n < 4096 && s->hdr.name_size < 4096,
			 "%s: header flags 0, name_size %u, num_desc %u\n",
			 what, s->hdr.name_size, n);
	s->desc_size = sizeof(struct kvm_stats_desc) + s->hdr.name_size;

	s->id = calloc(1, s->hdr.name_size + 1);
	TEST_ASSERT(read(fd, s->id, s->hdr.name_size) == s->hdr.name_size,
		    "%s: read id", what);
	ksft_test_result(s->hdr.id_offset == sizeof(s->hdr) &&
			 memchr(s->id, 0, s->hdr.name_size) &&
			 !strcmp(s->id, want_id),
			 "%s: id string \"%s\" right after the header (want \"%s\")\n",
			 what, s->id, want_id);

	s->descs = calloc(n, s->desc_size);
	TEST_ASSERT(pread(fd, s->descs, n * s->desc_size, s->hdr.desc_offset) ==
		    (ssize_t)(n * s->desc_size), "%s: pread descriptors", what);
	for (uint32_t i = 0; i < n; i++) {
		struct kvm_stats_desc *d = desc_at(s, i);
		uint32_t type = d->flags & KVM_STATS_TYPE_MASK;
		uint32_t unit = d->flags & KVM_STATS_UNIT_MASK;

		if (!memchr(d->name, 0, s->hdr.name_size) || !d->name[0]) {
			ksft_print_msg("%s: descriptor %u: name not NUL-terminated or empty",
				       what, i);
			names_ok = false;
			continue;
		}
		for (uint32_t j = 0; j < i; j++) {
			if (!strcmp(desc_at(s, j)->name, d->name)) {
				ksft_print_msg("%s: name %s twice", what, d->name);
				names_ok = false;
			}
		}
		if ((d->flags & ~STATS_FLAGS_KNOWN) ||
		    type > KVM_STATS_TYPE_MAX || unit > KVM_STATS_UNIT_MAX ||
		    (d->flags & KVM_STATS_BASE_MASK) > KVM_STATS_BASE_MAX ||
		    (unit == KVM_STATS_UNIT_SECONDS ? d->exponent > 0 :
		     unit == KVM_STATS_UNIT_BOOLEAN ? d->exponent != 0 :
		     d->exponent < 0) ||
		    (type == KVM_STATS_TYPE_LINEAR_HIST) != !!d->bucket_size) {
			ksft_print_msg("%s: %s: flags 0x%x exponent %d bucket_size %u",
				       what, d->name, d->flags, d->exponent,
				       d->bucket_size);
			flags_ok = false;
		}
		/* The plain types hold one value; histograms have buckets. */
		if (!d->size || (type <= KVM_STATS_TYPE_PEAK && d->size != 1)) {
			ksft_print_msg("%s: %s: size %u", what, d->name, d->size);
			size_ok = false;
		}
		s->data_size += d->size * 8ULL;
	}
	ksft_test_result(names_ok, "%s: %u names NUL-terminated, non-empty, unique\n",
			 what, n);
	ksft_test_result(flags_ok, "%s: flags (type, unit, base), exponent, bucket_size valid\n",
			 what);
	ksft_test_result(size_ok, "%s: sizes >= 1 (1 for counters)\n", what);

	/* Every value inside the data block, 8-aligned, none shared. */
	for (uint32_t i = 0; i < n; i++) {
		struct kvm_stats_desc *d = desc_at(s, i);

		if (d->offset % 8 || d->offset + d->size * 8ULL > s->data_size) {
			ksft_print_msg("%s: %s: offset %u size %u, data is %zu bytes",
				       what, d->name, d->offset, d->size, s->data_size);
			place_ok = false;
		}
		for (uint32_t j = 0; j < i; j++) {
			struct kvm_stats_desc *e = desc_at(s, j);

			if (ranges_overlap(d->offset, d->size * 8ULL,
					   e->offset, e->size * 8ULL)) {
				ksft_print_msg("%s: %s and %s overlap", what,
					       d->name, e->name);
				place_ok = false;
			}
		}
	}
	ksft_test_result(place_ok, "%s: values 8-aligned, inside the data block, disjoint\n",
			 what);

	ksft_test_result(s->hdr.desc_offset % 8 == 0 && s->hdr.data_offset % 8 == 0 &&
			 s->hdr.id_offset % 8 == 0 &&
			 s->hdr.desc_offset >= sizeof(s->hdr) &&
			 s->hdr.data_offset >= sizeof(s->hdr) &&
			 !ranges_overlap(s->hdr.id_offset, s->hdr.name_size,
					 s->hdr.desc_offset, n * s->desc_size) &&
			 !ranges_overlap(s->hdr.id_offset, s->hdr.name_size,
					 s->hdr.data_offset, s->data_size) &&
			 !ranges_overlap(s->hdr.desc_offset, n * s->desc_size,
					 s->hdr.data_offset, s->data_size),
			 "%s: blocks 8-aligned, after the header, disjoint (id %u desc %u data %u)\n",
			 what, s->hdr.id_offset, s->hdr.desc_offset, s->hdr.data_offset);

	/* The data block reads whole; booleans hold 0 or 1. */
	uint64_t *data = calloc(1, s->data_size);
	bool bool_ok = true;

	ksft_test_result(pread(fd, data, s->data_size, s->hdr.data_offset) ==
			 (ssize_t)s->data_size,
			 "%s: data block reads whole (%zu bytes)\n", what, s->data_size);
	for (uint32_t i = 0; i < n; i++) {
		struct kvm_stats_desc *d = desc_at(s, i);

		if (d->offset + 8ULL <= s->data_size &&
		    (d->flags & KVM_STATS_UNIT_MASK) == KVM_STATS_UNIT_BOOLEAN &&
		    (d->flags & KVM_STATS_TYPE_MASK) <= KVM_STATS_TYPE_PEAK &&
		    data[d->offset / 8] > 1) {
			ksft_print_msg("%s: boolean %s is %llu", what, d->name,
				       (unsigned long long)data[d->offset / 8]);
			bool_ok = false;
		}
	}
	ksft_test_result(bool_ok, "%s: boolean values are 0 or 1\n", what);
	free(data);
}

static void stats_close(struct stats *s)
{
	close(s->fd);
	free(s->id);
	free(s->descs);
}

/* Counters with @names exist and have type @type. 1 point. */
static void check_names(struct stats *s, const char *const *names, uint32_t type,
			const char *what)
{
	bool ok = true;

	for (int i = 0; names[i]; i++) {
		struct kvm_stats_desc *d = find_desc(s, names[i]);

		if (!d || (d->flags & KVM_STATS_TYPE_MASK) != type || d->size != 1) {
			ksft_print_msg("%s: %s: %s", what, names[i],
				       d ? "wrong type or size" : "missing");
			ok = false;
		}
	}
	ksft_test_result(ok, "%s: has %s counters %s%s%s...\n", what,
			 type == KVM_STATS_TYPE_INSTANT ? "instant" : "cumulative",
			 names[0], names[1] ? ", " : "", names[1] ? names[1] : "");
}

/*
 * Reads at odd offsets and lengths return the bytes of the file, reads at
 * or past the end return 0. On a vCPU stats fd whose vCPU is not running,
 * so nothing changes between reads. 4 points.
 */
static void check_offsets(struct stats *s)
{
	size_t size = s->hdr.data_offset + s->data_size;
	char *all = calloc(1, size + 64), buf[256];
	static const struct { int64_t off; size_t len; } cuts[] = {
		{ 1, 3 }, { 5, 30 }, { 23, 2 }, { -3, 7 }, { -1, 1 },
	};
	bool ok = true;
	uint64_t bases[3];

	TEST_ASSERT(s->hdr.data_offset > s->hdr.desc_offset &&
		    s->hdr.desc_offset > s->hdr.id_offset, "layout order");
	ksft_test_result(pread(s->fd, all, size + 64, 0) == (ssize_t)size,
			 "vcpu stats: one pread of the whole file returns its %zu bytes\n",
			 size);
	/* Around each block boundary, and at the very end. */
	bases[0] = s->hdr.desc_offset;
	bases[1] = s->hdr.data_offset;
	bases[2] = size;
	for (unsigned int b = 0; b < 4; b++) {
		for (unsigned int i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
			int64_t off = (b < 3 ? (int64_t)bases[b] : 8) + cuts[i].off;
			size_t want = cuts[i].len;
			ssize_t r;

			if (off + want > size)
				want = off < (int64_t)size ? size - off : 0;
			r = pread(s->fd, buf, cuts[i].len, off);
			if (r != (ssize_t)want || memcmp(buf, all + off, want)) {
				ksft_print_msg("pread(%zu bytes at %lld) = %zd, want %zu bytes of the file",
					       cuts[i].len, (long long)off, r, want);
				ok = false;
			}
		}
	}
	ksft_test_result(ok, "vcpu stats: preads at odd offsets and across block ends match\n");
	ksft_test_result(pread(s->fd, buf, 8, size) == 0 &&
			 pread(s->fd, buf, 8, size + 1000) == 0 &&
			 pread(s->fd, buf, 8, 1LL << 40) == 0,
			 "vcpu stats: pread at and past the end returns 0\n");
	ksft_test_result(pread(s->fd, buf, 0, 0) == 0, "vcpu stats: pread of 0 bytes returns 0\n");
	free(all);
}

/* The fd's own errors. 8 points. */
static void check_errors(struct stats *s, struct kvm_vm *vm)
{
	char buf[16] = { 0 };
	void *p;

	CHECK_ERRNO(write(s->fd, buf, 8), EBADF, "stats fd: write -> EBADF");
	/* Measured on kvm_amd: no FMODE_PWRITE, so the VFS says ESPIPE first. */
	CHECK_ERRNO(pwrite(s->fd, buf, 8, s->hdr.data_offset), ESPIPE,
		    "stats fd: pwrite -> ESPIPE");
	CHECK_ERRNO(pread(s->fd, buf, 8, -8), EINVAL,
		    "stats fd: pread at a negative offset -> EINVAL");
	p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(p != MAP_FAILED, "mmap PROT_NONE");
	CHECK_ERRNO(pread(s->fd, p, 8, 0), EFAULT,
		    "stats fd: pread to an inaccessible buffer -> EFAULT");
	munmap(p, 4096);
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, s->fd, 0);
	ksft_test_result(p == MAP_FAILED && errno == ENODEV,
			 "stats fd: mmap -> ENODEV (got %s)\n",
			 p == MAP_FAILED ? strerror(errno) : "a mapping");
	CHECK_ERRNO(ioctl(s->fd, KVM_GET_STATS_FD, 0), ENOTTY,
		    "stats fd: ioctl -> ENOTTY");
	ksft_test_result((fcntl(s->fd, F_GETFL) & O_ACCMODE) == O_RDONLY &&
			 (fcntl(s->fd, F_GETFD) & FD_CLOEXEC),
			 "stats fd: O_RDONLY, close-on-exec\n");
	CHECK_ERRNO(ioctl(vm->kvm_fd, KVM_GET_STATS_FD, 0), EINVAL,
		    "KVM_GET_STATS_FD on /dev/kvm -> EINVAL");
}

/* KVM_GET_STATS_FD from another process -> EIO. 1 point. */
static void check_other_mm(struct kvm_vm *vm)
{
	int status;
	pid_t pid = fork();

	if (!pid) {
		int r = ioctl(vm->fd, KVM_GET_STATS_FD, 0);

		_exit(r == -1 && errno == EIO ? 0 : 1);
	}
	TEST_ASSERT(pid > 0, "fork");
	waitpid(pid, &status, 0);
	ksft_test_result(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			 "KVM_GET_STATS_FD on a VM fd from a forked child -> EIO\n");
}

static void on_alarm(int sig)
{
	(void)sig;
}

int main(void)
{
	static const char *const vm_both[] = { "remote_tlb_flush_requests", NULL };
	static const char *const vm_both_instant[] = { "pages_4k", "pages_2m", NULL };
	static const char *const vcpu_both[] = {
		"exits", "io_exits", "halt_exits", "irq_exits", "signal_exits",
		"pf_taken", "pf_fixed", "tlb_flush", NULL,
	};
	static const char *const vm_ckvm[] = { "memslot_updates", NULL };
	static const char *const vcpu_ckvm[] = {
		"run_ioctls", "cpuid_exits", "msr_exits", NULL,
	};
	struct stats vms, vs, vs1;
	struct kvm_vcpu *v, *v1;
	struct kvm_vm *vm;
	struct ucall uc;
	char id[64];
	uint64_t e0, io0, h0, e1, io1, cpuid1, msr1, runs1;
	int fd, runs = 0, nr_io = 0;
	bool ckvm = is_ckvm(), ok;
	uint64_t d;

	ksft_print_header();
	ksft_set_plan(2 + 3 * 9 + 5 + 4 + 1 + 8 + 1 + 5 + 3 + 3);

	ksft_test_result(kvm_check_cap(KVM_CAP_BINARY_STATS_FD) == 1,
			 "KVM_CAP_BINARY_STATS_FD is 1\n");

	vm = vm_create();
	v = vcpu_add(vm, 0, guest_code);
	v1 = vcpu_add(vm, 1, guest_spin);

	/* Layout (3 x 9 points). */
	fd = ioctl(vm->fd, KVM_GET_STATS_FD, 0);
	ksft_test_result(fd >= 0, "KVM_GET_STATS_FD on the VM fd and vCPU fds\n");
	TEST_ASSERT(fd >= 0, "VM KVM_GET_STATS_FD");
	snprintf(id, sizeof(id), "kvm-%d", getpid());
	stats_open(&vms, fd, id, "vm stats");
	fd = ioctl(v->fd, KVM_GET_STATS_FD, 0);
	TEST_ASSERT(fd >= 0, "vCPU 0 KVM_GET_STATS_FD");
	snprintf(id, sizeof(id), "kvm-%d/vcpu-0", getpid());
	stats_open(&vs, fd, id, "vcpu stats");
	fd = ioctl(v1->fd, KVM_GET_STATS_FD, 0);
	TEST_ASSERT(fd >= 0, "vCPU 1 KVM_GET_STATS_FD");
	snprintf(id, sizeof(id), "kvm-%d/vcpu-1", getpid());
	stats_open(&vs1, fd, id, "vcpu 1 stats");

	/* Names (5 points). */
	check_names(&vms, vm_both, KVM_STATS_TYPE_CUMULATIVE, "vm stats");
	check_names(&vms, vm_both_instant, KVM_STATS_TYPE_INSTANT, "vm stats");
	check_names(&vs, vcpu_both, KVM_STATS_TYPE_CUMULATIVE, "vcpu stats");
	if (ckvm) {
		check_names(&vms, vm_ckvm, KVM_STATS_TYPE_CUMULATIVE, "vm stats");
		check_names(&vs, vcpu_ckvm, KVM_STATS_TYPE_CUMULATIVE, "vcpu stats");
	} else {
		ksft_test_result_skip("vm stats: ckvm's own counters (memslot_updates)\n");
		ksft_test_result_skip("vcpu stats: ckvm's own counters (run_ioctls, cpuid_exits, msr_exits)\n");
	}

	/* Reads anywhere, and the fd's errors (5 + 8 + 1 points). */
	check_offsets(&vs);
	if (ckvm) {
		/*
		 * The API says lseek works; KVM 6.1 has noop_llseek (returns
		 * the position, moves nothing), ckvm really seeks.
		 */
		struct kvm_stats_header h;
		off_t end = lseek(vs.fd, 0, SEEK_END);

		ksft_test_result(end == (off_t)(vs.hdr.data_offset + vs.data_size) &&
				 lseek(vs.fd, 0, SEEK_SET) == 0 &&
				 read(vs.fd, &h, sizeof(h)) == sizeof(h) &&
				 !memcmp(&h, &vs.hdr, sizeof(h)),
				 "ckvm: lseek to the end (%lld) and back, read the header again\n",
				 (long long)end);
	} else {
		ksft_test_result(lseek(vs.fd, 0, SEEK_CUR) >= 0,
				 "KVM: lseek(SEEK_CUR) succeeds (noop_llseek)\n");
	}
	check_errors(&vs, vm);
	check_other_mm(vm);

	/* Counters that follow the guest (5 points). */
	e0 = stat_get(&vs, "exits");
	io0 = stat_get(&vs, "io_exits");
	h0 = stat_get(&vs, "halt_exits");
	for (;;) {
		int r = vcpu_run(v);

		runs++;
		if (r || v->run->exit_reason != KVM_EXIT_IO ||
		    v->run->io.port != OUT_PORT)
			break;
		nr_io++;
	}
	TEST_ASSERT(get_ucall(v, &uc) == UCALL_SYNC && uc.args[0] == 1,
		    "guest reaches SYNC(1) after its OUTs (exit %u)",
		    v->run->exit_reason);
	e1 = stat_get(&vs, "exits");
	io1 = stat_get(&vs, "io_exits");
	ksft_test_result(nr_io == NR_OUTS && io1 - io0 >= NR_OUTS &&
			 e1 - e0 >= io1 - io0,
			 "%d OUT exits: io_exits +%llu, exits +%llu\n", nr_io,
			 (unsigned long long)(io1 - io0),
			 (unsigned long long)(e1 - e0));
	ksft_test_result(stat_get(&vs, "pf_taken") >= 1 &&
			 stat_get(&vs, "pf_fixed") >= 1 &&
			 stat_get(&vms, "pages_4k") + stat_get(&vms, "pages_2m") >= 1,
			 "the guest's first touches: pf_taken %llu, pf_fixed %llu, pages_4k %llu, pages_2m %llu\n",
			 (unsigned long long)stat_get(&vs, "pf_taken"),
			 (unsigned long long)stat_get(&vs, "pf_fixed"),
			 (unsigned long long)stat_get(&vms, "pages_4k"),
			 (unsigned long long)stat_get(&vms, "pages_2m"));

	cpuid1 = stat_get(&vs, "cpuid_exits");
	msr1 = stat_get(&vs, "msr_exits");
	runs1 = stat_get(&vs, "run_ioctls");
	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_SYNC && uc.args[0] == 2,
		    "SYNC(2)");
	runs++;
	cpuid1 = stat_get(&vs, "cpuid_exits") - cpuid1;
	msr1 = stat_get(&vs, "msr_exits") - msr1;
	if (ckvm)
		ksft_test_result(cpuid1 == NR_CPUIDS && msr1 == 1 &&
				 stat_get(&vs, "run_ioctls") == (uint64_t)runs &&
				 runs1 == (uint64_t)runs - 1,
				 "ckvm: %d CPUIDs, 1 RDMSR, %d KVM_RUNs: cpuid_exits +%llu, msr_exits +%llu, run_ioctls %llu\n",
				 NR_CPUIDS, runs, (unsigned long long)cpuid1,
				 (unsigned long long)msr1,
				 (unsigned long long)stat_get(&vs, "run_ioctls"));
	else
		ksft_test_result_skip("ckvm's cpuid_exits, msr_exits, run_ioctls\n");
	ok = vcpu_run(v) == 0 && v->run->exit_reason == KVM_EXIT_HLT;
	d = stat_get(&vs, "halt_exits") - h0;
	ksft_test_result(ok && d == 1, "HLT: KVM_EXIT_HLT, halt_exits +%llu\n",
			 (unsigned long long)d);
	TEST_ASSERT(vcpu_run_ucall(v, &uc) == UCALL_DONE, "DONE");

	/*
	 * A signal while vCPU 1 spins (IF=1: with it even kvm_intel under
	 * Bochs, which cannot leave an IF=0 guest, is interrupted).
	 */
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval it = { .it_value = { .tv_usec = 300000 } };
	uint64_t s0 = stat_get(&vs1, "signal_exits");
	int r;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);	/* no SA_RESTART */
	setitimer(ITIMER_REAL, &it, NULL);
	r = vcpu_run(v1);
	d = stat_get(&vs1, "signal_exits") - s0;
	ksft_test_result(r == -EINTR && v1->run->exit_reason == KVM_EXIT_INTR &&
			 d == 1 && stat_get(&vs1, "irq_exits") >= 1,
			 "signal while the guest spins: -EINTR, signal_exits +%llu, irq_exits %llu\n",
			 (unsigned long long)d,
			 (unsigned long long)stat_get(&vs1, "irq_exits"));

	/* VM-wide: a memslot the guest has used goes away (3 points). */
	if (ckvm) {
		uint64_t m0 = stat_get(&vms, "memslot_updates");
		uint64_t f0 = stat_get(&vms, "remote_tlb_flush_requests");
		uint64_t p0 = stat_get(&vms, "pages_4k") + stat_get(&vms, "pages_2m");

		/* Slot 0 holds everything the guest touched; move it away. */
		TEST_ASSERT(!__vm_set_region(vm, 0, 0, 1ULL << 32, MAIN_MEM_SIZE,
					     addr_gpa2hva(vm, 0)), "move slot 0");
		m0 = stat_get(&vms, "memslot_updates") - m0;
		f0 = stat_get(&vms, "remote_tlb_flush_requests") - f0;
		d = stat_get(&vms, "pages_4k") + stat_get(&vms, "pages_2m");
		ksft_test_result(m0 == 1, "ckvm: moving a slot: memslot_updates +%llu\n",
				 (unsigned long long)m0);
		ksft_test_result(f0 >= 1, "ckvm: ... remote_tlb_flush_requests +%llu\n",
				 (unsigned long long)f0);
		ksft_test_result(p0 >= 1 && d == 0,
				 "ckvm: ... pages_4k + pages_2m %llu -> %llu\n",
				 (unsigned long long)p0, (unsigned long long)d);
	} else {
		for (int i = 0; i < 3; i++)
			ksft_test_result_skip("ckvm: memslot_updates, remote_tlb_flush_requests, pages_* on a slot move\n");
	}

	/* The stats fds outlive the VM and vCPU fds (3 points). */
	e1 = stat_get(&vs, "exits");
	vcpu_free(v);
	vcpu_free(v1);
	kvm_vm_free(vm);
	ksft_test_result(stat_get(&vs, "exits") == e1,
			 "vcpu stats fd after all VM and vCPU fds are closed: exits still %llu\n",
			 (unsigned long long)e1);
	ksft_test_result(stat_get(&vms, "remote_tlb_flush_requests") != ~0ULL &&
			 pread(vms.fd, id, 8, vms.hdr.data_offset) == 8,
			 "vm stats fd still reads after the VM fd is closed\n");
	stats_close(&vs);
	stats_close(&vs1);
	stats_close(&vms);
	ksft_test_result(fcntl(vms.fd, F_GETFD) == -1 && errno == EBADF,
			 "stats fds close\n");
	return ksft_finished();
}
