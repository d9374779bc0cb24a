using AIOps.Trace.Analysis;
using AIOps.Trace.Analysis.Collection;
using AIOps.Trace.Analysis.Partitioning;
using AIOps.Trace.Analysis.Verification;

namespace AIOps.Trace.Cli;

/// <summary>
/// `aiops-trace analyze --prometheus URL`: cluster mode. Reads the per-container series every
/// node's sidecar exports from a Prometheus server and runs the anomaly detection over all of
/// them, so a monitoring domain spans nodes. With --once it runs one round and prints the
/// verdicts; exit code 0 when the round ran (whether or not anything is abnormal: a finding is
/// an answer, not a failure), 1 when the source cannot be read, 2 for bad input.
/// </summary>
internal static class AnalyzeCommand
{
    public static readonly IReadOnlySet<string> Flags = new HashSet<string> { "once", "json" };

    /// <summary>The exit code when Prometheus cannot be read or holds no container series.</summary>
    public const int ExitSourceFailed = 1;

    public static int Run(Arguments a)
    {
        string url = a.Value("prometheus")
            ?? throw new UsageException("analyze needs --prometheus URL: the Prometheus server that scrapes the sidecars, e.g. http://prometheus:9090");
        if (!Uri.TryCreate(url, UriKind.Absolute, out Uri? prometheus) || prometheus.Scheme is not ("http" or "https") || prometheus.Host.Length == 0)
            throw new UsageException($"--prometheus '{url}' is not a URL: expected http(s)://HOST:PORT, e.g. http://127.0.0.1:9090");
        string? prometheusToken = a.Value("prometheus-token-file") is { } pf ? ServeCommand.ReadToken(pf, "--prometheus-token-file") : null;
        TimeSpan interval = a.Duration("interval", TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(1), TimeSpan.FromHours(1));
        TimeSpan window = a.Duration("window", TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(1), TimeSpan.FromHours(24));
        string domains = a.Value("domains") ?? DomainPartitioner.OwnerTag;
        if (PipelineOptions.Refusal(domains) is { } refusal)
            throw new UsageException(refusal);
        bool once = a.Flag("once"), json = a.Flag("json");
        string? listen = a.Value("listen");
        string? token = a.Value("token-file") is { } tf ? ServeCommand.ReadToken(tf, "--token-file") : null;
        string? db = a.Value("verdict-db");
        a.RejectUnknown();
        if (once && listen is not null)
            throw new UsageException("--once prints one round and exits: it does not go with --listen");
        if (json && !once)
            throw new UsageException("--json prints one round: it goes with --once (the server's API is JSON already)");

        using VerdictStore? store = db is null ? null : OpenStore(db);
        using var pipeline = new AnalysisPipeline(new PipelineOptions { Domains = domains }, store);
        using var source = new PrometheusSource(prometheus, window, prometheusToken);
        if (once)
            return RunOnce(pipeline, source, json);
        return Serve(pipeline, source, interval, listen, token);
    }

    private static int RunOnce(AnalysisPipeline pipeline, PrometheusSource source, bool json)
    {
        IReadOnlyList<ContainerInput> containers;
        using (CancellationTokenSource cts = Program.CancelOnSignal(out IDisposable signals))
        using (signals)
        {
            try
            {
                containers = source.CollectAsync(cts.Token).GetAwaiter().GetResult();
            }
            catch (ContainerSourceException e)
            {
                Console.Error.WriteLine("aiops-trace: " + e.Message.ReplaceLineEndings(" "));
                return ExitSourceFailed;
            }
        }
        AnalysisRound round = pipeline.Run(containers, DateTimeOffset.UtcNow);
        var nodes = containers.ToDictionary(c => c.Attributes.Key, c => c.Attributes.Node, StringComparer.Ordinal);
        string? nodeOf(string key) => nodes.GetValueOrDefault(key);
        if (json)
        {
            using (Stream stdout = Console.OpenStandardOutput())
                VerdictReport.WriteJson(stdout, source.Description, round, nodeOf);
            Console.Out.WriteLine();
        }
        else
            VerdictReport.WriteText(Console.Out, source.Description, round, nodeOf);
        return Program.ExitOk;
    }

    private static int Serve(AnalysisPipeline pipeline, PrometheusSource source, TimeSpan interval, string? listen, string? token)
    {
        _ = (pipeline, source, interval, listen, token);
        throw new UsageException("analyze without --once (serving the verdicts) is not built yet: use --once");
    }

    private static VerdictStore OpenStore(string path)
    {
        VerdictStore store;
        try
        {
            store = VerdictStore.Open(path);
        }
        catch (Microsoft.Data.Sqlite.SqliteException e)
        {
            throw new UsageException($"--verdict-db '{path}': {e.Message}");
        }
        if (store.SetAside is not null)
            Console.Error.WriteLine($"aiops-trace: {store.Path} was unreadable ({store.Problem}); moved to {store.SetAside}, a new database was started");
        return store;
    }
}
