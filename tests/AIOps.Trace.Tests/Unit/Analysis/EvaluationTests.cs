using AIOps.Trace.Analysis.Collection;
using AIOps.Trace.Analysis.Evaluation;

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
        var row = new LabelledWindow("r1", FaultKinds.IoThrottle, 2, "replica3", FaultKinds.None, values);

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
        IReadOnlyList<ModeResult> results = DetectionEvaluation.Evaluate(rows);

        ModeResult unlabelled = results.Single(r => r.Mode == DetectionEvaluation.WithoutLabels);
        Assert.Null(unlabelled.Multiclass);
        Assert.True(unlabelled.BinaryF1 >= 0.9, $"without labels F1 {unlabelled.BinaryF1}");
        ModeResult binary = results.Single(r => r.Mode == DetectionEvaluation.WithLabelsBinary);
        Assert.Contains("weighted_csvc", binary.Detectors.Keys);
        ModeResult multiclass = results.Single(r => r.Mode == DetectionEvaluation.WithLabelsMulticlass);
        Assert.Contains("multiclass_csvc", multiclass.Detectors.Keys);
        Assert.Equal(rows.Count, multiclass.Multiclass!.Total);

        string report = EvaluationReport.Markdown(rows, results, new DetectionTargets(), "./build.sh --target=Detection");
        Assert.True(new DetectionTargets().Misses(results).Count == 0, report);
        Assert.Contains("Targets met", report);
        Assert.Contains("| cpu_cap |", report);
        Assert.Contains("n/a: kinds need labels", report);
    }

    [Fact]
    public void A_miss_is_named()
    {
        var rows = DataSet(new Random(3), runs: 2);
        IReadOnlyList<ModeResult> results = DetectionEvaluation.Evaluate(rows);
        IReadOnlyList<string> misses = new DetectionTargets(BinaryF1: 1.01, MacroF1: 1.01).Misses(results);
        Assert.Equal(2, misses.Count);
        Assert.Contains("binary F1", misses[0]);
        Assert.Contains("macro-F1", misses[1]);
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
                        rows.Add(new LabelledWindow($"r{run}", fault, w, v.Key, hit ? fault : FaultKinds.None, v.Values));
                    }
        return rows;
    }
}
