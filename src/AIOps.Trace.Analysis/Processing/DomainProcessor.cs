using AIOps.Trace.Analysis.Collection;

namespace AIOps.Trace.Analysis.Processing;

/// <summary>A metric left out of a domain's analysis, and why.</summary>
/// <param name="Metric">The slot's name (<see cref="Metrics.Names"/>).</param>
/// <param name="Reason">"missing" (no container has it), "constant" or "redundant with &lt;metric&gt;".</param>
public sealed record DroppedMetric(string Metric, string Reason);

/// <summary>Settings of <see cref="DomainProcessor"/>.</summary>
public sealed record ProcessingOptions
{
    /// <summary>|Spearman rank correlation| at or above which the later of two metrics is dropped as redundant.</summary>
    public double RedundantCorrelation { get; init; } = 0.95;

    /// <summary>Containers needed before correlations are trusted to drop a metric (fewer rows correlate by chance).</summary>
    public int MinRowsForRedundancy { get; init; } = 8;

    /// <summary>Share of containers that must have a metric for it to be kept.</summary>
    public double MinPresentShare { get; init; } = 0.5;

    /// <summary>
    /// The least robust scale of a varying metric, as a share of its |median|: replicas of one
    /// workload differ by this much without anything being wrong, so a smaller difference never
    /// reads as many standard deviations however closely the others agree.
    /// </summary>
    public double RelativeScaleFloor { get; init; } = 0.1;
}

/// <summary>
/// A domain's metric vectors, ready for detection: the kept metrics, robustly scaled (z = (x -
/// median) / scale within the domain), with missing values marked and imputed at the domain's
/// median (z = 0) for the multivariate detectors.
/// </summary>
public sealed class ProcessedDomain
{
    public required IReadOnlyList<string> Keys { get; init; }

    /// <summary>Slots (<see cref="Metrics"/>) of the kept metrics, in column order.</summary>
    public required int[] Slots { get; init; }

    public required RobustScaler Scaler { get; init; }

    /// <summary>Robust z-scores, [row][kept metric]; missing values are 0 here and flagged in <see cref="Missing"/>.</summary>
    public required double[][] Z { get; init; }

    public required bool[][] Missing { get; init; }

    /// <summary>The raw values, [row][slot], as collected.</summary>
    public required IReadOnlyList<double[]> Raw { get; init; }

    public required IReadOnlyList<DroppedMetric> Dropped { get; init; }

    public int Rows => Keys.Count;
    public int Columns => Slots.Length;

    /// <summary>Scales a vector from outside the domain (history, a newcomer) with this domain's medians and scales.</summary>
    public double[] Transform(double[] raw)
    {
        var z = new double[Slots.Length];
        for (int c = 0; c < Slots.Length; c++)
        {
            double v = Scaler.Z(Slots[c], raw[Slots[c]]);
            z[c] = double.IsNaN(v) ? 0 : v;
        }
        return z;
    }
}

/// <summary>Robust normalisation and feature selection within a domain.</summary>
public static class DomainProcessor
{
    public static ProcessedDomain Process(IReadOnlyList<MetricVector> members, ProcessingOptions? options = null)
    {
        ProcessingOptions o = options ?? new ProcessingOptions();
        int slots = Metrics.Count;
        double[][] raw = members.Select(m => m.Values).ToArray();
        RobustScaler scaler = RobustScaler.Fit(raw, slots, o.RelativeScaleFloor);
        var dropped = new List<DroppedMetric>();
        var kept = new List<int>();
        for (int f = 0; f < slots; f++)
        {
            int present = raw.Count(r => !double.IsNaN(r[f]));
            if (present == 0 || present < o.MinPresentShare * raw.Length)
                dropped.Add(new DroppedMetric(Metrics.Names[f], "missing"));
            else if (!(scaler.Scales[f] > 0))
                dropped.Add(new DroppedMetric(Metrics.Names[f], "constant"));
            else
                kept.Add(f);
        }

        if (raw.Length >= o.MinRowsForRedundancy)
        {
            double[][] ranks = kept.Select(f => Ranks(raw, f)).ToArray();
            var redundant = new bool[kept.Count];
            for (int a = 0; a < kept.Count; a++)
            {
                if (redundant[a]) continue;
                for (int b = a + 1; b < kept.Count; b++)
                {
                    if (redundant[b]) continue;
                    double r = Pearson(ranks[a], ranks[b]);
                    if (Math.Abs(r) >= o.RedundantCorrelation)
                    {
                        redundant[b] = true;
                        dropped.Add(new DroppedMetric(Metrics.Names[kept[b]], $"redundant with {Metrics.Names[kept[a]]} (rank correlation {r:0.00})"));
                    }
                }
            }
            kept = kept.Where((_, i) => !redundant[i]).ToList();
        }

        int[] columns = kept.ToArray();
        var z = new double[raw.Length][];
        var missing = new bool[raw.Length][];
        for (int i = 0; i < raw.Length; i++)
        {
            z[i] = new double[columns.Length];
            missing[i] = new bool[columns.Length];
            for (int c = 0; c < columns.Length; c++)
            {
                double v = scaler.Z(columns[c], raw[i][columns[c]]);
                missing[i][c] = double.IsNaN(v);
                z[i][c] = double.IsNaN(v) ? 0 : v;
            }
        }
        return new ProcessedDomain
        {
            Keys = members.Select(m => m.Key).ToArray(), Slots = columns, Scaler = scaler,
            Z = z, Missing = missing, Raw = raw, Dropped = dropped,
        };
    }

    /// <summary>Average ranks of one metric; a missing value takes the middle rank so it correlates with nothing.</summary>
    private static double[] Ranks(double[][] rows, int f)
    {
        int n = rows.Length;
        int[] order = Enumerable.Range(0, n).Where(i => !double.IsNaN(rows[i][f])).OrderBy(i => rows[i][f]).ToArray();
        var ranks = new double[n];
        Array.Fill(ranks, (order.Length + 1) / 2.0);
        for (int s = 0; s < order.Length;)
        {
            int e = s;
            while (e + 1 < order.Length && rows[order[e + 1]][f] == rows[order[s]][f]) e++;
            double rank = (s + e) / 2.0 + 1;
            for (int t = s; t <= e; t++) ranks[order[t]] = rank;
            s = e + 1;
        }
        return ranks;
    }

    private static double Pearson(double[] x, double[] y)
    {
        double mx = x.Average(), my = y.Average(), sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < x.Length; i++)
        {
            sxy += (x[i] - mx) * (y[i] - my);
            sxx += (x[i] - mx) * (x[i] - mx);
            syy += (y[i] - my) * (y[i] - my);
        }
        return sxx > 0 && syy > 0 ? sxy / Math.Sqrt(sxx * syy) : 0;
    }
}
