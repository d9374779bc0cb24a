/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Classic tracepoints (any kernel with BPF tracepoints, 4.7+): the context holds pids only, no
 * task pointers. At sched_switch the previous task is the current one, so its view is exact; the
 * next task's cgroup is the one it had when it last left a CPU (or its parent's, for a task that
 * has not run yet), kept in task_views. Included by sched.bpf.h. */
#ifndef AIOPS_SCHED_TRACEPOINT_BPF_H
#define AIOPS_SCHED_TRACEPOINT_BPF_H

/* Last known view of each task, for the classic tracepoints only (the loader shrinks it to one
 * entry otherwise). LRU, and a freed task's entry goes at sched_process_free. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct task_view);
} task_views SEC(".maps");

static __always_inline struct task_view current_view(void)
{
	return view_of((struct task_struct *)bpf_get_current_task());
}

SEC("tp/sched/sched_wakeup")
int aiops_tp_wakeup(struct trace_event_raw_sched_wakeup_template *ctx)
{
	__u32 pid = ctx->pid;
	struct task_view *v = bpf_map_lookup_elem(&task_views, &pid);

	return on_wakeup(pid, v && (v->flags & TASK_VIEW_SELF));
}

SEC("tp/sched/sched_wakeup_new")
int aiops_tp_wakeup_new(struct trace_event_raw_sched_wakeup_template *ctx)
{
	/* current is the parent: a new task starts in its parent's cgroup. */
	struct task_view v = current_view();

	v.pid = ctx->pid;
	bpf_map_update_elem(&task_views, &v.pid, &v, BPF_ANY);
	return on_wakeup(v.pid, v.flags & TASK_VIEW_SELF);
}

SEC("tp/sched/sched_switch")
int aiops_tp_switch(struct trace_event_raw_sched_switch *ctx)
{
	struct task_struct *prev = (struct task_struct *)bpf_get_current_task();
	struct task_view prev_view = view_of(prev), next_view = { .pid = ctx->next_pid };
	struct task_view *known;

	if (prev_view.pid)
		bpf_map_update_elem(&task_views, &prev_view.pid, &prev_view, BPF_ANY);
	if (!next_view.pid) {
		next_view.flags = TASK_VIEW_HOST | TASK_VIEW_KNOWN;
	} else {
		known = bpf_map_lookup_elem(&task_views, &next_view.pid);
		if (known)
			next_view = *known;
	}
	return on_switch(ctx, task_state(prev) == AIOPS_TASK_RUNNING, prev_view, next_view);
}

SEC("tp/sched/sched_process_free")
int aiops_tp_free(struct trace_event_raw_sched_process_template *ctx)
{
	__u32 pid = ctx->pid;

	bpf_map_delete_elem(&task_views, &pid);
	return on_task_free(pid);
}

#endif /* AIOPS_SCHED_TRACEPOINT_BPF_H */
