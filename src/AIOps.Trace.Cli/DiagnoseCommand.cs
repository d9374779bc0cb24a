using System.Text.Json;
using AIOps.Trace.Contracts;
using AIOps.Trace.Diagnosis;

namespace AIOps.Trace.Cli;

/// <summary>
/// `aiops-trace diagnose`: traces one window, then for each container on the host (idle ones
/// too) walks the reverse diagnoses and prints each outcome with the path that led to it.
/// </summary>
internal static class DiagnoseCommand
{
    public static int Run(Arguments a)
    {
        TimeSpan duration = a.Duration("duration", TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(500), TimeSpan.FromHours(1));
        string? wanted = a.Value("container");
        bool json = a.Flag("json");
        EngineOptions options = Program.EngineOptions(a);

        using TraceEngine engine = Program.StartEngine(options);
        using var session = new TraceSession(engine, options.HostRoot);
        using CancellationTokenSource cts = Program.CancelOnSignal(out IDisposable signals);
        using (signals)
            cts.Token.WaitHandle.WaitOne(duration);
        using TraceWindow window = session.Cut();
        new IdentityWarnings(engine).PrintNew();

        HashSet<ContainerSnapshot> chosen = Choose(window, wanted);
        List<ContainerDiagnosis> results = WindowDiagnosis.Diagnose(window)
            .Where(r => chosen.Contains(r.Container))
            .ToList();

        if (json)
            WriteJson(window.Snapshot, results);
        else
            WriteText(window.Snapshot, results);
        return Program.ExitOk;
    }

    /// <summary>
    /// The containers to diagnose: all, or the one named by path, name or last path segment. Every
    /// container on the host is in the window, idle ones too; a parent of containers is none.
    /// </summary>
    private static HashSet<ContainerSnapshot> Choose(TraceWindow window, string? wanted)
    {
        if (wanted is null)
            return window.Containers.ToHashSet();
        string path = "/" + wanted.Trim('/');
        HashSet<ContainerSnapshot> hits = window.Containers
            .Where(c => c.CgroupPath == wanted || c.CgroupPath == path || c.Name == wanted
                        || c.CgroupPath.EndsWith("/" + wanted, StringComparison.Ordinal))
            .ToHashSet();
        if (hits.Count > 0)
            return hits;
        if (window.Live.Contains(path))
        {
            string[] inside = window.Containers.Select(c => c.CgroupPath).Where(p => p.StartsWith(path + "/", StringComparison.Ordinal)).Take(3).ToArray();
            throw new UsageException($"cgroup '{path}' is a parent of containers, not a container" +
                (inside.Length > 0 ? "; its containers include " + string.Join(", ", inside) : ""));
        }
        string[] close = window.Containers
            .Select(c => c.CgroupPath)
            .OrderBy(p => Distance(Last(p), wanted))
            .Take(3)
            .ToArray();
        throw new UsageException($"no container '{wanted}' on this host" +
            (close.Length > 0 ? "; closest: " + string.Join(", ", close) : ""));
    }

    private static void WriteText(EngineSnapshot window, List<ContainerDiagnosis> results)
    {
        TextWriter o = Console.Out;
        o.WriteLine($"window {window.WindowSeconds:0.0}s, {window.Host.Cpus} CPUs, host idle {window.Host.IdleRatio:P0}, lost events {window.LostEvents}");
        if (results.Count > 1)
        {
            o.WriteLine();
            DiagnosisWriter.WriteText(o, HostAnswer.Build(results.Select(r => new ContainerVerdicts(r.Container.CgroupPath, r.Container.Name,
                r.All.ToDictionary(x => x.Resource)))));
        }
        foreach (ContainerDiagnosis d in results.OrderByDescending(r => r.All.Max(x => DiagnosisGuide.For(x.Resource, x.Outcome).Severity))
                     .ThenByDescending(r => r.CpuEvidence.RunQueueP99Us))
        {
            ContainerSnapshot c = d.Container;
            CpuEvidence e = d.CpuEvidence;
            o.WriteLine();
            o.WriteLine($"{c.CgroupPath} ({c.Runtime} {c.Name})  run-queue latency p50 {e.RunQueueP50Us:0} us, p99 {e.RunQueueP99Us:0} us, cpu {e.CpuUsageCores:0.00} cores");
            if (c.Ended)
                o.WriteLine("  ended during the window: what was seen until its cgroup was removed");
            foreach (ResourceDiagnosis r in d.All)
                DiagnosisWriter.WriteText(o, r);
        }
    }

    private static void WriteJson(EngineSnapshot window, List<ContainerDiagnosis> results)
    {
        using (Stream stdout = Console.OpenStandardOutput())
            JsonSerializer.Serialize(stdout, DiagnoseDocument.From(window, results), TraceJson.Default.DiagnoseDocument);
        Console.Out.WriteLine();
    }

    private static string Last(string path) => path[(path.LastIndexOf('/') + 1)..];

    /// <summary>Levenshtein distance, for "did you mean" suggestions.</summary>
    private static int Distance(string a, string b)
    {
        var d = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++)
            d[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            int diag = d[0];
            d[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int up = d[j];
                d[j] = Math.Min(Math.Min(d[j] + 1, d[j - 1] + 1), diag + (a[i - 1] == b[j - 1] ? 0 : 1));
                diag = up;
            }
        }
        return d[b.Length];
    }
}
