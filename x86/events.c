// SPDX-License-Identifier: GPL-2.0
/*
 * Events a vCPU takes at an instruction boundary: NMIs, external
 * interrupts given by userspace (KVM_INTERRUPT) or by the in-kernel local
 * APIC, what the backend's injection slot holds, and their state as
 * KVM_GET/SET_VCPU_EVENTS shows it.
 *
 * The model. The backend's control block has one injection slot (SVM
 * EVENTINJ, VMX VM-entry interruption information): the event the next
 * entry delivers, either one ckvm queued (an exception, an interrupt, an
 * NMI) or one an exit interrupted and the backend put back. Next to it,
 * x86/ keeps what waits for the slot:
 *
 * - NMIs: arch.nmi_queued counts the NMIs raised from any context
 *   (KVM_NMI, the local APIC's NMI delivery through ckvm_vcpu_queue_nmi());
 *   the vCPU's thread moves them to arch.nmi_pending, at most two as the
 *   CPU latches them (one being blocked, one waiting), one if an NMI is
 *   already blocked or in the slot (KVM's rule).
 * - an external interrupt already decided on (arch.irq_queued): one
 *   KVM_INTERRUPT gave without an in-kernel irqchip, or one that
 *   KVM_SET_VCPU_EVENTS or KVM_SET_SREGS reported as injected.
 *
 * Before each entry ckvm_inject_events() fills the slot, NMI first, then
 * the queued interrupt, then the local APIC's highest pending vector,
 * each only when the guest can take it; otherwise it asks the backend
 * for an exit when it can (NMI window, interrupt window).
 *
 * Without KVM_CAP_EXCEPTION_PAYLOAD, which ckvm does not offer, KVM
 * reports every exception as injected, its payload (CR2 of a #PF, DR6 of
 * a #DB) already delivered; ckvm delivers payloads when it queues an
 * exception, so that is what its slot holds anyway.
 */
#include <linux/uaccess.h>
#include <asm/trapnr.h>

#include "ckvm.h"
#include "x86_ops.h"
#include "irqchip.h"
#include "x86_state.h"
#include "trace.h"

/*
 * The PIC is in the kernel when the VM has an in-kernel irqchip that is
 * not split; userspace then has no way to give an interrupt to a vCPU but
 * through it. With a split irqchip userspace's PIC gives ExtINTs with
 * KVM_INTERRUPT (x86/irqchip.c keeps them).
 */
static bool pic_in_kernel(struct ckvm_vcpu *vcpu)
{
	return ckvm_arch_irqchip_in_kernel(vcpu->vm) &&
	       !ckvm_irqchip_split(vcpu->vm);
}

/* An interrupt userspace gave (KVM_INTERRUPT) waits for the guest. */
static bool userspace_irq_pending(struct ckvm_vcpu *vcpu)
{
	return vcpu->arch.irq_queued || vcpu->arch.pending_extint >= 0;
}

/**
 * ckvm_vcpu_queue_nmi() - raise an NMI on a vCPU
 * @vcpu: the target; any context (a local APIC delivering an NMI, the
 *	  KVM_NMI ioctl, another vCPU's IPI).
 *
 * The vCPU takes it at its next entry when it can (not blocked by an
 * earlier NMI, SDM 6.7.1); a halted vCPU wakes for it.
 */
void ckvm_vcpu_queue_nmi(struct ckvm_vcpu *vcpu)
{
	atomic_inc(&vcpu->arch.nmi_queued);
	ckvm_make_request(vcpu, CKVM_REQ_EVENT);
	ckvm_vcpu_kick(vcpu);
}

/*
 * Move the NMIs raised since to nmi_pending. The CPU latches one NMI
 * while another is blocked: two at most, one when an NMI is already
 * being delivered or blocks the next. Under vcpu->mutex.
 */
static void process_nmi(struct ckvm_vcpu *vcpu)
{
	const struct ckvm_x86_ops *ops = ckvm_x86_ops;
	struct ckvm_event ev = { .type = CKVM_EVENT_NONE };
	unsigned int limit = 2, n;

	if (!atomic_read(&vcpu->arch.nmi_queued))
		return;
	if (ops->event_queued(vcpu))
		ops->get_event(vcpu, &ev);
	if (ops->get_nmi_mask(vcpu) || ev.type == CKVM_EVENT_NMI)
		limit = 1;
	n = vcpu->arch.nmi_pending + atomic_xchg(&vcpu->arch.nmi_queued, 0);
	vcpu->arch.nmi_pending = min(n, limit);
}

/**
 * ckvm_inject_events() - fill the injection slot before an entry
 * @vcpu: the vCPU, loaded, under vcpu->mutex; interrupts on.
 *
 * Priority as the CPU's (SDM 6.9): what already is in the slot, then an
 * NMI, then an external interrupt: the queued one, else the in-kernel
 * irqchip's (an ExtINT before the local APIC's highest vector,
 * ckvm_cpu_get_interrupt()). What cannot be delivered now opens the
 * window that brings the vCPU out as soon as it can; so does a second
 * interrupt waiting behind the one injected now.
 */
void ckvm_inject_events(struct ckvm_vcpu *vcpu)
{
	const struct ckvm_x86_ops *ops = ckvm_x86_ops;
	struct ckvm_vcpu_arch *arch = &vcpu->arch;
	int vector;

	process_nmi(vcpu);
	if (arch->nmi_pending) {
		if (ops->nmi_allowed(vcpu)) {
			ops->inject_nmi(vcpu);
			arch->nmi_pending--;
		}
		if (arch->nmi_pending)
			ops->enable_nmi_window(vcpu);
	}

	/* KVM_GUESTDBG_BLOCKIRQ: no external interrupt while debugged. */
	if (unlikely(vcpu->arch.guest_debug & KVM_GUESTDBG_BLOCKIRQ))
		return;

	if (arch->irq_queued) {
		if (ops->interrupt_allowed(vcpu)) {
			trace_ckvm_inj_virq(vcpu->vcpu_id, arch->irq_vector);
			ops->inject_irq(vcpu, arch->irq_vector);
			arch->irq_queued = false;
		} else {
			ops->enable_irq_window(vcpu);
		}
		return;
	}

	if (!ckvm_cpu_has_interrupt(vcpu))
		return;
	if (!ops->interrupt_allowed(vcpu)) {
		ops->enable_irq_window(vcpu);
		return;
	}
	vector = ckvm_cpu_get_interrupt(vcpu);
	if (vector >= 0) {
		trace_ckvm_inj_virq(vcpu->vcpu_id, vector);
		ops->inject_irq(vcpu, vector);
	}
	if (ckvm_cpu_has_interrupt(vcpu))
		ops->enable_irq_window(vcpu);
}

/**
 * ckvm_events_wake() - has a halted vCPU an event that ends its halt?
 * @vcpu: the vCPU; called by its own thread (it may sleep in between).
 *
 * An event already in the slot (delivering it ends the halt), an NMI it
 * can take, an interrupt it can take (SDM "HLT": an unmasked NMI or
 * external interrupt resumes the processor), or an INIT, which resets it.
 *
 * Return: true if the vCPU should run.
 */
bool ckvm_events_wake(struct ckvm_vcpu *vcpu)
{
	const struct ckvm_x86_ops *ops = ckvm_x86_ops;

	if (ops->event_queued(vcpu))
		return true;
	if (test_bit(CKVM_APIC_INIT, &vcpu->arch.apic_events))
		return true;
	process_nmi(vcpu);
	if (vcpu->arch.nmi_pending && ops->nmi_allowed(vcpu))
		return true;
	if (!ops->interrupt_allowed(vcpu) ||
	    (vcpu->arch.guest_debug & KVM_GUESTDBG_BLOCKIRQ))
		return false;
	return vcpu->arch.irq_queued || ckvm_cpu_has_interrupt(vcpu);
}

/**
 * ckvm_ready_for_interrupt_injection() - kvm_run.ready_for_interrupt_injection
 * @vcpu: the vCPU, under vcpu->mutex.
 *
 * With the PIC in the kernel always 1, as KVM reports it. Without, 1 when
 * a KVM_INTERRUPT now would be delivered at the next entry: the guest
 * takes interrupts (IF, no shadow), the slot is empty and no interrupt is
 * queued already; with a split irqchip also LINT0 takes ExtINTs (KVM's
 * kvm_cpu_accept_dm_intr()).
 *
 * Return: the flag.
 */
bool ckvm_ready_for_interrupt_injection(struct ckvm_vcpu *vcpu)
{
	const struct ckvm_x86_ops *ops = ckvm_x86_ops;

	if (pic_in_kernel(vcpu))
		return true;
	if (vcpu->arch.lapic && !ckvm_lapic_accepts_extint(vcpu))
		return false;
	return !userspace_irq_pending(vcpu) && !ops->event_queued(vcpu) &&
	       ops->interrupt_allowed(vcpu);
}

/**
 * ckvm_want_irq_window() - should this entry exit once interrupts are on?
 * @vcpu: the vCPU, under vcpu->mutex.
 * @requested: kvm_run.request_interrupt_window, as KVM_RUN read it.
 *
 * Userspace without an in-kernel PIC asks for KVM_EXIT_IRQ_WINDOW_OPEN
 * when it has an interrupt for the guest.
 *
 * Return: true if the run loop should stop for it once ready.
 */
bool ckvm_want_irq_window(struct ckvm_vcpu *vcpu, bool requested)
{
	return requested && !pic_in_kernel(vcpu);
}

/* ---- KVM_INTERRUPT, KVM_NMI ---- */

/*
 * KVM_INTERRUPT: without an in-kernel irqchip, the vector userspace's
 * interrupt controller acknowledged for this vCPU (KVM_NR_INTERRUPTS
 * vectors). As in KVM a second one replaces a first that was not
 * delivered yet. Unlike KVM, which injects it at the next entry whatever
 * RFLAGS.IF says, ckvm waits until the guest can take it (VM entry
 * refuses an external interrupt with IF=0 or in an STI shadow). With a
 * split irqchip it is an ExtINT of userspace's PIC, taken through LINT0
 * (ckvm_irqchip_queue_extint(): -EEXIST while one waits, as KVM).
 */
static long vcpu_interrupt(struct ckvm_vcpu *vcpu, struct kvm_interrupt __user *argp)
{
	struct kvm_interrupt irq;

	if (copy_from_user(&irq, argp, sizeof(irq)))
		return -EFAULT;
	if (irq.irq >= KVM_NR_INTERRUPTS)
		return -EINVAL;
	/* With the PIC in the kernel, KVM takes no interrupt this way. */
	if (pic_in_kernel(vcpu))
		return -ENXIO;
	if (vcpu->arch.lapic)
		return ckvm_irqchip_queue_extint(vcpu, irq.irq);
	vcpu->arch.irq_vector = irq.irq;
	vcpu->arch.irq_queued = true;
	ckvm_make_request(vcpu, CKVM_REQ_EVENT);
	return 0;
}

/* ---- KVM_GET/SET_VCPU_EVENTS ---- */

/**
 * ckvm_get_vcpu_events() - the events of a vCPU, as KVM reports them
 * @vcpu: the vCPU, loaded, under vcpu->mutex.
 * @e: filled in whole (reserved bytes 0).
 *
 * A software interrupt or exception in the slot is not reported (as KVM:
 * RIP still points at its instruction, which raises it again). The SIPI
 * vector is never reported (KVM's rule); SMM does not exist here, so its
 * fields are 0.
 */
void ckvm_get_vcpu_events(struct ckvm_vcpu *vcpu, struct kvm_vcpu_events *e)
{
	const struct ckvm_x86_ops *ops = ckvm_x86_ops;
	struct ckvm_event ev = { .type = CKVM_EVENT_NONE };

	process_nmi(vcpu);
	ops->get_event(vcpu, &ev);
	memset(e, 0, sizeof(*e));

	if (ev.type == CKVM_EVENT_EXCEPTION) {
		e->exception.injected = 1;
		e->exception.nr = ev.vector;
		e->exception.has_error_code = ev.has_error;
		e->exception.error_code = ev.error_code;
	}
	if (ev.type == CKVM_EVENT_INTR) {
		e->interrupt.injected = 1;
		e->interrupt.nr = ev.vector;
	} else if (vcpu->arch.irq_queued) {
		e->interrupt.injected = 1;
		e->interrupt.nr = vcpu->arch.irq_vector;
	}
	e->interrupt.shadow = ops->get_interrupt_shadow(vcpu);
	e->nmi.injected = ev.type == CKVM_EVENT_NMI;
	e->nmi.pending = vcpu->arch.nmi_pending != 0;
	e->nmi.masked = ops->get_nmi_mask(vcpu);
	e->flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW |
		   KVM_VCPUEVENT_VALID_SMM;
	if (READ_ONCE(vcpu->vm->arch.triple_fault_event)) {
		e->flags |= KVM_VCPUEVENT_VALID_TRIPLE_FAULT;
		e->triple_fault.pending = vcpu->arch.triple_fault_pending;
	}
}

#define CKVM_VCPUEVENT_FLAGS	(KVM_VCPUEVENT_VALID_NMI_PENDING |	\
				 KVM_VCPUEVENT_VALID_SIPI_VECTOR |	\
				 KVM_VCPUEVENT_VALID_SHADOW |		\
				 KVM_VCPUEVENT_VALID_SMM |		\
				 KVM_VCPUEVENT_VALID_PAYLOAD |		\
				 KVM_VCPUEVENT_VALID_TRIPLE_FAULT)

/*
 * KVM's checks, all before anything changes: unknown flags; the payload
 * flag, which needs KVM_CAP_EXCEPTION_PAYLOAD (not offered); an exception
 * vector above 31 or NMI's; SMM state, which does not exist here; a
 * triple fault without KVM_CAP_X86_TRIPLE_FAULT_EVENT.
 */
static int vcpu_events_valid(struct ckvm_vcpu *vcpu,
			     const struct kvm_vcpu_events *e)
{
	if (e->flags & ~CKVM_VCPUEVENT_FLAGS)
		return -EINVAL;
	if (e->flags & KVM_VCPUEVENT_VALID_PAYLOAD)
		return -EINVAL;
	/* Without the payload flag, KVM ignores exception.pending. */
	if (e->exception.injected &&
	    (e->exception.nr > 31 || e->exception.nr == X86_TRAP_NMI))
		return -EINVAL;
	if ((e->flags & KVM_VCPUEVENT_VALID_SMM) &&
	    (e->smi.smm || e->smi.pending || e->smi.smm_inside_nmi ||
	     e->smi.latched_init))
		return -EINVAL;
	if ((e->flags & KVM_VCPUEVENT_VALID_TRIPLE_FAULT) &&
	    !READ_ONCE(vcpu->vm->arch.triple_fault_event))
		return -EINVAL;
	return 0;
}

/**
 * ckvm_set_vcpu_events() - KVM_SET_VCPU_EVENTS
 * @vcpu: the vCPU, loaded, under vcpu->mutex.
 * @e: the events, as KVM_GET_VCPU_EVENTS reports them.
 *
 * The slot gets the injected exception, else the injected NMI, else the
 * injected hardware interrupt (a soft one is dropped: RIP points at its
 * instruction). KVM keeps the three apart; should userspace give more
 * than one, ckvm makes a second NMI pending and queues the interrupt,
 * which delivers them in the order KVM would.
 *
 * Return: 0, or -EINVAL (nothing changed) for what KVM refuses.
 */
int ckvm_set_vcpu_events(struct ckvm_vcpu *vcpu, const struct kvm_vcpu_events *e)
{
	const struct ckvm_x86_ops *ops = ckvm_x86_ops;
	struct ckvm_vcpu_arch *arch = &vcpu->arch;
	bool irq = e->interrupt.injected && !e->interrupt.soft;
	bool nmi_in_slot = false;
	int r;

	r = vcpu_events_valid(vcpu, e);
	if (r)
		return r;

	process_nmi(vcpu);
	ops->cancel_event(vcpu);
	arch->irq_queued = false;
	if (e->exception.injected) {
		ops->queue_exception(vcpu, e->exception.nr,
				     e->exception.has_error_code,
				     e->exception.error_code);
	} else if (e->nmi.injected) {
		ops->inject_nmi(vcpu);
		nmi_in_slot = true;
	} else if (irq) {
		ops->inject_irq(vcpu, e->interrupt.nr);
		irq = false;
	}
	if (irq) {
		arch->irq_vector = e->interrupt.nr;
		arch->irq_queued = true;
	}
	if (e->flags & KVM_VCPUEVENT_VALID_SHADOW)
		ops->set_interrupt_shadow(vcpu, e->interrupt.shadow);

	if (e->flags & KVM_VCPUEVENT_VALID_NMI_PENDING)
		arch->nmi_pending = !!e->nmi.pending;
	if (e->nmi.injected && !nmi_in_slot)
		arch->nmi_pending = min(arch->nmi_pending + 1, 2);
	/* After inject_nmi(), which blocks NMIs as delivering one does. */
	ops->set_nmi_mask(vcpu, e->nmi.masked);

	if ((e->flags & KVM_VCPUEVENT_VALID_SIPI_VECTOR) && arch->lapic)
		arch->sipi_vector = e->sipi_vector;
	if (e->flags & KVM_VCPUEVENT_VALID_TRIPLE_FAULT)
		arch->triple_fault_pending = e->triple_fault.pending;
	ckvm_make_request(vcpu, CKVM_REQ_EVENT);
	return 0;
}

/**
 * ckvm_events_injected_irq() - the external interrupt being delivered
 * @vcpu: the vCPU, under vcpu->mutex.
 *
 * For KVM_GET_SREGS's interrupt_bitmap.
 *
 * Return: its vector, or -1 if there is none.
 */
int ckvm_events_injected_irq(struct ckvm_vcpu *vcpu)
{
	struct ckvm_event ev = { .type = CKVM_EVENT_NONE };

	if (ckvm_x86_ops->event_queued(vcpu))
		ckvm_x86_ops->get_event(vcpu, &ev);
	if (ev.type == CKVM_EVENT_INTR)
		return ev.vector;
	return vcpu->arch.irq_queued ? vcpu->arch.irq_vector : -1;
}

/**
 * ckvm_events_queue_irq() - deliver an external interrupt when possible
 * @vcpu: the vCPU, under vcpu->mutex.
 * @vector: the interrupt, already acknowledged (KVM_SET_SREGS's
 *	    interrupt_bitmap).
 */
void ckvm_events_queue_irq(struct ckvm_vcpu *vcpu, u8 vector)
{
	vcpu->arch.irq_vector = vector;
	vcpu->arch.irq_queued = true;
	ckvm_make_request(vcpu, CKVM_REQ_EVENT);
}

/**
 * ckvm_events_reset() - the event state after RESET and INIT
 * @vcpu: the vCPU, under vcpu->mutex (or being created).
 *
 * Nothing pending, nothing queued (the backend empties its slot itself).
 */
void ckvm_events_reset(struct ckvm_vcpu *vcpu)
{
	atomic_set(&vcpu->arch.nmi_queued, 0);
	vcpu->arch.nmi_pending = 0;
	vcpu->arch.irq_queued = false;
	vcpu->arch.triple_fault_pending = false;
}

/**
 * ckvm_events_vcpu_ioctl() - the event ioctls of a vCPU
 * @vcpu: the vCPU, under vcpu->mutex; loaded by the caller.
 * @ioctl: KVM_INTERRUPT, KVM_NMI, KVM_GET_VCPU_EVENTS or KVM_SET_VCPU_EVENTS.
 * @argp: the ioctl's argument.
 *
 * Return: 0 or a negative errno; -ENOIOCTLCMD for another ioctl.
 */
long ckvm_events_vcpu_ioctl(struct ckvm_vcpu *vcpu, unsigned int ioctl,
			    void __user *argp)
{
	struct kvm_vcpu_events e;

	switch (ioctl) {
	case KVM_INTERRUPT:
		return vcpu_interrupt(vcpu, argp);
	case KVM_NMI:
		/* Our own thread: no kick needed. */
		atomic_inc(&vcpu->arch.nmi_queued);
		ckvm_make_request(vcpu, CKVM_REQ_EVENT);
		return 0;
	case KVM_GET_VCPU_EVENTS:
		ckvm_get_vcpu_events(vcpu, &e);
		return copy_to_user(argp, &e, sizeof(e)) ? -EFAULT : 0;
	case KVM_SET_VCPU_EVENTS:
		if (copy_from_user(&e, argp, sizeof(e)))
			return -EFAULT;
		return ckvm_set_vcpu_events(vcpu, &e);
	default:
		return -ENOIOCTLCMD;
	}
}
