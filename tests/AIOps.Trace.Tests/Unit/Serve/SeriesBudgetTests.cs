using System.Globalization;
using AIOps.Trace.Aggregation;
using AIOps.Trace.Analysis;
using AIOps.Trace.Analysis.Collection;
using AIOps.Trace.Analysis.Detection;
using AIOps.Trace.Server.Engine;
using AIOps.Trace.Server.Metrics;
using AIOps.Trace.Tests.Kernel.Serve;

namespace AIOps.Trace.Tests.Unit.Serve;

/// <summary>
/// The /metrics series budget: each container costs at most what docs/http-api.md states for each
/// <c>--runqueue-buckets</c> layout, and the coarse histogram is the full one at fewer bounds, with
/// every bucket equal to the number of raw waits below its bound.
/// </summary>
public sealed class SeriesBudgetTests
{
    /// <summary>The per-container budgets docs/http-api.md and docs/kubernetes.md state.</summary>
    private static readonly Dictionary<RunQueueDetail, int> Documented = new()
    {
        [RunQueueDetail.Coarse] = 47,
        [RunQueueDetail.Full] = 62,
        [RunQueueDetail.None] = 36,
    };

    [Theory]
    [InlineData(RunQueueDetail.Coarse)]
    [InlineData(RunQueueDetail.Full)]
    [InlineData(RunQueueDetail.None)]
    public async Task A_fully_reported_container_costs_the_documented_series(RunQueueDetail detail)
    {
        const int containers = 20;
        var metrics = new SidecarMetrics("node-a", detail);
        var rng = new Random(5);
        for (int i = 0; i < containers; i++)
            Report(metrics, i, RandomWaits(rng, 2000));

        IReadOnlyList<PromSample> samples = PromText.Parse(await Scrape(metrics.Registry));
        var perContainer = samples.Where(s => s.Labels.ContainsKey("cgroup")).GroupBy(s => s.Label("cgroup")).ToList();
        Assert.Equal(containers, perContainer.Count);
        foreach (var c in perContainer)
        {
            Assert.Equal(Documented[detail], c.Count());
            Assert.Equal(SeriesBudget.PerContainer(detail), c.Count());
            int buckets = c.Count(s => s.Name == "aiops_trace_runqueue_latency_seconds_bucket");
            Assert.Equal(detail switch { RunQueueDetail.Full => RunQueueBuckets.Count, RunQueueDetail.Coarse => 9, _ => 0 }, buckets);
        }
    }

    [Fact]
    public async Task Coarse_buckets_count_exactly_the_raw_waits_below_each_bound_as_full_ones_do()
    {
        var full = new SidecarMetrics("node-a", RunQueueDetail.Full);
        var coarse = new SidecarMetrics("node-a", RunQueueDetail.Coarse);
        var rng = new Random(9);
        var raw = new List<ulong>();
        // Three windows, as the engine loop folds them.
        for (int w = 0; w < 3; w++)
        {
            ulong[] waits = RandomWaits(rng, 5000);
            raw.AddRange(waits);
            Report(full, 0, waits);
            Report(coarse, 0, waits);
        }

        IReadOnlyList<PromSample> f = PromText.Parse(await Scrape(full.Registry));
        IReadOnlyList<PromSample> c = PromText.Parse(await Scrape(coarse.Registry));
        var fullBuckets = Buckets(f);
        var coarseBuckets = Buckets(c);
        Assert.Equal(9, coarseBuckets.Count);
        foreach ((double le, double count) in coarseBuckets)
        {
            Assert.Equal(fullBuckets[le], count);
            // Ground truth from the raw values: waits strictly below the bound (none sits on one).
            long below = double.IsPositiveInfinity(le) ? raw.Count : raw.Count(v => v < le * 1e9);
            Assert.Equal(below, count);
        }
        Assert.Equal(raw.Count, Assert.Single(c, s => s.Name == "aiops_trace_runqueue_latency_seconds_count").Value);
        Assert.Equal(Assert.Single(f, s => s.Name == "aiops_trace_runqueue_latency_seconds_sum").Value,
            Assert.Single(c, s => s.Name == "aiops_trace_runqueue_latency_seconds_sum").Value, 9);
    }

    [Fact]
    public void Names_parse_to_their_layout_and_anything_else_is_refused()
    {
        foreach (RunQueueDetail d in Enum.GetValues<RunQueueDetail>())
            Assert.Equal(d, SeriesBudget.Parse(SeriesBudget.Names[(int)d]));
        Assert.Null(SeriesBudget.Parse("Coarse"));
        Assert.Null(SeriesBudget.Parse(""));
        // The coarse bounds are full bounds: exact edges of the engine's fine buckets.
        Assert.Subset(RunQueueBuckets.BoundsSeconds.ToHashSet(), SeriesBudget.BoundsSeconds(RunQueueDetail.Coarse).ToHashSet());
    }

    private static SortedDictionary<double, double> Buckets(IReadOnlyList<PromSample> samples) =>
        new(samples.Where(s => s.Name == "aiops_trace_runqueue_latency_seconds_bucket")
            .ToDictionary(s => s.Label("le") == "+Inf" ? double.PositiveInfinity : double.Parse(s.Label("le"), CultureInfo.InvariantCulture), s => s.Value));

    /// <summary>Waits from 200 ns to about 6.7 s, log-uniform, none exactly on a power-of-two microsecond.</summary>
    private static ulong[] RandomWaits(Random rng, int n)
    {
        var waits = new ulong[n];
        for (int i = 0; i < n; i++)
        {
            ulong v;
            do
                v = (ulong)(200 * Math.Pow(2, rng.NextDouble() * 25));
            while (v % 1000 == 0 && ulong.IsPow2(v / 1000));
            waits[i] = v;
        }
        return waits;
    }

    /// <summary>One window of a container with every series the sidecar sets: histogram, counters, four diagnoses, inputs and a verdict.</summary>
    private static void Report(SidecarMetrics m, int i, ulong[] waits)
    {
        var h = new LogLinearHistogram();
        foreach (ulong v in waits)
            h.Record(v);
        var observations = new List<(double, long)>();
        RunQueueBuckets.Fold(h, (_, valueNs, count) => observations.Add((valueNs, count)));
        string cgroup = $"/kubepods/pod{i}/c{i}";
        string[] labels = [$"c{i}", $"pod{i}", "shop", cgroup];
        m.AddWindow(labels, new ContainerWindow(observations, 1, 2, 3, 0, 10, 4, 1000, 5000));
        foreach (string r in (string[])["cpu", "memory", "disk", "network"])
            m.SetDiagnosis(labels, r, null, "not_limited");
        string id = i.ToString(CultureInfo.InvariantCulture);
        var attributes = new ContainerAttributes(cgroup, "containerd", "nginx:1.27", "shop/web", "deployment",
            new Dictionary<string, string>(), "burstable", 0.5, 512, 2, 1 << 28, "node-a");
        m.Analysis.SetInputs(id, labels, new ContainerInput(attributes, new MetricVector(cgroup, new double[Metrics.Count])));
        m.Analysis.SetVerdict(id, labels, new Verdict(cgroup, "owner:shop/web", VerdictStatus.Normal, 0.3, DetectorNames.PeerOutlier, [], []));
    }

    private static async Task<string> Scrape(Prometheus.CollectorRegistry registry)
    {
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }
}
