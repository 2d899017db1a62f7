// SPDX-License-Identifier: GPL-2.0
/*
 * vmm: a small QEMU-style userspace VMM over /dev/kvm.
 *
 *   vmm [-m MB] guest.bin
 *
 * One vCPU, one memslot of MB MiB of RAM (default 16) at guest-physical 0.
 * guest.bin is a flat binary loaded at guest-physical 0x10000 and started
 * in real mode at CS:IP = 0x1000:0000 (CS.base 0x10000), DS=ES=FS=GS=SS=0,
 * SP = 0xfff0 (the stack grows down in the 64 KiB below the image),
 * RFLAGS = 2, every other register 0. The vCPU gets the CPUID that
 * KVM_GET_SUPPORTED_CPUID reports (so the guest may enter long mode).
 *
 * Guest I/O ports:
 *   0x3f8  OUT: byte written to stdout (a minimal serial port)
 *   0x3fd  IN: 0x60 (line status: transmitter empty) for polling guests
 *   0x501  OUT: stop; the value written is vmm's exit status
 * HLT also stops, with exit status 0. Any other exit prints a diagnostic
 * and exits 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/kvm.h>

#define GUEST_LOAD_ADDR	0x10000UL
#define GUEST_CS	0x1000
#define PORT_SERIAL	0x3f8
#define PORT_SERIAL_LSR	0x3fd
#define PORT_EXIT	0x501

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("vmm: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* ioctl wrapper: a failing call dies with the ioctl's name and errno. */
#define xioctl(fd, req, arg) do_ioctl(fd, req, (unsigned long)(arg), #req)
static int do_ioctl(int fd, unsigned long req, unsigned long arg, const char *name)
{
	int r = ioctl(fd, req, arg);

	if (r < 0)
		die("ioctl(%s): %s", name, strerror(errno));
	return r;
}

static const char *exit_name(unsigned int r)
{
	static const char *const names[] = {
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

	if (r < sizeof(names) / sizeof(names[0]) && names[r])
		return names[r];
	return "?";
}

static void dump_regs(int vcpu)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;

	if (ioctl(vcpu, KVM_GET_REGS, &regs) < 0 ||
	    ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) {
		fprintf(stderr, "vmm: (cannot read registers: %s)\n", strerror(errno));
		return;
	}
	fprintf(stderr,
		"vmm: rip=%#llx rsp=%#llx rflags=%#llx rax=%#llx\n"
		"vmm: cs=%#x (base %#llx) cr0=%#llx cr3=%#llx cr4=%#llx efer=%#llx\n",
		regs.rip, regs.rsp, regs.rflags, regs.rax,
		sregs.cs.selector, sregs.cs.base, sregs.cr0, sregs.cr3,
		sregs.cr4, sregs.efer);
}

/*
 * Give the vCPU the CPUID the host supports. Without it the guest's CPUID
 * is empty and KVM refuses e.g. EFER.LME (no long mode).
 */
static void setup_cpuid(int kvm, int vcpu)
{
	struct kvm_cpuid2 *cpuid;
	int nent = 64;

	for (;;) {
		cpuid = calloc(1, sizeof(*cpuid) + nent * sizeof(cpuid->entries[0]));
		if (!cpuid)
			die("calloc(cpuid): out of memory");
		cpuid->nent = nent;
		if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, cpuid) == 0)
			break;
		if (errno != E2BIG || nent >= 4096)
			die("ioctl(KVM_GET_SUPPORTED_CPUID): %s", strerror(errno));
		free(cpuid);
		nent *= 2;
	}
	xioctl(vcpu, KVM_SET_CPUID2, cpuid);
	free(cpuid);
}

static void usage(void)
{
	fprintf(stderr, "usage: vmm [-m MB] guest.bin\n"
		"  loads guest.bin at guest-physical %#lx, starts it in real mode at %04x:0000\n",
		GUEST_LOAD_ADDR, GUEST_CS);
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long mem_mb = 16, mem_size;
	struct kvm_userspace_memory_region region;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_run *run;
	struct stat st;
	int kvm, vm, vcpu, img, opt, api;
	long run_size;
	uint8_t *mem;
	ssize_t n;

	while ((opt = getopt(argc, argv, "m:h")) != -1) {
		switch (opt) {
		case 'm':
			mem_mb = strtoul(optarg, NULL, 0);
			if (mem_mb < 1 || mem_mb > 4096)
				die("-m %s: want 1..4096 MiB", optarg);
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1)
		usage();
	mem_size = mem_mb << 20;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		die("open(/dev/kvm): %s", strerror(errno));
	api = xioctl(kvm, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION)
		die("KVM_GET_API_VERSION: %d, want %d", api, KVM_API_VERSION);

	vm = xioctl(kvm, KVM_CREATE_VM, 0);

	mem = mmap(NULL, mem_size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap(%lu MiB of guest RAM): %s", mem_mb, strerror(errno));

	img = open(argv[optind], O_RDONLY | O_CLOEXEC);
	if (img < 0)
		die("open(%s): %s", argv[optind], strerror(errno));
	if (fstat(img, &st) < 0)
		die("fstat(%s): %s", argv[optind], strerror(errno));
	if ((unsigned long)st.st_size > mem_size - GUEST_LOAD_ADDR)
		die("%s: %lld bytes do not fit in %lu MiB above %#lx", argv[optind],
		    (long long)st.st_size, mem_mb, GUEST_LOAD_ADDR);
	n = read(img, mem + GUEST_LOAD_ADDR, st.st_size);
	if (n != st.st_size)
		die("read(%s): %s", argv[optind], n < 0 ? strerror(errno) : "short read");
	close(img);

	memset(&region, 0, sizeof(region));
	region.slot = 0;
	region.guest_phys_addr = 0;
	region.memory_size = mem_size;
	region.userspace_addr = (unsigned long)mem;
	xioctl(vm, KVM_SET_USER_MEMORY_REGION, &region);

	vcpu = xioctl(vm, KVM_CREATE_VCPU, 0);
	run_size = xioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < (long)sizeof(*run))
		die("KVM_GET_VCPU_MMAP_SIZE: %ld is too small", run_size);
	run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		die("mmap(vcpu kvm_run): %s", strerror(errno));

	setup_cpuid(kvm, vcpu);

	xioctl(vcpu, KVM_GET_SREGS, &sregs);
	sregs.cs.selector = GUEST_CS;
	sregs.cs.base = (uint64_t)GUEST_CS << 4;
	sregs.ds.selector = sregs.es.selector = sregs.fs.selector = 0;
	sregs.gs.selector = sregs.ss.selector = 0;
	sregs.ds.base = sregs.es.base = sregs.fs.base = 0;
	sregs.gs.base = sregs.ss.base = 0;
	xioctl(vcpu, KVM_SET_SREGS, &sregs);

	memset(&regs, 0, sizeof(regs));
	regs.rip = 0;
	regs.rsp = 0xfff0;
	regs.rflags = 2;
	xioctl(vcpu, KVM_SET_REGS, &regs);

	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			die("ioctl(KVM_RUN): %s", strerror(errno));
		}

		switch (run->exit_reason) {
		case KVM_EXIT_IO: {
			uint8_t *data = (uint8_t *)run + run->io.data_offset;
			unsigned int i, j;

			for (i = 0; i < run->io.count; i++, data += run->io.size) {
				if (run->io.direction == KVM_EXIT_IO_OUT &&
				    run->io.port == PORT_SERIAL) {
					fputc(data[0], stdout);
					if (data[0] == '\n')
						fflush(stdout);
				} else if (run->io.direction == KVM_EXIT_IO_OUT &&
					   run->io.port == PORT_EXIT) {
					uint32_t v = 0;

					memcpy(&v, data, run->io.size);
					fflush(stdout);
					return v & 0xff;
				} else if (run->io.direction == KVM_EXIT_IO_IN) {
					/* Reads: serial LSR says "ready", the rest all-ones. */
					for (j = 0; j < run->io.size; j++)
						data[j] = run->io.port == PORT_SERIAL_LSR ? 0x60 : 0xff;
				}
				/* Other OUTs are ignored. */
			}
			break;
		}
		case KVM_EXIT_HLT:
			fflush(stdout);
			return 0;
		case KVM_EXIT_FAIL_ENTRY:
			fflush(stdout);
			fprintf(stderr,
				"vmm: KVM_EXIT_FAIL_ENTRY: hardware_entry_failure_reason=%#llx cpu=%u\n",
				(unsigned long long)run->fail_entry.hardware_entry_failure_reason,
				run->fail_entry.cpu);
			dump_regs(vcpu);
			return 1;
		case KVM_EXIT_INTERNAL_ERROR: {
			unsigned int i;

			fflush(stdout);
			fprintf(stderr, "vmm: KVM_EXIT_INTERNAL_ERROR: suberror=%u ndata=%u",
				run->internal.suberror, run->internal.ndata);
			for (i = 0; i < run->internal.ndata && i < 16; i++)
				fprintf(stderr, " data[%u]=%#llx", i,
					(unsigned long long)run->internal.data[i]);
			fputc('\n', stderr);
			dump_regs(vcpu);
			return 1;
		}
		case KVM_EXIT_MMIO:
			fflush(stdout);
			fprintf(stderr, "vmm: KVM_EXIT_MMIO: %s of %u bytes at gpa %#llx\n",
				run->mmio.is_write ? "write" : "read", run->mmio.len,
				(unsigned long long)run->mmio.phys_addr);
			dump_regs(vcpu);
			return 1;
		default:
			fflush(stdout);
			fprintf(stderr, "vmm: unexpected exit reason %u (KVM_EXIT_%s)\n",
				run->exit_reason, exit_name(run->exit_reason));
			dump_regs(vcpu);
			return 1;
		}
	}
}
