using AIOps.Trace.Tests.Shared;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using AIOps.Trace.Analysis.Collection;
using AIOps.Trace.Analysis.Detection;
using AIOps.Trace.Analysis.Detection.Svm;
using AIOps.Trace.Analysis.Partitioning;

namespace AIOps.Trace.Tests.Unit.Analysis;

/// <summary>The libsvm binding: struct layouts against the header, and each detector on data whose answer is known.</summary>
public sealed class SvmTests
{
    [Fact]
    public void Libsvm_is_installed_here()
    {
        // build.sh installs libsvm-dev (and with it libsvm3); without it every SVM detector falls back to peers.
        Assert.True(SvmModel.IsAvailable, "libsvm.so.3 cannot be loaded: apt-get install libsvm-dev");
    }

    [Fact]
    public void Csharp_mirrors_match_libsvm_svm_h()
    {
        var c = new StringBuilder("#include <stddef.h>\n#include <libsvm/svm.h>\n");
        CLayout.Check<LibSvm.SvmNode>(c, "svm_node", ("Index", "index"), ("Value", "value"));
        CLayout.Check<LibSvm.SvmProblem>(c, "svm_problem", ("L", "l"), ("Y", "y"), ("X", "x"));
        CLayout.Check<LibSvm.SvmParameter>(c, "svm_parameter", ("SvmType", "svm_type"), ("KernelType", "kernel_type"), ("Degree", "degree"),
            ("Gamma", "gamma"), ("Coef0", "coef0"), ("CacheSize", "cache_size"), ("Eps", "eps"), ("C", "C"), ("NrWeight", "nr_weight"),
            ("WeightLabel", "weight_label"), ("Weight", "weight"), ("Nu", "nu"), ("P", "p"), ("Shrinking", "shrinking"), ("Probability", "probability"));
        c.AppendLine($"_Static_assert(C_SVC == {LibSvm.CSvc} && NU_SVC == {LibSvm.NuSvc} && ONE_CLASS == {LibSvm.OneClass}, \"svm_type\");");
        c.AppendLine($"_Static_assert(LINEAR == {LibSvm.KernelLinear} && RBF == {LibSvm.KernelRbf}, \"kernel_type\");");
        c.AppendLine($"_Static_assert(LIBSVM_VERSION / 100 == 3, \"libsvm 3.x: soname {LibSvm.Library}\");");
        CLayout.AssertCompiles(c, "libsvm/svm.h");
    }


    private static double[] Point(Random r, double cx, double cy, double sd = 0.3) =>
        [cx + sd * Synthetic.Gaussian(r), cy + sd * Synthetic.Gaussian(r)];

    [Fact]
    public void A_csvc_separates_a_separable_set()
    {
        var r = new Random(1);
        var rows = new List<double[]>();
        var labels = new List<int>();
        for (int i = 0; i < 40; i++) { rows.Add(Point(r, -2, 0)); labels.Add(0); rows.Add(Point(r, 2, 0)); labels.Add(1); }
        using SvmModel model = SvmModel.TrainClassifier(rows, labels);
        Assert.Equal(2, model.Labels.Count);
        Assert.All(rows.Zip(labels), p => Assert.Equal(p.Second, model.Predict(p.First)));
        Assert.Equal(0, model.Predict([-2.5, 0.3]));
        Assert.Equal(1, model.Predict([2.5, -0.3]));
        Assert.Throws<ArgumentException>(() => model.Predict([1.0]));
    }

    [Fact]
    public void The_class_weighted_csvc_finds_the_rare_class_the_unweighted_one_misses()
    {
        var r = new Random(4);
        var rows = new List<double[]>();
        var labels = new List<int>();
        // 1% abnormal, at the edge of the normal cloud.
        for (int i = 0; i < 495; i++) { rows.Add(Point(r, 0, 0, 1)); labels.Add(0); }
        for (int i = 0; i < 5; i++) { rows.Add(Point(r, 2.0, 2.0, 0.4)); labels.Add(1); }
        var test = Enumerable.Range(0, 200).Select(_ => Point(r, 2.0, 2.0, 0.4)).ToList();
        var opts = new SvmOptions { C = 1, Gamma = 0.5 };
        using SvmModel plain = SvmModel.TrainClassifier(rows, labels, opts);
        using SvmModel weighted = SvmModel.TrainClassifier(rows, labels, opts with { ClassWeights = new Dictionary<int, double> { [0] = 1, [1] = 99 } });
        double plainRecall = test.Count(x => plain.Predict(x) == 1) / (double)test.Count;
        double weightedRecall = test.Count(x => weighted.Predict(x) == 1) / (double)test.Count;
        Assert.True(weightedRecall >= 0.85, $"weighted recall {weightedRecall}");
        Assert.True(weightedRecall > plainRecall + 0.2, $"weighted {weightedRecall} vs plain {plainRecall}");
        // It still calls most normal points normal.
        var normals = Enumerable.Range(0, 200).Select(_ => Point(r, 0, 0, 1)).ToList();
        Assert.True(normals.Count(x => weighted.Predict(x) == 0) >= 170);
    }

    [Fact]
    public void A_multiclass_csvc_tells_three_kinds_apart()
    {
        var r = new Random(5);
        (double X, double Y)[] centres = [(0, 0), (4, 0), (0, 4)];
        var rows = new List<double[]>();
        var labels = new List<int>();
        for (int k = 0; k < 3; k++)
            for (int i = 0; i < 30; i++) { rows.Add(Point(r, centres[k].X, centres[k].Y, 0.5)); labels.Add(k * 10); }
        using SvmModel model = SvmModel.TrainClassifier(rows, labels);
        Assert.Equal([0, 10, 20], model.Labels.Order());
        for (int k = 0; k < 3; k++)
        {
            int right = Enumerable.Range(0, 50).Count(_ => model.Predict(Point(r, centres[k].X, centres[k].Y, 0.5)) == k * 10);
            Assert.True(right >= 48, $"kind {k}: {right}/50");
        }
    }

    [Fact]
    public void A_one_class_svm_accepts_its_history_and_rejects_what_lies_far_from_it()
    {
        var r = new Random(6);
        var history = Enumerable.Range(0, 200).Select(_ => Point(r, 0, 0, 1)).ToList();
        using SvmModel model = SvmModel.TrainOneClass(history, new SvmOptions { Nu = 0.05, Gamma = 0.5 });
        Assert.True(model.IsOneClass);
        int accepted = Enumerable.Range(0, 200).Count(_ => model.Predict(Point(r, 0, 0, 1)) > 0);
        Assert.True(accepted >= 170, $"{accepted}/200 normal accepted");
        Assert.Equal(-1, model.PredictWithValues([6.0, 6.0], out double decision));
        Assert.True(decision < 0);
    }

    [Fact]
    public void Rows_with_NaN_are_refused_for_training()
    {
        Assert.Throws<ArgumentException>(() => SvmModel.TrainOneClass([[1.0, double.NaN], [0.0, 1.0]]));
    }

    [Fact]
    public void The_bounded_training_set_keeps_the_newest_and_counts_what_it_dropped()
    {
        var set = new BoundedTrainingSet(3);
        for (int i = 0; i < 5; i++)
            set.Add(new TrainingSample([i], Abnormal: i % 2 == 1));
        Assert.Equal(3, set.Count);
        Assert.Equal(2, set.Evicted);
        Assert.Equal(5, set.Version);
        Assert.Equal([2.0, 3.0, 4.0], set.Samples.Select(s => s.Values[0]));
    }

    /// <summary>A domain learns: peers only, then one-class history, then the weighted C-SVC, then multiclass, retraining as verdicts arrive.</summary>
    [Fact]
    public void A_domain_model_moves_to_the_detector_its_data_supports()
    {
        var r = new Random(8);
        var o = new LearningOptions { MinNormalHistory = 30, MinAbnormal = 3, MinPerKind = 4, Capacity = 60, RetrainEvery = 20 };
        using var model = new DomainModel("owner:shop/web", o);
        Assert.Null(model.Judge("x", Synthetic.Normal(r, "x").Values, []));
        Assert.Equal(DetectorNames.PeerOutlier, model.Detector);

        for (int i = 0; i < 30; i++)
            model.Add(new TrainingSample(Synthetic.Normal(r, "h").Values, Abnormal: false, Verified: false));
        Verdict normal = model.Judge("x", Synthetic.Normal(r, "x").Values, ["p"])!;
        Assert.Equal(DetectorNames.OneClassSvm, normal.Detector);
        Verdict far = model.Judge("y", Synthetic.Shifted(r, "y", 15, Metrics.CpuUsageCores).Values, ["p"])!;
        Assert.True(far.IsAbnormal);
        Assert.Equal("cpu_usage_cores", far.OffMetrics[0].Metric);

        for (int i = 0; i < 3; i++)
            model.Add(new TrainingSample(Synthetic.Shifted(r, "a", 8, Metrics.ThrottledRatio).Values, Abnormal: true, Kind: "cap"));
        Verdict capped = model.Judge("z", Synthetic.Shifted(r, "z", 8, Metrics.ThrottledRatio).Values, ["p"])!;
        // 3 anomalies among 33 samples: 9%, not under the 5% minority share, so no class weights.
        Assert.Equal(DetectorNames.Csvc, capped.Detector);
        Assert.True(capped.IsAbnormal);
        Assert.False(model.Judge("w", Synthetic.Normal(r, "w").Values, ["p"])!.IsAbnormal);

        for (int i = 0; i < 4; i++)
        {
            model.Add(new TrainingSample(Synthetic.Shifted(r, "a", 8, Metrics.ThrottledRatio).Values, Abnormal: true, Kind: "cap"));
            model.Add(new TrainingSample(Synthetic.Shifted(r, "b", 8, Metrics.PreemptedByOtherPerSecond, Metrics.RunQueueP99Us).Values, Abnormal: true, Kind: "noisy"));
        }
        Verdict noisy = model.Judge("n", Synthetic.Shifted(r, "n", 8, Metrics.PreemptedByOtherPerSecond, Metrics.RunQueueP99Us).Values, ["p"])!;
        Assert.Equal(DetectorNames.MulticlassCsvc, noisy.Detector);
        Assert.Equal("noisy", noisy.Kind);
        Assert.Equal("cap", model.Judge("c", Synthetic.Shifted(r, "c", 8, Metrics.ThrottledRatio).Values, ["p"])!.Kind);
        Assert.Null(model.Judge("o", Synthetic.Normal(r, "o").Values, ["p"])!.Kind);

        // Bounded: 30 + 3 + 8 = 41 samples fit in 60; 30 more normal windows push the oldest out. History retrains
        // after 20 unverified samples, a verified one at once.
        int before = model.Trainings;
        for (int i = 0; i < 19; i++)
            model.Add(new TrainingSample(Synthetic.Normal(r, "h").Values, Abnormal: false, Verified: false));
        model.EnsureTrained();
        Assert.Equal(before, model.Trainings);
        model.Add(new TrainingSample(Synthetic.Normal(r, "h").Values, Abnormal: false, Verified: false));
        model.EnsureTrained();
        Assert.Equal(before + 1, model.Trainings);
        for (int i = 0; i < 10; i++)
            model.Add(new TrainingSample(Synthetic.Normal(r, "h").Values, Abnormal: false, Verified: false));
        model.EnsureTrained();
        Assert.Equal(before + 1, model.Trainings);
        model.Add(new TrainingSample(Synthetic.Normal(r, "h").Values, Abnormal: false, Verified: true));
        model.EnsureTrained();
        Assert.Equal(before + 2, model.Trainings);
        Assert.Equal(60, model.Training.Count);
        Assert.Equal(12, model.Training.Evicted);
    }

    /// <summary>
    /// A fault far beyond the labelled ones (run-queue waits ten times the longest the operator
    /// labelled) is still on the abnormal side: the SVM's input grows with the logarithm
    /// of the z-score, so the row is not equally far from everything, normal rows included.
    /// </summary>
    [Fact]
    public void A_fault_far_beyond_the_labelled_ones_is_still_abnormal()
    {
        var r = new Random(11);
        using var model = new DomainModel("owner:shop/web", new LearningOptions { MinAbnormal = 3 });
        for (int i = 0; i < 200; i++)
            model.Add(new TrainingSample(Synthetic.Normal(r, "h").Values, Abnormal: false));
        for (int i = 0; i < 10; i++)
            model.Add(new TrainingSample(Synthetic.Shifted(r, "a", 20 + 2 * i, Metrics.RunQueueP99Us).Values, Abnormal: true));

        Assert.True(model.Judge("near", Synthetic.Shifted(r, "near", 30, Metrics.RunQueueP99Us).Values, ["p"])!.IsAbnormal);
        Verdict far = model.Judge("far", Synthetic.Shifted(r, "far", 300, Metrics.RunQueueP99Us).Values, ["p"])!;
        // 10 anomalies among 210 samples: 4.8%, under the minority share: the class-weighted C-SVC.
        Assert.Equal(DetectorNames.WeightedCsvc, far.Detector);
        Assert.True(far.IsAbnormal, far.Reason);
        Assert.False(model.Judge("n", Synthetic.Normal(r, "n").Values, ["p"])!.IsAbnormal);
    }

    /// <summary>
    /// With kinds, a rare kind whose signal barely leaves the normal spread does not claim the
    /// normal windows near it: whether a window is abnormal is decided against normal on all the
    /// labels, and only then is its kind named, so the rare kinds' inverse-frequency weights do
    /// not pull the boundary into the normal class. The kinds are still named.
    /// </summary>
    [Fact]
    public void With_kinds_a_rare_weak_kind_does_not_claim_normal_windows()
    {
        var r = new Random(21);
        using var model = new DomainModel("web", new LearningOptions { MinAbnormal = 3, MinPerKind = 4 });
        for (int i = 0; i < 200; i++)
            model.Add(new TrainingSample(Synthetic.Normal(r, "h").Values, Abnormal: false));
        for (int i = 0; i < 8; i++)
        {
            model.Add(new TrainingSample(Synthetic.Shifted(r, "a", 10, Metrics.ThrottledRatio).Values, Abnormal: true, Kind: "cap"));
            model.Add(new TrainingSample(Synthetic.Shifted(r, "b", 1.5, Metrics.CpuUsageCores).Values, Abnormal: true, Kind: "faint"));
        }

        int called = Enumerable.Range(0, 200).Count(i => model.Judge($"n{i}", Synthetic.Normal(r, $"n{i}").Values, ["p"])!.IsAbnormal);
        Assert.Equal(DetectorNames.MulticlassCsvc, model.Detector);
        // 16 anomalies among 216 labels (7%): abnormal against normal unweighted; each kind alone is
        // 3.7% of the labels, under the minority share, which weighted it 25 times in one multiclass model.
        Assert.True(called <= 10, $"{called} of 200 normal windows called abnormal");
        Assert.Equal("cap", model.Judge("c", Synthetic.Shifted(r, "c", 10, Metrics.ThrottledRatio).Values, ["p"])!.Kind);
    }

    /// <summary>
    /// The calibrated decision offset moves the binary C-SVC's boundary and nothing else: the same
    /// training set gives the same decision values, each verdict's score is the value less the
    /// offset, and a row is abnormal exactly when its score passes 0, so a positive offset calls
    /// fewer rows abnormal and a negative one more.
    /// </summary>
    [Fact]
    public void A_decision_offset_moves_the_binary_boundary_by_its_value()
    {
        var train = new Random(5);
        var samples = new List<TrainingSample>();
        for (int i = 0; i < 60; i++)
            samples.Add(new TrainingSample(Synthetic.Normal(train, "h").Values, Abnormal: false));
        for (int i = 0; i < 12; i++)
            samples.Add(new TrainingSample(Synthetic.Shifted(train, "a", 8 + i, Metrics.RunQueueP99Us).Values, Abnormal: true));
        var test = new Random(6);
        double[][] rows = Enumerable.Range(0, 40)
            .Select(i => (i % 2 == 0 ? Synthetic.Normal(test, "n") : Synthetic.Shifted(test, "s", 1 + i / 4.0, Metrics.RunQueueP99Us)).Values).ToArray();

        Verdict[] Judge(double offset)
        {
            using var model = new DomainModel("web", new LearningOptions { MinAbnormal = 3, DecisionOffset = offset });
            foreach (TrainingSample t in samples)
                model.Add(t);
            return rows.Select((v, i) => model.Judge($"r{i}", v, ["p"])!).ToArray();
        }
        Verdict[] plain = Judge(0), strict = Judge(0.5), lenient = Judge(-0.5);

        Assert.Equal(DetectorNames.Csvc, plain[0].Detector);
        for (int i = 0; i < rows.Length; i++)
        {
            Assert.Equal(plain[i].Score - 0.5, strict[i].Score, 9);
            Assert.Equal(plain[i].Score + 0.5, lenient[i].Score, 9);
            Assert.Equal(strict[i].Score > 0, strict[i].IsAbnormal);
            Assert.Equal(lenient[i].Score > 0, lenient[i].IsAbnormal);
        }
        int Abnormal(Verdict[] v) => v.Count(x => x.IsAbnormal);
        // The rows were drawn so that some lie within half a unit of the boundary on either side.
        Assert.True(Abnormal(strict) < Abnormal(plain) && Abnormal(plain) < Abnormal(lenient),
            $"abnormal calls: offset 0.5 {Abnormal(strict)}, 0 {Abnormal(plain)}, -0.5 {Abnormal(lenient)}");
    }

    [Fact]
    public void The_svm_input_keeps_order_and_sign_and_compresses_ratios()
    {
        double[] x = DomainModel.SvmInput([0, 0.5, -0.5, 10, 1000, -1000]);
        Assert.Equal(0, x[0]);
        Assert.Equal(Math.Log(1.5), x[1], 12);
        Assert.Equal(-x[1], x[2], 12);
        Assert.True(x[3] < x[4]);
        Assert.Equal(-x[4], x[5], 12);
        Assert.InRange(x[4], 6.9, 6.92); // ln(1001)
    }

    /// <summary>
    /// With the peers' medians beside each labelled sample, the model learns what sets a container
    /// apart from its window's peers: a load the whole domain shares (every member's run-queue
    /// waits up together) is normal, the same waits in one container alone are its fault. Without
    /// them the two look the same and the shared load is taken for the fault.
    /// </summary>
    [Fact]
    public void The_kind_model_sees_a_mild_and_a_severe_fault_of_one_signature_point_the_same_way()
    {
        double[] mild = DomainModel.KindInput([0.5, -1, 0]), severe = DomainModel.KindInput([2, -4, 0]), other = DomainModel.KindInput([-2, -4, 0]);
        Assert.Equal(4, mild.Length);
        for (int i = 0; i < 3; i++)
            Assert.Equal(mild[i], severe[i], 12);
        Assert.True(severe[3] > mild[3]); // the length still tells them apart
        Assert.NotEqual(Math.Sign(mild[0]), Math.Sign(other[0]));
        Assert.Equal([0, 0, 0, 0], DomainModel.KindInput([0, 0, 0]));
    }

    [Fact]
    public void Peer_medians_tell_a_load_the_domain_shares_from_a_fault_of_one()
    {
        var r = new Random(21);
        using var withPeers = new DomainModel("web", new LearningOptions { MinAbnormal = 3 });
        using var without = new DomainModel("web", new LearningOptions { MinAbnormal = 3 });
        for (int w = 0; w < 60; w++)
        {
            bool shared = w % 3 == 0; // a third of the windows: the whole domain waits
            List<MetricVector> members = Enumerable.Range(0, 5)
                .Select(i => shared ? Synthetic.Shifted(r, $"c{i}", 30, Metrics.RunQueueP99Us) : Synthetic.Normal(r, $"c{i}")).ToList();
            bool faulted = !shared && w % 3 == 1;
            if (faulted)
                members[w % 5] = Synthetic.Shifted(r, "f", 30, Metrics.RunQueueP99Us);
            double[] medians = Medians(members);
            for (int i = 0; i < members.Count; i++)
            {
                bool abnormal = faulted && i == w % 5;
                withPeers.Add(new TrainingSample(members[i].Values, abnormal, PeerMedians: medians));
                without.Add(new TrainingSample(members[i].Values, abnormal));
            }
        }

        List<MetricVector> busy = Enumerable.Range(0, 5).Select(i => Synthetic.Shifted(r, $"c{i}", 30, Metrics.RunQueueP99Us)).ToList();
        List<MetricVector> one = Synthetic.Domain(r, 5);
        one[3] = Synthetic.Shifted(r, "c3", 30, Metrics.RunQueueP99Us);
        Assert.False(withPeers.Judge("c1", busy[1].Values, ["p"], peerMedians: Medians(busy))!.IsAbnormal);
        Assert.True(withPeers.Judge("c3", one[3].Values, ["p"], peerMedians: Medians(one))!.IsAbnormal);
        Assert.Equal(without.Judge("c1", busy[1].Values, ["p"])!.IsAbnormal, without.Judge("c3", one[3].Values, ["p"])!.IsAbnormal);
    }

    private static double[] Medians(List<MetricVector> members) =>
        AIOps.Trace.Analysis.Processing.RobustScaler.Fit(members.Select(m => m.Values).ToArray(), Metrics.Count).Medians;

    [Fact]
    public void A_domain_on_peers_learns_as_soon_as_its_history_is_enough_not_a_retrain_period_later()
    {
        var r = new Random(9);
        var o = new LearningOptions { MinNormalHistory = 50, RetrainEvery = 100 };
        using var model = new DomainModel("owner:web", o);
        for (int i = 0; i < 9; i++)
            model.Add(new TrainingSample(Synthetic.Normal(r, "h").Values, Abnormal: false, Verified: false));
        Assert.Null(model.Judge("x", Synthetic.Normal(r, "x").Values, ["p"]));
        for (int i = 9; i < 49; i++)
            model.Add(new TrainingSample(Synthetic.Normal(r, "h").Values, Abnormal: false, Verified: false));
        Assert.Null(model.Judge("x", Synthetic.Normal(r, "x").Values, ["p"]));
        Assert.Equal(0, model.Trainings);
        model.Add(new TrainingSample(Synthetic.Normal(r, "h").Values, Abnormal: false, Verified: false));
        Assert.Equal(DetectorNames.OneClassSvm, model.Judge("x", Synthetic.Normal(r, "x").Values, ["p"])!.Detector);
        Assert.Equal(1, model.Trainings);
    }

    [Fact]
    public void A_one_class_verdict_needs_a_metric_off_the_history_to_be_abnormal()
    {
        // History where run-queue p50 and p99 move together; a window that breaks the correlation
        // lies outside the one-class boundary while each metric stays inside the history's spread.
        var r = new Random(10);
        using var model = new DomainModel("owner:web", new LearningOptions { MinNormalHistory = 50 });
        for (int i = 0; i < 200; i++)
        {
            MetricVector h = Synthetic.Normal(r, "h");
            double g = Synthetic.Gaussian(r);
            h.Values[Metrics.RunQueueP50Us] = 20 + 3 * g;
            h.Values[Metrics.RunQueueP99Us] = 200 + 25 * g + 0.5 * Synthetic.Gaussian(r);
            model.Add(new TrainingSample(h.Values, Abnormal: false, Verified: false));
        }
        MetricVector broken = Synthetic.Normal(r, "x");
        broken.Values[Metrics.RunQueueP50Us] = 20 + 3 * 2.5;
        broken.Values[Metrics.RunQueueP99Us] = 200 - 25 * 2.5;
        Verdict v = model.Judge("x", broken.Values, ["p"])!;
        Assert.Equal(DetectorNames.OneClassSvm, v.Detector);
        Assert.False(v.IsAbnormal);
        Assert.Contains("outside its boundary", v.Reason);

        MetricVector far = Synthetic.Normal(r, "y");
        far.Values[Metrics.RunQueueP99Us] = 200 + 25 * 12;
        Verdict off = model.Judge("y", far.Values, ["p"])!;
        Assert.True(off.IsAbnormal);
        Assert.Equal("runq_p99_us", off.OffMetrics[0].Metric);
    }
}
