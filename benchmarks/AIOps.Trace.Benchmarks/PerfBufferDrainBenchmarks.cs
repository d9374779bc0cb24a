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
            byte[] record = SyntheticRing.Batch(samples, cpu: (uint)(b % Cpus));
            _ring.WriteSample(b % Cpus, record);
            all.AddRange(record);
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

    private struct CountingHandler : IRecordHandler
    {
        public long Records;

        public void OnRecord(ReadOnlySpan<byte> record) => Records += record.Length;
    }
}
