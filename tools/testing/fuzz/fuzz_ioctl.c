// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_ioctl.c: every ioctl of the KVM API on x86 with the shape of its
 * argument (ioctls[], one line each, and the g_* generators for arguments
 * that hold pointers, fds or counts), the (call, errno) slots, and the
 * ioctl programs drawn from them (gen_ioctl_prog()).
 */
#include "kvmfuzz.h"

/* ------------------------------------------------------------ the ioctl table */
static const uint32_t msr_idx[] = {
	0x0, 0x1, 0x10, 0x17, 0x1b, 0x2a, 0x3a, 0x3b, 0x48, 0x49, 0x8b, 0x9b,
	0xc1, 0xe7, 0xe8, 0xfe, 0x174, 0x175, 0x176, 0x179, 0x17a, 0x186,
	0x1a0, 0x1d9, 0x1db, 0x200, 0x250, 0x277, 0x2ff, 0x345, 0x3f1, 0x400,
	0x480, 0x48d, 0x491, 0x4c1, 0x4d0, 0x500, 0x600, 0x6a0, 0x6e0, 0x800,
	0x802, 0x803, 0x808, 0x80b, 0x80f, 0x830, 0x838, 0x83f, 0x8ff, 0xc80,
	0xd90, 0xda0, 0x1200, 0x1500, 0x1fff, 0x2000, 0x40000000, 0x40000001,
	0x40000020, 0x4b564d00, 0x4b564d01, 0x4b564d02, 0x4b564d03, 0x4b564d04,
	0xc0000080, 0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084,
	0xc0000100, 0xc0000101, 0xc0000102, 0xc0000103, 0xc0000104,
	0xc0010000, 0xc0010004, 0xc0010010, 0xc0010015, 0xc0010058,
	0xc0010114, 0xc0010115, 0xc0010117, 0xc0010131, 0xc0011020,
	0xc0011029, 0xc001102a, 0xffffffff, 0x80000000,
};

uint32_t msr_index(struct rng *r)
{
	if (chance(r, 10))
		return (uint32_t)edge(r);
	return msr_idx[rnd(r, ARRAY_SIZE(msr_idx))] + (chance(r, 30) ? rnd(r, 4) : 0);
}

static uint64_t msr_value(struct rng *r)
{
	return chance(r, 50) ? edge(r) : rnd64(r) & 0xffffffffull;
}

/* A count near its limit. */
static uint32_t count(struct rng *r, uint32_t typical, uint32_t limit)
{
	switch (rnd(r, 6)) {
	case 0: return 0;
	case 1: return limit;
	case 2: return limit + 1;
	case 3: return (uint32_t)edge(r);
	default: return 1 + rnd(r, typical);
	}
}

static void g_none(struct gen *g, struct fz_op *op, unsigned long aux)
{
	(void)aux;
	op->base = BASE_NONE;
	if (chance(g->r, 10)) {
		op->base = BASE_INT;
		op->val = edge(g->r);
	}
}

static const uint32_t caps[] = {
	0, 1, 2, 3, 5, 6, 9, 10, 12, 15, 16, 18, 19, 20, 21, 22, 24, 25, 27, 29,
	30, 31, 32, 33, 36, 37, 38, 40, 41, 43, 44, 45, 47, 48, 54, 55, 57, 58,
	59, 60, 61, 66, 67, 74, 76, 77, 84, 86, 94, 95, 102, 105, 107, 108,
	109, 111, 112, 113, 114, 120, 121, 123, 124, 126, 133, 136, 137, 139,
	141, 142, 143, 144, 149, 152, 158, 161, 163, 165, 167, 168, 173, 174,
	176, 177, 178, 179, 181, 182, 183, 184, 185, 188, 189, 191, 192, 193,
	194, 195, 196, 197, 198, 199, 200, 201, 202, 203, 205, 206, 208, 212,
	213, 215, 217, 218, 219, 220, 222, 223, 224, 225, 226, 227, 228, 229,
};

static uint64_t cap_nr(struct rng *r)
{
	return chance(r, 85) ? caps[rnd(r, ARRAY_SIZE(caps))] : edge(r);
}

static void g_int(struct gen *g, struct fz_op *op, unsigned long aux)
{
	op->base = BASE_INT;
	op->val = aux == 1 ? cap_nr(g->r) : edge(g->r);
}

/* Output-only GET: a zeroed buffer, sometimes a bad pointer or too close to the end. */
static void g_blob(struct gen *g, struct fz_op *op, unsigned long aux)
{
	uint32_t len = _IOC_SIZE(op->nr);

	(void)aux;
	op->base = BASE_ZERO;
	op->len = len;
	if (_IOC_DIR(op->nr) & _IOC_WRITE) {
		if (chance(g->r, 30)) {
			uint8_t *b = op_bytes(op, len);
			uint32_t i;

			for (i = 0; i < len; i++)
				b[i] = (uint8_t)rnd64(g->r);
		}
		mutate(g->r, op, len, 1 + rnd(g->r, 6));
	}
}

/* SET from the matching GET (aux), with a few fields changed. */
static void g_from_get(struct gen *g, struct fz_op *op, unsigned long aux)
{
	op->base = BASE_GET;
	op->getnr = aux;
	op->len = _IOC_SIZE(op->nr);
	if (!chance(g->r, 15))
		mutate(g->r, op, op->len, 1 + rnd(g->r, 3));
}

static void g_cpuid2(struct gen *g, struct fz_op *op, unsigned long aux)
{
	static const uint32_t leaves[] = {
		0, 1, 2, 4, 6, 7, 0xa, 0xb, 0xd, 0x14, 0x40000000, 0x40000001,
		0x80000000, 0x80000001, 0x80000007, 0x80000008, 0x8000000a,
		0x8000001f, 0xffffffff,
	};
	uint32_t n = count(g->r, 24, 256), real = n > 300 ? 300 : n;
	uint32_t len = 8 + real * 40, i;
	uint8_t *b;

	(void)aux;
	b = op_bytes(op, len);
	put(b, 0, 4, n);
	for (i = 0; i < real; i++) {
		uint8_t *e = b + 8 + i * 40;

		put(e, 0, 4, chance(g->r, 90) ? leaves[rnd(g->r, ARRAY_SIZE(leaves))] : edge(g->r));
		put(e, 4, 4, rnd(g->r, 3));
		put(e, 8, 4, chance(g->r, 80) ? rnd(g->r, 2) : edge(g->r));
		put(e, 12, 4, rnd64(g->r));
		put(e, 16, 4, rnd64(g->r));
		put(e, 20, 4, rnd64(g->r));
		put(e, 24, 4, rnd64(g->r));
	}
}

/* struct kvm_msrs: nmsrs, pad, entries {index, reserved, data}. */
static void g_msrs(struct gen *g, struct fz_op *op, unsigned long aux)
{
	uint32_t n = count(g->r, 8, 256), real = n > 300 ? 300 : n;
	uint32_t i;
	uint8_t *b = op_bytes(op, 8 + real * 16);

	(void)aux;
	put(b, 0, 4, n);
	if (chance(g->r, 5))
		put(b, 4, 4, edge(g->r));
	for (i = 0; i < real; i++) {
		put(b, 8 + i * 16, 4, msr_index(g->r));
		if (chance(g->r, 3))
			put(b, 12 + i * 16, 4, edge(g->r));
		put(b, 16 + i * 16, 8, msr_value(g->r));
	}
}

static void g_msr_list(struct gen *g, struct fz_op *op, unsigned long aux)
{
	uint8_t *b = op_bytes(op, 4 + 4 * 600);

	(void)aux;
	put(b, 0, 4, count(g->r, 300, 600));
}

static void g_memslot(struct gen *g, struct fz_op *op, unsigned long aux)
{
	struct rng *r = g->r;
	uint8_t *b = op_bytes(op, sizeof(struct kvm_userspace_memory_region));
	uint64_t size, gpa;
	uint32_t slot, flags;

	(void)aux;
	slot = chance(r, 80) ? rnd(r, 6) : (uint32_t)edge(r);
	if (chance(r, 5))
		slot |= 1u << 16;	/* address space 1 */
	flags = chance(r, 70) ? 0 : chance(r, 50) ? KVM_MEM_READONLY : KVM_MEM_LOG_DIRTY_PAGES;
	if (chance(r, 5))
		flags = (uint32_t)edge(r);
	size = chance(r, 70) ? (1 + rnd(r, 64)) * 4096ull : chance(r, 50) ? 0 : edge(r);
	gpa = chance(r, 60) ? rnd(r, 64) * 0x10000ull : edge(r);
	if (chance(r, 10))
		gpa &= ~0xfffull;
	put(b, 0, 4, slot);
	put(b, 4, 4, flags);
	put(b, 8, 8, gpa);
	put(b, 16, 8, size);
	if (chance(r, 85))
		op_fix(op, 24, FIX_MAP_PTR, rnd(r, 8), chance(r, 80) ? rnd(r, 4) * 4096ull : edge(r) & 0xffff);
	else
		put(b, 24, 8, edge(r));
}

static void g_dirty_log(struct gen *g, struct fz_op *op, unsigned long aux)
{
	uint8_t *b = op_bytes(op, 16 + 16);

	(void)aux;
	put(b, 0, 4, chance(g->r, 80) ? rnd(g->r, 6) : edge(g->r));
	if (op->nr == KVM_CLEAR_DIRTY_LOG) {
		put(b, 4, 4, chance(g->r, 50) ? rnd(g->r, 64) : edge(g->r));	/* num_pages */
		put(b, 8, 8, chance(g->r, 50) ? rnd(g->r, 64) : edge(g->r));	/* first_page */
		op_fix(op, 16, chance(g->r, 80) ? FIX_MAP_PTR : FIX_ARG_PTR, rnd(g->r, 8), 0);
	} else if (chance(g->r, 85)) {
		op_fix(op, 8, chance(g->r, 70) ? FIX_MAP_PTR : FIX_ARG_PTR, rnd(g->r, 8), 16);
	} else {
		put(b, 8, 8, edge(g->r));
	}
}

static void g_enable_cap(struct gen *g, struct fz_op *op, unsigned long aux)
{
	uint8_t *b = op_bytes(op, sizeof(struct kvm_enable_cap));
	int i;

	(void)aux;
	put(b, 0, 4, cap_nr(g->r));
	if (chance(g->r, 10))
		put(b, 4, 4, edge(g->r));
	for (i = 0; i < 4; i++)
		put(b, 8 + 8 * i, 8, chance(g->r, 50) ? rnd(g->r, 4) : edge(g->r));
	if (chance(g->r, 5))
		put(b, 40 + rnd(g->r, 60), 1, 1);
}

static void g_ioeventfd(struct gen *g, struct fz_op *op, unsigned long aux)
{
	struct rng *r = g->r;
	uint8_t *b = op_bytes(op, sizeof(struct kvm_ioeventfd));
	static const uint32_t lens[] = { 0, 1, 2, 4, 8, 3, 16 };

	(void)aux;
	put(b, 0, 8, edge(r));				/* datamatch */
	put(b, 8, 8, chance(r, 50) ? rnd(r, 0x10000) : edge(r));	/* addr */
	put(b, 16, 4, lens[rnd(r, ARRAY_SIZE(lens))]);
	op_fix(op, 20, FIX_EVENTFD, rnd(r, 4), 0);
	put(b, 24, 4, chance(r, 80) ? rnd(r, 16) : edge(r));	/* flags */
	if (chance(r, 5))
		put(b, 28 + rnd(r, 36), 1, 1);
}

static void g_irqfd(struct gen *g, struct fz_op *op, unsigned long aux)
{
	struct rng *r = g->r;
	uint8_t *b = op_bytes(op, sizeof(struct kvm_irqfd));

	(void)aux;
	op_fix(op, 0, FIX_EVENTFD, rnd(r, 4), 0);
	put(b, 4, 4, chance(r, 80) ? rnd(r, 32) : edge(r));	/* gsi */
	put(b, 8, 4, chance(r, 80) ? rnd(r, 4) : edge(r));	/* flags */
	op_fix(op, 12, FIX_EVENTFD, rnd(r, 4), 0);
	if (chance(r, 5))
		put(b, 16 + rnd(r, 16), 1, 1);
}

static void g_routing(struct gen *g, struct fz_op *op, unsigned long aux)
{
	struct rng *r = g->r;
	uint32_t n = count(r, 24, 4096), real = n > 64 ? 64 : n, i;
	uint8_t *b = op_bytes(op, 8 + real * 64);

	(void)aux;
	put(b, 0, 4, n);
	if (chance(r, 5))
		put(b, 4, 4, edge(r));
	for (i = 0; i < real; i++) {
		uint8_t *e = b + 8 + i * 64;

		put(e, 0, 4, chance(r, 80) ? rnd(r, 32) : edge(r));	/* gsi */
		put(e, 4, 4, chance(r, 80) ? 1 + rnd(r, 2) : edge(r));	/* type */
		put(e, 8, 4, chance(r, 90) ? 0 : edge(r));		/* flags */
		put(e, 16, 4, chance(r, 70) ? rnd(r, 3) : edge(r));	/* irqchip / addr_lo */
		put(e, 20, 4, chance(r, 70) ? rnd(r, 24) : edge(r));	/* pin / addr_hi */
		put(e, 24, 4, rnd64(r));				/* data */
	}
}

static void g_coalesced(struct gen *g, struct fz_op *op, unsigned long aux)
{
	uint8_t *b = op_bytes(op, sizeof(struct kvm_coalesced_mmio_zone));

	(void)aux;
	put(b, 0, 8, chance(g->r, 50) ? rnd(g->r, 0x100) * 0x1000ull : edge(g->r));
	put(b, 8, 4, chance(g->r, 50) ? 1u << rnd(g->r, 14) : edge(g->r));
	put(b, 12, 4, chance(g->r, 80) ? rnd(g->r, 2) : edge(g->r));
}

static void g_irq_level(struct gen *g, struct fz_op *op, unsigned long aux)
{
	uint8_t *b = op_bytes(op, 8);

	(void)aux;
	put(b, 0, 4, chance(g->r, 80) ? rnd(g->r, 32) : edge(g->r));
	put(b, 4, 4, chance(g->r, 80) ? rnd(g->r, 2) : edge(g->r));
}

static void g_msi(struct gen *g, struct fz_op *op, unsigned long aux)
{
	uint8_t *b = op_bytes(op, sizeof(struct kvm_msi));

	(void)aux;
	put(b, 0, 4, chance(g->r, 70) ? 0xfee00000u | (rnd(g->r, 4) << 12) : edge(g->r));
	put(b, 4, 4, chance(g->r, 80) ? 0 : edge(g->r));
	put(b, 8, 4, chance(g->r, 70) ? 0x20 + rnd(g->r, 0xe0) : edge(g->r));
	put(b, 12, 4, chance(g->r, 90) ? 0 : edge(g->r));
}

static void g_irqchip(struct gen *g, struct fz_op *op, unsigned long aux)
{
	/* kvm_irqchip: chip_id, pad, 512 bytes; GET first for the chip, then change. */
	op->base = BASE_GET;
	op->getnr = aux;
	op->len = sizeof(struct kvm_irqchip);
	op_mut(op, 0, 4, chance(g->r, 85) ? rnd(g->r, 3) : edge(g->r));
	if (op->nr != aux && chance(g->r, 80))
		mutate(g->r, op, op->len, 1 + rnd(g->r, 4));
}

static void g_signal_mask(struct gen *g, struct fz_op *op, unsigned long aux)
{
	uint8_t *b = op_bytes(op, 4 + 16);

	(void)aux;
	put(b, 0, 4, chance(g->r, 60) ? 8 : edge(g->r));
	put(b, 4, 8, rnd64(g->r));
}

static void g_interrupt(struct gen *g, struct fz_op *op, unsigned long aux)
{
	uint8_t *b = op_bytes(op, 4);

	(void)aux;
	put(b, 0, 4, chance(g->r, 80) ? rnd(g->r, 256) : edge(g->r));
}

static void g_device_attr(struct gen *g, struct fz_op *op, unsigned long aux)
{
	uint8_t *b = op_bytes(op, sizeof(struct kvm_device_attr));

	(void)aux;
	put(b, 0, 4, chance(g->r, 80) ? 0 : edge(g->r));
	put(b, 4, 4, chance(g->r, 80) ? rnd(g->r, 4) : edge(g->r));
	put(b, 8, 8, chance(g->r, 80) ? rnd(g->r, 4) : edge(g->r));
	if (chance(g->r, 70))
		op_fix(op, 16, FIX_ARG_PTR, 0, 64);
	else
		put(b, 16, 8, edge(g->r));
}

/* kvm_nested_state header (flags, format, size) and some data. */
static void g_nested(struct gen *g, struct fz_op *op, unsigned long aux)
{
	uint32_t len = 128 + 8192;
	uint8_t *b = op_bytes(op, len);

	(void)aux;
	put(b, 0, 2, chance(g->r, 70) ? rnd(g->r, 4) : edge(g->r));
	put(b, 2, 2, chance(g->r, 70) ? rnd(g->r, 2) : edge(g->r));
	put(b, 4, 4, chance(g->r, 50) ? len : (uint32_t)edge(g->r));
	mutate(g->r, op, 128, 4);
}

/*
 * The table: every ioctl of the KVM API on x86 (Debian 6.1's uapi),
 * whether ckvm implements it yet or not. Adding an ioctl is one line: its
 * name, number, fd and, when its argument has pointers, fds or counts, a
 * generator (else a blob of _IOC_SIZE bytes with edge values is drawn).
 */
#define IO(n, t, gen, aux)	{ #n, n, t, gen, aux, 0 }
#define IOW(n, t, gen, aux, w)	{ #n, n, t, gen, aux, w }
static const struct ioctl_desc ioctls[] = {
	/* /dev/kvm */
	IO(KVM_GET_API_VERSION, T_KVM, g_none, 0),
	IO(KVM_CHECK_EXTENSION, T_KVM, g_int, 1),
	IO(KVM_GET_VCPU_MMAP_SIZE, T_KVM, g_none, 0),
	IO(KVM_GET_MSR_INDEX_LIST, T_KVM, g_msr_list, 0),
	IO(KVM_GET_MSR_FEATURE_INDEX_LIST, T_KVM, g_msr_list, 0),
	IO(KVM_GET_SUPPORTED_CPUID, T_KVM, g_cpuid2, 0),
	IO(KVM_GET_EMULATED_CPUID, T_KVM, g_cpuid2, 0),
	IO(KVM_GET_MSRS, T_KVM, g_msrs, 0),
	IO(KVM_GET_DEVICE_ATTR, T_KVM, g_device_attr, 0),
	IO(KVM_HAS_DEVICE_ATTR, T_KVM, g_device_attr, 0),
	IO(KVM_X86_GET_MCE_CAP_SUPPORTED, T_KVM, NULL, 0),
	IO(KVM_GET_SUPPORTED_HV_CPUID, T_KVM, g_cpuid2, 0),
	/* VM */
	IOW(KVM_SET_USER_MEMORY_REGION, T_VM, g_memslot, 0, 4),
	IO(KVM_GET_DIRTY_LOG, T_VM, g_dirty_log, 0),
	IO(KVM_CLEAR_DIRTY_LOG, T_VM, g_dirty_log, 0),
	IO(KVM_ENABLE_CAP, T_VM, g_enable_cap, 0),
	IO(KVM_CHECK_EXTENSION, T_VM, g_int, 1),
	IO(KVM_GET_STATS_FD, T_VM, g_none, 0),
	IOW(KVM_IOEVENTFD, T_VM, g_ioeventfd, 0, 2),
	IOW(KVM_IRQFD, T_VM, g_irqfd, 0, 2),
	IOW(KVM_SET_GSI_ROUTING, T_VM, g_routing, 0, 2),
	IO(KVM_REGISTER_COALESCED_MMIO, T_VM, g_coalesced, 0),
	IO(KVM_UNREGISTER_COALESCED_MMIO, T_VM, g_coalesced, 0),
	IO(KVM_SET_BOOT_CPU_ID, T_VM, g_int, 0),
	IO(KVM_SET_NR_MMU_PAGES, T_VM, g_int, 0),
	IO(KVM_GET_NR_MMU_PAGES, T_VM, g_none, 0),
	IOW(KVM_CREATE_IRQCHIP, T_VM, g_none, 0, 3),
	IOW(KVM_GET_IRQCHIP, T_VM, g_irqchip, KVM_GET_IRQCHIP, 2),
	IOW(KVM_SET_IRQCHIP, T_VM, g_irqchip, KVM_GET_IRQCHIP, 3),
	IOW(KVM_IRQ_LINE, T_VM, g_irq_level, 0, 3),
	IOW(KVM_IRQ_LINE_STATUS, T_VM, g_irq_level, 0, 2),
	IOW(KVM_SIGNAL_MSI, T_VM, g_msi, 0, 2),
	IO(KVM_SET_TSS_ADDR, T_VM, g_int, 0),
	IO(KVM_SET_IDENTITY_MAP_ADDR, T_VM, NULL, 0),
	IO(KVM_CREATE_PIT2, T_VM, NULL, 0),
	IO(KVM_GET_PIT2, T_VM, NULL, 0),
	IO(KVM_SET_PIT2, T_VM, g_from_get, KVM_GET_PIT2),
	IO(KVM_GET_PIT, T_VM, NULL, 0),
	IO(KVM_SET_PIT, T_VM, g_from_get, KVM_GET_PIT),
	IO(KVM_REINJECT_CONTROL, T_VM, NULL, 0),
	IO(KVM_GET_CLOCK, T_VM, NULL, 0),
	IO(KVM_SET_CLOCK, T_VM, g_from_get, KVM_GET_CLOCK),
	IO(KVM_SET_TSC_KHZ, T_VM, g_int, 0),
	IO(KVM_GET_TSC_KHZ, T_VM, g_none, 0),
	IO(KVM_X86_SET_MSR_FILTER, T_VM, NULL, 0),
	IO(KVM_SET_PMU_EVENT_FILTER, T_VM, NULL, 0),
	IO(KVM_CREATE_DEVICE, T_VM, NULL, 0),
	IO(KVM_GET_DEVICE_ATTR, T_VM, g_device_attr, 0),
	IO(KVM_HAS_DEVICE_ATTR, T_VM, g_device_attr, 0),
	IO(KVM_XEN_HVM_CONFIG, T_VM, NULL, 0),
	IO(KVM_HYPERV_EVENTFD, T_VM, NULL, 0),
	IO(KVM_SET_GSI_ROUTING, T_VM, g_routing, 0),
	/* vCPU */
	IOW(KVM_GET_REGS, T_VCPU, NULL, 0, 2),
	IOW(KVM_SET_REGS, T_VCPU, g_from_get, KVM_GET_REGS, 4),
	IOW(KVM_GET_SREGS, T_VCPU, NULL, 0, 2),
	IOW(KVM_SET_SREGS, T_VCPU, g_from_get, KVM_GET_SREGS, 5),
	IO(KVM_GET_SREGS2, T_VCPU, NULL, 0),
	IO(KVM_SET_SREGS2, T_VCPU, g_from_get, KVM_GET_SREGS2),
	IO(KVM_TRANSLATE, T_VCPU, NULL, 0),
	IOW(KVM_INTERRUPT, T_VCPU, g_interrupt, 0, 2),
	IOW(KVM_NMI, T_VCPU, g_none, 0, 2),
	IO(KVM_SMI, T_VCPU, g_none, 0),
	IOW(KVM_GET_MSRS, T_VCPU, g_msrs, 0, 3),
	IOW(KVM_SET_MSRS, T_VCPU, g_msrs, 0, 5),
	IO(KVM_SET_CPUID, T_VCPU, NULL, 0),
	IOW(KVM_SET_CPUID2, T_VCPU, g_cpuid2, 0, 3),
	IO(KVM_GET_CPUID2, T_VCPU, g_cpuid2, 0),
	IO(KVM_SET_SIGNAL_MASK, T_VCPU, g_signal_mask, 0),
	IO(KVM_GET_FPU, T_VCPU, NULL, 0),
	IOW(KVM_SET_FPU, T_VCPU, g_from_get, KVM_GET_FPU, 2),
	IOW(KVM_GET_LAPIC, T_VCPU, NULL, 0, 2),
	IOW(KVM_SET_LAPIC, T_VCPU, g_from_get, KVM_GET_LAPIC, 3),
	IO(KVM_GET_MP_STATE, T_VCPU, NULL, 0),
	IOW(KVM_SET_MP_STATE, T_VCPU, NULL, 0, 2),
	IO(KVM_GET_VCPU_EVENTS, T_VCPU, NULL, 0),
	IOW(KVM_SET_VCPU_EVENTS, T_VCPU, g_from_get, KVM_GET_VCPU_EVENTS, 3),
	IO(KVM_GET_DEBUGREGS, T_VCPU, NULL, 0),
	IOW(KVM_SET_DEBUGREGS, T_VCPU, g_from_get, KVM_GET_DEBUGREGS, 2),
	IO(KVM_GET_XSAVE, T_VCPU, NULL, 0),
	IOW(KVM_SET_XSAVE, T_VCPU, g_from_get, KVM_GET_XSAVE, 2),
	IO(KVM_GET_XSAVE2, T_VCPU, NULL, 0),
	IO(KVM_GET_XCRS, T_VCPU, NULL, 0),
	IOW(KVM_SET_XCRS, T_VCPU, g_from_get, KVM_GET_XCRS, 2),
	IOW(KVM_SET_GUEST_DEBUG, T_VCPU, NULL, 0, 2),
	IO(KVM_X86_SETUP_MCE, T_VCPU, NULL, 0),
	IO(KVM_X86_SET_MCE, T_VCPU, NULL, 0),
	IO(KVM_SET_TSC_KHZ, T_VCPU, g_int, 0),
	IO(KVM_GET_TSC_KHZ, T_VCPU, g_none, 0),
	IO(KVM_KVMCLOCK_CTRL, T_VCPU, g_none, 0),
	IO(KVM_GET_STATS_FD, T_VCPU, g_none, 0),
	IO(KVM_ENABLE_CAP, T_VCPU, g_enable_cap, 0),
	IO(KVM_GET_NESTED_STATE, T_VCPU, g_nested, 0),
	IO(KVM_SET_NESTED_STATE, T_VCPU, g_nested, 0),
	IO(KVM_TPR_ACCESS_REPORTING, T_VCPU, NULL, 0),
	IO(KVM_SET_VAPIC_ADDR, T_VCPU, NULL, 0),
	IO(KVM_GET_DEVICE_ATTR, T_VCPU, g_device_attr, 0),
	IO(KVM_HAS_DEVICE_ATTR, T_VCPU, g_device_attr, 0),
	IO(KVM_SET_DEVICE_ATTR, T_VCPU, g_device_attr, 0),
	IO(KVM_GET_SUPPORTED_HV_CPUID, T_VCPU, g_cpuid2, 0),
	IO(KVM_CHECK_EXTENSION, T_VCPU, g_int, 1),
};

/* Pseudo entries for the (call, errno) table: the ops that are not OP_IOCTL. */
enum { PS_OPEN, PS_CREATE_VM, PS_CREATE_VCPU, PS_RUN, PS_CLOSE, PS_CPUID_HOST, PS_NR };
static const char *const ps_names[PS_NR] = {
	"open(/dev/kvm)", "KVM_CREATE_VM", "KVM_CREATE_VCPU", "KVM_RUN", "close",
	"KVM_SET_CPUID2(host)",
};
const size_t ncalls = ARRAY_SIZE(ioctls) + PS_NR;
_Static_assert(ARRAY_SIZE(ioctls) + PS_NR <= NCALLS_MAX, "NCALLS_MAX too small");

int ioctl_slot(const struct fz_op *op)
{
	size_t i;

	switch (op->kind) {
	case OP_OPEN_KVM: return ARRAY_SIZE(ioctls) + PS_OPEN;
	case OP_CREATE_VM: return ARRAY_SIZE(ioctls) + PS_CREATE_VM;
	case OP_CREATE_VCPU: return ARRAY_SIZE(ioctls) + PS_CREATE_VCPU;
	case OP_RUN: return ARRAY_SIZE(ioctls) + PS_RUN;
	case OP_CLOSE: return ARRAY_SIZE(ioctls) + PS_CLOSE;
	case OP_CPUID_HOST: return ARRAY_SIZE(ioctls) + PS_CPUID_HOST;
	case OP_IOCTL:
		for (i = 0; i < ARRAY_SIZE(ioctls); i++)
			if (ioctls[i].nr == op->nr && ioctls[i].target == op->target)
				return i;
		for (i = 0; i < ARRAY_SIZE(ioctls); i++)
			if (ioctls[i].nr == op->nr)
				return i;
	}
	return -1;
}

const char *slot_name(int s)
{
	if (s < 0)
		return "?";
	if ((size_t)s < ARRAY_SIZE(ioctls))
		return ioctls[s].name;
	return ps_names[s - ARRAY_SIZE(ioctls)];
}

const char *const target_names[T_NR] = {
	"kvm", "vm", "vcpu", "map", "eventfd", "fd", "-",
};

/* ------------------------------------------------------------ ioctl programs */
static const struct ioctl_desc *pick_ioctl(struct rng *r)
{
	static int total;
	size_t i;
	int w;

	if (!total)
		for (i = 0; i < ARRAY_SIZE(ioctls); i++)
			total += ioctls[i].weight ? ioctls[i].weight : 1;
	w = rnd(r, total);
	for (i = 0; i < ARRAY_SIZE(ioctls); i++) {
		w -= ioctls[i].weight ? ioctls[i].weight : 1;
		if (w < 0)
			return &ioctls[i];
	}
	return &ioctls[0];
}

static void gen_one_ioctl(struct prog *p, struct rng *r, const struct ioctl_desc *d)
{
	struct gen g = { r, p };
	struct fz_op *op;
	int n = d->target == T_KVM ? p->nkvm : d->target == T_VM ? p->nvm : p->nvcpu;

	op = add_op(p, OP_IOCTL, d->target, rnd(r, n ? n + (chance(r, 10) ? 1 : 0) : 1));
	op->nr = d->nr;
	if (d->gen)
		d->gen(&g, op, d->aux);
	else
		g_blob(&g, op, 0);
	if (op->base != BASE_INT && op->base != BASE_NONE && _IOC_SIZE(op->nr) && chance(r, 4)) {
		static const uint64_t bad[] = {
			0, 1, 0xfff, 0xffffffff81000000ull, 0xffff888000000000ull,
			0x0000800000000000ull, 0x7ffffffff000ull,
		};

		op->base = BASE_BADPTR;
		op->val = bad[rnd(r, ARRAY_SIZE(bad))];
	} else if (op->base != BASE_INT && op->base != BASE_NONE && op->len && chance(r, 3)) {
		op->flags |= FZ_ARG_TAIL;	/* the argument runs into a PROT_NONE page */
		op->val = rnd(r, op->len);
	}
}

static void gen_map(struct prog *p, struct rng *r)
{
	static const uint32_t kinds[] = {
		FZ_MAP_ANON, FZ_MAP_ANON, FZ_MAP_SHARED, FZ_MAP_ANON | FZ_MAP_RO,
		FZ_MAP_ANON | FZ_MAP_HOLE, FZ_MAP_SHARED | FZ_MAP_RO,
	};
	static const uint32_t pages[] = { 1, 2, 16, 64, 512, 513, 1024 };
	struct fz_op *op = add_op(p, OP_MAP, T_NONE, 0);

	op->flags = kinds[rnd(r, ARRAY_SIZE(kinds))];
	op->val = pages[rnd(r, ARRAY_SIZE(pages))] * 4096ull;
	p->nmap++;
}

/* A memslot that is valid: map m (first 64 KiB) at gpa. */
static void gen_good_slot(struct prog *p, int slot, int map, uint64_t gpa, uint64_t size)
{
	struct fz_op *op = add_op(p, OP_IOCTL, T_VM, p->nvm - 1);
	uint8_t *b;

	op->nr = KVM_SET_USER_MEMORY_REGION;
	b = op_bytes(op, sizeof(struct kvm_userspace_memory_region));
	put(b, 0, 4, slot);
	put(b, 8, 8, gpa);
	put(b, 16, 8, size);
	op_fix(op, 24, FIX_MAP_PTR, map, 0);
}

/* Real mode at gpa 0x1000: CS base 0, IP 0x1000; random code there. */
static void gen_vcpu_setup(struct prog *p, struct rng *r, int vcpu)
{
	struct fz_op *op;
	uint8_t *b;
	int i;

	op = add_op(p, OP_IOCTL, T_VCPU, vcpu);
	op->nr = KVM_SET_SREGS;
	op->base = BASE_GET;
	op->getnr = KVM_GET_SREGS;
	op->len = sizeof(struct kvm_sregs);
	op_mut(op, offsetof(struct kvm_sregs, cs.base), 8, 0);
	op_mut(op, offsetof(struct kvm_sregs, cs.selector), 2, 0);
	op = add_op(p, OP_IOCTL, T_VCPU, vcpu);
	op->nr = KVM_SET_REGS;
	op->base = BASE_GET;
	op->getnr = KVM_GET_REGS;
	op->len = sizeof(struct kvm_regs);
	op_mut(op, offsetof(struct kvm_regs, rip), 8, 0x1000);
	op_mut(op, offsetof(struct kvm_regs, rflags), 8, 2);
	op = add_op(p, OP_WRITE_MEM, T_MAP, 0);
	op->val = 0x1000;
	b = op_bytes(op, 256);
	op->base = BASE_NONE;
	for (i = 0; i < 256;) {
		if (chance(r, 50)) {
			const struct tmpl *t = &tmpls[rnd(r, n_tmpls)];
			struct code c = { .n = 0, .mode = M_REAL };

			emit_tmpl(r, &c, t);
			if (i + (int)c.n > 256)
				break;
			memcpy(b + i, c.b, c.n);
			i += c.n;
		} else {
			b[i++] = (uint8_t)rnd64(r);
		}
	}
}

void gen_ioctl_prog(struct prog *p, struct rng *r)
{
	int n = 40 + rnd(r, 110), i;
	struct fz_op *op;

	/* Usually a working VM first: one is needed to reach most of the code. */
	add_op(p, OP_OPEN_KVM, T_NONE, 0);
	p->nkvm = 1;
	op = add_op(p, OP_CREATE_VM, T_KVM, 0);
	op->val = chance(r, 95) ? 0 : edge(r);
	p->nvm = 1;
	gen_map(p, r);
	p->ops[p->n - 1].flags = chance(r, 80) ? FZ_MAP_ANON : FZ_MAP_SHARED;
	p->ops[p->n - 1].val = 64 * 4096;
	gen_good_slot(p, 0, 0, 0, 64 * 4096);
	if (chance(r, 40))
		add_op(p, OP_IOCTL, T_VM, 0)->nr = KVM_CREATE_IRQCHIP;
	for (i = 0; i < 1 + (int)rnd(r, 3); i++) {
		op = add_op(p, OP_CREATE_VCPU, T_VM, 0);
		op->val = chance(r, 90) ? (uint64_t)i : edge(r);
		p->nvcpu++;
		if (chance(r, 70))
			add_op(p, OP_CPUID_HOST, T_VCPU, p->nvcpu - 1);
		gen_vcpu_setup(p, r, p->nvcpu - 1);
	}
	add_op(p, OP_EVENTFD, T_NONE, 0);
	p->nevfd = 1;

	for (i = 0; i < n; i++) {
		int w = rnd(r, 100);

		if (w < 62) {
			gen_one_ioctl(p, r, pick_ioctl(r));
		} else if (w < 70) {
			op = add_op(p, OP_RUN, T_VCPU, rnd(r, p->nvcpu + 1));
			op->val = 5 + rnd(r, 40);
		} else if (w < 74) {
			add_op(p, OP_RUN_START, T_VCPU, rnd(r, p->nvcpu + 1));
		} else if (w < 77) {
			add_op(p, OP_RUN_STOP, T_VCPU, rnd(r, p->nvcpu + 1));
		} else if (w < 79) {
			static const int tg[] = { T_VCPU, T_VM, T_KVM, T_EVENTFD, T_OTHER };

			op = add_op(p, OP_CLOSE, tg[rnd(r, 5)], rnd(r, 4));
			op->flags = rnd(r, 2);
		} else if (w < 81) {
			if (p->nvm < 8) {
				op = add_op(p, OP_CREATE_VM, T_KVM, 0);
				p->nvm++;
			}
		} else if (w < 84) {
			op = add_op(p, OP_CREATE_VCPU, T_VM, rnd(r, p->nvm));
			op->val = chance(r, 80) ? rnd(r, 8) : edge(r);
			p->nvcpu++;
		} else if (w < 86) {
			gen_map(p, r);
		} else if (w < 89) {
			op = add_op(p, OP_WRITE_MEM, T_MAP, rnd(r, p->nmap));
			op->val = chance(r, 50) ? 0x1000 : rnd(r, 64) * 256;
			{
				uint8_t *b = op_bytes(op, 64);
				int k;

				op->base = BASE_NONE;
				for (k = 0; k < 64; k++)
					b[k] = (uint8_t)rnd64(r);
			}
		} else if (w < 90) {
			op = add_op(p, OP_FORK, T_VCPU, rnd(r, 4));
			op->nr = chance(r, 50) ? KVM_GET_REGS : KVM_SET_USER_MEMORY_REGION;
			op->target = op->nr == KVM_GET_REGS ? T_VCPU : T_VM;
			if (op->nr == KVM_SET_USER_MEMORY_REGION) {
				struct gen g = { r, p };

				g_memslot(&g, op, 0);
			} else {
				op->base = BASE_ZERO;
				op->len = sizeof(struct kvm_regs);
			}
			op->flags = rnd(r, 2);
		} else if (w < 92) {
			op = add_op(p, chance(r, 70) ? OP_MPROTECT : OP_MUNMAP, T_MAP, rnd(r, p->nmap));
			op->val = rnd(r, 64) * 4096ull;
			op->nr = (1 + rnd(r, 16)) * 4096ull;
			op->flags = chance(r, 50) ? PROT_READ : PROT_NONE;
		} else if (w < 94) {
			add_op(p, OP_EVENTFD, T_NONE, 0)->flags = rnd(r, 2) ? EFD_NONBLOCK : 0;
			p->nevfd++;
		} else if (w < 95) {
			add_op(p, OP_SLEEP, T_NONE, 0)->val = rnd(r, 20000);
		} else if (w < 97) {
			/* A memslot that works, over a new mapping: memslot churn under running vCPUs. */
			gen_map(p, r);
			gen_good_slot(p, 1 + rnd(r, 4), p->nmap - 1, (1 + rnd(r, 16)) * 0x100000ull, 4096 * (1 + rnd(r, 16)));
		} else {
			op = add_op(p, OP_CPUID_HOST, T_VCPU, rnd(r, p->nvcpu + 1));
		}
	}
	/* Close everything in a random order, or leave it to exit(). */
	if (chance(r, 50)) {
		int k, order[5] = { T_VCPU, T_VM, T_KVM, T_EVENTFD, T_OTHER };

		for (k = 4; k > 0; k--) {
			int j = rnd(r, k + 1), t = order[k];

			order[k] = order[j];
			order[j] = t;
		}
		for (k = 0; k < 5; k++)
			for (i = 0; i < 4; i++)
				add_op(p, OP_CLOSE, order[k], i)->flags = 1;
	}
}

const char *nr_name(unsigned long nr)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ioctls); i++)
		if (ioctls[i].nr == nr)
			return ioctls[i].name;
	return NULL;
}
