namespace AIOps.Trace.Analysis.Processing;

/// <summary>
/// Per-metric centre and scale that a few outliers cannot move: the median and the MAD
/// (scaled by 1.4826 so it estimates the standard deviation of normal data). Where more than half
/// the values are equal the MAD is 0; the scale then falls back to the mean absolute deviation
/// from the median (x 1.2533, the same normal-consistency), which still sees the few that differ.
/// </summary>
public sealed class RobustScaler
{
    /// <summary>Median of each metric (NaN when every value is missing).</summary>
    public double[] Medians { get; }

    /// <summary>Scale of each metric; 0 when the metric is constant, NaN when all values are missing.</summary>
    public double[] Scales { get; }

    private RobustScaler(double[] medians, double[] scales) { Medians = medians; Scales = scales; }

    /// <summary>Fits the scaler on rows of equal length, ignoring NaN values.</summary>
    /// <param name="relativeFloor">The least scale of a varying metric, as a share of its |median| (see <see cref="CentreAndScale"/>).</param>
    public static RobustScaler Fit(IReadOnlyList<double[]> rows, int columns, double relativeFloor = 0)
    {
        var medians = new double[columns];
        var scales = new double[columns];
        var column = new double[rows.Count];
        for (int f = 0; f < columns; f++)
        {
            int n = 0;
            foreach (double[] row in rows)
                if (!double.IsNaN(row[f])) column[n++] = row[f];
            (medians[f], scales[f]) = CentreAndScale(column.AsSpan(0, n), relativeFloor);
        }
        return new RobustScaler(medians, scales);
    }

    /// <summary>Median and robust scale of a set of values (reorders the span).</summary>
    /// <param name="relativeFloor">
    /// The least scale of values that vary, as a share of |median|: where peers agree closely (a
    /// rate-limited sender, one device's utilisation seen by all its users) the MAD is tiny and a
    /// difference of a few percent would read as dozens of standard deviations. 0 keeps the MAD as
    /// it is; a constant metric keeps scale 0 either way.
    /// </param>
    public static (double Median, double Scale) CentreAndScale(Span<double> values, double relativeFloor = 0)
    {
        if (values.Length == 0)
            return (double.NaN, double.NaN);
        double median = Median(values);
        Span<double> deviations = values.Length <= 256 ? stackalloc double[values.Length] : new double[values.Length];
        double meanAbs = 0;
        for (int i = 0; i < values.Length; i++)
        {
            deviations[i] = Math.Abs(values[i] - median);
            meanAbs += deviations[i];
        }
        meanAbs /= values.Length;
        double mad = Median(deviations);
        double scale = mad > 0 ? 1.4826 * mad : 1.2533 * meanAbs;
        return (median, scale > 0 ? Math.Max(scale, relativeFloor * Math.Abs(median)) : scale);
    }

    /// <summary>(value - median) / scale; NaN stays NaN; a constant metric gives 0 at its value and +-infinity elsewhere.</summary>
    public double Z(int metric, double value)
    {
        if (double.IsNaN(value) || double.IsNaN(Medians[metric])) return double.NaN;
        double d = value - Medians[metric];
        if (Scales[metric] > 0) return d / Scales[metric];
        return d == 0 ? 0 : double.CopySign(double.PositiveInfinity, d);
    }

    private static double Median(Span<double> values)
    {
        values.Sort();
        int n = values.Length;
        return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
    }
}
