/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Per-cgroup run-queue latency, involuntary preemptions and CFS bandwidth throttling: the
 * handlers every variant of the object shares. A variant file includes one output header
 * (output_ringbuf.bpf.h or output_perfbuf.bpf.h, which define output_record()) and then this.
 *
 * Cost model (see ../shared/PERF-NOTES.md): one record per context switch doubles the cost of a
 * switch, mostly through consumer wake-ups. So each CPU appends compact samples to its own batch
 * (a per-CPU map value, no locking: the scheduler tracepoints run with interrupts off) and sends
 * the batch as one record when it is full or older than flush_interval_ns. User space polls with
 * a timeout and, before a snapshot, runs aiops_flush on every CPU. */
#ifndef AIOPS_SCHED_BPF_H
#define AIOPS_SCHED_BPF_H

#include "aiops_sched.h"
#include "task.bpf.h"

/* Load-time configuration, set by the loader before load. */
const volatile __u32 self_tgid = 0;                 /* the engine's own threads are not traced */
const volatile __u64 flush_interval_ns = 50000000;  /* a partial batch older than this is sent */

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

/* What the scheduler handler needs to know about a task, however the attach type gets it. */
struct task_view {
	__u64 cgroup_id;
	__u32 pid;
	__u32 flags; /* TASK_VIEW_* */
};

#define TASK_VIEW_SELF 1  /* a thread of the engine itself */
#define TASK_VIEW_HOST 2  /* idle task, kernel thread or root cgroup */
#define TASK_VIEW_KNOWN 4 /* cgroup_id is valid */

static __always_inline struct aiops_stats *cpu_stats(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&stats, &zero);
}

static __always_inline struct task_view view_of(struct task_struct *t)
{
	struct cgroup *cg = task_sched_cgroup(t);
	struct task_view v = {
		.cgroup_id = cgroup_kn_id(cg),
		.pid = BPF_CORE_READ(t, pid),
		.flags = TASK_VIEW_KNOWN,
	};

	if (self_tgid && BPF_CORE_READ(t, tgid) == self_tgid)
		v.flags |= TASK_VIEW_SELF;
	if (!v.pid || (BPF_CORE_READ(t, flags) & AIOPS_PF_KTHREAD) || BPF_CORE_READ(cg, level) == 0)
		v.flags |= TASK_VIEW_HOST;
	return v;
}

/* task_state() with a direct load, for tp_btf programs (typed task pointers). task_struct::state was
 * renamed __state in 5.14 (commit 2f064a59a11f) and tp_btf loads on 5.5+, so both spellings occur. */
static __always_inline long task_state_direct(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return t->__state;
	return ((struct task_struct___pre_5_14 *)t)->state;
}

/* view_of() with direct loads only, for tp_btf programs: this runs up to twice per switch, and
 * each bpf_probe_read call of view_of() costs about as much as the rest of the program. */
static __always_inline struct task_view view_of_direct(struct task_struct *t)
{
	struct task_group *tg = t->sched_task_group;
	struct cgroup *cg = tg->css.cgroup;
	struct task_view v = {
		.pid = t->pid,
		.flags = TASK_VIEW_KNOWN,
	};
	int level;

	/* An autogroup's task_group has no css; its parent is the root task group (see
	 * task_sched_cgroup). A NULL cg would read as id 0, level 0: host. */
	if (!cg)
		cg = tg->parent->css.cgroup;
	/* kernfs_node::id is a u64 on every kernel tp_btf exists on (5.5+, see cgroup_kn_id). */
	v.cgroup_id = cg->kn->id;
	level = cg->level;
	if (self_tgid && t->tgid == self_tgid)
		v.flags |= TASK_VIEW_SELF;
	if (!v.pid || (t->flags & AIOPS_PF_KTHREAD) || level == 0)
		v.flags |= TASK_VIEW_HOST;
	return v;
}

static __always_inline void send_batch(void *ctx, struct aiops_batch *b, struct aiops_stats *st)
{
	__u32 n = b->hdr.count;

	if (n == 0)
		return;
	if (n > AIOPS_BATCH_SAMPLES)
		n = AIOPS_BATCH_SAMPLES;
	b->hdr.kind = AIOPS_REC_BATCH;
	b->hdr.count = n;
	b->hdr.cpu = bpf_get_smp_processor_id();
	if (output_record(ctx, b, sizeof(b->hdr) + (__u64)n * sizeof(struct aiops_sample))) {
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

static __always_inline void append(void *ctx, struct aiops_batch *b, struct aiops_stats *st, __u64 now,
				   __u64 cgroup_id, __u64 value, __u32 kind, __u32 pid)
{
	__u32 n = b->hdr.count;
	struct aiops_sample *s;

	if (n >= AIOPS_BATCH_SAMPLES) {
		send_batch(ctx, b, st);
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

/* Which kind of preemption prev suffered, from who preempted it. */
static __always_inline __u32 preempt_kind(struct task_view prev, struct task_view next)
{
	if (next.flags & TASK_VIEW_HOST)
		return AIOPS_SAMPLE_PREEMPT_HOST;
	return next.cgroup_id == prev.cgroup_id ? AIOPS_SAMPLE_PREEMPT_SAME : AIOPS_SAMPLE_PREEMPT_OTHER;
}

/* Sends the batch when it is full or its first sample is older than flush_interval_ns. */
static __always_inline void flush_if_due(void *ctx, struct aiops_batch *b, struct aiops_stats *st, __u64 now)
{
	if (b->hdr.count >= AIOPS_BATCH_SAMPLES ||
	    (b->hdr.count && now - b->hdr.first_ns >= flush_interval_ns))
		send_batch(ctx, b, st);
}

static __always_inline void mark_queued(__u32 pid, __u64 now, struct aiops_stats *st)
{
	if (bpf_map_update_elem(&queued_at, &pid, &now, BPF_ANY) && st)
		st->stamp_map_full++;
}

/* A task became runnable: its wait starts now. */
static __always_inline int on_wakeup(__u32 pid, bool self)
{
	if (!pid || self)
		return 0;
	mark_queued(pid, bpf_ktime_get_ns(), cpu_stats());
	return 0;
}

/* prev leaves the CPU to next; preempted says prev is still runnable (the kernel counts the
 * switch in prev's nivcsw), so prev goes back on the run queue and its wait starts now. */
static __always_inline int on_switch(void *ctx, bool preempted, struct task_view prev, struct task_view next)
{
	__u32 zero = 0;
	struct aiops_stats *st = cpu_stats();
	struct aiops_batch *b = bpf_map_lookup_elem(&batches, &zero);
	__u64 now = bpf_ktime_get_ns(), *queued;

	if (!b)
		return 0;

	if (preempted && prev.pid && !(prev.flags & TASK_VIEW_SELF)) {
		mark_queued(prev.pid, now, st);
		append(ctx, b, st, now, prev.cgroup_id, next.cgroup_id, preempt_kind(prev, next), prev.pid);
	}

	if (next.pid && !(next.flags & TASK_VIEW_SELF)) {
		queued = bpf_map_lookup_elem(&queued_at, &next.pid);
		if (!queued) {
			if (st)
				st->no_wakeup_stamp++;
		} else {
			if (!(next.flags & TASK_VIEW_KNOWN)) {
				if (st)
					st->unknown_cgroup++;
			} else if (now >= *queued) {
				append(ctx, b, st, now, next.cgroup_id, now - *queued, AIOPS_SAMPLE_RUNQ, next.pid);
			} else if (st) {
				st->clock_backwards++;
			}
			bpf_map_delete_elem(&queued_at, &next.pid);
		}
	}

	flush_if_due(ctx, b, st, now);
	return 0;
}

static __always_inline int on_switch_tasks(void *ctx, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	bool preempted = preempt || task_state(prev) == AIOPS_TASK_RUNNING;
	struct task_view prev_view = {};

	/* Most switches are voluntary: then nothing about prev is needed. */
	if (preempted)
		prev_view = view_of(prev);
	return on_switch(ctx, preempted, prev_view, view_of(next));
}

static __always_inline int on_wakeup_task(struct task_struct *p)
{
	return on_wakeup(BPF_CORE_READ(p, pid), self_tgid && BPF_CORE_READ(p, tgid) == self_tgid);
}

/* A task is freed: its stamp goes with it. A stamp is consumed at switch-in, but a task woken
 * while still running (ttwu_runnable() traces sched_wakeup without a wait) keeps one it never
 * consumes if it then exits; without this, stamps of dead tasks would fill queued_at and every
 * later wake-up would go unstamped. sched_process_free, not sched_process_exit: an exiting task
 * still sleeps and wakes after the exit tracepoint (it fires early in do_exit()); the free comes
 * after its last switch (delayed_put_task_struct(), kernel/exit.c). */
static __always_inline int on_task_free(__u32 pid)
{
	bpf_map_delete_elem(&queued_at, &pid);
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
		send_batch(ctx, b, cpu_stats());
	return 0;
}

/* tp_btf (5.5+): typed task pointers, read directly (no bpf_probe_read call per field). */
static __always_inline int on_switch_direct(void *ctx, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	bool preempted = preempt || task_state_direct(prev) == AIOPS_TASK_RUNNING;
	struct task_view prev_view = {};

	if (preempted)
		prev_view = view_of_direct(prev);
	return on_switch(ctx, preempted, prev_view, view_of_direct(next));
}

static __always_inline int on_wakeup_direct(struct task_struct *p)
{
	return on_wakeup(p->pid, self_tgid && p->tgid == self_tgid);
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(aiops_btf_wakeup, struct task_struct *p) { return on_wakeup_direct(p); }
SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(aiops_btf_wakeup_new, struct task_struct *p) { return on_wakeup_direct(p); }
SEC("tp_btf/sched_switch")
int BPF_PROG(aiops_btf_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return on_switch_direct(ctx, preempt, prev, next);
}
SEC("tp_btf/sched_process_free")
int BPF_PROG(aiops_btf_free, struct task_struct *p) { return on_task_free(p->pid); }

/* raw_tp (4.17+): the same arguments, read through bpf_probe_read. */
SEC("raw_tp/sched_wakeup")
int BPF_PROG(aiops_raw_wakeup, struct task_struct *p) { return on_wakeup_task(p); }
SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(aiops_raw_wakeup_new, struct task_struct *p) { return on_wakeup_task(p); }
SEC("raw_tp/sched_switch")
int BPF_PROG(aiops_raw_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return on_switch_tasks(ctx, preempt, prev, next);
}
SEC("raw_tp/sched_process_free")
int BPF_PROG(aiops_raw_free, struct task_struct *p) { return on_task_free(BPF_CORE_READ(p, pid)); }

#include "sched_tracepoint.bpf.h"
#include "sched_info.bpf.h"
#include "throttle.bpf.h"

#endif /* AIOPS_SCHED_BPF_H */
