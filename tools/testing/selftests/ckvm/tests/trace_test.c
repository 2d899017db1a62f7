// SPDX-License-Identifier: GPL-2.0
/*
 * Tracepoints: enables the hypervisor's trace events through tracefs (in a
 * private trace instance, so nothing else is disturbed) and checks that a
 * guest OUT loop, CPUID, RDMSR and an MMIO write produce the right events
 * with the right fields, and that nothing is recorded while the events are
 * disabled.
 *
 * ckvm's events are events/ckvm/ckvm_*; the reference's are KVM's own
 * events/kvm/kvm_*, whose text ckvm's follow for the events both have
 * (entry, exit, pio, mmio, cpuid, msr). ckvm's own (memslot changes, page
 * faults, exception injection) are checked on ckvm only.
 */
#include "ckvm_util.h"

#include <sys/mount.h>
#include <sys/stat.h>

#define NR_OUTS		64
#define OUT_PORT	0x77
#define MMIO_GPA	0xd0000000ULL	/* no memslot: KVM_EXIT_MMIO */
#define MSR_APICBASE	0x1b
#define MSR_BOGUS	0xdeadbeefu	/* no such MSR: #GP */

static char inst[256];		/* the trace instance directory */
static const char *sys;		/* "ckvm" or "kvm" */

static void guest_code(void)
{
	uint32_t a, b, c, d;

	for (int i = 0; i < NR_OUTS; i++)
		outb(OUT_PORT, i);
	cpuid_count(0, 0, &a, &b, &c, &d);
	(void)rdmsr(MSR_APICBASE);
	*(volatile uint32_t *)MMIO_GPA = 0x5a5a1234;
	GUEST_DONE();
}

/* No IDT: the #GP of the bogus MSR ends in a triple fault (shutdown). */
static void guest_gp(void)
{
	(void)rdmsr(MSR_BOGUS);
	GUEST_DONE();
}

static bool write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, s, strlen(s)) == (ssize_t)strlen(s);
	close(fd);
	return ok;
}

static bool event_set(const char *name, bool on)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/events/%s/%s_%s/enable", inst, sys, sys, name);
	if (write_file(path, on ? "1" : "0"))
		return true;
	ksft_print_msg("%s: %s", path, strerror(errno));
	return false;
}

static bool all_events_set(bool on)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/events/%s/enable", inst, sys);
	return write_file(path, on ? "1" : "0");
}

/* The instance's trace buffer, as text (malloc'ed). */
static char *read_trace(void)
{
	char path[512];
	size_t len = 0, cap = 1 << 16;
	char *buf = malloc(cap);
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/trace", inst);
	fd = open(path, O_RDONLY);
	if (fd < 0 || !buf)
		ksft_exit_fail_msg("open %s: %s", path, strerror(errno));
	while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += n;
		if (cap - len < 4096) {
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf)
				ksft_exit_fail_msg("out of memory");
		}
	}
	close(fd);
	buf[len] = 0;
	return buf;
}

static void clear_trace(void)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/trace", inst);
	if (!write_file(path, ""))
		ksft_exit_fail_msg("clearing %s: %s", path, strerror(errno));
}

/*
 * Lines of @trace that hold "<sys>_<event>: " and @what (may be NULL; a
 * "\n" at its end matches the end of the line).
 */
static int count_events(const char *trace, const char *event, const char *what)
{
	char tag[64];
	const char *p = trace;
	int n = 0;

	snprintf(tag, sizeof(tag), " %s_%s: ", sys, event);
	while ((p = strstr(p, tag))) {
		const char *eol = strchrnul(p, '\n');

		if (!what || memmem(p, eol - p + !!*eol, what, strlen(what)))
			n++;
		p = eol;
	}
	return n;
}

/* Where tracefs is, mounting it if nobody has. */
static const char *tracefs(void)
{
	static const char *const dirs[] = {
		"/sys/kernel/tracing", "/sys/kernel/debug/tracing",
	};
	struct stat st;
	char path[128];

	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/instances", dirs[i]);
		if (!stat(path, &st))
			return dirs[i];
	}
	if (!mount("nodev", dirs[0], "tracefs", 0, NULL))
		return dirs[0];
	return NULL;
}

/* Run the vCPU to its GUEST_DONE, answering the port I/O and MMIO exits. */
static bool run_to_done(struct kvm_vcpu *v)
{
	struct ucall uc;

	for (int i = 0; i < 10 * NR_OUTS; i++) {
		if (vcpu_run(v))
			return false;
		if (v->run->exit_reason == KVM_EXIT_MMIO ||
		    (v->run->exit_reason == KVM_EXIT_IO &&
		     v->run->io.port == OUT_PORT))
			continue;
		if (get_ucall(v, &uc) == UCALL_DONE)
			return true;
		ksft_print_msg("unexpected exit %u (%s)", v->run->exit_reason,
			       exit_reason_str(v->run->exit_reason));
		return false;
	}
	return false;
}

static bool run_guest(void)
{
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *v = vcpu_add(vm, 0, guest_code);
	bool ok = run_to_done(v);

	vcpu_free(v);
	kvm_vm_free(vm);
	return ok;
}

/*
 * The pio events of port OUT_PORT with value @val; KVM's text ends in a
 * space (where a string instruction's "(...)" goes), ckvm's does not.
 */
static int count_pio(const char *t, int val)
{
	char want[96];
	int n;

	snprintf(want, sizeof(want), "pio_write at 0x%x size 1 count 1 val 0x%x\n",
		 OUT_PORT, val);
	n = count_events(t, "pio", want);
	snprintf(want, sizeof(want), "pio_write at 0x%x size 1 count 1 val 0x%x \n",
		 OUT_PORT, val);
	return n + count_events(t, "pio", want);
}

/* The OUTs, each once with its value, and no other on the port. */
static bool check_pio(const char *t)
{
	char want[32];
	int bad = 0;

	for (int i = 0; i < NR_OUTS; i++) {
		if (count_pio(t, i) != 1 && !bad++)
			ksft_print_msg("pio_write of 0x%x to port 0x%x found %d times",
				       i, OUT_PORT, count_pio(t, i));
	}
	snprintf(want, sizeof(want), "at 0x%x ", OUT_PORT);
	if (count_events(t, "pio", want) != NR_OUTS) {
		ksft_print_msg("%d pio events on port 0x%x, want %d",
			       count_events(t, "pio", want), OUT_PORT, NR_OUTS);
		bad++;
	}
	return !bad;
}

/*
 * The I/O exits: named, at a RIP inside guest_code, EXITINFO1 (SVM) or
 * the exit qualification (VMX) holding the port in bits 31:16.
 */
static bool check_io_exits(const char *t)
{
	const char *reason = host_is_amd() ? "reason io " : "reason IO_INSTRUCTION ";
	uint64_t lo = (uint64_t)guest_code, hi = lo + 4096;
	const char *p = t;
	int n = 0, bad = 0;

	while ((p = strstr(p, reason))) {
		unsigned long long rip, info1;
		const char *q = strstr(p, " rip ");

		if (!q || sscanf(q, " rip 0x%llx info1 0x%llx", &rip, &info1) != 2) {
			ksft_print_msg("cannot parse exit: %.120s", p);
			return false;
		}
		p = strchrnul(p, '\n');
		if (((info1 >> 16) & 0xffff) != OUT_PORT)
			continue;	/* the ucall's port */
		n++;
		if (rip < lo || rip >= hi) {
			if (!bad++)
				ksft_print_msg("exit rip 0x%llx outside guest_code 0x%llx",
					       rip, (unsigned long long)lo);
		}
	}
	if (n != NR_OUTS)
		ksft_print_msg("%d I/O exits on port 0x%x, want %d", n, OUT_PORT, NR_OUTS);
	return n == NR_OUTS && !bad;
}

int main(void)
{
	const char *root;
	char path[512];
	struct stat st;
	char *t;
	bool ok;

	ksft_print_header();
	close(kvm_open());
	root = tracefs();
	if (!root)
		ksft_exit_skip("no tracefs: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/events/ckvm", root);
	sys = is_ckvm() ? "ckvm" : "kvm";
	snprintf(path, sizeof(path), "%s/events/%s", root, sys);
	if (stat(path, &st))
		ksft_exit_skip("no %s: the %s module has no trace events", path, sys);
	snprintf(inst, sizeof(inst), "%s/instances/trace_test_%d", root, getpid());
	if (mkdir(inst, 0755))
		ksft_exit_skip("mkdir %s: %s", inst, strerror(errno));
	ksft_set_plan(13);

	/* Disabled: nothing is recorded. */
	all_events_set(false);
	clear_trace();
	ok = run_guest();
	t = read_trace();
	ksft_test_result(ok && !count_events(t, "pio", NULL) &&
			 !count_events(t, "exit", NULL),
			 "disabled: no events recorded\n");
	free(t);

	/* Bad input: an event that does not exist cannot be enabled. */
	ksft_test_result(!event_set("no_such_event", true),
			 "enabling a missing event fails\n");

	ok = event_set("pio", true) && event_set("exit", true) &&
	     event_set("entry", true) && event_set("cpuid", true) &&
	     event_set("msr", true) && event_set("mmio", true);
	if (!ok)
		ksft_exit_fail_msg("enabling the %s events: %s", sys, strerror(errno));
	if (!strcmp(sys, "ckvm"))
		ok = event_set("memslot", true) && event_set("page_fault", true) &&
		     event_set("inj_exception", true);
	if (!ok)
		ksft_exit_fail_msg("enabling ckvm's own events: %s", strerror(errno));
	clear_trace();
	ok = run_guest();
	t = read_trace();
	ksft_test_result(ok, "guest ran with the events enabled\n");
	ksft_test_result(check_pio(t), "%d pio events, each with its value\n",
			 NR_OUTS);
	ksft_test_result(check_io_exits(t), "I/O exits by name, RIP, port in info1\n");
	ksft_test_result(count_events(t, "entry", NULL) >= NR_OUTS,
			 "entries: %d >= %d\n", count_events(t, "entry", NULL), NR_OUTS);
	ksft_test_result(count_events(t, "cpuid", "func 0 idx 0 rax ") == 1,
			 "cpuid leaf 0 event\n");
	ksft_test_result(count_events(t, "msr", "msr_read 1b = 0x") == 1,
			 "rdmsr APIC_BASE event\n");
	ksft_test_result(count_events(t, "mmio", "mmio write len 4 gpa 0xd0000000 val 0x5a5a1234") == 1,
			 "mmio write event\n");
	if (!strcmp(sys, "ckvm")) {
		ksft_test_result(count_events(t, "memslot", "create slot 0 gpa 0x0 ") == 1,
				 "memslot create event\n");
		ksft_test_result(count_events(t, "page_fault", NULL) > 0,
				 "page fault events: %d\n", count_events(t, "page_fault", NULL));
	} else {
		ksft_test_result_skip("memslot events: KVM has no such tracepoint\n");
		ksft_test_result_skip("page fault events: KVM's differ (kvm_page_fault, kvmmmu)\n");
	}
	free(t);

	/* An injected #GP (ckvm's event); the guest then shuts down. */
	if (!strcmp(sys, "ckvm")) {
		struct kvm_vm *vm = vm_create();
		struct kvm_vcpu *v = vcpu_add(vm, 0, guest_gp);
		int r;

		clear_trace();
		r = vcpu_run(v);
		t = read_trace();
		ksft_test_result(!r && v->run->exit_reason == KVM_EXIT_SHUTDOWN &&
				 count_events(t, "msr", "msr_read deadbeef = 0x0 (#GP)") == 1 &&
				 count_events(t, "inj_exception", "vector 13 error_code 0x0") == 1,
				 "rdmsr of a missing MSR: #GP injected and traced\n");
		free(t);
		vcpu_free(v);
		kvm_vm_free(vm);
	} else {
		ksft_test_result_skip("#GP injection: checked on ckvm's events only\n");
	}

	/* Disabled again: nothing more is recorded. */
	all_events_set(false);
	clear_trace();
	ok = run_guest();
	t = read_trace();
	ksft_test_result(ok && !strstr(t, " kvm_") && !strstr(t, " ckvm_"),
			 "disabled again: no events recorded\n");
	free(t);
	rmdir(inst);
	return ksft_finished();
}
