using AIOps.Trace.Analysis.Collection;
using AIOps.Trace.Analysis.Detection;
using AIOps.Trace.Analysis.Processing;

namespace AIOps.Trace.Evaluation;

/// <summary>A detector's call on one container window: abnormal or not, and the kind it names (null: none named).</summary>
public readonly record struct Call(bool Abnormal, string? Kind, string Detector);

/// <summary>
/// A standard detector the project's must beat, trained on the same training runs and judged on
/// the same held-out run. Each sees a window's domain at once (the peers are there for all).
/// </summary>
public interface IBaseline
{
    string Name { get; }

    /// <summary>Whether it learns from labels (else it sees the training windows without them).</summary>
    bool Supervised { get; }

    void Fit(IReadOnlyList<LabelledWindow[]> training);

    Call[] Judge(LabelledWindow[] window);
}

/// <summary>
/// The inputs every supervised baseline gets, more than the project's SVM does: each metric's value,
/// its distance from the window's peer median, and that distance in the peers' robust scale (the
/// robust z-score among the peers the project's SVM learns from); absent values as 0.
/// </summary>
public static class WindowFeatures
{
    public static int Count => 3 * Metrics.Count;

    public static string Name(int feature) => (feature / Metrics.Count) switch
    {
        0 => Metrics.Names[feature],
        1 => Metrics.Names[feature - Metrics.Count] + " - peer median",
        _ => Metrics.Names[feature - 2 * Metrics.Count] + " peer z",
    };

    public static double[][] Of(LabelledWindow[] window)
    {
        RobustScaler peers = RobustScaler.Fit(window.Select(r => r.Values).ToArray(), Metrics.Count, new ProcessingOptions().RelativeScaleFloor);
        return window.Select(r =>
        {
            var x = new double[Count];
            for (int m = 0; m < Metrics.Count; m++)
            {
                double v = r.Values[m];
                x[m] = double.IsNaN(v) ? 0 : v;
                x[Metrics.Count + m] = double.IsNaN(v) || double.IsNaN(peers.Medians[m]) ? 0 : v - peers.Medians[m];
                double z = peers.Z(m, v);
                x[2 * Metrics.Count + m] = double.IsNaN(z) ? 0 : Math.Clamp(z, -DomainModel.BeyondAgreeingPeers, DomainModel.BeyondAgreeingPeers);
            }
            return x;
        }).ToArray();
    }

    /// <summary>Every training row's features and label.</summary>
    public static (double[][] X, string[] Y) Table(IReadOnlyList<LabelledWindow[]> windows, bool binary)
    {
        var x = new List<double[]>();
        var y = new List<string>();
        foreach (LabelledWindow[] w in windows)
        {
            x.AddRange(Of(w));
            y.AddRange(w.Select(r => binary ? BinaryClasses.Of(r.IsAbnormal) : r.Label));
        }
        return (x.ToArray(), y.ToArray());
    }
}

/// <summary>
/// Per-metric thresholds learned on the training runs: for each fault kind, the one feature,
/// direction and cut that best separate it from normal windows (best F1 there); a window is
/// abnormal when any kind's rule fires, and named after the firing rule with the best training F1.
/// The issue's fixed six-threshold rule, learned instead of written down.
/// </summary>
public sealed class ThresholdRules : IBaseline
{
    private readonly List<(string Kind, int Feature, bool Above, double Cut, double F1)> _rules = new();

    public string Name => "per-metric thresholds";
    public bool Supervised => true;

    public IReadOnlyList<string> Describe() =>
        _rules.Select(r => $"{r.Kind}: {WindowFeatures.Name(r.Feature)} {(r.Above ? ">" : "<")} {r.Cut:G3} (training F1 {r.F1:0.00})").ToList();

    public void Fit(IReadOnlyList<LabelledWindow[]> training)
    {
        _rules.Clear();
        (double[][] x, string[] y) = WindowFeatures.Table(training, binary: false);
        foreach (string kind in y.Where(l => l != FaultKinds.None).Distinct().Order(StringComparer.Ordinal))
        {
            int[] rows = Enumerable.Range(0, y.Length).Where(i => y[i] == kind || y[i] == FaultKinds.None).ToArray();
            var best = (Feature: -1, Above: true, Cut: 0.0, F1: -1.0);
            for (int f = 0; f < WindowFeatures.Count; f++)
                foreach (bool above in new[] { true, false })
                {
                    (double cut, double f1) = BestCut(rows.Select(i => (x[i][f], y[i] == kind)).ToArray(), above);
                    if (f1 > best.F1)
                        best = (f, above, cut, f1);
                }
            if (best.Feature >= 0)
                _rules.Add((kind, best.Feature, best.Above, best.Cut, best.F1));
        }
    }

    /// <summary>The cut with the best F1 for "value above (or below) the cut is positive", midway between neighbouring values.</summary>
    internal static (double Cut, double F1) BestCut((double Value, bool Positive)[] points, bool above)
    {
        var sorted = points.OrderBy(p => above ? -p.Value : p.Value).ToArray();
        int positives = sorted.Count(p => p.Positive);
        if (positives == 0)
            return (0, 0);
        double bestF1 = 0, bestCut = above ? double.PositiveInfinity : double.NegativeInfinity;
        int tp = 0, fp = 0;
        for (int i = 0; i < sorted.Length; i++)
        {
            if (sorted[i].Positive) tp++; else fp++;
            if (i + 1 < sorted.Length && sorted[i + 1].Value == sorted[i].Value)
                continue; // a cut cannot fall between equal values
            double f1 = 2.0 * tp / (2 * tp + fp + (positives - tp));
            if (f1 > bestF1)
            {
                bestF1 = f1;
                bestCut = i + 1 < sorted.Length ? (sorted[i].Value + sorted[i + 1].Value) / 2 : sorted[i].Value + (above ? -1e-9 : 1e-9);
            }
        }
        return (bestCut, bestF1);
    }

    public Call[] Judge(LabelledWindow[] window) =>
        WindowFeatures.Of(window).Select(x =>
        {
            var fired = _rules.Where(r => r.Above ? x[r.Feature] > r.Cut : x[r.Feature] < r.Cut).OrderByDescending(r => r.F1).ToList();
            return new Call(fired.Count > 0, fired.Count > 0 ? fired[0].Kind : null, Name);
        }).ToArray();
}

/// <summary>A CART decision tree (Gini impurity) of depth at most <see cref="Depth"/>, on the same features, binary or over the kinds.</summary>
public sealed class ShallowTree(bool binary, int depth = 3) : IBaseline
{
    private Node? _root;

    public int Depth => depth;
    public string Name => $"decision tree (depth {depth}, {(binary ? "binary" : "kinds")})";
    public bool Supervised => true;

    private sealed record Node(string Label, int Feature = -1, double Cut = 0, Node? Left = null, Node? Right = null);

    public void Fit(IReadOnlyList<LabelledWindow[]> training)
    {
        (double[][] x, string[] y) = WindowFeatures.Table(training, binary);
        _root = Grow(x, y, Enumerable.Range(0, y.Length).ToArray(), depth);
    }

    private static Node Grow(double[][] x, string[] y, int[] rows, int depth)
    {
        string majority = rows.GroupBy(i => y[i]).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).First().Key;
        if (depth == 0 || rows.All(i => y[i] == y[rows[0]]))
            return new Node(majority);
        string[] classes = rows.Select(i => y[i]).Distinct().ToArray();
        var total = classes.ToDictionary(c => c, c => rows.Count(i => y[i] == c));
        double bestGini = Gini(total, rows.Length);
        (int Feature, double Cut) best = (-1, 0);
        foreach (int f in Enumerable.Range(0, x[0].Length))
        {
            int[] sorted = rows.OrderBy(i => x[i][f]).ToArray();
            var left = classes.ToDictionary(c => c, _ => 0);
            var right = new Dictionary<string, int>(total);
            for (int k = 0; k < sorted.Length - 1; k++)
            {
                string c = y[sorted[k]];
                left[c]++;
                right[c]--;
                if (x[sorted[k]][f] == x[sorted[k + 1]][f])
                    continue;
                int nl = k + 1, nr = sorted.Length - nl;
                double g = (nl * Gini(left, nl) + nr * Gini(right, nr)) / sorted.Length;
                if (g < bestGini - 1e-12)
                    (bestGini, best) = (g, (f, (x[sorted[k]][f] + x[sorted[k + 1]][f]) / 2));
            }
        }
        if (best.Feature < 0)
            return new Node(majority);
        int[] l = rows.Where(i => x[i][best.Feature] <= best.Cut).ToArray();
        int[] r = rows.Where(i => x[i][best.Feature] > best.Cut).ToArray();
        return new Node(majority, best.Feature, best.Cut, Grow(x, y, l, depth - 1), Grow(x, y, r, depth - 1));
    }

    private static double Gini(Dictionary<string, int> counts, int n)
    {
        if (n == 0)
            return 0;
        double s = 1;
        foreach (int c in counts.Values)
            s -= (double)c / n * c / n;
        return s;
    }

    public Call[] Judge(LabelledWindow[] window) =>
        WindowFeatures.Of(window).Select(x =>
        {
            Node n = _root!;
            while (n.Left is not null)
                n = x[n.Feature] <= n.Cut ? n.Left : n.Right!;
            bool abnormal = binary ? n.Label == BinaryClasses.Abnormal : n.Label != FaultKinds.None;
            return new Call(abnormal, binary || !abnormal ? null : n.Label, Name);
        }).ToArray();
}

/// <summary>
/// An isolation forest (Liu, Ting and Zhou, 2008) on each metric's robust z-score against its
/// window's peers, fitted without labels on the training runs: 100 trees of 256 rows. A row is
/// abnormal when its score passes the training rows' 95th percentile, i.e. it assumes 5% of
/// container windows are faulty (the benchmark's share is about that; no label tunes it).
/// </summary>
public sealed class IsolationForest(int trees = 100, int sample = 256, double contamination = 0.05, int seed = 7) : IBaseline
{
    private readonly List<INode> _trees = new();
    private double _cut;

    public string Name => "isolation forest";
    public bool Supervised => false;

    private interface INode;
    private sealed record Leaf(int Size) : INode;
    private sealed record Split(int Feature, double Cut, INode Left, INode Right) : INode;

    internal static double[][] PeerZ(LabelledWindow[] window)
    {
        ProcessedDomain d = DomainProcessor.Process(window.Select(r => new MetricVector(r.Key, r.Values)).ToList(),
            new ProcessingOptions { MinRowsForRedundancy = int.MaxValue });
        var rows = new double[window.Length][];
        for (int i = 0; i < window.Length; i++)
        {
            rows[i] = new double[Metrics.Count];
            for (int c = 0; c < d.Columns; c++)
                rows[i][d.Slots[c]] = double.IsNaN(d.Z[i][c]) ? 0 : Math.Clamp(d.Z[i][c], -1e6, 1e6);
        }
        return rows;
    }

    public void Fit(IReadOnlyList<LabelledWindow[]> training)
    {
        _trees.Clear();
        double[][] x = training.SelectMany(PeerZ).ToArray();
        var random = new Random(seed);
        int n = Math.Min(sample, x.Length);
        int limit = (int)Math.Ceiling(Math.Log2(n));
        for (int t = 0; t < trees; t++)
        {
            double[][] s = Enumerable.Range(0, n).Select(_ => x[random.Next(x.Length)]).ToArray();
            _trees.Add(Grow(s, 0, limit, random));
        }
        double[] scores = x.Select(Score).Order().ToArray();
        _cut = scores[Math.Min(scores.Length - 1, (int)(scores.Length * (1 - contamination)))];
    }

    private static INode Grow(double[][] rows, int height, int limit, Random random)
    {
        if (height >= limit || rows.Length <= 1)
            return new Leaf(rows.Length);
        int[] varying = Enumerable.Range(0, rows[0].Length).Where(f => rows.Any(r => r[f] != rows[0][f])).ToArray();
        if (varying.Length == 0)
            return new Leaf(rows.Length);
        int feature = varying[random.Next(varying.Length)];
        double min = rows.Min(r => r[feature]), max = rows.Max(r => r[feature]);
        double cut = min + random.NextDouble() * (max - min);
        return new Split(feature, cut,
            Grow(rows.Where(r => r[feature] < cut).ToArray(), height + 1, limit, random),
            Grow(rows.Where(r => r[feature] >= cut).ToArray(), height + 1, limit, random));
    }

    /// <summary>Average path length of an unsuccessful search in a binary search tree of n rows.</summary>
    private static double C(int n) => n <= 1 ? 0 : 2 * (Math.Log(n - 1) + 0.5772156649) - 2.0 * (n - 1) / n;

    private static double PathLength(INode node, double[] x, int height) => node switch
    {
        Leaf l => height + C(l.Size),
        Split s => PathLength(x[s.Feature] < s.Cut ? s.Left : s.Right, x, height + 1),
        _ => throw new InvalidOperationException(),
    };

    private double Score(double[] x) => Math.Pow(2, -_trees.Average(t => PathLength(t, x, 0)) / C(sample));

    public Call[] Judge(LabelledWindow[] window) =>
        PeerZ(window).Select(x => new Call(Score(x) > _cut, null, Name)).ToArray();
}

/// <summary>
/// Plain DBSCAN over the domain's robust z-scores in each window (eps from the domain's own
/// spread, at least 3 points): a container outside the largest cluster is abnormal. What the
/// project's peer detector adds (the robust Mahalanobis cutoff, lower-is-better) is left out.
/// </summary>
public sealed class PlainDbscan : IBaseline
{
    public string Name => "DBSCAN";
    public bool Supervised => false;

    public void Fit(IReadOnlyList<LabelledWindow[]> training)
    {
    }

    public Call[] Judge(LabelledWindow[] window)
    {
        bool[] inLargest = Dbscan.InLargestCluster(IsolationForest.PeerZ(window), minPoints: 3);
        return inLargest.Select(inside => new Call(!inside, null, Name)).ToArray();
    }
}
