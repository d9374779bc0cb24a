using AIOps.Trace.Analysis.Verification;
using AIOps.Trace.Server.Anomalies;

namespace AIOps.Trace.Cli;

/// <summary>
/// `aiops-trace label CONTAINER --abnormal|--normal [--kind K] [--domain D] [--db PATH]`: stores an
/// operator's verdict on a container in the node's verdict database, where the anomaly detection's
/// training sets read it from.
/// </summary>
internal static class LabelCommand
{
    /// <summary>Where verdicts live unless --db says otherwise.</summary>
    public const string DefaultDb = "/var/lib/aiops-trace/verdicts.db";

    public static int Run(Arguments a)
    {
        string container = a.Argument("CONTAINER")
            ?? throw new UsageException("label needs a container: aiops-trace label CONTAINER --abnormal|--normal [--kind K] [--domain D] [--db PATH]");
        if (container.Length == 0 || container.Any(char.IsControl))
            throw new UsageException($"label CONTAINER '{container}' is not a container: expected its key (cgroup path) or id, e.g. /kubepods.slice/pod1/c1");
        bool abnormal = a.Flag("abnormal"), normal = a.Flag("normal");
        string? kind = a.Value("kind");
        string? domain = a.Value("domain");
        string db = a.Value("db") ?? DefaultDb;
        if (abnormal == normal)
            throw new UsageException("label needs exactly one of --abnormal or --normal");
        if (kind is not null && normal)
            throw new UsageException($"--kind '{kind}' names an anomaly kind: it goes with --abnormal");
        // The same rule as the API's POST /api/v1/verdicts: a kind stored here is one the sidecar would take.
        if (kind is not null && AnomalyService.KindProblem(kind) is { } badKind)
            throw new UsageException($"--kind '{kind}' is not a kind: {badKind}");
        if (domain is { Length: 0 })
            throw new UsageException("--domain '' is empty: expected the monitoring domain's id, or leave --domain out");
        if (db.Length == 0)
            throw new UsageException("--db '' is empty: expected the path of the verdict database");

        try
        {
            return Store(container, domain, abnormal, kind, db);
        }
        catch (VerdictStoreException e)
        {
            // Not bad input: the node's disk is full or read-only. One line, exit 1.
            Console.Error.WriteLine("aiops-trace: " + e.Message.ReplaceLineEndings(" "));
            return 1;
        }
        catch (Microsoft.Data.Sqlite.SqliteException e)
        {
            return Program.Fail($"{db}: {e.Message}");
        }
    }

    private static int Store(string container, string? domain, bool abnormal, string? kind, string db)
    {
        using VerdictStore store = VerdictStore.Open(db);
        if (AnomalyService.StoreProblem(store) is { } problem)
            CliLog.Warning(problem);
        OperatorVerdict v = store.Record(new OperatorVerdict(container, domain, abnormal, kind, null, null, DateTimeOffset.UtcNow));
        Console.Out.WriteLine($"verdict {v.Id}: {container} {(abnormal ? "abnormal" : "normal")}{(kind is null ? "" : $" ({kind})")}"
            + $"{(domain is null ? "" : $" in {domain}")}, stored in {store.Path}");
        return Program.ExitOk;
    }
}
