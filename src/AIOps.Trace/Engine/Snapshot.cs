using AIOps.Trace.Aggregation;

namespace AIOps.Trace;

/// <summary>What the engine measured for every container over one window.</summary>
/// <remarks>Pooled: <see cref="Dispose"/> returns its container entries for reuse by the next window.</remarks>
public sealed class EngineSnapshot : IDisposable
{
    private readonly Action<ContainerSnapshot>? _return;

    internal EngineSnapshot(Action<ContainerSnapshot>? returnToPool) => _return = returnToPool;

    public required KernelSummary Kernel { get; init; }
    public required HostSummary Host { get; init; }

    /// <summary>Length of the window in seconds.</summary>
    public required double WindowSeconds { get; init; }

    /// <summary>Events the kernel could not deliver (ring full) or the reader could not parse, in this window.</summary>
    public required long LostEvents { get; init; }

    /// <summary>Events seen but not measured in this window (<see cref="Bpf.KernelStats.Skipped"/>): the sibling of <see cref="LostEvents"/>.</summary>
    public long SkippedEvents { get; init; }

    /// <summary>Records the reader could not read, and bytes it skipped after one of impossible size: cumulative.</summary>
    public (long Records, long Bytes) Unreadable { get; init; }

    /// <summary>Cumulative kernel-side counters since the programs were loaded.</summary>
    public required Bpf.KernelStats KernelCounters { get; init; }

    public List<ContainerSnapshot> Containers { get; } = new();

    /// <summary>
    /// Cgroups left out because they are parents of others, not containers
    /// (<see cref="WindowScope.Containers"/> only): counted, so none is left out silently.
    /// </summary>
    public int ParentsLeftOut { get; internal set; }

    public void Dispose()
    {
        if (_return is not null)
            foreach (ContainerSnapshot c in Containers)
                _return(c);
        Containers.Clear();
    }
}

/// <summary>Which cgroups a window reports.</summary>
public enum WindowScope
{
    /// <summary>Every cgroup that ran in the window (had a scheduler event or used CPU), parents and the root included.</summary>
    Ran,

    /// <summary>
    /// Every container known on the host, idle ones included: leaf cgroups, and cgroups a runtime
    /// names as a container. Parents of cgroups (pods, slices) and the root are left out.
    /// </summary>
    Containers,
}

/// <summary>Which mechanisms the kernel side uses.</summary>
/// <param name="Ring">"ringbuf" or "perfbuf".</param>
/// <param name="Attach">"tp_btf", "raw_tp", "tracepoint" or "kprobe".</param>
/// <param name="ThrottleSource">"cgroupfs" when cpu.stat gives throttling; "ebpf+cgroupfs" when the throttle programs run too.</param>
/// <param name="BtfFile">The BTF the CO-RE programs were relocated against (/sys/kernel/btf/vmlinux or a --btf file); null without eBPF.</param>
/// <param name="ThrottleHook">"fentry" or "kprobe": the hook of the attached throttle programs; "none" when cpu.stat alone gives throttling.</param>
/// <param name="WaitStamps">Where a run-queue wait starts: "sched_info" (the kernel's enqueue stamp, no wake-up programs), "wakeup" (our stamp at sched_wakeup); "none" without eBPF.</param>
/// <param name="Mode">Whether eBPF programs or the procfs sampler produced the figures.</param>
public sealed record KernelSummary(string Release, bool Btf, string Ring, string Attach, string ThrottleSource, string ThrottleNote, string? BtfFile = null,
    string ThrottleHook = "none", string WaitStamps = "none", Bpf.TierMode Mode = Bpf.TierMode.Ebpf);

/// <param name="Cpus">Online CPUs.</param>
/// <param name="IdleRatio">Share of CPU time the host spent idle (idle + iowait) over the window.</param>
public readonly record struct HostSummary(int Cpus, double IdleRatio);

/// <summary>One container (cgroup) over one window.</summary>
public sealed class ContainerSnapshot
{
    public string CgroupPath { get; set; } = "";
    public ulong CgroupId { get; set; }
    public string Name { get; set; } = "";
    public string Runtime { get; set; } = "";

    /// <summary>Everything known about who runs in the cgroup (runtime, ids, pod).</summary>
    public Cgroups.ContainerIdentity? Identity { get; set; }

    /// <summary>Run-queue waits in ns.</summary>
    public LogLinearHistogram RunQueue { get; } = new();

    public long PreemptedBySame { get; set; }
    public long PreemptedByOther { get; set; }
    public long PreemptedByHost { get; set; }

    /// <summary>Preemptions whose preemptor is unknown ("unattributed": procfs mode sees only counts).</summary>
    public long PreemptedByUnknown { get; set; }
    public long Involuntary => PreemptedBySame + PreemptedByOther + PreemptedByHost + PreemptedByUnknown;

    /// <summary>Other cgroups that preempted this one, most first.</summary>
    public List<Preemptor> TopPreemptors { get; } = new();

    public ThrottlingFigures Throttling { get; set; }

    /// <summary>CPU time used in the window (cpuacct.usage or cpu.stat usage_usec); -1 when unknown.</summary>
    public long CpuUsageNs { get; set; }

    /// <summary>The cgroup was removed before the window ended: these are the last figures seen for it.</summary>
    public bool Ended { get; set; }

    internal void Reset()
    {
        CgroupPath = Name = Runtime = "";
        Identity = null;
        CgroupId = 0;
        RunQueue.Reset();
        PreemptedBySame = PreemptedByOther = PreemptedByHost = PreemptedByUnknown = 0;
        TopPreemptors.Clear();
        Throttling = default;
        CpuUsageNs = 0;
        Ended = false;
    }
}

public readonly record struct Preemptor(string CgroupPath, ulong CgroupId, long Count);

/// <summary>CFS bandwidth throttling over the window.</summary>
/// <param name="Periods">Enforcement periods that elapsed (cpu.stat nr_periods delta).</param>
/// <param name="ThrottledPeriods">Periods in which the cgroup was throttled (nr_throttled delta).</param>
/// <param name="ThrottledNs">Time throttled (throttled_time / throttled_usec delta).</param>
/// <param name="Events">Per-CPU throttles the eBPF programs saw (0 when they are not attached).</param>
/// <param name="EbpfThrottledNs">Their summed per-CPU duration.</param>
/// <param name="Source">"cgroupfs", "ebpf" (no cpu.stat) or "none".</param>
public readonly record struct ThrottlingFigures(long Periods, long ThrottledPeriods, long ThrottledNs, long Events, long EbpfThrottledNs, string Source);
