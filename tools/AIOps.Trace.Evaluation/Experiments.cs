using AIOps.Trace.Analysis.Detection;
using AIOps.Trace.Analysis.Processing;
using AIOps.Trace.Analysis.Verification;

namespace AIOps.Trace.Evaluation;

/// <summary>One fault kind never labelled: how much of it is still found, by the labelled model alone and with the peers' fallback.</summary>
/// <param name="Recall">Share of the unseen kind's container windows called abnormal (with the fallback).</param>
/// <param name="ModelAloneRecall">The same counting only the labelled model's own abnormal calls (what it would show without the fallback).</param>
/// <param name="BinaryF1">Binary F1 over every held-out window.</param>
public sealed record OpenSetResult(string Withheld, double Recall, double ModelAloneRecall, double BinaryF1);

/// <summary>A point of a learning curve: held-out F1 after this many labels through the verification store.</summary>
/// <param name="Evicted">Labels the bounded training set dropped (oldest first), summed over folds and domains.</param>
public sealed record BudgetPoint(int Labels, int Capacity, double BinaryF1, double MacroF1, long Evicted, IReadOnlyDictionary<string, int> Detectors);

/// <summary>The SVM's C, RBF width and (binary) decision offset chosen per outer fold by inner cross-validation on its training blocks only.</summary>
public sealed record Tuning(string HeldOut, bool Kinds, double C, double GammaScale, double Offset, double InnerScore);

/// <summary>The open-set, label-budget and hyperparameter experiments of the report.</summary>
public static class Experiments
{
    public static readonly double[] CGrid = [1, 10, 100];
    public static readonly double[] GammaGrid = [0.5, 2];

    /// <summary>Decision offsets of the binary C-SVC tried (see <see cref="LearningOptions.DecisionOffset"/>); the multiclass one has none.</summary>
    public static readonly double[] OffsetGrid = [-0.5, -0.25, 0, 0.25, 0.5];

    public static IReadOnlyList<OpenSetResult> OpenSet(IReadOnlyList<RunFold> folds, AnalyzerOptions options, IEnumerable<string> kinds)
    {
        var results = new List<OpenSetResult>();
        foreach (string withheld in kinds)
        {
            MethodResult r = DetectionEvaluation.Labelled(folds, kinds: false, options, withheld);
            Prediction[] unseen = r.Predictions.Where(p => p.Row.Label == withheld).ToArray();
            double recall = unseen.Count(p => p.Call.Abnormal) / (double)Math.Max(1, unseen.Length);
            double alone = unseen.Count(p => p.Call.Abnormal && p.Call.Detector != DetectorNames.PeerFallback) / (double)Math.Max(1, unseen.Length);
            results.Add(new OpenSetResult(withheld, recall, alone, Scores.BinaryF1(r.Predictions)));
        }
        return results;
    }

    /// <summary>
    /// Labels arrive one by one through the <see cref="VerdictStore"/> as an operator gives them:
    /// walking the training runs in order, the operator checks each container the peers flag (a
    /// confirmed fault with its kind, or a rejection), and every other label is a spot check of an
    /// unflagged container; each verdict is stored, then learned by its domain's bounded training
    /// set of <paramref name="capacity"/> samples (which evicts the oldest when full). After
    /// <paramref name="labels"/> labels the held-out run is judged.
    /// </summary>
    public static BudgetPoint LabelBudget(IReadOnlyList<RunFold> folds, int labels, int capacity, AnalyzerOptions options)
    {
        var predictions = new List<Prediction>();
        long evicted = 0;
        // In memory where there is a tmpfs: the store syncs each verdict, which is not what is measured here.
        string folder = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), $"aiops-evaluation-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        try
        {
            foreach (RunFold fold in folds)
            {
                using var store = VerdictStore.Open(Path.Combine(folder, $"{fold.HeldOut}.db"));
                using var analyzer = new AnomalyAnalyzer(options with { RecordNormalHistory = false, Learning = options.Learning with { Capacity = capacity } });
                using var peers = new AnomalyAnalyzer(options with { RecordNormalHistory = false });
                int given = 0;
                bool spotCheck = false;
                foreach (LabelledWindow[] w in DetectionEvaluation.Windows(fold.Training))
                {
                    if (given == labels)
                        break;
                    IReadOnlyList<Verdict> verdicts = peers.AnalyzeDomain(w[0].Domain, DetectionEvaluation.Vectors(w));
                    RobustScaler context = DetectionEvaluation.Peers(w, options.Processing.RelativeScaleFloor);
                    for (int i = 0; i < w.Length && given < labels; i++)
                    {
                        // A flagged container is checked; an unflagged one only as every other label's spot check.
                        if (!verdicts[i].IsAbnormal && !spotCheck)
                            continue;
                        if (!verdicts[i].IsAbnormal && w[i].IsAbnormal)
                            continue; // a spot check is of a container the operator has no reason to doubt: take a quiet one
                        spotCheck = verdicts[i].IsAbnormal;
                        LabelledWindow r = w[i];
                        OperatorVerdict stored = store.Record(new OperatorVerdict(r.Key, r.Domain, r.IsAbnormal, r.IsAbnormal ? r.Label : null,
                            r.Values, null, DateTimeOffset.UnixEpoch, PeerMedians: context.Medians, PeerScales: context.Scales));
                        analyzer.Learn(stored.Domain!, new TrainingSample(stored.Metrics!, stored.Abnormal, stored.Kind, Verified: true, stored.PeerMedians, stored.PeerScales));
                        given++;
                    }
                }
                foreach (LabelledWindow[] w in DetectionEvaluation.Windows(fold.Test))
                    DetectionEvaluation.Add(predictions, w, analyzer.AnalyzeDomain(w[0].Domain, DetectionEvaluation.Vectors(w)));
                evicted += analyzer.Models.Values.Sum(m => m.Training.Evicted) + analyzer.Shared.Training.Evicted;
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
        return new BudgetPoint(labels, capacity, Scores.BinaryF1(predictions), Scores.MacroF1(predictions), evicted,
            predictions.GroupBy(p => p.Call.Detector).ToDictionary(g => g.Key, g => g.Count()));
    }

    /// <summary>
    /// C, the RBF width's multiplier and, for the binary model, the decision offset for one outer
    /// fold: each point of the grid scored by cross-validation over the fold's training blocks only
    /// (the held-out block is never seen), the best binary F1 (macro-F1 with kinds) wins, ties to
    /// the earlier (smaller C, narrower kernel, lower offset).
    /// </summary>
    public static Tuning Tune(RunFold outer, bool kinds, AnalyzerOptions options)
    {
        // At most three inner folds (training blocks dealt round-robin into groups) keep the search affordable.
        string[] blocks = outer.Training.Select(r => r.Block).Distinct().ToArray();
        if (blocks.Length < 2)
            return new Tuning(outer.HeldOut, kinds, options.Learning.Svm.C, options.Learning.GammaScale, options.Learning.DecisionOffset, double.NaN); // nothing to cross-validate on: the defaults
        var group = blocks.Select((b, i) => (b, i)).ToDictionary(x => x.b, x => $"g{x.i % Math.Min(3, blocks.Length)}");
        var regrouped = outer.Training.Select(r => r with { Run = group[r.Block], Episode = "x" + r.Block + "/" + r.Episode }).ToArray();
        IReadOnlyList<RunFold> inner = DetectionEvaluation.FoldsByRun(regrouped);
        var best = new Tuning(outer.HeldOut, kinds, double.NaN, double.NaN, double.NaN, double.NegativeInfinity);
        foreach (double c in CGrid)
            foreach (double g in GammaGrid)
                foreach (double offset in kinds ? [0.0] : OffsetGrid)
                {
                    AnalyzerOptions o = options with { Learning = options.Learning with { GammaScale = g, DecisionOffset = offset, Svm = options.Learning.Svm with { C = c } } };
                    MethodResult r = DetectionEvaluation.Labelled(inner, kinds, o);
                    double score = kinds ? Scores.MacroF1(r.Predictions) : Scores.BinaryF1(r.Predictions);
                    if (score > best.InnerScore + 1e-9)
                        best = new Tuning(outer.HeldOut, kinds, c, g, offset, score);
                }
        return best;
    }
}
