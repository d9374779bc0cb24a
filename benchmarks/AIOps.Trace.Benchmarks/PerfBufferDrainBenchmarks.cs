using System.Runtime.InteropServices;
using AIOps.Trace.Aggregation;
using AIOps.Trace.Bpf;
using AIOps.Trace.Rings;
using AIOps.Trace.Testing;
using BenchmarkDotNet.Attributes;

namespace AIOps.Trace.Benchmarks;

/// <summary>
/// The perf transport's user-space half: read batch records (PERF_RECORD_SAMPLE, raw) from two
/// CPUs' mapped perf rings and fold them into per-container accumulators. One operation drains
/// <see cref="Batches"/> full batches (128 samples each, 32 cgroups, the mix of
/// <see cref="RingDrainBenchmarks"/>), some of which wrap the end of their ring and go through
/// the scratch copy. Must allocate nothing.
/// </summary>
[MemoryDiagnoser]
[BenchmarkCategory("ZeroAlloc")]
public class PerfBufferDrainBenchmarks
{
    public const int Batches = 256;
    private const int Cpus = 2;
    // Not a multiple of the record size, so the ring's end falls inside records: some wrap.
    private const ulong RingBytes = 4u << 20;
    private const ulong Start = RingBytes - 1000;

    private SyntheticPerfRing _ring = null!;
    private readonly ulong[] _written = new ulong[Cpus];
    private byte[] _flat = null!;
    private SampleAggregator _aggregator;
    private CountingHandler _counter;

    [GlobalSetup]
    public void Setup()
    {
        _ring = new SyntheticPerfRing(Cpus, RingBytes);
        for (int cpu = 0; cpu < Cpus; cpu++)
            _ring.Reset(cpu, Start);
        var all = new List<byte>();
        List<byte[]> records = SampleWorkload.Batches(Batches, Cpus);
        for (int b = 0; b < records.Count; b++)
        {
            _ring.WriteSample(b % Cpus, records[b]);
            all.AddRange(records[b]);
        }
        for (int cpu = 0; cpu < Cpus; cpu++)
            _written[cpu] = _ring.Head(cpu);
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

    /// <summary>The perf reader alone: heads, headers, spans (a scratch copy for wrapped records), tails.</summary>
    [Benchmark(OperationsPerInvoke = Batches * BatchHeader.MaxSamples)]
    public long DrainOnly()
    {
        Rewind();
        _ring.Buffer.Drain(ref _counter);
        return _counter.Records;
    }

    /// <summary>The whole user-space path of the perf transport: reader plus per-container histograms and counters.</summary>
    [Benchmark(OperationsPerInvoke = Batches * BatchHeader.MaxSamples)]
    public long DrainAndAggregate() => Drain();

    private long Drain()
    {
        Rewind();
        _ring.Buffer.Drain(ref _aggregator);
        return _aggregator.Samples;
    }

    private void Rewind()
    {
        for (int cpu = 0; cpu < Cpus; cpu++)
        {
            _ring.Reset(cpu, Start);
            _ring.SetHead(cpu, _written[cpu]);
        }
    }
}
