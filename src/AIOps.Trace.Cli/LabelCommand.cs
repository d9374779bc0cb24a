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
    public static readonly IReadOnlySet<string> Flags = new HashSet<string> { "abnormal", "normal" };

    /// <summary>Where verdicts live unless --db says otherwise.</summary>
    public const string DefaultDb = "/var/lib/aiops-trace/verdicts.db";

    public static int Run(string[] args)
    {
        if (args.Length == 0 || args[0].StartsWith("--", StringComparison.Ordinal))
            throw new UsageException("label needs a container: aiops-trace label CONTAINER --abnormal|--normal [--kind K] [--domain D] [--db PATH]");
        string container = args[0];
        var a = new Arguments(args[1..], Flags);
        bool abnormal = a.Flag("abnormal"), normal = a.Flag("normal");
        string? kind = a.Value("kind");
        string? domain = a.Value("domain");
        string db = a.Value("db") ?? DefaultDb;
        a.RejectUnknown();
        if (abnormal == normal)
            throw new UsageException("label needs exactly one of --abnormal or --normal");
        if (kind is not null && (normal || kind.Length == 0))
            throw new UsageException($"--kind '{kind}' names an anomaly kind: it goes with --abnormal");

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
            Console.Error.WriteLine("aiops-trace: " + problem);
        OperatorVerdict v = store.Record(new OperatorVerdict(container, domain, abnormal, kind, null, null, DateTimeOffset.UtcNow));
        Console.Out.WriteLine($"verdict {v.Id}: {container} {(abnormal ? "abnormal" : "normal")}{(kind is null ? "" : $" ({kind})")}"
            + $"{(domain is null ? "" : $" in {domain}")}, stored in {store.Path}");
        return Program.ExitOk;
    }
}
