using AIOps.Trace.Bpf;

namespace AIOps.Trace.Sources;

/// <summary>
/// Where the engine's scheduler figures come from: the eBPF programs (<see cref="BpfSource"/>)
/// or, without BPF, sampling of procfs. A source folds what it observes into the engine's
/// <see cref="Aggregation.ContainerTable"/>, which it receives at construction.
/// </summary>
internal interface ISchedSource : IDisposable
{
    /// <summary>Which mechanisms the source uses.</summary>
    KernelSummary Kernel { get; }

    /// <summary>BPF programs attached (0 for procfs).</summary>
    int AttachedPrograms { get; }

    /// <summary>One step of the reader thread: wait up to <paramref name="timeoutMs"/>, then fold what arrived, holding <paramref name="gate"/> while touching the table.</summary>
    void Pump(int timeoutMs, Lock gate);

    /// <summary>Brings the table up to now. The caller holds the gate.</summary>
    void CatchUp();

    /// <summary>Kernel-side counters, cumulative (zero where the source has none).</summary>
    KernelStats Counters { get; }

    /// <summary>Events lost or unreadable so far, cumulative: the source of the snapshot's lost_events.</summary>
    long Lost { get; }

    /// <summary>Events seen but not measured so far, cumulative: the source of the snapshot's skipped_events (<see cref="KernelStats.Skipped"/>).</summary>
    long Skipped { get; }

    /// <summary>Records the reader could not read and bytes it skipped after one of impossible size, cumulative.</summary>
    (long Records, long Bytes) Unreadable { get; }
}
