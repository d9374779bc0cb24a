namespace AIOps.Trace.Diagnosis;

/// <summary>
/// What an outcome means for the person reading it: how bad it is, what to do about it and what
/// to look at next. Gregg's reverse diagnosis ends at an outcome because each outcome implies an
/// action; this is that action, written once for the CLI, the API and the dashboard.
/// </summary>
/// <param name="Severity">0 healthy, 1 undecided or look further, 2 slowed by a neighbour or the host, 3 held back by its own limit.</param>
/// <param name="Label">The outcome in a few words ("cap-throttled").</param>
/// <param name="NextStep">What to do about it.</param>
/// <param name="CheckNext">What to look at to confirm it or to go on.</param>
public sealed record OutcomeGuide(int Severity, string Label, string NextStep, string CheckNext);

/// <summary>
/// One question of a tree explained: where its figure comes from in the kernel, and where each
/// answer leads, so a reader sees the branch not taken as well as the one taken.
/// </summary>
/// <param name="Source">The kernel source of the figure (a file, a counter or a tracepoint).</param>
/// <param name="IfYes">Where a yes leads.</param>
/// <param name="IfNo">Where a no leads.</param>
public sealed record StepGuide(string Source, string IfYes, string IfNo);

/// <summary>The fixed texts behind <see cref="OutcomeGuide"/> and <see cref="StepGuide"/>, by resource and outcome or metric.</summary>
public static class DiagnosisGuide
{
    private static readonly OutcomeGuide Unknown = new(1, "not diagnosed", "wait for a window in which it runs", "the tier in `aiops-trace doctor`");

    private static readonly Dictionary<(string, string), OutcomeGuide> OutcomeTexts = new()
    {
        [("cpu", Outcomes.CapThrottled)] = new(3, "cap-throttled",
            "raise its CPU quota (cpu.cfs_quota_us / cpu.max; in Kubernetes the CPU limit) or remove the limit",
            "throttled periods against its CPU use: a quota below its busy cores throttles every period"),
        [("cpu", Outcomes.CpusetThrottled)] = new(2, "cpuset-throttled",
            "widen its cpuset (cpuset.cpus) or move the busy tasks off its CPUs",
            "which tasks keep its CPUs busy (per-CPU busy share, top preemptors)"),
        [("cpu", Outcomes.ShareThrottled)] = new(2, "share-throttled",
            "give it a larger CPU share (cpu.shares / cpu.weight; in Kubernetes the CPU request) or move the noisy neighbour named here",
            "the top preemptors and their CPU use"),
        [("cpu", Outcomes.PhysicalCpuThrottled)] = new(2, "physical CPU throttled",
            "the host's CPUs are full and no other container is busy: add CPUs, move it to a less busy node, or stop the host's own processes that use them",
            "its CPU use against the host's CPUs, and the host's own processes (root cgroup, kernel threads)"),
        [("cpu", Outcomes.NotThrottledDigFurther)] = new(1, "preempted with idle CPUs",
            "not a CPU limit: look at interrupts (/proc/interrupts, softirq time), RT tasks (chrt -p) and kernel threads",
            "preemptions by the host against preemptions by other cgroups"),
        [("cpu", Outcomes.NotThrottled)] = new(0, "not throttled",
            "CPU is not what slows it: look at memory, disk, network or the application itself",
            "the other resources' verdicts"),
        [("cpu", Outcomes.Undecidable)] = new(1, "CPU undecidable",
            "make cpu.stat readable for its cgroup (the cpu controller must be mounted)", "aiops-trace doctor"),

        [("memory", Outcomes.OomAtLimit)] = new(3, "OOM-killed at its limit",
            "raise its memory limit (memory.limit_in_bytes / memory.max) or find what grows (heap, caches, leaks)",
            "memory.events oom_kill and the killed process in the kernel log"),
        [("memory", Outcomes.LimitReclaim)] = new(3, "reclaiming at its memory limit",
            "raise its memory limit: the kernel reclaims its pages to stay under it, which stalls its tasks",
            "memory.stat (page cache against anonymous memory) and its memory PSI"),
        [("memory", Outcomes.HighThrottled)] = new(2, "memory.high throttled",
            "raise memory.high or lower its working set: the kernel slows its allocations above memory.high",
            "memory.events high and its memory PSI"),
        [("memory", Outcomes.HostPressure)] = new(2, "host memory pressure",
            "the host is short of memory: move workloads off the node or lower other tenants' usage",
            "the host's /proc/pressure/memory and the largest cgroups"),
        [("memory", Outcomes.NotLimited)] = new(0, "not memory limited", "memory is not what slows it", "the other resources' verdicts"),
        [("memory", Outcomes.Undecidable)] = new(1, "memory undecidable",
            "the kernel does not give the counter this tree needs (see the reason)", "aiops-trace doctor"),

        [("disk", Outcomes.ThrottleLimited)] = new(3, "at its I/O throttle",
            "raise its I/O limit (blkio.throttle.* / io.max) or lower its I/O rate", "its IOPS and bytes against the configured limit"),
        [("disk", Outcomes.DeviceSaturated)] = new(2, "device saturated by itself",
            "the device is busy with this container's own I/O: a faster device, caching, or spreading the I/O",
            "its share of the device's I/O and the device's queue depth"),
        [("disk", Outcomes.Contention)] = new(2, "disk contention",
            "other I/O keeps the device busy: move the heavy neighbour or give this container an I/O weight",
            "the other cgroups' I/O on the same device"),
        [("disk", Outcomes.NotLimited)] = new(0, "not I/O limited", "disk is not what slows it", "the other resources' verdicts"),
        [("disk", Outcomes.Undecidable)] = new(1, "disk undecidable",
            "the kernel does not give the counters this tree needs (see the reason)", "aiops-trace doctor"),

        [("network", Outcomes.BandwidthLimited)] = new(3, "at its network limit",
            "raise its traffic-control rate or lower what it sends", "qdisc drops and overlimits on its interface"),
        [("network", Outcomes.Contention)] = new(2, "network path contention",
            "TCP retransmits show loss on the path or the host: check the node's NIC, the path and the peers",
            "retransmits per peer (ss -ti) and the host's interface drops"),
        [("network", Outcomes.NotLimited)] = new(0, "not network limited", "network is not what slows it", "the other resources' verdicts"),
        [("network", Outcomes.Undecidable)] = new(1, "network undecidable",
            "the sidecar could not read its network namespace (see the reason)", "aiops-trace doctor"),
    };

    private static readonly Dictionary<(string, string), StepGuide> StepTexts = new()
    {
        [("cpu", "cpu_stat")] = new("cpu.stat of its cgroup (v1 cpu controller or v2)", "go on with the tree", "stop: nothing to decide from"),
        [("cpu", "throttled_ms_per_s")] = new("cpu.stat throttled_time (v1) / throttled_usec (v2), delta over the window",
            "cap-throttled: its CFS quota holds it back", "ask whether anything preempted it"),
        [("cpu", "cpu_usage_cores")] = new("cpuacct.usage (v1) / cpu.stat usage_usec (v2), delta over the window; asked only when nothing was preempted and nothing waited",
            "not throttled: idle, it used no CPU", "ask whether anything preempted it"),
        [("cpu", "preemptions_per_s")] = new("sched_switch with prev still runnable (eBPF), or nonvoluntary_ctxt_switches in /proc/<pid>/status (procfs mode)",
            "ask whether it waited to run", "not throttled: nothing took the CPU from it"),
        [("cpu", "runq_wait_ms_per_s")] = new("run-queue latency: sched_wakeup / preemption to sched_switch (eBPF), or /proc/<pid>/schedstat (procfs mode)",
            "ask whether the host has idle CPU", "not throttled: the preemptions cost next to no waiting"),
        [("cpu", "host_idle_cores")] = new("/proc/stat idle and iowait time of every CPU, delta over the window",
            "check its cpuset, else not throttled: dig further", "ask whether other tenants are busy"),
        [("cpu", "least_busy_cpuset_cpu_share")] = new("cpuset.cpus of its cgroup and each CPU's busy share from /proc/stat",
            "cpuset-throttled: its own CPUs are all busy", "not throttled: dig further (interrupts, RT tasks)"),
        [("cpu", "other_tenants_cores")] = new("cpuacct.usage (v1) / cpu.stat usage_usec (v2) of every other container",
            "physical CPU throttled: it alone fills the host", "share-throttled: it competes with other tenants"),

        [("memory", "oom_kills")] = new("memory.events oom_kill (v2) / memory.oom_control (v1)", "OOM-killed at its limit", "ask whether usage is at the limit"),
        [("memory", "usage_to_limit")] = new("memory.usage_in_bytes / memory.limit_in_bytes (v1), memory.current / memory.max (v2)",
            "ask whether it hits the limit", "ask about memory.high"),
        [("memory", "limit_hits")] = new("memory.failcnt (v1) / memory.events max (v2)", "reclaiming at its limit", "ask about memory.high"),
        [("memory", "high_events")] = new("memory.events high (v2)", "memory.high throttled", "ask about the host's memory"),
        [("memory", "host_psi_some_pct")] = new("/proc/pressure/memory some avg10", "ask whether the host reclaims", "ask whether host memory is nearly exhausted"),
        [("memory", "host_reclaim_pages")] = new("/proc/vmstat pgscan_kswapd + pgscan_direct, delta", "host memory pressure", "not memory limited"),
        [("memory", "host_available_ratio")] = new("/proc/meminfo MemAvailable / MemTotal", "host memory pressure", "not memory limited"),

        [("disk", "container_iops")] = new("blkio.throttle.io_serviced (v1) / io.stat (v2), delta", "ask whether it is at its throttle", "not I/O limited"),
        [("disk", "uncounted_device_utilization")] = new("/proc/diskstats io_ticks of the device against the cgroup's own counters",
            "ask whether its tasks did I/O the cgroup counters miss", "not I/O limited"),
        [("disk", "task_io_bytes_per_s")] = new("/proc/<pid>/io read_bytes + write_bytes of its tasks", "undecidable: I/O the cgroup counters do not see", "not I/O limited"),
        [("disk", "rate_to_limit")] = new("its IOPS or bytes against blkio.throttle.* / io.max", "at its I/O throttle", "ask whether the device is busy"),
        [("disk", "device_utilization")] = new("/proc/diskstats io_ticks, delta over the window", "ask whose I/O keeps it busy", "not I/O limited"),
        [("disk", "container_share_of_device")] = new("its I/O against the device's total from /proc/diskstats", "device saturated by itself", "disk contention"),

        [("network", "qdisc_drops_and_overlimits")] = new("the qdisc statistics of its interface (rtnetlink tc stats)", "ask whether it sends at its limit", "ask about TCP retransmits"),
        [("network", "rate_to_limit")] = new("bytes sent against the qdisc's configured rate", "at its network limit", "ask about TCP retransmits"),
        [("network", "retransmit_ratio")] = new("/proc/net/snmp RetransSegs / OutSegs in its network namespace", "network path contention", "not network limited"),
        [("network", "retransmits")] = new("/proc/net/snmp RetransSegs in its network namespace", "ask about the retransmit ratio", "not network limited"),
    };

    /// <summary>The guide for an outcome of a resource's tree; an unknown pair gets a neutral guide, never an exception.</summary>
    public static OutcomeGuide For(string resource, string? outcome) =>
        outcome is not null && OutcomeTexts.TryGetValue((resource, outcome), out OutcomeGuide? g) ? g : Unknown;

    /// <summary>The guide for one question, by the metric that answered it; null for a metric this table does not know.</summary>
    public static StepGuide? Step(string resource, string metric) =>
        StepTexts.TryGetValue((resource, metric), out StepGuide? g) ? g : null;

    /// <summary>Every (resource, metric) pair the guide explains, for tests that check each tree's questions are covered.</summary>
    public static IEnumerable<(string Resource, string Metric)> KnownSteps => StepTexts.Keys;

    /// <summary>Every (resource, outcome) pair the guide explains.</summary>
    public static IEnumerable<(string Resource, string Outcome)> KnownOutcomes => OutcomeTexts.Keys;
}
