/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ckvm selftest library: TAP output, VM/vCPU/memslot helpers, guest code
 * loading, CPU mode setup and the I/O-port "ucall" channel.
 *
 * HOW TO WRITE A TEST
 * -------------------
 * One program = one file tests/<name>.c; the Makefile builds every
 * tests/<name>.c file into build/<name> (static, non-PIE, -fno-stack-protector), and
 * every executable in build/ is a test program.
 *
 *   #include "ckvm_util.h"
 *
 *   static void guest_code(uint64_t arg)        // runs in the guest, 64-bit
 *   {
 *           GUEST_ASSERT(arg == 42);
 *           GUEST_SYNC(1);                      // host sees UCALL_SYNC, args[0]=1
 *           GUEST_DONE();
 *   }
 *
 *   int main(void)
 *   {
 *           ksft_print_header();
 *           ksft_set_plan(2);                   // exact number of TAP points
 *           struct kvm_vm *vm = vm_create();    // slot 0: 64 MiB at gpa 0, ELF
 *                                               // loaded, 4 GiB identity map
 *           struct kvm_vcpu *v = vcpu_add(vm, 0, guest_code); // long mode
 *           vcpu_args_set(v, 1, 42);
 *           struct ucall uc;
 *           ksft_test_result(vcpu_run_ucall(v, &uc) == UCALL_SYNC, "sync\n");
 *           ksft_test_result(vcpu_run_ucall(v, &uc) == UCALL_DONE, "done\n");
 *           kvm_vm_free(vm);
 *           return ksft_finished();             // exit 0 / 1 / 4
 *   }
 *
 * Rules for guest code (functions that run inside the VM):
 *  - The test binary's own PT_LOAD segments are copied from /proc/self/exe
 *    into guest memory at the same (identity-mapped) addresses, so guest
 *    functions, string literals and globals work. Globals are SEPARATE
 *    copies: use sync_global_to_guest()/sync_global_from_guest().
 *  - Never call libc from guest code (no printf/memcpy/TLS/errno: static
 *    glibc ifuncs are not relocated in the guest copy). gcc may emit memcpy
 *    or memset for big struct copies/initialisers: keep guest data small.
 *  - There is no IDT (limit 0): any guest exception becomes a triple fault
 *    and the host sees KVM_EXIT_SHUTDOWN.
 *  - Long-mode guests get CR4.OSFXSR, so SSE works; set CR4.OSXSAVE and
 *    XCR0 in the guest yourself for AVX.
 *  - Real-mode / 32-bit code: write it as a top-level asm() block between
 *    two labels in section .text (with .code16/.code32 ... .code64), copy it
 *    to CODE_GPA with vm_load_code() and use vcpu_setup_real_mode() /
 *    vcpu_setup_pm32(). Absolute addresses inside such a snippet must be
 *    written as CODE_GPA + (label - start_label).
 *
 * Host side checks: ksft_test_result(cond, fmt, ...) for every TAP point;
 * CHECK_ERRNO(expr, errno, name...) for "ioctl fails with this errno";
 * CHECK_OK(expr, name...) for "ioctl returns >= 0". TEST_ASSERT() is fatal
 * (prints "Bail out!" and exits 1) and is for test set-up, not for results.
 * CHECK_EQ(a, b, name...) compares as u64 and prints both on mismatch.
 * Use is_ckvm() only where ckvm is documented to differ from KVM.
 * Expected values are what the distro kvm_amd does (the reference): measure
 * there, assert exactly that, and write the measured fact in a comment.
 * A watchdog thread (started by ksft_print_header) bails out after
 * $CKVM_TEST_TIMEOUT seconds (default 90) so a hung KVM_RUN cannot hang
 * the run; keep each program well under that (most take < 5 s).
 * Build: make (all tests) / make clean; run: ./build/<name> as root.
 *
 * Guest memory layout made by vm_create() (all gpa == gva):
 *   0x008000  CODE_GPA    real/32-bit code snippets (32 KiB)
 *   0x010000  DATA_GPA    scratch data for snippets (64 KiB)
 *   0x020000  GDT_GPA     GDT: 0x08 code32, 0x10 data, 0x18 code64, 0x20 code16
 *   0x100000  PML4, PDPT, 4 PDs (2 MiB pages, 0-4 GiB), PD32 (4 MiB pages)
 *   0x400000  the test ELF (text, data, bss)
 *   0x2000000 vm_alloc_pages(): vCPU stacks etc., up to 64 MiB
 */
#ifndef CKVM_UTIL_H
#define CKVM_UTIL_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/kvm.h>

/* ------------------------------------------------------------ TAP */
#define KSFT_PASS 0
#define KSFT_FAIL 1
#define KSFT_SKIP 4

void ksft_print_header(void);
void ksft_set_plan(unsigned int n);
void ksft_print_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* name must end with "\n" like kselftest; it is added if missing */
bool ksft_test_result(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ksft_test_result_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int ksft_finished(void);
void ksft_exit_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void ksft_exit_fail_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#define TEST_ASSERT(cond, fmt, ...) do { if (!(cond)) \
	ksft_exit_fail_msg("%s:%d: assertion '%s' failed: " fmt " (errno %d %s)", \
		__FILE__, __LINE__, #cond, ##__VA_ARGS__, errno, strerror(errno)); } while (0)

/* expr must return -1 with errno == err */
#define CHECK_ERRNO(expr, err, ...) ({ \
	errno = 0; \
	long _r = (long)(expr); \
	int _e = errno; \
	bool _ok = (_r == -1 && _e == (err)); \
	if (!_ok) \
		ksft_print_msg("%s:%d: %s: ret %ld errno %d (%s), want -1 errno %d (%s)", \
			__FILE__, __LINE__, #expr, _r, _e, strerror(_e), (err), strerror(err)); \
	ksft_test_result(_ok, __VA_ARGS__); })
/* expr must return >= 0 */
#define CHECK_OK(expr, ...) ({ \
	errno = 0; \
	long _r = (long)(expr); \
	int _e = errno; \
	bool _ok = _r >= 0; \
	if (!_ok) \
		ksft_print_msg("%s:%d: %s: ret %ld errno %d (%s)", \
			__FILE__, __LINE__, #expr, _r, _e, strerror(_e)); \
	ksft_test_result(_ok, __VA_ARGS__); })
/* a == b, printing both as hex on mismatch */
#define CHECK_EQ(a, b, ...) ({ \
	uint64_t _a = (uint64_t)(a), _b = (uint64_t)(b); \
	bool _ok = _a == _b; \
	if (!_ok) \
		ksft_print_msg("%s:%d: %s == 0x%llx, want %s == 0x%llx", __FILE__, __LINE__, \
			#a, (unsigned long long)_a, #b, (unsigned long long)_b); \
	ksft_test_result(_ok, __VA_ARGS__); })

/* ------------------------------------------------------------ layout */
#define CODE_GPA	0x8000ULL
#define CODE_SIZE	0x8000ULL
#define DATA_GPA	0x10000ULL
#define GDT_GPA		0x20000ULL
#define PML4_GPA	0x100000ULL
#define PDPT_GPA	0x101000ULL
#define PD_GPA		0x102000ULL	/* 4 pages */
#define PD32_GPA	0x106000ULL
#define ALLOC_GPA	0x2000000ULL
#define MAIN_MEM_SIZE	(64ULL << 20)

#define SEL_CODE32	0x08
#define SEL_DATA	0x10
#define SEL_CODE64	0x18
#define SEL_CODE16	0x20
#define SEL_DATA16	0x28

#define X86_CR0_PE	(1UL << 0)
#define X86_CR0_MP	(1UL << 1)
#define X86_CR0_EM	(1UL << 2)
#define X86_CR0_TS	(1UL << 3)
#define X86_CR0_ET	(1UL << 4)
#define X86_CR0_NE	(1UL << 5)
#define X86_CR0_WP	(1UL << 16)
#define X86_CR0_AM	(1UL << 18)
#define X86_CR0_NW	(1UL << 29)
#define X86_CR0_CD	(1UL << 30)
#define X86_CR0_PG	(1UL << 31)
#define X86_CR4_PSE	(1UL << 4)
#define X86_CR4_PAE	(1UL << 5)
#define X86_CR4_OSFXSR	(1UL << 9)
#define X86_CR4_OSXMMEXCPT (1UL << 10)
#define X86_CR4_OSXSAVE	(1UL << 18)
#define EFER_SCE	(1UL << 0)
#define EFER_LME	(1UL << 8)
#define EFER_LMA	(1UL << 10)
#define EFER_NX		(1UL << 11)
#define EFER_SVME	(1UL << 12)

#define MSR_EFER		0xc0000080
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_CSTAR		0xc0000083
#define MSR_SYSCALL_MASK	0xc0000084
#define MSR_FS_BASE		0xc0000100
#define MSR_GS_BASE		0xc0000101
#define MSR_KERNEL_GS_BASE	0xc0000102

/* ------------------------------------------------------------ VM */
struct memslot {
	uint32_t slot, flags;
	uint64_t gpa, size;
	void *hva;
	bool owned;	/* mmap'ed by the library */
};

struct kvm_vm {
	int kvm_fd;
	int fd;
	int nr_slots;
	struct memslot slots[64];
	uint64_t alloc_next;
};

struct kvm_vcpu {
	struct kvm_vm *vm;
	int fd;
	int id;
	struct kvm_run *run;
	size_t run_size;
	uint64_t stack_top;
};

bool is_ckvm(void);
/*
 * The running kernel is MAJOR.MINOR or later (uname). For the reference
 * only, where KVM changed between the Debian kernels (6.1, 6.12): say in
 * a comment what changed and where.
 */
bool kernel_at_least(int major, int minor);
/*
 * The machine runs in QEMU MAJOR.MINOR or later, from $ckvm_emulator
 * ("qemu-10.0.13"; "bochs-2.7" is no QEMU). Only to tolerate a documented
 * fault of the emulator, which the reference shows as well.
 */
bool emulator_qemu_at_least(int major, int minor);
bool host_is_amd(void);		/* CPUID vendor AuthenticAMD: SVM, else VMX */
/*
 * A counter of the binary stats (KVM_GET_STATS_FD) by its name ("exits",
 * "pf_fixed"), of the VM or of the vCPU; ~0 if it has none of that name.
 */
uint64_t vm_stat(struct kvm_vm *vm, const char *name);
uint64_t vcpu_stat(struct kvm_vcpu *v, const char *name);
int kvm_open(void);			/* skips the whole test if no /dev/kvm */
int kvm_check_cap(long cap);
long kvm_run_size(void);
const char *exit_reason_str(uint32_t reason);

struct kvm_vm *vm_create_bare(void);	/* KVM_CREATE_VM only */
struct kvm_vm *vm_create(void);		/* + slot 0, ELF, page tables, GDT */
void kvm_vm_free(struct kvm_vm *vm);	/* closes vCPU fds the caller kept? no: only VM fd */
int __vm_set_region(struct kvm_vm *vm, uint32_t slot, uint32_t flags,
		    uint64_t gpa, uint64_t size, void *hva);
void *vm_add_memslot(struct kvm_vm *vm, uint32_t slot, uint64_t gpa,
		     uint64_t size, uint32_t flags);	/* mmap NORESERVE + register */
void vm_track_memslot(struct kvm_vm *vm, uint32_t slot, uint64_t gpa,
		      uint64_t size, uint32_t flags, void *hva);
void vm_forget_memslot(struct kvm_vm *vm, uint32_t slot);
void *addr_gpa2hva(struct kvm_vm *vm, uint64_t gpa);
uint64_t vm_alloc_pages(struct kvm_vm *vm, int n);
void vm_load_code(struct kvm_vm *vm, uint64_t gpa, const void *start, const void *end);

#define sync_global_to_guest(vm, g) \
	memcpy(addr_gpa2hva(vm, (uint64_t)&(g)), (const void *)&(g), sizeof(g))
#define sync_global_from_guest(vm, g) \
	memcpy((void *)&(g), addr_gpa2hva(vm, (uint64_t)&(g)), sizeof(g))

/* ------------------------------------------------------------ vCPU */
struct kvm_vcpu *vcpu_create(struct kvm_vm *vm, int id);	/* reset state */
/* vcpu_create + long mode + stack + RIP = guest_code */
struct kvm_vcpu *vcpu_add(struct kvm_vm *vm, int id, void *guest_code);
void vcpu_free(struct kvm_vcpu *vcpu);
void vcpu_args_set(struct kvm_vcpu *vcpu, int n, ...);
void vcpu_setup_long_mode(struct kvm_vcpu *vcpu);
void sregs_long_mode(struct kvm_sregs *s);	/* vcpu_setup_long_mode's sregs */
int __vcpu_setup_long_mode(struct kvm_vcpu *vcpu);	/* KVM_SET_SREGS's result */
void vcpu_setup_real_mode(struct kvm_vcpu *vcpu, uint16_t cs, uint16_t ip);
void vcpu_setup_pm32(struct kvm_vcpu *vcpu, uint32_t eip, bool paging);
void vcpu_get_regs(struct kvm_vcpu *vcpu, struct kvm_regs *r);
void vcpu_set_regs(struct kvm_vcpu *vcpu, struct kvm_regs *r);
void vcpu_get_sregs(struct kvm_vcpu *vcpu, struct kvm_sregs *s);
void vcpu_set_sregs(struct kvm_vcpu *vcpu, struct kvm_sregs *s);
int vcpu_run(struct kvm_vcpu *vcpu);		/* raw KVM_RUN: 0 or -errno */
void vcpu_set_cpuid_host(struct kvm_vcpu *vcpu);	/* KVM_GET_SUPPORTED_CPUID -> SET_CPUID2 */
struct kvm_cpuid2 *kvm_get_supported_cpuid(void);
void seg_flat(struct kvm_segment *s, uint16_t sel, int type, bool l, bool db);

/*
 * Check the exit of a guest access to a gpa with no memslot: KVM_EXIT_MMIO
 * (phys_addr, len, is_write, data). Prints what it got on mismatch.
 */
bool check_unmapped_exit(struct kvm_vcpu *vcpu, uint64_t gpa, int len, bool write,
			 uint64_t wdata);

/* ------------------------------------------------------------ ucall */
#define UCALL_PORT 0xE0
enum { UCALL_NONE = 0, UCALL_SYNC, UCALL_DONE, UCALL_ABORT, UCALL_PRINT };
struct ucall {
	uint64_t cmd;
	uint64_t args[6];
	const char *file;	/* same address in host and guest */
	const char *expr;
	uint64_t line;
};

void ucall(uint64_t cmd, int nargs, ...);	/* guest side */
void ucall_assert(const char *file, int line, const char *expr, uint64_t a, uint64_t b);
/* host side: UCALL_* of the current exit, UCALL_NONE if it is not a ucall */
int get_ucall(struct kvm_vcpu *vcpu, struct ucall *uc);
/* KVM_RUN, then get_ucall; prints details for UCALL_ABORT / non-ucall exits */
int vcpu_run_ucall(struct kvm_vcpu *vcpu, struct ucall *uc);

#define GUEST_SYNC(x)		ucall(UCALL_SYNC, 1, (uint64_t)(x))
#define GUEST_SYNC2(x, y)	ucall(UCALL_SYNC, 2, (uint64_t)(x), (uint64_t)(y))
#define GUEST_DONE()		ucall(UCALL_DONE, 0)
#define GUEST_ASSERT(c) do { \
	if (!(c)) \
		ucall_assert(__FILE__, __LINE__, #c, 0, 0); \
} while (0)
#define GUEST_ASSERT_EQ(a, b) do { \
	uint64_t __a = (uint64_t)(a), __b = (uint64_t)(b); \
	if (__a != __b) \
		ucall_assert(__FILE__, __LINE__, #a " == " #b, __a, __b); \
} while (0)

/* ------------------------------------------------------------ guest helpers */
static inline void outb(uint16_t port, uint8_t v) { asm volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { asm volatile("outw %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { asm volatile("outl %0, %1" :: "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint16_t inw(uint16_t port) { uint16_t v; asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint32_t inl(uint16_t port) { uint32_t v; asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline void wrmsr(uint32_t msr, uint64_t v)
{
	asm volatile("wrmsr" :: "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}
static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return lo | ((uint64_t)hi << 32);
}
static inline void cpuid_count(uint32_t leaf, uint32_t sub, uint32_t *a, uint32_t *b,
			       uint32_t *c, uint32_t *d)
{
	asm volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}
static inline void halt(void) { asm volatile("hlt"); }

#endif
