// SPDX-License-Identifier: GPL-2.0
/* The host stays intact: concurrent VMs/vCPUs in threads, vCPU thread
 * migration, host FS/GS base, x87/SSE/AVX registers, syscall MSRs and debug
 * registers survive guests that clobber them, hardware watchpoints keep
 * firing, fds close in any order, SIGKILL of a running VMM is harmless. */
#include "ckvm_util.h"
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <asm/prctl.h>
#include <linux/perf_event.h>
#include <linux/hw_breakpoint.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static int ncpus;

static bool pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) == 0;
}

/* ------------------------------------------------------------ concurrency */
static uint64_t lcg(uint64_t acc, int n)
{
	for (int j = 0; j < n; j++)
		acc = acc * 6364136223846793005ULL + 1442695040888963407ULL;
	return acc;
}

static void guest_worker(uint64_t seed, uint64_t iters)
{
	uint64_t acc = seed;

	for (uint64_t i = 0; i < iters; i++) {
		for (int j = 0; j < 2000; j++)
			acc = acc * 6364136223846793005ULL + 1442695040888963407ULL;
		GUEST_SYNC2(i, acc);
	}
	GUEST_DONE();
}

#define ITERS 40
struct worker {
	struct kvm_vcpu *v;
	uint64_t seed;
	bool migrate;
	int ok;
	int cpus_seen;
};

static void *worker_thread(void *arg)
{
	struct worker *w = arg;
	uint64_t acc = w->seed;
	struct ucall uc;
	unsigned seen = 0;

	w->ok = 1;
	for (int i = 0; i < ITERS; i++) {
		if (w->migrate) {
			pin(i % ncpus);
			seen |= 1u << sched_getcpu();
		}
		acc = lcg(acc, 2000);
		if (vcpu_run_ucall(w->v, &uc) != UCALL_SYNC || uc.args[0] != (uint64_t)i ||
		    uc.args[1] != acc) {
			ksft_print_msg("vcpu %d: iteration %d: cmd %llu args %llu 0x%llx want 0x%llx", w->v->id, i,
				       (unsigned long long)uc.cmd, (unsigned long long)uc.args[0],
				       (unsigned long long)uc.args[1], (unsigned long long)acc);
			w->ok = 0;
			return NULL;
		}
	}
	if (vcpu_run_ucall(w->v, &uc) != UCALL_DONE)
		w->ok = 0;
	w->cpus_seen = __builtin_popcount(seen);
	return NULL;
}

static void test_concurrent(void)
{
	struct kvm_vm *vm[2];
	struct worker w[4];
	pthread_t t[4];
	int ok = 1;

	for (int i = 0; i < 2; i++) {
		vm[i] = vm_create();
		for (int j = 0; j < 2; j++) {
			struct worker *x = &w[i * 2 + j];

			x->v = vcpu_add(vm[i], j, guest_worker);
			x->seed = 1000 * i + j + 1;
			x->migrate = false;
			vcpu_args_set(x->v, 2, x->seed, (uint64_t)ITERS);
		}
	}
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, worker_thread, &w[i]);
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		ok &= w[i].ok;
	}
	ksft_test_result(ok, "2 VMs x 2 vCPUs running concurrently in threads compute correctly");
	for (int i = 0; i < 4; i++)
		vcpu_free(w[i].v);
	kvm_vm_free(vm[0]);
	kvm_vm_free(vm[1]);
}

/* two vCPUs of one VM hammer one guest variable with LOCK XADD */
static volatile uint64_t shared_counter;
#define XADDS 20000
static void guest_atomic(void)
{
	for (int i = 0; i < XADDS; i++) {
		uint64_t one = 1;

		asm volatile("lock xaddq %0, %1" : "+r"(one), "+m"(shared_counter) :: "memory");
		if (!(i % 5000))
			GUEST_SYNC(i);
	}
	GUEST_DONE();
}

static void *atomic_thread(void *arg)
{
	struct worker *w = arg;
	struct ucall uc;
	int cmd;

	w->ok = 0;
	while ((cmd = vcpu_run_ucall(w->v, &uc)) == UCALL_SYNC)
		;
	w->ok = cmd == UCALL_DONE;
	return NULL;
}

static void test_shared_memory(void)
{
	struct kvm_vm *vm = vm_create();
	struct worker w[2];
	pthread_t t[2];

	shared_counter = 0;
	sync_global_to_guest(vm, shared_counter);
	for (int i = 0; i < 2; i++) {
		w[i].v = vcpu_add(vm, i, guest_atomic);
		pthread_create(&t[i], NULL, atomic_thread, &w[i]);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	sync_global_from_guest(vm, shared_counter);
	ksft_test_result(w[0].ok && w[1].ok && shared_counter == 2 * XADDS,
			 "2 vCPUs x %d LOCK XADD on shared guest memory: %llu", XADDS,
			 (unsigned long long)shared_counter);
	vcpu_free(w[0].v);
	vcpu_free(w[1].v);
	kvm_vm_free(vm);
}

/* migration: FPU and GPR state across moves between host CPUs */
static void guest_migrate(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ULL, y, r15 = ~x, r15b;

		asm volatile("movq %2, %%xmm7\n\t"
			     "mov %3, %%r15\n\t"
			     "mov $0xe1, %%dx\n\t"
			     "out %%al, %%dx\n\t"
			     "movq %%xmm7, %0\n\t"
			     "mov %%r15, %1\n\t"
			     : "=r"(y), "=r"(r15b) : "r"(x), "r"(r15) : "xmm7", "r15", "rdx", "rax");
		GUEST_ASSERT_EQ(x, y);
		GUEST_ASSERT_EQ(r15, r15b);
	}
	GUEST_DONE();
}

struct mig { struct kvm_vcpu *v; int ok; unsigned seen; int exits; };

static void *migrate_thread(void *arg)
{
	struct mig *m = arg;
	struct ucall uc;

	m->ok = 0;
	for (int i = 0;; i++) {
		pin(i % ncpus);
		m->seen |= 1u << sched_getcpu();
		if (vcpu_run(m->v))
			return NULL;
		if (m->v->run->exit_reason == KVM_EXIT_IO && m->v->run->io.port == 0xe1) {
			m->exits++;
			continue;
		}
		int cmd = get_ucall(m->v, &uc);

		if (cmd == UCALL_ABORT)
			ksft_print_msg("guest assert %s:%llu %s (0x%llx vs 0x%llx)", uc.file,
				       (unsigned long long)uc.line, uc.expr,
				       (unsigned long long)uc.args[0], (unsigned long long)uc.args[1]);
		m->ok = cmd == UCALL_DONE;
		return NULL;
	}
}

static void test_migration(void)
{
	struct kvm_vm *vm = vm_create();
	struct mig m = { 0 };
	pthread_t t;

	m.v = vcpu_add(vm, 0, guest_migrate);
	vcpu_args_set(m.v, 1, 200ULL);
	pthread_create(&t, NULL, migrate_thread, &m);
	pthread_join(t, NULL);
	ksft_test_result(m.ok && m.exits == 200, "vCPU thread migrating between CPUs every exit keeps XMM/GPR state (%d exits)",
			 m.exits);
	if (ncpus > 1)
		ksft_test_result(__builtin_popcount(m.seen) >= 2, "the thread really ran on %d CPUs",
				 __builtin_popcount(m.seen));
	else
		ksft_test_result_skip("the thread really ran on several CPUs: only 1 host CPU");

	/* a vCPU created in one thread, run in threads pinned to different CPUs */
	struct worker w = { .v = vcpu_add(vm, 1, guest_worker), .seed = 77, .migrate = true };
	vcpu_args_set(w.v, 2, w.seed, (uint64_t)ITERS);
	pthread_create(&t, NULL, worker_thread, &w);
	pthread_join(t, NULL);
	ksft_test_result(w.ok, "vCPU created in main thread, run in a migrating thread");
	vcpu_free(m.v);
	vcpu_free(w.v);
	kvm_vm_free(vm);
}

/* ------------------------------------------------------------ host state */
#define DR_ADDR 0x7770000ULL
static void guest_clobber(uint64_t avx)
{
	uint64_t ones = ~0ULL;

	wrmsr(MSR_FS_BASE, 0x7ead000f5000ULL);
	wrmsr(MSR_GS_BASE, 0x7ead000a5000ULL);
	wrmsr(MSR_KERNEL_GS_BASE, 0x7ead000c5000ULL);
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
	wrmsr(MSR_STAR, 0x0033002b00000000ULL);
	wrmsr(MSR_LSTAR, 0xffffffffdead0000ULL);
	wrmsr(MSR_CSTAR, 0xffffffffdead1000ULL);
	wrmsr(MSR_SYSCALL_MASK, 0x0);
	asm volatile("mov %0, %%dr0\n\t mov %1, %%dr1\n\t mov %2, %%dr2\n\t mov %3, %%dr3"
		     :: "r"(DR_ADDR), "r"(DR_ADDR + 8), "r"(DR_ADDR + 16), "r"(DR_ADDR + 24));
	/*
	 * DR7 gets RW/LEN fields but no L/G enable bits: a guest DR7 that
	 * ENABLES breakpoints makes QEMU 7.2 TCG itself segfault (measured,
	 * with kvm_amd, with or without a host watchpoint) - a QEMU bug.
	 */
	asm volatile("mov %0, %%dr7" :: "r"(0x99990400ULL));
	asm volatile("fninit\n\t fldpi\n\t fld1\n\t fldl2e\n\t fldz");
	uint16_t fcw = 0x0c7f;
	uint32_t mx = 0xffc0;
	asm volatile("fldcw %0\n\t ldmxcsr %1" :: "m"(fcw), "m"(mx));
	asm volatile("movq %0, %%xmm0\n\t pcmpeqd %%xmm0, %%xmm0\n\t"
		     "movdqa %%xmm0, %%xmm1\n\t movdqa %%xmm0, %%xmm2\n\t movdqa %%xmm0, %%xmm3\n\t"
		     "movdqa %%xmm0, %%xmm4\n\t movdqa %%xmm0, %%xmm5\n\t movdqa %%xmm0, %%xmm6\n\t"
		     "movdqa %%xmm0, %%xmm7\n\t movdqa %%xmm0, %%xmm8\n\t movdqa %%xmm0, %%xmm9\n\t"
		     "movdqa %%xmm0, %%xmm10\n\t movdqa %%xmm0, %%xmm11\n\t movdqa %%xmm0, %%xmm12\n\t"
		     "movdqa %%xmm0, %%xmm13\n\t movdqa %%xmm0, %%xmm14\n\t movdqa %%xmm0, %%xmm15"
		     :: "r"(ones) : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
		     "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
	if (avx) {
		uint64_t cr4;

		asm volatile("mov %%cr4, %0" : "=r"(cr4));
		asm volatile("mov %0, %%cr4" :: "r"(cr4 | X86_CR4_OSXSAVE));
		asm volatile("xsetbv" :: "c"(0), "a"(7), "d"(0));
		asm volatile("vpcmpeqd %%ymm0, %%ymm0, %%ymm0\n\t"
			     "vmovdqa %%ymm0, %%ymm1\n\t vmovdqa %%ymm0, %%ymm8\n\t vmovdqa %%ymm0, %%ymm15"
			     ::: "xmm0", "xmm1", "xmm8", "xmm15");
	}
	GUEST_SYNC(rdmsr(MSR_LSTAR));
	GUEST_DONE();
}

/*
 * long fpu_kvm_run(int fd, const struct fpbuf *in, struct fpbuf *out, int avx):
 * load XMM/YMM, MXCSR, FCW and two x87 values, do the KVM_RUN syscall
 * directly, store them again. Nothing but the kernel runs in between.
 */
struct fpbuf {
	uint8_t y[16][32];	/* 0 */
	uint32_t mxcsr;		/* 512 */
	uint16_t fcw;		/* 516 */
	uint16_t pad;
	double d1, d2;		/* 520, 528 */
} __attribute__((aligned(32)));
long fpu_kvm_run(int fd, const struct fpbuf *in, struct fpbuf *out, int avx);
#define LD(n) "vmovdqu " #n "*32(%r12), %ymm" #n "\n"
#define LX(n) "movdqu " #n "*32(%r12), %xmm" #n "\n"
#define SD(n) "vmovdqu %ymm" #n ", " #n "*32(%r13)\n"
#define SX(n) "movdqu %xmm" #n ", " #n "*32(%r13)\n"
#define ALL(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11) M(12) M(13) M(14) M(15)
asm(".pushsection .text\n"
    ".globl fpu_kvm_run\n"
    "fpu_kvm_run:\n"
    "	push %rbx\n push %r12\n push %r13\n"
    "	mov %rsi, %r12\n mov %rdx, %r13\n mov %ecx, %ebx\n"
    "	test %ebx, %ebx\n jz 1f\n"
    ALL(LD)
    "	jmp 2f\n"
    "1:\n"
    ALL(LX)
    "2:\n"
    "	ldmxcsr 512(%r12)\n fninit\n fldcw 516(%r12)\n fldl 520(%r12)\n fldl 528(%r12)\n"
    "	mov $16, %eax\n"		/* SYS_ioctl, rdi = fd */
    "	mov $0xae80, %esi\n"		/* KVM_RUN */
    "	xor %edx, %edx\n"
    "	syscall\n"
    "	test %ebx, %ebx\n jz 3f\n"
    ALL(SD)
    "	jmp 4f\n"
    "3:\n"
    ALL(SX)
    "4:\n"
    "	stmxcsr 512(%r13)\n fnstcw 516(%r13)\n fstpl 528(%r13)\n fstpl 520(%r13)\n"
    "	pop %r13\n pop %r12\n pop %rbx\n ret\n"
    ".popsection\n");

static bool host_has_avx(void)
{
	uint32_t a, b, c, d;

	cpuid_count(1, 0, &a, &b, &c, &d);
	if (!(c & (1u << 28)) || !(c & (1u << 27)))
		return false;
	uint32_t lo, hi;
	asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (lo & 6) == 6;
}

static bool guest_has_avx(void)
{
	struct kvm_cpuid2 *c = kvm_get_supported_cpuid();
	bool r = false;

	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == 1)
			r = (c->entries[i].ecx & (1u << 28)) && (c->entries[i].ecx & (1u << 26));
	free(c);
	return r;
}

static __thread uint64_t tls_var = 0x1234abcd;
static volatile uint64_t watched;

static int perf_bp(void)
{
	struct perf_event_attr a = { 0 };

	a.type = PERF_TYPE_BREAKPOINT;
	a.size = sizeof(a);
	a.bp_type = HW_BREAKPOINT_W;
	a.bp_addr = (uint64_t)&watched;
	a.bp_len = HW_BREAKPOINT_LEN_8;
	a.exclude_kernel = 1;
	a.exclude_hv = 1;
	return syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
}

static uint64_t perf_count(int fd)
{
	uint64_t c = 0;

	if (read(fd, &c, sizeof(c)) != sizeof(c))
		return ~0ULL;
	return c;
}

static void test_host_state(void)
{
	bool avx = host_has_avx() && guest_has_avx();
	int bp = perf_bp();

	uint64_t fs0, gs0, fs1, gs1;
	int bp_ok = 1, bp_fired = 0, fs_ok = 1, gs_ok = 1, fpu_ok = 1, sys_ok = 1, run_ok = 1, tls_ok = 1;

	if (bp < 0)
		ksft_print_msg("perf_event_open(PERF_TYPE_BREAKPOINT) failed: %s", strerror(errno));
	TEST_ASSERT(!syscall(SYS_arch_prctl, ARCH_SET_GS, 0x7f1234560000ULL), "ARCH_SET_GS");
	for (int round = 0; round < 2 * ncpus; round++) {
		int cpu = round % ncpus;
		struct kvm_vm *vm = vm_create();
		struct kvm_vcpu *v = vcpu_add(vm, 0, guest_clobber);
		static struct fpbuf in, out;
		struct ucall uc;

		pin(cpu);
		vcpu_args_set(v, 1, (uint64_t)avx);
		for (int i = 0; i < 16; i++)
			for (int j = 0; j < 32; j++)
				in.y[i][j] = (uint8_t)(i * 16 + j + round);
		in.mxcsr = 0x1f80 | 0x6000;	/* round toward zero, all masked */
		in.fcw = 0x037f & ~0x0300;	/* 24-bit precision control */
		in.d1 = 3.5 + round;
		in.d2 = -0.25;
		memset(&out, 0, sizeof(out));

		syscall(SYS_arch_prctl, ARCH_GET_FS, &fs0);
		syscall(SYS_arch_prctl, ARCH_GET_GS, &gs0);
		uint64_t before = bp >= 0 ? perf_count(bp) : 0;
		long r = fpu_kvm_run(v->fd, &in, &out, avx);
		syscall(SYS_arch_prctl, ARCH_GET_FS, &fs1);
		syscall(SYS_arch_prctl, ARCH_GET_GS, &gs1);
		if (r != 0 || get_ucall(v, &uc) != UCALL_SYNC || uc.args[0] != 0xffffffffdead0000ULL) {
			ksft_print_msg("round %d: guest run failed r=%ld exit %u", round, r, v->run->exit_reason);
			run_ok = 0;
		}
		fs_ok &= fs0 == fs1 && fs0 != 0;
		gs_ok &= gs0 == gs1 && gs0 == 0x7f1234560000ULL;
		tls_ok &= tls_var == 0x1234abcdULL + round;
		tls_var++;
		for (int i = 0; i < 16; i++)
			if (memcmp(in.y[i], out.y[i], avx ? 32 : 16)) {
				ksft_print_msg("round %d cpu %d: %cmm%d changed", round, cpu, avx ? 'y' : 'x', i);
				fpu_ok = 0;
			}
		if (in.mxcsr != out.mxcsr || in.fcw != out.fcw || in.d1 != out.d1 || in.d2 != out.d2) {
			ksft_print_msg("round %d: mxcsr %x/%x fcw %x/%x x87 %f/%f %f/%f", round, in.mxcsr,
				       out.mxcsr, in.fcw, out.fcw, in.d1, out.d1, in.d2, out.d2);
			fpu_ok = 0;
		}
		/* syscalls on this CPU, right after the guest set LSTAR/STAR/SFMASK */
		sys_ok &= syscall(SYS_getpid) == getpid() && sched_getcpu() == cpu;
		int p[2];
		char buf[4] = { 0 };
		sys_ok &= pipe(p) == 0 && write(p[1], "abc", 3) == 3 && read(p[0], buf, 3) == 3 &&
			  !strcmp(buf, "abc");
		close(p[0]);
		close(p[1]);
		if (bp >= 0) {
			watched++;
			uint64_t after = perf_count(bp);

			bp_fired += after > before;
			bp_ok &= after == before + 1;
			if (after != before + 1)
				ksft_print_msg("round %d cpu %d: watchpoint count %llu -> %llu", round, cpu,
					       (unsigned long long)before, (unsigned long long)after);
		}
		ksft_test_result(vcpu_run_ucall(v, &uc) == UCALL_DONE, "round %d (cpu %d): clobbering guest done",
				 round, cpu);
		vcpu_free(v);
		kvm_vm_free(vm);
	}
	ksft_test_result(run_ok, "guests clobbering FS/GS/KERNEL_GS, STAR/LSTAR/CSTAR/SFMASK, DR0-3/7, FPU ran");
	ksft_test_result(fs_ok, "host FS base (ARCH_GET_FS) unchanged");
	ksft_test_result(tls_ok, "host TLS variable (via FS) works");
	ksft_test_result(gs_ok, "host GS base (ARCH_SET_GS value) unchanged");
	ksft_test_result(fpu_ok, "host %s, MXCSR, FCW and x87 stack unchanged across KVM_RUN",
			 avx ? "YMM0-15" : "XMM0-15");
	if (!avx)
		ksft_test_result_skip("host AVX state: no AVX on host or guest CPUID");
	else
		ksft_test_result(fpu_ok, "host AVX upper halves unchanged (guest used AVX)");
	ksft_test_result(sys_ok, "syscalls work on every CPU after the guest set syscall MSRs");
	if (bp < 0) {
		ksft_test_result_skip("host watchpoint: perf_event_open breakpoint unavailable");
	} else {
		ksft_test_result(bp_ok && bp_fired == 2 * ncpus,
				 "host hardware watchpoint fires after guests wrote DR0-3/DR7");
		close(bp);
	}
}

/* ------------------------------------------------------------ fd lifetime */
static void guest_sync_loop(void)
{
	for (;;)
		GUEST_SYNC(7);
}

static bool run_once(void)
{
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *v = vcpu_add(vm, 0, guest_sync_loop);
	struct ucall uc;
	bool ok = vcpu_run_ucall(v, &uc) == UCALL_SYNC && uc.args[0] == 7;

	vcpu_free(v);
	kvm_vm_free(vm);
	return ok;
}

static void test_close_order(void)
{
	const char *names[] = { "vcpu, vm, /dev/kvm", "vm, vcpu, /dev/kvm", "/dev/kvm, vm, vcpu",
				"/dev/kvm, vcpu (run still mapped), vm", "vm while run mapped, then munmap" };

	for (int order = 0; order < 5; order++) {
		struct kvm_vm *vm = vm_create();
		struct kvm_vcpu *v = vcpu_add(vm, 0, guest_sync_loop);
		struct ucall uc;
		bool ok = vcpu_run_ucall(v, &uc) == UCALL_SYNC;
		int kfd = vm->kvm_fd, vfd = vm->fd, cfd = v->fd;

		switch (order) {
		case 0: ok &= !close(cfd) && !close(vfd) && !close(kfd); break;
		case 1: ok &= !close(vfd) && !close(cfd) && !close(kfd); break;
		case 2: ok &= !close(kfd) && !close(vfd) && !close(cfd); break;
		case 3:
			ok &= !close(kfd) && !close(cfd);
			ok &= v->run->exit_reason == KVM_EXIT_IO;	/* mapping still valid */
			ok &= !close(vfd);
			break;
		case 4:
			ok &= !close(vfd) && !close(kfd);
			/* vCPU fd still open: it still runs */
			ok &= vcpu_run_ucall(v, &uc) == UCALL_SYNC;
			ok &= !close(cfd);
			break;
		}
		munmap(v->run, v->run_size);
		for (int i = 0; i < vm->nr_slots; i++)
			munmap(vm->slots[i].hva, vm->slots[i].size);
		free(v);
		free(vm);
		ksft_test_result(ok && run_once(), "close order %s; new VM runs afterwards", names[order]);
	}
}

static void test_sigkill(void)
{
	int p[2];
	pid_t pid;
	char c = 0;

	TEST_ASSERT(!pipe(p), "pipe");
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork");
	if (!pid) {
		struct kvm_vm *vm = vm_create();
		struct kvm_vcpu *v[2];
		struct ucall uc;

		close(p[0]);
		for (int i = 0; i < 2; i++) {
			v[i] = vcpu_add(vm, i, guest_worker);
			vcpu_args_set(v[i], 2, 5ULL, ~0ULL >> 1);
		}
		if (vcpu_run_ucall(v[1], &uc) != UCALL_SYNC)
			_exit(3);
		if (write(p[1], "r", 1) != 1)
			_exit(4);
		for (;;)
			vcpu_run(v[0]);	/* guest busy loop, exits only every 2000 LCG steps */
	}
	close(p[1]);
	ksft_test_result(read(p[0], &c, 1) == 1 && c == 'r', "child VMM is running its guest");
	usleep(300000);
	kill(pid, SIGKILL);
	int st = 0;
	ksft_test_result(waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
			 "child killed by SIGKILL while in KVM_RUN");
	close(p[0]);
	ksft_test_result(run_once(), "parent creates and runs a VM afterwards");
}

/* VM and vCPU fds are bound to the creating process's mm */
static void test_other_process(void)
{
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *v = vcpu_add(vm, 0, guest_sync_loop);
	int st = 0;
	pid_t pid = fork();

	TEST_ASSERT(pid >= 0, "fork");
	if (!pid) {
		struct kvm_regs r;
		int bad = 0;

		errno = 0;
		bad |= !(ioctl(v->fd, KVM_GET_REGS, &r) == -1 && errno == EIO) << 0;
		errno = 0;
		bad |= !(ioctl(v->fd, KVM_RUN, 0) == -1 && errno == EIO) << 1;
		errno = 0;
		bad |= !(ioctl(vm->fd, KVM_CREATE_VCPU, 5) == -1 && errno == EIO) << 2;
		/* system ioctls still work in the child */
		bad |= !(ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) == 12) << 3;
		_exit(bad);
	}
	TEST_ASSERT(waitpid(pid, &st, 0) == pid, "waitpid");
	ksft_test_result(WIFEXITED(st) && !(WEXITSTATUS(st) & 1), "vCPU ioctl from another process -> EIO");
	ksft_test_result(WIFEXITED(st) && !(WEXITSTATUS(st) & 2), "KVM_RUN from another process -> EIO");
	ksft_test_result(WIFEXITED(st) && !(WEXITSTATUS(st) & 4), "VM ioctl from another process -> EIO");
	ksft_test_result(WIFEXITED(st) && !(WEXITSTATUS(st) & 8), "/dev/kvm ioctl from a child works");
	ksft_test_result(run_once(), "parent's VMs still work");
	vcpu_free(v);
	kvm_vm_free(vm);
}

int main(void)
{
	ksft_print_header();
	kvm_check_cap(KVM_CAP_USER_MEMORY);
	ncpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpus > 8)
		ncpus = 8;
	ksft_print_msg("%d host CPUs", ncpus);
	ksft_set_plan(1 + 1 + 3 + 2 * ncpus + 8 + 5 + 3 + 5);
	test_concurrent();
	test_shared_memory();
	test_migration();
	test_host_state();
	test_close_order();
	test_sigkill();
	test_other_process();
	return ksft_finished();
}
