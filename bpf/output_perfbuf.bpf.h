/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Transport: perf buffer (BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4.4+), for kernels without the BPF ring
 * buffer (before 5.8). One perf ring per CPU: user space opens a PERF_COUNT_SW_BPF_OUTPUT event on
 * each CPU, maps its ring and stores the event's fd at the CPU's index of this map. */
#ifndef AIOPS_OUTPUT_PERFBUF_BPF_H
#define AIOPS_OUTPUT_PERFBUF_BPF_H

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
	/* max_entries left 0: libbpf sets it to the number of possible CPUs. */
} events SEC(".maps");

/* Sends one record into this CPU's perf ring. The consumer is woken by the event's watermark
 * (set by user space), not per record. 0 or a negative error (-ENOSPC: no room; perf also emits
 * a PERF_RECORD_LOST before the next record that fits). */
static __always_inline long output_record(void *ctx, void *data, __u64 size)
{
	return bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, data, size);
}

#endif /* AIOPS_OUTPUT_PERFBUF_BPF_H */
