using System.Globalization;
using System.Net;
using AIOps.Trace.Analysis;
using AIOps.Trace.Analysis.Partitioning;
using AIOps.Trace.Analysis.Verification;
using AIOps.Trace.Bpf;
using AIOps.Trace.Server;
using AIOps.Trace.Server.Anomalies;
using AIOps.Trace.Server.Metrics;
using AIOps.Trace.Server.Engine;

namespace AIOps.Trace.Cli;

/// <summary>
/// `aiops-trace serve`: the sidecar. The engine runs inside an HTTP server (metrics, JSON API,
/// live stream) until SIGTERM or Ctrl-C; then the server stops and the engine detaches.
/// </summary>
internal static class ServeCommand
{
    public const string DefaultListen = "127.0.0.1:9464";

    public static int Run(Arguments a)
    {
        TimeSpan interval = a.Duration("interval", TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(10));
        TimeSpan probeInterval = a.Duration("probe-interval", SidecarOptions.DefaultProbeInterval, TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(10));
        IPEndPoint listen = ParseListen(a.Value("listen") ?? DefaultListen);
        string? token = a.Value("token-file") is { } file ? ReadToken(file, "--token-file") : null;
        string node = a.Value("node") ?? Environment.GetEnvironmentVariable("NODE_NAME") ?? Environment.MachineName;
        if (node.Length == 0)
            throw new UsageException("--node '' is empty: expected the node's name");
        EngineOptions engineOptions = Program.EngineOptions(a);
        string domains = a.Value("domains") ?? DomainPartitioner.OwnerTag;
        string db = a.Value("verdict-db") ?? LabelCommand.DefaultDb;
        string buckets = a.Value("runqueue-buckets") ?? SeriesBudget.Names[(int)RunQueueDetail.Coarse];
        Func<SidecarOptions, SidecarOptions> exposure = Exposure(a);
        RunQueueDetail runQueueDetail = SeriesBudget.Parse(buckets)
            ?? throw new UsageException($"--runqueue-buckets '{buckets}' is not a layout: expected coarse (the default), full or none");
        if (PipelineOptions.Refusal(domains) is { } badDomains)
            throw new UsageException(badDomains);
        if (db.Length == 0)
            throw new UsageException("--verdict-db '' is empty: expected the path of the verdict database");

        SidecarOptions options = exposure(new SidecarOptions(listen, interval, token, node, engineOptions.HostRoot) { RunQueueDetail = runQueueDetail, ProbeInterval = probeInterval, CollectBetweenWindows = true, Logging = CliLog.Json ? CliLog.AddJsonConsole : null });
        // Refused before anything is loaded: an open port without a token is never a default.
        if (options.Refusal() is { } refusal)
            throw new UsageException(refusal);

        // Opened before the engine: a database that cannot be opened stops serve before anything is loaded.
        using VerdictStore store = OpenStore(db);
        using var pipeline = new AnalysisPipeline(new PipelineOptions { Domains = domains }, store);
        ReportUnreadableRows(store);
        using TraceEngine engine = Program.StartEngine(engineOptions);
        string how = engine.Kernel.Mode == TierMode.Procfs
            ? "sampling procfs (no BPF)"
            : $"tracing with {engine.Kernel.Attach} + {engine.Kernel.Ring}";
        try
        {
            RunSupervised(engine, engineOptions, options, interval, token, domains, how, pipeline, store);
        }
        catch (EngineFailedException e)
        {
            CliLog.Error("stopped: " + e.Message);
            return ExitEngineFailed;
        }
        CliLog.Status("stopped; programs detached");
        return Program.ExitOk;
    }

    /// <summary>Exit code of a `serve` whose engine failed too often in a row (1: not the user's input).</summary>
    public const int ExitEngineFailed = 1;

    private static void RunSupervised(TraceEngine engine, EngineOptions engineOptions, SidecarOptions options, TimeSpan interval, string? token,
        string domains, string how, AnalysisPipeline pipeline, VerdictStore store)
    {
        SidecarHost.RunAsync(engine, options, url =>
        {
            CliLog.Status($"serving {url} ({how}, a window every {interval.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)}s" +
                $"{(token is null ? "" : ", bearer token required")}); metrics at {url}metrics; Ctrl-C or SIGTERM stops");
            CliLog.Status($"anomaly domains by {domains}; verdicts in {store.Path} ({pipeline.SeededVerdicts} stored verdict(s) with a vector seeded the domains)"
                + (token is null ? "; labels (POST /api/v1/verdicts) need --token-file" : ""));
            // Attached and bound: keep only what restarting the engine and reading containers need.
            LimitCapabilities(ProcessCapabilities.Tracing);
            Console.Out.Flush();
        }, pipeline, store, restart: () => Program.StartEngine(engineOptions)).GetAwaiter().GetResult();
    }

    /// <summary>Limits every thread's capabilities to <paramref name="keep"/> and says so; a failure is a warning, not a stop.</summary>
    internal static void LimitCapabilities(ulong keep)
    {
        CapabilityLimit limit = ProcessCapabilities.Limit(keep);
        if (limit.Applied)
            CliLog.Status(limit.Message);
        else
            CliLog.Warning(limit.Message);
    }

    /// <summary>Opens the verdict database; a corrupt one is set aside and said so once, here (the API says it too).</summary>
    internal static VerdictStore OpenStore(string db)
    {
        VerdictStore store;
        try
        {
            store = VerdictStore.Open(db);
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"--verdict-db '{db}' cannot be opened: {e.Message.ReplaceLineEndings(" ")}");
        }
        if (AnomalyService.StoreProblem(store) is { } problem)
            CliLog.Warning(problem);
        return store;
    }

    /// <summary>Says on stderr how many stored rows the pipeline could not read and skipped (none lost silently).</summary>
    internal static void ReportUnreadableRows(VerdictStore? store)
    {
        if (store is { UnreadableRows: > 0 and int n })
            CliLog.Warning($"--verdict-db '{store.Path}': {n} row(s) do not hold a readable verdict (a date that is no date, a vector that is no blob) and were skipped");
    }

    /// <summary>"HOST:PORT" with an IPv4 address, [IPv6] or localhost; port 0 picks a free one.</summary>
    internal static IPEndPoint ParseListen(string text)
    {
        int colon = text.LastIndexOf(':');
        if (colon > 0 && text[..colon] == "localhost" && int.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int port) && port <= 65535)
            return new IPEndPoint(IPAddress.Loopback, port);
        if (colon > 0 && IPEndPoint.TryParse(text, out IPEndPoint? e) && (text.Contains(']') || !text[..colon].Contains(':')))
            return e;
        throw new UsageException($"--listen '{text}' is not an address: expected HOST:PORT, e.g. {DefaultListen}, 0.0.0.0:9464 or [::1]:9464");
    }

    /// <summary>
    /// --tls-cert/--tls-key (PEM files: HTTPS instead of HTTP) and --allowed-hosts (a comma-separated
    /// list of Host header values, "*" for any), applied to the options of a serving command.
    /// </summary>
    internal static Func<SidecarOptions, SidecarOptions> Exposure(Arguments a)
    {
        string? cert = a.Value("tls-cert"), key = a.Value("tls-key"), hosts = a.Value("allowed-hosts");
        if ((cert is null) != (key is null))
            throw new UsageException(cert is null ? "--tls-key needs --tls-cert: the certificate (PEM) that goes with the key" : "--tls-cert needs --tls-key: the private key (PEM) of the certificate");
        System.Security.Cryptography.X509Certificates.X509Certificate2? certificate = null;
        if (cert is not null)
        {
            try
            {
                certificate = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(cert, key);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException)
            {
                throw new UsageException($"--tls-cert '{cert}' with --tls-key '{key}' is not a certificate and its key: {e.Message.ReplaceLineEndings(" ")}; expected PEM files");
            }
            RequireOwnerOnly(key!, "--tls-key");
        }
        string[]? allowed = hosts?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (allowed is { Length: 0 } || allowed?.Any(h => h.Contains('/') || h.Contains(' ')) == true)
            throw new UsageException($"--allowed-hosts '{hosts}' is not a list of host names: expected e.g. localhost,node-1.example,10.0.0.5 or *");
        string? perClientText = a.Value("connections-per-client");
        int perClient = SidecarOptions.DefaultConnectionsPerClient;
        if (perClientText is not null && (!int.TryParse(perClientText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out perClient) || perClient is < 1 or > 4096))
            throw new UsageException($"--connections-per-client '{perClientText}' is not a whole number from 1 to 4096");
        return o => o with { Certificate = certificate, AllowedHosts = allowed, ConnectionsPerClient = perClient };
    }

    /// <summary>Refuses a secret file that group or others may read or write (one line, exit 2).</summary>
    internal static void RequireOwnerOnly(string file, string option)
    {
        const UnixFileMode GroupOrOthers = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
            | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
        if (OperatingSystem.IsWindows())
            return; // no Unix modes there: ACLs are the operator's business
        UnixFileMode mode = File.GetUnixFileMode(file);
        if ((mode & GroupOrOthers) != 0)
            throw new UsageException($"{option} '{file}' may be read by group or others (mode {Convert.ToString((int)mode & 0x1FF, 8).PadLeft(4, '0')}): expected 0600 or 0400 (chmod 600 '{file}'; a Kubernetes Secret volume: defaultMode: 0400)");
    }

    /// <summary>A bearer token from the file named by <paramref name="option"/> (one line, at least 16 characters, readable by its owner only).</summary>
    internal static string ReadToken(string file, string option)
    {
        string text;
        try
        {
            text = File.ReadAllText(file).Trim();
            RequireOwnerOnly(file, option);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"{option} '{file}' cannot be read: {e.Message}");
        }
        if (text.Length < 16 || text.Any(char.IsWhiteSpace))
            throw new UsageException($"{option} '{file}' does not hold a token: expected one line of at least 16 characters without spaces");
        return text;
    }
}
