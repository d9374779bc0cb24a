using AIOps.Trace.Server.Engine;

namespace AIOps.Trace.Server.Metrics;

/// <summary>
/// How much of each container's run-queue histogram <c>/metrics</c> carries (<c>serve
/// --runqueue-buckets</c>): the histogram is most of a container's series, so it is what an
/// operator trades for a smaller scrape. The dashboard, the stream and the JSON API always keep
/// the full layout (<see cref="RunQueueBuckets"/>), and so do the exact per-window p50/p99 in
/// <c>aiops_trace_container_vector</c>.
/// </summary>
public enum RunQueueDetail
{
    /// <summary>Every third bound of the full layout (1, 8, 64, 512 µs, 4.1, 32.8, 262 ms, 2.1 s): 11 series per container. The default.</summary>
    Coarse,

    /// <summary>All 23 bounds of <see cref="RunQueueBuckets"/>: 26 series per container.</summary>
    Full,

    /// <summary>No per-container histogram: the exact per-window quantiles in the vector series only.</summary>
    None,
}

/// <summary>The series each container costs on <c>/metrics</c>, by <see cref="RunQueueDetail"/>: the budget docs/http-api.md states.</summary>
public static class SeriesBudget
{
    /// <summary>Which bounds of the full layout the coarse histogram keeps: every third power of two of a microsecond.</summary>
    public const int CoarseStride = 3;

    /// <summary>
    /// A container's series besides the histogram, at most: 4 preemption sources, 4 CFS and CPU
    /// counters, a diagnosis per resource (4), the metric vector, 1 info, the limits and the anomaly verdict and score.
    /// </summary>
    public static int OtherSeries => 4 + 4 + 4 + AIOps.Trace.Analysis.Collection.Metrics.Count + 1
        + AIOps.Trace.Analysis.Collection.ExportedSeries.LimitNames.Length + 2;

    /// <summary>The option's spellings, in <see cref="RunQueueDetail"/> order.</summary>
    public static readonly string[] Names = ["coarse", "full", "none"];

    /// <summary>The histogram's finite bounds in seconds (empty for <see cref="RunQueueDetail.None"/>).</summary>
    public static double[] BoundsSeconds(RunQueueDetail detail) => detail switch
    {
        RunQueueDetail.Full => RunQueueBuckets.BoundsSeconds,
        RunQueueDetail.Coarse => RunQueueBuckets.BoundsSeconds.Where((_, i) => i % CoarseStride == 0).ToArray(),
        _ => [],
    };

    /// <summary>Histogram series per container: a bucket per bound, +Inf, _sum and _count.</summary>
    public static int HistogramSeries(RunQueueDetail detail) =>
        detail == RunQueueDetail.None ? 0 : BoundsSeconds(detail).Length + 3;

    /// <summary>A container's series at most.</summary>
    public static int PerContainer(RunQueueDetail detail) => HistogramSeries(detail) + OtherSeries;

    /// <summary>The detail a name selects, or null for a name that is none of <see cref="Names"/>.</summary>
    public static RunQueueDetail? Parse(string name) =>
        Array.IndexOf(Names, name) is int i and >= 0 ? (RunQueueDetail)i : null;
}
