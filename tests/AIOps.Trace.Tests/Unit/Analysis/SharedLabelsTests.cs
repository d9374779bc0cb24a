using AIOps.Trace.Analysis.Collection;
using AIOps.Trace.Analysis.Detection;
using AIOps.Trace.Analysis.Detection.Svm;
using AIOps.Trace.Analysis.Processing;

namespace AIOps.Trace.Tests.Unit.Analysis;

/// <summary>
/// Operator verdicts taken beside their peers teach one model shared by every domain
/// (<see cref="AnalyzerOptions.ShareLabels"/>): its inputs are robust z-scores among the peers of
/// the same window, so what was learnt in one replica group holds in another of other levels.
/// </summary>
public sealed class SharedLabelsTests
{
    /// <summary>Domain "a" at the synthetic levels, domain "b" at four times them (another workload, the same fault).</summary>
    private static List<MetricVector> Window(Random r, double level, int faulted = -1, int slot = -1)
    {
        List<MetricVector> members = Synthetic.Domain(r, 8);
        if (faulted >= 0)
            members[faulted] = Synthetic.Shifted(r, $"c{faulted}", 30, slot);
        foreach (MetricVector m in members)
            for (int f = 0; f < m.Values.Length; f++)
                m.Values[f] *= level;
        return members;
    }

    /// <summary>Every member of domain "a" labelled, windows with a throttled or a preempted replica among quiet ones.</summary>
    private static AnomalyAnalyzer Taught(Random r, bool share)
    {
        var analyzer = new AnomalyAnalyzer(new AnalyzerOptions { ShareLabels = share, RecordNormalHistory = false });
        for (int w = 0; w < 30; w++)
        {
            (string? kind, int slot) = (w % 3) switch
            {
                0 => ("cpu_cap", Metrics.ThrottledRatio),
                1 => ("noisy_neighbour", Metrics.PreemptedByOtherPerSecond),
                _ => ((string?)null, -1),
            };
            int faulted = kind is null ? -1 : w % 8;
            List<MetricVector> members = Window(r, 1, faulted, slot);
            RobustScaler peers = RobustScaler.Fit(members.Select(m => m.Values).ToArray(), Metrics.Count, new ProcessingOptions().RelativeScaleFloor);
            for (int i = 0; i < members.Count; i++)
                analyzer.Learn("owner:a", new TrainingSample(members[i].Values, i == faulted, i == faulted ? kind : null, Verified: true, peers.Medians, peers.Scales));
        }
        return analyzer;
    }

    [Fact]
    public void A_kind_labelled_in_one_domain_is_named_in_another_of_other_levels()
    {
        Assert.True(SvmModel.IsAvailable, "libsvm.so.3 cannot be loaded: apt-get install libsvm-dev");
        var r = new Random(5);
        using AnomalyAnalyzer shared = Taught(r, share: true);
        using AnomalyAnalyzer apart = Taught(r, share: false);

        List<MetricVector> b = Window(r, 4, faulted: 2, slot: Metrics.ThrottledRatio);
        IReadOnlyList<Verdict> verdicts = shared.AnalyzeDomain("owner:b", b);
        Verdict capped = verdicts[2];
        Assert.True(capped.IsAbnormal, capped.Reason);
        Assert.Equal(("owner:b", DetectorNames.MulticlassCsvc, "cpu_cap"), (capped.Domain, capped.Detector, capped.Kind));
        Assert.Contains(capped.OffMetrics, m => m.Metric == "throttled_ratio"); // named against its peers, not the levels learnt elsewhere
        Assert.All(verdicts.Where((_, i) => i != 2), v => Assert.False(v.IsAbnormal, v.Reason));
        Assert.Same(shared.Shared, shared.JudgeOf("owner:b"));

        // Kept to their own domain, the labels teach "b" nothing: the peers find the outlier but cannot name it.
        Verdict alone = apart.AnalyzeDomain("owner:b", Window(r, 4, faulted: 2, slot: Metrics.ThrottledRatio))[2];
        Assert.Equal((DetectorNames.PeerOutlier, (string?)null), (alone.Detector, alone.Kind));
        Assert.Null(apart.JudgeOf("owner:b"));
    }

    [Fact]
    public void Only_verdicts_that_know_their_peers_are_shared()
    {
        using var analyzer = new AnomalyAnalyzer();
        double[] values = Synthetic.Normal(new Random(1), "x").Values, medians = (double[])values.Clone(), scales = new double[values.Length];
        analyzer.Learn("owner:a", new TrainingSample(values, false, Verified: true, PeerMedians: medians, PeerScales: scales));
        analyzer.Learn("owner:a", new TrainingSample(values, false, Verified: true, PeerMedians: medians)); // stored before scales were
        analyzer.Learn("owner:a", new TrainingSample(values, false, Verified: false, PeerMedians: medians, PeerScales: scales)); // history
        Assert.Equal(1, analyzer.Shared.Training.Count);
        Assert.Equal(2, analyzer.Models["owner:a"].Training.Count);
    }

    [Fact]
    public void Beside_its_peers_a_metric_is_counted_in_their_spread()
    {
        double[] z = DomainModel.FromPeers([10, 5, 7, double.NaN], [4, 5, 6, 1], [2, 0, 0, 1]);
        Assert.Equal([3, 0, DomainModel.BeyondAgreeingPeers, double.NaN], z);
        Assert.Equal([6, 0, 1, double.NaN], DomainModel.FromPeers([10, 5, 7, double.NaN], [4, 5, 6, 1]));
    }
}
