using AIOps.Trace.Aggregation;

namespace AIOps.Trace.Server.Engine;

/// <summary>
/// The run-queue latency buckets the sidecar publishes (Prometheus <c>le</c>, the stream, the
/// JSON API): power-of-two microseconds from 1 µs to 2^22 µs (about 4.2 s), plus one bucket
/// above. Powers of two of a microsecond are exact edges of the engine's log-linear histogram,
/// so no fine bucket straddles one of these limits and folding loses nothing but resolution.
/// </summary>
public static class RunQueueBuckets
{
    /// <summary>Finite upper bounds in microseconds; bucket <c>Bounds.Length</c> holds everything above the last.</summary>
    public static readonly long[] BoundsMicroseconds = Enumerable.Range(0, 23).Select(i => 1L << i).ToArray();

    /// <summary>The same bounds in seconds, for the Prometheus histogram.</summary>
    public static readonly double[] BoundsSeconds = BoundsMicroseconds.Select(us => us / 1e6).ToArray();

    /// <summary>Each bucket's index as text: the keys of a stream frame's run-queue map, made once.</summary>
    internal static readonly string[] Keys = Enumerable.Range(0, BoundsMicroseconds.Length + 1)
        .Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();

    /// <summary>Buckets, the overflow one included.</summary>
    public static int Count => BoundsMicroseconds.Length + 1;

    /// <summary>
    /// Calls <paramref name="visit"/> once per non-empty fine bucket of <paramref name="window"/>
    /// with the published bucket it falls in, its representative value in ns and its count. The
    /// representative is the fine bucket's midpoint (the window's max for the overflow bucket):
    /// strictly inside the fine bucket, so never on a published bound, and the bucket it names is
    /// the one every raw value of the fine bucket belongs to, in the stream, the API and
    /// Prometheus alike.
    /// </summary>
    public static void Fold(LogLinearHistogram window, Action<int, double, long> visit)
    {
        if (window.Count == 0)
            return;
        ReadOnlySpan<long> fine = window.Buckets;
        // Every bucket outside those of Min and Max is empty.
        int last = LogLinearHistogram.BucketIndex(window.Max) - window.FirstBucket;
        for (int i = LogLinearHistogram.BucketIndex(window.Min) - window.FirstBucket; i <= last; i++)
        {
            long n = fine[i];
            if (n == 0)
                continue;
            int index = window.FirstBucket + i;
            double representative;
            if (index == LogLinearHistogram.BucketCount - 1)
                representative = window.Max;
            else
            {
                ulong lower = LogLinearHistogram.BucketLowerBound(index);
                representative = lower + (LogLinearHistogram.BucketUpperBound(index) - (double)lower) / 2.0;
            }
            visit(IndexOf(representative), representative, n);
        }
    }

    /// <summary>
    /// The published bucket of a value in ns: the first whose bound it is below, as the engine's
    /// histogram cuts (a wait of exactly 2^k µs starts the next bucket up).
    /// </summary>
    public static int IndexOf(double valueNs)
    {
        long[] bounds = BoundsMicroseconds;
        for (int j = 0; j < bounds.Length; j++)
            if (valueNs < bounds[j] * 1000.0)
                return j;
        return bounds.Length;
    }
}
