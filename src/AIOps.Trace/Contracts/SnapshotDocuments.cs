using System.Text.Json.Serialization;
using AIOps.Trace.Aggregation;

namespace AIOps.Trace.Contracts;

// `aiops-trace snapshot --json`: one window of the engine, latencies in microseconds. A container
// and a preemptor are named by "cgroup", as in diagnose --json and the HTTP API.

/// <summary>One window: the kernel's tier, the host, the drop counters and every container.</summary>
public sealed record SnapshotDocument(KernelDocument Kernel, HostDocument Host, double WindowS, long LostEvents, long SkippedEvents,
    IReadOnlyDictionary<string, long> KernelCounters, IReadOnlyList<SnapshotContainerDocument> Containers)
{
    /// <summary>The document of <paramref name="s"/>.</summary>
    public static SnapshotDocument From(EngineSnapshot s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var counters = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach ((string name, long value) in DropCounters.Of(s))
            counters[name] = value;
        var buckets = new Log2Bucket[LogLinearHistogram.MaxLog2MicrosecondBuckets];
        return new(KernelDocument.From(s.Kernel), new HostDocument(s.Host.Cpus, Math.Round(s.Host.IdleRatio, 4)),
            Math.Round(s.WindowSeconds, 3), s.LostEvents, s.SkippedEvents, counters,
            s.Containers.Select(c => SnapshotContainerDocument.From(c, buckets)).ToList());
    }
}

/// <summary>How the figures were taken: the kernel, its BTF, the transport, the attach point and the throttle source.</summary>
public sealed record KernelDocument(string Release, bool Btf,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? BtfFile,
    string Ring, string Attach, string WaitStamps, string ThrottleSource, string ThrottleHook, string ThrottleNote)
{
    /// <summary>The document of <paramref name="k"/>.</summary>
    public static KernelDocument From(KernelSummary k)
    {
        ArgumentNullException.ThrowIfNull(k);
        return new(k.Release, k.Btf, k.BtfFile, k.Ring, k.Attach, k.WaitStamps, k.ThrottleSource, k.ThrottleHook, k.ThrottleNote);
    }
}

/// <summary>Online CPUs and the host's idle share over the window.</summary>
public sealed record HostDocument(int Cpus, double IdleRatio);

/// <summary>One cgroup over the window.</summary>
/// <param name="Pod">The Kubernetes pod, or null outside one.</param>
/// <param name="Ended">True when the cgroup was removed during the window; left out otherwise.</param>
public sealed record SnapshotContainerDocument(string Cgroup, ulong CgroupId, string Name, string Runtime, string? ContainerId,
    PodDocument? Pod, string? ContainerName, string? Image, RunQueueLatencyDocument RunqLatencyUs, PreemptionsDocument Preemptions,
    ThrottlingDocument Throttling, long CpuUsageNs,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] bool Ended)
{
    internal static SnapshotContainerDocument From(ContainerSnapshot c, Log2Bucket[] scratch)
    {
        Cgroups.ContainerIdentity? id = c.Identity;
        LogLinearHistogram h = c.RunQueue;
        int n = h.CopyLog2MicrosecondBuckets(scratch);
        var buckets = new BucketDocument[n];
        for (int i = 0; i < n; i++)
            buckets[i] = new BucketDocument(scratch[i].LeMicroseconds, scratch[i].CumulativeCount);
        var latency = new RunQueueLatencyDocument(h.Count, Us(h.Sum), Us(h.ValueAtQuantile(0.50)), Us(h.ValueAtQuantile(0.90)),
            Us(h.ValueAtQuantile(0.99)), Us(h.ValueAtQuantile(0.999)), Us(h.Max), buckets);
        var preemptions = new PreemptionsDocument(c.Involuntary, c.PreemptedBySame, c.PreemptedByOther, c.PreemptedByHost, c.PreemptedByUnknown,
            c.TopPreemptors.Select(p => new PreemptorDocument(p.CgroupPath, p.Count)).ToList());
        ThrottlingFigures t = c.Throttling;
        return new(c.CgroupPath, c.CgroupId, c.Name, c.Runtime, id?.ContainerId,
            id?.PodUid is null ? null : new PodDocument(id.PodUid, id.PodName, id.Namespace, id.QosClass),
            id?.ContainerName, id?.Image, latency, preemptions,
            new ThrottlingDocument(t.Periods, t.ThrottledPeriods, t.ThrottledNs, t.Events, t.EbpfThrottledNs, t.Source), c.CpuUsageNs, c.Ended);
    }

    private static double Us(double ns) => Math.Round(ns / 1000.0, 3);
}

/// <summary>A Kubernetes pod: uid, name, namespace and QoS class (name and namespace null when the node's disk does not tell).</summary>
public sealed record PodDocument(string Uid, string? Name, string? Namespace, string? Qos);

/// <summary>Run-queue latency in microseconds: count, sum, quantiles, maximum and cumulative log2 buckets.</summary>
public sealed record RunQueueLatencyDocument(long Count, double Sum, double P50, double P90, double P99, double P999, double Max,
    IReadOnlyList<BucketDocument> Buckets);

/// <summary>Waits of at most <paramref name="Le"/> microseconds (cumulative).</summary>
public sealed record BucketDocument(ulong Le, long Count);

/// <summary>Involuntary preemptions by who took the CPU, and the cgroups that took it most.</summary>
public sealed record PreemptionsDocument(long Involuntary, long BySameCgroup, long ByOtherCgroup, long ByHost, long ByUnknown,
    IReadOnlyList<PreemptorDocument> TopPreemptors);

/// <summary>A cgroup that preempted the container, and how often.</summary>
public sealed record PreemptorDocument(string Cgroup, long Count);

/// <summary>CFS bandwidth throttling over the window, and where the figures came from.</summary>
public sealed record ThrottlingDocument(long Periods, long ThrottledPeriods, long ThrottledNs, long Events, long EbpfThrottledNs, string Source);
