namespace AIOps.Trace.Aggregation;

/// <summary>What the programs reported for one cgroup during the current window.</summary>
internal sealed class ContainerAccumulator
{
    public ContainerAccumulator(ulong cgroupId) => CgroupId = cgroupId;

    /// <summary>Kernfs id of the cpu-controller cgroup (its directory's inode).</summary>
    public ulong CgroupId { get; }

    /// <summary>Run-queue waits of the cgroup's tasks, in ns.</summary>
    // Written on the ring reader's path: the full range from the start, so recording never allocates.
    public LogLinearHistogram RunQueue { get; } = new(fullRange: true);

    /// <summary>Involuntary preemptions of the cgroup's tasks, by who took the CPU.</summary>
    public long PreemptedBySame, PreemptedByOther, PreemptedByHost;

    /// <summary>Involuntary preemptions whose preemptor is not known (procfs mode: counters carry no preemptor).</summary>
    public long PreemptedByUnknown;

    /// <summary>Preempting cgroups (other cgroups only: the noisy neighbours).</summary>
    public PreemptorTable Preemptors { get; } = new();

    /// <summary>Throttles seen by the eBPF throttle programs, and their summed duration.</summary>
    public long ThrottleEvents;
    public ulong ThrottledNs;

    public long Involuntary => PreemptedBySame + PreemptedByOther + PreemptedByHost + PreemptedByUnknown;

    /// <summary>Whether anything was recorded since the last reset.</summary>
    public bool IsEmpty => RunQueue.Count == 0 && Involuntary == 0 && ThrottleEvents == 0;

    public void Reset()
    {
        RunQueue.Reset();
        PreemptedBySame = PreemptedByOther = PreemptedByHost = PreemptedByUnknown = 0;
        Preemptors.Reset();
        ThrottleEvents = 0;
        ThrottledNs = 0;
    }
}
