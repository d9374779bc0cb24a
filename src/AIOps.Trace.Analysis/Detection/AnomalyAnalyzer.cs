using AIOps.Trace.Analysis.Collection;
using AIOps.Trace.Analysis.Partitioning;
using AIOps.Trace.Analysis.Processing;

namespace AIOps.Trace.Analysis.Detection;

/// <summary>Settings of <see cref="AnomalyAnalyzer"/>.</summary>
public sealed record AnalyzerOptions
{
    public ProcessingOptions Processing { get; init; } = new();
    public PeerOptions Peers { get; init; } = new();
    public LearningOptions Learning { get; init; } = new();

    /// <summary>Keep windows the peers judged normal as unverified normal history (what a one-class SVM learns from).</summary>
    public bool RecordNormalHistory { get; init; } = true;

    /// <summary>
    /// Rounds a domain may go unseen before its model is dropped (a Job's or CronJob's owner makes
    /// a domain that never comes back). A domain that holds operator verdicts is kept longer: only
    /// <see cref="MaxDomains"/> drops it.
    /// </summary>
    public int DomainIdleRounds { get; init; } = 3_600;

    /// <summary>Models held at most: past it the least recently seen go first, unverified before verified.</summary>
    public int MaxDomains { get; init; } = 2_000;

    /// <summary>
    /// Operator verdicts taken beside their peers (the window's medians and scales known) teach one
    /// labelled model shared by every domain, which judges every domain with peers once it has
    /// learned; false keeps each domain's verdicts to its own model. Its inputs are each metric's
    /// robust z-score among the container's peers in the same window, which means the same in
    /// any domain and at any load: a fault looks alike beside its peers whichever replica group it
    /// hits, so a kind confirmed in one domain is known in the others, and each label teaches
    /// every domain instead of one.
    /// </summary>
    public bool ShareLabels { get; init; } = true;
}

/// <summary>
/// Runs detection per monitoring domain, window after window: robust processing, peer-group
/// outliers, and a learned model once there is one: the labelled model every domain shares
/// (<see cref="AnalyzerOptions.ShareLabels"/>), else the domain's own. A model trained on operator verdicts
/// takes precedence over the peers where it finds an anomaly (it knows what the operator called
/// abnormal and names the kind); where it calls a container normal that the peers flag, the peers'
/// verdict stands (<see cref="DetectorNames.PeerFallback"/>): labels name the kinds seen so far, not
/// every fault there is. A one-class model
/// of unverified history confirms the peers' outliers where they can judge (abnormal when both say
/// so) and judges alone where they cannot (too few of them); a domain too small for peers and
/// without a model is "too few peers".
/// </summary>
public sealed class AnomalyAnalyzer : IDisposable
{
    private readonly AnalyzerOptions _options;
    private readonly Dictionary<string, DomainModel> _models = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _lastSeen = new(StringComparer.Ordinal);
    private readonly DomainModel _shared;
    private long _round;

    public AnomalyAnalyzer(AnalyzerOptions? options = null)
    {
        _options = options ?? new AnalyzerOptions();
        _shared = new DomainModel(SharedDomain, _options.Learning);
    }

    /// <summary>The name of the model shared by every domain (<see cref="AnalyzerOptions.ShareLabels"/>); no domain has it.</summary>
    public const string SharedDomain = "*";

    /// <summary>The labelled model every domain shares (<see cref="AnalyzerOptions.ShareLabels"/>); empty while no verdict with peers came.</summary>
    public DomainModel Shared => _shared;

    /// <summary>
    /// The model that judges <paramref name="domain"/>'s containers beside the peers: the shared
    /// labelled one once it has learned, else the domain's own (null when it has none).
    /// </summary>
    public DomainModel? JudgeOf(string domain)
    {
        if (_options.ShareLabels && _shared.Training.Count > 0)
        {
            _shared.EnsureTrained();
            if (_shared.IsLabelled)
                return _shared;
        }
        return _models.GetValueOrDefault(domain);
    }

    /// <summary>Domains with a model (history or labels).</summary>
    public IReadOnlyDictionary<string, DomainModel> Models => _models;

    /// <summary>Models dropped so far because their domain went unseen or there were too many.</summary>
    public long RetiredDomains { get; private set; }

    /// <summary>The domain's model, created empty when new.</summary>
    public DomainModel ModelFor(string domain)
    {
        if (!_models.TryGetValue(domain, out DomainModel? model))
            _models[domain] = model = new DomainModel(domain, _options.Learning);
        _lastSeen[domain] = _round;
        return model;
    }

    /// <summary>
    /// Adds an operator's (or history's) sample to a domain's training set; an operator's verdict
    /// that knows its peers goes to the shared model instead (<see cref="AnalyzerOptions.ShareLabels"/>).
    /// </summary>
    public void Learn(string domain, TrainingSample sample)
    {
        if (_options.ShareLabels && sample.Verified && sample.HasPeerContext)
            _shared.Add(sample);
        else
            ModelFor(domain).Add(sample);
    }

    /// <summary>Analyses one window: every domain of the partition over the containers' vectors.</summary>
    /// <param name="diagnoses">The diagnosis outcome per container key, shown beside its verdict when given.</param>
    public IReadOnlyList<Verdict> Analyze(Partition partition, IReadOnlyList<MetricVector> vectors,
        IReadOnlyDictionary<string, string>? diagnoses = null)
    {
        var byKey = new Dictionary<string, MetricVector>(vectors.Count, StringComparer.Ordinal);
        foreach (MetricVector v in vectors)
            byKey[v.Key] = v;
        var verdicts = new List<Verdict>(vectors.Count);
        var members = new List<MetricVector>();
        foreach (MonitoringDomain domain in partition.Domains)
        {
            members.Clear();
            foreach (string key in domain.Members)
                if (byKey.TryGetValue(key, out MetricVector? v))
                    members.Add(v);
            foreach (Verdict verdict in AnalyzeDomain(domain.Id, members))
                verdicts.Add(diagnoses is not null && diagnoses.TryGetValue(verdict.Key, out string? outcome) ? verdict with { Diagnosis = outcome } : verdict);
        }
        Retire();
        return verdicts;
    }

    /// <summary>Drops the models of domains gone for <see cref="AnalyzerOptions.DomainIdleRounds"/>, then the oldest past <see cref="AnalyzerOptions.MaxDomains"/>.</summary>
    private void Retire()
    {
        _round++;
        List<string>? idle = null;
        foreach ((string domain, long seen) in _lastSeen)
            if (_round - seen > _options.DomainIdleRounds && _models[domain].Training.VerifiedAdded == 0)
                (idle ??= []).Add(domain);
        if (idle is not null)
            foreach (string domain in idle)
                Drop(domain);
        if (_models.Count <= _options.MaxDomains)
            return;
        foreach (string domain in _lastSeen.OrderBy(p => _models[p.Key].Training.VerifiedAdded > 0).ThenBy(p => p.Value)
                     .Take(_models.Count - _options.MaxDomains).Select(p => p.Key).ToList())
            Drop(domain);
    }

    private void Drop(string domain)
    {
        _models.Remove(domain, out DomainModel? model);
        _lastSeen.Remove(domain);
        model?.Dispose();
        RetiredDomains++;
    }

    /// <summary>Analyses one domain's containers in one window.</summary>
    public IReadOnlyList<Verdict> AnalyzeDomain(string domain, IReadOnlyList<MetricVector> members)
    {
        // Too few to compare and no model of its own: the peers' verdict, without processing the
        // metrics (which only the peers' comparison and a model would use).
        if (members.Count < _options.Peers.MinPeers && !_models.ContainsKey(domain))
            return PeerOutlierDetector.TooFewPeers(domain, members.Select(m => m.Key).ToArray(), _options.Peers);
        ProcessedDomain processed = DomainProcessor.Process(members, _options.Processing);
        IReadOnlyList<Verdict> peers = PeerOutlierDetector.Detect(domain, processed, _options.Peers);
        if (_models.TryGetValue(domain, out DomainModel? model))
            _lastSeen[domain] = _round;
        bool hasPeers = processed.Rows >= _options.Peers.MinPeers;
        double[]? peerMedians = hasPeers ? processed.Scaler.Medians : null;
        double[]? peerScales = hasPeers ? processed.Scaler.Scales : null;
        // The shared model learned beside peers: it judges only where there are peers to stand beside.
        DomainModel? judge = hasPeers ? JudgeOf(domain) : model;
        bool shared = judge is not null && ReferenceEquals(judge, _shared);
        var result = new Verdict[peers.Count];
        for (int i = 0; i < peers.Count; i++)
        {
            Verdict peer = peers[i];
            Verdict? own = judge?.Judge(peer.Key, members[i].Values, peer.Peers, _options.Peers.MetricZ, peerMedians, peerScales);
            if (shared && own is not null)
                own = own with
                {
                    Domain = domain,
                    // Its training levels mix every domain's: the metrics off are the ones off the peers.
                    OffMetrics = own.IsAbnormal ? PeerOutlierDetector.OffMetrics(processed, i, _options.Peers.MetricZ) : [],
                    Reason = own.Reason + ", shared by every domain",
                };
            // A one-class model knows only unverified history: where peers can judge, it confirms
            // their outliers (abnormal when both say so) and never raises one of its own.
            if (own is { Detector: DetectorNames.OneClassSvm } && peer.Status is VerdictStatus.Normal or VerdictStatus.Abnormal)
                own = own.IsAbnormal && peer.IsAbnormal ? own
                    : peer with
                    {
                        Status = VerdictStatus.Normal, OffMetrics = [],
                        Reason = peer.Reason + (peer.IsAbnormal
                            ? "; but within the domain's one-class history: normal"
                            : own.IsAbnormal ? "; the one-class history finds it unusual, the peers do not" : ""),
                    };
            // A labelled model knows only the kinds it was taught: what it calls normal without
            // conviction (inside its margin, as rows far from all its training data are) while the
            // peers flag it stays abnormal, so a new kind of fault is not hidden behind the labels.
            else if (own is { IsAbnormal: false } && own.Detector != DetectorNames.OneClassSvm && peer.IsAbnormal && own.Score > -1)
                own = peer with
                {
                    Detector = DetectorNames.PeerFallback,
                    Reason = peer.Reason + $"; the labelled {own.Detector} calls it normal, the peers do not: abnormal, of a kind the labels do not name",
                };
            if (own is not null && own.IsAbnormal && own.OffMetrics.Count == 0 && peer.Status != VerdictStatus.TooFewPeers)
                own = own with { OffMetrics = PeerOutlierDetector.OffMetrics(processed, i, _options.Peers.MetricZ) };
            result[i] = own ?? peer;
        }
        if (_options.RecordNormalHistory && processed.Rows >= _options.Peers.MinPeers)
        {
            for (int i = 0; i < result.Length; i++)
                if (result[i].Status == VerdictStatus.Normal)
                    (model ??= ModelFor(domain)).Add(new TrainingSample(members[i].Values, Abnormal: false, Verified: false, PeerMedians: peerMedians, PeerScales: peerScales));
        }
        return result;
    }

    public void Dispose()
    {
        _shared.Dispose();
        foreach (DomainModel m in _models.Values)
            m.Dispose();
        _models.Clear();
        _lastSeen.Clear();
    }
}
