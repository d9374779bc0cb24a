using System.Net;

namespace AIOps.Trace.Server;

/// <summary>How the sidecar serves: where, how often, with which token, under which node name.</summary>
/// <param name="Listen">Address and port to bind (loopback unless a token is set).</param>
/// <param name="Interval">Window length: how often the engine is cut, metrics updated and a frame pushed.</param>
/// <param name="Token">Bearer token every route but /healthz requires; null for none (loopback only).</param>
/// <param name="Node">The <c>node</c> label and field.</param>
/// <param name="HostRoot">Where the host's / is mounted (for per-CPU time and the resource probes).</param>
public sealed record SidecarOptions(IPEndPoint Listen, TimeSpan Interval, string? Token, string Node, string HostRoot = "/")
{
    /// <summary>How many run-queue buckets /metrics carries per container (the series budget; the API and stream keep all).</summary>
    public Metrics.RunQueueDetail RunQueueDetail { get; init; } = Metrics.RunQueueDetail.Coarse;

    /// <summary>
    /// How often each container's resource probes and CPU limits are read (each container in its
    /// own phase, so a window reads about Interval/ProbeInterval of them); at most
    /// <see cref="Interval"/> reads every container every window.
    /// </summary>
    public TimeSpan ProbeInterval { get; init; } = DefaultProbeInterval;

    public static readonly TimeSpan DefaultProbeInterval = TimeSpan.FromSeconds(5);

    /// <summary>Windows per probe reading of one container: ProbeInterval / Interval, rounded, at least 1.</summary>
    public int ReadingsEvery => Math.Max(1, (int)Math.Round(ProbeInterval / Interval));

    /// <summary>
    /// A young (gen0) collection right after each window, when the window's temporary objects are
    /// dead, so the collections the next cut would meet happen off its clock. The sidecar's own
    /// process turns it on; a host that embeds the engine decides for its heap
    /// (<see cref="Hosting.AiopsTraceOptions.CollectBetweenWindows"/>, off by default).
    /// </summary>
    public bool CollectBetweenWindows { get; init; }

    /// <summary>Serve HTTPS with this certificate (and its private key); null serves plain HTTP.</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2? Certificate { get; init; }

    /// <summary>Host header values requests may carry ("*": any); null: loopback names on a loopback address, any otherwise.</summary>
    public IReadOnlyList<string>? AllowedHosts { get; init; }

    /// <summary>Connections one client address may hold open at once.</summary>
    public int ConnectionsPerClient { get; init; } = DefaultConnectionsPerClient;

    public const int DefaultConnectionsPerClient = 32;

    /// <summary>Configures the server's logging after its defaults (warnings and up on the console), e.g. JSON console records.</summary>
    public Action<Microsoft.Extensions.Logging.ILoggingBuilder>? Logging { get; init; }

    /// <summary>Why these options must not start, or null: any address but loopback needs a token.</summary>
    public string? Refusal() =>
        Token is null && !IPAddress.IsLoopback(Listen.Address)
            ? $"--listen {Format(Listen)} is not a loopback address: serving it needs --token-file FILE (a bearer token clients must send)"
            : null;

    internal static string Format(IPEndPoint e) =>
        e.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{e.Address}]:{e.Port}" : $"{e.Address}:{e.Port}";
}
