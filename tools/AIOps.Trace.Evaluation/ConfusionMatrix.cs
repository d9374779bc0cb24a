namespace AIOps.Trace.Evaluation;

/// <summary>How well one class was found.</summary>
/// <param name="Precision">Right predictions of the class over all predictions of it (0 when it was never predicted).</param>
/// <param name="Recall">Right predictions of the class over its true members (0 when it has none).</param>
/// <param name="F1">Harmonic mean of precision and recall (0 when both are 0).</param>
/// <param name="Support">True members of the class.</param>
/// <param name="Predicted">Predictions of the class.</param>
public sealed record ClassScore(string Class, double Precision, double Recall, double F1, int Support, int Predicted);

/// <summary>
/// Counts of (true class, predicted class) pairs, and the per-class precision, recall and F1 and
/// the macro-F1 they give. Classes are the ones named at construction plus any seen since, in
/// order of first appearance.
/// </summary>
public sealed class ConfusionMatrix
{
    private readonly List<string> _classes = new();
    private readonly Dictionary<(string Truth, string Predicted), int> _counts = new();

    public ConfusionMatrix(IEnumerable<string>? classes = null)
    {
        foreach (string c in classes ?? [])
            Include(c);
    }

    public IReadOnlyList<string> Classes => _classes;

    public int Total { get; private set; }

    public void Add(string truth, string predicted)
    {
        Include(truth);
        Include(predicted);
        _counts[(truth, predicted)] = Count(truth, predicted) + 1;
        Total++;
    }

    public int Count(string truth, string predicted) => _counts.GetValueOrDefault((truth, predicted));

    /// <summary>Share of all pairs whose prediction is right.</summary>
    public double Accuracy => Total == 0 ? 0 : (double)_classes.Sum(c => Count(c, c)) / Total;

    public ClassScore Score(string cls)
    {
        int right = Count(cls, cls);
        int support = _classes.Sum(p => Count(cls, p));
        int predicted = _classes.Sum(t => Count(t, cls));
        double precision = predicted == 0 ? 0 : (double)right / predicted;
        double recall = support == 0 ? 0 : (double)right / support;
        double f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
        return new ClassScore(cls, precision, recall, f1, support, predicted);
    }

    /// <summary>The unweighted mean F1 over <paramref name="classes"/> (default: every class with a true member).</summary>
    public double MacroF1(IEnumerable<string>? classes = null)
    {
        string[] over = (classes ?? _classes.Where(c => Score(c).Support > 0)).ToArray();
        return over.Length == 0 ? 0 : over.Average(c => Score(c).F1);
    }

    private void Include(string cls)
    {
        if (!_classes.Contains(cls))
            _classes.Add(cls);
    }
}
