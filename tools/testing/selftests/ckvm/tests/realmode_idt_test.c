// SPDX-License-Identifier: GPL-2.0
/*
 * Real-mode exceptions and the IDT limit (SDM 20.1.4, 6.15): in real
 * mode the CPU reads vector n's 4-byte entry at IDTR.base + 4n only if it
 * lies within IDTR.limit, else it raises #GP; a #GP during the delivery
 * of a #GP is a double fault, one during #DF a triple fault: a real-mode
 * guest that loads an IDT limit of 0 shuts down at its first exception
 * (KVM_EXIT_SHUTDOWN). And an entry that does fit is taken at IDTR.base,
 * not at linear 0.
 *
 * Found by kvmfuzz (guest program 5 of seed 1: LIDT of a zero limit, then
 * UD2) on ckvm with VMX and tdp=0, where real mode runs in virtual-8086
 * mode and ckvm delivers every exception through the vector table by
 * hand: it took entry 6 whatever the limit (Documentation/fuzzing.rst).
 *
 * The vector table at linear 0 always points at a handler that reports
 * on port 0x61, so a delivery that ignores the limit or the base ends
 * there instead of hanging. Measured on the reference: kvm_amd hangs on
 * a real-mode triple fault under QEMU TCG (issue 12), so the shutdown
 * cases are skipped there.
 *
 * INT1 (ICEBP) is a trap through entry 1 that pushes the IP after it;
 * ckvm's virtual-8086 real mode delivers it by hand (vmx/exits.c,
 * reflect_db()).
 */
#include <unistd.h>

#include "ckvm_util.h"

#define IVT_GPA		DATA_GPA	/* a vector table away from linear 0 */
#define PORT_HANDLER	0x60		/* the handler at IVT_GPA: pushed IP */
#define PORT_WRONG	0x61		/* the handler at linear 0 */

asm(".pushsection .text\n"
    ".set RMI_BASE, 0x8000\n"		/* CODE_GPA, CS = 0 */
    ".code16\n"
    "rmi_start:\n"			/* LIDT, then #UD (a fault) */
    "	lidt RMI_BASE + (rmi_idtr - rmi_start)\n"
    "rmi_ud2:\n"
    "	ud2\n"
    "rmi_int3:\n"			/* LIDT, then #BP (a trap) */
    "	lidt RMI_BASE + (rmi_idtr - rmi_start)\n"
    "	int3\n"
    "rmi_after_int3:\n"
    "	hlt\n"
    "rmi_int1:\n"			/* LIDT, then INT1/ICEBP (a trap) */
    "	lidt RMI_BASE + (rmi_idtr - rmi_start)\n"
    "	.byte 0xf1\n"
    "rmi_after_int1:\n"
    "	hlt\n"
    "rmi_handler:\n"			/* OUT the IP it was entered from */
    "	mov %sp, %bp\n"
    "	mov (%bp), %ax\n"
    "	out %ax, $0x60\n"
    "	hlt\n"
    "rmi_wrong:\n"
    "	out %al, $0x61\n"
    "	hlt\n"
    "rmi_idtr:\n"
    "	.word 0\n"
    "	.long 0\n"
    "rmi_end:\n"
    ".code64\n"
    ".popsection\n");
extern char rmi_start[], rmi_ud2[], rmi_int3[], rmi_after_int3[], rmi_int1[],
	rmi_after_int1[], rmi_handler[], rmi_wrong[], rmi_idtr[], rmi_end[];

#define RMI_OFF(l)	((uint16_t)(CODE_GPA + ((l) - rmi_start)))

static bool kvm_amd, kvm_intel_emulated_rm;

/* kvm_intel without unrestricted guest emulates real mode itself. */
static bool intel_emulates_real_mode(void)
{
	FILE *f = fopen("/sys/module/kvm_intel/parameters/unrestricted_guest", "r");
	int c;

	if (!f)
		return false;
	c = fgetc(f);
	fclose(f);
	return c == 'N';
}

static uint64_t io_data(struct kvm_vcpu *v)
{
	uint64_t d = 0;

	memcpy(&d, (char *)v->run + v->run->io.data_offset, v->run->io.size);
	return d;
}

/*
 * A VM whose guest loads IDTR = (base, limit) and then runs the
 * instruction after the LIDT at @start (rmi_start: UD2, rmi_int3: INT3,
 * rmi_int1: INT1); the table at IVT_GPA sends every vector to the
 * reporting handler, the one at linear 0 to the "wrong" one.
 */
static struct kvm_vm *setup(struct kvm_vcpu **vp, const char *start, uint32_t base,
			    uint16_t limit)
{
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *v = vcpu_create(vm, 0);
	uint16_t *lin0 = addr_gpa2hva(vm, 0), *ivt = addr_gpa2hva(vm, IVT_GPA);
	uint8_t *idtr;
	int i;

	vm_load_code(vm, CODE_GPA, rmi_start, rmi_end);
	idtr = addr_gpa2hva(vm, CODE_GPA + (rmi_idtr - rmi_start));
	memcpy(idtr, &limit, 2);
	memcpy(idtr + 2, &base, 4);
	for (i = 0; i < 32; i++) {
		lin0[2 * i] = RMI_OFF(rmi_wrong);
		lin0[2 * i + 1] = 0;
		ivt[2 * i] = RMI_OFF(rmi_handler);
		ivt[2 * i + 1] = 0;
	}
	vcpu_setup_real_mode(v, 0, RMI_OFF(start));
	*vp = v;
	return vm;
}

static void test_shutdown(const char *start, uint32_t base, uint16_t limit, const char *name)
{
	struct kvm_vcpu *v;
	struct kvm_vm *vm;
	int r;

	if (kvm_amd) {
		ksft_test_result_skip("%s: kvm_amd hangs on a real-mode triple fault under QEMU TCG (issue 12)",
				      name);
		return;
	}
	if (kvm_intel_emulated_rm) {
		ksft_test_result_skip("%s: kvm_intel without unrestricted guest delivers real-mode events without checking the IVT limit (its emulator's __emulate_int_real; measured on vmx-kvm-shadow)",
				      name);
		return;
	}
	vm = setup(&v, start, base, limit);
	r = vcpu_run(v);
	if (r || v->run->exit_reason != KVM_EXIT_SHUTDOWN)
		ksft_print_msg("%s: want KVM_EXIT_SHUTDOWN, got r=%d exit %u (%s) port 0x%x",
			       name, r, v->run->exit_reason,
			       exit_reason_str(v->run->exit_reason),
			       v->run->exit_reason == KVM_EXIT_IO ? v->run->io.port : 0);
	ksft_test_result(!r && v->run->exit_reason == KVM_EXIT_SHUTDOWN, "%s", name);
	vcpu_free(v);
	kvm_vm_free(vm);
}

static void test_delivered(const char *start, uint16_t limit, uint16_t want_ip,
			   const char *name)
{
	struct kvm_vcpu *v;
	struct kvm_vm *vm = setup(&v, start, IVT_GPA, limit);
	int r = vcpu_run(v);
	bool ok = !r && v->run->exit_reason == KVM_EXIT_IO &&
		  v->run->io.port == PORT_HANDLER && v->run->io.size == 2 &&
		  io_data(v) == want_ip;

	if (!ok)
		ksft_print_msg("%s: want OUT 0x%x of IP 0x%x, got r=%d exit %u (%s) port 0x%x data 0x%llx",
			       name, PORT_HANDLER, want_ip, r, v->run->exit_reason,
			       exit_reason_str(v->run->exit_reason),
			       v->run->exit_reason == KVM_EXIT_IO ? v->run->io.port : 0,
			       (unsigned long long)io_data(v));
	ksft_test_result(ok, "%s", name);
	vcpu_free(v);
	kvm_vm_free(vm);
}

int main(void)
{
	ksft_print_header();
	ksft_set_plan(6);
	kvm_amd = access("/sys/module/kvm_amd", F_OK) == 0;
	kvm_intel_emulated_rm = intel_emulates_real_mode();
	/* kvmfuzz's guest program 5 of seed 1 */
	test_shutdown(rmi_start, 0, 0, "limit 0, UD2 (#UD, #GP, #DF beyond the limit) -> shutdown");
	test_shutdown(rmi_int3, 0, 0, "limit 0, INT3 -> shutdown");
	/* Entry 6 is bytes 24..27; #GP (52..55) and #DF (32..35) lie beyond too. */
	test_shutdown(rmi_start, 0, 26, "limit 26, UD2 (entry 6 one byte short) -> shutdown");
	test_delivered(rmi_start, 27, RMI_OFF(rmi_ud2),
		       "limit 27, UD2 -> entry 6 at IDTR.base, the fault's IP pushed");
	test_delivered(rmi_int3, 15, RMI_OFF(rmi_after_int3),
		       "limit 15, INT3 -> entry 3 at IDTR.base, the next IP pushed");
	/*
	 * INT1 exits on VMX as a privileged software exception; in
	 * virtual-8086 mode (ckvm, vmx with tdp=0) ckvm delivers it by hand.
	 */
	if (host_is_amd())
		ksft_test_result_skip("limit 7, INT1: QEMU's TCG shuts an SVM guest down at a real-mode INT1 (kvm_amd as ckvm, measured on svm and svm-kvm)");
	else if (kvm_intel_emulated_rm)
		ksft_test_result_skip("limit 7, INT1: kvm_intel without unrestricted guest pushes INT1's own IP, not the next one (measured on vmx-kvm-shadow; vmx-kvm pushes the next)");
	else
		test_delivered(rmi_int1, 7, RMI_OFF(rmi_after_int1),
			       "limit 7, INT1 -> entry 1 at IDTR.base, the next IP pushed");
	return ksft_finished();
}
