using AIOps.Trace.Analysis;
using AIOps.Trace.Analysis.Collection;
using AIOps.Trace.Analysis.Detection;
using AIOps.Trace.Cgroups;
using AIOps.Trace.Server.Metrics;
using AIOps.Trace.Tests.Kernel.Serve;

namespace AIOps.Trace.Tests.Unit.Serve;

/// <summary>The analysis series: one info series per container however its identity changes, verdict series only when judged, all gone on removal.</summary>
public sealed class AnalysisMetricsTests
{
    private static readonly string[] Labels = ["web", "", "", "/a/web-0"];

    [Fact]
    public async Task Info_follows_the_identity_verdicts_follow_the_judgement_and_removal_clears_everything()
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var m = new AnalysisMetrics(Prometheus.Metrics.WithCustomRegistry(registry), ["container", "pod", "namespace", "cgroup"]);
        var values = new double[Metrics.Count];
        Array.Fill(values, double.NaN);
        values[Metrics.CpuUsageCores] = 0.75;
        var vector = new MetricVector("/a/web-0", values);
        m.SetInputs("1", Labels, new ContainerInput(ContainerAttributes.From("/a/web-0", null, CpuLimits.Unknown), vector));
        var identity = new ContainerIdentity("web", ContainerRuntime.Docker, "abc", null, null, ContainerName: "web", Image: "nginx:1.27");
        m.SetInputs("1", Labels, new ContainerInput(ContainerAttributes.From("/a/web-0", identity, CpuLimits.Unknown with { QuotaUs = 50000, PeriodUs = 100000 }), vector));

        IReadOnlyList<PromSample> s = await Scrape(registry);
        PromSample info = Assert.Single(s, x => x.Name == "aiops_trace_container_info");
        Assert.Equal("docker", info.Label("runtime"));
        Assert.Equal("nginx", info.Label("owner"));
        Assert.Equal("image", info.Label("owner_kind"));
        Assert.Equal(Metrics.Count, s.Count(x => x.Name == "aiops_trace_container_vector"));
        Assert.Equal(0.75, Assert.Single(s, x => x.Name == "aiops_trace_container_vector" && x.Label("metric") == "cpu_usage_cores").Value);
        Assert.True(double.IsNaN(Assert.Single(s, x => x.Name == "aiops_trace_container_vector" && x.Label("metric") == "oom_kills").Value));
        Assert.Equal(0.5, Assert.Single(s, x => x.Name == "aiops_trace_container_limit" && x.Label("limit") == "cpu_quota_cores").Value);
        Assert.True(double.IsNaN(Assert.Single(s, x => x.Name == "aiops_trace_container_limit" && x.Label("limit") == "memory_bytes").Value));

        m.SetVerdict("1", Labels, new Verdict("/a/web-0", "owner:web", VerdictStatus.Abnormal, 2.5, DetectorNames.PeerOutlier, [], []));
        s = await Scrape(registry);
        Assert.Equal(1, Assert.Single(s, x => x.Name == "aiops_trace_anomaly" && x.Label("domain") == "owner:web").Value);
        Assert.Equal(2.5, Assert.Single(s, x => x.Name == "aiops_trace_anomaly_score").Value);
        m.SetVerdict("1", Labels, new Verdict("/a/web-0", "owner:web", VerdictStatus.Normal, 0.2, DetectorNames.OneClassSvm, [], []));
        s = await Scrape(registry);
        PromSample normal = Assert.Single(s, x => x.Name == "aiops_trace_anomaly");
        Assert.Equal(("one_class_svm", 0.0), (normal.Label("detector"), normal.Value));
        m.SetVerdict("1", Labels, new Verdict("/a/web-0", "owner:web", VerdictStatus.TooFewPeers, double.NaN, DetectorNames.None, [], []));
        s = await Scrape(registry);
        Assert.DoesNotContain(s, x => x.Name.StartsWith("aiops_trace_anomaly", StringComparison.Ordinal));

        m.SetVerdict("1", Labels, new Verdict("/a/web-0", "owner:web", VerdictStatus.Abnormal, 2.5, DetectorNames.PeerOutlier, [], []));
        m.Remove("1");
        Assert.Empty(await Scrape(registry));
        Assert.Equal(0, m.Count);
    }

    private static async Task<IReadOnlyList<PromSample>> Scrape(Prometheus.CollectorRegistry registry)
    {
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream);
        return PromText.Parse(System.Text.Encoding.UTF8.GetString(stream.ToArray()));
    }
}
