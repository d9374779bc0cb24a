using AIOps.Trace.Analysis;
using AIOps.Trace.Analysis.Collection;
using AIOps.Trace.Analysis.Detection;
using AIOps.Trace.Analysis.Verification;
using AIOps.Trace.Cgroups;

namespace AIOps.Trace.Tests.Unit.Analysis;

public sealed class PipelineTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("aiops-pipeline-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Replicas "/n{node}/web-{i}" of one workload plus a lone service; replica <paramref name="faulty"/> is far off on CPU.</summary>
    private static List<ContainerInput> Window(Random r, int replicas, int faulty = -1)
    {
        var list = new List<ContainerInput>();
        for (int i = 0; i < replicas; i++)
        {
            string key = $"/n{i % 3}/web-{i}";
            MetricVector v = i == faulty ? Synthetic.Shifted(r, key, 40, Metrics.ThrottledRatio, Metrics.RunQueueP99Us) : Synthetic.Normal(r, key);
            list.Add(new ContainerInput(ContainerAttributes.From(key, null, CpuLimits.Unknown), v, i == faulty ? "cpu: cap_throttled" : null));
        }
        list.Add(new ContainerInput(ContainerAttributes.From("/system.slice/ssh.service", null, CpuLimits.Unknown), Synthetic.Normal(r, "/system.slice/ssh.service")));
        return list;
    }

    [Fact]
    public void A_round_groups_replicas_across_nodes_finds_the_faulty_one_and_shows_its_diagnosis()
    {
        using var pipeline = new AnalysisPipeline();
        AnalysisRound round = pipeline.Run(Window(new Random(1), 9, faulty: 4), DateTimeOffset.UnixEpoch);

        Assert.Equal(1, round.Seq);
        Verdict bad = Assert.Single(round.Verdicts, v => v.IsAbnormal);
        Assert.Equal(("/n1/web-4", "owner:web", "cpu: cap_throttled"), (bad.Key, bad.Domain, bad.Diagnosis));
        Assert.Contains(bad.OffMetrics, m => m.Metric == "throttled_ratio");
        Assert.Equal(8, bad.Peers.Count);
        Assert.Equal(VerdictStatus.TooFewPeers, Assert.Single(round.Verdicts, v => v.Key == "/system.slice/ssh.service").Status);
        DomainSummary web = Assert.Single(round.Domains, d => d.Id == "owner:web");
        Assert.Equal((9, 1), (web.Members.Count, web.Abnormal));
        Assert.Same(round, pipeline.Last);
    }

    [Fact]
    public void A_label_is_stored_with_the_judged_vector_and_seeds_the_next_pipeline()
    {
        string db = Path.Combine(_dir, "verdicts.db");
        var r = new Random(2);
        using (VerdictStore store = VerdictStore.Open(db))
        using (var pipeline = new AnalysisPipeline(store: store))
        {
            AnalysisRound round = pipeline.Run(Window(r, 6, faulty: 2), DateTimeOffset.UnixEpoch);
            OperatorVerdict v = pipeline.Label("/n2/web-2", abnormal: true, "cpu_cap", DateTimeOffset.UnixEpoch.AddSeconds(1));
            Assert.Equal(("owner:web", "cpu_cap"), (v.Domain, v.Kind));
            Assert.Equal(round.Vectors["/n2/web-2"].Values, v.Metrics);
            var peers = AIOps.Trace.Analysis.Processing.RobustScaler.Fit(
                round.Vectors.Where(p => p.Key.Contains("/web-")).Select(p => p.Value.Values).ToList(), Metrics.Count,
                pipeline.Options.Analyzer.Processing.RelativeScaleFloor);
            Assert.Equal(peers.Medians, v.PeerMedians); // the domain's medians and scales that window, as the analyzer gives its models
            Assert.Equal(peers.Scales, v.PeerScales);
            Assert.True(v.Id > 0);
            Assert.Equal(1, round.Domains.Count(d => d.Id == "owner:web"));

            Assert.Equal(1, pipeline.Run(Window(r, 6), DateTimeOffset.UnixEpoch).Domains.Single(d => d.Id == "owner:web").VerifiedSamples);
            Assert.Throws<LabelRefusedException>(() => pipeline.Label("/nowhere", true, null, DateTimeOffset.UnixEpoch));
            Assert.Throws<LabelRefusedException>(() => pipeline.Label("/n2/web-2", false, "cpu_cap", DateTimeOffset.UnixEpoch));
        }
        using (VerdictStore again = VerdictStore.Open(db))
        using (var restarted = new AnalysisPipeline(store: again))
            Assert.Equal(1, restarted.SeededVerdicts);
    }

    [Theory]
    [InlineData("owner", true)]
    [InlineData("label:app", true)]
    [InlineData("environment", true)]
    [InlineData("label:", false)]
    [InlineData("colour", false)]
    public void Only_known_groupings_are_taken(string domains, bool ok)
    {
        Assert.Equal(ok, PipelineOptions.Refusal(domains) is null);
        if (!ok)
            Assert.Contains($"--domains '{domains}'", PipelineOptions.Refusal(domains));
    }
}
