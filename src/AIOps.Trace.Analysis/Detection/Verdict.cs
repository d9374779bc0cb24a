namespace AIOps.Trace.Analysis.Detection;

/// <summary>A metric that set a container apart.</summary>
/// <param name="Metric">The metric's name.</param>
/// <param name="Value">The container's value.</param>
/// <param name="Reference">The median it was compared with (the peers', or the learned history's).</param>
/// <param name="Z">Robust z-score: (value - median) / robust scale.</param>
public sealed record OffMetric(string Metric, double Value, double Reference, double Z);

/// <summary>Values of <see cref="Verdict.Status"/>.</summary>
public static class VerdictStatus
{
    public const string Normal = "normal";
    public const string Abnormal = "abnormal";

    /// <summary>The domain has fewer than three containers: no peer comparison is made.</summary>
    public const string TooFewPeers = "too_few_peers";

    /// <summary>The container has too few of the domain's metrics to be judged.</summary>
    public const string InsufficientData = "insufficient_data";
}

/// <summary>Values of <see cref="Verdict.Detector"/>.</summary>
public static class DetectorNames
{
    public const string PeerOutlier = "peer_outlier";
    public const string OneClassSvm = "one_class_svm";
    public const string WeightedCsvc = "weighted_csvc";

    /// <summary>A C-SVC without class weights: the abnormal class is at least <see cref="LearningOptions.ImbalancedShare"/> of the labels.</summary>
    public const string Csvc = "csvc";

    /// <summary>The peers flagged a container a labelled model called normal: the peers' verdict stands (a kind the labels do not know).</summary>
    public const string PeerFallback = "peer_fallback";
    public const string MulticlassCsvc = "multiclass_csvc";
    public const string None = "none";
}

/// <summary>The judgement of one container in one window.</summary>
/// <param name="Key">The container.</param>
/// <param name="Domain">Its monitoring domain.</param>
/// <param name="Status">One of <see cref="VerdictStatus"/>.</param>
/// <param name="Score">How abnormal: for peer outliers the robust distance over its cutoff (above 1 is beyond the cutoff); for SVMs the negated decision value (above 0 is on the abnormal side). NaN when not judged.</param>
/// <param name="Detector">Which detector decided (<see cref="DetectorNames"/>).</param>
/// <param name="Peers">The other containers of the domain it was compared with.</param>
/// <param name="OffMetrics">The metrics that made it abnormal, most deviant first (empty when normal).</param>
/// <param name="Kind">The anomaly kind a multiclass model named, when one did.</param>
/// <param name="Reason">Why: one sentence (the detector's rule, or why no judgement was made).</param>
/// <param name="MissingMetrics">Metrics the domain analyses that this container lacked (NaN) this window.</param>
/// <param name="Diagnosis">The diagnosis outcome for the same container, when the caller has one to show beside the verdict.</param>
public sealed record Verdict(
    string Key, string Domain, string Status, double Score, string Detector,
    IReadOnlyList<string> Peers, IReadOnlyList<OffMetric> OffMetrics,
    string? Kind = null, string? Reason = null, IReadOnlyList<string>? MissingMetrics = null, string? Diagnosis = null)
{
    public bool IsAbnormal => Status == VerdictStatus.Abnormal;
}
