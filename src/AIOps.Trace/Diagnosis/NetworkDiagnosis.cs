namespace AIOps.Trace.Diagnosis;

/// <summary>What the network tree looks at for one container's interface and namespace over one window. -1 marks a missing signal.</summary>
public sealed record NetworkEvidence
{
    public required string Interface { get; init; }

    /// <summary>Qdisc drops and overlimits on the interface, deltas; -1 unknown.</summary>
    public long QdiscDrops { get; init; } = -1;
    public long QdiscOverlimits { get; init; } = -1;

    /// <summary>Transmit rate and the shaping limit (bytes/s); limit -1 when none.</summary>
    public double TxBytesPerSecond { get; init; }
    public double LimitBytesPerSecond { get; init; } = -1;

    /// <summary>TCP segments retransmitted and sent in the namespace (/proc/net/snmp), deltas; -1 unknown.</summary>
    public long RetransSegs { get; init; } = -1;
    public long OutSegs { get; init; } = -1;
}

public sealed record NetworkThresholds
{
    /// <summary>Rate / limit at or above which the interface runs at its limit.</summary>
    public double AtLimitRatio { get; init; } = 0.90;

    /// <summary>Retransmitted / sent segments at or above which the path is lossy.</summary>
    public double RetransmitRatio { get; init; } = 0.01;

    /// <summary>Fewest retransmits that count (a handful on a quiet link is noise).</summary>
    public long MinRetransmits { get; init; } = 10;
}

/// <summary>Reverse diagnosis for network: bandwidth limit on the interface, contention on the path or host, or neither.</summary>
public static class NetworkDiagnosis
{
    public const string Resource = "network";

    public static ResourceDiagnosis Diagnose(NetworkEvidence e, NetworkThresholds? thresholds = null)
    {
        NetworkThresholds t = thresholds ?? new NetworkThresholds();
        var path = new PathBuilder();

        bool qdiscKnown = e.QdiscDrops >= 0 || e.QdiscOverlimits >= 0;
        if (qdiscKnown && path.Ask("qdisc drops or overlimits", "qdisc_drops_and_overlimits", Math.Max(0, e.QdiscDrops) + Math.Max(0, e.QdiscOverlimits), 1))
            return path.Decide(Resource, Outcomes.BandwidthLimited,
                $"bandwidth limited on {e.Interface}: {Math.Max(0, e.QdiscDrops)} drops, {Math.Max(0, e.QdiscOverlimits)} overlimits in its qdisc");
        if (e.LimitBytesPerSecond > 0 && path.Ask("rate at its limit", "rate_to_limit", e.TxBytesPerSecond / e.LimitBytesPerSecond, t.AtLimitRatio))
            return path.Decide(Resource, Outcomes.BandwidthLimited,
                $"bandwidth limited on {e.Interface}: {e.TxBytesPerSecond / 125000:0.#} Mbit/s of a {e.LimitBytesPerSecond / 125000:0.#} Mbit/s limit");

        if (e.RetransSegs < 0 || e.OutSegs < 0)
            return qdiscKnown
                ? path.Undecidable(Resource, "no TCP counters (/proc/net/snmp) in the container's network namespace")
                : path.Undecidable(Resource, $"neither qdisc statistics for {e.Interface} nor TCP counters are readable");
        double ratio = e.OutSegs > 0 ? (double)e.RetransSegs / e.OutSegs : 0;
        if (e.RetransSegs >= t.MinRetransmits && path.Ask("retransmits rising", "retransmit_ratio", ratio, t.RetransmitRatio))
            return path.Decide(Resource, Outcomes.Contention, $"path/host contention: {e.RetransSegs} of {e.OutSegs} TCP segments retransmitted ({100 * ratio:0.#}%)");
        if (e.RetransSegs < t.MinRetransmits)
            path.Ask("retransmits rising", "retransmits", e.RetransSegs, t.MinRetransmits);
        return path.Decide(Resource, Outcomes.NotLimited, $"not network limited: {e.TxBytesPerSecond / 125000:0.#} Mbit/s sent, {100 * ratio:0.##}% retransmitted");
    }
}
