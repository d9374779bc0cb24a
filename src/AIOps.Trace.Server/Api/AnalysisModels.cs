using System.Text.Json.Serialization;

namespace AIOps.Trace.Server.Api;

// The anomaly analysis' part of the JSON contract (docs/http-api.md). Figures that may be
// absent (NaN inside the pipeline) are null here: JSON has no NaN.

/// <summary>GET /api/v1/verdicts: the last round's verdict on every container.</summary>
/// <param name="Node">The sidecar's node (or the analysing host's name).</param>
/// <param name="Seq">The round's number (0 before the first).</param>
/// <param name="At">When the round was run.</param>
/// <param name="Grouping">How domains are formed (--domains).</param>
/// <param name="AcceptsLabels">Whether POST /api/v1/verdicts is open (a bearer token is configured).</param>
/// <param name="Store">The verdict database, when there is one.</param>
/// <param name="StoreProblem">A corrupt database found at start and set aside, or null.</param>
/// <param name="SeededVerdicts">Stored verdicts that trained the domains at start.</param>
/// <param name="Failure">Why the last round failed (source unreadable, analysis error), or null.</param>
public sealed record VerdictsDocument(string Node, long Seq, DateTimeOffset? At, string Grouping, bool AcceptsLabels, string? Store,
    string? StoreProblem, int SeededVerdicts, string? Failure, IReadOnlyList<VerdictView> Verdicts);

/// <summary>One container's verdict, its diagnosis beside it and the metric vector it was judged on.</summary>
/// <param name="Container">The container's key (its cgroup path), as labels name it.</param>
/// <param name="Id">Its id in /api/v1/containers, on a sidecar; null where there is none.</param>
/// <param name="Membership">Why the container is in its domain.</param>
public sealed record VerdictView(string Container, string? Id, string Status, double? Score, string Domain, string Detector,
    IReadOnlyList<string> Peers, IReadOnlyList<OffMetricView> OffMetrics, string? Kind, string? Reason,
    IReadOnlyList<string>? MissingMetrics, string? Diagnosis, string? Membership, IReadOnlyDictionary<string, double?> Vector)
{
    /// <summary>The verdict on one scale for every detector (<see cref="AIOps.Trace.Analysis.Detection.VerdictSeverity"/>): abnormal at 0.5 and above; null when not judged.</summary>
    public double? Severity { get; init; }
}

/// <summary>A metric that set a container apart: its value, the reference median and the robust z-score.</summary>
public sealed record OffMetricView(string Metric, double? Value, double? Reference, double? Z);

/// <summary>The verdict in brief, as the container list and detail show it.</summary>
public sealed record VerdictSummary(string Status, double? Score, string Domain, string Detector, IReadOnlyList<string> OffMetrics)
{
    /// <inheritdoc cref="VerdictView.Severity"/>
    public double? Severity { get; init; }
}

/// <summary>GET /api/v1/domains: the monitoring domains of the last round.</summary>
/// <param name="Silhouette">Mean silhouette of an environment-aware partition; null for tags.</param>
public sealed record DomainsDocument(string Node, long Seq, DateTimeOffset? At, string Grouping, double? Silhouette, IReadOnlyList<DomainView> Domains);

/// <summary>One domain: its detector, what it has learned, and its members.</summary>
public sealed record DomainView(string Id, string Detector, string DetectorReason, int TrainingSamples, int VerifiedSamples, int Abnormal,
    IReadOnlyList<MemberView> Members);

/// <summary>A member of a domain and why it is one.</summary>
public sealed record MemberView(string Container, string? Id, string Status, double? Score, string Explanation, string? Medoid,
    IReadOnlyList<string>? Matched, IReadOnlyList<string>? Differ)
{
    /// <inheritdoc cref="VerdictView.Severity"/>
    public double? Severity { get; init; }
}

/// <summary>POST /api/v1/verdicts: an operator's verdict on a container of the last round.</summary>
/// <param name="Container">The container's key (cgroup path) or its API id.</param>
/// <param name="Abnormal">true confirms an anomaly, false says the container is normal.</param>
/// <param name="Kind">The anomaly kind (only with abnormal), e.g. "cpu_cap".</param>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record LabelRequest(string? Container, bool? Abnormal, string? Kind);

/// <summary>A stored operator verdict (the POST's 201 answer).</summary>
/// <param name="Id">Its row in the verdict database.</param>
/// <param name="Vector">The metric vector it judged, by metric name.</param>
/// <param name="Stored">Whether it is in a database (false: kept in memory until the process ends).</param>
public sealed record StoredVerdictView(long Id, string Container, string? Domain, bool Abnormal, string? Kind, DateTimeOffset? WindowEnd,
    DateTimeOffset RecordedAt, bool Stored, IReadOnlyDictionary<string, double?>? Vector);
