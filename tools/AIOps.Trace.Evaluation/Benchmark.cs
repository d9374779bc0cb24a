using AIOps.Trace.Analysis.Detection;

namespace AIOps.Trace.Evaluation;

/// <summary>The targets of the detection proof, on held-out episodes.</summary>
public sealed record DetectionTargets(double BinaryF1 = 0.95, double MacroF1 = 0.90, double UnlabelledF1 = 0.90);

/// <summary>Everything the report shows, computed once from the recorded rows.</summary>
public sealed record BenchmarkResult(
    IReadOnlyList<LabelledWindow> Rows,
    IReadOnlyList<MethodResult> Methods,
    IReadOnlyList<Tuning> Tunings,
    IReadOnlyList<OpenSetResult> OpenSet,
    IReadOnlyList<BudgetPoint> Budget,
    IReadOnlyList<DomainsResult> Domains)
{
    public MethodResult Method(string name) => Methods.Single(m => m.Method == name);
}

/// <summary>Runs the whole evaluation: the project's detector in its three modes, the baselines, and the experiments.</summary>
public static class Benchmark
{
    public static readonly int[] LabelBudgets = [5, 10, 20, 50];

    /// <summary>The bounded training set of the label-budget curve's second line: 50 labels overflow it.</summary>
    public const int SmallCapacity = 20;

    public static BenchmarkResult Run(IReadOnlyList<LabelledWindow> rows, AnalyzerOptions? options = null)
    {
        AnalyzerOptions o = options ?? new AnalyzerOptions();
        IReadOnlyList<RunFold> folds = DetectionEvaluation.FoldsByRun(rows);

        // C, gamma and the binary decision offset per outer fold, chosen on its training runs only (binary and kinds apart).
        var binaryTuning = new Dictionary<string, Tuning>();
        var kindTuning = new Dictionary<string, Tuning>();
        foreach (RunFold f in folds)
        {
            binaryTuning[f.HeldOut] = Experiments.Tune(f, kinds: false, o);
            kindTuning[f.HeldOut] = Experiments.Tune(f, kinds: true, o);
        }
        LearningOptions Apply(Tuning t, LearningOptions l) => l with { GammaScale = t.GammaScale, DecisionOffset = t.Offset, Svm = l.Svm with { C = t.C } };

        var methods = new List<MethodResult>
        {
            DetectionEvaluation.Unlabelled(folds, o),
            DetectionEvaluation.Baseline(folds, () => new IsolationForest(), namesKinds: false),
            DetectionEvaluation.Baseline(folds, () => new PlainDbscan(), namesKinds: false),
            DetectionEvaluation.Labelled(folds, kinds: false, o, tune: (f, l) => Apply(binaryTuning[f.HeldOut], l)),
            DetectionEvaluation.Labelled(folds, kinds: true, o, tune: (f, l) => Apply(kindTuning[f.HeldOut], l)),
            DetectionEvaluation.Baseline(folds, () => new ThresholdRules(), namesKinds: true),
            DetectionEvaluation.Baseline(folds, () => new ShallowTree(binary: true), namesKinds: false),
            DetectionEvaluation.Baseline(folds, () => new ShallowTree(binary: false), namesKinds: true),
        };

        IReadOnlyList<OpenSetResult> openSet = Experiments.OpenSet(folds, o, FaultKinds.Faults.Where(k => rows.Any(r => r.Label == k)));
        var budget = new List<BudgetPoint>();
        foreach (int capacity in new[] { o.Learning.Capacity, SmallCapacity })
            foreach (int n in LabelBudgets)
                budget.Add(Experiments.LabelBudget(folds, n, capacity, o));
        DomainsResult[] domains = [DomainsEvaluation.Evaluate(rows, includeMutableLimits: true), DomainsEvaluation.Evaluate(rows, includeMutableLimits: false)];
        return new BenchmarkResult(rows, methods, [.. binaryTuning.Values, .. kindTuning.Values], openSet, budget, domains);
    }
}
