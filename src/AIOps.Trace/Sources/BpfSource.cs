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
            Mode = TierMode.Ebpf,
        };
    }

    public KernelSummary Kernel { get; }

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
    public long Lost => (long)(_counters.LostSamples + _counters.LostThrottles) + _aggregator.MalformedRecords;

    public void Dispose() => _tracer.Dispose();
}
