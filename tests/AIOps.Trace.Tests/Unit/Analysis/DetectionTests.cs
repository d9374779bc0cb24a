using AIOps.Trace.Analysis.Collection;
using AIOps.Trace.Analysis.Detection;
using AIOps.Trace.Analysis.Partitioning;
using AIOps.Trace.Analysis.Processing;

namespace AIOps.Trace.Tests.Unit.Analysis;

public sealed class DetectionTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void A_planted_outlier_among_20_peers_in_6_dimensions_is_found_and_its_metrics_named(int seed)
    {
        var r = new Random(seed);
        List<MetricVector> domain = Synthetic.Domain(r, 20);
        // Run-queue p99 and other-cgroup preemptions 8 standard deviations up: a noisy neighbour.
        domain.Insert(r.Next(21), Synthetic.Shifted(r, "victim", 8, Metrics.RunQueueP99Us, Metrics.PreemptedByOtherPerSecond));
        ProcessedDomain d = DomainProcessor.Process(domain);
        Assert.Equal(6, d.Columns);

        IReadOnlyList<Verdict> verdicts = PeerOutlierDetector.Detect("owner:shop/web", d);
        Verdict victim = verdicts.Single(v => v.IsAbnormal);
        Assert.Equal("victim", victim.Key);
        Assert.Equal("owner:shop/web", victim.Domain);
        Assert.Equal(20, victim.Peers.Count);
        Assert.DoesNotContain("victim", victim.Peers);
        Assert.Equal(["preempted_by_other_per_s", "runq_p99_us"], victim.OffMetrics.Select(m => m.Metric).Order());
        Assert.All(victim.OffMetrics, m => Assert.True(m.Z > 3.5 && m.Value > m.Reference));
        Assert.True(victim.Score > 1);
        Assert.Equal(victim.Score, verdicts.Max(v => v.Score));
        Assert.Contains("diagonal", victim.Reason); // 21 rows for 6 metrics: too few for a robust covariance
    }

    [Fact]
    public void A_correlation_break_no_single_metric_shows_is_caught_by_the_covariance()
    {
        var r = new Random(11);
        var domain = new List<MetricVector>();
        for (int i = 0; i < 40; i++)
        {
            // usage and p99 move together in every healthy replica...
            double load = Synthetic.Gaussian(r);
            MetricVector m = Synthetic.Normal(r, $"c{i}");
            m.Values[Metrics.CpuUsageCores] = 0.5 + 0.1 * load + 0.005 * Synthetic.Gaussian(r);
            m.Values[Metrics.RunQueueP99Us] = 200 + 25 * load + 1.5 * Synthetic.Gaussian(r);
            domain.Add(m);
        }
        // ...but here high run-queue latency comes with low usage: each value alone is ordinary (2 sd).
        MetricVector odd = Synthetic.Normal(r, "odd");
        odd.Values[Metrics.CpuUsageCores] = 0.5 - 0.1 * 2;
        odd.Values[Metrics.RunQueueP99Us] = 200 + 25 * 2;
        domain.Add(odd);
        ProcessedDomain d = DomainProcessor.Process(domain, new ProcessingOptions { RedundantCorrelation = 1.01 });
        (double[] d2, bool mcd) = RobustCovariance.SquaredDistances(d.Z);
        Assert.True(mcd);
        Assert.Equal(d2.Length - 1, Array.IndexOf(d2, d2.Max()));
        Assert.All(d.Z[^1], z => Assert.True(Math.Abs(z) < 3.5)); // no metric alone is off
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void A_domain_of_one_or_two_containers_says_too_few_peers(int n)
    {
        var r = new Random(1);
        List<MetricVector> domain = Synthetic.Domain(r, n);
        domain[0].Values[Metrics.RunQueueP99Us] = 1e6;
        IReadOnlyList<Verdict> verdicts = PeerOutlierDetector.Detect("d", DomainProcessor.Process(domain));
        Assert.Equal(n, verdicts.Count);
        Assert.All(verdicts, v =>
        {
            Assert.Equal(VerdictStatus.TooFewPeers, v.Status);
            Assert.False(v.IsAbnormal);
            Assert.True(double.IsNaN(v.Score));
            Assert.StartsWith("too few peers", v.Reason);
        });
    }

    [Fact]
    public void Missing_metrics_are_handled_not_guessed()
    {
        var r = new Random(7);
        List<MetricVector> domain = Synthetic.Domain(r, 20);
        domain[3].Values[Metrics.ThrottledRatio] = double.NaN;          // one gap: judged on the rest, the gap named
        foreach (int slot in Synthetic.Six.Take(4))
            domain[5].Values[slot] = double.NaN;                        // mostly missing: not judged
        domain.Add(Synthetic.Shifted(r, "victim", 10, Metrics.CpuUsageCores));
        domain[^1].Values[Metrics.PreemptedByHostPerSecond] = double.NaN;
        IReadOnlyList<Verdict> verdicts = PeerOutlierDetector.Detect("d", DomainProcessor.Process(domain));
        Assert.Equal(VerdictStatus.Normal, verdicts[3].Status);
        Assert.Equal(["throttled_ratio"], verdicts[3].MissingMetrics!);
        Assert.Equal(VerdictStatus.InsufficientData, verdicts[5].Status);
        Verdict victim = verdicts[^1];
        Assert.True(victim.IsAbnormal);
        Assert.Equal("cpu_usage_cores", victim.OffMetrics[0].Metric);
        Assert.Equal(["preempted_by_host_per_s"], victim.MissingMetrics!);
        Assert.All(verdicts, v => Assert.False(double.IsNaN(v.Score) && v.Status == VerdictStatus.Normal));
        Assert.Single(verdicts, v => v.IsAbnormal);
    }

    [Fact]
    public void In_four_replicas_a_metric_the_three_peers_agree_on_exactly_is_named_off_for_the_one_that_differs()
    {
        // Three replicas never throttled, one throttled in every period: the mean-absolute-deviation
        // fallback scale bounds its z at 4 / 1.2533 = 3.19, under the 3.5 threshold; it is named anyway.
        var r = new Random(5);
        List<MetricVector> domain = Synthetic.Domain(r, 4);
        for (int i = 0; i < 4; i++)
            domain[i].Values[Metrics.ThrottledRatio] = i == 2 ? 1 : 0;
        ProcessedDomain d = DomainProcessor.Process(domain);
        OffMetric off = Assert.Single(PeerOutlierDetector.OffMetrics(d, 2, 3.5), m => m.Metric == "throttled_ratio");
        Assert.True(off.Z < 3.5, $"z {off.Z}: the rule under test is not the one that named it");
        Assert.Equal((1.0, 0.0), (off.Value, off.Reference));
        for (int i = 0; i < 4; i++)
            if (i != 2)
                Assert.DoesNotContain(PeerOutlierDetector.OffMetrics(d, i, 3.5), m => m.Metric == "throttled_ratio");
    }

    [Fact]
    public void Dbscan_leaves_the_far_point_outside_the_largest_cluster()
    {
        var r = new Random(2);
        double[][] rows = Enumerable.Range(0, 15).Select(_ => new[] { Synthetic.Gaussian(r), Synthetic.Gaussian(r) })
            .Append([12.0, -9.0]).ToArray();
        bool[] inLargest = Dbscan.InLargestCluster(rows, 3);
        Assert.False(inLargest[^1]);
        Assert.True(inLargest.Take(15).Count(x => x) >= 14);
    }

    [Fact]
    public void Dbscan_of_a_node_sized_domain_works_in_linear_distances_and_still_leaves_the_far_points_out()
    {
        static double[][] Rows(int n, Random r) => Enumerable.Range(0, n)
            .Select(i => i % 500 == 7 ? new[] { 40 + Synthetic.Gaussian(r), -30.0, 25.0 } // a far point every 500 rows
                : new[] { Synthetic.Gaussian(r), Synthetic.Gaussian(r), Synthetic.Gaussian(r) })
            .ToArray();

        var counts = new List<long>();
        foreach (int n in new[] { 2_000, 4_000 })
        {
            double[][] rows = Rows(n, new Random(n));
            Dbscan.DistancesComputed = 0;
            bool[] inLargest = Dbscan.InLargestCluster(rows, 5);
            counts.Add(Dbscan.DistancesComputed);
            Assert.All(Enumerable.Range(0, n).Where(i => i % 500 == 7), i => Assert.False(inLargest[i]));
            // The sampled answer agrees with every row against every other on nearly every row.
            bool[] exact = Dbscan.Exact(rows, 5).InLargest;
            int agree = Enumerable.Range(0, n).Count(i => inLargest[i] == exact[i]);
            Assert.True(agree >= 0.97 * n, $"{agree} of {n} rows as the exact clustering has them");
            Assert.True(inLargest.Count(x => x) >= 0.9 * n);
        }
        // Every row against every other would be n² (16 million at 4,000); twice the rows is twice the work.
        Assert.InRange(counts[1], counts[0], 2.2 * counts[0]);
        Assert.True(counts[1] < 4_000L * 4_000 / 8, $"{counts[1]} distances for 4,000 rows");
    }

    [Fact]
    public void The_peers_of_a_large_domain_are_not_copied_per_member()
    {
        long Allocated(int n, out IReadOnlyList<Verdict> verdicts)
        {
            var r = new Random(n);
            ProcessedDomain d = DomainProcessor.Process(Synthetic.Domain(r, n));
            long before = GC.GetAllocatedBytesForCurrentThread();
            verdicts = PeerOutlierDetector.Detect("owner:big", d);
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }

        long small = Allocated(1_500, out _);
        long large = Allocated(3_000, out IReadOnlyList<Verdict> verdicts);
        // A copy of the other members per member: 3,000 x 2,999 references (72 MB) at 3,000.
        Assert.True(large < 3 * small, $"{small} bytes at 1,500 members, {large} at 3,000");
        Verdict v = verdicts[1_234];
        Assert.Equal(2_999, v.Peers.Count);
        Assert.DoesNotContain(v.Key, v.Peers);
        Assert.Equal(verdicts.Select(x => x.Key).Where(k => k != v.Key), v.Peers);
        Assert.Equal(verdicts[1_235].Key, v.Peers[1_234]);
        Assert.Throws<ArgumentOutOfRangeException>(() => v.Peers[2_999]);
    }

    [Fact]
    public void The_analyzer_runs_every_domain_and_shows_the_diagnosis_beside_the_verdict()
    {
        var r = new Random(9);
        var vectors = new List<MetricVector>();
        var attributes = new List<ContainerAttributes>();
        for (int domain = 0; domain < 3; domain++)
            for (int i = 0; i < 10; i++)
            {
                string key = $"/d{domain}/c{i}";
                vectors.Add(domain == 1 && i == 4 ? Synthetic.Shifted(r, key, 12, Metrics.ThrottledRatio) : Synthetic.Normal(r, key));
                attributes.Add(new ContainerAttributes(key, "docker", "img", $"ns/app{domain}", "deployment", new Dictionary<string, string>(),
                    null, double.NaN, double.NaN, double.NaN, double.NaN, null));
            }
        attributes.Add(attributes[0] with { Key = "/lonely", Owner = "ns/lonely" });
        vectors.Add(Synthetic.Normal(r, "/lonely"));
        using var analyzer = new AnomalyAnalyzer();
        IReadOnlyList<Verdict> verdicts = analyzer.Analyze(DomainPartitioner.ByTag(attributes), vectors,
            new Dictionary<string, string> { ["/d1/c4"] = "cap_throttled" });
        Assert.Equal(31, verdicts.Count);
        Verdict hit = Assert.Single(verdicts, v => v.IsAbnormal);
        Assert.Equal("/d1/c4", hit.Key);
        Assert.Equal("owner:ns/app1", hit.Domain);
        Assert.Equal("cap_throttled", hit.Diagnosis);
        Assert.Equal("throttled_ratio", hit.OffMetrics[0].Metric);
        Assert.Equal(VerdictStatus.TooFewPeers, verdicts.Single(v => v.Key == "/lonely").Status);
        // Windows the peers found normal became one-class history, the abnormal one did not.
        Assert.Equal(9, analyzer.ModelFor("owner:ns/app1").Training.Count);
    }

    /// <summary>Feeds <paramref name="rounds"/> windows of a healthy domain of <paramref name="n"/> so its model learns a one-class history.</summary>
    private static void LearnHistory(AnomalyAnalyzer analyzer, Random r, int n, int rounds)
    {
        for (int round = 0; round < rounds; round++)
            analyzer.AnalyzeDomain("owner:web", Synthetic.Domain(r, n));
    }

    [Fact]
    public void Where_peers_can_judge_a_one_class_history_does_not_overrule_them_for_one_container()
    {
        var r = new Random(11);
        using var analyzer = new AnomalyAnalyzer();
        using var peersOnly = new AnomalyAnalyzer(new AnalyzerOptions { RecordNormalHistory = false });
        LearnHistory(analyzer, r, 8, 20);
        int flagged = 0, flaggedByPeers = 0;
        for (int round = 0; round < 50; round++)
        {
            List<MetricVector> window = Synthetic.Domain(r, 8);
            flagged += analyzer.AnalyzeDomain("owner:web", window).Count(v => v.IsAbnormal);
            Assert.Equal(DetectorNames.OneClassSvm, analyzer.Models["owner:web"].Detector);
            flaggedByPeers += peersOnly.AnalyzeDomain("owner:web", window).Count(v => v.IsAbnormal);
        }
        Assert.True(flagged <= flaggedByPeers, $"{flagged} flagged with the history, {flaggedByPeers} by peers alone"); // no false alarm of its own

        List<MetricVector> one = Synthetic.Domain(r, 8);
        one[2] = Synthetic.Shifted(r, "c2", 12, Metrics.RunQueueP99Us);
        Verdict hit = Assert.Single(analyzer.AnalyzeDomain("owner:web", one), v => v.IsAbnormal);
        Assert.Equal(("c2", DetectorNames.OneClassSvm), (hit.Key, hit.Detector)); // the peers' outlier, confirmed by the history
    }

    [Fact]
    public void A_domain_too_small_for_peers_is_judged_by_its_history_once_it_has_one()
    {
        var r = new Random(13);
        using var analyzer = new AnomalyAnalyzer();
        Assert.All(analyzer.AnalyzeDomain("owner:web", Synthetic.Domain(r, 2)), v => Assert.Equal(VerdictStatus.TooFewPeers, v.Status));
        for (int round = 0; round < 60; round++)
            analyzer.Learn("owner:web", new TrainingSample(Synthetic.Normal(r, "h").Values, Abnormal: false, Verified: false));
        List<MetricVector> pair = [Synthetic.Normal(r, "a"), Synthetic.Shifted(r, "b", 15, Metrics.ThrottledRatio)];
        IReadOnlyList<Verdict> verdicts = analyzer.AnalyzeDomain("owner:web", pair);
        Assert.False(verdicts[0].IsAbnormal);
        Assert.True(verdicts[1].IsAbnormal);
        Assert.Equal(DetectorNames.OneClassSvm, verdicts[1].Detector);
    }

    [Fact]
    public void A_container_that_differs_only_by_waiting_less_than_its_peers_is_not_abnormal()
    {
        var r = new Random(14);
        List<MetricVector> domain = Synthetic.Domain(r, 9);
        domain[0] = Synthetic.Shifted(r, "quiet", -20, Metrics.RunQueueP99Us);   // far below: fewer waits
        domain[1] = Synthetic.Shifted(r, "slow", 20, Metrics.RunQueueP99Us);     // far above: a problem
        domain[2] = Synthetic.Shifted(r, "idle", -20, Metrics.CpuUsageCores);     // too little CPU counts both ways
        IReadOnlyList<Verdict> v = PeerOutlierDetector.Detect("d", DomainProcessor.Process(domain));
        Assert.Equal(VerdictStatus.Normal, v[0].Status);
        Assert.Contains("only where lower is better (runq_p99_us", v[0].Reason);
        Assert.True(v[1].IsAbnormal);
        Assert.True(v[2].IsAbnormal);
        Assert.True(Metrics.LowerIsBetter(Metrics.SlotOf("throttled_ratio")));
        Assert.False(Metrics.LowerIsBetter(Metrics.SlotOf("disk_iops_per_s")));
    }
}

