// SPDX-License-Identifier: GPL-2.0
/*
 * Instruction emulation for the vCPU: the emulator's callbacks over guest
 * memory, MMIO and its KVM_EXIT_MMIO exits, faults delivered to the guest
 * and KVM_EXIT_INTERNAL_ERROR for what cannot be emulated. The emulator
 * itself (decode.c, emulate.c) knows none of this.
 *
 * A nested page fault on a gpa no memslot covers, or a write to a
 * KVM_MEM_READONLY slot, comes here (ckvm_mmu_tdp_fault). The instruction
 * at RIP is decoded (with the bytes the CPU reported, if it did) and
 * executed: RAM through the memslots' user addresses, MMIO through
 * emulator_mmio(), which offers an access to in-kernel devices first and
 * else to userspace, in pieces of at most 8 bytes (KVM's fragments).
 *
 * Userspace gets one access per run of the instruction:
 *  - a read stops the run (X86EMUL_IO_NEEDED) and exits; the next KVM_RUN
 *    runs the instruction again from its start, and the reads it made
 *    before are replayed from emul->reads[] in order;
 *  - a write is posted: the instruction completes, then each piece exits
 *    in turn;
 *  - a second access in the same run (a REP string instruction's next
 *    iteration) stops it after the iterations done, and after userspace
 *    handled the first the instruction runs again from there.
 */
#include <linux/sched.h>
#include <linux/uaccess.h>
#include <asm/fpu/api.h>
#include <asm/processor-flags.h>
#include <asm/trapnr.h>

#include "ckvm.h"
#include "cpuid.h"
#include "irqchip.h"
#include "x86_ops.h"
#include "x86_state.h"
#include "trace.h"

/* The emulator numbers segments as ckvm does (the encoding's order). */
static_assert((int)X86EMUL_SEG_ES == (int)CKVM_SEG_ES &&
	      (int)X86EMUL_SEG_CS == (int)CKVM_SEG_CS &&
	      (int)X86EMUL_SEG_SS == (int)CKVM_SEG_SS &&
	      (int)X86EMUL_SEG_DS == (int)CKVM_SEG_DS &&
	      (int)X86EMUL_SEG_FS == (int)CKVM_SEG_FS &&
	      (int)X86EMUL_SEG_GS == (int)CKVM_SEG_GS);
static_assert(VCPU_REGS_R15 == 15 && VCPU_REGS_RIP == 16);

/* Access kinds of emul_access(). */
enum { ACCESS_READ, ACCESS_RMW, ACCESS_WRITE };

static struct ckvm_vcpu *ctxt_vcpu(struct x86_emulate_ctxt *ctxt)
{
	return ctxt->priv;
}

/* ---- KVM_EXIT_INTERNAL_ERROR ---- */

/**
 * ckvm_emulation_failure_exit() - end the run: an instruction ckvm cannot emulate
 * @vcpu: the vCPU, loaded.
 * @insn: the instruction's bytes, or NULL.
 * @insn_len: how many (at most 15).
 * @data: further words for userspace, or NULL.
 * @ndata: how many (at most 4).
 *
 * Fills kvm_run as KVM 6.1 does (prepare_emulation_failure_exit): suberror
 * KVM_INTERNAL_ERROR_EMULATION; data[0] the flags, with
 * KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES when the bytes
 * follow in insn_size/insn_bytes (data[1] and data[2]; unused bytes 0x90);
 * then five words of the vendor's exit information (reason, info1, info2,
 * interrupt info, error code), then @data. Only the flags and the bytes
 * are ABI; the rest is for people reading a log.
 *
 * Return: 0, the exit handler's "exit to userspace".
 */
int ckvm_emulation_failure_exit(struct ckvm_vcpu *vcpu, const u8 *insn,
				int insn_len, const u64 *data, int ndata)
{
	struct kvm_run *run = vcpu->run;
	u64 info[5] = { 0 };
	int start = 1;

	if (WARN_ON_ONCE(ndata > 4))
		ndata = 4;
	if (ckvm_x86_ops->get_exit_info)
		ckvm_x86_ops->get_exit_info(vcpu, info);
	vcpu->stat.arch.insn_emulation_fail++;
	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->emulation_failure.suberror = KVM_INTERNAL_ERROR_EMULATION;
	run->emulation_failure.flags = 0;
	if (insn && insn_len) {
		insn_len = min(insn_len, X86EMUL_MAX_INSN);
		start += 2;
		run->emulation_failure.flags |=
			KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES;
		run->emulation_failure.insn_size = insn_len;
		memset(run->emulation_failure.insn_bytes, 0x90,
		       sizeof(run->emulation_failure.insn_bytes));
		memcpy(run->emulation_failure.insn_bytes, insn, insn_len);
	}
	memcpy(&run->internal.data[start], info, sizeof(info));
	if (ndata)
		memcpy(&run->internal.data[start + ARRAY_SIZE(info)], data,
		       ndata * sizeof(*data));
	run->emulation_failure.ndata = start + ARRAY_SIZE(info) + ndata;
	return 0;
}

/**
 * ckvm_exit_emulation_failed() - end the run: an access ckvm cannot complete
 * @vcpu: the vCPU, loaded.
 * @gpa: the address concerned (the data word after the exit information).
 *
 * Return: 0, the exit handler's "exit to userspace".
 */
int ckvm_exit_emulation_failed(struct ckvm_vcpu *vcpu, gpa_t gpa)
{
	return ckvm_emulation_failure_exit(vcpu, NULL, 0, &gpa, 1);
}

/*
 * The instruction cannot be emulated. As KVM 6.1 (handle_emulation_failure):
 * the guest gets #UD, and the run ends with the instruction's bytes if the
 * guest was at CPL 0 (else the guest handles its #UD); with
 * KVM_CAP_EXIT_ON_EMULATION_FAILURE the run always ends and no #UD comes.
 */
static int emulation_failed(struct ckvm_vcpu *vcpu)
{
	struct x86_emulate_ctxt *ctxt = &vcpu->arch.emul.ctxt;

	vcpu->arch.complete_userspace_io = NULL;
	if (!READ_ONCE(vcpu->vm->arch.exit_on_emulation_error)) {
		ckvm_inject_ud(vcpu);
		if (ctxt->cpl) {
			vcpu->stat.arch.insn_emulation_fail++;
			return 1;
		}
	}
	return ckvm_emulation_failure_exit(vcpu, ctxt->fetch, ctxt->fetch_len,
					   NULL, 0);
}

/* ---- the emulator's view of the vCPU ---- */

static void emul_get_segment(struct x86_emulate_ctxt *ctxt, int seg,
			     struct x86emul_segment *s)
{
	struct kvm_segment k;

	ckvm_x86_ops->get_segment(ctxt_vcpu(ctxt), &k, seg);
	s->base = k.base;
	s->limit = k.limit;
	s->selector = k.selector;
	s->type = k.type;
	s->dpl = k.dpl;
	s->s = k.s;
	s->present = k.present;
	s->db = k.db;
	s->unusable = k.unusable;
}

static u64 emul_get_cr(struct x86_emulate_ctxt *ctxt, int cr)
{
	return ckvm_x86_ops->get_cr(ctxt_vcpu(ctxt), cr);
}

/*
 * The guest's XMM registers. KVM_RUN swapped the guest's FPU state in
 * (fpu_swap_kvm_fpstate), so they are in the CPU's registers, unless the
 * thread was preempted since and they wait in the guest fpstate: then they
 * are loaded first. fpregs_lock() keeps them there meanwhile. All sixteen
 * move at once: an asm operand cannot name a register by number.
 */
static void xmm_save(u8 (*x)[16])
{
	asm volatile(
		     "movdqu %%xmm0, 0(%0)\n\t"
		     "movdqu %%xmm1, 16(%0)\n\t"
		     "movdqu %%xmm2, 32(%0)\n\t"
		     "movdqu %%xmm3, 48(%0)\n\t"
		     "movdqu %%xmm4, 64(%0)\n\t"
		     "movdqu %%xmm5, 80(%0)\n\t"
		     "movdqu %%xmm6, 96(%0)\n\t"
		     "movdqu %%xmm7, 112(%0)\n\t"
		     "movdqu %%xmm8, 128(%0)\n\t"
		     "movdqu %%xmm9, 144(%0)\n\t"
		     "movdqu %%xmm10, 160(%0)\n\t"
		     "movdqu %%xmm11, 176(%0)\n\t"
		     "movdqu %%xmm12, 192(%0)\n\t"
		     "movdqu %%xmm13, 208(%0)\n\t"
		     "movdqu %%xmm14, 224(%0)\n\t"
		     "movdqu %%xmm15, 240(%0)"
		     : : "r"(x) : "memory");
}

static void xmm_load(const u8 (*x)[16])
{
	asm volatile(
		     "movdqu 0(%0), %%xmm0\n\t"
		     "movdqu 16(%0), %%xmm1\n\t"
		     "movdqu 32(%0), %%xmm2\n\t"
		     "movdqu 48(%0), %%xmm3\n\t"
		     "movdqu 64(%0), %%xmm4\n\t"
		     "movdqu 80(%0), %%xmm5\n\t"
		     "movdqu 96(%0), %%xmm6\n\t"
		     "movdqu 112(%0), %%xmm7\n\t"
		     "movdqu 128(%0), %%xmm8\n\t"
		     "movdqu 144(%0), %%xmm9\n\t"
		     "movdqu 160(%0), %%xmm10\n\t"
		     "movdqu 176(%0), %%xmm11\n\t"
		     "movdqu 192(%0), %%xmm12\n\t"
		     "movdqu 208(%0), %%xmm13\n\t"
		     "movdqu 224(%0), %%xmm14\n\t"
		     "movdqu 240(%0), %%xmm15"
		     : : "r"(x) : "memory");
}

static void emul_get_xmm(struct x86_emulate_ctxt *ctxt, int reg, void *val)
{
	u8 x[16][16];

	fpregs_lock();
	if (test_thread_flag(TIF_NEED_FPU_LOAD))
		switch_fpu_return();
	xmm_save(x);
	fpregs_unlock();
	memcpy(val, x[reg & 15], 16);
}

static void emul_put_xmm(struct x86_emulate_ctxt *ctxt, int reg,
			 const void *val)
{
	u8 x[16][16];

	fpregs_lock();
	if (test_thread_flag(TIF_NEED_FPU_LOAD))
		switch_fpu_return();
	xmm_save(x);
	memcpy(x[reg & 15], val, 16);
	xmm_load(x);
	fpregs_unlock();
}

/* ---- translation ---- */

/* Does the instruction touch memory through one operand only? */
static bool one_memory_operand(const struct x86emul_insn *insn)
{
	switch (insn->d.cls) {
	case C_PUSH:
	case C_POP:
		return false;
	case C_STRING:
		return insn->d.op != STR_MOVS && insn->d.op != STR_CMPS;
	default:
		return true;
	}
}

/*
 * The nested page fault already told the gpa of this access, if it was on
 * the access's final translation, the instruction has no other memory
 * operand, and its page matches (the whole linear address on VMX, the page
 * offset on SVM, which reports no linear address). Saves a guest walk.
 */
static bool use_fault_gpa(struct ckvm_emulation *em, u64 addr, u32 access,
			  gpa_t *gpa)
{
	const struct ckvm_tdp_fault *f = em->fault;

	if (!f || em->gpa_used || !f->final ||
	    (f->access & CKVM_ACC_WRITE) != (access & CKVM_ACC_WRITE) ||
	    !one_memory_operand(&em->ctxt.insn))
		return false;
	if (f->gva_valid ? (f->gva >> PAGE_SHIFT) != (addr >> PAGE_SHIFT) :
			   offset_in_page(f->gpa) != offset_in_page(addr))
		return false;
	em->gpa_used = true;
	*gpa = (f->gpa & PAGE_MASK) | offset_in_page(addr);
	return true;
}

static int translate(struct x86_emulate_ctxt *ctxt, u64 addr, u32 access,
		     gpa_t *gpa)
{
	struct ckvm_vcpu *vcpu = ctxt_vcpu(ctxt);
	int r;

	if (ctxt->cpl == 3)
		access |= CKVM_ACC_USER;
	if (!(access & CKVM_ACC_FETCH) &&
	    use_fault_gpa(&vcpu->arch.emul, addr, access, gpa))
		return X86EMUL_CONTINUE;
	r = ckvm_mmu_gva_to_gpa(vcpu, addr, access, gpa, &ctxt->exception);
	if (r == 1)
		return X86EMUL_EXCEPTION;
	return r ? X86EMUL_UNHANDLEABLE : X86EMUL_CONTINUE;
}

/* The user address of RAM at @gpa for this access, or 0 if it is MMIO. */
static unsigned long ram_hva(struct ckvm_vcpu *vcpu, gpa_t gpa, bool write)
{
	struct ckvm_memslot *slot = ckvm_gfn_to_memslot(vcpu->vm,
							gpa >> PAGE_SHIFT);

	if (!slot || (write && (slot->flags & KVM_MEM_READONLY)))
		return 0;
	return slot->userspace_addr +
	       (((gpa >> PAGE_SHIFT) - slot->base_gfn) << PAGE_SHIFT) +
	       offset_in_page(gpa);
}

/* ---- MMIO ---- */

/*
 * In-kernel MMIO devices (the vCPU's xAPIC page, then the MMIO bus:
 * IOAPIC window, ioeventfds, coalesced zones): 0 if one took the access,
 * -EOPNOTSUPP if none did and userspace must be asked.
 */
static int mmio_in_kernel(struct ckvm_vcpu *vcpu, gpa_t gpa, int len,
			  void *val, bool write)
{
	if (write)
		return ckvm_mmio_dev_write(vcpu, gpa, len, val);
	return ckvm_mmio_dev_read(vcpu, gpa, len, val);
}

/* Replay the next read of the earlier runs, if it is this one. */
static bool mmio_read_cached(struct ckvm_emulation *em, gpa_t gpa, int len,
			     void *val)
{
	struct ckvm_mmio_fragment *r;

	if (em->next_read >= em->nr_reads)
		return false;
	r = &em->reads[em->next_read];
	if (r->gpa != gpa || r->len != len) {
		/* The instruction went elsewhere this time: forget them. */
		em->nr_reads = em->next_read;
		return false;
	}
	memcpy(val, r->data, len);
	em->next_read++;
	return true;
}

/*
 * Forget the reads of string iterations that completed: only those of the
 * iteration under way may be replayed. At the end of a run (@renumber) the
 * ones kept belong to the next run's first iteration.
 */
static void drop_finished_reads(struct ckvm_emulation *em, bool renumber)
{
	int i, n = 0;

	for (i = 0; i < em->nr_reads; i++) {
		if (em->reads[i].stamp != em->ctxt.iterations)
			continue;
		em->reads[n] = em->reads[i];
		if (renumber)
			em->reads[n].stamp = 0;
		n++;
	}
	em->next_read -= em->nr_reads - n;
	em->nr_reads = n;
}

/* Room for one more read in reads[]? */
static bool mmio_read_slot(struct ckvm_emulation *em)
{
	if (em->nr_reads == CKVM_MMIO_READS)
		drop_finished_reads(em, false);
	return em->nr_reads < CKVM_MMIO_READS;
}

/* May this access be this run's one access to userspace? */
static bool user_access_allowed(struct ckvm_emulation *em)
{
	if (em->user_access)
		return em->user_access_seq == em->access_seq;
	em->user_access = true;
	em->user_access_seq = em->access_seq;
	return true;
}

/*
 * Every MMIO access of the emulator: @len bytes at @gpa, within one page.
 * Cut into pieces of at most 8 bytes; each goes to an in-kernel device if
 * one takes it, else to userspace (a read waits for it, a write is
 * posted). Returns X86EMUL_CONTINUE or X86EMUL_IO_NEEDED.
 */
static int emulator_mmio(struct ckvm_vcpu *vcpu, gpa_t gpa, unsigned int len,
			 void *val, bool write)
{
	struct ckvm_emulation *em = &vcpu->arch.emul;
	struct ckvm_mmio_fragment *f;
	u8 *p = val;

	while (len) {
		unsigned int n = min_t(unsigned int, len, CKVM_MMIO_FRAG_MAX);

		if (!write && mmio_read_cached(em, gpa, n, p))
			goto next;
		if (!mmio_in_kernel(vcpu, gpa, n, p, write)) {
			trace_ckvm_mmio(vcpu->vcpu_id, write ?
					CKVM_TRACE_MMIO_WRITE : CKVM_TRACE_MMIO_READ,
					n, gpa, p);
			if (write || !mmio_read_slot(em))
				goto next;
			/* Keep it: a run after this one must not read again. */
			f = &em->reads[em->nr_reads++];
			goto cache;
		}
		if (!user_access_allowed(em))
			return X86EMUL_IO_NEEDED;
		if (write) {
			if (WARN_ON_ONCE(em->nr_writes == CKVM_MMIO_WRITES))
				return X86EMUL_UNHANDLEABLE;
			trace_ckvm_mmio(vcpu->vcpu_id, CKVM_TRACE_MMIO_WRITE, n,
					gpa, p);
			f = &em->writes[em->nr_writes++];
			f->gpa = gpa;
			f->len = n;
			memcpy(f->data, p, n);
			goto next;
		}
		if (!mmio_read_slot(em))
			return X86EMUL_UNHANDLEABLE;
		trace_ckvm_mmio(vcpu->vcpu_id, CKVM_TRACE_MMIO_READ_UNSATISFIED,
				n, gpa, NULL);
		em->pending.gpa = gpa;
		em->pending.len = n;
		em->read_pending = true;
		return X86EMUL_IO_NEEDED;
cache:
		f->gpa = gpa;
		f->len = n;
		f->stamp = em->ctxt.iterations;
		memcpy(f->data, p, n);
		em->next_read = em->nr_reads;
next:
		gpa += n;
		p += n;
		len -= n;
	}
	return X86EMUL_CONTINUE;
}

/*
 * A data access of the emulator: @len bytes at linear @addr, at most two
 * pages. Both are translated before either is touched, as the CPU faults
 * before it writes half an operand. RAM is the memslot's user memory
 * (written pages are marked dirty); the rest is MMIO.
 */
static int emul_access(struct x86_emulate_ctxt *ctxt, u64 addr, void *val,
		       unsigned int len, int kind)
{
	struct ckvm_vcpu *vcpu = ctxt_vcpu(ctxt);
	bool write = kind == ACCESS_WRITE;
	u32 access = kind == ACCESS_READ ? 0 : CKVM_ACC_WRITE;
	unsigned int n[2], i, pieces = 1;
	gpa_t gpa[2];
	u8 *p = val;
	int rc;

	vcpu->arch.emul.access_seq++;
	n[0] = min_t(unsigned int, len, PAGE_SIZE - offset_in_page(addr));
	n[1] = len - n[0];
	if (n[1])
		pieces = 2;
	for (i = 0; i < pieces; i++) {
		rc = translate(ctxt, i ? addr + n[0] : addr, access, &gpa[i]);
		if (rc != X86EMUL_CONTINUE)
			return rc;
	}
	for (i = 0; i < pieces; p += n[i], i++) {
		unsigned long hva = ram_hva(vcpu, gpa[i], write);

		if (!hva) {
			rc = emulator_mmio(vcpu, gpa[i], n[i], p, write);
			if (rc != X86EMUL_CONTINUE)
				return rc;
		} else if (write) {
			if (copy_to_user((void __user *)hva, p, n[i]))
				return X86EMUL_UNHANDLEABLE;
			ckvm_mark_page_dirty(vcpu->vm, gpa[i] >> PAGE_SHIFT);
			/* A shadowed guest page table: its sptes follow. */
			ckvm_mmu_pte_write(vcpu, gpa[i], n[i]);
		} else if (copy_from_user(p, (void __user *)hva, n[i])) {
			return X86EMUL_UNHANDLEABLE;
		}
	}
	return X86EMUL_CONTINUE;
}

static int emul_read(struct x86_emulate_ctxt *ctxt, u64 addr, void *val,
		     unsigned int len, bool for_write)
{
	return emul_access(ctxt, addr, val, len,
			   for_write ? ACCESS_RMW : ACCESS_READ);
}

static int emul_write(struct x86_emulate_ctxt *ctxt, u64 addr,
		      const void *val, unsigned int len)
{
	u8 buf[16];

	memcpy(buf, val, len);
	return emul_access(ctxt, addr, buf, len, ACCESS_WRITE);
}

/* Compare and exchange @len (1, 2, 4 or 8) bytes of RAM at @hva. */
static int cmpxchg_user(unsigned long hva, const void *old, const void *new,
			unsigned int len)
{
	int r = -EFAULT;

	if (!access_ok((void __user *)hva, len))
		return -EFAULT;
	switch (len) {
	case 1: {
		u8 o = *(const u8 *)old;

		r = __try_cmpxchg_user((u8 __user *)hva, &o, *(const u8 *)new,
				       fault1);
		break;
	}
	case 2: {
		u16 o = *(const u16 *)old;

		r = __try_cmpxchg_user((u16 __user *)hva, &o, *(const u16 *)new,
				       fault2);
		break;
	}
	case 4: {
		u32 o = *(const u32 *)old;

		r = __try_cmpxchg_user((u32 __user *)hva, &o, *(const u32 *)new,
				       fault4);
		break;
	}
	case 8: {
		u64 o = *(const u64 *)old;

		r = __try_cmpxchg_user((u64 __user *)hva, &o, *(const u64 *)new,
				       fault8);
		break;
	}
	}
	return r;
}

/*
 * LOCKed read-modify-writes and XCHG: atomic on RAM. MMIO, an operand over
 * a page boundary and CMPXCHG16B's 16 bytes are written plainly, as KVM
 * does: devices have no atomicity to offer.
 */
static int emul_cmpxchg(struct x86_emulate_ctxt *ctxt, u64 addr,
			const void *old, const void *new, unsigned int len)
{
	struct ckvm_vcpu *vcpu = ctxt_vcpu(ctxt);
	unsigned long hva;
	gpa_t gpa;
	int rc, r;

	if (len > 8 || offset_in_page(addr) + len > PAGE_SIZE)
		return emul_write(ctxt, addr, new, len);
	vcpu->arch.emul.access_seq++;
	rc = translate(ctxt, addr, CKVM_ACC_WRITE, &gpa);
	if (rc != X86EMUL_CONTINUE)
		return rc;
	hva = ram_hva(vcpu, gpa, true);
	if (!hva) {
		u8 buf[8];

		memcpy(buf, new, len);
		return emulator_mmio(vcpu, gpa, len, buf, true);
	}
	r = cmpxchg_user(hva, old, new, len);
	if (r < 0)
		return X86EMUL_UNHANDLEABLE;
	if (r)
		return X86EMUL_CMPXCHG_FAILED;
	ckvm_mark_page_dirty(vcpu->vm, gpa >> PAGE_SHIFT);
	ckvm_mmu_pte_write(vcpu, gpa, len);
	return X86EMUL_CONTINUE;
}

/* Instruction bytes: from RAM only; code in MMIO is not emulated. */
static int emul_fetch(struct x86_emulate_ctxt *ctxt, u64 addr, void *val,
		      unsigned int len)
{
	struct ckvm_vcpu *vcpu = ctxt_vcpu(ctxt);
	unsigned long hva;
	gpa_t gpa;
	int rc;

	rc = translate(ctxt, addr, CKVM_ACC_FETCH, &gpa);
	if (rc != X86EMUL_CONTINUE)
		return rc;
	hva = ram_hva(vcpu, gpa, false);
	if (!hva || copy_from_user(val, (void __user *)hva, len))
		return X86EMUL_UNHANDLEABLE;
	return X86EMUL_CONTINUE;
}

/* ---- system instructions ---- */

static int emul_set_cr(struct x86_emulate_ctxt *ctxt, int cr, u64 val)
{
	return ckvm_set_cr(ctxt_vcpu(ctxt), cr, val) ? -1 : 0;
}

static void emul_invlpg(struct x86_emulate_ctxt *ctxt, u64 addr)
{
	ckvm_invlpg(ctxt_vcpu(ctxt), addr);
}

static void emul_set_dtable(struct x86_emulate_ctxt *ctxt, bool idt,
			    u64 base, u16 limit)
{
	struct kvm_dtable dt = { .base = base, .limit = limit };

	if (idt)
		ckvm_x86_ops->set_idt(ctxt_vcpu(ctxt), &dt);
	else
		ckvm_x86_ops->set_gdt(ctxt_vcpu(ctxt), &dt);
}

/* HLT: the vCPU halts once the instruction is done (emulate()). */
static void emul_halt(struct x86_emulate_ctxt *ctxt)
{
	ctxt_vcpu(ctxt)->arch.emul.halt = true;
}

/* MOV DR while a debugger owns the debug registers (x86/debugreg.c). */
static u64 emul_get_dr(struct x86_emulate_ctxt *ctxt, int dr)
{
	u64 val = 0;

	ckvm_get_dr(ctxt_vcpu(ctxt), dr, &val);
	return val;
}

static int emul_set_dr(struct x86_emulate_ctxt *ctxt, int dr, u64 val)
{
	return ckvm_set_dr(ctxt_vcpu(ctxt), dr, val) ? -1 : 0;
}

static const struct x86_emulate_ops emulate_ops = {
	.fetch = emul_fetch,
	.read = emul_read,
	.write = emul_write,
	.cmpxchg_emulated = emul_cmpxchg,
	.get_segment = emul_get_segment,
	.get_cr = emul_get_cr,
	.set_cr = emul_set_cr,
	.invlpg = emul_invlpg,
	.set_dtable = emul_set_dtable,
	.halt = emul_halt,
	.get_dr = emul_get_dr,
	.set_dr = emul_set_dr,
	.get_xmm = emul_get_xmm,
	.put_xmm = emul_put_xmm,
};

/* ---- running an instruction ---- */

/* The CPU mode the instruction runs in (SDM 2.2, 3.6; APM 1.2). */
static enum x86emul_mode emul_mode(struct ckvm_vcpu *vcpu, u64 rflags)
{
	const struct ckvm_x86_ops *ops = ckvm_x86_ops;
	struct kvm_segment cs;

	if (!(ops->get_cr(vcpu, 0) & X86_CR0_PE))
		return X86EMUL_MODE_REAL;
	if (rflags & X86_EFLAGS_VM)
		return X86EMUL_MODE_VM86;
	ops->get_segment(vcpu, &cs, CKVM_SEG_CS);
	if ((ops->get_efer(vcpu) & EFER_LMA) && cs.l)
		return X86EMUL_MODE_PROT64;
	return cs.db ? X86EMUL_MODE_PROT32 : X86EMUL_MODE_PROT16;
}

static void init_ctxt(struct ckvm_vcpu *vcpu, struct x86_emulate_ctxt *ctxt)
{
	ctxt->ops = &emulate_ops;
	ctxt->priv = vcpu;
	ctxt->rflags = ckvm_x86_ops->get_rflags(vcpu);
	ctxt->mode = emul_mode(vcpu, ctxt->rflags);
	ctxt->cpl = ckvm_cpl(vcpu);
	ctxt->flags = ckvm_guest_is_amd(vcpu) ? X86EMUL_F_AMD : 0;
	memcpy(ctxt->regs, vcpu->arch.regs, sizeof(ctxt->regs));
	ctxt->rip = vcpu->arch.regs[VCPU_REGS_RIP];
}

/* The registers as the emulator left them: the instruction took place. */
static void commit(struct ckvm_vcpu *vcpu, struct x86_emulate_ctxt *ctxt)
{
	const struct ckvm_x86_ops *ops = ckvm_x86_ops;
	unsigned long *regs = vcpu->arch.regs;

	memcpy(regs, ctxt->regs, sizeof(ctxt->regs));
	if (ctxt->rflags != ops->get_rflags(vcpu))
		ops->set_rflags(vcpu, ctxt->rflags);
	if (ctxt->rip != regs[VCPU_REGS_RIP]) {
		regs[VCPU_REGS_RIP] = ctxt->rip;
		/* Shadow ends, RF clears, TF traps: as after any instruction. */
		ckvm_complete_instruction(vcpu);
	}
}

static int complete_emulated_mmio(struct ckvm_vcpu *vcpu);

/* Hand the next posted write to userspace. */
static int mmio_write_exit(struct ckvm_vcpu *vcpu)
{
	struct ckvm_emulation *em = &vcpu->arch.emul;
	struct ckvm_mmio_fragment *f = &em->writes[em->next_write++];
	struct kvm_run *run = vcpu->run;

	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = f->gpa;
	run->mmio.len = f->len;
	run->mmio.is_write = 1;
	memset(run->mmio.data, 0, sizeof(run->mmio.data));
	memcpy(run->mmio.data, f->data, f->len);
	vcpu->stat.arch.mmio_exits++;
	vcpu->arch.complete_userspace_io = complete_emulated_mmio;
	return 0;
}

static int mmio_read_exit(struct ckvm_vcpu *vcpu)
{
	struct ckvm_emulation *em = &vcpu->arch.emul;
	struct ckvm_mmio_fragment *f = &em->pending;
	struct kvm_run *run = vcpu->run;

	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = f->gpa;
	run->mmio.len = f->len;
	run->mmio.is_write = 0;
	memset(run->mmio.data, 0, sizeof(run->mmio.data));
	vcpu->stat.arch.mmio_exits++;
	vcpu->arch.complete_userspace_io = complete_emulated_mmio;
	return 0;
}

/*
 * Runs of an instruction in a row without the guest running: a long REP
 * string instruction on userspace MMIO lets the guest in after this many
 * (its interrupts, the watchdog), as KVM does every 1024 iterations.
 */
#define MAX_RESUMES	X86EMUL_REP_CHUNK

/*
 * Decode and execute the instruction at RIP once (a "run"). @resume: a run
 * after userspace handled an access: same bytes, reads replayed. Returns
 * as an exit handler.
 */
static int emulate(struct ckvm_vcpu *vcpu, const struct ckvm_tdp_fault *f,
		   bool resume)
{
	const struct ckvm_x86_ops *ops = ckvm_x86_ops;
	struct ckvm_emulation *em = &vcpu->arch.emul;
	struct x86_emulate_ctxt *ctxt = &em->ctxt;
	int rc;

	init_ctxt(vcpu, ctxt);
	if (resume) {
		memcpy(ctxt->fetch, em->insn, em->insn_len);
		ctxt->fetch_len = em->insn_len;
	} else {
		em->nr_reads = 0;
		em->resumes = 0;
		ctxt->fetch_len = ops->get_insn_bytes ?
				  ops->get_insn_bytes(vcpu, ctxt->fetch) : 0;
	}
	em->rip = ctxt->rip;
	em->fault = f;
	em->gpa_used = false;
	em->next_read = 0;
	em->read_pending = false;
	em->nr_writes = 0;
	em->next_write = 0;
	em->resume = false;
	em->halt = false;
	em->user_access = false;
	vcpu->stat.arch.insn_emulation++;

	rc = x86_decode_insn(ctxt);
	if (rc == X86EMUL_CONTINUE && !resume && ops->get_insn_len) {
		int len = ops->get_insn_len(vcpu);

		/* The CPU's length disagrees: not the instruction that exited. */
		if (len && len != ctxt->insn.len)
			rc = X86EMUL_UNHANDLEABLE;
	}
	if (rc == X86EMUL_CONTINUE) {
		em->insn_len = ctxt->insn.len;
		memcpy(em->insn, ctxt->fetch, em->insn_len);
		rc = x86_emulate_insn(ctxt);
	}
	em->fault = NULL;
	if (rc == X86EMUL_UNHANDLEABLE && em->pt_write) {
		/*
		 * A write to a shadowed guest page table the emulator cannot
		 * do: stop shadowing the page and let the guest write it
		 * itself (KVM's "unprotect and retry").
		 */
		em->pt_write = false;
		ckvm_mmu_unprotect_gfn(vcpu, f->gpa >> PAGE_SHIFT);
		return 1;
	}
	if (rc == X86EMUL_UNHANDLEABLE)
		return emulation_failed(vcpu);

	/* Faults, waits and REP chunks all leave consistent registers. */
	commit(vcpu, ctxt);
	if (rc == X86EMUL_EXCEPTION)
		ckvm_inject_exception(vcpu, &ctxt->exception);
	if (em->halt) {
		em->halt = false;
		return ckvm_vcpu_halt(vcpu);
	}
	/* The next run starts after the iterations this one completed. */
	drop_finished_reads(em, true);
	if (rc == X86EMUL_IO_NEEDED && em->read_pending)
		return mmio_read_exit(vcpu);
	if (em->nr_writes) {
		em->resume = rc == X86EMUL_IO_NEEDED;
		return mmio_write_exit(vcpu);
	}
	if (WARN_ON_ONCE(rc == X86EMUL_IO_NEEDED))
		return emulation_failed(vcpu);
	return 1;
}

/*
 * The next KVM_RUN after a KVM_EXIT_MMIO: store the data of a read and
 * run the instruction again; hand over the next posted write; or go on
 * with an instruction that stopped for its writes.
 */
static int complete_emulated_mmio(struct ckvm_vcpu *vcpu)
{
	struct ckvm_emulation *em = &vcpu->arch.emul;
	struct kvm_run *run = vcpu->run;

	if (em->read_pending) {
		struct ckvm_mmio_fragment *f = &em->reads[em->nr_reads++];

		em->read_pending = false;
		*f = em->pending;
		f->stamp = 0;
		memcpy(f->data, run->mmio.data, f->len);
		trace_ckvm_mmio(vcpu->vcpu_id, CKVM_TRACE_MMIO_READ, f->len,
				f->gpa, f->data);
		/* Userspace moved RIP elsewhere: the instruction is abandoned. */
		if (vcpu->arch.regs[VCPU_REGS_RIP] != em->rip)
			return 1;
		return emulate(vcpu, NULL, true);
	}
	if (em->next_write < em->nr_writes)
		return mmio_write_exit(vcpu);
	if (em->resume && vcpu->arch.regs[VCPU_REGS_RIP] == em->rip &&
	    ++em->resumes < MAX_RESUMES)
		return emulate(vcpu, NULL, true);
	return 1;
}

/**
 * ckvm_emulate_mmio_fault() - emulate the instruction behind an MMIO fault
 * @vcpu: the vCPU, loaded; caller holds vm->srcu.
 * @f: the nested page fault: on a gpa no memslot covers, or a write to a
 *     KVM_MEM_READONLY slot.
 *
 * Emulates the instruction at RIP (SDM and APM semantics, see
 * Documentation/emulator.rst): its MMIO goes to in-kernel devices or to
 * userspace as KVM_EXIT_MMIO, a fault it raises goes to the guest, and an
 * instruction that cannot be emulated ends the run with
 * KVM_EXIT_INTERNAL_ERROR (KVM_INTERNAL_ERROR_EMULATION). An instruction
 * fetch from MMIO, or a fault taken while delivering an event, cannot be.
 *
 * Return: 1 to re-enter the guest, 0 with an exit for userspace.
 */
int ckvm_emulate_mmio_fault(struct ckvm_vcpu *vcpu,
			    const struct ckvm_tdp_fault *f)
{
	struct x86_emulate_ctxt *ctxt = &vcpu->arch.emul.ctxt;

	if ((f->access & CKVM_ACC_FETCH) || f->vectoring) {
		ctxt->fetch_len = 0;
		ctxt->cpl = ckvm_cpl(vcpu);
		return emulation_failed(vcpu);
	}
	return emulate(vcpu, f, false);
}

/**
 * ckvm_emulate_pt_write() - emulate a write to a shadowed guest page table
 * @vcpu: the vCPU, loaded; caller holds vm->srcu.
 * @f: the shadow #PF, as a fault on its final gpa: a write that the
 *     guest's tables allow to a page the shadow MMU write-protects.
 *
 * The instruction is emulated; its write reaches guest memory and the
 * shadow MMU (ckvm_mmu_pte_write()). One the emulator cannot do is not a
 * failure: the page stops being shadowed and the guest runs it again.
 *
 * Return: 1 to re-enter the guest, 0 with an exit for userspace.
 */
int ckvm_emulate_pt_write(struct ckvm_vcpu *vcpu,
			  const struct ckvm_tdp_fault *f)
{
	struct ckvm_emulation *em = &vcpu->arch.emul;
	int r;

	if (f->vectoring) {
		ckvm_mmu_unprotect_gfn(vcpu, f->gpa >> PAGE_SHIFT);
		return 1;
	}
	em->pt_write = true;
	r = emulate(vcpu, f, false);
	em->pt_write = false;
	return r;
}

/**
 * ckvm_emulate_instruction() - emulate the instruction at RIP for an exit
 * @vcpu: the vCPU, loaded; caller holds vm->srcu.
 *
 * For intercepts that name no operand: SVM without DecodeAssists (MOV
 * CR, INVLPG, ...), and what virtual-8086 mode cannot run. The same as
 * an MMIO fault's emulation, without a fault.
 *
 * Return: 1 to re-enter the guest, 0 with an exit for userspace.
 */
int ckvm_emulate_instruction(struct ckvm_vcpu *vcpu)
{
	return emulate(vcpu, NULL, false);
}
