// SPDX-License-Identifier: GPL-2.0
/* KVM_SET_USER_MEMORY_REGION: create, delete, move, flags, every bad input,
 * guest/host visibility, and memory not being pinned up front. */
#include "ckvm_util.h"
#include <pthread.h>

enum { OP_READ = 1, OP_WRITE, OP_DONE };
static volatile struct { uint64_t op, addr, val; } cmd;

static void guest_code(void)
{
	for (;;) {
		switch (cmd.op) {
		case OP_READ:
			GUEST_SYNC(*(volatile uint64_t *)cmd.addr);
			break;
		case OP_WRITE:
			*(volatile uint64_t *)cmd.addr = cmd.val;
			GUEST_SYNC(0);
			break;
		default:
			GUEST_DONE();
		}
	}
}

static void set_cmd(struct kvm_vm *vm, uint64_t op, uint64_t addr, uint64_t val)
{
	cmd.op = op;
	cmd.addr = addr;
	cmd.val = val;
	memcpy(addr_gpa2hva(vm, (uint64_t)&cmd), (void *)&cmd, sizeof(cmd));
}

/* run a guest read of gpa; true if it synced with want */
static bool guest_reads(struct kvm_vcpu *v, uint64_t gpa, uint64_t want)
{
	struct ucall uc;

	set_cmd(v->vm, OP_READ, gpa, 0);
	if (vcpu_run_ucall(v, &uc) != UCALL_SYNC)
		return false;
	if (uc.args[0] != want)
		ksft_print_msg("guest read 0x%llx at 0x%llx, want 0x%llx", (unsigned long long)uc.args[0],
			       (unsigned long long)gpa, (unsigned long long)want);
	return uc.args[0] == want;
}

static bool guest_writes(struct kvm_vcpu *v, uint64_t gpa, uint64_t val)
{
	struct ucall uc;

	set_cmd(v->vm, OP_WRITE, gpa, val);
	return vcpu_run_ucall(v, &uc) == UCALL_SYNC;
}

static long vm_rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kb = strtol(line + 6, NULL, 10);
	if (f)
		fclose(f);
	return kb;
}

#define SLOT_A	0x10000000ULL	/* 256 MiB */
#define SLOT_B	0x20000000ULL
#define SZ	(2ULL << 20)

static void test_bad_inputs(void)
{
	struct kvm_vm *vm = vm_create_bare();
	int nslots = kvm_check_cap(KVM_CAP_NR_MEMSLOTS);
	char *m = mmap(NULL, 4 * SZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *hva = (char *)(((uintptr_t)m + SZ - 1) & ~(SZ - 1));	/* 2 MiB aligned */

	TEST_ASSERT(m != MAP_FAILED, "mmap");
	CHECK_OK(__vm_set_region(vm, 1, 0, SLOT_A, SZ, hva), "create slot 1");
	CHECK_OK(__vm_set_region(vm, 1, 0, SLOT_A, SZ, hva), "re-set slot 1 unchanged -> 0");
	CHECK_ERRNO(__vm_set_region(vm, 2, 0x80, SLOT_B, SZ, hva), EINVAL, "unknown flag 0x80 -> EINVAL");
	CHECK_ERRNO(__vm_set_region(vm, 2, 1u << 31, SLOT_B, SZ, hva), EINVAL, "unknown flag bit 31 -> EINVAL");
	CHECK_ERRNO(__vm_set_region(vm, 2, 0, SLOT_B + 0x800, SZ, hva), EINVAL, "misaligned gpa -> EINVAL");
	CHECK_ERRNO(__vm_set_region(vm, 2, 0, SLOT_B, SZ - 0x800, hva), EINVAL, "misaligned size -> EINVAL");
	CHECK_ERRNO(__vm_set_region(vm, 2, 0, SLOT_B, SZ, hva + 8), EINVAL, "misaligned userspace_addr -> EINVAL");
	CHECK_ERRNO(__vm_set_region(vm, 2, 0, SLOT_A + SZ / 2, SZ, hva + SZ), EEXIST, "overlap (partial) -> EEXIST");
	CHECK_ERRNO(__vm_set_region(vm, 2, 0, SLOT_A + 4096, 4096, hva + SZ), EEXIST, "overlap (inside) -> EEXIST");
	CHECK_ERRNO(__vm_set_region(vm, 2, 0, SLOT_A - 4096, 3 * SZ, hva + SZ), EEXIST, "overlap (covering) -> EEXIST");
	CHECK_OK(__vm_set_region(vm, 2, 0, SLOT_A - SZ, SZ, hva + SZ), "adjacent slot below -> ok");
	CHECK_ERRNO(__vm_set_region(vm, 2, 0, SLOT_A - SZ / 2, SZ, hva + SZ), EEXIST, "move slot 2 onto slot 1 -> EEXIST");
	CHECK_ERRNO(__vm_set_region(vm, 3, 0, 0xfffffffffffff000ULL, 0x2000, hva), EINVAL, "gpa+size wraps -> EINVAL");
	CHECK_ERRNO(__vm_set_region(vm, nslots, 0, SLOT_B, SZ, hva), EINVAL, "slot id == NR_MEMSLOTS (%d) -> EINVAL", nslots);
	CHECK_ERRNO(__vm_set_region(vm, 0xffff, 0, SLOT_B, SZ, hva), EINVAL, "slot id 0xffff -> EINVAL");
	/* x86 KVM has 2 address spaces (SMM): as_id 2+ is invalid everywhere */
	CHECK_ERRNO(__vm_set_region(vm, (2 << 16) | 3, 0, SLOT_B, SZ, hva), EINVAL, "address space id 2 -> EINVAL");
	CHECK_ERRNO(__vm_set_region(vm, 0xffff0003, 0, SLOT_B, SZ, hva), EINVAL, "address space id 0xffff -> EINVAL");
	CHECK_OK(__vm_set_region(vm, nslots - 1, 0, SLOT_B + 16 * SZ, 4096, hva + 2 * SZ), "slot id NR_MEMSLOTS-1 -> ok");
	CHECK_ERRNO(__vm_set_region(vm, 3, 0, SLOT_B, SZ, (void *)0xffff888000000000ULL), EINVAL,
		    "kernel address as userspace_addr -> EINVAL");
	CHECK_ERRNO(__vm_set_region(vm, 3, 0, SLOT_B, 0x1000000000000ULL, hva), EINVAL,
		    "userspace range beyond user address space -> EINVAL");
	CHECK_ERRNO(__vm_set_region(vm, 1, 0, SLOT_A, SZ * 2, hva), EINVAL, "change size of slot -> EINVAL");
	CHECK_ERRNO(__vm_set_region(vm, 1, 0, SLOT_A, SZ, hva + SZ), EINVAL, "change userspace_addr of slot -> EINVAL");
	CHECK_ERRNO(ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, NULL), EFAULT, "NULL pointer -> EFAULT");
	CHECK_ERRNO(ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, (void *)8), EFAULT, "bad pointer -> EFAULT");
	/* Measured on kvm_amd (6.1): deleting a slot that does not exist is EINVAL */
	CHECK_ERRNO(__vm_set_region(vm, 7, 0, 0, 0, NULL), EINVAL, "delete nonexistent slot -> EINVAL");
	CHECK_OK(__vm_set_region(vm, 2, 0, 0, 0, NULL), "delete slot 2 (size 0)");
	CHECK_ERRNO(__vm_set_region(vm, 2, 0, 0, 0, NULL), EINVAL, "delete slot 2 again -> EINVAL");
	kvm_vm_free(vm);
	munmap(m, 4 * SZ);
}

static void test_guest_view(void)
{
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *v0 = vcpu_add(vm, 0, guest_code);
	uint64_t *a = vm_add_memslot(vm, 1, SLOT_A, SZ, 0);

	a[0] = 0x1111222233334444ULL;
	a[SZ / 8 - 1] = 0x5555;
	ksft_test_result(guest_reads(v0, SLOT_A, 0x1111222233334444ULL), "guest reads host data");
	ksft_test_result(guest_reads(v0, SLOT_A + SZ - 8, 0x5555), "guest reads host data at slot end");
	ksft_test_result(guest_writes(v0, SLOT_A + 8, 0xabcdef), "guest write runs");
	CHECK_EQ(a[1], 0xabcdef, "host sees guest write");
	a[0] = 0x77;
	ksft_test_result(guest_reads(v0, SLOT_A, 0x77), "guest sees host update after running");

	CHECK_OK(__vm_set_region(vm, 1, KVM_MEM_LOG_DIRTY_PAGES, SLOT_A, SZ, a), "set LOG_DIRTY_PAGES on slot");
	ksft_test_result(guest_writes(v0, SLOT_A + 16, 0x99) && a[2] == 0x99, "guest write with dirty logging");
	struct kvm_dirty_log log = { .slot = 1 };
	uint64_t bitmap[SZ / 4096 / 64] = { 0 };
	log.dirty_bitmap = bitmap;
	ksft_test_result(ioctl(vm->fd, KVM_GET_DIRTY_LOG, &log) == 0 && (bitmap[0] & 1),
			 "KVM_GET_DIRTY_LOG reports the written page");
	bitmap[0] = ~0ULL;
	ksft_test_result(ioctl(vm->fd, KVM_GET_DIRTY_LOG, &log) == 0 && bitmap[0] == 0,
			 "a second KVM_GET_DIRTY_LOG with no writes between is clean");
	ksft_test_result(guest_writes(v0, SLOT_A + 16, 0x9a) &&
			 ioctl(vm->fd, KVM_GET_DIRTY_LOG, &log) == 0 && (bitmap[0] & 1),
			 "a new write to the same page is reported again");
	log.slot = 0;
	CHECK_ERRNO(ioctl(vm->fd, KVM_GET_DIRTY_LOG, &log), ENOENT,
		    "KVM_GET_DIRTY_LOG on a slot without logging -> ENOENT");
	log.slot = 32767;
	CHECK_ERRNO(ioctl(vm->fd, KVM_GET_DIRTY_LOG, &log), EINVAL,
		    "KVM_GET_DIRTY_LOG slot id out of range -> EINVAL");
	log.slot = 1;
	log.dirty_bitmap = (void *)8;
	CHECK_ERRNO(ioctl(vm->fd, KVM_GET_DIRTY_LOG, &log), EFAULT,
		    "KVM_GET_DIRTY_LOG bad bitmap pointer -> EFAULT");
	CHECK_ERRNO(ioctl(vm->fd, KVM_GET_DIRTY_LOG, NULL), EFAULT,
		    "KVM_GET_DIRTY_LOG NULL argument -> EFAULT");
	CHECK_OK(__vm_set_region(vm, 1, 0, SLOT_A, SZ, a), "clear LOG_DIRTY_PAGES");
	ksft_test_result(guest_reads(v0, SLOT_A + 16, 0x9a), "guest reads after flag change");

	CHECK_OK(__vm_set_region(vm, 1, 0, SLOT_B, SZ, a), "move slot 1 to new gpa");
	vm_track_memslot(vm, 1, SLOT_B, SZ, 0, a);
	ksft_test_result(guest_reads(v0, SLOT_B + 8, 0xabcdef), "guest sees data at new gpa");
	ksft_test_result(guest_writes(v0, SLOT_B + 24, 0x4242) && a[3] == 0x4242, "guest write at new gpa reaches host");

	/* the old gpa is gone: access exits (MMIO on kvm) */
	struct kvm_vcpu *v1 = vcpu_add(vm, 1, guest_code);
	set_cmd(vm, OP_READ, SLOT_A + 8, 0);
	ksft_test_result(vcpu_run(v1) == 0 && check_unmapped_exit(v1, SLOT_A + 8, 8, false, 0),
			 "read of old gpa after move exits as unmapped");
	{
		/* complete the MMIO read with host data */
		uint64_t d = 0x6060606060606060ULL;
		struct ucall uc;

		memcpy(v1->run->mmio.data, &d, 8);
		ksft_test_result(vcpu_run_ucall(v1, &uc) == UCALL_SYNC && uc.args[0] == d,
				 "MMIO read completes with host data on next KVM_RUN");
		set_cmd(vm, OP_WRITE, SLOT_A + 16, 0x1234567);
		ksft_test_result(vcpu_run(v1) == 0 && check_unmapped_exit(v1, SLOT_A + 16, 8, true, 0x1234567),
				 "write to old gpa exits as MMIO write with data");
	}

	CHECK_OK(__vm_set_region(vm, 1, 0, SLOT_B, 0, a), "delete slot 1");
	vm_forget_memslot(vm, 1);
	struct kvm_vcpu *v2 = vcpu_add(vm, 2, guest_code);
	set_cmd(vm, OP_READ, SLOT_B + 8, 0);
	ksft_test_result(vcpu_run(v2) == 0 && check_unmapped_exit(v2, SLOT_B + 8, 8, false, 0),
			 "read of deleted slot exits as unmapped");
	CHECK_EQ(a[1], 0xabcdef, "host memory of deleted slot untouched");
	ksft_test_result(guest_reads(v0, DATA_GPA, 0) , "other vCPU still runs after slot delete");
	vcpu_free(v0);
	vcpu_free(v1);
	vcpu_free(v2);
	munmap(a, SZ);
	kvm_vm_free(vm);
}

static void test_not_pinned(void)
{
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *v = vcpu_add(vm, 0, guest_code);
	uint64_t gpa = 1ULL << 30, size = 1ULL << 30;
	long before, after;

	ksft_test_result(guest_reads(v, DATA_GPA, 0), "warm-up run");
	before = vm_rss_kb();
	uint64_t *m = mmap(NULL, size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	TEST_ASSERT(m != MAP_FAILED, "mmap 1 GiB");
	CHECK_OK(__vm_set_region(vm, 1, 0, gpa, size, m), "1 GiB MAP_NORESERVE slot accepted");
	vm_track_memslot(vm, 1, gpa, size, 0, m);
	ksft_test_result(guest_writes(v, gpa + size / 2 + 8, 0xfeed) && m[size / 16 + 1] == 0xfeed,
			 "guest touches one page in the middle of it");
	ksft_test_result(guest_reads(v, gpa + size - 8, 0), "guest reads last qword (zero)");
	after = vm_rss_kb();
	ksft_print_msg("VmRSS before %ld kB after %ld kB", before, after);
	ksft_test_result(before > 0 && after - before < 32 * 1024,
			 "RSS grew by %ld kB (< 32 MiB) for a 1 GiB slot", after - before);
	vcpu_free(v);
	munmap(m, size);
	kvm_vm_free(vm);
}

/* many small slots: each gpa resolves to its own slot */
#define NSLOTS 100
static void guest_sum_slots(uint64_t base, uint64_t n)
{
	uint64_t sum = 0;

	for (uint64_t i = 0; i < n; i++)
		sum += *(volatile uint64_t *)(base + i * 0x10000) * (i + 1);
	GUEST_SYNC(sum);
	for (uint64_t i = 0; i < n; i++)
		*(volatile uint64_t *)(base + i * 0x10000 + 8) = i ^ 0xabc;
	GUEST_DONE();
}

static void test_many_slots(void)
{
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *v = vcpu_add(vm, 0, guest_sum_slots);
	uint64_t base = 0x80000000ULL, want = 0;
	uint64_t *h[NSLOTS];
	struct ucall uc;
	bool ok = true;

	/* slots 1..NSLOTS, 4 KiB each, 64 KiB apart, in random-ish order */
	for (int k = 0; k < NSLOTS; k++) {
		int i = (k * 37) % NSLOTS;

		h[i] = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		TEST_ASSERT(h[i] != MAP_FAILED, "mmap");
		h[i][0] = 1000 + i * 3;
		ok &= __vm_set_region(vm, 1 + i, 0, base + i * 0x10000ULL, 4096, h[i]) == 0;
		want += (1000 + i * 3) * (uint64_t)(i + 1);
	}
	ksft_test_result(ok, "%d 4 KiB slots created", NSLOTS);
	vcpu_args_set(v, 2, base, (uint64_t)NSLOTS);
	ksft_test_result(vcpu_run_ucall(v, &uc) == UCALL_SYNC && uc.args[0] == want,
			 "guest reads the right data from each of %d slots", NSLOTS);
	ok = vcpu_run_ucall(v, &uc) == UCALL_DONE;
	for (int i = 0; i < NSLOTS; i++)
		ok &= h[i][1] == (uint64_t)(i ^ 0xabc);
	ksft_test_result(ok, "guest writes land in the right slot");

	/*
	 * Holes in the middle of the snapshot: the odd slots deleted, then
	 * created again in reverse order under new ids (the snapshot and the
	 * id index both change in the middle), the last one moved above all.
	 */
	ok = true;
	for (int i = 1; i < NSLOTS; i += 2)
		ok &= __vm_set_region(vm, 1 + i, 0, base + i * 0x10000ULL, 0, h[i]) == 0;
	ok &= __vm_set_region(vm, 2, 0, base + 0x10000ULL, 0, h[1]) == -1 && errno == EINVAL;
	for (int i = NSLOTS - 1; i > 0; i -= 2)
		ok &= __vm_set_region(vm, 1 + NSLOTS + i, 0, base + i * 0x10000ULL,
				      4096, h[i]) == 0;
	/* Slot 1 (gpa index 0) moves to index NSLOTS; its data goes along. */
	ok &= __vm_set_region(vm, 1, 0, base + NSLOTS * 0x10000ULL, 4096, h[0]) == 0;
	ksft_test_result(ok, "odd slots deleted and created again under new ids, one moved");
	vcpu_free(v);
	v = vcpu_add(vm, 1, guest_sum_slots);
	vcpu_args_set(v, 2, base + 0x10000ULL, (uint64_t)NSLOTS);
	want = 0;
	for (int k = 0; k < NSLOTS; k++) {
		int i = (k + 1) % NSLOTS;	/* gpa index k + 1 holds slot i's data */

		want += (1000 + i * 3) * (uint64_t)(k + 1);
	}
	ksft_test_result(vcpu_run_ucall(v, &uc) == UCALL_SYNC && uc.args[0] == want,
			 "guest reads the right data after the holes and the move");
	for (int i = 0; i < NSLOTS; i++)
		munmap(h[i], 4096);
	vcpu_free(v);
	kvm_vm_free(vm);
}

/* flag changes on a slot while a vCPU keeps reading and writing it */
static volatile int stop_flag;
static void guest_hammer(uint64_t addr)
{
	for (uint64_t i = 1;; i++) {
		*(volatile uint64_t *)(addr + 8) = i;
		uint64_t x = *(volatile uint64_t *)addr;

		if (x != 0x5a5a5a5a5a5a5a5aULL)
			GUEST_SYNC2(0xbad, x);
		if (!(i % 64))
			GUEST_SYNC2(1, i);
	}
}

struct hammer { struct kvm_vcpu *v; int ok; int syncs; };
static void *hammer_thread(void *arg)
{
	struct hammer *h = arg;
	struct ucall uc;

	h->ok = 1;
	while (!stop_flag) {
		if (vcpu_run_ucall(h->v, &uc) != UCALL_SYNC || uc.args[0] != 1) {
			ksft_print_msg("hammer: cmd %llu arg0 0x%llx arg1 0x%llx", (unsigned long long)uc.cmd,
				       (unsigned long long)uc.args[0], (unsigned long long)uc.args[1]);
			h->ok = 0;
			return NULL;
		}
		h->syncs++;
	}
	return NULL;
}

static void test_concurrent_flags(void)
{
	struct kvm_vm *vm = vm_create();
	struct hammer h = { .v = vcpu_add(vm, 0, guest_hammer) };
	uint64_t *a = vm_add_memslot(vm, 1, SLOT_A, SZ, 0);
	pthread_t t;
	bool ok = true;

	a[0] = 0x5a5a5a5a5a5a5a5aULL;
	vcpu_args_set(h.v, 1, SLOT_A);
	pthread_create(&t, NULL, hammer_thread, &h);
	for (int i = 0; i < 200 && ok; i++) {
		ok &= __vm_set_region(vm, 1, (i & 1) ? 0 : KVM_MEM_LOG_DIRTY_PAGES, SLOT_A, SZ, a) == 0;
		usleep(1000);
	}
	usleep(50000);
	stop_flag = 1;
	pthread_join(t, NULL);
	ksft_test_result(ok, "200 flag changes while the vCPU runs");
	ksft_test_result(h.ok && h.syncs > 0, "vCPU saw consistent memory throughout (%d syncs)", h.syncs);
	vcpu_free(h.v);
	kvm_vm_free(vm);	/* also unmaps a */
}

int main(void)
{
	ksft_print_header();
	ksft_set_plan(65);
	test_bad_inputs();
	test_guest_view();
	test_not_pinned();
	test_many_slots();
	test_concurrent_flags();
	return ksft_finished();
}
