using System.Globalization;
using System.Net;
using AIOps.Trace.Analysis;
using AIOps.Trace.Analysis.Partitioning;
using AIOps.Trace.Analysis.Verification;
using AIOps.Trace.Server;
using AIOps.Trace.Server.Anomalies;

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
        IPEndPoint listen = ParseListen(a.Value("listen") ?? DefaultListen);
        string? token = a.Value("token-file") is { } file ? ReadToken(file, "--token-file") : null;
        string node = a.Value("node") ?? Environment.GetEnvironmentVariable("NODE_NAME") ?? Environment.MachineName;
        if (node.Length == 0)
            throw new UsageException("--node '' is empty: expected the node's name");
        EngineOptions engineOptions = Program.EngineOptions(a);
        string domains = a.Value("domains") ?? DomainPartitioner.OwnerTag;
        string db = a.Value("verdict-db") ?? LabelCommand.DefaultDb;
        if (PipelineOptions.Refusal(domains) is { } badDomains)
            throw new UsageException(badDomains);
        if (db.Length == 0)
            throw new UsageException("--verdict-db '' is empty: expected the path of the verdict database");

        var options = new SidecarOptions(listen, interval, token, node, engineOptions.HostRoot) { Logging = CliLog.Json ? CliLog.AddJsonConsole : null };
        // Refused before anything is loaded: an open port without a token is never a default.
        if (options.Refusal() is { } refusal)
            throw new UsageException(refusal);

        // Opened before the engine: a database that cannot be opened stops serve before anything is loaded.
        using VerdictStore store = OpenStore(db);
        using var pipeline = new AnalysisPipeline(new PipelineOptions { Domains = domains }, store);
        using TraceEngine engine = Program.StartEngine(engineOptions);
        string how = engine.Kernel.Attach == "procfs"
            ? "sampling procfs (no BPF)"
            : $"tracing with {engine.Kernel.Attach} + {engine.Kernel.Ring}";
        SidecarHost.RunAsync(engine, options, url =>
        {
            CliLog.Status($"serving {url} ({how}, a window every {interval.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)}s" +
                $"{(token is null ? "" : ", bearer token required")}); metrics at {url}metrics; Ctrl-C or SIGTERM stops");
            CliLog.Status($"anomaly domains by {domains}; verdicts in {store.Path} ({pipeline.SeededVerdicts} stored verdict(s) with a vector seeded the domains)"
                + (token is null ? "; labels (POST /api/v1/verdicts) need --token-file" : ""));
            Console.Out.Flush();
        }, pipeline, store).GetAwaiter().GetResult();
        CliLog.Status("stopped; programs detached");
        return Program.ExitOk;
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

    /// <summary>A bearer token from the file named by <paramref name="option"/> (one line, at least 16 characters).</summary>
    internal static string ReadToken(string file, string option)
    {
        string text;
        try
        {
            text = File.ReadAllText(file).Trim();
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
