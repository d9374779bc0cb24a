using AIOps.Trace.Aggregation;
using BenchmarkDotNet.Attributes;

namespace AIOps.Trace.Benchmarks;

/// <summary>Recording into and reading from the log-linear histogram. Recording must allocate nothing.</summary>
[MemoryDiagnoser]
[BenchmarkCategory("ZeroAlloc")]
public class HistogramBenchmarks
{
    private const int N = 4096;
    private readonly ulong[] _values = new ulong[N];
    private readonly LogLinearHistogram _histogram = new();

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(7);
        for (int i = 0; i < N; i++)
            _values[i] = (ulong)(Math.Exp(rng.NextDouble() * 16) * 50);
        foreach (ulong v in _values)
            _histogram.Record(v);
    }

    /// <summary>Baseline: the bucket index computation alone.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = N)]
    public int BucketIndex()
    {
        int acc = 0;
        foreach (ulong v in _values)
            acc += LogLinearHistogram.BucketIndex(v);
        return acc;
    }

    [Benchmark(OperationsPerInvoke = N)]
    public long Record()
    {
        foreach (ulong v in _values)
            _histogram.Record(v);
        return _histogram.Count;
    }

    [Benchmark]
    public double P99() => _histogram.ValueAtQuantile(0.99);
}
