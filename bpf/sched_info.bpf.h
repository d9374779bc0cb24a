/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The fast path (tp_btf, CONFIG_SCHED_INFO live): one program on sched_switch and none on
 * wake-ups. The kernel already stamps every enqueue of a task: sched_info_enqueue() sets
 * task->sched_info.last_queued to rq_clock(rq), and sched_info_arrive() turns it into the task's
 * run_delay (what /proc/<pid>/schedstat shows) in context_switch(), right after the sched_switch
 * tracepoint (kernel/sched/stats.h, kernel/sched/core.c). At the tracepoint the stamp of next is
 * still set and rq->clock is the clock the kernel is about to subtract it from, so the wait is
 * the kernel's own figure, without a wake-up program, a stamp map or a clock read of ours.
 * Reads are direct loads of BTF pointers (one chain per task, no bpf_probe_read calls).
 * Included by sched.bpf.h. */
#ifndef AIOPS_SCHED_INFO_BPF_H
#define AIOPS_SCHED_INFO_BPF_H

/* This CPU's run queue, reached from next: set_task_rq() points every task's se.cfs_rq at its
 * group's cfs_rq of the task's CPU, whatever its class, and next is on this CPU. cfs_rq::rq exists
 * with CONFIG_FAIR_GROUP_SCHED (which the cpu controller needs); without it the CO-RE relocation
 * fails, the load with it, and the loader falls back to the stamp-map families. (Not
 * bpf_this_cpu_ptr(&runqueues): resolving a per-CPU ksym needs CONFIG_KALLSYMS_ALL.) */
static __always_inline struct rq *rq_of_next(struct task_struct *next)
{
	return next->se.cfs_rq->rq;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(aiops_info_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	struct aiops_stats *st = cpu_stats();
	struct aiops_batch *b;
	struct task_view prev_view, next_view = {};
	__u64 now = rq_of_next(next)->clock, queued = next->sched_info.last_queued;
	bool preempted = preempt || task_state_direct(prev) == AIOPS_TASK_RUNNING;
	__u32 zero = 0;

	/* Most switches are voluntary and to a task that waited: nothing about prev is needed. */
	if (!preempted && !next->pid)
		return 0;
	b = bpf_map_lookup_elem(&batches, &zero);
	if (!b)
		return 0;
	if (preempted) {
		prev_view = view_of_direct(prev);
		if (prev_view.pid && !(prev_view.flags & TASK_VIEW_SELF)) {
			next_view = view_of_direct(next);
			append(ctx, b, st, now, prev_view.cgroup_id, next_view.cgroup_id,
			       preempt_kind(prev_view, next_view), prev_view.pid);
		}
	}
	if (next->pid) {
		if (!queued) {
			/* Enqueued before sched_info counted it (ENQUEUE_RESTORE of a task never queued). */
			if (st)
				st->no_wakeup_stamp++;
		} else {
			if (!next_view.pid)
				next_view = view_of_direct(next);
			if (next_view.flags & TASK_VIEW_SELF)
				;
			else if (now >= queued)
				append(ctx, b, st, now, next_view.cgroup_id, now - queued, AIOPS_SAMPLE_RUNQ, next_view.pid);
			else if (st)
				st->clock_backwards++;
		}
	}
	flush_if_due(ctx, b, st, now);
	return 0;
}

#endif /* AIOPS_SCHED_INFO_BPF_H */
