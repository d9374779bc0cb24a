/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* CFS bandwidth throttling has no tracepoint: fentry on throttle_cfs_rq/unthrottle_cfs_rq where
 * the kernel allows it, else kprobe. Included by sched.bpf.h. */
#ifndef AIOPS_THROTTLE_BPF_H
#define AIOPS_THROTTLE_BPF_H

static __always_inline void on_throttle(struct cfs_rq *cfs_rq)
{
	struct throttle_key key = {
		.cgroup_id = cgroup_kn_id(BPF_CORE_READ(cfs_rq, tg, css.cgroup)),
		.cpu = BPF_CORE_READ(cfs_rq, rq, cpu),
	};
	struct aiops_stats *st;
	__u64 now = bpf_ktime_get_ns();

	if (bpf_map_update_elem(&throttled_at, &key, &now, BPF_ANY)) {
		st = cpu_stats();
		if (st)
			st->throttle_map_full++;
	}
}

static __always_inline void on_unthrottle(void *ctx, struct cfs_rq *cfs_rq)
{
	struct aiops_stats *st = cpu_stats();
	/* An unthrottle may run on another CPU than the throttle (distribute_cfs_runtime
	 * unthrottles remote cfs_rqs): the cfs_rq's own CPU is the key. */
	struct throttle_key key = {
		.cgroup_id = cgroup_kn_id(BPF_CORE_READ(cfs_rq, tg, css.cgroup)),
		.cpu = BPF_CORE_READ(cfs_rq, rq, cpu),
	};
	struct aiops_throttle_record r = {
		.kind = AIOPS_REC_THROTTLE,
		.cpu = key.cpu,
		.cgroup_id = key.cgroup_id,
	};
	__u64 now = bpf_ktime_get_ns(), *start;

	start = bpf_map_lookup_elem(&throttled_at, &key);
	if (!start)
		return;
	r.throttled_ns = now > *start ? now - *start : 0;
	r.end_ns = now;
	if (output_record(ctx, &r, sizeof(r))) {
		if (st)
			st->lost_throttles++;
	} else if (st) {
		st->throttles++;
	}
	bpf_map_delete_elem(&throttled_at, &key);
}

SEC("fentry/throttle_cfs_rq")
int BPF_PROG(aiops_fentry_throttle, struct cfs_rq *cfs_rq) { on_throttle(cfs_rq); return 0; }
SEC("fentry/unthrottle_cfs_rq")
int BPF_PROG(aiops_fentry_unthrottle, struct cfs_rq *cfs_rq) { on_unthrottle(ctx, cfs_rq); return 0; }
SEC("kprobe/throttle_cfs_rq")
int BPF_KPROBE(aiops_kprobe_throttle, struct cfs_rq *cfs_rq) { on_throttle(cfs_rq); return 0; }
SEC("kprobe/unthrottle_cfs_rq")
int BPF_KPROBE(aiops_kprobe_unthrottle, struct cfs_rq *cfs_rq) { on_unthrottle(ctx, cfs_rq); return 0; }

#endif /* AIOPS_THROTTLE_BPF_H */
