namespace AIOps.Trace.Analysis.Detection;

/// <summary>One window of one container with what is known of it.</summary>
/// <param name="Values">Its metric vector (<see cref="Collection.Metrics"/> slots; NaN where absent).</param>
/// <param name="Abnormal">True: an operator confirmed an anomaly; false: normal (confirmed, or presumed when <paramref name="Verified"/> is false).</param>
/// <param name="Kind">The anomaly kind an operator named, if any.</param>
/// <param name="Verified">Whether an operator gave this label (false: the peer detector's "normal", kept as one-class history).</param>
/// <param name="PeerMedians">
/// The medians of its domain's vectors in the same window (<see cref="Collection.Metrics"/> slots), when known: how
/// its peers stood then. A model whose every sample has them also learns each metric's distance from the peers,
/// which a load shared by the whole domain (the host busy, a device everyone uses) does not move.
/// </param>
/// <param name="PeerScales">
/// The robust scale of each slot among its domain's vectors in the same window (<see cref="Processing.RobustScaler"/>, with the
/// analyzer's relative floor), when known. With them a metric's distance from the peers is counted in the peers' own spread
/// (a robust z-score), which means the same in any domain: a model whose every sample has them can learn from every domain's
/// labels at once (<see cref="AnalyzerOptions.ShareLabels"/>).
/// </param>
public sealed record TrainingSample(double[] Values, bool Abnormal, string? Kind = null, bool Verified = true, double[]? PeerMedians = null, double[]? PeerScales = null)
{
    /// <summary>Whether the sample says how its peers stood, centre and spread: what a model shared by every domain learns from.</summary>
    public bool HasPeerContext => PeerMedians is not null && PeerScales is not null;
}

/// <summary>
/// A training set with a fixed capacity: a sliding window over the newest samples. The newest
/// goes in, the oldest goes out when full, and <see cref="Version"/> tells a model when it is
/// stale. The model is then refitted from scratch on the window: this is no incremental or
/// decremental SVM (libsvm has none), only a bounded window that forgets what it evicts.
/// </summary>
public sealed class BoundedTrainingSet
{
    private readonly Queue<TrainingSample> _samples;

    public BoundedTrainingSet(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
        _samples = new Queue<TrainingSample>(capacity);
    }

    public int Capacity { get; }
    public int Count => _samples.Count;

    /// <summary>Samples dropped because the set was full (oldest first).</summary>
    public long Evicted { get; private set; }

    /// <summary>Changes with every add: a model trained at another version is stale.</summary>
    public long Version { get; private set; }

    /// <summary>Operator-verified samples added so far: each one makes a model stale at once.</summary>
    public long VerifiedAdded { get; private set; }

    /// <summary>Oldest first.</summary>
    public IReadOnlyCollection<TrainingSample> Samples => _samples;

    public void Add(TrainingSample sample)
    {
        if (_samples.Count == Capacity)
        {
            _samples.Dequeue();
            Evicted++;
        }
        _samples.Enqueue(sample);
        Version++;
        if (sample.Verified)
            VerifiedAdded++;
    }

    public int Normal => _samples.Count(s => !s.Abnormal);
    public int VerifiedAbnormal => _samples.Count(s => s.Abnormal && s.Verified);

    /// <summary>Verified abnormal samples per named kind.</summary>
    public IReadOnlyDictionary<string, int> Kinds =>
        _samples.Where(s => s.Abnormal && s.Verified && s.Kind is not null).GroupBy(s => s.Kind!).ToDictionary(g => g.Key, g => g.Count());
}

/// <summary>How much data each learned detector needs before it is chosen.</summary>
public sealed record LearningOptions
{
    /// <summary>Normal windows (verified or presumed) before a one-class SVM is trained.</summary>
    public int MinNormalHistory { get; init; } = 50;

    /// <summary>Verified abnormal samples before a class-weighted C-SVC is trained.</summary>
    public int MinAbnormal { get; init; } = 3;

    /// <summary>Verified samples per anomaly kind before that kind enters a multiclass C-SVC (at least two kinds).</summary>
    public int MinPerKind { get; init; } = 5;

    /// <summary>Samples each domain's bounded training set holds (500 x 17 doubles: 68 kB per domain).</summary>
    public int Capacity { get; init; } = 500;

    /// <summary>
    /// Unverified (history) samples after which a model is retrained; an operator's verdict retrains
    /// at once. Retraining every domain on every window would cost one SVM fit per domain per interval.
    /// </summary>
    public int RetrainEvery { get; init; } = 100;

    /// <summary>
    /// Share of abnormal labels below which the binary C-SVC weighs its classes by inverse
    /// frequency (an imbalanced SVM); at or above it, both classes weigh 1. The same rule decides
    /// whether the multiclass C-SVC weighs its classes (its rarest class against all labels).
    /// </summary>
    public double ImbalancedShare { get; init; } = 0.05;

    /// <summary>
    /// Where the binary C-SVC's boundary lies, in its own decision units: a container is abnormal
    /// when its decision value passes this offset (0: libsvm's boundary). The labels an SVM learns
    /// from are not the proportions it will judge, so the boundary that gives the best F1 on
    /// windows it did not learn from need not be 0; the evaluation chooses it by cross-validation
    /// on training blocks only. The verdict's score is measured from the shifted boundary.
    /// </summary>
    public double DecisionOffset { get; init; }

    /// <summary>Multiplier of the median-heuristic RBF width, when <see cref="Svm"/> gives no gamma (chosen by cross-validation in the evaluation).</summary>
    public double GammaScale { get; init; } = 1;

    public Svm.SvmOptions Svm { get; init; } = new();
}

/// <summary>Picks the detector a domain's data supports.</summary>
public static class DetectorChoice
{
    /// <summary>The detector, and why.</summary>
    public static (string Detector, string Reason) Choose(BoundedTrainingSet set, LearningOptions o)
    {
        IReadOnlyDictionary<string, int> kinds = set.Kinds;
        int ready = kinds.Count(k => k.Value >= o.MinPerKind);
        int normal = set.Normal;
        if (ready >= 2 && normal >= o.MinPerKind)
            return (DetectorNames.MulticlassCsvc, $"{ready} anomaly kinds with at least {o.MinPerKind} verified samples each");
        int abnormal = set.VerifiedAbnormal;
        if (abnormal >= o.MinAbnormal && normal >= o.MinAbnormal)
        {
            double share = (double)abnormal / (abnormal + normal);
            return share < o.ImbalancedShare
                ? (DetectorNames.WeightedCsvc, $"{abnormal} verified abnormal and {normal} normal samples ({100 * share:0.#}% abnormal, under {100 * o.ImbalancedShare:0.#}%): class-weighted C-SVC")
                : (DetectorNames.Csvc, $"{abnormal} verified abnormal and {normal} normal samples ({100 * share:0.#}% abnormal, at least {100 * o.ImbalancedShare:0.#}%): C-SVC");
        }
        if (normal >= o.MinNormalHistory)
            return (DetectorNames.OneClassSvm, $"{normal} normal windows of history, {abnormal} verified anomalies");
        return (DetectorNames.PeerOutlier, $"not enough history to learn ({normal} normal, {abnormal} abnormal windows): peers only");
    }
}
