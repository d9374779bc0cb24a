/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Captures libbpf's messages into a caller's buffer for the duration of one call. */
#ifndef AIOPS_LOG_H
#define AIOPS_LOG_H

#include <stdint.h>

/* Starts capturing this thread's libbpf messages into buf (may be NULL). */
void aiops_log_begin(char *buf, uint32_t size);
/* Stops capturing. */
void aiops_log_end(void);

#endif
