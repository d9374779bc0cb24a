using System.Runtime.InteropServices;
using AIOps.Trace.Aggregation;
using AIOps.Trace.Bpf;
using AIOps.Trace.Rings;
using AIOps.Trace.Testing;
using BenchmarkDotNet.Attributes;

namespace AIOps.Trace.Benchmarks;

/// <summary>
/// The user-space half of the per-event path: read batch records from a mapped ring and fold
/// them into per-container accumulators. One operation drains a ring holding
/// <see cref="Batches"/> full batches (128 samples each, 32 cgroups, realistic mix of waits and
/// preemptions). Must allocate nothing.
/// </summary>
[MemoryDiagnoser]
[BenchmarkCategory("ZeroAlloc")]
public class RingDrainBenchmarks
{
    public const int Batches = 256;

    private SyntheticRing _ring = null!;
    private ulong _written;
    private byte[] _flat = null!;
    private SampleAggregator _aggregator;
    private CountingHandler _counter;

    [GlobalSetup]
    public void Setup()
    {
        _ring = new SyntheticRing(4u << 20);
        var all = new List<byte>();
        foreach (byte[] record in SampleWorkload.Batches(Batches))
        {
            _ring.Write(record);
            all.AddRange(record);
        }
        _written = _ring.ProducerPosition;
        _flat = all.ToArray();
        _aggregator = new SampleAggregator(new ContainerTable());
        _counter = default;
        Drain(); // first sight of each cgroup allocates its accumulator: not the steady state
    }

    [GlobalCleanup]
    public void Cleanup() => _ring.Dispose();

    /// <summary>Baseline: the same samples summed straight from a managed array, no ring and no aggregation.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Batches * BatchHeader.MaxSamples)]
    public ulong SumFlatArray() => SampleWorkload.SumFlat(_flat);

    /// <summary>The ring reader alone: lease, headers, spans, commits.</summary>
    [Benchmark(OperationsPerInvoke = Batches * BatchHeader.MaxSamples)]
    public long DrainOnly()
    {
        _ring.ConsumerPosition = 0;
        _ring.Ring.Drain(ref _counter);
        return _counter.Records;
    }

    /// <summary>The whole user-space path: ring reader plus per-container histograms and counters.</summary>
    [Benchmark(OperationsPerInvoke = Batches * BatchHeader.MaxSamples)]
    public long DrainAndAggregate() => Drain();

    private long Drain()
    {
        _ring.ConsumerPosition = 0;
        _ring.ProducerPosition = _written;
        _ring.Ring.Drain(ref _aggregator);
        return _aggregator.Samples;
    }
}
