namespace AIOps.Trace.Evaluation;

/// <summary>A figure and its 95% interval.</summary>
public readonly record struct Interval(double Value, double Low, double High);

/// <summary>A figure per held-out run.</summary>
public sealed record FoldSpread(IReadOnlyDictionary<string, double> PerRun)
{
    public double Min => PerRun.Values.Min();
    public double Max => PerRun.Values.Max();
}

/// <summary>How soon a fault was flagged: per faulted replica and episode, windows from the onset to the first abnormal call.</summary>
/// <param name="Faults">Faulted replica-episodes.</param>
/// <param name="Detected">Those flagged in at least one of their fault windows.</param>
/// <param name="AtOnset">Those flagged in the onset window itself.</param>
/// <param name="MeanWindows">Mean windows from onset to the first abnormal call, over the detected.</param>
public sealed record Latency(int Faults, int Detected, int AtOnset, double MeanWindows);

/// <summary>
/// Scores of held-out predictions: binary F1 (abnormal is the positive class), macro-F1 over the
/// true classes (none and each fault kind), per-run spread, 95% intervals by bootstrap over
/// episodes (an episode's windows go together: they are not independent), and latency.
/// </summary>
public static class Scores
{
    public const int Resamples = 1000;

    public static double BinaryF1(IReadOnlyList<Prediction> p)
    {
        var c = new EpisodeCounts(p);
        return c.BinaryF1(Enumerable.Range(0, c.Episodes).ToArray());
    }

    public static double MacroF1(IReadOnlyList<Prediction> p)
    {
        var c = new EpisodeCounts(p);
        return c.MacroF1(Enumerable.Range(0, c.Episodes).ToArray());
    }

    public static ConfusionMatrix BinaryMatrix(IEnumerable<Prediction> p)
    {
        var m = new ConfusionMatrix([BinaryClasses.Abnormal, BinaryClasses.Normal]);
        foreach (Prediction x in p)
            m.Add(BinaryClasses.Of(x.Row.IsAbnormal), BinaryClasses.Of(x.Call.Abnormal));
        return m;
    }

    public static ConfusionMatrix KindMatrix(IEnumerable<Prediction> p)
    {
        var m = new ConfusionMatrix([FaultKinds.None, .. FaultKinds.Faults]);
        foreach (Prediction x in p)
            m.Add(x.Row.Label, x.PredictedKind);
        return m;
    }

    /// <summary>The figure on all predictions and its 95% percentile interval over <see cref="Resamples"/> resamples of whole episodes.</summary>
    public static Interval Bootstrap(IReadOnlyList<Prediction> p, bool macro, int seed = 20261202)
    {
        var counts = new EpisodeCounts(p);
        int[] all = Enumerable.Range(0, counts.Episodes).ToArray();
        double value = macro ? counts.MacroF1(all) : counts.BinaryF1(all);
        var random = new Random(seed);
        var samples = new double[Resamples];
        var pick = new int[counts.Episodes];
        for (int b = 0; b < Resamples; b++)
        {
            for (int i = 0; i < pick.Length; i++)
                pick[i] = random.Next(counts.Episodes);
            samples[b] = macro ? counts.MacroF1(pick) : counts.BinaryF1(pick);
        }
        Array.Sort(samples);
        return new Interval(value, samples[(int)(0.025 * Resamples)], samples[(int)(0.975 * Resamples) - 1]);
    }

    public static FoldSpread PerRun(IReadOnlyList<Prediction> p, bool macro) =>
        new(p.GroupBy(x => x.Row.Block).ToDictionary(g => g.Key, g => macro ? MacroF1(g.ToList()) : BinaryF1(g.ToList())));

    /// <summary>Share of container windows called abnormal among the given ones (a false-positive rate when all are normal).</summary>
    public static double AbnormalShare(IEnumerable<Prediction> p)
    {
        int n = 0, a = 0;
        foreach (Prediction x in p)
        {
            n++;
            if (x.Call.Abnormal) a++;
        }
        return n == 0 ? double.NaN : (double)a / n;
    }

    public static Latency LatencyOf(IEnumerable<Prediction> p)
    {
        int faults = 0, detected = 0, atOnset = 0;
        double sum = 0;
        foreach (var g in p.Where(x => x.Row.IsAbnormal).GroupBy(x => (x.Row.EpisodeId, x.Row.Key)))
        {
            faults++;
            Prediction[] ordered = g.OrderBy(x => x.Row.Window).ToArray();
            int first = Array.FindIndex(ordered, x => x.Call.Abnormal);
            if (first < 0)
                continue;
            detected++;
            sum += first;
            if (first == 0) atOnset++;
        }
        return new Latency(faults, detected, atOnset, detected == 0 ? double.NaN : sum / detected);
    }

    /// <summary>Per episode, the counts both F1s are made of, so a resample only adds small arrays.</summary>
    private sealed class EpisodeCounts
    {
        private readonly int[][] _binary; // [episode] = tp, fp, fn
        private readonly int[][,] _kinds;  // [episode][truth, predicted]
        private readonly bool[] _hasTruth;  // classes that are some row's truth

        public EpisodeCounts(IReadOnlyList<Prediction> p)
        {
            var classes = new Dictionary<string, int>(StringComparer.Ordinal) { [FaultKinds.None] = 0 };
            foreach (string k in FaultKinds.Faults) classes[k] = classes.Count;
            foreach (Prediction x in p)
            {
                classes.TryAdd(x.Row.Label, classes.Count);
                classes.TryAdd(x.PredictedKind, classes.Count);
            }
            var episodes = p.GroupBy(x => x.Row.EpisodeId).ToArray();
            Episodes = episodes.Length;
            _binary = new int[Episodes][];
            _kinds = new int[Episodes][,];
            _hasTruth = new bool[classes.Count];
            for (int e = 0; e < Episodes; e++)
            {
                var b = new int[3];
                var k = new int[classes.Count, classes.Count];
                foreach (Prediction x in episodes[e])
                {
                    if (x.Row.IsAbnormal && x.Call.Abnormal) b[0]++;
                    else if (x.Call.Abnormal) b[1]++;
                    else if (x.Row.IsAbnormal) b[2]++;
                    int t = classes[x.Row.Label];
                    k[t, classes[x.PredictedKind]]++;
                    _hasTruth[t] = true;
                }
                _binary[e] = b;
                _kinds[e] = k;
            }
        }

        public int Episodes { get; }

        public double BinaryF1(int[] pick)
        {
            long tp = 0, fp = 0, fn = 0;
            foreach (int e in pick)
            {
                tp += _binary[e][0];
                fp += _binary[e][1];
                fn += _binary[e][2];
            }
            return tp == 0 ? 0 : 2.0 * tp / (2 * tp + fp + fn);
        }

        public double MacroF1(int[] pick)
        {
            int n = _hasTruth.Length;
            var m = new long[n, n];
            foreach (int e in pick)
                for (int t = 0; t < n; t++)
                    for (int q = 0; q < n; q++)
                        m[t, q] += _kinds[e][t, q];
            double sum = 0;
            int classes = 0;
            for (int c = 0; c < n; c++)
            {
                long support = 0, predicted = 0;
                for (int q = 0; q < n; q++) { support += m[c, q]; predicted += m[q, c]; }
                if (!_hasTruth[c] || support == 0)
                    continue; // a class with no true member in this resample is not averaged
                classes++;
                sum += m[c, c] == 0 ? 0 : 2.0 * m[c, c] / (support + predicted);
            }
            return classes == 0 ? 0 : sum / classes;
        }
    }
}
