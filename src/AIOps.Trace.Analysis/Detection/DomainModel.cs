using AIOps.Trace.Analysis.Collection;
using AIOps.Trace.Analysis.Detection.Svm;
using AIOps.Trace.Analysis.Processing;

namespace AIOps.Trace.Analysis.Detection;

/// <summary>
/// What a domain has learned: its bounded training set and, once the data supports one, an SVM
/// (one-class, C-SVC, class-weighted C-SVC, or with kinds a binary C-SVC whose anomalies a
/// multiclass C-SVC names, as <see cref="DetectorChoice"/> picks),
/// refitted from scratch on the whole set at once when an operator's verdict arrives and after
/// <see cref="LearningOptions.RetrainEvery"/> history samples (no incremental SVM).
/// Rows are scaled with the training set's own medians and scales, so a model does not move with
/// the window it judges.
/// </summary>
public sealed class DomainModel : IDisposable
{
    private readonly LearningOptions _options;
    private SvmModel? _model;
    private SvmModel? _kindModel; // with kinds: names the kind of what the binary _model calls abnormal
    private ProcessedDomain? _basis;
    private ProcessedDomain? _peerBasis;
    private bool _peerScaled;
    private long _trainedVersion = -1;
    private long _trainedVerified = -1;
    private string _chosen = DetectorNames.PeerOutlier; // what DetectorChoice picked, before a fallback to peers
    private string[] _kinds = [];

    public DomainModel(string domain, LearningOptions? options = null)
    {
        Domain = domain;
        _options = options ?? new LearningOptions();
        Training = new BoundedTrainingSet(_options.Capacity);
    }

    public string Domain { get; }
    public BoundedTrainingSet Training { get; }

    /// <summary>The detector in use (<see cref="DetectorNames"/>) and why it was chosen.</summary>
    public string Detector { get; private set; } = DetectorNames.PeerOutlier;
    public string ChoiceReason { get; private set; } = "no history yet";

    /// <summary>Times a model was (re)trained.</summary>
    public int Trainings { get; private set; }

    /// <summary>Whether the detector in use learned from operator verdicts (a C-SVC, weighted or multiclass).</summary>
    public bool IsLabelled => Detector is DetectorNames.Csvc or DetectorNames.WeightedCsvc or DetectorNames.MulticlassCsvc;

    /// <summary>The anomaly kinds the multiclass model knows, in label order (label i + 1).</summary>
    public IReadOnlyList<string> Kinds => _kinds;

    public void Add(TrainingSample sample) => Training.Add(sample);

    /// <summary>Chooses the detector and (re)trains it when the training set changed enough; no-op otherwise.</summary>
    public void EnsureTrained()
    {
        // A model is refitted after RetrainEvery history samples; a domain still on peers has no
        // model to refit, so it looks again at every change (counting only) and learns as soon as
        // its history is enough, not up to RetrainEvery samples later.
        if (_trainedVersion >= 0 && Training.VerifiedAdded == _trainedVerified
            && (Training.Version == _trainedVersion || (_chosen != DetectorNames.PeerOutlier && Training.Version - _trainedVersion < _options.RetrainEvery)))
            return;
        (string detector, string reason) = DetectorChoice.Choose(Training, _options);
        _chosen = detector;
        if (detector != DetectorNames.PeerOutlier && !SvmModel.IsAvailable)
            (detector, reason) = (DetectorNames.PeerOutlier, reason + "; but libsvm is not installed: peers only");
        _model?.Dispose();
        _model = null;
        _kindModel?.Dispose();
        _kindModel = null;
        _basis = null;
        _peerBasis = null;
        _peerScaled = false;
        Detector = detector;
        ChoiceReason = reason;
        _trainedVersion = Training.Version;
        _trainedVerified = Training.VerifiedAdded;
        if (detector == DetectorNames.PeerOutlier)
            return;

        TrainingSample[] samples = Training.Samples.ToArray();
        if (detector == DetectorNames.MulticlassCsvc)
        {
            IReadOnlyDictionary<string, int> kinds = Training.Kinds;
            _kinds = kinds.Where(k => k.Value >= _options.MinPerKind).Select(k => k.Key).Order(StringComparer.Ordinal).ToArray();
            samples = samples.Where(s => !s.Abnormal || (s.Verified && s.Kind is not null && _kinds.Contains(s.Kind))).ToArray();
        }
        else if (detector == DetectorNames.OneClassSvm)
        {
            samples = samples.Where(s => !s.Abnormal).ToArray();
        }
        else
        {
            samples = samples.Where(s => !s.Abnormal || s.Verified).ToArray();
        }

        _basis = DomainProcessor.Process(samples.Select((s, i) => new MetricVector(i.ToString(), s.Values)).ToArray(),
            new ProcessingOptions { MinRowsForRedundancy = int.MaxValue }); // keep every varying metric: the SVM weighs them itself
        if (_basis.Columns == 0)
        {
            (Detector, ChoiceReason, _basis) = (DetectorNames.PeerOutlier, reason + "; but no metric varies in the history: peers only", null);
            return;
        }
        if (samples.All(s => s.PeerMedians is not null))
        {
            // Each metric's distance from the window's peers (in the peers' own spread when every
            // sample knows it), scaled over the training windows like the values.
            _peerScaled = samples.All(s => s.PeerScales is not null);
            _peerBasis = DomainProcessor.Process(samples.Select((s, i) => new MetricVector(i.ToString(), FromPeers(s.Values, s.PeerMedians, PeerScalesOf(s.PeerScales)))).ToArray(),
                new ProcessingOptions { MinRowsForRedundancy = int.MaxValue, RelativeScaleFloor = 0 });
            if (_peerBasis.Columns == 0)
                _peerBasis = null;
        }
        double[][] rows = samples.Select(s => Features(_basis.Transform(s.Values), s.Values, s.PeerMedians, s.PeerScales)).ToArray();
        Svm.SvmOptions svm = double.IsNaN(_options.Svm.Gamma) ? _options.Svm with { Gamma = _options.GammaScale * MedianHeuristicGamma(rows) } : _options.Svm;
        if (detector == DetectorNames.OneClassSvm)
        {
            _model = SvmModel.TrainOneClass(rows, svm);
        }
        else
        {
            // Two stages: a binary C-SVC decides abnormal against normal on every sample, then (with
            // kinds) a multiclass C-SVC trained on the abnormal samples alone names the kind. One
            // multiclass model over normal and every kind at once weighs each rare kind up to the
            // normal class, so the kind with the weakest signal claims the normal windows nearest it.
            int[] labels = samples.Select(s => s.Abnormal ? 1 : 0).ToArray();
            int abnormal = labels.Count(l => l == 1), normal = labels.Length - abnormal;
            // Inverse class frequency when the abnormal class is rare (the minority share): it then
            // costs as much in total as the common normal one.
            bool weighted = (double)abnormal / labels.Length < _options.ImbalancedShare;
            _model = SvmModel.TrainClassifier(rows, labels, !weighted ? svm : svm with
            {
                ClassWeights = new Dictionary<int, double> { [0] = 1.0, [1] = (double)normal / abnormal },
            });
            if (detector == DetectorNames.MulticlassCsvc)
            {
                double[][] faults = rows.Where((_, i) => labels[i] == 1).Select(KindInput).ToArray();
                int[] kinds = samples.Where(s => s.Abnormal).Select(s => Array.IndexOf(_kinds, s.Kind) + 1).ToArray();
                var counts = kinds.GroupBy(l => l).ToDictionary(g => g.Key, g => g.Count());
                int most = counts.Values.Max();
                // Kinds weighted by inverse frequency only when the rarest is under the minority share of the anomalies.
                bool imbalanced = (double)counts.Values.Min() / kinds.Length < _options.ImbalancedShare;
                Svm.SvmOptions kindSvm = double.IsNaN(_options.Svm.Gamma) ? _options.Svm with { Gamma = _options.GammaScale * MedianHeuristicGamma(faults) } : _options.Svm;
                _kindModel = SvmModel.TrainClassifier(faults, kinds, imbalanced
                    ? kindSvm with { ClassWeights = counts.ToDictionary(c => c.Key, c => (double)most / c.Value) }
                    : kindSvm);
                ChoiceReason += (weighted ? "; abnormal weighted (under the minority share)" : "; abnormal unweighted")
                    + (imbalanced ? ", kinds weighted (rarest under the minority share of the anomalies)" : ", kinds unweighted");
            }
        }
        Trainings++;
    }

    /// <summary>
    /// The SVM's row: the scaled distances from the peers when the model learned them, else the
    /// scaled values <paramref name="z"/>. A value's own level is left out beside its peers: it
    /// moves with the load the whole domain shares and differs from domain to domain, so a model
    /// that learned levels judges a busier window, or another domain, by the wrong yardstick.
    /// </summary>
    private double[] Features(double[] z, double[] values, double[]? peerMedians, double[]? peerScales) =>
        _peerBasis is null ? SvmInput(z) : SvmInput(_peerBasis.Transform(FromPeers(values, peerMedians, PeerScalesOf(peerScales))));

    /// <summary>The peers' scales when the model counts distances in them (every training sample had them), else null.</summary>
    private double[]? PeerScalesOf(double[]? peerScales) => _peerScaled ? peerScales : null;

    /// <summary>|z| given to a metric on which every peer agrees exactly and this container does not (scale 0).</summary>
    internal const double BeyondAgreeingPeers = 1000;

    /// <summary>
    /// Value minus the peers' median per slot, divided by the peers' robust scale when given (a
    /// robust z-score within the window); NaN where either is unknown (then taken as at the peers' level).
    /// </summary>
    internal static double[] FromPeers(double[] values, double[]? peerMedians, double[]? peerScales = null)
    {
        var d = new double[values.Length];
        for (int i = 0; i < d.Length; i++)
        {
            d[i] = peerMedians is null ? double.NaN : values[i] - peerMedians[i];
            if (peerScales is not null && !double.IsNaN(d[i]))
                d[i] = peerScales[i] > 0 ? d[i] / peerScales[i] : d[i] == 0 ? 0 : Math.CopySign(BeyondAgreeingPeers, d[i]);
        }
        return d;
    }

    /// <summary>
    /// The SVM's input from robust z-scores: sign(z) * ln(1 + |z|). Faults move metrics by orders
    /// of magnitude (run-queue waits of seconds against microseconds), and an RBF kernel sees a
    /// row at z = 1000 as equally far from everything, including rows of its own class at z = 300:
    /// such a row gets the bias's class, whatever it is. The logarithm keeps the order and the
    /// sign, leaves |z| &lt; 1 almost as it is, and turns ratios into distances.
    /// </summary>
    internal static double[] SvmInput(double[] z)
    {
        var x = new double[z.Length];
        for (int i = 0; i < z.Length; i++)
            x[i] = Math.CopySign(Math.Log(1 + Math.Abs(z[i])), z[i]);
        return x;
    }

    /// <summary>
    /// The kind model's row: the direction of the SVM row (its unit vector: which metrics are off
    /// and which way, in what proportion) and its length, compressed. A kind is a signature
    /// (throttling up, or CPU down with waits up), and a mild fault points the way a severe one of
    /// its kind does, only less far: with the direction apart, a kind learnt at one severity is
    /// known at another, while the length still tells a faint deviation from a gross one.
    /// </summary>
    internal static double[] KindInput(double[] row)
    {
        double norm = 0;
        foreach (double v in row)
            norm += v * v;
        norm = Math.Sqrt(norm);
        var x = new double[row.Length + 1];
        for (int i = 0; i < row.Length; i++)
            x[i] = norm > 0 ? row[i] / norm : 0;
        x[^1] = Math.Log(1 + norm);
        return x;
    }

    /// <summary>
    /// RBF width by the median heuristic: 1 / the median squared distance between training rows
    /// (at most 200 of them), so the kernel reaches as far as the classes lie apart in this domain.
    /// </summary>
    internal static double MedianHeuristicGamma(double[][] rows)
    {
        int n = Math.Min(rows.Length, 200);
        var d = new List<double>(n * (n - 1) / 2);
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
            {
                double s = 0;
                for (int f = 0; f < rows[i].Length; f++) s += (rows[i][f] - rows[j][f]) * (rows[i][f] - rows[j][f]);
                d.Add(s);
            }
        d.Sort();
        double median = d.Count == 0 ? 0 : d[d.Count / 2];
        return median > 0 ? 1 / median : 1.0 / Math.Max(rows[0].Length, 1);
    }

    /// <summary>
    /// The learned model's verdict on one container's vector; null while the domain has only peers to go by.
    /// </summary>
    /// <param name="peerMedians">The medians of the domain's vectors in this window (see <see cref="TrainingSample.PeerMedians"/>).</param>
    /// <param name="peerScales">Their robust scales in this window (see <see cref="TrainingSample.PeerScales"/>).</param>
    public Verdict? Judge(string key, double[] values, IReadOnlyList<string> peers, double metricZ = 3.5, double[]? peerMedians = null, double[]? peerScales = null)
    {
        EnsureTrained();
        if (_model is null || _basis is null)
            return null;
        double[] z = _basis.Transform(values);
        double[] row = Features(z, values, peerMedians, peerScales);
        double label = _model.PredictWithValues(row, out double decision);
        bool abnormal;
        string? kind = null;
        double score;
        if (_model.IsOneClass)
        {
            abnormal = label < 0;
            score = -decision;
        }
        else
        {
            // libsvm's first decision value favours its first label; the boundary is moved by the calibrated offset.
            score = (_model.Labels[0] == 1 ? decision : -decision) - _options.DecisionOffset;
            abnormal = _options.DecisionOffset == 0 ? label == 1 : score > 0;
            if (abnormal && _kindModel is not null)
                kind = _kinds[(int)_kindModel.Predict(KindInput(row)) - 1];
        }
        var off = new List<OffMetric>();
        if (abnormal)
            for (int c = 0; c < _basis.Columns; c++)
            {
                int slot = _basis.Slots[c];
                if (!double.IsNaN(values[slot]) && Math.Abs(z[c]) >= metricZ)
                    off.Add(new OffMetric(Metrics.Names[slot], values[slot], _basis.Scaler.Medians[slot], z[c]));
            }
        // A one-class boundary fitted to near-identical windows also cuts through ordinary noise:
        // without a single metric off the history by metricZ robust deviations there is nothing an
        // operator could act on, so the window counts as normal.
        bool insideSpread = _model.IsOneClass && abnormal && off.Count == 0;
        if (insideSpread)
            abnormal = false;
        string[] missing = _basis.Slots.Where(s => double.IsNaN(values[s])).Select(s => Metrics.Names[s]).ToArray();
        return new Verdict(key, Domain, abnormal ? VerdictStatus.Abnormal : VerdictStatus.Normal, score, Detector, peers,
            off.OrderByDescending(m => Math.Abs(m.Z)).ToArray(), kind,
            $"{Detector} trained on {Training.Count} windows ({ChoiceReason})"
            + (insideSpread ? $"; outside its boundary but no metric {metricZ} robust deviations off the history: normal" : ""),
            missing.Length > 0 ? missing : null);
    }

    public void Dispose()
    {
        _model?.Dispose();
        _kindModel?.Dispose();
    }
}
