using AIOps.Trace.Analysis.Collection;
using AIOps.Trace.Analysis.Detection;
using AIOps.Trace.Analysis.Processing;

namespace AIOps.Trace.Analysis.Evaluation;

/// <summary>Binary classes of the evaluation.</summary>
public static class BinaryClasses
{
    public const string Abnormal = "abnormal";
    public const string Normal = "normal";

    public static string Of(bool abnormal) => abnormal ? Abnormal : Normal;
}

/// <summary>One held-out split: the runs trained on and the run tested on.</summary>
public sealed record RunFold(string HeldOut, IReadOnlyList<LabelledWindow> Training, IReadOnlyList<LabelledWindow> Test);

/// <summary>What one mode of the evaluation measured over every held-out run.</summary>
/// <param name="Mode">"without labels", "with labels, binary" or "with labels, multiclass".</param>
/// <param name="Binary">Abnormal/normal against the truth.</param>
/// <param name="Multiclass">The named kind against the true label; null where the mode names no kind.</param>
/// <param name="Detectors">How many verdicts each detector gave.</param>
public sealed record ModeResult(string Mode, ConfusionMatrix Binary, ConfusionMatrix? Multiclass, IReadOnlyDictionary<string, int> Detectors)
{
    public double BinaryF1 => Binary.Score(BinaryClasses.Abnormal).F1;

    /// <summary>Macro-F1 over every true class, "none" included.</summary>
    public double MacroF1 => Multiclass?.MacroF1() ?? double.NaN;
}

/// <summary>
/// Measures the detectors on a labelled data set with a held-out split by run: each run is tested
/// once by detectors that learned only from the other runs (leave one run out), so nothing is
/// judged by a model that saw its own episode. Three modes: without operator labels (the
/// <see cref="AnomalyAnalyzer"/> as deployed: peer outliers, and the one-class SVM once the
/// training runs' windows it judged normal make a history; binary only, since kinds need
/// labels), and with the training runs' labels fed as verified operator verdicts, binary (the
/// class-weighted C-SVC) and multiclass (the multiclass C-SVC).
/// </summary>
public static class DetectionEvaluation
{
    public const string Domain = "replicas";
    public const string WithoutLabels = "without labels";
    public const string WithLabelsBinary = "with labels, binary";
    public const string WithLabelsMulticlass = "with labels, multiclass";

    /// <summary>Leave-one-run-out folds, runs in order of first appearance.</summary>
    public static IReadOnlyList<RunFold> FoldsByRun(IReadOnlyList<LabelledWindow> rows)
    {
        string[] runs = rows.Select(r => r.Run).Distinct().ToArray();
        if (runs.Length < 2)
            throw new ArgumentException($"a held-out split by run needs at least 2 runs, the data set has {runs.Length}", nameof(rows));
        return runs.Select(run => new RunFold(run, rows.Where(r => r.Run != run).ToArray(), rows.Where(r => r.Run == run).ToArray())).ToArray();
    }

    /// <summary>The rows grouped into the domain's windows (run, episode, window), in recording order.</summary>
    public static IReadOnlyList<LabelledWindow[]> Windows(IEnumerable<LabelledWindow> rows) =>
        rows.GroupBy(r => (r.Run, r.Episode, r.Window)).Select(g => g.ToArray()).ToArray();

    public static IReadOnlyList<ModeResult> Evaluate(IReadOnlyList<LabelledWindow> rows, AnalyzerOptions? options = null)
    {
        IReadOnlyList<RunFold> folds = FoldsByRun(rows);
        return [Unlabelled(folds, options), Labelled(folds, multiclass: false, options), Labelled(folds, multiclass: true, options)];
    }

    /// <summary>The analyzer as deployed: it sees the training runs, then the held-out one, window by window, without a label.</summary>
    public static ModeResult Unlabelled(IReadOnlyList<RunFold> folds, AnalyzerOptions? options = null)
    {
        var binary = new ConfusionMatrix([BinaryClasses.Abnormal, BinaryClasses.Normal]);
        var detectors = new Dictionary<string, int>();
        foreach (RunFold fold in folds)
        {
            using var analyzer = new AnomalyAnalyzer(options);
            foreach (LabelledWindow[] w in Windows(fold.Training))
                analyzer.AnalyzeDomain(Domain, Vectors(w));
            foreach (LabelledWindow[] w in Windows(fold.Test))
                Score(w, analyzer.AnalyzeDomain(Domain, Vectors(w)), binary, null, detectors);
        }
        return new ModeResult(WithoutLabels, binary, null, detectors);
    }

    /// <summary>
    /// The training runs' windows as verified operator verdicts (abnormal with the fault as kind
    /// when <paramref name="multiclass"/>, without one otherwise), then the held-out run judged.
    /// The analyzer keeps no history of its own here, so only the labels teach it.
    /// </summary>
    public static ModeResult Labelled(IReadOnlyList<RunFold> folds, bool multiclass, AnalyzerOptions? options = null)
    {
        AnalyzerOptions o = options ?? new AnalyzerOptions();
        var binary = new ConfusionMatrix([BinaryClasses.Abnormal, BinaryClasses.Normal]);
        ConfusionMatrix? kinds = multiclass ? new ConfusionMatrix([FaultKinds.None]) : null;
        var detectors = new Dictionary<string, int>();
        foreach (RunFold fold in folds)
        {
            // Room for every training window: the bounded set would otherwise drop the oldest runs.
            using var analyzer = new AnomalyAnalyzer(o with
            {
                RecordNormalHistory = false,
                Learning = o.Learning with { Capacity = Math.Max(o.Learning.Capacity, fold.Training.Count) },
            });
            foreach (LabelledWindow[] w in Windows(fold.Training))
            {
                // The operator labels a container seen beside its peers: the window's medians go with the verdict.
                double[] medians = RobustScaler.Fit(w.Select(r => r.Values).ToArray(), Metrics.Count).Medians;
                foreach (LabelledWindow r in w)
                    analyzer.Learn(Domain, new TrainingSample(r.Values, r.IsAbnormal, multiclass && r.IsAbnormal ? r.Label : null, Verified: true, medians));
            }
            foreach (LabelledWindow[] w in Windows(fold.Test))
                Score(w, analyzer.AnalyzeDomain(Domain, Vectors(w)), binary, kinds, detectors);
        }
        return new ModeResult(multiclass ? WithLabelsMulticlass : WithLabelsBinary, binary, kinds, detectors);
    }

    private static void Score(LabelledWindow[] window, IReadOnlyList<Verdict> verdicts, ConfusionMatrix binary, ConfusionMatrix? kinds,
        Dictionary<string, int> detectors)
    {
        for (int i = 0; i < window.Length; i++)
        {
            Verdict v = verdicts[i];
            binary.Add(BinaryClasses.Of(window[i].IsAbnormal), BinaryClasses.Of(v.IsAbnormal));
            // An abnormal verdict without a kind (a detector that names none) counts as a wrong kind.
            kinds?.Add(window[i].Label, v.IsAbnormal ? v.Kind ?? "abnormal (no kind)" : FaultKinds.None);
            detectors[v.Detector] = detectors.GetValueOrDefault(v.Detector) + 1;
        }
    }

    private static List<MetricVector> Vectors(LabelledWindow[] window) =>
        window.Select(r => new MetricVector(r.Key, r.Values)).ToList();
}
