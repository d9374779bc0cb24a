/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Records that aiops_sched.bpf.c hands to user space through the ring buffer.
 *
 * Every struct is fixed-width, ordered by field size and free of hidden padding: the C#
 * mirrors in src/AIOps.Trace/Bpf/Records.cs are checked against this header by
 * tests/AIOps.Trace.Tests (StructLayoutTests compiles _Static_asserts with the offsets
 * C# reports). Values of the enums are fixed forever. */
#ifndef AIOPS_SCHED_H
#define AIOPS_SCHED_H

/* Samples per batch record. A power of two, so the verifier can bound the index with a mask. */
#define AIOPS_BATCH_SAMPLES 128

enum aiops_record_kind {
	AIOPS_REC_BATCH = 1,    /* struct aiops_batch_header + count * struct aiops_sample */
	AIOPS_REC_THROTTLE = 2, /* struct aiops_throttle_record */
};

enum aiops_sample_kind {
	AIOPS_SAMPLE_RUNQ = 1,          /* value: run-queue wait in ns of the task switched in */
	AIOPS_SAMPLE_PREEMPT_SAME = 2,  /* value: preemptor's cgroup id (== cgroup_id) */
	AIOPS_SAMPLE_PREEMPT_OTHER = 3, /* value: preemptor's cgroup id */
	AIOPS_SAMPLE_PREEMPT_HOST = 4,  /* value: preemptor's cgroup id (root cgroup or kernel thread) */
};

/* One scheduler observation. cgroup_id is the kernfs id of the task's cpu-controller cgroup
 * (task->sched_task_group->css.cgroup->kn->id), which is the inode of its cgroupfs directory. */
struct aiops_sample {
	__u64 cgroup_id;
	__u64 value;
	__u32 kind;
	__u32 pid;
};

struct aiops_batch_header {
	__u32 kind;     /* AIOPS_REC_BATCH */
	__u32 count;    /* samples that follow, 1..AIOPS_BATCH_SAMPLES */
	__u32 cpu;
	__u32 reserved;
	__u64 first_ns; /* bpf_ktime_get_ns() of the first sample */
};

struct aiops_batch {
	struct aiops_batch_header hdr;
	struct aiops_sample samples[AIOPS_BATCH_SAMPLES];
};

/* One CFS bandwidth throttle of one cgroup on one CPU, sent when it ends (unthrottle). */
struct aiops_throttle_record {
	__u32 kind; /* AIOPS_REC_THROTTLE: every record starts with its kind */
	__u32 cpu;
	__u64 cgroup_id;
	__u64 throttled_ns;
	__u64 end_ns;
};

/* Per-CPU counters of what the programs saw and could not deliver; user space sums the CPUs. */
struct aiops_stats {
	__u64 samples;          /* samples delivered in batches */
	__u64 batches;          /* batch records delivered */
	__u64 lost_batches;     /* batch records the ring had no room for */
	__u64 lost_samples;     /* samples inside those lost batches */
	__u64 no_wakeup_stamp;  /* switch-ins of a task we never saw queued (tracing started later) */
	__u64 clock_backwards;  /* switch-in earlier than its stamp (clocks of two CPUs disagree) */
	__u64 stamp_map_full;   /* wake-ups not stamped because the start map was full */
	__u64 throttles;        /* throttle records delivered */
	__u64 lost_throttles;   /* throttle records the ring had no room for */
	__u64 unknown_cgroup;   /* waits not counted: the task's cgroup was unknown (classic tracepoints) */
	__u64 throttle_map_full; /* throttles not timed: the throttled_at map was full */
};

#endif /* AIOPS_SCHED_H */
