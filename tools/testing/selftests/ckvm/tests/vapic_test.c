// SPDX-License-Identifier: GPL-2.0
/*
 * The TPR shared with the guest (KVM_CAP_VAPIC), which QEMU uses with
 * every in-kernel irqchip: KVM_SET_VAPIC_ADDR (QEMU sets it at every
 * reset and aborts when it fails) and KVM_TPR_ACCESS_REPORTING (its
 * "kvmvapic" option ROM turns it on and patches the guest's TPR accesses).
 *
 * - bad inputs: KVM_SET_VAPIC_ADDR without an in-kernel APIC or outside
 *   the memslots, flags in kvm_tpr_access_ctl: -EINVAL (KVM takes
 *   KVM_TPR_ACCESS_REPORTING without an in-kernel APIC);
 * - the u32 at the vAPIC address: before each entry bits 7:0 hold the
 *   TPR, 15:8 the class of the highest vector in service, 31:24 the
 *   highest requested vector; the guest's write of bits 7:0 becomes the
 *   TPR after the next exit; address 0 stops both ways;
 * - TPR access reporting: a read and a write of the xAPIC TPR each end
 *   the run with KVM_EXIT_TPR_ACCESS (rip of the instruction, is_write),
 *   after the access took effect; off again, no more such exits.
 *
 * Every expected value is what the distro kvm_amd/kvm_intel does.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "ckvm_util.h"
#include "mmio_util.h"

#define APIC		0xfee00000UL
#define APIC_TASKPRI	0x80
#define APIC_EOI	0xb0
#define APIC_SPIV	0xf0
#define APIC_ICR	0x300
#define APIC_LVT0	0x350
#define APIC_DEST_SELF	0x40000
#define VEC_SELF	0x91

/* ---- guest ---- */

struct idt_gate {
	uint16_t off0, sel;
	uint8_t ist, type;
	uint16_t off1;
	uint32_t off2, rsvd;
} __attribute__((packed));

static struct idt_gate idt[256] __attribute__((aligned(16)));
volatile uint64_t irq_count;
/* The shared u32; its guest-physical address is its link address. */
volatile uint32_t vapic_word __attribute__((aligned(64)));

/* Counts the vector and leaves it in service (no EOI). */
extern char vapic_stub[];
asm(".pushsection .text\n"
    "vapic_stub:\n"
    "	incq irq_count(%rip)\n"
    "	iretq\n"
    ".popsection\n");

/* The TPR accesses the host expects to hear of, at known addresses. */
extern char tpr_read_insn[], tpr_write_insn[];

static __attribute__((noinline, noclone)) uint32_t tpr_read(void)
{
	uint32_t v;

	asm volatile("tpr_read_insn: movl (%1), %0"
		     : "=r"(v) : "r"(APIC + APIC_TASKPRI) : "memory");
	return v;
}

static __attribute__((noinline, noclone)) void tpr_write(uint32_t v)
{
	asm volatile("tpr_write_insn: movl %0, (%1)"
		     :: "r"(v), "r"(APIC + APIC_TASKPRI) : "memory");
}

static void wr(uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)(APIC + off) = v;
}

static void guest_code(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = { sizeof(idt) - 1, (uint64_t)idt };
	uint64_t a = (uint64_t)vapic_stub;

	idt[VEC_SELF].off0 = a;
	idt[VEC_SELF].sel = SEL_CODE64;
	idt[VEC_SELF].type = 0x8e;
	idt[VEC_SELF].off1 = a >> 16;
	idt[VEC_SELF].off2 = a >> 32;
	asm volatile("lidt %0" :: "m"(idtr));
	wr(APIC_SPIV, 0x1ff);
	wr(APIC_LVT0, 0x10000);	/* no ExtINT from the uninitialised PIC */

	GUEST_SYNC(0);			/* host: TPR 0x30, vAPIC address set */
	GUEST_SYNC(vapic_word);		/* 0x30 */
	vapic_word = 0x60;
	GUEST_SYNC(1);			/* host: the TPR is 0x60 */
	wr(APIC_ICR, APIC_DEST_SELF | VEC_SELF);	/* IF=0: requested */
	GUEST_SYNC(vapic_word);		/* 0x91000060 */
	asm volatile("sti; nop; cli" ::: "memory");
	GUEST_SYNC2(irq_count, vapic_word);	/* 1, 0x9060: in service */
	wr(APIC_EOI, 0);
	GUEST_SYNC(2);			/* host: vAPIC address 0 */
	vapic_word = 0x20;
	GUEST_SYNC(3);			/* host: the TPR is still 0x60 */

	GUEST_SYNC(4);			/* host: reporting on */
	GUEST_SYNC(tpr_read());		/* exits first; then 0x60 */
	tpr_write(0x40);		/* exits after the write */
	GUEST_SYNC(5);			/* host: reporting off */
	GUEST_SYNC(tpr_read());		/* 0x40, no TPR exit */
	GUEST_DONE();
}

/* ---- host ---- */

static int set_vapic(struct kvm_vcpu *v, uint64_t gpa)
{
	struct kvm_vapic_addr va = { .vapic_addr = gpa };

	return ioctl(v->fd, KVM_SET_VAPIC_ADDR, &va);
}

static int tpr_reporting(struct kvm_vcpu *v, uint32_t enabled, uint32_t flags)
{
	struct kvm_tpr_access_ctl ctl = { .enabled = enabled, .flags = flags };

	return ioctl(v->fd, KVM_TPR_ACCESS_REPORTING, &ctl);
}

static uint32_t lapic_tpr(struct kvm_vcpu *v)
{
	struct kvm_lapic_state s;

	TEST_ASSERT(!ioctl(v->fd, KVM_GET_LAPIC, &s), "KVM_GET_LAPIC");
	return *(uint32_t *)&s.regs[APIC_TASKPRI];
}

static void set_lapic_tpr(struct kvm_vcpu *v, uint32_t tpr)
{
	struct kvm_lapic_state s;

	TEST_ASSERT(!ioctl(v->fd, KVM_GET_LAPIC, &s), "KVM_GET_LAPIC");
	*(uint32_t *)&s.regs[APIC_TASKPRI] = tpr;
	TEST_ASSERT(!ioctl(v->fd, KVM_SET_LAPIC, &s), "KVM_SET_LAPIC");
}

static void sync_eq2(struct kvm_vcpu *v, uint64_t want0, uint64_t want1,
		     int nargs, const char *what)
{
	struct ucall uc;
	int r = vcpu_run_ucall(v, &uc);

	if (r != UCALL_SYNC) {
		ksft_test_result(false, "%s: no sync (ucall %d, exit %s)\n", what, r,
				 exit_reason_str(v->run->exit_reason));
		ksft_exit_fail_msg("the guest stopped early\n");
	}
	if (uc.args[0] != want0 || (nargs > 1 && uc.args[1] != want1))
		ksft_print_msg("%s: got %#llx %#llx\n", what,
			       (unsigned long long)uc.args[0],
			       (unsigned long long)uc.args[1]);
	ksft_test_result(uc.args[0] == want0 && (nargs < 2 || uc.args[1] == want1),
			 "%s\n", what);
}

static void sync_eq(struct kvm_vcpu *v, uint64_t want, const char *what)
{
	sync_eq2(v, want, 0, 1, what);
}

/* The next KVM_RUN ends in KVM_EXIT_TPR_ACCESS at @rip. */
static void tpr_exit(struct kvm_vcpu *v, void *rip, bool write, const char *what)
{
	struct kvm_run *run = v->run;
	bool ok = !vcpu_run(v) && run->exit_reason == KVM_EXIT_TPR_ACCESS &&
		  run->tpr_access.rip == (uint64_t)rip &&
		  run->tpr_access.is_write == write;

	if (!ok)
		ksft_print_msg("%s: exit %s, rip %#llx (want %p), is_write %u\n", what,
			       exit_reason_str(run->exit_reason),
			       (unsigned long long)run->tpr_access.rip, rip,
			       run->tpr_access.is_write);
	ksft_test_result(ok, "%s\n", what);
}

static void test_api(void)
{
	struct kvm_vcpu *v;
	struct kvm_vm *vm;

	CHECK_EQ(kvm_check_cap(KVM_CAP_VAPIC), 1, "KVM_CAP_VAPIC");
	vm = vm_create();
	v = vcpu_create(vm, 0);
	CHECK_ERRNO(set_vapic(v, 0x1000), EINVAL,
		    "KVM_SET_VAPIC_ADDR without an in-kernel APIC -> EINVAL");
	CHECK_OK(tpr_reporting(v, 1, 0),
		 "KVM_TPR_ACCESS_REPORTING without an in-kernel APIC: taken, as KVM");
	CHECK_ERRNO(tpr_reporting(v, 1, 1), EINVAL,
		    "... with flags -> EINVAL");
	vcpu_free(v);
	kvm_vm_free(vm);

	vm = vm_create();
	TEST_ASSERT(!ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0), "KVM_CREATE_IRQCHIP");
	v = vcpu_create(vm, 0);
	CHECK_OK(set_vapic(v, 0x1000), "KVM_SET_VAPIC_ADDR in a memslot");
	CHECK_OK(set_vapic(v, 0), "KVM_SET_VAPIC_ADDR 0 (QEMU's reset)");
	CHECK_ERRNO(set_vapic(v, MMIO_PROBE_GPA), EINVAL,
		    "KVM_SET_VAPIC_ADDR outside every memslot -> EINVAL");
	CHECK_ERRNO(ioctl(v->fd, KVM_SET_VAPIC_ADDR, NULL), EFAULT,
		    "KVM_SET_VAPIC_ADDR, bad pointer -> EFAULT");
	CHECK_ERRNO(tpr_reporting(v, 1, 1), EINVAL,
		    "KVM_TPR_ACCESS_REPORTING with flags -> EINVAL");
	CHECK_OK(tpr_reporting(v, 0, 0), "KVM_TPR_ACCESS_REPORTING off");
	vcpu_free(v);
	kvm_vm_free(vm);
}

static void test_guest(void)
{
	struct kvm_vcpu *v;
	struct kvm_vm *vm;
	struct ucall uc;

	vm = vm_create();
	TEST_ASSERT(!ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0), "KVM_CREATE_IRQCHIP");
	v = vcpu_add(vm, 0, guest_code);

	sync_eq(v, 0, "guest set up");
	set_lapic_tpr(v, 0x30);
	CHECK_OK(set_vapic(v, (uint64_t)&vapic_word), "vAPIC address set");
	sync_eq(v, 0x30, "before entry the guest's u32 holds the TPR");
	sync_eq(v, 1, "guest wrote 0x60 into its u32");
	CHECK_EQ(lapic_tpr(v), 0x60, "after the exit that is the TPR");
	sync_eq(v, ((uint32_t)VEC_SELF << 24) | 0x60,
		"a requested vector: bits 31:24 of the u32");
	sync_eq2(v, 1, ((VEC_SELF & 0xf0) << 8) | 0x60, 2,
		 "a vector in service: its class in bits 15:8");
	sync_eq(v, 2, "EOI");
	CHECK_OK(set_vapic(v, 0), "vAPIC address 0");
	sync_eq(v, 3, "guest wrote 0x20 into its u32");
	CHECK_EQ(lapic_tpr(v), 0x60, "address 0: the guest's u32 is not read");
	CHECK_EQ(*(uint32_t *)addr_gpa2hva(vm, (uint64_t)&vapic_word), 0x20,
		 "address 0: the guest's u32 is not written");

	sync_eq(v, 4, "before TPR access reporting");
	CHECK_OK(tpr_reporting(v, 1, 0), "KVM_TPR_ACCESS_REPORTING on");
	tpr_exit(v, tpr_read_insn, false, "TPR read: KVM_EXIT_TPR_ACCESS, its rip, read");
	sync_eq(v, 0x60, "the read completes with the TPR");
	tpr_exit(v, tpr_write_insn, true, "TPR write: KVM_EXIT_TPR_ACCESS, its rip, write");
	CHECK_EQ(lapic_tpr(v), 0x40, "the write took effect before the exit");
	sync_eq(v, 5, "guest goes on after the write");
	CHECK_OK(tpr_reporting(v, 0, 0), "KVM_TPR_ACCESS_REPORTING off");
	sync_eq(v, 0x40, "reporting off: the TPR read does not exit");
	ksft_test_result(vcpu_run_ucall(v, &uc) == UCALL_DONE, "guest done\n");
	vcpu_free(v);
	kvm_vm_free(vm);
}

int main(void)
{
	ksft_print_header();
	ksft_set_plan(32);
	kvm_open();
	if (!mmio_exits_work())
		ksft_exit_skip("guest MMIO does not reach this module (no instruction emulator)\n");
	test_api();
	test_guest();
	return ksft_finished();
}
