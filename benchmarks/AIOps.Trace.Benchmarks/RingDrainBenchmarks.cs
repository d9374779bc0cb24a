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
        var rng = new Random(42);
        var samples = new Sample[BatchHeader.MaxSamples];
        var all = new List<byte>();
        for (int b = 0; b < Batches; b++)
        {
            for (int i = 0; i < samples.Length; i++)
            {
                ulong cgroup = 1000 + (ulong)rng.Next(32);
                samples[i] = rng.Next(4) == 0
                    ? new Sample { CgroupId = cgroup, Kind = SampleKind.PreemptedByOtherCgroup, Value = 1000 + (ulong)rng.Next(32) }
                    : new Sample { CgroupId = cgroup, Kind = SampleKind.RunQueue, Value = (ulong)(Math.Exp(rng.NextDouble() * 14) * 100) };
            }
            byte[] record = SyntheticRing.Batch(samples);
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
    public ulong SumFlatArray()
    {
        ulong sum = 0;
        ReadOnlySpan<byte> rest = _flat;
        while (rest.Length > 0)
        {
            BatchHeader h = MemoryMarshal.Read<BatchHeader>(rest);
            int size = 24 + (int)h.Count * 24;
            foreach (Sample s in MemoryMarshal.Cast<byte, Sample>(rest.Slice(24, size - 24)))
                sum += s.Value;
            rest = rest[size..];
        }
        return sum;
    }

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

    private struct CountingHandler : IRecordHandler
    {
        public long Records;

        public void OnRecord(ReadOnlySpan<byte> record) => Records += record.Length;
    }
}
