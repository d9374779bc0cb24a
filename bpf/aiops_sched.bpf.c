// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Per-cgroup run-queue latency, involuntary preemptions and CFS bandwidth throttling.
 *
 * Cost model (see ../shared/PERF-NOTES.md): one ring record per context switch doubles the
 * cost of a switch, mostly through consumer wake-ups. So each CPU appends compact samples
 * to its own batch (a per-CPU map value, no locking: the scheduler tracepoints run with
 * interrupts off) and sends the batch as one ring record when it is full or older than
 * flush_interval_ns, without waking the consumer unless the ring is filling up. User space
 * polls with a timeout and, before a snapshot, runs aiops_flush on every CPU. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "aiops_sched.h"
#include "task.bpf.h"

/* Load-time configuration, set by the loader before load. */
const volatile __u32 self_tgid = 0;                 /* the engine's own threads are not traced */
const volatile __u64 flush_interval_ns = 50000000;  /* a partial batch older than this is sent */
const volatile __u64 wakeup_bytes = 1 << 20;        /* wake the consumer once this much waits */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* resized by the loader before load */
} events SEC(".maps");

/* When each runnable task was queued: set on wake-up and on involuntary preemption. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u64);
} queued_at SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct aiops_batch);
} batches SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct aiops_stats);
} stats SEC(".maps");

/* A throttle starts and ends per CPU (each CPU has its own cfs_rq of the group). */
struct throttle_key {
	__u64 cgroup_id;
	__u32 cpu;
	__u32 reserved;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct throttle_key);
	__type(value, __u64);
} throttled_at SEC(".maps");

static __always_inline struct aiops_stats *cpu_stats(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&stats, &zero);
}

static __always_inline bool is_self(struct task_struct *t)
{
	return self_tgid && BPF_CORE_READ(t, tgid) == self_tgid;
}

static __always_inline void send_batch(struct aiops_batch *b, struct aiops_stats *st)
{
	__u32 n = b->hdr.count;
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (n == 0)
		return;
	if (n > AIOPS_BATCH_SAMPLES)
		n = AIOPS_BATCH_SAMPLES;
	b->hdr.kind = AIOPS_REC_BATCH;
	b->hdr.count = n;
	b->hdr.cpu = bpf_get_smp_processor_id();
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes)
		flags = BPF_RB_FORCE_WAKEUP;
	if (bpf_ringbuf_output(&events, b, sizeof(b->hdr) + (__u64)n * sizeof(struct aiops_sample), flags)) {
		if (st) {
			st->lost_batches++;
			st->lost_samples += n;
		}
	} else if (st) {
		st->batches++;
		st->samples += n;
	}
	b->hdr.count = 0;
}

static __always_inline void append(struct aiops_batch *b, struct aiops_stats *st, __u64 now,
				   __u64 cgroup_id, __u64 value, __u32 kind, __u32 pid)
{
	__u32 n = b->hdr.count;
	struct aiops_sample *s;

	if (n >= AIOPS_BATCH_SAMPLES) {
		send_batch(b, st);
		n = 0;
	}
	if (n == 0)
		b->hdr.first_ns = now;
	s = &b->samples[n & (AIOPS_BATCH_SAMPLES - 1)];
	s->cgroup_id = cgroup_id;
	s->value = value;
	s->kind = kind;
	s->pid = pid;
	b->hdr.count = n + 1;
}

static __always_inline void mark_queued(__u32 pid, __u64 now, struct aiops_stats *st)
{
	if (bpf_map_update_elem(&queued_at, &pid, &now, BPF_ANY) && st)
		st->stamp_map_full++;
}

static __always_inline int on_wakeup(struct task_struct *p)
{
	__u32 pid = BPF_CORE_READ(p, pid);

	if (!pid || is_self(p))
		return 0;
	mark_queued(pid, bpf_ktime_get_ns(), cpu_stats());
	return 0;
}

/* Who took the CPU from a preempted task: its own cgroup, another cgroup, or the host
 * (a kernel thread, the idle task or a task in the root cgroup). */
static __always_inline __u32 preemptor_kind(struct task_struct *next, struct cgroup *next_cg,
					    __u64 prev_cg_id, __u64 next_cg_id)
{
	if (!BPF_CORE_READ(next, pid) || (BPF_CORE_READ(next, flags) & AIOPS_PF_KTHREAD) ||
	    BPF_CORE_READ(next_cg, level) == 0)
		return AIOPS_SAMPLE_PREEMPT_HOST;
	return next_cg_id == prev_cg_id ? AIOPS_SAMPLE_PREEMPT_SAME : AIOPS_SAMPLE_PREEMPT_OTHER;
}

static __always_inline int on_switch(bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u32 zero = 0, prev_pid = BPF_CORE_READ(prev, pid), next_pid = BPF_CORE_READ(next, pid);
	struct aiops_stats *st = cpu_stats();
	struct aiops_batch *b = bpf_map_lookup_elem(&batches, &zero);
	struct cgroup *next_cg = task_sched_cgroup(next);
	__u64 now = bpf_ktime_get_ns(), next_cg_id = cgroup_kn_id(next_cg), *queued;

	if (!b)
		return 0;

	/* prev is still runnable: it was preempted (the kernel counts it in nivcsw) and
	 * goes back on the run queue, so its wait starts now. */
	if (prev_pid && !is_self(prev) && (preempt || task_state(prev) == AIOPS_TASK_RUNNING)) {
		__u64 prev_cg_id = cgroup_kn_id(task_sched_cgroup(prev));

		mark_queued(prev_pid, now, st);
		append(b, st, now, prev_cg_id, next_cg_id,
		       preemptor_kind(next, next_cg, prev_cg_id, next_cg_id), prev_pid);
	}

	if (next_pid && !is_self(next)) {
		queued = bpf_map_lookup_elem(&queued_at, &next_pid);
		if (!queued) {
			if (st)
				st->no_wakeup_stamp++;
		} else {
			if (now >= *queued)
				append(b, st, now, next_cg_id, now - *queued, AIOPS_SAMPLE_RUNQ, next_pid);
			else if (st)
				st->clock_backwards++;
			bpf_map_delete_elem(&queued_at, &next_pid);
		}
	}

	if (b->hdr.count >= AIOPS_BATCH_SAMPLES ||
	    (b->hdr.count && now - b->hdr.first_ns >= flush_interval_ns))
		send_batch(b, st);
	return 0;
}

/* Sends this CPU's partial batch. Run by user space on each CPU with BPF_PROG_TEST_RUN and
 * BPF_F_TEST_RUN_ON_CPU; it then runs in an IPI (or with preemption off on the calling CPU),
 * so it cannot interleave with on_switch on the same CPU. */
SEC("raw_tp")
int aiops_flush(void *ctx)
{
	__u32 zero = 0;
	struct aiops_batch *b = bpf_map_lookup_elem(&batches, &zero);

	if (b)
		send_batch(b, cpu_stats());
	return 0;
}

static __always_inline void on_throttle(struct cfs_rq *cfs_rq)
{
	struct throttle_key key = {
		.cgroup_id = cgroup_kn_id(BPF_CORE_READ(cfs_rq, tg, css.cgroup)),
		.cpu = bpf_get_smp_processor_id(),
	};
	__u64 now = bpf_ktime_get_ns();

	bpf_map_update_elem(&throttled_at, &key, &now, BPF_ANY);
}

static __always_inline void on_unthrottle(struct cfs_rq *cfs_rq)
{
	struct aiops_stats *st = cpu_stats();
	struct throttle_key key = {
		.cgroup_id = cgroup_kn_id(BPF_CORE_READ(cfs_rq, tg, css.cgroup)),
	};
	struct aiops_throttle_record *r;
	__u64 now = bpf_ktime_get_ns(), *start;

	/* An unthrottle may run on another CPU than the throttle (distribute_cfs_runtime
	 * unthrottles remote cfs_rqs): the cfs_rq's own CPU is the key. */
	key.cpu = BPF_CORE_READ(cfs_rq, rq, cpu);
	start = bpf_map_lookup_elem(&throttled_at, &key);
	if (!start)
		return;
	r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		if (st)
			st->lost_throttles++;
	} else {
		r->kind = AIOPS_REC_THROTTLE;
		r->cpu = key.cpu;
		r->cgroup_id = key.cgroup_id;
		r->throttled_ns = now > *start ? now - *start : 0;
		r->end_ns = now;
		bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
		if (st)
			st->throttles++;
	}
	bpf_map_delete_elem(&throttled_at, &key);
}

/* Attach variants: the loader keeps one of each family and turns the others off. */
SEC("tp_btf/sched_wakeup")
int BPF_PROG(aiops_btf_wakeup, struct task_struct *p) { return on_wakeup(p); }
SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(aiops_btf_wakeup_new, struct task_struct *p) { return on_wakeup(p); }
SEC("tp_btf/sched_switch")
int BPF_PROG(aiops_btf_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return on_switch(preempt, prev, next);
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(aiops_raw_wakeup, struct task_struct *p) { return on_wakeup(p); }
SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(aiops_raw_wakeup_new, struct task_struct *p) { return on_wakeup(p); }
SEC("raw_tp/sched_switch")
int BPF_PROG(aiops_raw_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return on_switch(preempt, prev, next);
}

/* CFS bandwidth throttling has no tracepoint: fentry where the kernel allows it, else kprobe. */
SEC("fentry/throttle_cfs_rq")
int BPF_PROG(aiops_fentry_throttle, struct cfs_rq *cfs_rq) { on_throttle(cfs_rq); return 0; }
SEC("fentry/unthrottle_cfs_rq")
int BPF_PROG(aiops_fentry_unthrottle, struct cfs_rq *cfs_rq) { on_unthrottle(cfs_rq); return 0; }
SEC("kprobe/throttle_cfs_rq")
int BPF_KPROBE(aiops_kprobe_throttle, struct cfs_rq *cfs_rq) { on_throttle(cfs_rq); return 0; }
SEC("kprobe/unthrottle_cfs_rq")
int BPF_KPROBE(aiops_kprobe_unthrottle, struct cfs_rq *cfs_rq) { on_unthrottle(cfs_rq); return 0; }

char LICENSE[] SEC("license") = "Dual BSD/GPL";
