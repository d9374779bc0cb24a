// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>
#include <bpf/libbpf.h>
#include "aiops_log.h"

/* libbpf has one global print callback; the capture target is per thread so that two
 * threads loading objects at once each get their own log. */
static __thread char *log_buf;
static __thread uint32_t log_size, log_len;
static pthread_once_t print_once = PTHREAD_ONCE_INIT;

static int capture(enum libbpf_print_level level, const char *fmt, va_list args)
{
	int n;

	(void)level;
	if (!log_buf || log_len + 1 >= log_size)
		return 0;
	n = vsnprintf(log_buf + log_len, log_size - log_len, fmt, args);
	if (n > 0)
		log_len = (log_len + (uint32_t)n < log_size) ? log_len + (uint32_t)n : log_size - 1;
	return n;
}

static void install(void)
{
	libbpf_set_print(capture);
}

void aiops_log_begin(char *buf, uint32_t size)
{
	pthread_once(&print_once, install);
	log_buf = size ? buf : NULL;
	log_size = size;
	log_len = 0;
	if (log_buf)
		log_buf[0] = '\0';
}

void aiops_log_end(void)
{
	log_buf = NULL;
	log_size = log_len = 0;
}
