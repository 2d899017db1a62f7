// SPDX-License-Identifier: GPL-2.0
/*
 * The debugfs view of the statistics, /sys/kernel/debug/kvm, as KVM lays
 * it out and as kvm_stat -d and tools/ckvm_stat read it: one file per
 * counter with the sum over all VMs, and a <pid>-<fd> directory per VM
 * whose files hold that VM's counters (vCPU counters summed over its
 * vCPUs). Checks that a guest's OUT loop shows in both, that they agree
 * with the binary stats fd, that a VM's directory goes with the VM, and
 * that the files cannot be written (ckvm; KVM lets a 0 clear them). And
 * that tools/ckvm_stat, compiled in, reads the same numbers.
 */
#include "ckvm_util.h"

#define CKVM_STAT_NO_MAIN
#include "../../../../ckvm_stat/ckvm_stat.c"

#include <inttypes.h>
#include <sys/stat.h>

#define DEBUGFS_KVM	"/sys/kernel/debug/kvm"
#define NR_OUTS		100
#define OUT_PORT	0x77

static void guest_code(void)
{
	for (int i = 0; i < NR_OUTS; i++)
		outb(OUT_PORT, i);
	GUEST_DONE();
}

static bool read_u64(const char *path, uint64_t *val)
{
	char buf[64] = "";
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 && sscanf(buf, "%" SCNu64, val) == 1;
}

static uint64_t debugfs_val(const char *dir, const char *name)
{
	char path[256];
	uint64_t v;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (!read_u64(path, &v))
		ksft_exit_fail_msg("reading %s: %s", path, strerror(errno));
	return v;
}

/* One counter of a binary stats fd, by name. */
static uint64_t stats_fd_val(int fd, const char *name)
{
	struct kvm_stats_header h;
	size_t dsize;
	char *descs;
	uint64_t v;

	if (pread(fd, &h, sizeof(h), 0) != sizeof(h))
		ksft_exit_fail_msg("stats header: %s", strerror(errno));
	dsize = sizeof(struct kvm_stats_desc) + h.name_size;
	descs = calloc(h.num_desc, dsize);
	if (!descs || pread(fd, descs, h.num_desc * dsize, h.desc_offset) !=
	    (ssize_t)(h.num_desc * dsize))
		ksft_exit_fail_msg("stats descriptors: %s", strerror(errno));
	for (uint32_t i = 0; i < h.num_desc; i++) {
		struct kvm_stats_desc *d = (void *)(descs + i * dsize);

		if (strcmp(d->name, name))
			continue;
		if (pread(fd, &v, 8, h.data_offset + d->offset) != 8)
			ksft_exit_fail_msg("stats value: %s", strerror(errno));
		free(descs);
		return v;
	}
	ksft_exit_fail_msg("no counter %s in the stats fd", name);
}

/*
 * ckvm_stat -1 -p <us>: this VM's numbers; ckvm_stat -1 -f io_exits: only
 * the counters with io_exits in their name (io_exits, mmio_exits), sums.
 */
static void check_ckvm_stat(uint64_t io, uint64_t global)
{
	static struct ckvm_stat s, all;
	uint64_t got = 0, got_all = 0;
	bool only = true;
	char *text = NULL;
	size_t len = 0;
	char want[96];
	FILE *f;
	int r, r_all;

	s.dir = DEBUGFS_KVM;
	s.pid = getpid();
	r = ckvm_stat_collect(&s);
	for (int i = 0; i < s.n; i++)
		if (!strcmp(s.c[i].name, "io_exits"))
			got = s.c[i].value;
	f = open_memstream(&text, &len);
	if (f) {
		ckvm_stat_print_once(&s, f);
		fclose(f);
	}
	snprintf(want, sizeof(want), "\nio_exits%*s%" PRIu64 "\n",
		 32 - (int)strlen("io_exits") + 1, "", io);
	if (r != 1 || got != io || !text || !strstr(text, want))
		ksft_print_msg("ckvm_stat: %d VM(s), %d counters, io_exits %" PRIu64 "; output:\n%s",
			       r, s.n, got, text ? text : "(none)");
	ksft_test_result(r == 1 && got == io && text && strstr(text, want) &&
			 strstr(text, "\nexits "),
			 "ckvm_stat -1 -p %d: 1 VM, io_exits %" PRIu64 "\n", getpid(), io);
	free(text);

	all.dir = DEBUGFS_KVM;
	all.filter = "io_exits";
	r_all = ckvm_stat_collect(&all);
	for (int i = 0; i < all.n; i++) {
		if (!strstr(all.c[i].name, "io_exits"))
			only = false;
		if (!strcmp(all.c[i].name, "io_exits"))
			got_all = all.c[i].value;
	}
	ksft_test_result(r_all == 1 && all.n >= 1 && only && got_all >= global,
			 "ckvm_stat -1 -f io_exits: %d counter(s), io_exits %" PRIu64 " >= %" PRIu64 "\n",
			 all.n, got_all, global);
}

/*
 * A VM whose <pid>-<fd> name is still taken: the VM fd of an older VM is
 * closed, a vCPU fd keeps that VM alive, and the next VM gets the same fd
 * number. KVM looks the name up first and gives the new VM no directory
 * (a ratelimited "duplicate directory" warning); ckvm called
 * debugfs_create_dir() and debugfs logged its error "Directory ... already
 * present!" (kvmfuzz, make fuzz on svm-q10, seed 202612014, whose ioctl
 * programs close fds in random order). The older VM keeps its directory.
 */
static void test_name_taken(void)
{
	struct kvm_vm *a = vm_create_bare();
	int vcpu = ioctl(a->fd, KVM_CREATE_VCPU, 0), old_fd = a->fd, kmsg, vm2;
	char dir[128], line[1024];
	bool seen = false;
	struct stat st;
	ssize_t n;

	TEST_ASSERT(vcpu >= 0, "KVM_CREATE_VCPU");
	kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	TEST_ASSERT(kmsg >= 0, "open /dev/kmsg");
	lseek(kmsg, 0, SEEK_END);
	snprintf(dir, sizeof(dir), DEBUGFS_KVM "/%d-%d", getpid(), old_fd);
	close(a->fd);		/* the VM lives on in its vCPU */
	vm2 = ioctl(a->kvm_fd, KVM_CREATE_VM, 0);
	while ((n = read(kmsg, line, sizeof(line) - 1)) > 0 || (n < 0 && errno == EPIPE)) {
		if (n <= 0)
			continue;
		line[n] = 0;
		if (strstr(line, "already present")) {
			ksft_print_msg("kernel: %s", line);
			seen = true;
		}
	}
	ksft_test_result(vm2 == old_fd && !seen && !stat(dir, &st),
			 "a new VM on a live VM's fd number (%d, was %d): no debugfs error, the old directory stays\n",
			 vm2, old_fd);
	close(kmsg);
	close(vm2);
	close(vcpu);
	close(a->kvm_fd);
	free(a);
}

int main(void)
{
	uint64_t g0, g1, io, exits, fd_io;
	struct kvm_vcpu *v;
	struct kvm_vm *vm;
	struct ucall uc;
	char dir[128];
	struct stat st;
	int sfd, r, i;

	ksft_print_header();
	close(kvm_open());
	if (stat(DEBUGFS_KVM "/io_exits", &st))
		ksft_exit_skip(DEBUGFS_KVM "/io_exits: %s (debugfs not mounted?)",
			       strerror(errno));
	ksft_set_plan(11);

	g0 = debugfs_val(DEBUGFS_KVM, "io_exits");
	vm = vm_create();
	snprintf(dir, sizeof(dir), DEBUGFS_KVM "/%d-%d", getpid(), vm->fd);
	ksft_test_result(!stat(dir, &st) && S_ISDIR(st.st_mode),
			 "VM directory <pid>-<fd> exists\n");
	ksft_test_result(debugfs_val(dir, "io_exits") == 0 &&
			 debugfs_val(dir, "exits") == 0,
			 "a new VM's counters are 0\n");

	v = vcpu_add(vm, 0, guest_code);
	for (i = 0; i < NR_OUTS; i++) {
		r = vcpu_run(v);
		if (r || v->run->exit_reason != KVM_EXIT_IO ||
		    v->run->io.port != OUT_PORT)
			break;
	}
	r = vcpu_run_ucall(v, &uc);
	ksft_test_result(i == NR_OUTS && r == UCALL_DONE, "guest ran its %d OUTs\n",
			 NR_OUTS);

	io = debugfs_val(dir, "io_exits");
	exits = debugfs_val(dir, "exits");
	sfd = ioctl(v->fd, KVM_GET_STATS_FD, 0);
	fd_io = sfd >= 0 ? stats_fd_val(sfd, "io_exits") : 0;
	ksft_test_result(io >= NR_OUTS && io <= NR_OUTS + 2 && exits >= io,
			 "VM io_exits %" PRIu64 " (%d OUTs + the ucall), exits %" PRIu64 "\n",
			 io, NR_OUTS, exits);
	ksft_test_result(sfd >= 0 && fd_io == io,
			 "debugfs io_exits = the vCPU stats fd's (%" PRIu64 ")\n", fd_io);
	g1 = debugfs_val(DEBUGFS_KVM, "io_exits");
	check_ckvm_stat(io, g1);
	ksft_test_result(g1 >= g0 + io, "global io_exits grew by >= %" PRIu64 " (%" PRIu64 " -> %" PRIu64 ")\n",
			 io, g0, g1);

	if (is_ckvm()) {
		char path[256];
		int fd;

		snprintf(path, sizeof(path), "%s/io_exits", dir);
		fd = open(path, O_WRONLY);
		r = fd < 0 ? -errno : (write(fd, "0", 1) < 0 ? -errno : 0);
		if (fd >= 0)
			close(fd);
		ksft_test_result(r < 0 && debugfs_val(dir, "io_exits") == io,
				 "writing a counter fails (%s), value kept\n", strerror(-r));
	} else {
		ksft_test_result_skip("read-only counters: KVM lets a write of 0 clear them\n");
	}

	if (sfd >= 0)
		close(sfd);
	vcpu_free(v);
	kvm_vm_free(vm);
	ksft_test_result(stat(dir, &st) && errno == ENOENT,
			 "VM directory gone with the VM\n");
	test_name_taken();
	return ksft_finished();
}
