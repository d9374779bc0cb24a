using AIOps.Trace.Cgroups;
using AIOps.Trace.Diagnosis;

namespace AIOps.Trace;

/// <summary>
/// A container's readings beside the engine's figures for one window: the CPU limits in force and
/// each resource probe's reading at the window's start and end (index i is the window's probe i).
/// </summary>
/// <param name="Limits">Quota, period, shares or weight and cpuset, as read at the cut.</param>
/// <param name="Start">Readings at the window's start; an entry is null when the container appeared during the window.</param>
/// <param name="End">Readings at the window's end; an entry is null when the cgroup vanished before it could be read (no verdict then).</param>
public sealed record ContainerReadings(CpuLimits Limits, IReadOnlyList<IResourceReading?> Start, IReadOnlyList<IResourceReading?> End)
{
    /// <summary>Limits unknown and no resource reading: what a container without readings is diagnosed from.</summary>
    public static readonly ContainerReadings None = new(CpuLimits.Unknown, [], []);
}

/// <summary>
/// Everything measured on the node over one window, cut at one instant by <see cref="TraceSession"/>:
/// the engine's figures, each CPU's busy share, and each container's limits and resource readings.
/// Diagnosis and detection read only this, never a file, so a window recorded (or built by hand)
/// replays exactly. Dispose it to recycle the engine's pooled entries.
/// </summary>
public sealed class TraceWindow : IDisposable
{
    /// <param name="seq">1 for the session's first window, then one more per cut.</param>
    /// <param name="end">When the window was cut (wall clock).</param>
    /// <param name="snapshot">The engine's figures; the window owns it from now on and disposes it.</param>
    /// <param name="cpuBusy">Each CPU's busy share over the window (<see cref="PerCpuTime.BusySince"/>).</param>
    /// <param name="probes">The probes whose readings <paramref name="readings"/> hold, in their order; they decide the verdicts from two readings and read nothing then.</param>
    /// <param name="readings">Readings by cgroup path, for the containers of the snapshot.</param>
    /// <param name="live">Every cgroup path that existed at the cut: a container held from earlier windows and absent here has ended.</param>
    public TraceWindow(long seq, DateTimeOffset end, EngineSnapshot snapshot, IReadOnlyDictionary<int, double> cpuBusy,
        IReadOnlyList<IResourceProbe> probes, IReadOnlyDictionary<string, ContainerReadings> readings, IReadOnlySet<string> live)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        Seq = seq;
        End = end;
        Snapshot = snapshot;
        CpuBusy = cpuBusy;
        Probes = probes;
        Readings = readings;
        Live = live;
    }

    /// <summary>1 for the session's first window, then one more per cut.</summary>
    public long Seq { get; }

    /// <summary>When the window was cut (wall clock).</summary>
    public DateTimeOffset End { get; }

    /// <summary>The engine's figures: host, kernel counters and one entry per container.</summary>
    public EngineSnapshot Snapshot { get; }

    /// <summary>The containers of the window (the snapshot's).</summary>
    public IReadOnlyList<ContainerSnapshot> Containers => Snapshot.Containers;

    /// <summary>Length of the window in seconds.</summary>
    public double Seconds => Snapshot.WindowSeconds;

    /// <summary>Each CPU's busy share over the window.</summary>
    public IReadOnlyDictionary<int, double> CpuBusy { get; }

    /// <summary>The resource probes (memory, disk, network) whose readings the window holds; empty for CPU only.</summary>
    public IReadOnlyList<IResourceProbe> Probes { get; }

    /// <summary>Limits and resource readings by cgroup path.</summary>
    public IReadOnlyDictionary<string, ContainerReadings> Readings { get; }

    /// <summary>Every cgroup path that existed at the cut.</summary>
    public IReadOnlySet<string> Live { get; }

    /// <summary>The container's readings, or <see cref="ContainerReadings.None"/> when the window holds none for it.</summary>
    public ContainerReadings ReadingsOf(string cgroupPath) =>
        Readings.TryGetValue(cgroupPath, out ContainerReadings? r) ? r : ContainerReadings.None;

    public void Dispose() => Snapshot.Dispose();
}
