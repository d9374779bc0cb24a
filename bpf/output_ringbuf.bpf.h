/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Transport: BPF ring buffer (5.8+), one ring shared by all CPUs, mapped by user space. */
#ifndef AIOPS_OUTPUT_RINGBUF_BPF_H
#define AIOPS_OUTPUT_RINGBUF_BPF_H

const volatile __u64 wakeup_bytes = 1 << 20; /* wake the consumer once this much waits */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* resized by the loader before load */
} events SEC(".maps");

/* Sends one record without waking the consumer, unless the ring is filling up: it polls anyway.
 * 0 or a negative error (no room). */
static __always_inline long output_record(void *ctx, void *data, __u64 size)
{
	__u64 flags = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes
		? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;

	return bpf_ringbuf_output(&events, data, size, flags);
}

#endif /* AIOPS_OUTPUT_RINGBUF_BPF_H */
