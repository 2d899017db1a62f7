// SPDX-License-Identifier: GPL-2.0
/*
 * ckvm_stat: the counters of running VMs, live, like kvm_stat's debugfs
 * mode. Reads /sys/kernel/debug/kvm (stats.c lays it out as KVM does, so
 * it works on KVM too): the sums over all VMs, or with -p PID the VMs of
 * that process (directories <pid>-<fd>).
 *
 *   ckvm_stat [-1] [-p PID] [-f SUBSTRING] [-i SECONDS] [-d DIR]
 *
 *   -1   one shot: "name value" per counter, for scripts, and exit
 *   -p   only the VMs created by PID
 *   -f   only counters whose name contains SUBSTRING
 *   -i   refresh interval of the live view (default 1 s; Ctrl-C ends)
 *   -d   the debugfs directory (default /sys/kernel/debug/kvm)
 *
 * The live view shows each counter's total and its rate over the last
 * interval, busiest first. Exit status 0, 1 on an error (no directory,
 * no VM of PID), 2 on bad arguments.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CKVM_STAT_MAX	256

struct ckvm_stat_counter {
	char name[64];
	uint64_t value;
	uint64_t delta;		/* since the previous collection */
};

struct ckvm_stat {
	const char *dir;	/* debugfs kvm directory */
	long pid;		/* 0: all VMs */
	const char *filter;	/* NULL: every counter */
	int n;
	struct ckvm_stat_counter c[CKVM_STAT_MAX];
};

static bool read_u64_at(int dirfd, const char *name, uint64_t *v)
{
	char buf[32] = "";
	FILE *f;
	int fd;

	fd = openat(dirfd, name, O_RDONLY);
	if (fd < 0)
		return false;
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return false;
	}
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return false;
	}
	fclose(f);
	return sscanf(buf, "%" SCNu64, v) == 1;
}

static struct ckvm_stat_counter *counter(struct ckvm_stat *s, const char *name)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->c[i].name, name))
			return &s->c[i];
	if (s->n == CKVM_STAT_MAX)
		return NULL;
	snprintf(s->c[s->n].name, sizeof(s->c[0].name), "%.63s", name);
	s->c[s->n].value = 0;
	s->c[s->n].delta = 0;
	return &s->c[s->n++];
}

/* Add the counter files of @path (one directory) to @sum. */
static int add_dir(struct ckvm_stat *s, const char *path, uint64_t *sum)
{
	DIR *d = opendir(path);
	struct dirent *e;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		struct ckvm_stat_counter *c;
		uint64_t v;

		if (e->d_type != DT_REG)
			continue;
		if (s->filter && !strstr(e->d_name, s->filter))
			continue;
		if (!read_u64_at(dirfd(d), e->d_name, &v))
			continue;	/* not a counter, or gone meanwhile */
		c = counter(s, e->d_name);
		if (c)
			sum[c - s->c] += v;
	}
	closedir(d);
	return 0;
}

/**
 * ckvm_stat_collect() - read the counters once
 * @s: what to read (dir, pid, filter); its counters get the new values and
 *     the deltas from the values it held.
 *
 * Return: the number of VMs read (1 for the global sums), or -errno.
 */
static int ckvm_stat_collect(struct ckvm_stat *s)
{
	uint64_t sum[CKVM_STAT_MAX] = { 0 };
	int vms = 0, r;

	if (!s->pid) {
		r = add_dir(s, s->dir, sum);
		if (r)
			return r;
		vms = 1;
	} else {
		char prefix[32], path[4096];
		DIR *d = opendir(s->dir);
		struct dirent *e;

		if (!d)
			return -errno;
		snprintf(prefix, sizeof(prefix), "%ld-", s->pid);
		while ((e = readdir(d))) {
			if (e->d_type != DT_DIR ||
			    strncmp(e->d_name, prefix, strlen(prefix)))
				continue;
			snprintf(path, sizeof(path), "%s/%s", s->dir, e->d_name);
			if (!add_dir(s, path, sum))
				vms++;
		}
		closedir(d);
	}
	for (int i = 0; i < s->n; i++) {
		s->c[i].delta = sum[i] >= s->c[i].value ? sum[i] - s->c[i].value : 0;
		s->c[i].value = sum[i];
	}
	return vms;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct ckvm_stat_counter *)a)->name,
		      ((const struct ckvm_stat_counter *)b)->name);
}

/* The one-shot output: "name value", sorted by name. */
static void ckvm_stat_print_once(struct ckvm_stat *s, FILE *out)
{
	qsort(s->c, s->n, sizeof(s->c[0]), by_name);
	for (int i = 0; i < s->n; i++)
		fprintf(out, "%-32s %" PRIu64 "\n", s->c[i].name, s->c[i].value);
}

#ifndef CKVM_STAT_NO_MAIN
static int by_delta(const void *a, const void *b)
{
	const struct ckvm_stat_counter *x = a, *y = b;

	if (x->delta != y->delta)
		return x->delta < y->delta ? 1 : -1;
	if (x->value != y->value)
		return x->value < y->value ? 1 : -1;
	return strcmp(x->name, y->name);
}

static void usage(void)
{
	fprintf(stderr, "usage: ckvm_stat [-1] [-p PID] [-f SUBSTRING] [-i SECONDS] [-d DIR]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct ckvm_stat *s = calloc(1, sizeof(*s));
	bool once = false;
	double interval = 1;
	char *end;
	int opt, r;

	if (!s)
		return 1;
	s->dir = "/sys/kernel/debug/kvm";
	while ((opt = getopt(argc, argv, "1p:f:i:d:h")) != -1) {
		switch (opt) {
		case '1':
			once = true;
			break;
		case 'p':
			s->pid = strtol(optarg, &end, 10);
			if (*end || s->pid <= 0)
				usage();
			break;
		case 'f':
			s->filter = optarg;
			break;
		case 'i':
			interval = strtod(optarg, &end);
			if (*end || interval <= 0)
				usage();
			break;
		case 'd':
			s->dir = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	r = ckvm_stat_collect(s);
	if (r < 0) {
		fprintf(stderr, "ckvm_stat: %s: %s (is debugfs mounted, ckvm or kvm loaded?)\n",
			s->dir, strerror(-r));
		return 1;
	}
	if (r == 0) {
		fprintf(stderr, "ckvm_stat: no VM of pid %ld in %s\n", s->pid, s->dir);
		return 1;
	}
	if (once) {
		ckvm_stat_print_once(s, stdout);
		return 0;
	}
	for (;;) {
		usleep((useconds_t)(interval * 1e6));
		r = ckvm_stat_collect(s);
		if (r <= 0) {
			printf("ckvm_stat: the VMs are gone\n");
			return 0;
		}
		qsort(s->c, s->n, sizeof(s->c[0]), by_delta);
		printf("\033[H\033[2J%s%s  %d VM(s), every %.1f s\n\n%-32s %14s %10s\n",
		       s->dir, s->pid ? " (one process)" : "", r, interval,
		       "counter", "total", "per s");
		for (int i = 0; i < s->n; i++)
			printf("%-32s %14" PRIu64 " %10.0f\n", s->c[i].name,
			       s->c[i].value, s->c[i].delta / interval);
		fflush(stdout);
	}
}
#endif
