/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* CO-RE reads of the task fields the scheduler programs need, each with its fallback. */
#ifndef AIOPS_TASK_BPF_H
#define AIOPS_TASK_BPF_H

#include <bpf/bpf_core_read.h>

#define AIOPS_TASK_RUNNING 0
#define AIOPS_PF_KTHREAD 0x00200000

/* task_struct::state was renamed __state (and became unsigned int) in 5.14,
 * commit 2f064a59a11f ("sched: Change task_struct::state"). */
struct task_struct___pre_5_14 {
	long state;
} __attribute__((preserve_access_index));

static __always_inline long task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ((struct task_struct___pre_5_14 *)t, state);
}

/* The cgroup the CPU scheduler accounts the task to: its task_group's css cgroup. This is
 * the cpu controller's cgroup in cgroup v1 and in v2 alike, so it keys quota, shares and
 * throttling correctly on hybrid hosts where bpf_get_current_cgroup_id() would return the
 * (controller-less) unified hierarchy's cgroup instead. */
static __always_inline struct cgroup *task_sched_cgroup(struct task_struct *t)
{
	struct cgroup *cg = BPF_CORE_READ(t, sched_task_group, css.cgroup);

	if (cg)
		return cg;
	/* With CONFIG_SCHED_AUTOGROUP each session of the cpu controller's root cgroup gets a
	 * task_group of its own that has no css, created as a child of root_task_group
	 * (autogroup_create(), kernel/sched/autogroup.c): the task is in the root cgroup, whose
	 * css the parent holds. Tasks of the root cgroup are in an autogroup wherever
	 * kernel.sched_autogroup_enabled is 1 (the default of most distributions), so this is
	 * a hot path: one read chain, not the css_set walk it replaces. */
	return BPF_CORE_READ(t, sched_task_group, parent, css.cgroup);
}

/* kernfs_node::id is a u64 since 5.5, commit 67c0496e87d1 ("kernfs: convert kernfs_node->id
 * from union kernfs_node_id to u64"); before that it is a union whose ino is the low word. */
union kernfs_node_id___pre_5_5 {
	struct {
		__u32 ino;
		__u32 generation;
	};
	__u64 id;
} __attribute__((preserve_access_index));

struct kernfs_node___pre_5_5 {
	union kernfs_node_id___pre_5_5 id;
} __attribute__((preserve_access_index));

static __always_inline __u64 cgroup_kn_id(struct cgroup *cg)
{
	struct kernfs_node *kn = BPF_CORE_READ(cg, kn);

	if (bpf_core_type_exists(union kernfs_node_id___pre_5_5))
		return BPF_CORE_READ((struct kernfs_node___pre_5_5 *)kn, id.ino);
	return BPF_CORE_READ(kn, id);
}

#endif /* AIOPS_TASK_BPF_H */
