using AIOps.Trace.Analysis;
using AIOps.Trace.Analysis.Collection;
using AIOps.Trace.Analysis.Detection;
using AIOps.Trace.Analysis.Verification;
using AIOps.Trace.Server.Api;

namespace AIOps.Trace.Server.Anomalies;

/// <summary>
/// What the anomaly routes serve between two rounds: immutable, replaced whole by each round. The
/// verdicts and domains documents are made from the round when first asked for, not every round:
/// a sidecar nobody asks builds none.
/// </summary>
public sealed class AnomalyView
{
    private readonly Lazy<VerdictsDocument> _round; // the round's verdicts, without a failure
    private readonly Lazy<VerdictsDocument> _verdicts;
    private readonly Lazy<DomainsDocument> _domains;

    public AnomalyView(Func<VerdictsDocument> verdicts, Func<DomainsDocument> domains, IReadOnlyDictionary<string, string> keyOfId,
        IReadOnlyDictionary<string, VerdictSummary> summaryOfKey)
        : this(new Lazy<VerdictsDocument>(verdicts), new Lazy<DomainsDocument>(domains), null, keyOfId, summaryOfKey)
    {
    }

    // A failed round keeps its round's documents, not the view before it: failures that go on
    // every window (no libsvm) do not chain one view to the next.
    private AnomalyView(Lazy<VerdictsDocument> round, Lazy<DomainsDocument> domains, string? failure,
        IReadOnlyDictionary<string, string> keyOfId, IReadOnlyDictionary<string, VerdictSummary> summaryOfKey)
    {
        _round = round;
        _verdicts = failure is null ? round : new Lazy<VerdictsDocument>(() => round.Value with { Failure = failure });
        _domains = domains;
        KeyOfId = keyOfId;
        SummaryOfKey = summaryOfKey;
    }

    public VerdictsDocument Verdicts => _verdicts.Value;

    public DomainsDocument Domains => _domains.Value;

    /// <summary>Container keys by API id, for labels that name a container by its id.</summary>
    public IReadOnlyDictionary<string, string> KeyOfId { get; }

    public IReadOnlyDictionary<string, VerdictSummary> SummaryOfKey { get; }

    /// <summary>The same round, its verdicts saying why the next one failed.</summary>
    internal AnomalyView Failed(string why) => new(_round, _domains, why, KeyOfId, SummaryOfKey);
}

/// <summary>A label the API refuses: the field at fault and what was expected.</summary>
public sealed class LabelRejectedException(string message) : Exception(message);

/// <summary>
/// The anomaly pipeline behind the HTTP API, on a sidecar (fed by the engine loop) and on an
/// analysis-only host (fed by a container source). Runs a round, publishes its documents, and takes
/// operators' labels, which the pipeline stores with the judged vector and learns from at once.
/// </summary>
public sealed class AnomalyService(AnalysisPipeline pipeline, VerdictStore? store, string node, bool acceptsLabels)
{
    /// <summary>Longest kind name a label may carry.</summary>
    public const int MaxKindLength = 64;

    private volatile AnomalyView _view = Build(AnalysisRound.Empty, new Dictionary<string, string>(), pipeline, store, node, acceptsLabels);

    /// <summary>Whether POST /api/v1/verdicts is open: only behind a bearer token, since labels change what the detector learns.</summary>
    public bool AcceptsLabels => acceptsLabels;

    /// <summary>The last round's documents.</summary>
    public AnomalyView View => _view;

    /// <summary>Runs one round and publishes it.</summary>
    /// <param name="idOfKey">Each container's API id by key, where the host has ids (the sidecar).</param>
    public AnalysisRound Analyze(IReadOnlyList<ContainerInput> inputs, IReadOnlyDictionary<string, string> idOfKey, DateTimeOffset at)
    {
        AnalysisRound round = pipeline.Run(inputs, at);
        _view = Build(round, idOfKey, pipeline, store, node, acceptsLabels);
        return round;
    }

    /// <summary>Says in the documents why the last round could not run (the previous round's verdicts stay).</summary>
    public void Failed(string why) => _view = _view.Failed(why);

    /// <summary>What is wrong with an anomaly kind an operator gave, or null when it can be stored (the API and the CLI's label both ask).</summary>
    public static string? KindProblem(string kind) =>
        kind.Length is 0 or > MaxKindLength || !kind.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.')
            ? $"expected 1 to {MaxKindLength} letters, digits, '_', '-' or '.', e.g. cpu_cap"
            : null;

    /// <summary>Takes an operator's label. The caller has checked that labels are accepted.</summary>
    /// <exception cref="LabelRejectedException">A field is missing or wrong, or the container is not in the last round.</exception>
    public StoredVerdictView Label(LabelRequest request, DateTimeOffset now)
    {
        if (string.IsNullOrEmpty(request.Container))
            throw new LabelRejectedException("container: expected the key (cgroup path) or id of a container the verdicts list");
        if (request.Abnormal is not bool abnormal)
            throw new LabelRejectedException("abnormal: expected true (an anomaly) or false (normal)");
        if (request.Kind is { } kind)
        {
            if (!abnormal)
                throw new LabelRejectedException($"kind: '{kind}' names an anomaly; it goes with \"abnormal\": true, not false");
            if (KindProblem(kind) is { } problem)
                throw new LabelRejectedException("kind: " + problem);
        }
        AnomalyView view = _view;
        string key = view.KeyOfId.TryGetValue(request.Container, out string? byId) ? byId : request.Container;
        OperatorVerdict stored;
        try
        {
            stored = pipeline.Label(key, abnormal, request.Kind, now);
        }
        catch (LabelRefusedException e)
        {
            throw new LabelRejectedException("container: " + e.Message);
        }
        return new StoredVerdictView(stored.Id, stored.Container, stored.Domain, stored.Abnormal, stored.Kind, stored.WindowEnd, stored.RecordedAt,
            store is not null, stored.Metrics is null ? null : ByName(stored.Metrics));
    }

    private static AnomalyView Build(AnalysisRound round, IReadOnlyDictionary<string, string> idOfKey, AnalysisPipeline pipeline,
        VerdictStore? store, string node, bool acceptsLabels)
    {
        var summaries = new Dictionary<string, VerdictSummary>(round.Verdicts.Count, StringComparer.Ordinal);
        foreach (Verdict v in round.Verdicts)
            summaries[v.Key] = new VerdictSummary(v.Status, Finite(v.Score), v.Domain, v.Detector, v.OffMetrics.Count == 0 ? [] : v.OffMetrics.Select(m => m.Metric).ToArray())
                { Severity = VerdictSeverity.Of(v) };
        var keyOfId = idOfKey.ToDictionary(p => p.Value, p => p.Key, StringComparer.Ordinal);
        DateTimeOffset? at = round.Seq == 0 ? null : round.At;
        // What may change after the round is read now; the documents are made from the round (immutable) when asked for.
        (string mode, string? storePath, string? storeProblem, int seeded) = (pipeline.Options.Domains, store?.Path, StoreProblem(store), pipeline.SeededVerdicts);
        return new AnomalyView(
            () => new VerdictsDocument(node, round.Seq, at, mode, acceptsLabels, storePath, storeProblem, seeded, null, VerdictViews(round, idOfKey)),
            () => new DomainsDocument(node, round.Seq, at, mode, Finite(round.Partition.Silhouette), DomainViews(round, idOfKey)),
            keyOfId, summaries);
    }

    private static List<VerdictView> VerdictViews(AnalysisRound round, IReadOnlyDictionary<string, string> idOfKey)
    {
        var verdicts = new List<VerdictView>(round.Verdicts.Count);
        foreach (Verdict v in round.Verdicts)
        {
            round.Partition.Memberships.TryGetValue(v.Key, out var membership);
            round.Vectors.TryGetValue(v.Key, out MetricVector? vector);
            verdicts.Add(new VerdictView(v.Key, idOfKey.GetValueOrDefault(v.Key), v.Status, Finite(v.Score), v.Domain, v.Detector, v.Peers,
                v.OffMetrics.Select(m => new OffMetricView(m.Metric, Finite(m.Value), Finite(m.Reference), Finite(m.Z))).ToArray(),
                v.Kind, v.Reason, v.MissingMetrics, v.Diagnosis, membership?.Explanation,
                vector is null ? new Dictionary<string, double?>() : ByName(vector.Values)) { Severity = VerdictSeverity.Of(v) });
        }
        return verdicts;
    }

    private static DomainView[] DomainViews(AnalysisRound round, IReadOnlyDictionary<string, string> idOfKey)
    {
        var byKey = new Dictionary<string, Verdict>(round.Verdicts.Count, StringComparer.Ordinal);
        foreach (Verdict v in round.Verdicts)
            byKey[v.Key] = v;
        return round.Domains.Select(d => new DomainView(d.Id, d.Detector, d.DetectorReason, d.TrainingSamples, d.VerifiedSamples, d.Abnormal,
            d.Members.Select(k =>
            {
                round.Partition.Memberships.TryGetValue(k, out var m);
                byKey.TryGetValue(k, out Verdict? v);
                return new MemberView(k, idOfKey.GetValueOrDefault(k), v?.Status ?? VerdictStatus.InsufficientData, v is null ? null : Finite(v.Score),
                    m?.Explanation ?? "", m?.Medoid, m?.Matched, m?.Differ) { Severity = v is null ? null : VerdictSeverity.Of(v) };
            }).ToArray())).ToArray();
    }

    /// <summary>What was wrong with the database found at start, or null.</summary>
    public static string? StoreProblem(VerdictStore? store) =>
        store?.SetAside is { } aside ? $"{store.Path} was unreadable ({store.Problem}); moved to {aside}, a new database was started"
        : store?.ReadOnlyReason is { } why ? $"{store.Path} is read-only ({why}): its verdicts are used, new labels are refused"
        : null;

    /// <summary>A metric vector by slot name, absent signals as null.</summary>
    internal static IReadOnlyDictionary<string, double?> ByName(double[] values) => new SlotValues(values);

    internal static double? Finite(double v) => double.IsFinite(v) ? v : null;
}
