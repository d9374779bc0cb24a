using AIOps.Trace.Diagnosis;

namespace AIOps.Trace.Analysis.Collection;

/// <summary>
/// The fixed slots of a container's metric vector, one per signal. The order is part of stored
/// training data (<see cref="AIOps.Trace.Analysis.Verification.VerdictStore"/>): add slots at the end only.
/// </summary>
public static class Metrics
{
    public const int RunQueueP50Us = 0;
    public const int RunQueueP99Us = 1;
    public const int PreemptedBySamePerSecond = 2;
    public const int PreemptedByOtherPerSecond = 3;
    public const int PreemptedByHostPerSecond = 4;
    public const int PreemptedByUnknownPerSecond = 5;
    public const int ThrottledRatio = 6;
    public const int CpuUsageCores = 7;
    public const int MemoryUsageToLimit = 8;
    public const int MemoryLimitHitsPerSecond = 9;
    public const int OomKills = 10;
    public const int DiskBytesPerSecond = 11;
    public const int DiskIopsPerSecond = 12;
    public const int DiskDeviceUtilization = 13;
    public const int NetworkTxBytesPerSecond = 14;
    public const int NetworkDropsPerSecond = 15;
    public const int NetworkRetransmitRatio = 16;

    /// <summary>Slot names, as verdicts and JSON show them.</summary>
    public static IReadOnlyList<string> Names { get; } =
    [
        "runq_p50_us", "runq_p99_us", "preempted_by_same_per_s", "preempted_by_other_per_s", "preempted_by_host_per_s",
        "preempted_by_unknown_per_s", "throttled_ratio", "cpu_usage_cores", "memory_usage_to_limit",
        "memory_limit_hits_per_s", "oom_kills", "disk_bytes_per_s", "disk_iops_per_s", "disk_device_utilization",
        "network_tx_bytes_per_s", "network_drops_per_s", "network_retransmit_ratio",
    ];

    public static int Count => Names.Count;

    /// <summary>The slot of a metric name, or -1.</summary>
    public static int SlotOf(string name)
    {
        for (int i = 0; i < Names.Count; i++)
            if (Names[i] == name)
                return i;
        return -1;
    }

    /// <summary>
    /// Slots where a lower value is never a problem (waits, preemptions, throttling, pressure, drops,
    /// retransmissions): a container that differs from its peers only by being lower on these is not
    /// abnormal. Usage and throughput (CPU, disk, network bytes) count both ways: too little can be
    /// a stuck or throttled container.
    /// </summary>
    public static bool LowerIsBetter(int slot) => slot switch
    {
        RunQueueP50Us or RunQueueP99Us or PreemptedBySamePerSecond or PreemptedByOtherPerSecond or PreemptedByHostPerSecond
            or PreemptedByUnknownPerSecond or ThrottledRatio or MemoryUsageToLimit or MemoryLimitHitsPerSecond or OomKills
            or DiskDeviceUtilization or NetworkDropsPerSecond or NetworkRetransmitRatio => true,
        _ => false,
    };
}

/// <summary>One container's metrics over one window: <see cref="Metrics.Count"/> values, NaN where a signal is absent.</summary>
/// <param name="Key">The container's key (cgroup path).</param>
public sealed record MetricVector(string Key, double[] Values)
{
    public double this[int slot] => Values[slot];

    /// <summary>Builds the vector from an engine window and, where the probes gave them, the memory, disk and network evidence.</summary>
    /// <param name="window">The window the container belongs to (for its length).</param>
    public static MetricVector From(EngineSnapshot window, ContainerSnapshot container,
        MemoryEvidence? memory = null, DiskEvidence? disk = null, NetworkEvidence? network = null) =>
        From(container, window.WindowSeconds, memory, disk, network);

    /// <summary>The vector of a diagnosed container: its window figures and the evidence of its memory, disk and network verdicts.</summary>
    public static MetricVector From(ContainerDiagnosis diagnosis, double windowSeconds) =>
        From(diagnosis.Container, windowSeconds, diagnosis.EvidenceOf<MemoryEvidence>(), diagnosis.EvidenceOf<DiskEvidence>(),
            diagnosis.EvidenceOf<NetworkEvidence>());

    /// <summary>The same from a container and the window's length in seconds.</summary>
    public static MetricVector From(ContainerSnapshot c, double windowSeconds,
        MemoryEvidence? memory = null, DiskEvidence? disk = null, NetworkEvidence? network = null)
    {
        double s = windowSeconds > 0 ? windowSeconds : double.NaN;
        var v = new double[Metrics.Count];
        Array.Fill(v, double.NaN);
        if (c.RunQueue.Count > 0)
        {
            v[Metrics.RunQueueP50Us] = c.RunQueue.ValueAtQuantile(0.50) / 1000.0;
            v[Metrics.RunQueueP99Us] = c.RunQueue.ValueAtQuantile(0.99) / 1000.0;
        }
        else
        {
            v[Metrics.RunQueueP50Us] = v[Metrics.RunQueueP99Us] = 0; // ran without waiting: no wait is a value, not a gap
        }
        v[Metrics.PreemptedBySamePerSecond] = c.PreemptedBySame / s;
        v[Metrics.PreemptedByOtherPerSecond] = c.PreemptedByOther / s;
        v[Metrics.PreemptedByHostPerSecond] = c.PreemptedByHost / s;
        v[Metrics.PreemptedByUnknownPerSecond] = c.PreemptedByUnknown / s;
        if (c.Throttling.Source != "none" && c.Throttling.Periods > 0)
            v[Metrics.ThrottledRatio] = (double)c.Throttling.ThrottledPeriods / c.Throttling.Periods;
        else if (c.Throttling.Source != "none")
            v[Metrics.ThrottledRatio] = 0; // no quota, no enforcement period: never throttled
        if (c.CpuUsageNs >= 0)
            v[Metrics.CpuUsageCores] = c.CpuUsageNs / (s * 1e9);

        if (memory is not null)
        {
            if (memory.UsageBytes >= 0 && memory.LimitBytes > 0)
                v[Metrics.MemoryUsageToLimit] = (double)memory.UsageBytes / memory.LimitBytes;
            if (memory.LimitHits >= 0)
                v[Metrics.MemoryLimitHitsPerSecond] = memory.LimitHits / s;
            if (memory.OomKills >= 0)
                v[Metrics.OomKills] = memory.OomKills;
        }
        if (disk is not null)
        {
            v[Metrics.DiskBytesPerSecond] = disk.BytesPerSecond;
            v[Metrics.DiskIopsPerSecond] = disk.IopsPerSecond;
            if (disk.DeviceUtilization >= 0)
                v[Metrics.DiskDeviceUtilization] = disk.DeviceUtilization;
        }
        if (network is not null)
        {
            v[Metrics.NetworkTxBytesPerSecond] = network.TxBytesPerSecond;
            if (network.QdiscDrops >= 0)
                v[Metrics.NetworkDropsPerSecond] = network.QdiscDrops / s;
            if (network.RetransSegs >= 0 && network.OutSegs > 0)
                v[Metrics.NetworkRetransmitRatio] = (double)network.RetransSegs / network.OutSegs;
        }
        return new MetricVector(c.CgroupPath, v);
    }
}
