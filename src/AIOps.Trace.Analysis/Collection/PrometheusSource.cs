using System.Globalization;

namespace AIOps.Trace.Analysis.Collection;

/// <summary>
/// Cluster mode's source: the containers every node's sidecar exports, read back from a
/// Prometheus server with four instant queries per round (<see cref="ExportedSeries"/>), so a
/// monitoring domain spans nodes.
/// </summary>
/// <remarks>
/// A container's vector is the median of each slot over the window
/// (<c>quantile_over_time(0.5, aiops_trace_container_vector[window])</c>), not the last sample
/// and not the mean: a sidecar cuts a window a second, and one second of run-queue latency or
/// preemptions is noisy; a single hiccup (one 200 ms p99 among fifteen 3 ms ones) moves the mean
/// by 13 ms and makes a healthy replica an outlier among quiet peers, while the median ignores it
/// and still shows a fault that lasts most of the window. Every node's containers are judged over
/// the same span whatever their scrape phase. A slot that is NaN (absent) throughout is NaN, which
/// the detector treats as missing. Only series still exported now are read (<c>and</c> the
/// instant vector), so a container removed, or a node no longer scraped, leaves the next round
/// instead of lingering for the window. Attributes, limits and diagnosis outcomes are the current
/// values.
/// </remarks>
public sealed class PrometheusSource : IContainerSource, IDisposable
{
    private readonly PrometheusClient _client;

    /// <param name="url">The Prometheus server (its base URL).</param>
    /// <param name="window">The span whose median is a round's vector (at least 1 s).</param>
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

    private string VectorQuery => $"quantile_over_time(0.5, {ExportedSeries.Vector}[{PromDuration(Window)}]) and {ExportedSeries.Vector}";

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
