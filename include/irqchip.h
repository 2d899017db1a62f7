/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The in-kernel interrupt controllers of KVM_CREATE_IRQCHIP: a local APIC
 * per vCPU (x86/lapic.c), one IOAPIC (x86/ioapic.c), the two 8259 PICs
 * (x86/i8259.c); x86/irqchip.c holds the VM ioctls.
 *
 * Interrupts flow one way: KVM_IRQ_LINE -> IOAPIC pin -> redirection entry
 * -> the IRR of the matching local APICs -> the run loop injects the
 * highest pending vector when the guest can take it. A level-triggered
 * vector's EOI goes back to the IOAPIC, which clears Remote IRR. A PIC
 * input raises the master's INT output, which a vCPU takes through its
 * LINT0 in ExtINT mode; the run loop acknowledges it for the vector.
 */
#ifndef CKVM_IRQCHIP_H
#define CKVM_IRQCHIP_H

#include <linux/hrtimer.h>
#include <linux/kvm.h>
#include <linux/spinlock.h>

#include "iodev.h"

struct ckvm;
struct ckvm_vcpu;

/* An interrupt message, as an IOAPIC entry or an ICR write spells it. */
struct ckvm_irq {
	u32 dest;		/* APIC ID (physical) or logical destination */
	u32 broadcast;		/* the dest that means all: 0xff or ~0 (x2APIC) */
	bool logical;
	u32 delivery;		/* APIC_DM_FIXED, APIC_DM_LOWEST, ... */
	u8 vector;
	bool level;		/* level-triggered: EOI goes back to the IOAPIC */
	bool assert;		/* ICR level bit: INIT assert (1) or de-assert */
	u32 shorthand;		/* APIC_DEST_SELF/ALLINC/ALLBUT, or 0 */
};

struct ckvm_lapic {
	struct ckvm_vcpu *vcpu;
	/* The register page, laid out as in KVM_GET_LAPIC (xAPIC format). */
	void *regs;
	struct hrtimer timer;
	u64 period_ns;		/* periodic mode: the re-arm interval */
	ktime_t deadline;	/* when the current count reaches 0 */
	/*
	 * KVM_SET_VAPIC_ADDR: the guest-physical address of the u32 through
	 * which the TPR is shared with the guest (0: none), see
	 * ckvm_lapic_sync_to_vapic(). Only the vCPU's own thread uses it.
	 */
	u64 vapic_addr;
	/*
	 * KVM_TPR_ACCESS_REPORTING: the guest's accesses to the TPR end the
	 * run with KVM_EXIT_TPR_ACCESS; tpr_access_pending holds the access
	 * (rip, is_write) until the run loop reports it.
	 */
	bool tpr_access_reporting;
	bool tpr_access_pending;
	u64 tpr_access_rip;
	bool tpr_access_write;
};

struct ckvm_irqchip;

/* One of the PICs' port ranges on the PIO bus: master, slave, ELCR. */
struct ckvm_pic_port {
	struct ckvm_io_device dev;
	struct ckvm_irqchip *chip;
	int which;
};

struct ckvm_irqchip {
	struct ckvm *vm;
	/*
	 * KVM_CAP_SPLIT_IRQCHIP: only the local APICs are in the kernel;
	 * the IOAPIC and the PICs are userspace's, which sends the IOAPIC's
	 * interrupts as MSIs and is told of their EOIs (KVM_EXIT_IOAPIC_EOI)
	 * for the GSIs below nr_reserved_ioapic_pins. Fixed at creation.
	 */
	bool split;
	u32 nr_reserved_ioapic_pins;
	/* The IOAPIC's window (base_address, IOAPIC_MEM_LENGTH) on the MMIO bus. */
	struct ckvm_io_device ioapic_dev;
	/* Ports 0x20-0x21, 0xa0-0xa1, 0x4d0-0x4d1 on the PIO bus. */
	struct ckvm_pic_port pic_port[3];
	spinlock_t lock;	/* everything below */
	/* Master (0) and slave (1), as KVM_GET_IRQCHIP has them. */
	struct kvm_pic_state pic[2];
	/* The master's INT output (read without the lock by the run loop). */
	bool pic_output;
	/* Per PIC input (slave: 8-15), a bit per source driving it high. */
	unsigned long pic_irq_states[16];
	struct kvm_ioapic_state ioapic;
	/* Per IOAPIC pin, a bit per source driving it high (irqfd.h). */
	unsigned long irq_states[KVM_IOAPIC_NUM_PINS];
	/*
	 * The vectors of edge-triggered IOAPIC entries whose EOIs someone
	 * waits for (an acknowledgement notifier of the pin's GSI: the PIT's
	 * reinjection); level-triggered ones always reach the IOAPIC. Written
	 * under lock, read by the local APICs' EOI without it.
	 */
	DECLARE_BITMAP(eoi_vectors, 256);
};

/* The IOAPIC's register window: IOREGSEL at 0x00, IOWIN at 0x10. */
#define IOAPIC_MEM_LENGTH	0x100

/* x86/irqchip.c */
long ckvm_irqchip_vm_ioctl(struct ckvm *vm, unsigned int ioctl,
			   unsigned long arg);
void ckvm_irqchip_free(struct ckvm *vm);
int ckvm_irqchip_enable_split(struct ckvm *vm, u64 nr_reserved);
bool ckvm_irqchip_split(struct ckvm *vm);
/*
 * The run loop's view (vCPU thread): is a maskable interrupt pending in
 * the in-kernel irqchip (ExtINT first, then the local APIC), and take it
 * for injection (-1: none).
 */
bool ckvm_cpu_has_interrupt(struct ckvm_vcpu *vcpu);
int ckvm_cpu_get_interrupt(struct ckvm_vcpu *vcpu);
/* Is every irqchip input a GSI is routed to masked? (x86/irqchip.c) */
bool ckvm_irqchip_gsi_masked(struct ckvm *vm, u32 gsi);
/* A local APIC retired @vector (vCPU thread): the IOAPIC's or userspace's. */
void ckvm_irqchip_eoi(struct ckvm_vcpu *vcpu, u8 vector, bool level);
/* KVM_INTERRUPT with a split irqchip: an ExtINT of userspace's PIC. */
int ckvm_irqchip_queue_extint(struct ckvm_vcpu *vcpu, u8 vector);

/* x86/i8259.c */
void ckvm_pic_reset(struct ckvm_irqchip *chip);
int ckvm_pic_register_pio(struct ckvm *vm, struct ckvm_irqchip *chip);
void ckvm_pic_unregister_pio(struct ckvm *vm, struct ckvm_irqchip *chip);
void ckvm_pic_set_state(struct ckvm *vm, struct ckvm_irqchip *chip, int id,
			const struct kvm_pic_state *s);
int ckvm_pic_set_irq(struct ckvm *vm, u32 pin, int source, int level);
bool ckvm_pic_has_interrupt(struct ckvm_vcpu *vcpu);
int ckvm_pic_read_irq(struct ckvm *vm);

/* x86/i8254.c */
long ckvm_pit_vm_ioctl(struct ckvm *vm, unsigned int ioctl, unsigned long arg);
void ckvm_pit_free(struct ckvm *vm);

/* x86/ioapic.c */
int ckvm_ioapic_register_mmio(struct ckvm *vm, struct ckvm_irqchip *chip);
/* chip->lock held */
void ckvm_ioapic_reset(struct ckvm_irqchip *chip);
int ckvm_ioapic_set_line(struct ckvm *vm, struct ckvm_irqchip *chip,
			 int pin, bool level);
/* takes chip->lock */
int ckvm_ioapic_set_irq(struct ckvm *vm, u32 pin, int source, int level);
/* takes chip->lock */
void ckvm_ioapic_eoi(struct ckvm *vm, u8 vector);
/* chip->lock held */
void ckvm_ioapic_update_eoi_vectors(struct ckvm_irqchip *chip);

/* x86/lapic.c */
int ckvm_lapic_create(struct ckvm_vcpu *vcpu);
void ckvm_lapic_free(struct ckvm_vcpu *vcpu);
int ckvm_lapic_deliver(struct ckvm *vm, struct ckvm_vcpu *src,
		       const struct ckvm_irq *irq);
int ckvm_lapic_pending_vector(struct ckvm_vcpu *vcpu);
bool ckvm_lapic_accepts_extint(struct ckvm_vcpu *vcpu);
void ckvm_lapic_lint0_nmi(struct ckvm_vcpu *vcpu);
void ckvm_lapic_accept_events(struct ckvm_vcpu *vcpu);
void ckvm_lapic_ack(struct ckvm_vcpu *vcpu, int vector);
u8 ckvm_lapic_get_tpr(struct ckvm_vcpu *vcpu);
void ckvm_lapic_set_tpr(struct ckvm_vcpu *vcpu, u8 tpr);
bool ckvm_lapic_base_valid(struct ckvm_vcpu *vcpu, u64 base);
int ckvm_lapic_set_base(struct ckvm_vcpu *vcpu, u64 base, bool host);
int ckvm_x2apic_msr_read(struct ckvm_vcpu *vcpu, u32 msr, u64 *data);
int ckvm_x2apic_msr_write(struct ckvm_vcpu *vcpu, u32 msr, u64 data);
int ckvm_lapic_mmio_read(struct ckvm_vcpu *vcpu, u64 gpa, int len, void *val);
int ckvm_lapic_mmio_write(struct ckvm_vcpu *vcpu, u64 gpa, int len,
			  const void *val);
/* The emulator's way to the in-kernel MMIO devices: APIC page, then bus. */
int ckvm_mmio_dev_read(struct ckvm_vcpu *vcpu, u64 gpa, int len, void *val);
int ckvm_mmio_dev_write(struct ckvm_vcpu *vcpu, u64 gpa, int len,
			const void *val);
int ckvm_lapic_get_state(struct ckvm_vcpu *vcpu, struct kvm_lapic_state *s);
int ckvm_lapic_set_state(struct ckvm_vcpu *vcpu,
			 const struct kvm_lapic_state *s);
int ckvm_lapic_set_vapic_addr(struct ckvm_vcpu *vcpu, u64 vapic_addr);
void ckvm_lapic_sync_to_vapic(struct ckvm_vcpu *vcpu);
void ckvm_lapic_sync_from_vapic(struct ckvm_vcpu *vcpu);
int ckvm_lapic_tpr_access_reporting(struct ckvm_vcpu *vcpu,
				    struct kvm_tpr_access_ctl *ctl);
bool ckvm_lapic_report_tpr_access(struct ckvm_vcpu *vcpu);

#endif
