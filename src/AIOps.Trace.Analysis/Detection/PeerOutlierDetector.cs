using AIOps.Trace.Analysis.Collection;
using AIOps.Trace.Analysis.Processing;
using MathNet.Numerics.Distributions;

namespace AIOps.Trace.Analysis.Detection;

/// <summary>Thresholds of the peer comparison.</summary>
public sealed record PeerOptions
{
    /// <summary>Containers a domain needs before its members are compared (fewer: "too few peers").</summary>
    public int MinPeers { get; init; } = 3;

    /// <summary>Tail probability of the chi-square cutoff on the robust squared distance.</summary>
    public double Alpha { get; init; } = 0.001;

    /// <summary>|robust z| at or above which a metric is named as off.</summary>
    public double MetricZ { get; init; } = 3.5;

    /// <summary>Share of the domain's metrics a container must have to be judged.</summary>
    public double MinPresentShare { get; init; } = 0.5;
}

/// <summary>
/// Peer-group outlier detection without labels: each container against the others of its domain.
/// Abnormal = its robust Mahalanobis distance is beyond the chi-square cutoff and, as a second
/// opinion, DBSCAN leaves it outside the largest cluster (with 20 peers the distance alone passes
/// the cutoff for about one healthy container in a few domains: small samples have heavy tails).
/// The off metrics are the ones whose |z| passes <see cref="PeerOptions.MetricZ"/>, or the two
/// most deviant when the break is in how metrics go together rather than in one of them.
/// </summary>
public static class PeerOutlierDetector
{
    public static IReadOnlyList<Verdict> Detect(string domain, ProcessedDomain d, PeerOptions? options = null)
    {
        PeerOptions o = options ?? new PeerOptions();
        var verdicts = new Verdict[d.Rows];
        if (d.Rows < o.MinPeers)
            return TooFewPeers(domain, d.Keys, o);
        if (d.Columns == 0)
        {
            for (int i = 0; i < d.Rows; i++)
                verdicts[i] = new Verdict(d.Keys[i], domain, VerdictStatus.Normal, 0, DetectorNames.PeerOutlier, Peers(d, i), [],
                    Reason: "no metric varies within the domain: " + string.Join(", ", d.Dropped.Select(x => $"{x.Metric} ({x.Reason})")));
            return verdicts;
        }

        (double[] d2, bool mcd) = RobustCovariance.SquaredDistances(d.Z);
        double cutoff = ChiSquared.InvCDF(d.Columns, 1 - o.Alpha);
        bool[] inLargest = Dbscan.InLargestCluster(d.Z, Math.Max(2, Math.Min(5, d.Rows / 3)));
        string method = mcd ? "robust Mahalanobis (MCD)" : "robust distance (diagonal: too few containers for a covariance)";
        for (int i = 0; i < d.Rows; i++)
        {
            string[] missing = MissingMetrics(d, i);
            if (missing.Length > (1 - o.MinPresentShare) * d.Columns)
            {
                verdicts[i] = new Verdict(d.Keys[i], domain, VerdictStatus.InsufficientData, double.NaN, DetectorNames.PeerOutlier, Peers(d, i), [],
                    Reason: $"lacks {missing.Length} of the domain's {d.Columns} metrics", MissingMetrics: missing);
                continue;
            }
            IReadOnlyList<OffMetric> off = OffMetrics(d, i, o.MetricZ);
            double score = Math.Sqrt(d2[i] / cutoff);
            bool beyond = d2[i] > cutoff;
            bool abnormal = beyond && !inLargest[i];
            bool onlyBetter = abnormal && off.Count > 0 && off.All(m => m.Z < 0 && Metrics.LowerIsBetter(Metrics.SlotOf(m.Metric)));
            abnormal &= !onlyBetter;
            string reason = onlyBetter
                ? $"{method} {Math.Sqrt(d2[i]):0.##} beyond the cutoff, but it differs from its peers only where lower is better ("
                  + string.Join(", ", off.Select(m => $"{m.Metric} {m.Value:G4} vs {m.Reference:G4}")) + ")"
                : abnormal
                ? $"{method} {Math.Sqrt(d2[i]):0.##} beyond the cutoff {Math.Sqrt(cutoff):0.##} (chi-square, {d.Columns} metrics, alpha {o.Alpha})"
                  + "; outside the largest DBSCAN cluster"
                : beyond ? $"{method} {Math.Sqrt(d2[i]):0.##} beyond the cutoff, but DBSCAN keeps it with its peers"
                : $"{method} {Math.Sqrt(d2[i]):0.##} within the cutoff {Math.Sqrt(cutoff):0.##}";
            if (abnormal && off.Count == 0)
                off = OffMetrics(d, i, 0).Take(2).ToArray(); // a correlation break: name the most deviant metrics
            verdicts[i] = new Verdict(d.Keys[i], domain, abnormal ? VerdictStatus.Abnormal : VerdictStatus.Normal, score,
                DetectorNames.PeerOutlier, Peers(d, i), abnormal ? off : [], Reason: reason, MissingMetrics: missing.Length > 0 ? missing : null);
        }
        return verdicts;
    }

    /// <summary>
    /// The metrics of row <paramref name="i"/> with |z| at or above the threshold, or on which every
    /// peer agrees exactly and this row does not, most deviant first. The second rule is for small
    /// domains: when the peers agree (MAD 0) the scale falls back to the mean absolute deviation,
    /// which bounds a lone outlier's |z| at n / 1.2533, under the threshold for n = 4 ("three
    /// replicas never throttled, this one throttled in every period").
    /// </summary>
    internal static IReadOnlyList<OffMetric> OffMetrics(ProcessedDomain d, int i, double threshold)
    {
        var list = new List<OffMetric>();
        for (int c = 0; c < d.Columns; c++)
        {
            if (d.Missing[i][c]) continue;
            int slot = d.Slots[c];
            double z = d.Z[i][c];
            if (Math.Abs(z) >= threshold || PeersAgreeWithout(d, i, c))
                list.Add(new OffMetric(Metrics.Names[slot], d.Raw[i][slot], d.Scaler.Medians[slot], z));
        }
        return list.OrderByDescending(m => Math.Abs(m.Z)).ToArray();
    }

    /// <summary>True when at least two peers have column <paramref name="c"/>, all with one value, and row <paramref name="i"/> another.</summary>
    private static bool PeersAgreeWithout(ProcessedDomain d, int i, int c)
    {
        int slot = d.Slots[c], peers = 0;
        double value = double.NaN;
        for (int j = 0; j < d.Rows; j++)
        {
            if (j == i || d.Missing[j][c]) continue;
            if (peers++ == 0) value = d.Raw[j][slot];
            else if (d.Raw[j][slot] != value) return false;
        }
        return peers >= 2 && d.Raw[i][slot] != value;
    }

    // Most domains of a node are one container: their reason is one string, not one per domain and round.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(int Count, int MinPeers), string> TooFewPeersReasons = new();

    /// <summary>
    /// The verdicts of a domain with fewer than <see cref="PeerOptions.MinPeers"/> containers: none
    /// can be compared, so nothing of their metrics is looked at (most domains of a node are one
    /// container: a DaemonSet's pod, one replica of a Deployment spread over nodes).
    /// </summary>
    internal static Verdict[] TooFewPeers(string domain, IReadOnlyList<string> keys, PeerOptions o)
    {
        var verdicts = new Verdict[keys.Count];
        string reason = TooFewPeersReasons.GetOrAdd((keys.Count, o.MinPeers),
            static k => $"too few peers: the domain has {k.Count} container(s), at least {k.MinPeers} are needed to compare");
        for (int i = 0; i < keys.Count; i++)
            verdicts[i] = new Verdict(keys[i], domain, VerdictStatus.TooFewPeers, double.NaN, DetectorNames.None,
                keys.Count == 1 ? [] : new OtherMembers(keys, i), [], Reason: reason);
        return verdicts;
    }

    internal static IReadOnlyList<string> Peers(ProcessedDomain d, int i) => new OtherMembers(d.Keys, i);

    private static string[] MissingMetrics(ProcessedDomain d, int i) =>
        Enumerable.Range(0, d.Columns).Where(c => d.Missing[i][c]).Select(c => Metrics.Names[d.Slots[c]]).ToArray();
}
