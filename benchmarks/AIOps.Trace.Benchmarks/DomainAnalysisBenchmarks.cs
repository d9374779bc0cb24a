using AIOps.Trace.Analysis;
using AIOps.Trace.Analysis.Collection;
using AIOps.Trace.Analysis.Detection;
using AIOps.Trace.Analysis.Partitioning;
using BenchmarkDotNet.Attributes;

namespace AIOps.Trace.Benchmarks;

/// <summary>
/// The scale test of issue 6: 10,000 synthetic containers in 1,000 monitoring domains of 10,
/// analysed per interval (partition by owner, robust processing, peer-group outlier detection),
/// with one planted outlier per domain. Not zero-allocation: this runs once per window, not per event.
/// In process: each call takes tens of milliseconds or more, and a generated project's build can
/// outlast BenchmarkDotNet's 2-minute build timeout on a loaded machine.
/// </summary>
[MemoryDiagnoser]
[InProcess]
[WarmupCount(2)]
[IterationCount(10)]
public class DomainAnalysisBenchmarks
{
    private const int Domains = 1000;
    private const int PerDomain = 10;
    private readonly List<ContainerAttributes> _attributes = new();
    private readonly List<MetricVector> _vectors = new();
    private AnomalyAnalyzer _analyzer = null!;
    private Partition _partition = null!;
    private AnalysisPipeline _pipeline = null!;
    private List<List<ContainerInput>> _rounds = null!;
    private int _next;
    private Random _jitter = null!;

    private double[] _loads = null!;

    [GlobalSetup]
    public void Setup()
    {
        var r = new Random(42);
        var labels = new Dictionary<string, string>();
        _loads = new double[Domains];
        for (int d = 0; d < Domains; d++)
        {
            _loads[d] = 0.2 + r.NextDouble(); // domains differ in level; peers within one do not
            for (int i = 0; i < PerDomain; i++)
                _attributes.Add(new ContainerAttributes(Key(d, i), "containerd", $"registry/app{d % 50}:v1", $"ns{d % 20}/app{d}", "deployment",
                    labels, "burstable", _loads[d], 1024, 2, 512e6, $"node{r.Next(100)}"));
        }
        _vectors.AddRange(Window(r));
        _analyzer = new AnomalyAnalyzer(new AnalyzerOptions { RecordNormalHistory = false });
        _partition = DomainPartitioner.ByTag(_attributes);
        Console.WriteLine("// peers only, one window: " + Score(_analyzer.Analyze(_partition, _vectors)));

        // The pipeline as a sidecar or `analyze` runs it: learning on, so every domain builds normal
        // history (a new window of noise each round), trains a one-class SVM once it has 50 normal
        // windows and refits after every 100 more.
        _jitter = new Random(7);
        _pipeline = new AnalysisPipeline();
        for (int round = 0; round < 12; round++)
            _pipeline.Run(Inputs(Window(_jitter)), DateTimeOffset.UtcNow);
        AnalysisRound warm = _pipeline.Run(Inputs(Window(_jitter)), DateTimeOffset.UtcNow);
        Console.WriteLine($"// pipeline, round 13: {warm.Domains.Count(d => d.Detector == DetectorNames.OneClassSvm)} of {warm.Domains.Count} domains "
            + "on a one-class SVM; " + Score(warm.Verdicts));
        _rounds = Enumerable.Range(0, 20).Select(_ => Inputs(Window(_jitter))).ToList();
    }

    private static string Key(int domain, int replica) => $"/kubepods/burstable/pod{domain:D4}-{replica}/ctr";

    /// <summary>One window of every container: the domain's level plus fresh noise, replica 3 of each domain far off.</summary>
    private List<MetricVector> Window(Random r)
    {
        double G() => Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());
        var list = new List<MetricVector>(Domains * PerDomain);
        for (int d = 0; d < Domains; d++)
            for (int i = 0; i < PerDomain; i++)
            {
                double load = _loads[d], shift = i == 3 ? 10 : 0;
                var v = new double[Metrics.Count];
                Array.Fill(v, double.NaN);
                v[Metrics.RunQueueP50Us] = 20 * load + 3 * G();
                v[Metrics.RunQueueP99Us] = 200 * load + 25 * (G() + shift);
                v[Metrics.PreemptedBySamePerSecond] = 10 + 2 * G();
                v[Metrics.PreemptedByOtherPerSecond] = 50 + 8 * (G() + shift);
                v[Metrics.PreemptedByHostPerSecond] = 5 + G();
                v[Metrics.PreemptedByUnknownPerSecond] = 0;
                v[Metrics.ThrottledRatio] = Math.Max(0, 0.05 + 0.01 * G());
                v[Metrics.CpuUsageCores] = load + 0.05 * G();
                v[Metrics.MemoryUsageToLimit] = 0.6 + 0.05 * G();
                list.Add(new MetricVector(Key(d, i), v));
            }
        return list;
    }

    private List<ContainerInput> Inputs(List<MetricVector> window) =>
        _attributes.Select((a, i) => new ContainerInput(a, window[i])).ToList();

    private static string Score(IReadOnlyList<Verdict> verdicts)
    {
        int found = verdicts.Count(v => v.IsAbnormal && v.Key.EndsWith("-3/ctr", StringComparison.Ordinal));
        int wrong = verdicts.Count(v => v.IsAbnormal && !v.Key.EndsWith("-3/ctr", StringComparison.Ordinal));
        return $"found {found} of {Domains} planted outliers, flagged {wrong} of {Domains * (PerDomain - 1)} healthy containers";
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _analyzer.Dispose();
        _pipeline.Dispose();
    }

    /// <summary>
    /// One round of the whole pipeline in steady state (partition, processing, peer detection,
    /// each domain's one-class SVM judging, normal history recorded; every domain gains the same
    /// history, so all refit their SVM together, about one round in eleven).
    /// </summary>
    [Benchmark]
    public int PipelineRound() => _pipeline.Run(_rounds[_next++ % _rounds.Count], DateTimeOffset.UtcNow).Verdicts.Count;

    /// <summary>Partition by owner workload (O(N)).</summary>
    [Benchmark]
    public int PartitionByOwner() => DomainPartitioner.ByTag(_attributes).Domains.Count;

    /// <summary>One interval: partition by owner, then process and detect in every domain.</summary>
    [Benchmark]
    public int AnalyzeInterval()
    {
        Partition p = DomainPartitioner.ByTag(_attributes);
        return _analyzer.Analyze(p, _vectors).Count;
    }

    /// <summary>Environment-aware partition of the 10,000 containers (CLARA, Gower, k up to 10 by silhouette).</summary>
    [Benchmark]
    public int PartitionByEnvironment() => DomainPartitioner.ByEnvironment(_attributes).Domains.Count;
}
