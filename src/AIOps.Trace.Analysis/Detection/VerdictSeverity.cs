namespace AIOps.Trace.Analysis.Detection;

/// <summary>
/// One scale for every detector's verdict, so verdicts sort by it: a probability-like severity in
/// [0, 1] from the detector's margin past its own decision boundary. Each detector's raw score
/// means something else (a peer outlier's robust distance over its cutoff, where 1 is the cutoff;
/// an SVM's negated decision value, where 0 is the boundary), so the margin is measured from that
/// boundary and squashed by a logistic; the verdict's status then pins the side: every abnormal
/// verdict is at least 0.5 and every normal one below it, so an abnormal verdict always ranks
/// above a normal one, whatever the detectors. A verdict that was not judged has no severity.
/// </summary>
public static class VerdictSeverity
{
    /// <summary>Margin (in the detector's own units past its boundary) at which severity reaches about 0.88.</summary>
    private const double Steepness = 2.0;

    /// <summary>The margin of a raw score past the detector's boundary: positive on the abnormal side.</summary>
    public static double Margin(string detector, double score) => detector switch
    {
        DetectorNames.PeerOutlier or DetectorNames.PeerFallback => score - 1.0,
        _ => score,
    };

    /// <summary>The severity of a verdict, or null when it was not judged (too few peers, missing data, no score).</summary>
    public static double? Of(string status, string detector, double score)
    {
        if (status is not (VerdictStatus.Abnormal or VerdictStatus.Normal) || !double.IsFinite(score))
            return null;
        double s = 1.0 / (1.0 + Math.Exp(-Steepness * Margin(detector, score)));
        return status == VerdictStatus.Abnormal ? Math.Max(0.5, s) : Math.Min(Math.BitDecrement(0.5), s);
    }

    /// <inheritdoc cref="Of(string, string, double)"/>
    public static double? Of(Verdict v) => Of(v.Status, v.Detector, v.Score);
}
