// SPDX-License-Identifier: GPL-2.0
/* Port I/O exits: OUT/IN of 1, 2 and 4 bytes (port, size, direction, count,
 * data_offset, data; an IN completes on the next KVM_RUN) and REP INS/OUTS
 * (all data arrives in order over one or several exits, count > 1). */
#include "ckvm_util.h"

#define BIG 10000	/* more than one 4 KiB pio page: needs several exits */
static uint8_t obuf[BIG], ibuf[BIG];

static void guest_code(void)
{
	uint64_t rax;
	void *p;
	uint64_t n;

	outb(0x80, 0x12);
	outw(0x81, 0x3456);
	outl(0x82, 0x789abcde);
	outb(0xffff, 0x5a);
	/* IN only writes AL / AX; 32-bit IN zero-extends into RAX */
	rax = 0x1122334455667788ULL;
	asm volatile("inb $0x90, %%al" : "+a"(rax));
	GUEST_SYNC(rax);
	rax = 0x1122334455667788ULL;
	asm volatile("inw $0x91, %%ax" : "+a"(rax));
	GUEST_SYNC(rax);
	rax = 0x1122334455667788ULL;
	asm volatile("inl $0x92, %%eax" : "+a"(rax));
	GUEST_SYNC(rax);
	rax = 0;
	asm volatile("inb %%dx, %%al" : "+a"(rax) : "d"(0x3f8));
	GUEST_SYNC(rax);

	/* REP OUTS, 1/2/4 bytes, small and big */
	for (int i = 0; i < BIG; i++)
		obuf[i] = (uint8_t)(i * 7 + 3);
	p = obuf; n = 16;
	asm volatile("cld; rep outsb" : "+S"(p), "+c"(n) : "d"(0xa0) : "memory");
	GUEST_ASSERT(n == 0 && p == obuf + 16);
	p = obuf; n = 8;
	asm volatile("rep outsw" : "+S"(p), "+c"(n) : "d"(0xa1) : "memory");
	GUEST_ASSERT(n == 0 && p == obuf + 16);
	p = obuf; n = 4;
	asm volatile("rep outsl" : "+S"(p), "+c"(n) : "d"(0xa2) : "memory");
	GUEST_ASSERT(n == 0 && p == obuf + 16);
	p = obuf; n = BIG;
	asm volatile("rep outsb" : "+S"(p), "+c"(n) : "d"(0xa3) : "memory");
	GUEST_ASSERT(n == 0 && p == obuf + BIG);
	p = obuf; n = BIG / 4;
	asm volatile("rep outsl" : "+S"(p), "+c"(n) : "d"(0xa4) : "memory");
	GUEST_ASSERT(n == 0 && p == obuf + BIG);
	GUEST_SYNC(0x0757);

	/* REP INS */
	p = ibuf; n = 16;
	asm volatile("rep insb" : "+D"(p), "+c"(n) : "d"(0xb0) : "memory");
	GUEST_ASSERT(n == 0 && p == ibuf + 16);
	GUEST_SYNC2(*(uint64_t *)ibuf, *(uint64_t *)(ibuf + 8));
	p = ibuf; n = BIG / 2;
	asm volatile("rep insw" : "+D"(p), "+c"(n) : "d"(0xb1) : "memory");
	GUEST_ASSERT(n == 0 && p == ibuf + BIG);
	uint64_t sum = 0;
	for (int i = 0; i < BIG; i++)
		sum = sum * 31 + ibuf[i];
	GUEST_SYNC(sum);
	/* single (non-REP) OUTSB / INSB */
	p = obuf;
	asm volatile("outsb" : "+S"(p) : "d"(0xc0) : "memory");
	p = ibuf;
	asm volatile("insb" : "+D"(p) : "d"(0xc1) : "memory");
	GUEST_SYNC(ibuf[0]);
	GUEST_DONE();
}

static bool io_exit(struct kvm_vcpu *v, int dir, uint16_t port, int size, const char *what)
{
	struct kvm_run *run = v->run;
	int r = vcpu_run(v);

	if (r || run->exit_reason != KVM_EXIT_IO || run->io.direction != dir ||
	    run->io.port != port || run->io.size != size ||
	    run->io.data_offset < 256 ||
	    run->io.data_offset + (uint64_t)run->io.size * run->io.count > v->run_size) {
		ksft_print_msg("%s: want %s port 0x%x size %d; got r=%d exit %u (%s) dir %d port 0x%x size %d count %u off %llu",
			       what, dir ? "OUT" : "IN", port, size, r, run->exit_reason,
			       exit_reason_str(run->exit_reason), run->io.direction, run->io.port,
			       run->io.size, run->io.count, (unsigned long long)run->io.data_offset);
		return false;
	}
	return true;
}

static uint64_t data_of(struct kvm_vcpu *v)
{
	uint64_t d = 0;

	memcpy(&d, (char *)v->run + v->run->io.data_offset, v->run->io.size);
	return d;
}

static bool out_ok(struct kvm_vcpu *v, uint16_t port, int size, uint64_t val)
{
	char name[64];

	snprintf(name, sizeof(name), "OUT port 0x%x", port);
	if (!io_exit(v, KVM_EXIT_IO_OUT, port, size, name))
		return false;
	if (v->run->io.count != 1 || data_of(v) != val) {
		ksft_print_msg("count %u data 0x%llx want 0x%llx", v->run->io.count,
			       (unsigned long long)data_of(v), (unsigned long long)val);
		return false;
	}
	return true;
}

static bool in_ok(struct kvm_vcpu *v, uint16_t port, int size, uint32_t val, uint64_t want_rax)
{
	struct ucall uc;

	if (!io_exit(v, KVM_EXIT_IO_IN, port, size, "IN") || v->run->io.count != 1)
		return false;
	memcpy((char *)v->run + v->run->io.data_offset, &val, size);
	if (vcpu_run_ucall(v, &uc) != UCALL_SYNC)
		return false;
	if (uc.args[0] != want_rax)
		ksft_print_msg("IN port 0x%x: guest RAX 0x%llx want 0x%llx", port,
			       (unsigned long long)uc.args[0], (unsigned long long)want_rax);
	return uc.args[0] == want_rax;
}

/*
 * String I/O exit layout: io.count elements of io.size bytes, contiguous at
 * (char *)run + io.data_offset (inside the vCPU mmap). Userspace must accept
 * any count >= 1 per exit and keep going until the instruction is done.
 * Measured on kvm_amd (6.1): REP OUTS exits once per element (count 1 each,
 * 10000 exits for 10000 bytes); REP INS is batched (16 bytes in one exit
 * with count 16; 5000 words in 10 exits, count up to 512, bounded by guest
 * page boundaries).
 */
/* collect a REP OUTS of total bytes over however many exits it takes */
static bool outs_ok(struct kvm_vcpu *v, uint16_t port, int size, int total, const uint8_t *want)
{
	static uint8_t got[BIG];
	int have = 0, exits = 0, maxcount = 0;

	while (have < total) {
		if (!io_exit(v, KVM_EXIT_IO_OUT, port, size, "OUTS"))
			return false;
		int bytes = v->run->io.count * size;

		if (v->run->io.count < 1 || have + bytes > total) {
			ksft_print_msg("OUTS port 0x%x: bad count %u (have %d of %d)", port,
				       v->run->io.count, have, total);
			return false;
		}
		memcpy(got + have, (char *)v->run + v->run->io.data_offset, bytes);
		have += bytes;
		exits++;
		if ((int)v->run->io.count > maxcount)
			maxcount = v->run->io.count;
	}
	ksft_print_msg("OUTS port 0x%x size %d: %d bytes in %d exits, max count %d", port, size,
		       total, exits, maxcount);
	if (memcmp(got, want, total)) {
		ksft_print_msg("OUTS port 0x%x: data mismatch", port);
		return false;
	}
	return true;
}

static bool ins_ok(struct kvm_vcpu *v, uint16_t port, int size, int total, const uint8_t *src)
{
	int have = 0, exits = 0, maxcount = 0;

	while (have < total) {
		if (have && vcpu_run(v)) {
			ksft_print_msg("INS: KVM_RUN failed");
			return false;
		}
		if (have && !(v->run->exit_reason == KVM_EXIT_IO)) {
			ksft_print_msg("INS: exit %u", v->run->exit_reason);
			return false;
		}
		if (!have && !io_exit(v, KVM_EXIT_IO_IN, port, size, "INS"))
			return false;
		if (v->run->io.direction != KVM_EXIT_IO_IN || v->run->io.port != port ||
		    v->run->io.size != size) {
			ksft_print_msg("INS: unexpected io exit port 0x%x dir %d", v->run->io.port,
				       v->run->io.direction);
			return false;
		}
		int bytes = v->run->io.count * size;

		if (v->run->io.count < 1 || have + bytes > total ||
		    v->run->io.data_offset + bytes > v->run_size) {
			ksft_print_msg("INS port 0x%x: bad count %u (have %d of %d)", port,
				       v->run->io.count, have, total);
			return false;
		}
		memcpy((char *)v->run + v->run->io.data_offset, src + have, bytes);
		have += bytes;
		exits++;
		if ((int)v->run->io.count > maxcount)
			maxcount = v->run->io.count;
	}
	ksft_print_msg("INS port 0x%x size %d: %d bytes in %d exits, max count %d", port, size,
		       total, exits, maxcount);
	return true;
}

int main(void)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *v;
	struct ucall uc;
	static uint8_t want[BIG], src[BIG];

	ksft_print_header();
	kvm_check_cap(KVM_CAP_USER_MEMORY);
	ksft_set_plan(21);
	vm = vm_create();
	v = vcpu_add(vm, 0, guest_code);
	for (int i = 0; i < BIG; i++) {
		want[i] = (uint8_t)(i * 7 + 3);
		src[i] = (uint8_t)(i * 13 + 1);
	}

	ksft_test_result(out_ok(v, 0x80, 1, 0x12), "OUT 1 byte");
	ksft_test_result(out_ok(v, 0x81, 2, 0x3456), "OUT 2 bytes");
	ksft_test_result(out_ok(v, 0x82, 4, 0x789abcde), "OUT 4 bytes");
	ksft_test_result(out_ok(v, 0xffff, 1, 0x5a), "OUT to port 0xffff");
	ksft_test_result(in_ok(v, 0x90, 1, 0xa5, 0x11223344556677a5ULL), "IN 1 byte completes, rest of RAX kept");
	ksft_test_result(in_ok(v, 0x91, 2, 0xbeef, 0x112233445566beefULL), "IN 2 bytes completes, rest of RAX kept");
	ksft_test_result(in_ok(v, 0x92, 4, 0xcafebabe, 0xcafebabeULL), "IN 4 bytes completes, zero-extended");
	ksft_test_result(in_ok(v, 0x3f8, 1, 0x42, 0x42), "IN via DX port");
	ksft_test_result(outs_ok(v, 0xa0, 1, 16, want), "REP OUTSB 16: all data in order");
	ksft_test_result(outs_ok(v, 0xa1, 2, 16, want), "REP OUTSW 8: all data in order");
	ksft_test_result(outs_ok(v, 0xa2, 4, 16, want), "REP OUTSL 4: all data in order");
	ksft_test_result(outs_ok(v, 0xa3, 1, BIG, want), "REP OUTSB %d: several exits, all data in order", BIG);
	ksft_test_result(outs_ok(v, 0xa4, 4, BIG, want), "REP OUTSL %d: several exits, all data in order", BIG / 4);
	ksft_test_result(vcpu_run_ucall(v, &uc) == UCALL_SYNC && uc.args[0] == 0x757,
			 "guest saw RCX=0 and RSI advanced after REP OUTS");
	ksft_test_result(ins_ok(v, 0xb0, 1, 16, src), "REP INSB 16: exits consistent");
	uint64_t w0, w1;
	memcpy(&w0, src, 8);
	memcpy(&w1, src + 8, 8);
	ksft_test_result(vcpu_run_ucall(v, &uc) == UCALL_SYNC && uc.args[0] == w0 && uc.args[1] == w1,
			 "REP INSB data in guest memory, in order");
	ksft_test_result(ins_ok(v, 0xb1, 2, BIG, src), "REP INSW %d: exits consistent", BIG / 2);
	uint64_t sum = 0;
	for (int i = 0; i < BIG; i++)
		sum = sum * 31 + src[i];
	ksft_test_result(vcpu_run_ucall(v, &uc) == UCALL_SYNC && uc.args[0] == sum,
			 "REP INSW data in guest memory, in order");
	ksft_test_result(out_ok(v, 0xc0, 1, want[0]), "single OUTSB");
	ksft_test_result(ins_ok(v, 0xc1, 1, 1, (const uint8_t *)"\x99") &&
			 vcpu_run_ucall(v, &uc) == UCALL_SYNC && uc.args[0] == 0x99, "single INSB");
	ksft_test_result(vcpu_run_ucall(v, &uc) == UCALL_DONE, "guest done");
	vcpu_free(v);
	kvm_vm_free(vm);
	return ksft_finished();
}
