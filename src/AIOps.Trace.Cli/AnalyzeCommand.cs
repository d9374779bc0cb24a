using System.Globalization;
using AIOps.Trace.Analysis;
using AIOps.Trace.Analysis.Collection;
using AIOps.Trace.Analysis.Partitioning;
using AIOps.Trace.Analysis.Verification;
using AIOps.Trace.Server;

namespace AIOps.Trace.Cli;

/// <summary>
/// `aiops-trace analyze --prometheus URL`: cluster mode. Reads the per-container series every
/// node's sidecar exports from a Prometheus server and runs the anomaly detection over all of
/// them, so a monitoring domain spans nodes. With --once it runs one round and prints the
/// verdicts; exit code 0 when the round ran (whether or not anything is abnormal: a finding is
/// an answer, not a failure), 1 when the source cannot be read, 2 for bad input. Without --once
/// it serves the verdicts (the sidecar's verdict and domain API, /metrics and the dashboard),
/// pulling a round every interval, until SIGTERM or Ctrl-C.
/// </summary>
internal static class AnalyzeCommand
{
    /// <summary>The exit code when Prometheus cannot be read or holds no container series.</summary>
    public const int ExitSourceFailed = 1;

    /// <summary>Where the analysis is served unless --listen says otherwise (beside the sidecar's 9464).</summary>
    public const string DefaultListen = "127.0.0.1:9465";

    /// <summary>Where a serving analyze keeps operators' verdicts unless --verdict-db says otherwise (its keys are node:cgroup, not a sidecar's).</summary>
    public const string DefaultDb = "/var/lib/aiops-trace/cluster-verdicts.db";

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
        string? listenText = a.Value("listen");
        string? token = a.Value("token-file") is { } tf ? ServeCommand.ReadToken(tf, "--token-file") : null;
        // --once reads a database only when named (to seed the domains); a server keeps the labels it takes.
        string? db = a.Value("verdict-db") ?? (once ? null : DefaultDb);
        Func<SidecarOptions, SidecarOptions> exposure = ServeCommand.Exposure(a);
        if (once && (listenText is not null || token is not null))
            throw new UsageException($"--once prints one round and exits: it does not go with {(listenText is not null ? "--listen" : "--token-file")}");
        if (json && !once)
            throw new UsageException("--json prints one round: it goes with --once (the server's API is JSON already)");
        if (db is { Length: 0 })
            throw new UsageException("--verdict-db '' is empty: expected the path of the verdict database");
        SidecarOptions? serving = null;
        if (!once)
        {
            serving = exposure(new SidecarOptions(ServeCommand.ParseListen(listenText ?? DefaultListen), interval, token, Environment.MachineName)
            {
                Logging = CliLog.Json ? CliLog.AddJsonConsole : null,
            });
            // Refused before anything is opened: an open port without a token is never a default.
            if (serving.Refusal() is { } open)
                throw new UsageException(open);
        }

        using VerdictStore? store = db is null ? null : ServeCommand.OpenStore(db);
        using var pipeline = new AnalysisPipeline(new PipelineOptions { Domains = domains }, store);
        ServeCommand.ReportUnreadableRows(store);
        using var source = new PrometheusSource(prometheus, window, prometheusToken);
        return serving is null ? RunOnce(pipeline, source, json) : Serve(pipeline, store, source, serving, window);
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
                CliLog.Error(e.Message);
                return ExitSourceFailed;
            }
            catch (OperationCanceledException) when (cts.IsCancellationRequested)
            {
                CliLog.Error($"interrupted before {source.Description} answered");
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

    private static int Serve(AnalysisPipeline pipeline, VerdictStore? store, PrometheusSource source, SidecarOptions options, TimeSpan window)
    {
        string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + "s";
        SidecarHost.RunAnalysisAsync(pipeline, source, options, url =>
        {
            CliLog.Status($"serving {url} (analysing {source.Description} every {Seconds(options.Interval)} over {Seconds(window)}, " +
                $"domains by {pipeline.Options.Domains}{(options.Token is null ? "" : ", bearer token required")}); verdicts at {url}api/v1/verdicts; Ctrl-C or SIGTERM stops");
            CliLog.Status($"verdicts in {store?.Path ?? "memory"} ({pipeline.SeededVerdicts} stored verdict(s) with a vector seeded the domains)"
                + (options.Token is null ? "; labels (POST /api/v1/verdicts) need --token-file" : ""));
            // It reads Prometheus over HTTP and its own files: no capability is needed once bound.
            ServeCommand.LimitCapabilities(keep: 0);
            Console.Out.Flush();
        }, store).GetAwaiter().GetResult();
        CliLog.Status("stopped");
        return Program.ExitOk;
    }
}
