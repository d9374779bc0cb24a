using System.Globalization;

namespace AIOps.Trace.Analysis.Collection;

/// <summary>
/// Cluster mode's source: the containers every node's sidecar exports, read back from a
/// Prometheus server with four instant queries per round (<see cref="ExportedSeries"/>), so a
/// monitoring domain spans nodes.
/// </summary>
/// <remarks>
/// A container's vector summarises the window, not its last sample: a sidecar cuts a window a
/// second, and one second is noisy. Rates and ratios (preemptions per second, throttled ratio,
/// CPU cores, ...) are averaged (<c>avg_over_time</c>): the mean of equal windows' rates is the
/// window's rate, and a median of small per-second counts would snap to whole numbers (most
/// replicas exactly 1/s) and make the peers' spread vanish. The run-queue latency quantiles
/// (p50, p99 per second) take the median instead (<c>quantile_over_time(0.5, ...)</c>): a mean of
/// p99s is no quantile and a single hiccup (one 200 ms p99 among fifteen 3 ms ones) moves it by
/// 13 ms, enough to make a healthy replica an outlier among quiet peers, while the median still
/// shows a fault that lasts most of the window. Every node's containers are judged over the same
/// span whatever their scrape phase. A slot NaN (absent) throughout is NaN, which the detector
/// treats as missing. Only series still exported now are read (<c>and</c> the instant vector), so
/// a container removed, or a node no longer scraped, leaves the next round instead of lingering
/// for the window. Attributes, limits and diagnosis outcomes are the current values.
/// </remarks>
public sealed class PrometheusSource : IContainerSource, IDisposable
{
    private readonly PrometheusClient _client;

    /// <param name="url">The Prometheus server (its base URL).</param>
    /// <param name="window">The span a round's vector summarises (at least 1 s).</param>
    /// <param name="bearerToken">For a server behind an authenticating proxy.</param>
    /// <param name="handler">The HTTP handler (tests).</param>
    public PrometheusSource(Uri url, TimeSpan window, string? bearerToken = null, TimeSpan? timeout = null, HttpMessageHandler? handler = null)
    {
        if (window < TimeSpan.FromSeconds(1))
            throw new ArgumentOutOfRangeException(nameof(window), window, "the window must be at least 1 s");
        Window = window;
        _client = new PrometheusClient(url, bearerToken, timeout, handler);
    }

    public TimeSpan Window { get; }

    public Uri Url => _client.Url;

    public string Description => $"prometheus {_client.Url}";

    /// <summary>The queries of one round, in the order they are sent (vector, info, limits, diagnosis).</summary>
    public IReadOnlyList<string> Queries => [VectorQuery, ExportedSeries.Info, ExportedSeries.Limit, ExportedSeries.Diagnosis + " == 1"];

    /// <summary>The slots summarised by their median over the window (the run-queue latency quantiles), as a label regex.</summary>
    private static string MedianSlots => $"{Metrics.Names[Metrics.RunQueueP50Us]}|{Metrics.Names[Metrics.RunQueueP99Us]}";

    private string VectorQuery
    {
        get
        {
            string v = ExportedSeries.Vector, w = PromDuration(Window);
            return $"(quantile_over_time(0.5, {v}{{metric=~\"{MedianSlots}\"}}[{w}]) or avg_over_time({v}{{metric!~\"{MedianSlots}\"}}[{w}])) and {v}";
        }
    }

    /// <inheritdoc/>
    /// <exception cref="ContainerSourceException">The server cannot be read, or it holds no container series.</exception>
    public async Task<IReadOnlyList<ContainerInput>> CollectAsync(CancellationToken cancel)
    {
        IReadOnlyList<string> q = Queries;
        IReadOnlyList<PrometheusSample> vector = await _client.QueryAsync(q[0], cancel).ConfigureAwait(false);
        if (vector.Count == 0)
            throw new ContainerSourceException($"prometheus {_client.Url}: no {ExportedSeries.Vector} series in the last {PromDuration(Window)}: " +
                "is Prometheus scraping the sidecars (aiops-trace serve), and are they new enough to export it?");
        IReadOnlyList<PrometheusSample> info = await _client.QueryAsync(q[1], cancel).ConfigureAwait(false);
        IReadOnlyList<PrometheusSample> limits = await _client.QueryAsync(q[2], cancel).ConfigureAwait(false);
        IReadOnlyList<PrometheusSample> diagnoses = await _client.QueryAsync(q[3], cancel).ConfigureAwait(false);
        List<ContainerInput> containers = ExportedSeries.Map(vector, info, limits, diagnoses);
        if (containers.Count == 0)
            throw new ContainerSourceException($"prometheus {_client.Url}: {vector.Count} {ExportedSeries.Vector} samples, none with a cgroup label");
        return containers;
    }

    /// <summary>A PromQL duration: whole seconds as "60s", anything finer in milliseconds.</summary>
    internal static string PromDuration(TimeSpan t) =>
        t.Ticks % TimeSpan.TicksPerSecond == 0
            ? ((long)t.TotalSeconds).ToString(CultureInfo.InvariantCulture) + "s"
            : ((long)t.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) + "ms";

    public void Dispose() => _client.Dispose();
}
