// SPDX-License-Identifier: GPL-2.0
/*
 * Binary statistics: the read-only file KVM_GET_STATS_FD returns for a VM
 * or a vCPU (KVM API 4.133). Its layout, every block 8-byte aligned:
 *
 *	header		struct kvm_stats_header
 *	id		"kvm-<pid>" or "kvm-<pid>/vcpu-<id>", NAME_SIZE bytes
 *	descriptors	struct kvm_stats_desc + name[NAME_SIZE], per counter
 *	data		the stats struct itself: one u64 per counter
 *
 * The id follows the header directly because userspace (the KVM
 * selftests among others) read()s the two one after the other.
 *
 * Everything before the data never changes, so it is built once when the
 * fd is made; the data is read live on every read. The fd holds a
 * reference on the VM, which owns the counters of the VM and of every
 * vCPU, so it stays readable after the VM and vCPU fds are closed.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "ckvm.h"

/*
 * A descriptor is its fixed fields and then name_size bytes of name. Not
 * sizeof(): kernels from 6.6 on give the kernel's struct kvm_stats_desc a
 * name[KVM_STATS_NAME_SIZE] of its own (userspace's is name[]).
 */
#define STATS_DESC_HDR	offsetof(struct kvm_stats_desc, name)
#define STATS_DESC_SIZE	(STATS_DESC_HDR + CKVM_STATS_NAME_SIZE)

/* The alignment the API promises for every block. */
static_assert(sizeof(struct kvm_stats_header) % sizeof(u64) == 0);
static_assert(STATS_DESC_SIZE % sizeof(u64) == 0);

static const struct ckvm_stats_desc vm_stats_desc[] = {
	CKVM_STATS_DESC(struct ckvm_vm_stat, remote_tlb_flush_requests, CUMULATIVE),
	CKVM_STATS_DESC(struct ckvm_vm_stat, memslot_updates, CUMULATIVE),
};

static const struct ckvm_stats_desc vcpu_stats_desc[] = {
	CKVM_STATS_DESC(struct ckvm_vcpu_stat, run_ioctls, CUMULATIVE),
};

/* Every core member before .arch is described (x86.c checks the rest). */
static_assert(ARRAY_SIZE(vm_stats_desc) * sizeof(u64) ==
	      offsetof(struct ckvm_vm_stat, arch));
static_assert(ARRAY_SIZE(vcpu_stats_desc) * sizeof(u64) ==
	      offsetof(struct ckvm_vcpu_stat, arch));

/* What differs between a VM's stats file and a vCPU's. */
struct stats_kind {
	const char *file_name;
	const struct ckvm_stats_desc *desc;	/* the core's counters */
	unsigned int n;
	const struct ckvm_stats_table *arch;	/* then the architecture's */
	size_t arch_offset;			/* of .arch in the struct */
	size_t size;				/* of the stats struct */
};

static const struct stats_kind vm_kind = {
	.file_name = "kvm-vm-stats",
	.desc = vm_stats_desc,
	.n = ARRAY_SIZE(vm_stats_desc),
	.arch = &ckvm_arch_vm_stats,
	.arch_offset = offsetof(struct ckvm_vm_stat, arch),
	.size = sizeof(struct ckvm_vm_stat),
};

static const struct stats_kind vcpu_kind = {
	.file_name = "kvm-vcpu-stats",
	.desc = vcpu_stats_desc,
	.n = ARRAY_SIZE(vcpu_stats_desc),
	.arch = &ckvm_arch_vcpu_stats,
	.arch_offset = offsetof(struct ckvm_vcpu_stat, arch),
	.size = sizeof(struct ckvm_vcpu_stat),
};

struct ckvm_stats_file {
	struct ckvm *vm;	/* a reference: the counters live in it */
	const u64 *data;	/* the stats struct */
	size_t data_offset;	/* in the file; also the size of meta[] */
	size_t size;		/* of the file */
	u8 meta[];		/* header, id, descriptors */
};

static void put_desc(u8 *to, const struct ckvm_stats_desc *d, size_t base)
{
	struct kvm_stats_desc *out = (struct kvm_stats_desc *)to;

	out->flags = d->flags;
	out->exponent = 0;
	out->size = 1;
	out->offset = base + d->offset;
	out->bucket_size = 0;
	strscpy(to + STATS_DESC_HDR, d->name, CKVM_STATS_NAME_SIZE);
}

static ssize_t ckvm_stats_read(struct file *file, char __user *buf,
			       size_t len, loff_t *ppos)
{
	struct ckvm_stats_file *sf = file->private_data;
	loff_t pos = *ppos;
	size_t done = 0, n;

	if (pos < 0)
		return -EINVAL;
	if (pos >= sf->size)
		return 0;
	len = min_t(u64, len, sf->size - pos);

	if (pos < sf->data_offset) {
		n = min_t(u64, len, sf->data_offset - pos);
		if (copy_to_user(buf, sf->meta + pos, n))
			return -EFAULT;
		done = n;
	}
	/*
	 * One load per counter, so a value being bumped meanwhile is seen
	 * either old or new, never torn by a byte-wise copy.
	 */
	while (done < len) {
		size_t off = pos + done - sf->data_offset;
		u64 v = READ_ONCE(sf->data[off / sizeof(u64)]);
		size_t skip = off % sizeof(u64);

		n = min(len - done, sizeof(u64) - skip);
		if (copy_to_user(buf + done, (u8 *)&v + skip, n))
			return -EFAULT;
		done += n;
	}
	*ppos = pos + done;
	return done;
}

static loff_t ckvm_stats_llseek(struct file *file, loff_t offset, int whence)
{
	struct ckvm_stats_file *sf = file->private_data;

	return fixed_size_llseek(file, offset, whence, sf->size);
}

static int ckvm_stats_release(struct inode *inode, struct file *file)
{
	struct ckvm_stats_file *sf = file->private_data;

	ckvm_vm_put(sf->vm);
	kfree(sf);
	return 0;
}

static const struct file_operations ckvm_stats_fops = {
	.owner = THIS_MODULE,
	.read = ckvm_stats_read,
	.llseek = ckvm_stats_llseek,
	.release = ckvm_stats_release,
};

static int stats_fd_create(struct ckvm *vm, const struct stats_kind *kind,
			   const char *id, const void *data)
{
	unsigned int i, n = kind->n + kind->arch->n;
	struct kvm_stats_header *hdr;
	struct ckvm_stats_file *sf;
	struct file *file;
	size_t desc_offset;
	u8 *desc;
	int fd;

	desc_offset = sizeof(*hdr) + CKVM_STATS_NAME_SIZE;
	sf = kzalloc(struct_size(sf, meta, desc_offset + n * STATS_DESC_SIZE),
		     GFP_KERNEL_ACCOUNT);
	if (!sf)
		return -ENOMEM;
	sf->vm = vm;
	sf->data = data;
	sf->data_offset = desc_offset + n * STATS_DESC_SIZE;
	sf->size = sf->data_offset + kind->size;

	hdr = (struct kvm_stats_header *)sf->meta;
	hdr->name_size = CKVM_STATS_NAME_SIZE;
	hdr->num_desc = n;
	hdr->id_offset = sizeof(*hdr);
	hdr->desc_offset = desc_offset;
	hdr->data_offset = sf->data_offset;
	strscpy(sf->meta + hdr->id_offset, id, CKVM_STATS_NAME_SIZE);
	desc = sf->meta + desc_offset;
	for (i = 0; i < kind->n; i++, desc += STATS_DESC_SIZE)
		put_desc(desc, &kind->desc[i], 0);
	for (i = 0; i < kind->arch->n; i++, desc += STATS_DESC_SIZE)
		put_desc(desc, &kind->arch->desc[i], kind->arch_offset);

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		kfree(sf);
		return fd;
	}
	file = anon_inode_getfile(kind->file_name, &ckvm_stats_fops, sf,
				  O_RDONLY);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		kfree(sf);
		return PTR_ERR(file);
	}
	/* An anon inode file gets no FMODE_PREAD by itself; the API wants it. */
	file->f_mode |= FMODE_PREAD;
	/* The caller's VM or vCPU fd holds a reference, so this cannot be 0. */
	ckvm_vm_get(vm);
	fd_install(fd, file);
	return fd;
}

int ckvm_vm_stats_fd(struct ckvm *vm)
{
	char id[CKVM_STATS_NAME_SIZE];

	snprintf(id, sizeof(id), "kvm-%d", vm->pid);
	return stats_fd_create(vm, &vm_kind, id, &vm->stat);
}

int ckvm_vcpu_stats_fd(struct ckvm_vcpu *vcpu)
{
	char id[CKVM_STATS_NAME_SIZE];

	snprintf(id, sizeof(id), "kvm-%d/vcpu-%u", vcpu->vm->pid,
		 vcpu->vcpu_id);
	return stats_fd_create(vcpu->vm, &vcpu_kind, id, &vcpu->stat);
}

/*
 * The debugfs view: /sys/kernel/debug/kvm/, laid out as KVM lays it out,
 * which is what kvm_stat's debugfs provider (kvm_stat -d) and other tools
 * written for KVM read:
 *
 *	kvm/<counter>			the sum over every VM (and vCPU)
 *	kvm/<pid>-<fd>/<counter>	one VM: its counter, or the sum over
 *					its vCPUs for a vCPU counter
 *
 * <pid> is the VM's creator, <fd> its VM file descriptor. One file per
 * counter of the binary statistics, VM counters then vCPU counters, read
 * only (KVM lets a write of 0 clear one; ckvm does not). If the directory
 * is taken (the distro's kvm.ko is loaded), ckvm goes without it.
 */
#include <linux/debugfs.h>

/* One counter: which struct it is in (VM or vCPU) and where. */
struct stats_field {
	const char *name;
	bool vcpu;
	size_t offset;		/* of the u64 in the stats struct */
};

/* A counter file: its field, of one VM, or of all VMs (@vm NULL). */
struct stats_dentry {
	struct ckvm *vm;
	const struct stats_field *field;
};

static struct stats_field *stats_fields;
static unsigned int nr_stats_fields;
static struct stats_dentry *stats_global;
static struct dentry *stats_debugfs_root;
/* Every VM that has a debugfs directory, for the sums. */
static LIST_HEAD(stats_vms);
static DEFINE_MUTEX(stats_vms_lock);
/* Makes the look-up and the creation of a VM's directory one step. */
static DEFINE_MUTEX(stats_dir_lock);

static u64 field_of_vm(struct ckvm *vm, const struct stats_field *f)
{
	const u64 *data;
	u64 sum = 0;
	int i, n;

	if (!f->vcpu) {
		data = (const u64 *)&vm->stat;
		return READ_ONCE(data[f->offset / sizeof(u64)]);
	}
	/* Pairs with the release that publishes a new vCPU. */
	n = smp_load_acquire(&vm->nr_vcpus);
	for (i = 0; i < n; i++) {
		data = (const u64 *)&vm->vcpus[i]->stat;
		sum += READ_ONCE(data[f->offset / sizeof(u64)]);
	}
	return sum;
}

static int stats_debugfs_get(void *data, u64 *val)
{
	struct stats_dentry *d = data;
	struct ckvm *vm;

	if (d->vm) {
		*val = field_of_vm(d->vm, d->field);
		return 0;
	}
	*val = 0;
	mutex_lock(&stats_vms_lock);
	list_for_each_entry(vm, &stats_vms, debugfs_link)
		*val += field_of_vm(vm, d->field);
	mutex_unlock(&stats_vms_lock);
	return 0;
}

DEFINE_DEBUGFS_ATTRIBUTE(stats_debugfs_fops, stats_debugfs_get, NULL, "%llu\n");

static void add_fields(const struct stats_kind *kind, bool vcpu,
		       unsigned int *i)
{
	unsigned int j;

	for (j = 0; j < kind->n; j++, (*i)++) {
		stats_fields[*i].name = kind->desc[j].name;
		stats_fields[*i].vcpu = vcpu;
		stats_fields[*i].offset = kind->desc[j].offset;
	}
	for (j = 0; j < kind->arch->n; j++, (*i)++) {
		stats_fields[*i].name = kind->arch->desc[j].name;
		stats_fields[*i].vcpu = vcpu;
		stats_fields[*i].offset = kind->arch_offset +
					  kind->arch->desc[j].offset;
	}
}

static void create_files(struct dentry *dir, struct stats_dentry *d,
			 struct ckvm *vm)
{
	unsigned int i;

	for (i = 0; i < nr_stats_fields; i++) {
		d[i].vm = vm;
		d[i].field = &stats_fields[i];
		debugfs_create_file_unsafe(stats_fields[i].name, 0444, dir,
					   &d[i], &stats_debugfs_fops);
	}
}

/**
 * ckvm_stats_debugfs_init() - create /sys/kernel/debug/kvm and its sums
 *
 * Called once at module load. Failing to create the directory is not an
 * error: ckvm then runs without its debugfs view (the functions below do
 * nothing).
 */
void ckvm_stats_debugfs_init(void)
{
	unsigned int i = 0;
	struct dentry *root;

	nr_stats_fields = vm_kind.n + vm_kind.arch->n +
			  vcpu_kind.n + vcpu_kind.arch->n;
	stats_fields = kcalloc(nr_stats_fields, sizeof(*stats_fields),
			       GFP_KERNEL);
	stats_global = kcalloc(nr_stats_fields, sizeof(*stats_global),
			       GFP_KERNEL);
	if (!stats_fields || !stats_global)
		goto fail;
	add_fields(&vm_kind, false, &i);
	add_fields(&vcpu_kind, true, &i);

	/* debugfs_create_dir() returns an ERR_PTR when the name is taken. */
	root = debugfs_create_dir("kvm", NULL);
	if (IS_ERR(root)) {
		pr_info("ckvm: /sys/kernel/debug/kvm exists (kvm.ko loaded?): no debugfs statistics\n");
		goto fail;
	}
	stats_debugfs_root = root;
	create_files(root, stats_global, NULL);
	return;
fail:
	kfree(stats_fields);
	kfree(stats_global);
	stats_fields = NULL;
	stats_global = NULL;
}

/**
 * ckvm_stats_debugfs_exit() - remove /sys/kernel/debug/kvm
 *
 * At module unload, when no VM is left.
 */
void ckvm_stats_debugfs_exit(void)
{
	debugfs_remove_recursive(stats_debugfs_root);
	stats_debugfs_root = NULL;
	kfree(stats_fields);
	kfree(stats_global);
}

/**
 * ckvm_stats_debugfs_vm_add() - give a new VM its <pid>-<fd> directory
 * @vm: the VM; the caller holds a reference.
 * @fd: its VM file descriptor, for the name.
 *
 * Without memory, or while an older VM still holds the name (see below),
 * the VM just has no directory (and counts in no sum).
 */
void ckvm_stats_debugfs_vm_add(struct ckvm *vm, int fd)
{
	char name[32];
	struct dentry *dir;

	if (!stats_debugfs_root)
		return;
	vm->debugfs_files = kcalloc(nr_stats_fields,
				    sizeof(struct stats_dentry),
				    GFP_KERNEL_ACCOUNT);
	if (!vm->debugfs_files)
		return;
	snprintf(name, sizeof(name), "%d-%d", vm->pid, fd);
	/*
	 * The name is taken while an older VM of this process whose fd
	 * number was the same still lives (its fd closed, a vCPU fd keeping
	 * it): as KVM, the new VM gets no directory then, and a ratelimited
	 * warning rather than debugfs's own error for an existing name.
	 */
	mutex_lock(&stats_dir_lock);
	dir = debugfs_lookup(name, stats_debugfs_root);
	if (dir) {
		dput(dir);
		dir = ERR_PTR(-EEXIST);
		pr_warn_ratelimited("ckvm: debugfs: duplicate directory %s\n", name);
	} else {
		dir = debugfs_create_dir(name, stats_debugfs_root);
	}
	mutex_unlock(&stats_dir_lock);
	if (IS_ERR(dir)) {
		kfree(vm->debugfs_files);
		vm->debugfs_files = NULL;
		return;
	}
	vm->debugfs_dentry = dir;
	create_files(dir, vm->debugfs_files, vm);
	mutex_lock(&stats_vms_lock);
	list_add_tail(&vm->debugfs_link, &stats_vms);
	mutex_unlock(&stats_vms_lock);
}

/**
 * ckvm_stats_debugfs_vm_remove() - remove a VM's directory
 * @vm: the VM, being destroyed (no references left).
 *
 * debugfs_remove_recursive() waits for reads in progress, so the VM may
 * be freed after this returns.
 */
void ckvm_stats_debugfs_vm_remove(struct ckvm *vm)
{
	if (!vm->debugfs_files)
		return;
	mutex_lock(&stats_vms_lock);
	list_del(&vm->debugfs_link);
	mutex_unlock(&stats_vms_lock);
	debugfs_remove_recursive(vm->debugfs_dentry);
	kfree(vm->debugfs_files);
	vm->debugfs_files = NULL;
}
