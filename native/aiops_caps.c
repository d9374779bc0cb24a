// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Capability limiting for a process whose threads already run.
 *
 * Linux keeps capabilities, the bounding set and no_new_privs per thread (struct cred), and
 * capset(2) changes only the caller's. A .NET process has its runtime's threads (GC, finalizer,
 * thread pool, timers) before any managed code runs, so limiting the caller alone would leave
 * them with everything. glibc solves the same problem for setuid(2) with a signal to every thread
 * (nptl's SIGSETXID); aiops_caps_limit does that for capabilities: each thread applies the same
 * sets in a signal handler, and the caller checks /proc/self/task until every thread shows them. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "aiops.h"

/* What every thread is limited to, set before any thread is signalled. */
static _Atomic uint64_t g_keep;
/* Whether the bounding set is limited too: dropping from it needs CAP_SETPCAP, which a container
 * is seldom given. no_new_privs alone already stops an exec from gaining capabilities. */
static atomic_bool g_bounding;
static atomic_int g_failures;

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Applies the limit to the calling thread. Only raw system calls: it runs in a signal handler. */
static int limit_this_thread(uint64_t keep)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];
	int cap;

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	/* The bounding set first: dropping from it needs CAP_SETPCAP, which capset may remove. */
	for (cap = 0; atomic_load(&g_bounding) && cap < 64; cap++) {
		if (keep & (1ULL << cap))
			continue;
		if (syscall(SYS_prctl, PR_CAPBSET_READ, cap, 0, 0, 0) == 1 &&
		    syscall(SYS_prctl, PR_CAPBSET_DROP, cap, 0, 0, 0))
			return -errno;
	}
	if (syscall(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) && errno != EINVAL)
		return -errno;
	if (syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	data[0].effective &= (uint32_t)keep;
	data[0].permitted &= (uint32_t)keep;
	data[0].inheritable &= (uint32_t)keep;
	data[1].effective &= (uint32_t)(keep >> 32);
	data[1].permitted &= (uint32_t)(keep >> 32);
	data[1].inheritable &= (uint32_t)(keep >> 32);
	if (syscall(SYS_capset, &hdr, data))
		return -errno;
	return 0;
}

static void on_signal(int signo)
{
	int saved = errno;
	(void)signo;
	if (limit_this_thread(atomic_load(&g_keep)))
		atomic_fetch_add(&g_failures, 1);
	errno = saved;
}

/* Reads the hex value after "<key>:" in a task's status text; 0 when absent. */
static int status_field(const char *text, const char *key, uint64_t *out)
{
	const char *p = strstr(text, key);
	if (!p)
		return -1;
	*out = strtoull(p + strlen(key), NULL, 16);
	return 0;
}

/* 1 when the task already has no capability outside keep (effective, permitted, bounding),
 * 0 when it still has one, -1 when it has gone. */
static int task_is_limited(const char *tid, uint64_t keep)
{
	char path[64], text[4096];
	uint64_t eff, prm, bnd;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/self/task/%s/status", tid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	if (status_field(text, "\nCapEff:", &eff) || status_field(text, "\nCapPrm:", &prm) ||
	    status_field(text, "\nCapBnd:", &bnd))
		return -1;
	if (!atomic_load(&g_bounding))
		bnd = 0;
	return ((eff | prm | bnd) & ~keep) == 0;
}

/* One pass over /proc/self/task: signals every thread not yet limited. The number signalled, or
 * -errno. */
static int signal_unlimited(uint64_t keep, int signo)
{
	pid_t self = (pid_t)syscall(SYS_gettid), pid = getpid();
	struct dirent *e;
	int sent = 0;
	DIR *d = opendir("/proc/self/task");

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		pid_t tid = (pid_t)atoi(e->d_name);
		if (tid <= 0 || tid == self || task_is_limited(e->d_name, keep) != 0)
			continue;
		if (syscall(SYS_tgkill, pid, tid, signo) == 0)
			sent++;
	}
	closedir(d);
	return sent;
}

int32_t aiops_caps_limit(uint64_t keep, int32_t timeout_ms)
{
	int signo = SIGRTMAX - 1, sent, err;
	struct sigaction sa = { 0 };
	uint64_t deadline = now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);

	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	atomic_store(&g_keep, keep);
	atomic_store(&g_bounding, (data[0].effective & (1U << CAP_SETPCAP)) != 0);
	atomic_store(&g_failures, 0);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(signo, &sa, NULL))
		return -errno;
	/* Every other thread first: the caller keeps CAP_SETPCAP until they are done. Threads started
	 * meanwhile inherit their creator's sets, limited or not, so pass until none is left. */
	for (;;) {
		sent = signal_unlimited(keep, signo);
		if (sent < 0)
			return sent;
		if (sent == 0)
			break;
		if (atomic_load(&g_failures))
			return -EPERM;
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		usleep(2000);
	}
	err = limit_this_thread(keep);
	if (err)
		return err;
	return atomic_load(&g_failures) ? -EPERM : 0;
}
