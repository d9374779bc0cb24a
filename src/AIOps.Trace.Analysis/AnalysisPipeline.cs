using AIOps.Trace.Analysis.Collection;
using AIOps.Trace.Analysis.Detection;
using AIOps.Trace.Analysis.Partitioning;
using AIOps.Trace.Analysis.Processing;
using AIOps.Trace.Analysis.Verification;

namespace AIOps.Trace.Analysis;

/// <summary>Settings of <see cref="AnalysisPipeline"/>.</summary>
public sealed record PipelineOptions
{
    /// <summary>
    /// How containers are grouped: a tag of <see cref="DomainPartitioner.ByTag"/> ("owner", "image",
    /// "runtime", "qos", "node", "label:KEY") or <see cref="EnvironmentDomains"/> for clustering.
    /// </summary>
    public string Domains { get; init; } = DomainPartitioner.OwnerTag;

    /// <summary>Largest k tried by environment-aware partitioning.</summary>
    public int MaxDomains { get; init; } = 10;

    public AnalyzerOptions Analyzer { get; init; } = new();

    /// <summary>The value of <see cref="Domains"/> that clusters attributes (k-medoids, Gower distance).</summary>
    public const string EnvironmentDomains = "environment";

    /// <summary>Why <paramref name="domains"/> is not a grouping, or null when it is.</summary>
    public static string? Refusal(string domains) =>
        domains == EnvironmentDomains || DomainPartitioner.IsTag(domains)
            ? null
            : $"--domains '{domains}' is not a grouping: expected owner, image, runtime, qos, node, label:KEY or environment";
}

/// <summary>One container as the pipeline takes it: what it is, its window's metrics, and its diagnosis outcome if any.</summary>
/// <param name="Diagnosis">The reverse diagnosis' outcome to show beside the verdict (e.g. "cpu: cap_throttled").</param>
public sealed record ContainerInput(ContainerAttributes Attributes, MetricVector Vector, string? Diagnosis = null);

/// <summary>A domain after one round: who is in it and which detector judged it.</summary>
/// <param name="Detector">The domain model's detector (<see cref="DetectorNames"/>), peers only until it has learned.</param>
/// <param name="DetectorReason">Why that detector.</param>
/// <param name="TrainingSamples">Samples in its bounded training set, with those of the model every domain shares (<see cref="AnalyzerOptions.ShareLabels"/>).</param>
/// <param name="VerifiedSamples">Of those, the operators' verdicts.</param>
/// <param name="Abnormal">Members judged abnormal this round.</param>
public sealed record DomainSummary(string Id, IReadOnlyList<string> Members, string Detector, string DetectorReason,
    int TrainingSamples, int VerifiedSamples, int Abnormal);

/// <summary>The outcome of one round: every container's verdict, the domains, and the vectors judged.</summary>
public sealed record AnalysisRound(long Seq, DateTimeOffset At, IReadOnlyList<Verdict> Verdicts, Partition Partition,
    IReadOnlyList<DomainSummary> Domains, IReadOnlyDictionary<string, MetricVector> Vectors)
{
    public static readonly AnalysisRound Empty = new(0, DateTimeOffset.MinValue, [], new Partition([], new Dictionary<string, Membership>()), [],
        new Dictionary<string, MetricVector>());
}

/// <summary>An operator's label could not be taken (unknown container, nothing to learn from).</summary>
public sealed class LabelRefusedException(string message) : Exception(message);

/// <summary>
/// The five modules in order, round after round: attributes and vectors in (collection), domains
/// (partitioning), robust processing and detection per domain (the analyzer), and operator
/// verdicts (verification) that are stored with the vector they judged and teach the domain's
/// model at once. Thread-safe: a sidecar runs rounds on its engine loop while requests label.
/// </summary>
public sealed class AnalysisPipeline : IDisposable
{
    private readonly PipelineOptions _options;
    private readonly AnomalyAnalyzer _analyzer;
    private readonly VerdictStore? _store;
    private readonly Lock _gate = new();
    private AnalysisRound _last = AnalysisRound.Empty;

    /// <summary>Starts the pipeline; the store's verdicts (if given) seed the domains' training sets.</summary>
    /// <param name="store">Where operator verdicts are kept; null keeps them in memory only. The pipeline does not own it.</param>
    public AnalysisPipeline(PipelineOptions? options = null, VerdictStore? store = null)
    {
        _options = options ?? new PipelineOptions();
        if (PipelineOptions.Refusal(_options.Domains) is { } why)
            throw new ArgumentException(why, nameof(options));
        _analyzer = new AnomalyAnalyzer(_options.Analyzer);
        _store = store;
        SeededVerdicts = store?.FeedInto(_analyzer) ?? 0;
    }

    public PipelineOptions Options => _options;

    /// <summary>Stored verdicts that seeded the training sets at start.</summary>
    public int SeededVerdicts { get; }

    /// <summary>The last round (empty before the first).</summary>
    public AnalysisRound Last => Volatile.Read(ref _last);

    /// <summary>Runs one round over the containers of one window.</summary>
    public AnalysisRound Run(IReadOnlyList<ContainerInput> containers, DateTimeOffset at)
    {
        var attributes = new ContainerAttributes[containers.Count];
        var vectors = new MetricVector[containers.Count];
        var diagnoses = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < containers.Count; i++)
        {
            attributes[i] = containers[i].Attributes;
            vectors[i] = containers[i].Vector;
            if (containers[i].Diagnosis is { } d)
                diagnoses[containers[i].Vector.Key] = d;
        }
        Partition partition = _options.Domains == PipelineOptions.EnvironmentDomains
            ? DomainPartitioner.ByEnvironment(attributes, _options.MaxDomains, previous: Volatile.Read(ref _last).Partition) // ids stay with their members across rounds
            : DomainPartitioner.ByTag(attributes, _options.Domains);
        lock (_gate)
        {
            IReadOnlyList<Verdict> verdicts = _analyzer.Analyze(partition, vectors, diagnoses);
            var abnormal = verdicts.Where(v => v.IsAbnormal).GroupBy(v => v.Domain).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
            // The shared model's samples teach every domain too (AnalyzerOptions.ShareLabels); all are operators' verdicts.
            int shared = _options.Analyzer.ShareLabels ? _analyzer.Shared.Training.Count : 0;
            var domains = partition.Domains.Select(d =>
            {
                DomainModel? m = _analyzer.JudgeOf(d.Id);
                _analyzer.Models.TryGetValue(d.Id, out DomainModel? own);
                return new DomainSummary(d.Id, d.Members, m?.Detector ?? DetectorNames.PeerOutlier, m?.ChoiceReason ?? "no history yet",
                    (own?.Training.Count ?? 0) + shared, (own?.Training.Samples.Count(s => s.Verified) ?? 0) + shared,
                    abnormal.GetValueOrDefault(d.Id));
            }).ToArray();
            var byKey = new Dictionary<string, MetricVector>(vectors.Length, StringComparer.Ordinal);
            foreach (MetricVector v in vectors)
                byKey[v.Key] = v;
            var round = new AnalysisRound(_last.Seq + 1, at, verdicts, partition, domains, byKey);
            Volatile.Write(ref _last, round);
            return round;
        }
    }

    /// <summary>
    /// Takes an operator's verdict on a container of the last round: stores it with that round's
    /// vector and domain, and teaches the domain's model. <paramref name="container"/> is the
    /// container's key as the verdicts name it.
    /// </summary>
    /// <exception cref="LabelRefusedException">The last round has no such container.</exception>
    public OperatorVerdict Label(string container, bool abnormal, string? kind, DateTimeOffset now)
    {
        if (kind is not null && !abnormal)
            throw new LabelRefusedException($"kind '{kind}' names an anomaly: it goes with abnormal, not normal");
        lock (_gate)
        {
            AnalysisRound round = _last;
            if (!round.Vectors.TryGetValue(container, out MetricVector? vector)
                || !round.Partition.Memberships.TryGetValue(container, out Membership? membership))
                throw new LabelRefusedException($"no container '{container}' in the last round ({round.Vectors.Count} containers): label one the verdicts list");
            RobustScaler? peers = Peers(round, membership.DomainId);
            var verdict = new OperatorVerdict(container, membership.DomainId, abnormal, kind, (double[])vector.Values.Clone(), round.At, now,
                PeerMedians: peers?.Medians, PeerScales: peers?.Scales);
            if (_store is not null)
                verdict = _store.Record(verdict);
            _analyzer.Learn(membership.DomainId, new TrainingSample(verdict.Metrics!, abnormal, kind, Verified: true, verdict.PeerMedians, verdict.PeerScales));
            return verdict;
        }
    }

    /// <summary>
    /// The domain's median and robust scale of each slot in the round, as the analyzer gives its
    /// models beside a window (a load the whole domain shares is then not learnt as one
    /// container's fault); null when the domain was too small for peers, as the analyzer has none then either.
    /// </summary>
    private RobustScaler? Peers(AnalysisRound round, string domainId)
    {
        MonitoringDomain? domain = round.Partition.Domains.FirstOrDefault(d => d.Id == domainId);
        if (domain is null)
            return null;
        var rows = domain.Members.Where(round.Vectors.ContainsKey).Select(k => round.Vectors[k].Values).ToList();
        return rows.Count < _options.Analyzer.Peers.MinPeers ? null : RobustScaler.Fit(rows, Metrics.Count, _options.Analyzer.Processing.RelativeScaleFloor);
    }

    /// <summary>The stored operator verdicts, newest last (empty without a store).</summary>
    public IReadOnlyList<OperatorVerdict> StoredVerdicts()
    {
        lock (_gate)
            return _store?.Verdicts() ?? [];
    }

    public void Dispose()
    {
        lock (_gate)
            _analyzer.Dispose();
    }
}
