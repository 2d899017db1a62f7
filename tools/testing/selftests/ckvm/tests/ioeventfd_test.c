// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_IOEVENTFD: its validation (flags, lengths, wraparound, bad fds,
 * collisions, deassign of what does not exist), and guests whose port
 * I/O and MMIO writes signal eventfds without an exit to userspace: with
 * and without a length, with and without datamatch, REP OUTS, reads that
 * still exit, deassign, an eventfd closed while assigned, and a VM
 * destroyed with ioeventfds still assigned.
 *
 * Every expected value is what the distro kvm_amd/kvm_intel does. The
 * MMIO part needs guest MMIO to reach the module (ckvm's instruction
 * emulator) and fails when it does not.
 */
#include <sys/eventfd.h>

#include "ckvm_util.h"
#include "mmio_util.h"

#define PORT_W		0x500	/* wildcard, 2 bytes */
#define PORT_DM		0x504	/* datamatch 0xbeef and 0xcafe, 2 bytes */
#define PORT_ANY	0x508	/* no length */
#define PORT_CLOSED	0x50c	/* 1 byte; its eventfd is closed */
#define MMIO_W		0xd0000000ULL	/* wildcard, 4 bytes */
#define MMIO_DM		0xd0000008ULL	/* datamatch, 8 bytes */
#define MMIO_ANY	0xd0000010ULL	/* no length */
#define DM8		0x1122334455667788ULL

static uint16_t words[5] = { 10, 11, 12, 13, 14 };

static void guest_pio(void)
{
	void *p = words;
	uint64_t n = 5;

	outw(PORT_W, 1);
	outw(PORT_W, 2);
	outw(PORT_W, 3);
	GUEST_SYNC(1);
	outb(PORT_W, 0x11);		/* other length: exits */
	outl(PORT_W, 0x22);
	outw(PORT_DM, 0xbeef);
	outw(PORT_DM, 0xcafe);
	outw(PORT_DM, 0xcafe);
	outw(PORT_DM, 0xbeee);		/* no match: exits */
	GUEST_SYNC(2);
	outb(PORT_ANY, 1);
	outw(PORT_ANY, 2);
	outl(PORT_ANY, 3);
	GUEST_SYNC(inw(PORT_W));	/* reads exit */
	asm volatile("cld; rep outsw" : "+S"(p), "+c"(n) : "d"(PORT_W) : "memory");
	GUEST_SYNC(n);
	outb(PORT_CLOSED, 7);
	GUEST_SYNC(4);
	outw(PORT_W, 4);		/* deassigned: exits */
	GUEST_DONE();
}

static void guest_mmio(void)
{
	*(volatile uint32_t *)MMIO_W = 1;
	*(volatile uint32_t *)MMIO_W = 2;
	GUEST_SYNC(1);
	*(volatile uint16_t *)MMIO_W = 3;	/* other length: exits */
	*(volatile uint64_t *)MMIO_DM = DM8;
	*(volatile uint64_t *)MMIO_DM = DM8 + 1;	/* no match: exits */
	*(volatile uint8_t *)MMIO_ANY = 1;
	*(volatile uint32_t *)MMIO_ANY = 2;
	GUEST_SYNC(*(volatile uint32_t *)MMIO_W);	/* reads exit */
	*(volatile uint32_t *)MMIO_W = 5;		/* deassigned: exits */
	GUEST_DONE();
}

/* ---- host ---- */

static int ioeventfd(struct kvm_vm *vm, uint64_t addr, uint32_t len, int fd,
		     uint32_t flags, uint64_t datamatch)
{
	struct kvm_ioeventfd e = {
		.datamatch = datamatch, .addr = addr, .len = len, .fd = fd,
		.flags = flags,
	};

	return ioctl(vm->fd, KVM_IOEVENTFD, &e);
}

static int new_eventfd(void)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	TEST_ASSERT(fd >= 0, "eventfd");
	return fd;
}

/* The eventfd's count, reset to 0 (0 if it was 0). */
static uint64_t efd_take(int fd)
{
	uint64_t n = 0;

	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

static void sync_eq(struct kvm_vcpu *v, uint64_t want, const char *what)
{
	struct ucall uc;
	int r = vcpu_run_ucall(v, &uc);

	if (r != UCALL_SYNC) {
		ksft_test_result(false, "%s: no sync (ucall %d)\n", what, r);
		return;
	}
	CHECK_EQ(uc.args[0], want, "%s\n", what);
}

/* The next exit is port I/O to @port of @size bytes (and @data if OUT). */
static void pio_exit(struct kvm_vcpu *v, int dir, uint16_t port, int size,
		     uint32_t data, const char *what)
{
	struct kvm_run *run = v->run;
	uint32_t d = 0;
	int r = vcpu_run(v);

	if (!r && run->exit_reason == KVM_EXIT_IO)
		memcpy(&d, (char *)run + run->io.data_offset, size);
	if (r || run->exit_reason != KVM_EXIT_IO || run->io.direction != dir ||
	    run->io.port != port || run->io.size != size || run->io.count != 1 ||
	    (dir == KVM_EXIT_IO_OUT && d != data)) {
		ksft_print_msg("want %s port 0x%x size %d data 0x%x; got r %d exit %u (%s) dir %d port 0x%x size %d count %u data 0x%x",
			       dir == KVM_EXIT_IO_OUT ? "OUT" : "IN", port, size, data, r,
			       run->exit_reason, exit_reason_str(run->exit_reason),
			       run->io.direction, run->io.port, run->io.size,
			       run->io.count, d);
		ksft_test_result(false, "%s\n", what);
		return;
	}
	if (dir == KVM_EXIT_IO_IN)
		memcpy((char *)run + run->io.data_offset, &data, size);
	ksft_test_result(true, "%s\n", what);
}

/* The next exit is MMIO at @gpa of @len bytes (and @data if a write). */
static void mmio_exit(struct kvm_vcpu *v, bool write, uint64_t gpa, int len,
		      uint64_t data, const char *what)
{
	struct kvm_run *run = v->run;
	uint64_t d = 0;
	int r = vcpu_run(v);

	if (!r && run->exit_reason == KVM_EXIT_MMIO)
		memcpy(&d, run->mmio.data, len);
	if (r || run->exit_reason != KVM_EXIT_MMIO || run->mmio.phys_addr != gpa ||
	    run->mmio.len != (uint32_t)len || run->mmio.is_write != write ||
	    (write && d != data)) {
		ksft_print_msg("want MMIO %s 0x%llx len %d data 0x%llx; got r %d exit %u (%s) gpa 0x%llx len %u write %d data 0x%llx",
			       write ? "write" : "read", (unsigned long long)gpa, len,
			       (unsigned long long)data, r, run->exit_reason,
			       exit_reason_str(run->exit_reason),
			       (unsigned long long)run->mmio.phys_addr, run->mmio.len,
			       run->mmio.is_write, (unsigned long long)d);
		ksft_test_result(false, "%s\n", what);
		return;
	}
	if (!write)
		memcpy(run->mmio.data, &data, len);
	ksft_test_result(true, "%s\n", what);
}

static void test_caps(void)
{
	CHECK_EQ(kvm_check_cap(KVM_CAP_IOEVENTFD), 1, "KVM_CAP_IOEVENTFD");
	CHECK_EQ(kvm_check_cap(KVM_CAP_IOEVENTFD_ANY_LENGTH), 1,
		 "KVM_CAP_IOEVENTFD_ANY_LENGTH");
	CHECK_EQ(kvm_check_cap(KVM_CAP_IOEVENTFD_NO_LENGTH), 1,
		 "KVM_CAP_IOEVENTFD_NO_LENGTH");
}

static void test_api(void)
{
	const uint32_t PIO = KVM_IOEVENTFD_FLAG_PIO;
	const uint32_t DM = KVM_IOEVENTFD_FLAG_DATAMATCH;
	const uint32_t DE = KVM_IOEVENTFD_FLAG_DEASSIGN;
	struct kvm_vm *vm = vm_create_bare();
	int a = new_eventfd(), b = new_eventfd(), c = new_eventfd();

	CHECK_ERRNO(ioeventfd(vm, 0x700, 3, a, PIO, 0), EINVAL, "length 3 -> EINVAL");
	CHECK_ERRNO(ioeventfd(vm, 0x700, 16, a, PIO, 0), EINVAL, "length 16 -> EINVAL");
	CHECK_ERRNO(ioeventfd(vm, ~0ULL - 1, 4, a, 0, 0), EINVAL,
		    "range wrapping past 2^64 -> EINVAL");
	CHECK_ERRNO(ioeventfd(vm, 0x700, 2, a, PIO | (1 << 5), 0), EINVAL,
		    "unknown flag -> EINVAL");
	CHECK_ERRNO(ioeventfd(vm, 0x700, 0, a, PIO | DM, 0), EINVAL,
		    "datamatch without a length -> EINVAL");
	CHECK_ERRNO(ioeventfd(vm, 0x700, 2, -1, PIO, 0), EBADF, "fd -1 -> EBADF");
	CHECK_ERRNO(ioeventfd(vm, 0x700, 2, vm->fd, PIO, 0), EINVAL,
		    "fd that is no eventfd -> EINVAL");
	CHECK_ERRNO(ioctl(vm->fd, KVM_IOEVENTFD, NULL), EFAULT, "NULL -> EFAULT");

	CHECK_OK(ioeventfd(vm, 0x700, 2, a, PIO, 0), "PIO, 2 bytes, any value");
	CHECK_ERRNO(ioeventfd(vm, 0x700, 2, b, PIO, 0), EEXIST,
		    "same port and length again -> EEXIST");
	CHECK_ERRNO(ioeventfd(vm, 0x700, 2, b, PIO | DM, 5), EEXIST,
		    "datamatch over an any-value one -> EEXIST");
	CHECK_ERRNO(ioeventfd(vm, 0x700, 0, b, PIO, 0), EEXIST,
		    "no length at the same port -> EEXIST");
	CHECK_OK(ioeventfd(vm, 0x700, 4, b, PIO, 0), "same port, other length");
	CHECK_OK(ioeventfd(vm, 0x700, 2, b, 0, 0), "same address on the MMIO bus");
	CHECK_OK(ioeventfd(vm, 0x710, 4, a, PIO | DM, 1), "datamatch 1");
	CHECK_OK(ioeventfd(vm, 0x710, 4, b, PIO | DM, 2), "datamatch 2 at the same port");
	CHECK_ERRNO(ioeventfd(vm, 0x710, 4, c, PIO | DM, 1), EEXIST,
		    "datamatch 1 again -> EEXIST");
	CHECK_ERRNO(ioeventfd(vm, 0x710, 4, c, PIO, 0), EEXIST,
		    "any value over datamatches -> EEXIST");
	CHECK_OK(ioeventfd(vm, 0x720, 0, c, PIO, 0), "PIO without a length");
	CHECK_ERRNO(ioeventfd(vm, 0x720, 1, a, PIO, 0), EEXIST,
		    "a length where one without exists -> EEXIST");
	/* s390's bus and the fast-MMIO flag: KVM accepts both on x86. */
	CHECK_OK(ioeventfd(vm, 0x700, 2, c, KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY, 0),
		 "VIRTIO_CCW_NOTIFY: its own bus");
	CHECK_OK(ioeventfd(vm, 0x730, 2, c, PIO | (1 << kvm_ioeventfd_flag_nr_fast_mmio), 0),
		 "fast-MMIO flag accepted");
	CHECK_OK(ioeventfd(vm, ~0ULL - 4, 4, c, 0, 0), "range ending just below 2^64");

	CHECK_ERRNO(ioeventfd(vm, 0x700, 2, b, PIO | DE, 0), ENOENT,
		    "deassign with another eventfd -> ENOENT");
	CHECK_ERRNO(ioeventfd(vm, 0x700, 2, a, PIO | DM | DE, 0), ENOENT,
		    "deassign with a datamatch it does not have -> ENOENT");
	CHECK_ERRNO(ioeventfd(vm, 0x700, 2, a, DE, 0), ENOENT,
		    "deassign on the other bus -> ENOENT");
	CHECK_ERRNO(ioeventfd(vm, 0x700, 3, a, PIO | DE, 0), ENOENT,
		    "deassign, length 3: not validated, not found -> ENOENT");
	CHECK_ERRNO(ioeventfd(vm, 0x700, 2, -1, PIO | DE, 0), EBADF,
		    "deassign fd -1 -> EBADF");
	CHECK_OK(ioeventfd(vm, 0x700, 2, a, PIO | DE, 0), "deassign");
	CHECK_ERRNO(ioeventfd(vm, 0x700, 2, a, PIO | DE, 0), ENOENT,
		    "deassign again -> ENOENT");
	CHECK_ERRNO(ioeventfd(vm, 0x710, 4, b, PIO | DM | DE, 1), ENOENT,
		    "deassign datamatch 1 with 2's eventfd -> ENOENT");
	CHECK_OK(ioeventfd(vm, 0x710, 4, b, PIO | DM | DE, 2), "deassign datamatch 2");
	CHECK_OK(ioeventfd(vm, 0x700, 2, c, PIO | DM, 9),
		 "the port is free for a datamatch now");

	/* The VM goes with ioeventfds assigned; their eventfds outlive it. */
	kvm_vm_free(vm);
	close(a);
	close(b);
	close(c);
}

static void test_pio(void)
{
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *v = vcpu_add(vm, 0, guest_pio);
	int w = new_eventfd(), dm1 = new_eventfd(), dm2 = new_eventfd();
	int any = new_eventfd(), closed = new_eventfd();
	const uint32_t PIO = KVM_IOEVENTFD_FLAG_PIO;
	struct ucall uc;

	TEST_ASSERT(!ioeventfd(vm, PORT_W, 2, w, PIO, 0), "ioeventfd");
	TEST_ASSERT(!ioeventfd(vm, PORT_DM, 2, dm1, PIO | KVM_IOEVENTFD_FLAG_DATAMATCH,
			       0xbeef), "ioeventfd");
	TEST_ASSERT(!ioeventfd(vm, PORT_DM, 2, dm2, PIO | KVM_IOEVENTFD_FLAG_DATAMATCH,
			       0xcafe), "ioeventfd");
	TEST_ASSERT(!ioeventfd(vm, PORT_ANY, 0, any, PIO, 0), "ioeventfd");
	TEST_ASSERT(!ioeventfd(vm, PORT_CLOSED, 1, closed, PIO, 0), "ioeventfd");
	close(closed);

	sync_eq(v, 1, "PIO: three OUTs without an exit");
	CHECK_EQ(efd_take(w), 3, "PIO: eventfd counted 3");
	pio_exit(v, KVM_EXIT_IO_OUT, PORT_W, 1, 0x11, "PIO: OUT of 1 byte exits");
	pio_exit(v, KVM_EXIT_IO_OUT, PORT_W, 4, 0x22, "PIO: OUT of 4 bytes exits");
	pio_exit(v, KVM_EXIT_IO_OUT, PORT_DM, 2, 0xbeee, "PIO: datamatch miss exits");
	sync_eq(v, 2, "PIO: matching datamatch writes did not exit");
	CHECK_EQ(efd_take(dm1), 1, "PIO: datamatch 0xbeef signalled once");
	CHECK_EQ(efd_take(dm2), 2, "PIO: datamatch 0xcafe signalled twice");
	CHECK_EQ(efd_take(w), 0, "PIO: other lengths did not signal");
	pio_exit(v, KVM_EXIT_IO_IN, PORT_W, 2, 0x7777, "PIO: IN exits");
	sync_eq(v, 0x7777, "PIO: IN completed with userspace's data");
	CHECK_EQ(efd_take(any), 3, "PIO: no-length ioeventfd took 1, 2 and 4 bytes");
	sync_eq(v, 0, "PIO: REP OUTSW of 5 without an exit");
	CHECK_EQ(efd_take(w), 5, "PIO: REP OUTSW signalled 5 times");
	sync_eq(v, 4, "PIO: write to an ioeventfd whose eventfd is closed");
	TEST_ASSERT(!ioeventfd(vm, PORT_W, 2, w, PIO | KVM_IOEVENTFD_FLAG_DEASSIGN, 0),
		    "deassign");
	pio_exit(v, KVM_EXIT_IO_OUT, PORT_W, 2, 4, "PIO: after deassign, OUT exits");
	ksft_test_result(vcpu_run_ucall(v, &uc) == UCALL_DONE, "PIO: guest done\n");
	CHECK_EQ(efd_take(w), 0, "PIO: deassigned eventfd not signalled");
	vcpu_free(v);
	kvm_vm_free(vm);
	close(w);
	close(dm1);
	close(dm2);
	close(any);
}

#define MMIO_TESTS 11

static void test_mmio(void)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *v;
	int w, dm, any;
	struct ucall uc;

	if (!mmio_exits_work()) {
		for (int i = 0; i < MMIO_TESTS; i++)
			ksft_test_result(false, "MMIO: a guest write to a gpa without a memslot did not become KVM_EXIT_MMIO\n");
		return;
	}
	vm = vm_create();
	v = vcpu_add(vm, 0, guest_mmio);
	w = new_eventfd();
	dm = new_eventfd();
	any = new_eventfd();
	TEST_ASSERT(!ioeventfd(vm, MMIO_W, 4, w, 0, 0), "ioeventfd");
	TEST_ASSERT(!ioeventfd(vm, MMIO_DM, 8, dm, KVM_IOEVENTFD_FLAG_DATAMATCH, DM8),
		    "ioeventfd");
	TEST_ASSERT(!ioeventfd(vm, MMIO_ANY, 0, any, 0, 0), "ioeventfd");

	sync_eq(v, 1, "MMIO: two writes without an exit");
	CHECK_EQ(efd_take(w), 2, "MMIO: eventfd counted 2");
	mmio_exit(v, true, MMIO_W, 2, 3, "MMIO: write of 2 bytes exits");
	mmio_exit(v, true, MMIO_DM, 8, DM8 + 1, "MMIO: datamatch miss exits");
	CHECK_EQ(efd_take(dm), 1, "MMIO: datamatch hit signalled");
	mmio_exit(v, false, MMIO_W, 4, 0x5555, "MMIO: read exits");
	sync_eq(v, 0x5555, "MMIO: read completed with userspace's data");
	CHECK_EQ(efd_take(any), 2, "MMIO: no-length ioeventfd took 1 and 4 bytes");
	TEST_ASSERT(!ioeventfd(vm, MMIO_W, 4, w, KVM_IOEVENTFD_FLAG_DEASSIGN, 0),
		    "deassign");
	mmio_exit(v, true, MMIO_W, 4, 5, "MMIO: after deassign, the write exits");
	ksft_test_result(vcpu_run_ucall(v, &uc) == UCALL_DONE, "MMIO: guest done\n");
	CHECK_EQ(efd_take(w), 0, "MMIO: deassigned eventfd not signalled");
	vcpu_free(v);
	kvm_vm_free(vm);
	close(w);
	close(dm);
	close(any);
}

int main(void)
{
	ksft_print_header();
	ksft_set_plan(3 + 33 + 18 + MMIO_TESTS);
	kvm_open();
	test_caps();
	test_api();
	test_pio();
	test_mmio();
	return ksft_finished();
}
