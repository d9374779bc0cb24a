using AIOps.Trace.Analysis.Collection;
using AIOps.Trace.Analysis.Detection;
using AIOps.Trace.Evaluation;

namespace AIOps.Trace.Tests.Unit.Analysis;

/// <summary>The detection evaluation: scores by hand-counted examples, the data set's file, the split by run, and each mode on data whose answer is known.</summary>
public sealed class EvaluationTests
{
    [Fact]
    public void Scores_are_the_counted_ones()
    {
        var m = new ConfusionMatrix(["a", "b"]);
        // truth a: 3 right, 1 taken for b; truth b: 2 right, 2 taken for a; truth c: 1 taken for a.
        foreach ((string t, string p, int n) in new[] { ("a", "a", 3), ("a", "b", 1), ("b", "b", 2), ("b", "a", 2), ("c", "a", 1) })
            for (int i = 0; i < n; i++)
                m.Add(t, p);

        ClassScore a = m.Score("a");
        Assert.Equal(3.0 / 6, a.Precision, 12);
        Assert.Equal(3.0 / 4, a.Recall, 12);
        Assert.Equal(2 * 0.5 * 0.75 / 1.25, a.F1, 12);
        Assert.Equal((4, 6), (a.Support, a.Predicted));
        ClassScore c = m.Score("c");
        Assert.Equal((0.0, 0.0, 0.0), (c.Precision, c.Recall, c.F1)); // never predicted, never found
        Assert.Equal(new[] { "a", "b", "c" }, m.Classes);
        Assert.Equal(9, m.Total);
        Assert.Equal(5.0 / 9, m.Accuracy, 12);
        double fb = 2 * (2.0 / 3) * 0.5 / (2.0 / 3 + 0.5);
        Assert.Equal((a.F1 + fb + 0) / 3, m.MacroF1(), 12);
        Assert.Equal((a.F1 + fb) / 2, m.MacroF1(["a", "b"]), 12);
    }

    [Fact]
    public void Data_set_file_round_trips_and_names_a_bad_line()
    {
        double[] values = Enumerable.Range(0, Metrics.Count).Select(i => i * 0.1).ToArray();
        values[Metrics.OomKills] = double.NaN;
        var row = new LabelledWindow("r1", "web", "b0e1", FaultKinds.IoThrottle, "mild", EpisodePhases.Fault, 2, "replica3", FaultKinds.None, values, new RecordedSettings(double.NaN, 1024, 2, 512 << 20));

        LabelledWindow back = Assert.Single(LabelledWindowsTsv.Parse([LabelledWindowsTsv.Header, LabelledWindowsTsv.Format(row)]));
        Assert.Equal((row.Run, row.Episode, row.Window, row.Key, row.Label), (back.Run, back.Episode, back.Window, back.Key, back.Label));
        Assert.Equal(values, back.Values);

        string bad = LabelledWindowsTsv.Format(row).Replace("\t0.2\t", "\tlots\t");
        var e = Assert.Throws<FormatException>(() => LabelledWindowsTsv.Parse([LabelledWindowsTsv.Header, bad]));
        Assert.Contains("line 2", e.Message);
        Assert.Contains(Metrics.Names[2], e.Message);
        Assert.Throws<FormatException>(() => LabelledWindowsTsv.Parse(["r1\tx\t0\tk\tnone"]));
    }

    [Fact]
    public void Each_run_is_held_out_once_and_never_trained_on_then()
    {
        var rows = DataSet(new Random(1), runs: 3);
        IReadOnlyList<RunFold> folds = DetectionEvaluation.FoldsByRun(rows);

        Assert.Equal(new[] { "r0", "r1", "r2" }, folds.Select(f => f.HeldOut));
        foreach (RunFold f in folds)
        {
            Assert.All(f.Test, r => Assert.Equal(f.HeldOut, r.Run));
            Assert.DoesNotContain(f.Training, r => r.Run == f.HeldOut);
            Assert.Equal(rows.Count, f.Training.Count + f.Test.Count);
        }
        Assert.Throws<ArgumentException>(() => DetectionEvaluation.FoldsByRun(rows.Where(r => r.Run == "r0").ToArray()));
    }

    [Fact]
    public void Planted_faults_are_found_with_and_without_labels()
    {
        var rows = DataSet(new Random(7), runs: 4);
        IReadOnlyList<RunFold> folds = DetectionEvaluation.FoldsByRun(rows);

        MethodResult unlabelled = DetectionEvaluation.Unlabelled(folds);
        Assert.True(Scores.BinaryF1(unlabelled.Predictions) >= 0.9, $"without labels F1 {Scores.BinaryF1(unlabelled.Predictions)}");
        MethodResult binary = DetectionEvaluation.Labelled(folds, kinds: false);
        // 8 abnormal of 60 windows per run: 13%, above the 5% minority share, so no class weights.
        Assert.Contains(DetectorNames.Csvc, binary.Detectors.Keys);
        Assert.True(Scores.BinaryF1(binary.Predictions) >= 0.95, $"with labels F1 {Scores.BinaryF1(binary.Predictions)}");
        MethodResult kinds = DetectionEvaluation.Labelled(folds, kinds: true);
        Assert.Contains(DetectorNames.MulticlassCsvc, kinds.Detectors.Keys);
        Assert.Equal(rows.Count, kinds.Predictions.Count);
        Assert.True(Scores.MacroF1(kinds.Predictions) >= 0.9, $"macro-F1 {Scores.MacroF1(kinds.Predictions)}");
    }

    [Fact]
    public void A_kind_never_labelled_is_still_found_through_the_peers()
    {
        var rows = DataSet(new Random(11), runs: 4);
        IReadOnlyList<RunFold> folds = DetectionEvaluation.FoldsByRun(rows);
        OpenSetResult open = Assert.Single(Experiments.OpenSet(folds, new AnalyzerOptions(), [FaultKinds.NoisyNeighbour]));
        Assert.True(open.Recall >= 0.9, $"unseen noisy_neighbour recall {open.Recall} (model alone {open.ModelAloneRecall})");
    }

    [Fact]
    public void Baselines_learn_the_planted_thresholds()
    {
        var rows = DataSet(new Random(5), runs: 3);
        IReadOnlyList<RunFold> folds = DetectionEvaluation.FoldsByRun(rows);
        foreach (Func<IBaseline> make in new Func<IBaseline>[] { () => new ThresholdRules(), () => new ShallowTree(binary: true), () => new ShallowTree(binary: false) })
        {
            MethodResult r = DetectionEvaluation.Baseline(folds, make, namesKinds: true);
            Assert.True(Scores.BinaryF1(r.Predictions) >= 0.95, $"{r.Method}: {Scores.BinaryF1(r.Predictions)}");
        }
        // Two points apart by a gap: the cut falls midway, "above" is positive.
        (double cut, double f1) = ThresholdRules.BestCut([(1, false), (2, false), (10, true), (12, true)], above: true);
        Assert.Equal((6.0, 1.0), (cut, f1));
    }

    [Fact]
    public void Bootstrap_interval_holds_the_figure_and_resamples_episodes()
    {
        var rows = DataSet(new Random(9), runs: 3);
        MethodResult r = DetectionEvaluation.Baseline(DetectionEvaluation.FoldsByRun(rows), () => new PlainDbscan(), namesKinds: false);
        Interval i = Scores.Bootstrap(r.Predictions, macro: false);
        Assert.Equal(Scores.BinaryF1(r.Predictions), i.Value, 12);
        Assert.InRange(i.Value, i.Low, i.High);
        // Every prediction right: every resample scores 1.
        var perfect = rows.Select(x => new Prediction(x, new Call(x.IsAbnormal, x.IsAbnormal ? x.Label : null, "truth"))).ToList();
        Assert.Equal(new Interval(1, 1, 1), Scores.Bootstrap(perfect, macro: true));
    }

    [Fact]
    public void Adjusted_rand_index_is_one_for_the_same_partition_and_near_zero_for_chance()
    {
        Assert.Equal(1, DomainsEvaluation.AdjustedRandIndex(["a", "a", "b", "b"], ["x", "x", "y", "y"]), 12);
        // Hubert and Arabie's worked value: truth {1,1,1,2,2,2}, found {1,1,2,2,3,3} gives 0.24242...
        Assert.Equal(8.0 / 33, DomainsEvaluation.AdjustedRandIndex(["1", "1", "1", "2", "2", "2"], ["1", "1", "2", "2", "3", "3"]), 9);
    }

    /// <summary>
    /// Episodes of five replicas, one given a fault that moves its own metrics far (cpu_cap: the
    /// throttled ratio; noisy_neighbour: preemptions by others and run-queue waits), or none.
    /// </summary>
    private static List<LabelledWindow> DataSet(Random r, int runs)
    {
        var rows = new List<LabelledWindow>();
        string[] faults = [FaultKinds.None, FaultKinds.CpuCap, FaultKinds.NoisyNeighbour];
        for (int run = 0; run < runs; run++)
            foreach (string fault in faults)
                for (int w = 0; w < 4; w++)
                    for (int i = 0; i < 5; i++)
                    {
                        bool hit = fault != FaultKinds.None && i == (run + w) % 5;
                        MetricVector v = !hit ? Synthetic.Normal(r, $"replica{i}")
                            : fault == FaultKinds.CpuCap ? Synthetic.Shifted(r, $"replica{i}", 40, Metrics.ThrottledRatio)
                            : Synthetic.Shifted(r, $"replica{i}", 40, Metrics.PreemptedByOtherPerSecond, Metrics.RunQueueP99Us);
                        rows.Add(new LabelledWindow($"r{run}", "replicas", fault, fault, "severe", EpisodePhases.Fault, w, v.Key, hit ? fault : FaultKinds.None, v.Values, new RecordedSettings(double.NaN, 1024, 2, double.NaN)));
                    }
        return rows;
    }
}
