using AIOps.Trace.Analysis.Collection;
using AIOps.Trace.Analysis.Detection;
using AIOps.Trace.Analysis.Processing;

namespace AIOps.Trace.Evaluation;

/// <summary>Binary classes of the evaluation.</summary>
public static class BinaryClasses
{
    public const string Abnormal = "abnormal";
    public const string Normal = "normal";

    public static string Of(bool abnormal) => abnormal ? Abnormal : Normal;
}

/// <summary>One held-out split: the runs trained on and the run tested on.</summary>
public sealed record RunFold(string HeldOut, IReadOnlyList<LabelledWindow> Training, IReadOnlyList<LabelledWindow> Test);

/// <summary>One container window judged: the row (with its truth) and the call.</summary>
public sealed record Prediction(LabelledWindow Row, Call Call)
{
    /// <summary>The predicted class for kind scoring: the kind named, "abnormal (no kind)" for an abnormal call without one, else none.</summary>
    public string PredictedKind => Call.Abnormal ? Call.Kind ?? NoKind : FaultKinds.None;

    public const string NoKind = "abnormal (no kind)";
}

/// <summary>Every held-out prediction of one detector.</summary>
/// <param name="NamesKinds">Whether it names kinds (then macro-F1 over the kinds is scored).</param>
public sealed record MethodResult(string Method, bool Supervised, bool NamesKinds, IReadOnlyList<Prediction> Predictions)
{
    public IReadOnlyDictionary<string, int> Detectors =>
        Predictions.GroupBy(p => p.Call.Detector).ToDictionary(g => g.Key, g => g.Count());
}

/// <summary>
/// The project's detector on the labelled benchmark, each run tested by detectors that learned
/// only from the other runs (leave one run out), so nothing is judged by a model that saw its
/// own episode. Three modes: without operator labels (the <see cref="AnomalyAnalyzer"/> as
/// deployed: peer outliers, and the one-class SVM once the windows it judged normal make a
/// history), and with the training runs' labels fed as verified operator verdicts, binary and
/// with kinds. Each domain of the benchmark is a monitoring domain of its own.
/// </summary>
public static class DetectionEvaluation
{
    public const string WithoutLabels = "project, without labels";
    public const string WithLabelsBinary = "project, with labels, binary";
    public const string WithLabelsKinds = "project, with labels, kinds";

    /// <summary>
    /// Leave-one-block-out folds (a block is a run where runs are not split in blocks), in order of
    /// first appearance: every block was recorded on domains, processes and an engine of its own.
    /// </summary>
    public static IReadOnlyList<RunFold> FoldsByRun(IReadOnlyList<LabelledWindow> rows)
    {
        string[] blocks = rows.Select(r => r.Block).Distinct().ToArray();
        if (blocks.Length < 2)
            throw new ArgumentException($"a held-out split by recorded block needs at least 2 blocks, the data set has {blocks.Length}", nameof(rows));
        return blocks.Select(b => new RunFold(b, rows.Where(r => r.Block != b).ToArray(), rows.Where(r => r.Block == b).ToArray())).ToArray();
    }

    /// <summary>The rows grouped into each domain's windows (run, domain, episode, window), in recording order.</summary>
    public static IReadOnlyList<LabelledWindow[]> Windows(IEnumerable<LabelledWindow> rows) =>
        rows.GroupBy(r => (r.Run, r.Domain, r.Episode, r.Window)).Select(g => g.ToArray()).ToArray();

    /// <summary>The analyzer as deployed: it sees the training runs, then the held-out one, window by window, without a label.</summary>
    public static MethodResult Unlabelled(IReadOnlyList<RunFold> folds, AnalyzerOptions? options = null)
    {
        var predictions = new List<Prediction>();
        foreach (RunFold fold in folds)
        {
            using var analyzer = new AnomalyAnalyzer(options);
            foreach (LabelledWindow[] w in Windows(fold.Training))
                analyzer.AnalyzeDomain(w[0].Domain, Vectors(w));
            foreach (LabelledWindow[] w in Windows(fold.Test))
                Add(predictions, w, analyzer.AnalyzeDomain(w[0].Domain, Vectors(w)));
        }
        return new MethodResult(WithoutLabels, Supervised: false, NamesKinds: false, predictions);
    }

    /// <summary>
    /// The training runs' windows as verified operator verdicts (abnormal with the fault as kind
    /// when <paramref name="kinds"/>, without one otherwise), then the held-out run judged. The
    /// analyzer keeps no history of its own here, so only the labels teach it. Rows of
    /// <paramref name="withheld"/> are left out of training (an open-set test: a kind never labelled).
    /// </summary>
    public static MethodResult Labelled(IReadOnlyList<RunFold> folds, bool kinds, AnalyzerOptions? options = null, string? withheld = null,
        Func<RunFold, LearningOptions, LearningOptions>? tune = null)
    {
        AnalyzerOptions o = options ?? new AnalyzerOptions();
        var predictions = new List<Prediction>();
        foreach (RunFold fold in folds)
        {
            LearningOptions learning = o.Learning with { Capacity = Math.Max(o.Learning.Capacity, fold.Training.Count) };
            if (tune is not null)
                learning = tune(fold, learning);
            using AnomalyAnalyzer analyzer = Train(fold.Training, kinds, o with { Learning = learning }, withheld);
            foreach (LabelledWindow[] w in Windows(fold.Test))
                Add(predictions, w, analyzer.AnalyzeDomain(w[0].Domain, Vectors(w)));
        }
        return new MethodResult(kinds ? WithLabelsKinds : WithLabelsBinary, Supervised: true, NamesKinds: kinds, predictions);
    }

    /// <summary>An analyzer taught every training row as an operator's verdict (without history of its own).</summary>
    public static AnomalyAnalyzer Train(IReadOnlyList<LabelledWindow> training, bool kinds, AnalyzerOptions options, string? withheld = null)
    {
        var analyzer = new AnomalyAnalyzer(options with { RecordNormalHistory = false });
        foreach (LabelledWindow[] w in Windows(training))
        {
            // The operator labels a container seen beside its peers: the window's medians and scales go with the verdict.
            RobustScaler peers = Peers(w, options.Processing.RelativeScaleFloor);
            foreach (LabelledWindow r in w)
                if (r.Label != withheld)
                    analyzer.Learn(r.Domain, Sample(r, kinds, peers));
        }
        return analyzer;
    }

    public static TrainingSample Sample(LabelledWindow r, bool kinds, RobustScaler peers) =>
        new(r.Values, r.IsAbnormal, kinds && r.IsAbnormal ? r.Label : null, Verified: true, peers.Medians, peers.Scales);

    /// <summary>The window's medians and robust scales (with the analyzer's relative floor), as the pipeline stores them beside a verdict.</summary>
    public static RobustScaler Peers(LabelledWindow[] window, double relativeFloor) =>
        RobustScaler.Fit(window.Select(r => r.Values).ToArray(), Metrics.Count, relativeFloor);

    /// <summary>
    /// A baseline trained on each fold's training runs and judged on its held-out run: a supervised one on every
    /// domain's labels at once, an unsupervised one per domain.
    /// </summary>
    public static MethodResult Baseline(IReadOnlyList<RunFold> folds, Func<IBaseline> make, bool namesKinds)
    {
        var predictions = new List<Prediction>();
        string name = make().Name;
        bool supervised = make().Supervised;
        foreach (RunFold fold in folds)
            foreach (var domain in fold.Training.GroupBy(r => supervised ? AnomalyAnalyzer.SharedDomain : r.Domain))
            {
                // Trained as the project learns: labels from every domain at once (its labelled model is shared by
                // every domain), history without labels one domain at a time; a window's replicas are its peers either way.
                IBaseline b = make();
                b.Fit(Windows(domain));
                foreach (LabelledWindow[] w in Windows(fold.Test.Where(r => supervised || r.Domain == domain.Key)))
                {
                    Call[] calls = b.Judge(w);
                    for (int i = 0; i < w.Length; i++)
                        predictions.Add(new Prediction(w[i], calls[i]));
                }
            }
        return new MethodResult(name, make().Supervised, namesKinds, predictions);
    }

    internal static void Add(List<Prediction> predictions, LabelledWindow[] window, IReadOnlyList<Verdict> verdicts)
    {
        for (int i = 0; i < window.Length; i++)
            predictions.Add(new Prediction(window[i], new Call(verdicts[i].IsAbnormal, verdicts[i].Kind, verdicts[i].Detector)));
    }

    internal static List<MetricVector> Vectors(LabelledWindow[] window) =>
        window.Select(r => new MetricVector(r.Key, r.Values)).ToList();
}
