using AIOps.Trace.Analysis.Collection;

namespace AIOps.Trace.Tests.Unit.Analysis;

/// <summary>Synthetic metric vectors whose answer is known by construction.</summary>
internal static class Synthetic
{
    /// <summary>The six slots the planted-outlier tests fill; the rest stay NaN (absent signals).</summary>
    public static readonly int[] Six =
    [
        Metrics.RunQueueP50Us, Metrics.RunQueueP99Us, Metrics.PreemptedByOtherPerSecond,
        Metrics.PreemptedByHostPerSecond, Metrics.ThrottledRatio, Metrics.CpuUsageCores,
    ];

    /// <summary>Typical level and spread of each of <see cref="Six"/>.</summary>
    private static readonly (double Mean, double Sd)[] Levels = [(20, 3), (200, 25), (50, 8), (5, 1), (0.05, 0.01), (0.5, 0.05)];

    public static double Gaussian(Random r) => Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());

    /// <summary>A container of a healthy replica set: each of the six metrics around its level.</summary>
    public static MetricVector Normal(Random r, string key)
    {
        var v = new double[Metrics.Count];
        Array.Fill(v, double.NaN);
        for (int f = 0; f < Six.Length; f++)
            v[Six[f]] = Math.Max(0, Levels[f].Mean + Levels[f].Sd * Gaussian(r));
        return new MetricVector(key, v);
    }

    /// <summary>A normal container with the given slots shifted by <paramref name="sds"/> standard deviations.</summary>
    public static MetricVector Shifted(Random r, string key, double sds, params int[] slots)
    {
        MetricVector m = Normal(r, key);
        foreach (int slot in slots)
            m.Values[slot] += sds * Levels[Array.IndexOf(Six, slot)].Sd;
        return m;
    }

    public static List<MetricVector> Domain(Random r, int n, string prefix = "c") =>
        Enumerable.Range(0, n).Select(i => Normal(r, $"{prefix}{i}")).ToList();
}
