using AIOps.Trace.Analysis.Collection;
using AIOps.Trace.Analysis.Detection;
using AIOps.Trace.Analysis.Partitioning;
using AIOps.Trace.Server.Api;
using AIOps.Trace.Server.Engine;
using AIOps.Trace.Server.Metrics;
using AIOps.Trace.Tests.Unit.Analysis;

namespace AIOps.Trace.Tests.Unit.Hardening;

/// <summary>Issue 14, items 5 and 6: state that must follow what is live, not grow with what has been.</summary>
public sealed class BoundedStateTests
{
    private static Partition OneDomain(string id, IReadOnlyList<MetricVector> members) =>
        new([new MonitoringDomain(id, members.Select(m => m.Key).ToList())], new Dictionary<string, Membership>());

    [Fact]
    public void Models_of_domains_that_never_come_back_are_dropped()
    {
        var options = new AnalyzerOptions { DomainIdleRounds = 5, MaxDomains = 1_000 };
        using var analyzer = new AnomalyAnalyzer(options);
        var r = new Random(3);
        // A CronJob: every round a new owner, hence a new domain, that runs once.
        for (int round = 0; round < 200; round++)
        {
            List<MetricVector> members = Synthetic.Domain(r, 6, $"job-{round}-");
            analyzer.Analyze(OneDomain($"owner:batch/job-{round}", members), members);
            Assert.True(analyzer.Models.Count <= options.DomainIdleRounds + 1, $"{analyzer.Models.Count} models held after round {round}");
        }
        Assert.Equal(200 - analyzer.Models.Count, analyzer.RetiredDomains);
    }

    [Fact]
    public void A_domain_seen_every_round_keeps_its_model_and_history()
    {
        using var analyzer = new AnomalyAnalyzer(new AnalyzerOptions { DomainIdleRounds = 3 });
        var r = new Random(4);
        for (int round = 0; round < 20; round++)
        {
            List<MetricVector> members = Synthetic.Domain(r, 6, "web-");
            analyzer.Analyze(OneDomain("owner:shop/web", members), members);
            List<MetricVector> job = Synthetic.Domain(r, 6, $"job-{round}-");
            analyzer.Analyze(OneDomain($"owner:batch/job-{round}", job), job);
        }
        Assert.True(analyzer.Models.ContainsKey("owner:shop/web"));
        Assert.Equal(20 * 6, analyzer.Models["owner:shop/web"].Training.Count);
    }

    [Fact]
    public void Past_the_cap_the_least_recently_seen_unlabelled_domains_go_first()
    {
        using var analyzer = new AnomalyAnalyzer(new AnalyzerOptions { DomainIdleRounds = 10_000, MaxDomains = 10 });
        var r = new Random(5);
        analyzer.Learn("owner:shop/labelled", new TrainingSample(Synthetic.Normal(r, "x").Values, Abnormal: true, Verified: true));
        for (int round = 0; round < 50; round++)
        {
            List<MetricVector> job = Synthetic.Domain(r, 6, $"job-{round}-");
            analyzer.Analyze(OneDomain($"owner:batch/job-{round}", job), job);
        }
        Assert.Equal(10, analyzer.Models.Count);
        Assert.True(analyzer.Models.ContainsKey("owner:shop/labelled"));
        Assert.True(analyzer.Models.ContainsKey("owner:batch/job-49"));
        Assert.False(analyzer.Models.ContainsKey("owner:batch/job-0"));
    }

    private static EngineSnapshot Window(params ContainerSnapshot[] containers)
    {
        var s = new EngineSnapshot(null)
        {
            Kernel = new KernelSummary("6.18", true, "ringbuf", "tp_btf", "cgroupfs", ""),
            Host = new HostSummary(2, 0.5),
            WindowSeconds = 1,
            LostEvents = 0,
            KernelCounters = default,
        };
        s.Containers.AddRange(containers);
        return s;
    }

    private static ContainerSnapshot Container(string path, ulong id, long cpuNs) => new() { CgroupPath = path, CgroupId = id, CpuUsageNs = cpuNs, Name = "c" };

    private static double CpuSeries(SidecarMetrics metrics, string cgroup)
    {
        using var text = new MemoryStream();
        metrics.Registry.CollectAndExportAsTextAsync(text).GetAwaiter().GetResult();
        string prefix = "aiops_trace_cpu_usage_seconds_total{";
        var lines = System.Text.Encoding.UTF8.GetString(text.ToArray()).Split('\n')
            .Where(l => l.StartsWith(prefix, StringComparison.Ordinal) && l.Contains($"cgroup=\"{cgroup}\"", StringComparison.Ordinal)).ToList();
        return lines.Count == 0 ? double.NaN : double.Parse(Assert.Single(lines).Split(' ')[^1], System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public void A_cgroup_path_created_again_ends_the_old_id_and_starts_the_new_one_from_zero()
    {
        const string path = "/kubepods/pod-harden/c1";
        var metrics = new SidecarMetrics("node-a");
        var state = new SidecarState("node-a", metrics);
        var live = new HashSet<string>([path]);
        var none = new Dictionary<ContainerSnapshot, AIOps.Trace.Analysis.ContainerInput>();
        var noVerdicts = new Dictionary<string, (Verdict, VerdictSummary)>();
        WindowInfo Info(long seq) => new(seq, DateTimeOffset.UnixEpoch.AddSeconds(seq), 1, 0, 2, 0.5, 0.01);

        // Generation 1 (cgroup id 100) runs two windows: 3 s of CPU.
        state.Apply(Info(1), Window(Container(path, 100, 1_000_000_000)), [], live, none, noVerdicts);
        state.Apply(Info(2), Window(Container(path, 100, 2_000_000_000)), [], live, none, noVerdicts);
        Assert.Equal(3, CpuSeries(metrics, path), 6);

        // The container restarts: the same path, a new cgroup (id 200), 0.5 s of CPU.
        (StreamFrame frame, SidecarView view) = state.Apply(Info(3), Window(Container(path, 200, 500_000_000)), [], live, none, noVerdicts);
        ContainerDelta old = Assert.Single(frame.Containers, d => d.Id == "100");
        Assert.True(old.Ended);
        Assert.False(Assert.Single(frame.Containers, d => d.Id == "200").Ended);
        Assert.Equal(0.5, CpuSeries(metrics, path), 6); // the newcomer's figure alone, no sum of two generations

        // The next window (the new one idle) drops the old id everywhere and keeps the new one.
        (frame, view) = state.Apply(Info(4), Window(), [], live, none, noVerdicts);
        Assert.Equal(["100"], frame.Removed);
        Assert.Equal(["200"], view.Containers.Select(c => c.Id));
        Assert.Equal(1, state.Count);
        Assert.Equal(0.5, CpuSeries(metrics, path), 6);

        // And it stays so: nothing listed as running that is not.
        (_, view) = state.Apply(Info(5), Window(), [], live, none, noVerdicts);
        Assert.All(view.Containers, c => Assert.False(c.Ended));
        Assert.Equal(["200"], view.Containers.Select(c => c.Id));
    }
}
