using AIOps.Trace.Aggregation;
using AIOps.Trace.Bpf;

namespace AIOps.Trace.Sources;

/// <summary>The eBPF programs: a <see cref="SchedTracer"/> drained into the table by a <see cref="SampleAggregator"/>.</summary>
internal sealed class BpfSource : ISchedSource
{
    private readonly SchedTracer _tracer;
    private SampleAggregator _aggregator;
    private KernelStats _counters;

    public BpfSource(SchedTracer tracer, ContainerTable table)
    {
        _tracer = tracer;
        _aggregator = new SampleAggregator(table);
        Kernel = new KernelSummary(KernelInfo.Release, KernelInfo.HasVmlinuxBtf, tracer.Transport.Name(), tracer.Attach.Name(),
            TierPolicy.SourceOf(tracer.ThrottleHook).Name(), tracer.ThrottleNote, tracer.Btf)
        {
            ThrottleHook = tracer.ThrottleHook.Name(),
            WaitStamps = tracer.WaitStamps,
            Mode = TierMode.Ebpf,
        };
    }

    public KernelSummary Kernel { get; }

    /// <summary>The loaded programs (for tests that read their maps).</summary>
    internal SchedTracer Tracer => _tracer;

    public int AttachedPrograms => _tracer.LinkCount;

    public void Pump(int timeoutMs, Lock gate)
    {
        _tracer.Events.Wait(timeoutMs);
        lock (gate)
            _tracer.Events.Drain(ref _aggregator);
    }

    public void CatchUp()
    {
        // Partial per-CPU batches first, so the table holds every sample up to now.
        _tracer.FlushAllCpus();
        _tracer.Events.Drain(ref _aggregator);
        _counters = _tracer.ReadStats();
    }

    public KernelStats Counters => _counters;

    // A full perf buffer both fails the program's output (counted per sample by the programs)
    // and makes perf write a LOST record for the same drop: count the programs' figure only.
    public long Lost => LostEvents(_counters, _aggregator.MalformedRecords, _tracer.Events.UnreadableRecords);

    public long Skipped => (long)_counters.Skipped;

    public (long Records, long Bytes) Unreadable => (_tracer.Events.UnreadableRecords + _aggregator.MalformedRecords, _tracer.Events.SkippedBytes);

    /// <summary>
    /// Everything not delivered: samples and throttle records the transport had no room for (the
    /// programs' own count), records the aggregator found malformed and records the reader could
    /// not read at all.
    /// </summary>
    internal static long LostEvents(in KernelStats kernel, long malformed, long unreadable) =>
        (long)(kernel.LostSamples + kernel.LostThrottles) + malformed + unreadable;

    public void Dispose() => _tracer.Dispose();
}
