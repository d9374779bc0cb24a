using AIOps.Trace.Analysis;
using AIOps.Trace.Analysis.Collection;
using AIOps.Trace.Analysis.Detection;
using AIOps.Trace.Server.Metrics;
using BenchmarkDotNet.Attributes;
using Prometheus;

namespace AIOps.Trace.Benchmarks;

/// <summary>
/// One /metrics scrape of a node with 1,000 and 5,000 containers, each with a window folded in,
/// four diagnoses, its vector, info, limits and a verdict, labelled like Kubernetes containers
/// (a 100-character cgroup path). The baseline is today's exposition, the full run-queue layout;
/// the others are the budgets <c>serve --runqueue-buckets</c> selects. Rendered into a reused
/// buffer, so what is allocated is the renderer's own.
/// </summary>
[MemoryDiagnoser]
public class MetricsRenderBenchmarks
{
    private readonly Dictionary<RunQueueDetail, SidecarMetrics> _metrics = [];
    private readonly MemoryStream _sink = new(64 << 20);

    [Params(1000, 5000)]
    public int Containers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        foreach (RunQueueDetail detail in Enum.GetValues<RunQueueDetail>())
            _metrics[detail] = Populate(new SidecarMetrics("node-a", detail), Containers);
    }

    [Benchmark(Baseline = true)]
    public long Full() => Render(RunQueueDetail.Full);

    [Benchmark]
    public long Coarse() => Render(RunQueueDetail.Coarse);

    [Benchmark]
    public long NoHistogram() => Render(RunQueueDetail.None);

    private long Render(RunQueueDetail detail)
    {
        _sink.Position = 0;
        _metrics[detail].Registry.CollectAndExportAsTextAsync(_sink).GetAwaiter().GetResult();
        return _sink.Position;
    }

    /// <summary>Fills <paramref name="m"/> with <paramref name="n"/> containers as the engine loop would after one window.</summary>
    internal static SidecarMetrics Populate(SidecarMetrics m, int n)
    {
        var rng = new Random(11);
        string[] resources = ["cpu", "memory", "disk", "network"];
        for (int i = 0; i < n; i++)
        {
            string pod = $"pod{Guid.NewGuid()}";
            string cgroup = $"/kubepods/burstable/{pod}/cri-containerd-{Convert.ToHexStringLower(Guid.NewGuid().ToByteArray())}{Convert.ToHexStringLower(Guid.NewGuid().ToByteArray())}.scope";
            string[] labels = [$"app-{i % 97}", $"app-{i % 97}-7d9f8c6b5d-{i:x5}", $"team-{i % 13}", cgroup];
            // Waits spread over 1 µs .. 16 ms, one fine-bucket midpoint each, as Fold hands them over.
            var observations = new List<(double, long)>();
            for (int k = 0; k < 24; k++)
                observations.Add((1000 * Math.Pow(2, rng.NextDouble() * 14), rng.Next(1, 500)));
            m.AddWindow(labels, new ContainerWindow(observations, rng.Next(10), rng.Next(10), rng.Next(10), 0, 10, rng.Next(10), rng.Next(1_000_000), rng.Next(1_000_000_000)));
            foreach (string r in resources)
                m.SetDiagnosis(labels, r, null, "not_limited");
            string id = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var attributes = new ContainerAttributes(cgroup, "containerd", "registry.example/app:1.27", $"team-{i % 13}/app-{i % 97}", "deployment",
                new Dictionary<string, string>(), "burstable", 0.5, 512, 2, 256 << 20, "node-a");
            double[] vector = Enumerable.Range(0, AIOps.Trace.Analysis.Collection.Metrics.Count).Select(_ => rng.NextDouble() * 100).ToArray();
            m.Analysis.SetInputs(id, labels, new ContainerInput(attributes, new MetricVector(cgroup, vector)));
            m.Analysis.SetVerdict(id, labels, new Verdict(cgroup, $"owner:app-{i % 97}", VerdictStatus.Normal, 0.4, DetectorNames.PeerOutlier, [], []));
        }
        return m;
    }
}
