/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fuzz_exec.h: the interpreter of the ckvm fuzzer's call sequences.
 *
 * A program is an array of struct fz_op. Each op is complete in itself:
 * the argument bytes, which object (kvm/VM/vCPU fd, mapping, eventfd) it
 * acts on, by index into the tables of objects the program has created so
 * far (taken modulo their number, so an op whose object a reduction removed
 * acts on another one or is skipped), and fix-ups that put a live pointer
 * or fd into the argument. Nothing is drawn at random here: the generator
 * (fuzz_ioctl.c, fuzz_guest.c) draws, this file only executes, so a program runs the same
 * way in the fuzzer, in its reducer and in a reproducer, which is a
 * standalone C program made of this header, an array of ops and main()
 * (the regression tests in tools/testing/selftests/ckvm/tests/fuzz_*).
 *
 * Threads: OP_RUN_START starts a thread that loops KVM_RUN on a vCPU
 * until OP_RUN_STOP or the end; the main thread goes on with the next
 * ops meanwhile (memslots, registers, close(), fork()). Every KVM_RUN is
 * bounded: the runner is kicked with SIGUSR1 (a no-op handler, so the
 * ioctl returns -EINTR) and, inline, by an interval timer. A KVM_RUN or any
 * other call that does not return FZ_HANG_SECONDS after it was kicked is a
 * hang: fz_watchdog() reports the op and exits with FZ_EXIT_HANG.
 */
#ifndef FUZZ_EXEC_H
#define FUZZ_EXEC_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <dirent.h>
#include <linux/kvm.h>

/*
 * Where a hung call waits: every thread's kernel stack (/proc/self/task/
 * TID/stack, root only), printed with the hang report.
 */
static void fz_dump_stacks(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	char path[300], buf[4096];

	if (!d)
		return;
	while ((e = readdir(d))) {
		ssize_t n;
		int fd;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/stack", e->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = 0;
		fprintf(stderr, "fuzz: thread %s kernel stack:\n%s", e->d_name, buf);
	}
	closedir(d);
}


enum fz_op_kind {
	OP_OPEN_KVM,		/* open /dev/kvm */
	OP_CREATE_VM,		/* KVM_CREATE_VM on kvm[tidx], type = val */
	OP_CREATE_VCPU,		/* KVM_CREATE_VCPU on vm[tidx], id = val; mmap run */
	OP_MAP,			/* mmap: flags = FZ_MAP_*, val = bytes */
	OP_IOCTL,		/* ioctl(target[tidx], nr, arg) */
	OP_RUN,			/* KVM_RUN vcpu[tidx] inline for val ms */
	OP_RUN_START,		/* thread loops KVM_RUN on vcpu[tidx] */
	OP_RUN_STOP,		/* stop that thread */
	OP_CLOSE,		/* close(target[tidx]) */
	OP_FORK,		/* child: the op's ioctl on inherited fds, KVM_RUN, exit */
	OP_WRITE_MEM,		/* copy bytes into map[tidx] at val */
	OP_MPROTECT,		/* map[tidx]: flags = PROT_*, val = offset, nr = len */
	OP_MUNMAP,		/* map[tidx]: munmap [val, val + nr) */
	OP_EVENTFD,		/* eventfd(0, flags) */
	OP_SLEEP,		/* usleep(val) */
	OP_CPUID_HOST,		/* KVM_SET_CPUID2 of vcpu[tidx] = KVM_GET_SUPPORTED_CPUID */
	OP_NR_KINDS
};

/* The objects an op can name (fz_op.target). */
enum fz_target {
	T_KVM, T_VM, T_VCPU, T_MAP, T_EVENTFD, T_OTHER, T_NONE, T_NR
};

#define FZ_MAP_ANON	0x01	/* MAP_PRIVATE|MAP_ANONYMOUS, read-write */
#define FZ_MAP_SHARED	0x02	/* MAP_SHARED|MAP_ANONYMOUS */
#define FZ_MAP_RO	0x04	/* then PROT_READ only */
#define FZ_MAP_HOLE	0x08	/* mapped, then unmapped: an address with nothing */
#define FZ_MAP_NORESERVE 0x10

/* fz_op.flags of OP_IOCTL: the argument ends val bytes before a PROT_NONE page. */
#define FZ_ARG_TAIL	0x100
/* fz_op.flags of OP_RUN: the run must end with exit reason nr (reproducers, guests). */
#define FZ_RUN_EXPECT	0x200

/* Argument base (fz_op.base). */
enum { BASE_NONE, BASE_INT, BASE_BYTES, BASE_ZERO, BASE_GET, BASE_BADPTR };

/* Fix-ups (fz_fix.kind): write a live value at fz_fix.off of the argument. */
enum {
	FIX_MAP_PTR,		/* u64: address of map[idx] + add */
	FIX_EVENTFD,		/* u32: eventfd[idx] */
	FIX_FD,			/* u32: fd of target class add, index idx */
	FIX_ARG_PTR,		/* u64: address of the argument buffer + add */
};

struct fz_mut {
	uint16_t off;
	uint8_t width;		/* 1, 2, 4, 8 */
	uint64_t val;
};

struct fz_fix {
	uint16_t off;
	uint8_t kind;
	uint16_t idx;
	uint64_t add;
};

#define FZ_MAX_MUT	8
#define FZ_MAX_FIX	3

struct fz_op {
	uint8_t kind;
	uint8_t target;
	uint16_t tidx;
	uint32_t flags;
	unsigned long nr;	/* ioctl number (OP_IOCTL, OP_FORK) */
	uint64_t val;		/* int argument, size, offset, time */
	uint8_t base;
	uint32_t len;		/* argument bytes */
	const uint8_t *bytes;	/* BASE_BYTES, OP_WRITE_MEM */
	unsigned long getnr;	/* BASE_GET: fill the argument with this ioctl first */
	uint8_t nmut;
	struct fz_mut mut[FZ_MAX_MUT];
	uint8_t nfix;
	struct fz_fix fix[FZ_MAX_FIX];
	int expect;		/* reproducers: errno wanted (0 = success), or FZ_ANY */
};

#define FZ_ANY		(-1000)
#define FZ_EXIT_HANG	97
#define FZ_HANG_SECONDS	30
#define FZ_MAX_OBJ	64
#define FZ_ARGBUF	(64 * 1024)

struct fz_vcpu {
	int fd;
	struct kvm_run *run;
	size_t runsz;
	pthread_t th;
	int thread;		/* a runner thread exists */
	volatile int stop;
	volatile int in_run;
	volatile uint64_t kicked_ns;
};

struct fz_map {
	uint8_t *p;
	size_t len;
	uint32_t flags;
};

/* What an execution did: shared with the parent (MAP_SHARED). */
struct fz_stats {
	volatile uint64_t calls, runs, exits, forks;
	volatile uint64_t cur_op;	/* index of the op being executed */
	volatile uint64_t op_start_ns;
	volatile int hang;
	volatile uint64_t exit_reason[64];
};

struct fz_exec {
	int fd[T_NR][FZ_MAX_OBJ];
	int n[T_NR];
	struct fz_vcpu vcpu[FZ_MAX_OBJ];
	struct fz_map map[FZ_MAX_OBJ];
	long run_size;
	uint8_t *arg;		/* FZ_ARGBUF bytes */
	struct fz_stats *st;
	/* per call result: hook for the fuzzer's (ioctl, errno) table */
	void (*result)(struct fz_exec *x, const struct fz_op *op, long ret, int err);
	int verbose;
	pid_t children[FZ_MAX_OBJ];
	int nchildren;
	int mismatches;		/* reproducers: results that differ from expect */
	pthread_mutex_t kick_lock;	/* the watchdog's kicks vs. joining a runner */
};

static inline uint64_t fz_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void fz_kick_handler(int sig)
{
	(void)sig;
}

/* obj(): the fd of target class t, index i (modulo the count), or -1. */
static inline int fz_obj(struct fz_exec *x, int t, unsigned int i)
{
	if (t >= T_NR || x->n[t] == 0)
		return -1;
	return x->fd[t][i % x->n[t]];
}

static inline void fz_add(struct fz_exec *x, int t, int fd)
{
	if (x->n[t] < FZ_MAX_OBJ)
		x->fd[t][x->n[t]++] = fd;
	else if (fd >= 0)
		close(fd);
}

/* One KVM_RUN with the exit completed as a simple VMM would. */
static long fz_run_once(struct fz_exec *x, struct fz_vcpu *v)
{
	struct kvm_run *r = v->run;
	long ret;

	v->in_run = 1;
	ret = ioctl(v->fd, KVM_RUN, 0);
	v->in_run = 0;
	__atomic_fetch_add(&x->st->runs, 1, __ATOMIC_RELAXED);
	if (ret == 0 && r) {
		uint32_t why = r->exit_reason;

		__atomic_fetch_add(&x->st->exits, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&x->st->exit_reason[why < 63 ? why : 63], 1,
				   __ATOMIC_RELAXED);
		/* Data for the guest's IN and MMIO reads: a fixed pattern. */
		if (why == KVM_EXIT_IO && r->io.direction == KVM_EXIT_IO_IN &&
		    r->io.data_offset < (uint64_t)x->run_size &&
		    (uint64_t)r->io.size * r->io.count <= (uint64_t)x->run_size - r->io.data_offset)
			memset((uint8_t *)r + r->io.data_offset, 0x5a,
			       (size_t)r->io.size * r->io.count);
		else if (why == KVM_EXIT_MMIO && !r->mmio.is_write)
			memset(r->mmio.data, 0xa5, sizeof(r->mmio.data));
	}
	return ret;
}

static void *fz_runner(void *arg)
{
	struct fz_exec *x = ((void **)arg)[0];
	struct fz_vcpu *v = ((void **)arg)[1];
	int n = 0;

	free(arg);
	while (!v->stop && n++ < 100000) {
		long r = fz_run_once(x, v);

		if (r < 0 && errno != EINTR && errno != EAGAIN)
			usleep(1000);	/* EBADF, EINVAL...: do not spin */
		if (v->run && (v->run->exit_reason == KVM_EXIT_SHUTDOWN ||
			       v->run->exit_reason == KVM_EXIT_FAIL_ENTRY ||
			       v->run->exit_reason == KVM_EXIT_INTERNAL_ERROR) && r == 0)
			usleep(1000);
	}
	return NULL;
}

/*
 * Stop a runner thread: ask, kick it out of KVM_RUN with SIGUSR1 until it
 * goes, and call it a hang after FZ_HANG_SECONDS.
 */
static int fz_stop_runner(struct fz_exec *x, struct fz_vcpu *v)
{
	uint64_t t0 = fz_now_ns();

	if (!v->thread)
		return 0;
	v->stop = 1;
	for (;;) {
		int done;

		pthread_mutex_lock(&x->kick_lock);
		done = pthread_tryjoin_np(v->th, NULL) == 0;
		if (done)
			v->thread = 0;
		else
			pthread_kill(v->th, SIGUSR1);
		pthread_mutex_unlock(&x->kick_lock);
		if (done)
			break;
		if (fz_now_ns() - t0 > FZ_HANG_SECONDS * 1000000000ull) {
			x->st->hang = 1;
			fprintf(stderr, "fuzz: HANG: a KVM_RUN thread did not stop in %ds\n",
				FZ_HANG_SECONDS);
			fz_dump_stacks();
			fflush(stderr);
			_exit(FZ_EXIT_HANG);
		}
		usleep(1000);
	}
	v->thread = 0;
	return 0;
}

static void fz_inline_alarm(uint64_t ms)
{
	struct itimerval it = {
		.it_value = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 },
		.it_interval = { .tv_sec = 0, .tv_usec = 20000 },
	};

	setitimer(ITIMER_REAL, &it, NULL);
}

static void fz_build_arg(struct fz_exec *x, const struct fz_op *op, int fd)
{
	uint32_t len = op->len > FZ_ARGBUF ? FZ_ARGBUF : op->len;
	int i;

	memset(x->arg, 0, len + 64 <= FZ_ARGBUF ? len + 64 : FZ_ARGBUF);
	if (op->base == BASE_BYTES && op->bytes)
		memcpy(x->arg, op->bytes, len);
	else if (op->base == BASE_GET && fd >= 0)
		ioctl(fd, op->getnr, x->arg);
	for (i = 0; i < op->nmut && i < FZ_MAX_MUT; i++) {
		const struct fz_mut *m = &op->mut[i];

		if (m->off + m->width > len)
			continue;
		memcpy(x->arg + m->off, &m->val, m->width);
	}
	for (i = 0; i < op->nfix && i < FZ_MAX_FIX; i++) {
		const struct fz_fix *f = &op->fix[i];
		uint64_t v = 0;
		int w = 8;

		switch (f->kind) {
		case FIX_MAP_PTR:
			if (x->n[T_MAP])
				v = (uint64_t)(uintptr_t)x->map[f->idx % x->n[T_MAP]].p + f->add;
			break;
		case FIX_EVENTFD:
			v = (uint32_t)fz_obj(x, T_EVENTFD, f->idx);
			w = 4;
			break;
		case FIX_FD:
			v = (uint32_t)fz_obj(x, (int)f->add, f->idx);
			w = 4;
			break;
		case FIX_ARG_PTR:
			v = (uint64_t)(uintptr_t)x->arg + f->add;
			break;
		}
		if (f->off + w <= (int)len)
			memcpy(x->arg + f->off, &v, w);
	}
}

static void fz_result(struct fz_exec *x, const struct fz_op *op, long ret, int err)
{
	__atomic_fetch_add(&x->st->calls, 1, __ATOMIC_RELAXED);
	if (x->result)
		x->result(x, op, ret, err);
	if (op->expect != FZ_ANY) {
		int got = ret < 0 ? err : 0;

		if (got != op->expect) {
			x->mismatches++;
			printf("# op %llu: errno %d (%s), expected %d (%s)\n",
			       (unsigned long long)x->st->cur_op, got, strerror(got),
			       op->expect, strerror(op->expect));
		}
	}
}

/* The fork op's child: use the inherited objects, then exit. */
static void fz_child(struct fz_exec *x, const struct fz_op *op)
{
	int fd = fz_obj(x, op->target, op->tidx);
	int i;

	alarm(5);
	fz_build_arg(x, op, fd);
	ioctl(fd, op->nr, op->base == BASE_INT ? (void *)(uintptr_t)op->val : x->arg);
	for (i = 0; i < x->n[T_VCPU] && i < 2; i++)
		ioctl(x->vcpu[i].fd, KVM_RUN, 0);
	if (op->flags & 1)
		close(fz_obj(x, T_VM, 0));
	_exit(0);
}

/* fz_exec_op: execute one op. Returns the ioctl's result or 0. */
static long fz_exec_op(struct fz_exec *x, const struct fz_op *op)
{
	int fd = op->target < T_NR ? fz_obj(x, op->target, op->tidx) : -1;
	long ret = 0;
	int err = 0;

	switch (op->kind) {
	case OP_OPEN_KVM:
		ret = open("/dev/kvm", O_RDWR | O_CLOEXEC);
		err = errno;
		fz_add(x, T_KVM, ret);
		fz_result(x, op, ret, err);
		break;
	case OP_CREATE_VM:
		ret = ioctl(fd, KVM_CREATE_VM, (unsigned long)op->val);
		err = errno;
		if (ret >= 0)
			fz_add(x, T_VM, ret);
		fz_result(x, op, ret, err);
		break;
	case OP_CREATE_VCPU: {
		struct fz_vcpu *v;

		ret = ioctl(fd, KVM_CREATE_VCPU, (unsigned long)op->val);
		err = errno;
		fz_result(x, op, ret, err);
		if (ret < 0 || x->n[T_VCPU] >= FZ_MAX_OBJ)
			break;
		v = &x->vcpu[x->n[T_VCPU]];
		memset(v, 0, sizeof(*v));
		v->fd = ret;
		v->run = mmap(NULL, x->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, ret, 0);
		if (v->run == MAP_FAILED)
			v->run = NULL;
		fz_add(x, T_VCPU, ret);
		break;
	}
	case OP_MAP: {
		struct fz_map *m;
		int prot = PROT_READ | PROT_WRITE;
		int fl = (op->flags & FZ_MAP_SHARED) ? MAP_SHARED : MAP_PRIVATE;
		size_t len = op->val ? op->val : 4096;

		if (x->n[T_MAP] >= FZ_MAX_OBJ)
			break;
		if (op->flags & FZ_MAP_NORESERVE)
			fl |= MAP_NORESERVE;
		m = &x->map[x->n[T_MAP]];
		m->p = mmap(NULL, len, prot, fl | MAP_ANONYMOUS, -1, 0);
		if (m->p == MAP_FAILED) {
			m->p = NULL;
			len = 0;
		}
		m->len = len;
		m->flags = op->flags;
		if (m->p && (op->flags & FZ_MAP_RO))
			mprotect(m->p, len, PROT_READ);
		if (m->p && (op->flags & FZ_MAP_HOLE))
			munmap(m->p, len);
		x->fd[T_MAP][x->n[T_MAP]++] = -1;
		break;
	}
	case OP_IOCTL: {
		void *arg;

		if (op->base == BASE_INT) {
			arg = (void *)(uintptr_t)op->val;
		} else if (op->base == BASE_BADPTR) {
			arg = (void *)(uintptr_t)op->val;
		} else if (op->base == BASE_NONE) {
			arg = NULL;
		} else {
			fz_build_arg(x, op, fd);
			arg = x->arg;
			if ((op->flags & FZ_ARG_TAIL) && op->val < FZ_ARGBUF) {
				arg = x->arg + FZ_ARGBUF - op->val;
				memmove(arg, x->arg, op->val < op->len ? op->val : op->len);
			}
			/*
			 * KVM_RUN is bounded by kicks with SIGUSR1 and SIGALRM:
			 * a vCPU's signal mask that blocks them would make its
			 * KVM_RUN legitimately endless (on KVM too; a VMM keeps
			 * its kick signal open in that mask the same way).
			 */
			if (op->nr == KVM_SET_SIGNAL_MASK &&
			    (uint8_t *)arg + 12 <= x->arg + FZ_ARGBUF) {
				struct kvm_signal_mask *m = arg;

				if (m->len >= 8) {
					m->sigset[(SIGUSR1 - 1) / 8] &= ~(1u << ((SIGUSR1 - 1) % 8));
					m->sigset[(SIGALRM - 1) / 8] &= ~(1u << ((SIGALRM - 1) % 8));
				}
			}
		}
		ret = ioctl(fd, op->nr, arg);
		err = errno;
		fz_result(x, op, ret, err);
		/* A new fd (stats, device): keep it to close it later. */
		if (ret > 2 && (op->nr == KVM_GET_STATS_FD))
			fz_add(x, T_OTHER, ret);
		break;
	}
	case OP_RUN: {
		struct fz_vcpu *v;
		uint64_t t0 = fz_now_ns(), ms = op->val ? op->val : 20;
		int i;

		if (!x->n[T_VCPU])
			break;
		v = &x->vcpu[op->tidx % x->n[T_VCPU]];
		if (v->thread)
			break;
		fz_inline_alarm(ms);
		for (i = 0; i < 64; i++) {
			ret = fz_run_once(x, v);
			err = errno;
			if (ret < 0 || (fz_now_ns() - t0) / 1000000 >= ms)
				break;
			/*
			 * Where a VMM would stop, or the exit a reproducer
			 * waits for (without this, a HLT exit is run past and
			 * the run ends in the alarm's EINTR).
			 */
			if (v->run && (op->flags & FZ_RUN_EXPECT) &&
			    v->run->exit_reason == op->nr)
				break;
			if (v->run && (v->run->exit_reason == KVM_EXIT_SHUTDOWN ||
				       v->run->exit_reason == KVM_EXIT_FAIL_ENTRY ||
				       v->run->exit_reason == KVM_EXIT_INTERNAL_ERROR ||
				       v->run->exit_reason == KVM_EXIT_SYSTEM_EVENT))
				break;
		}
		fz_inline_alarm(0);
		{
			struct itimerval off = { 0 };

			setitimer(ITIMER_REAL, &off, NULL);
		}
		fz_result(x, op, ret, ret < 0 ? err : 0);
		if ((op->flags & FZ_RUN_EXPECT) && v->run &&
		    (ret < 0 || v->run->exit_reason != op->nr)) {
			x->mismatches++;
			printf("# op %llu: KVM_RUN ret %ld exit reason %u, expected exit reason %lu\n",
			       (unsigned long long)x->st->cur_op, ret, v->run->exit_reason, op->nr);
		}
		break;
	}
	case OP_RUN_START: {
		struct fz_vcpu *v;
		void **a;

		if (!x->n[T_VCPU])
			break;
		v = &x->vcpu[op->tidx % x->n[T_VCPU]];
		if (v->thread)
			break;
		a = malloc(2 * sizeof(void *));
		a[0] = x;
		a[1] = v;
		v->stop = 0;
		pthread_mutex_lock(&x->kick_lock);
		if (pthread_create(&v->th, NULL, fz_runner, a) == 0)
			v->thread = 1;
		else
			free(a);
		pthread_mutex_unlock(&x->kick_lock);
		break;
	}
	case OP_RUN_STOP:
		if (x->n[T_VCPU])
			fz_stop_runner(x, &x->vcpu[op->tidx % x->n[T_VCPU]]);
		break;
	case OP_CLOSE:
		if (op->target == T_VCPU && x->n[T_VCPU]) {
			struct fz_vcpu *v = &x->vcpu[op->tidx % x->n[T_VCPU]];

			/* The mapping of kvm_run keeps the file; drop it too. */
			if (!v->thread && v->run && (op->flags & 1)) {
				munmap(v->run, x->run_size);
				v->run = NULL;
			}
		}
		ret = close(fd);
		err = errno;
		fz_result(x, op, ret, err);
		break;
	case OP_FORK: {
		pid_t p;

		fflush(stdout);
		fflush(stderr);
		p = fork();
		if (p == 0)
			fz_child(x, op);
		__atomic_fetch_add(&x->st->forks, 1, __ATOMIC_RELAXED);
		if (p > 0 && x->nchildren < FZ_MAX_OBJ)
			x->children[x->nchildren++] = p;
		break;
	}
	case OP_WRITE_MEM: {
		struct fz_map *m;

		if (!x->n[T_MAP] || !op->bytes)
			break;
		m = &x->map[op->tidx % x->n[T_MAP]];
		if (!m->p || (m->flags & (FZ_MAP_RO | FZ_MAP_HOLE)) || op->val >= m->len)
			break;
		memcpy(m->p + op->val, op->bytes,
		       op->len < m->len - op->val ? op->len : m->len - op->val);
		break;
	}
	case OP_MPROTECT:
	case OP_MUNMAP: {
		struct fz_map *m;
		uint64_t off, len;

		if (!x->n[T_MAP])
			break;
		m = &x->map[op->tidx % x->n[T_MAP]];
		/*
		 * Not after a munmap: the addresses it freed may hold another
		 * mapping by now (a vCPU's kvm_run, a thread's stack), and
		 * taking those away crashes the fuzzer, not the kernel.
		 */
		if (!m->p || (m->flags & FZ_MAP_HOLE) || op->val >= m->len)
			break;
		off = op->val & ~4095ull;
		len = op->nr < m->len - off ? op->nr : m->len - off;
		if (op->kind == OP_MPROTECT) {
			mprotect(m->p + off, len, (int)op->flags);
			if (!(op->flags & PROT_WRITE))
				m->flags |= FZ_MAP_RO;	/* no more writes from us */
		} else {
			munmap(m->p + off, len);
			m->flags |= FZ_MAP_HOLE;	/* no more writes from us */
		}
		break;
	}
	case OP_EVENTFD:
		ret = eventfd(0, (int)op->flags & (EFD_NONBLOCK | EFD_CLOEXEC));
		fz_add(x, T_EVENTFD, ret);
		break;
	case OP_SLEEP:
		usleep(op->val < 200000 ? op->val : 200000);
		break;
	case OP_CPUID_HOST: {
		struct kvm_cpuid2 *c = (void *)x->arg;
		int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);

		memset(c, 0, sizeof(*c));
		c->nent = 100;
		ret = ioctl(kvm, KVM_GET_SUPPORTED_CPUID, c);
		close(kvm);
		if (ret == 0)
			ret = ioctl(fd, KVM_SET_CPUID2, c);
		err = errno;
		fz_result(x, op, ret, err);
		break;
	}
	}
	return ret;
}

/*
 * fz_watchdog: a thread that ends the process with FZ_EXIT_HANG when one op
 * has been running for FZ_HANG_SECONDS (a stuck ioctl, a KVM_RUN that no
 * signal ends), after printing which.
 */
static void *fz_watchdog(void *arg)
{
	struct fz_exec *x = arg;
	int tick = 0, k;

	for (;;) {
		uint64_t t = x->st->op_start_ns;

		/*
		 * Kick the runner threads out of KVM_RUN every 5 ms, as a VMM
		 * does when it wants its vCPU: an ioctl of the main thread on a
		 * running vCPU waits for the vCPU's mutex until then.
		 */
		usleep(5000);
		pthread_mutex_lock(&x->kick_lock);
		for (k = 0; k < x->n[T_VCPU]; k++)
			if (x->vcpu[k].thread)
				pthread_kill(x->vcpu[k].th, SIGUSR1);
		pthread_mutex_unlock(&x->kick_lock);
		if (++tick % 200)
			continue;
		if (t && t == x->st->op_start_ns &&
		    fz_now_ns() - t > FZ_HANG_SECONDS * 1000000000ull) {
			x->st->hang = 1;
			fprintf(stderr, "fuzz: HANG: op %llu did not return in %ds\n",
				(unsigned long long)x->st->cur_op, FZ_HANG_SECONDS);
			fz_dump_stacks();
			fflush(stderr);
			_exit(FZ_EXIT_HANG);
		}
	}
	return NULL;
}

/* fz_exec_init: the tables, the kick handler, the argument buffer. */
static inline void fz_exec_init(struct fz_exec *x, struct fz_stats *st)
{
	struct sigaction sa = { .sa_handler = fz_kick_handler };
	int kvm;

	memset(x, 0, sizeof(*x));
	pthread_mutex_init(&x->kick_lock, NULL);
	x->st = st;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	x->arg = mmap(NULL, FZ_ARGBUF + 4096, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	/* A guard page after the buffer: an arg the kernel reads past faults. */
	mprotect(x->arg + FZ_ARGBUF, 4096, PROT_NONE);
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	x->run_size = kvm >= 0 ? ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0) : 4096;
	if (x->run_size <= 0)
		x->run_size = 4096;
	if (kvm >= 0)
		close(kvm);
}

/*
 * fz_exec_prog: run ops[0..n) and clean up: stop every runner, reap the
 * fork children. The process exits afterwards, which closes the rest (in
 * the order the kernel chooses: another order than the program's).
 */
static inline void fz_exec_prog(struct fz_exec *x, const struct fz_op *ops, size_t n)
{
	pthread_t wd;
	size_t i;
	int k;

	pthread_create(&wd, NULL, fz_watchdog, x);
	for (i = 0; i < n; i++) {
		x->st->cur_op = i;
		x->st->op_start_ns = fz_now_ns();
		fz_exec_op(x, &ops[i]);
	}
	x->st->cur_op = n;
	x->st->op_start_ns = fz_now_ns();
	for (k = 0; k < x->n[T_VCPU]; k++)
		fz_stop_runner(x, &x->vcpu[k]);
	for (k = 0; k < x->nchildren; k++) {
		int s;

		waitpid(x->children[k], &s, 0);
	}
	x->st->op_start_ns = 0;
}

#endif /* FUZZ_EXEC_H */
