using System.Text.Json;
using AIOps.Trace.Cgroups;
using AIOps.Trace.Diagnosis;

namespace AIOps.Trace.Cli;

/// <summary>
/// `aiops-trace diagnose`: traces one window, then for each container walks the CPU reverse
/// diagnosis and prints the outcome with the path that led to it.
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
        var resources = new ResourceSampler(ResourceProbes.Default(new ResourceProbeContext(engine.Mounts, options.HostRoot)));
        resources.Baseline(engine.CgroupPaths());
        PerCpuTime cpusBefore = PerCpuTime.Read(options.HostRoot);
        using CancellationTokenSource cts = Program.CancelOnSignal(out IDisposable signals);
        using (signals)
            cts.Token.WaitHandle.WaitOne(duration);
        using EngineSnapshot window = engine.CollectWindow();
        new IdentityWarnings(engine).PrintNew();
        IReadOnlyDictionary<int, double> cpuBusy = PerCpuTime.Read(options.HostRoot).BusySince(cpusBefore);

        List<ContainerSnapshot> chosen = Choose(window, wanted);
        List<ContainerDiagnosis> results = WindowDiagnosis.Diagnose(window, new CgroupReader(engine.Mounts), cpuBusy, resources: resources)
            .Where(r => chosen.Contains(r.Container))
            .ToList();

        if (json)
            WriteJson(window, results);
        else
            WriteText(window, results);
        return Program.ExitOk;
    }

    /// <summary>The containers to diagnose: all, or the one named by path, name or last path segment.</summary>
    private static List<ContainerSnapshot> Choose(EngineSnapshot window, string? wanted)
    {
        if (wanted is null)
            return window.Containers.Where(c => c.CgroupPath != "/").ToList();
        List<ContainerSnapshot> hits = window.Containers
            .Where(c => c.CgroupPath == wanted || c.CgroupPath == "/" + wanted.Trim('/') || c.Name == wanted
                        || c.CgroupPath.EndsWith("/" + wanted, StringComparison.Ordinal))
            .ToList();
        if (hits.Count > 0)
            return hits;
        string[] close = window.Containers
            .Select(c => c.CgroupPath)
            .OrderBy(p => Distance(Last(p), wanted))
            .Take(3)
            .ToArray();
        throw new UsageException($"no container '{wanted}' ran in the window" +
            (close.Length > 0 ? "; closest: " + string.Join(", ", close) : ""));
    }

    private static void WriteText(EngineSnapshot window, List<ContainerDiagnosis> results)
    {
        TextWriter o = Console.Out;
        o.WriteLine($"window {window.WindowSeconds:0.0}s, {window.Host.Cpus} CPUs, host idle {window.Host.IdleRatio:P0}, lost events {window.LostEvents}");
        foreach (ContainerDiagnosis d in results.OrderBy(r => r.Cpu.Outcome == Outcomes.NotThrottled).ThenByDescending(r => r.CpuEvidence.RunQueueP99Us))
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
        using Stream stdout = Console.OpenStandardOutput();
        using (var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteNumber("window_s", Math.Round(window.WindowSeconds, 3));
            w.WriteNumber("lost_events", window.LostEvents);
            w.WriteStartArray("containers");
            foreach (ContainerDiagnosis d in results)
            {
                ContainerSnapshot c = d.Container;
                CpuEvidence e = d.CpuEvidence;
                w.WriteStartObject();
                w.WriteString("cgroup_path", c.CgroupPath);
                w.WriteString("name", c.Name);
                w.WriteString("runtime", c.Runtime);
                w.WriteBoolean("ended", c.Ended);
                foreach (ResourceDiagnosis r in d.All)
                {
                    w.WritePropertyName(r.Resource);
                    DiagnosisWriter.WriteJson(w, r);
                }
                w.WriteStartObject("cpu_evidence");
                w.WriteNumber("runq_p50_us", Math.Round(e.RunQueueP50Us, 1));
                w.WriteNumber("runq_p99_us", Math.Round(e.RunQueueP99Us, 1));
                w.WriteNumber("cpu_usage_cores", Math.Round(e.CpuUsageCores, 3));
                w.WriteStartArray("noisy_neighbours");
                foreach (NoisyNeighbour n in e.TopPreemptors)
                {
                    w.WriteStartObject();
                    w.WriteString("cgroup_path", n.CgroupPath);
                    w.WriteNumber("preemptions", n.Preemptions);
                    w.WriteNumber("cpu_usage_cores", Math.Round(n.CpuUsageCores, 3));
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
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
