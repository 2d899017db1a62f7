// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_life.c: the lifecycle stress: create/destroy cycles with running
 * vCPUs, SIGKILL in the middle of KVM_RUN, memslot updates and irqchip
 * ioctls, close() racing KVM_RUN, the maximum of vCPUs and memslots, the
 * OOM guest; then the module's references, pinned pages, slabs and memory
 * are checked (run_life()).
 */
#include "kvmfuzz.h"

/* ------------------------------------------------------------ lifecycle */
/* Everything a lifecycle step leaves behind that should come back. */
struct snapshot {
	long refcnt;		/* /sys/module/<kvm module>/refcnt */
	long pin_acq, pin_rel;	/* /proc/vmstat nr_foll_pin_* */
	long slab;		/* active objects of the module's caches */
	long slab_tol;		/* how much of that per-CPU slabs may hide */
	long free_kb;		/* MemFree after dropping the caches */
	long unrecl_kb;		/* SUnreclaim */
};

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static long file_field(const char *path, const char *key)
{
	char line[512];
	FILE *f = fopen(path, "r");
	long v = -1;
	size_t kl = strlen(key);

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && (line[kl] == ' ' || line[kl] == ':')) {
			v = strtol(line + kl + 1 + strspn(line + kl + 1, " :"), NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static const char *kvm_module(void)
{
	static const char *const mods[] = { "ckvm", "kvm_amd", "kvm_intel" };
	static char path[64];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(mods); i++) {
		snprintf(path, sizeof(path), "/sys/module/%s/refcnt", mods[i]);
		if (access(path, R_OK) == 0)
			return mods[i];
	}
	return NULL;
}

static void snap(struct snapshot *s)
{
	const char *m = kvm_module();
	char path[128], line[512];
	FILE *f;

	memset(s, 0, sizeof(*s));
	s->refcnt = -1;
	if (m) {
		snprintf(path, sizeof(path), "/sys/module/%s/refcnt", m);
		s->refcnt = read_long(path);
	}
	s->pin_acq = file_field("/proc/vmstat", "nr_foll_pin_acquired");
	s->pin_rel = file_field("/proc/vmstat", "nr_foll_pin_released");
	{
		int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);

		if (fd >= 0) {
			/* Best effort: without it, free memory is only noisier. */
			if (write(fd, "3", 1) < 0)
				perror("# drop_caches");
			close(fd);
		}
	}
	s->free_kb = file_field("/proc/meminfo", "MemFree");
	s->unrecl_kb = file_field("/proc/meminfo", "SUnreclaim");
	/*
	 * Shrink the module's caches first: that gives back the per-CPU
	 * slabs' free objects and, on a KASAN kernel, frees what its
	 * quarantine still holds of them (kmem_cache_shrink()), which would
	 * count as active: only objects still allocated remain.
	 */
	f = fopen("/proc/slabinfo", "r");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			char name[64];
			int fd;

			if (sscanf(line, "%63s", name) != 1 ||
			    (strncmp(name, "ckvm", 4) && strncmp(name, "kvm", 3)))
				continue;
			snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink", name);
			fd = open(path, O_WRONLY);
			if (fd >= 0) {
				if (write(fd, "1", 1) < 0)
					perror("# slab shrink");
				close(fd);
			}
		}
		fclose(f);
	}
	f = fopen("/proc/slabinfo", "r");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			char name[64];
			long active, num, size, perslab;

			if (sscanf(line, "%63s %ld %ld %ld %ld", name, &active, &num, &size,
				   &perslab) == 5 &&
			    (!strncmp(name, "ckvm", 4) || !strncmp(name, "kvm", 3))) {
				s->slab += active;
				/*
				 * SLUB counts the free objects of the per-CPU
				 * slabs as active: two slabs per CPU of noise.
				 */
				s->slab_tol += perslab * 2 * sysconf(_SC_NPROCESSORS_ONLN);
			}
		}
		fclose(f);
	}
}

static int life_fail;

static void life_result(int ok, const char *fmt, ...)
{
	static uint64_t last;
	uint64_t now = fz_now_ns();
	va_list ap;

	printf("# life: %s (%.1f s): ", ok ? "ok" : "FAIL", last ? (now - last) / 1e9 : 0.0);
	last = now;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!ok) {
		life_fail++;
		failures++;
	}
	fflush(stdout);
}

/* A VM with one 2 MiB slot at 0 and n vCPUs spinning (jmp $) in real mode at 0x1000. */
struct lvm {
	int kvm, vm, n;
	int vcpu[1024];
	struct kvm_run *run[1024];
	uint8_t *mem;
};

/*
 * life_max's time caps: at these times (fz_now_ns(), 0 = none) lvm_create()
 * stops adding memslots, then vCPUs, and records how many slots it made.
 */
static uint64_t lvm_slots_deadline, lvm_vcpus_deadline;
static int lvm_slots_made;

static int lvm_create(struct lvm *v, int nvcpu, int irqchip, int slots)
{
	struct kvm_userspace_memory_region mr = { 0 };
	long rs;
	int i;

	memset(v, 0, sizeof(*v));
	v->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (v->kvm < 0)
		return -1;
	v->vm = ioctl(v->kvm, KVM_CREATE_VM, 0);
	if (v->vm < 0)
		return -1;
	rs = ioctl(v->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	v->mem = mmap(NULL, 0x200000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (v->mem == MAP_FAILED)
		return -1;
	v->mem[0x1000] = 0xeb;		/* jmp $ */
	v->mem[0x1001] = 0xfe;
	lvm_slots_made = 0;
	for (i = 0; i < (slots ? slots : 1); i++) {
		if (i && lvm_slots_deadline && fz_now_ns() > lvm_slots_deadline)
			break;
		lvm_slots_made = i + 1;
		mr.slot = i;
		mr.guest_phys_addr = i ? 0x10000000ull + (uint64_t)i * 0x1000 : 0;
		mr.memory_size = i ? 0x1000 : 0x200000;
		mr.userspace_addr = (uint64_t)(uintptr_t)v->mem;
		if (ioctl(v->vm, KVM_SET_USER_MEMORY_REGION, &mr) < 0)
			return i ? i : -1;
	}
	if (irqchip)
		ioctl(v->vm, KVM_CREATE_IRQCHIP, 0);
	for (i = 0; i < nvcpu; i++) {
		struct kvm_sregs s;
		struct kvm_regs r = { .rip = 0x1000, .rflags = 2 };
		int fd;

		if (i && lvm_vcpus_deadline && fz_now_ns() > lvm_vcpus_deadline)
			break;
		fd = ioctl(v->vm, KVM_CREATE_VCPU, i);
		if (fd < 0)
			break;
		v->vcpu[v->n] = fd;
		v->run[v->n] = mmap(NULL, rs, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		v->n++;
		if (ioctl(fd, KVM_GET_SREGS, &s) == 0) {
			s.cs.base = 0;
			s.cs.selector = 0;
			ioctl(fd, KVM_SET_SREGS, &s);
		}
		ioctl(fd, KVM_SET_REGS, &r);
	}
	return 0;
}

static void lvm_destroy(struct lvm *v, long rs)
{
	int i;

	for (i = 0; i < v->n; i++) {
		if (v->run[i] && v->run[i] != MAP_FAILED)
			munmap(v->run[i], rs);
		close(v->vcpu[i]);
	}
	if (v->mem && v->mem != MAP_FAILED)
		munmap(v->mem, 0x200000);
	close(v->vm);
	close(v->kvm);
}

struct spinner {
	pthread_t th;
	int fd;
	volatile int stop;
	volatile long runs;
};

static void *spin_thread(void *a)
{
	struct spinner *s = a;

	while (!s->stop) {
		ioctl(s->fd, KVM_RUN, 0);
		s->runs++;
	}
	return NULL;
}

static int join_spinners(struct spinner *s, int n)
{
	uint64_t t0 = fz_now_ns();
	int i, left;

	for (i = 0; i < n; i++)
		s[i].stop = 1;
	do {
		left = 0;
		for (i = 0; i < n; i++) {
			if (s[i].fd < -1)
				continue;
			if (pthread_tryjoin_np(s[i].th, NULL) == 0) {
				s[i].fd = -2;
				continue;
			}
			pthread_kill(s[i].th, SIGUSR1);
			left++;
		}
		if (left)
			usleep(1000);
	} while (left && fz_now_ns() - t0 < FZ_HANG_SECONDS * 1000000000ull);
	return left;
}

/*
 * make fuzz's time split of the lifecycle stress: each step stops at its
 * deadline (fz_now_ns(); 0 = none, make check's slice) and says so.
 */
static uint64_t step_deadline(uint64_t budget_ns, int share, int of)
{
	return budget_ns ? fz_now_ns() + budget_ns / of * share : 0;
}

static int past(uint64_t deadline)
{
	return deadline && fz_now_ns() > deadline;
}

/* 1. Create and destroy VMs with running vCPUs, closing in a random order. */
static void life_cycles(struct rng *r, int cycles, long rs, uint64_t deadline)
{
	int c, stuck = 0, errors = 0;

	for (c = 0; c < cycles && !stuck && !past(deadline); c++) {
		struct lvm v;
		struct spinner sp[4];
		int n = 1 + rnd(r, 4), i;

		if (lvm_create(&v, n, chance(r, 50), 1) < 0) {
			errors++;
			lvm_destroy(&v, rs);
			continue;
		}
		for (i = 0; i < v.n; i++) {
			sp[i] = (struct spinner){ .fd = v.vcpu[i] };
			pthread_create(&sp[i].th, NULL, spin_thread, &sp[i]);
		}
		usleep(rnd(r, 3000));
		/* The VM fd first, the vCPUs' later, or the other way. */
		if (chance(r, 50)) {
			close(v.vm);
			v.vm = -1;
		}
		stuck = join_spinners(sp, v.n);
		lvm_destroy(&v, rs);
	}
	life_result(!stuck && errors == 0,
		    "%d of %d create/destroy cycles with running vCPUs (%d set-up errors)%s",
		    c, cycles, errors, c < cycles && !stuck ? ": stopped at the time cap" : "");
}

/* 2. SIGKILL of a VMM in the middle of KVM_RUN, a memslot update, an irqchip ioctl. */
static void life_sigkill(struct rng *r, int rounds, uint64_t budget_ns)
{
	static const char *const what[] = { "KVM_RUN", "memslot updates", "irqchip ioctls" };
	int w, i, bad = 0;

	for (w = 0; w < 3; w++) {
		uint64_t deadline = step_deadline(budget_ns, 1, 3);

		for (i = 0; i < rounds && !past(deadline); i++) {
			pid_t pid = fork();
			int status;
			uint64_t t0;

			if (pid == 0) {
				struct lvm v;
				struct kvm_userspace_memory_region mr = { .slot = 1,
					.guest_phys_addr = 0x400000, .memory_size = 0x10000 };
				struct kvm_irq_level irq = { 0 };
				struct kvm_irqchip chip = { 0 };
				long k;

				if (lvm_create(&v, 2, 1, 1) < 0)
					_exit(2);
				mr.userspace_addr = (uint64_t)(uintptr_t)v.mem;
				for (k = 0;; k++) {
					switch (w) {
					case 0:
						ioctl(v.vcpu[k & 1], KVM_RUN, 0);
						break;
					case 1:
						mr.memory_size = (k & 1) ? 0 : 0x10000;
						mr.flags = (k & 2) ? KVM_MEM_LOG_DIRTY_PAGES : 0;
						ioctl(v.vm, KVM_SET_USER_MEMORY_REGION, &mr);
						break;
					case 2:
						irq.irq = k % 24;
						irq.level = k & 1;
						ioctl(v.vm, KVM_IRQ_LINE, &irq);
						chip.chip_id = KVM_IRQCHIP_IOAPIC;
						if (ioctl(v.vm, KVM_GET_IRQCHIP, &chip) == 0)
							ioctl(v.vm, KVM_SET_IRQCHIP, &chip);
						break;
					}
				}
			}
			usleep(2000 + rnd(r, 30000));
			kill(pid, SIGKILL);
			t0 = fz_now_ns();
			while (waitpid(pid, &status, WNOHANG) != pid) {
				if (fz_now_ns() - t0 > FZ_HANG_SECONDS * 1000000000ull) {
					bad++;
					break;
				}
				usleep(1000);
			}
		}
		life_result(bad == 0, "SIGKILL during %s x%d%s", what[w], i,
			    i < rounds && !bad ? ": stopped at the time cap" : "");
		if (bad)
			return;
	}
}

/* 3. vCPU threads in KVM_RUN while the VM fd (and the vCPU fds) are closed. */
static void life_close_race(struct rng *r, int rounds, long rs, uint64_t deadline)
{
	int i, stuck = 0;

	for (i = 0; i < rounds && !stuck && !past(deadline); i++) {
		struct lvm v;
		struct spinner sp[2];
		int k;

		if (lvm_create(&v, 2, 1, 1) < 0) {
			lvm_destroy(&v, rs);
			continue;
		}
		for (k = 0; k < v.n; k++) {
			sp[k] = (struct spinner){ .fd = v.vcpu[k] };
			pthread_create(&sp[k].th, NULL, spin_thread, &sp[k]);
		}
		usleep(rnd(r, 2000));
		close(v.vm);
		v.vm = -1;
		if (chance(r, 50)) {
			close(v.vcpu[0]);
			v.vcpu[0] = -1;
		}
		usleep(rnd(r, 2000));
		stuck = join_spinners(sp, v.n);
		lvm_destroy(&v, rs);
	}
	life_result(!stuck, "close() of the VM fd racing KVM_RUN x%d%s", i,
		    i < rounds && !stuck ? ": stopped at the time cap" : "");
}

/* 4. The most vCPUs and memslots the module reports, at once, running. */
static void life_max(long rs, int vcpus_cap, int slots_cap, uint64_t deadline)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int maxv = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	int maxs = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	struct spinner *sp;
	struct lvm *v = calloc(1, sizeof(*v));
	int i, stuck, slots;
	struct rlimit rl = { 4096, 4096 };
	uint64_t t0, t1, t2;
	char slot_err[40] = "";
	int capped;

	close(kvm);
	setrlimit(RLIMIT_NOFILE, &rl);
	if (maxv > 1024)
		maxv = 1024;
	if (maxs > 32764)
		maxs = 32764;
	/*
	 * Each memslot update waits for an SRCU grace period: 32764 of them
	 * take minutes under the emulators, and so do the 1024 vCPU threads
	 * of the distro's KVM (make check's slice stops at vcpus_cap and
	 * slots_cap; make fuzz goes to the maximum).
	 */
	if (vcpus_cap && maxv > vcpus_cap)
		maxv = vcpus_cap;
	if (slots_cap && maxs > slots_cap)
		maxs = slots_cap;
	/*
	 * And on the debug kernel they take minutes even on QEMU (32764 took
	 * 505 s there: each update copies the slot array), so make fuzz
	 * stops adding them at half its time and the vCPUs at its deadline,
	 * and says how far it got. Each phase's time is printed: under Bochs
	 * this step once took 1866 s of a 30-minute run, and which phase
	 * took it was not known.
	 */
	t0 = fz_now_ns();
	lvm_slots_deadline = deadline ? t0 + (deadline - t0) / 2 : 0;
	lvm_vcpus_deadline = deadline;
	slots = lvm_create(v, maxv, 0, maxs);
	lvm_slots_deadline = 0;
	lvm_vcpus_deadline = 0;
	t1 = fz_now_ns();
	sp = calloc(v->n ? v->n : 1, sizeof(*sp));
	for (i = 0; i < v->n; i++) {
		sp[i] = (struct spinner){ .fd = v->vcpu[i] };
		pthread_create(&sp[i].th, NULL, spin_thread, &sp[i]);
	}
	usleep(200000);
	stuck = join_spinners(sp, v->n);
	t2 = fz_now_ns();
	/* Fewer vCPUs than asked for is a failure unless the time cap came first. */
	capped = v->n < maxv && v->n > 0 && deadline && t1 > deadline;
	if (slots)
		snprintf(slot_err, sizeof(slot_err), "memslot error %d; ", slots);
	life_result((v->n == maxv || capped) && slots == 0 && !stuck,
		    "%d of %d vCPUs and %d of %d memslots at once, running (%screated in %llu s, ran and stopped in %llu s)%s",
		    v->n, maxv, lvm_slots_made, maxs, slot_err,
		    (unsigned long long)((t1 - t0) / 1000000000ull),
		    (unsigned long long)((t2 - t1) / 1000000000ull),
		    capped || (lvm_slots_made < maxs && !slots) ? ": stopped at the time cap" : "");
	lvm_destroy(v, rs);
	life_result(1, "  their teardown took %llu s",
		    (unsigned long long)((fz_now_ns() - t2) / 1000000000ull));
	free(sp);
	free(v);
}

/* 5. A guest that touches more memory than the machine has: the VMM dies, the host does not. */
static void life_oom(uint64_t deadline)
{
	long total_kb = file_field("/proc/meminfo", "MemTotal");
	long oom_kills = file_field("/proc/vmstat", "oom_kill");
	int capped = 0;
	uint64_t size = ((uint64_t)total_kb * 1024 + (512ull << 20)) & ~0x3fffffull;
	pid_t pid;
	int status = 0;
	uint64_t t0;

	if (size > 0xc0000000ull)
		size = 0xc0000000ull;	/* below 3 GiB: 32-bit flat addressing */
	if ((uint64_t)total_kb * 1024 >= size) {
		life_result(1, "OOM: skipped, %ld KiB of memory is more than a 32-bit guest reaches",
			    total_kb);
		return;
	}
	kmsg_mark("kvmfuzz: expected OOM begin");
	pid = fork();
	if (pid == 0) {
		/* 32-bit flat protected mode: write one dword per page up to size. */
		static const uint8_t code[] = {
			0xb8, 0x00, 0x00, 0x10, 0x00,	/* mov eax, 0x100000 */
			0x89, 0x00,			/* L: mov [eax], eax */
			0x05, 0x00, 0x10, 0x00, 0x00,	/* add eax, 0x1000 */
			0x3d, 0, 0, 0, 0,		/* cmp eax, size */
			0x72, 0xf2,			/* jb L */
			0xf4,				/* hlt */
		};
		int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
		int vm = ioctl(kvm, KVM_CREATE_VM, 0), vcpu;
		uint8_t *mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		struct kvm_userspace_memory_region mr = { .slot = 0, .memory_size = size,
			.userspace_addr = (uint64_t)(uintptr_t)mem };
		struct kvm_sregs s;
		struct kvm_regs regs = { .rip = 0x1000, .rflags = 2 };
		uint32_t lim = (uint32_t)size;

		if (mem == MAP_FAILED || ioctl(vm, KVM_SET_USER_MEMORY_REGION, &mr) < 0)
			_exit(2);
		memcpy(mem + 0x1000, code, sizeof(code));
		memcpy(mem + 0x1000 + 13, &lim, 4);
		vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
		ioctl(vcpu, KVM_GET_SREGS, &s);
		s.cr0 |= 1;
		seg(&s.cs, 8, 0xb, 0, 1, 0, 0, 0xffffffff, 1);
		seg(&s.ds, 16, 3, 0, 1, 0, 0, 0xffffffff, 1);
		s.es = s.ss = s.fs = s.gs = s.ds;
		ioctl(vcpu, KVM_SET_SREGS, &s);
		ioctl(vcpu, KVM_SET_REGS, &regs);
		/* Be the OOM killer's first choice. */
		{
			int fd = open("/proc/self/oom_score_adj", O_WRONLY);

			if (fd >= 0) {
				if (write(fd, "1000", 4) < 0)
					_exit(2);
				close(fd);
			}
		}
		for (;;)
			if (ioctl(vcpu, KVM_RUN, 0) < 0 && errno != EINTR)
				_exit(3);
	}
	/* At most 300 s, and not past the lifecycle's share of make fuzz's budget. */
	t0 = fz_now_ns();
	if (!deadline || deadline > t0 + 300 * 1000000000ull)
		deadline = t0 + 300 * 1000000000ull;
	while (waitpid(pid, &status, WNOHANG) != pid) {
		if (fz_now_ns() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			capped = 1;
			break;
		}
		usleep(10000);
	}
	sleep(1);
	kmsg_check(NULL, 0, 0);		/* the OOM killer's report: asked for */
	kmsg_mark("kvmfuzz: expected OOM end");
	/* The host goes on: a new VM runs. */
	{
		struct lvm v;
		int ok = lvm_create(&v, 1, 0, 1) == 0;
		long rs = 4096;

		if (ok) {
			rs = ioctl(v.kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
			v.run[0]->immediate_exit = 1;
			ok = ioctl(v.vcpu[0], KVM_RUN, 0) < 0 && errno == EINTR;
		}
		lvm_destroy(&v, rs);
		/*
		 * The OOM killer's own count says who killed the VMM: a VMM
		 * still filling memory at the time cap was killed here, which
		 * is no failure (the emulator is slow) but is said.
		 */
		oom_kills = file_field("/proc/vmstat", "oom_kill") - oom_kills;
		life_result(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && ok,
			    "OOM: a guest touching %llu MiB (machine %ld MiB): VMM status %#x "
			    "(killed: %s), a new VM afterwards: %s", (unsigned long long)(size >> 20),
			    total_kb / 1024, status,
			    !WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL ? "no" :
			    capped ? "by kvmfuzz at the time cap, before the OOM killer" :
			    oom_kills > 0 ? "by the OOM killer" : "yes",
			    ok ? "runs" : "FAILS");
	}
}

/*
 * The vCPU cap of the step with the most vCPUs (0: the module's maximum,
 * make fuzz under QEMU; 64: make check's slice). Under Bochs
 * (ckvm_emulator=bochs-*, from the harness) kvm_intel took 88 s for the
 * 20 create/destroy cycles (2 s under QEMU) and its 64-vCPU step stalled
 * the machine (RCU stalls) on loaded cores, and on the debug kernel ckvm's
 * 64 vCPUs took 1866 s of a 30-minute make fuzz: both do 16 there.
 */
int life_vcpus_cap;

/**
 * run_life() - the lifecycle stress, then the checks that everything came back
 * @o:         the options (o->slice: make check's short fixed slice)
 * @cycles:    create/destroy cycles to run
 * @budget_s:  seconds the whole stress may take (0: no time caps, the
 *             slice). Split between the steps: cycles 3/20, the SIGKILLs
 *             1/10, the close races 1/20, the most vCPUs and memslots 1/5,
 *             the OOM guest what is left (at most 300 s); a step at its
 *             cap stops and says so.
 *
 * Return: the number of failed checks.
 */
int run_life(const struct opts *o, int cycles, int budget_s)
{
	uint64_t budget = (uint64_t)budget_s * 1000000000ull, life_end;
	struct snapshot before, after;
	struct rng r = { prog_seed(o->seed, "life", 0) };
	long rs;
	int kvm;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return 0;
	rs = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	close(kvm);
	snap(&before);
	kmsg_check(NULL, 0, 0);
	life_end = budget ? fz_now_ns() + budget : 0;
	life_result(1, "start (time budget %d s)", budget_s);
	life_cycles(&r, cycles, rs, step_deadline(budget, 3, 20));
	life_sigkill(&r, o->slice ? 3 : 30, budget / 10);
	life_close_race(&r, o->slice ? 20 : 200, rs, step_deadline(budget, 1, 20));
	life_max(rs, life_vcpus_cap, o->slice ? 256 : 0, step_deadline(budget, 1, 5));
	{
		char sig[256];

		if (kmsg_check(sig, sizeof(sig), 1))
			life_result(0, "the kernel reported: %s", sig);
	}
	/*
	 * Filling the machine takes minutes (295-550 s on the debug kernel
	 * under QEMU): only with a lifecycle budget of 8 minutes or more
	 * (make fuzz's default gives it 12), with what the steps before left.
	 */
	if (!o->slice && budget_s >= 480)
		life_oom(life_end);
	else if (!o->slice)
		life_result(1, "OOM: skipped, it takes minutes: a lifecycle budget of 480 s or more runs it");
	/* Everything is closed: give the deferred frees (RCU, workqueues) a moment. */
	usleep(500000);
	snap(&after);
	life_result(after.refcnt == before.refcnt,
		    "module references back: %ld -> %ld", before.refcnt, after.refcnt);
	life_result(after.pin_acq - before.pin_acq == after.pin_rel - before.pin_rel,
		    "pinned pages released: %ld acquired, %ld released",
		    after.pin_acq - before.pin_acq, after.pin_rel - before.pin_rel);
	if (!before.slab && !after.slab)
		life_result(1, "kvm slab objects: no kvm* or ckvm* slab cache (%s)",
			    "ckvm allocates with kmalloc: see unreclaimable slab");
	else
		life_result(after.slab - before.slab <= after.slab_tol,
			    "kvm slab objects back (per-CPU slab tolerance %ld): %ld -> %ld",
			    after.slab_tol, before.slab, after.slab);
	/*
	 * KASAN (the debug kernel: check.sh puts kasan_multi_shot on its
	 * command line) holds freed objects in its quarantine, up to 1/32 of
	 * memory, before they return to the slab: that much more is not a
	 * leak. kmemleak, which /init scans after the module is unloaded,
	 * is the leak check there.
	 */
	{
		long kasan = 0;
		char cmdline[4096] = "";
		FILE *cf = fopen("/proc/cmdline", "r");

		if (cf) {
			if (!fgets(cmdline, sizeof(cmdline), cf))
				cmdline[0] = 0;
			fclose(cf);
		}
		if (strstr(cmdline, "kasan"))
			kasan = file_field("/proc/meminfo", "MemTotal") / 32;
		life_result(before.free_kb - after.free_kb < 64 * 1024 + kasan,
			    "free memory back (%ld MiB tolerance%s): %ld -> %ld KiB",
			    (64 * 1024 + kasan) / 1024, kasan ? ", KASAN quarantine" : "",
			    before.free_kb, after.free_kb);
		life_result(after.unrecl_kb - before.unrecl_kb < 16 * 1024 + kasan,
			    "unreclaimable slab back (%ld MiB tolerance%s): %ld -> %ld KiB",
			    (16 * 1024 + kasan) / 1024, kasan ? ", KASAN quarantine" : "",
			    before.unrecl_kb, after.unrecl_kb);
	}
	{
		char sig[256];

		if (kmsg_check(sig, sizeof(sig), 1))
			life_result(0, "the kernel reported: %s", sig);
	}
	return life_fail;
}
