using AIOps.Trace.Analysis.Collection;
using AIOps.Trace.Analysis.Detection;
using AIOps.Trace.Analysis.Evaluation;
using AIOps.Trace.Cgroups;
using AIOps.Trace.Diagnosis;

namespace AIOps.Trace.Tests.Kernel.Detection;

/// <summary>
/// Records the labelled data set of the detection proof: per episode a fresh domain of
/// <see cref="Replicas"/> replicas, one given a fault (or none), and every replica's metric vector
/// of every window written to artifacts/detection/windows.tsv with its true label. Each episode is
/// its own test case, so the machine's kernel-test lock is released between them.
/// `./build.sh --target=Detection --detection-runs=N` records N runs of every fault and evaluates
/// them (DetectionDataSetTests); `--target=Test` records one episode and checks that the peers
/// alone single out its faulted replica.
/// </summary>
[Trait("Category", "Detection")]
public sealed class DetectionRecorderTests : KernelTestBase
{
    public const int Replicas = 5;
    public const int WindowsPerEpisode = 4;
    private const double WindowSeconds = 2;

    /// <summary>The episode the normal test run records: the fault the peers must find without labels.</summary>
    private const string SmokeFault = FaultKinds.CpuCap;

    /// <summary>AIOPS_DETECTION_RUNS (the Detection target sets it), else 0: one smoke episode.</summary>
    private static int Runs =>
        int.TryParse(Environment.GetEnvironmentVariable("AIOPS_DETECTION_RUNS"), out int n) && n > 0 ? n : 0;

    /// <summary>"run/fault" for every run and fault, runs outermost.</summary>
    public static TheoryData<string> Episodes => Runs == 0
        ? new TheoryData<string>($"r0/{SmokeFault}")
        : new TheoryData<string>(Enumerable.Range(0, Runs).SelectMany(r => DetectionFault.All.Select(f => $"r{r}/{f.Kind}")));

    public static string DataSetPath => Path.Combine(StructLayoutTests.RepoRoot(), "artifacts", "detection", "windows.tsv");

    [Theory]
    [MemberData(nameof(Episodes))]
    public void Episode_is_recorded(string episode)
    {
        string run = episode.Split('/')[0];
        DetectionFault fault = DetectionFault.Of(episode.Split('/')[1]);
        // The faulted replica rotates with run and fault, so no replica's place is tied to a label.
        int faulted = fault.Kind == FaultKinds.None ? -1
            : (int.Parse(run[1..]) + DetectionFault.All.ToList().IndexOf(fault)) % Replicas;

        TraceEngine engine = StartEngine();
        List<LabelledWindow[]> windows;
        string processes; // what ran in each replica, for a failure message
        Dictionary<string, List<(string Comm, long Ticks)>> ticks;
        using (ReplicaDomain domain = ReplicaDomain.Create(Replicas))
        {
            Assert.True(domain.WaitForWorkloads(TimeSpan.FromSeconds(15)), "the replicas' workloads did not start (no I/O on the device, or one exited)");
            if (faulted >= 0)
                fault.Inject(domain, domain.Replicas[faulted]);
            Thread.Sleep(2000); // the fault takes hold: throttling starts, the cache is reclaimed to the limit, TCP meets loss
            windows = Record(engine, domain, run, fault.Kind, faulted);
            ticks = domain.Replicas.ToDictionary(r => $"replica{r.Index}", r => r.App.Pids().Select(CpuTicks).ToList());
            processes = string.Join("; ", ticks.Select(t => $"{t.Key}: " + string.Join(", ", t.Value.Select(p => $"{p.Comm} {p.Ticks}"))));
        }
        Assert.Empty(LoopDevice.Leftovers());
        Assert.Empty(Scenarios.NetworkLab.Leftovers());

        // A window without every replica (one went undiagnosed) would skew the scores: the episode fails unrecorded.
        Assert.All(windows, w => Assert.Equal(Replicas, w.Length));
        Directory.CreateDirectory(Path.GetDirectoryName(DataSetPath)!);
        LabelledWindowsTsv.Append(DataSetPath, windows.SelectMany(w => w));

        if (Runs == 0)
            AssertPeersFind(windows, faulted, processes, ticks);
    }

    /// <summary>A pid's comm and utime+stime from /proc/PID/stat (ticks); ("PID gone", -1) once it has exited.</summary>
    private static (string Comm, long Ticks) CpuTicks(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            int close = stat.LastIndexOf(')');
            string[] f = stat[(close + 2)..].Split(' ');
            return (stat[(stat.IndexOf('(') + 1)..close], long.Parse(f[11]) + long.Parse(f[12]));
        }
        catch (IOException)
        {
            return ($"{pid} gone", -1);
        }
    }

    /// <summary>
    /// Whether a replica's own workload behaved unlike its peers': one of its processes used five
    /// times the peers' median CPU for the same process (same name, same place in the replica) and
    /// at least a second more. Peers that flag such a replica are right, not a false alarm.
    /// </summary>
    private static bool WorkloadDiffered(string replica, Dictionary<string, List<(string Comm, long Ticks)>> ticks)
    {
        List<(string Comm, long Ticks)> own = ticks[replica];
        for (int i = 0; i < own.Count; i++)
        {
            long[] peers = ticks.Where(t => t.Key != replica && t.Value.Count > i && t.Value[i].Comm == own[i].Comm)
                .Select(t => t.Value[i].Ticks).Order().ToArray();
            if (peers.Length == 0 || own[i].Ticks < 0)
                continue;
            long median = peers[peers.Length / 2];
            if (own[i].Ticks > 5 * Math.Max(median, 1) && own[i].Ticks - median >= 100)
                return true;
        }
        return false;
    }

    private static List<LabelledWindow[]> Record(TraceEngine engine, ReplicaDomain domain, string run, string kind, int faulted)
    {
        using var session = new TraceSession(engine);
        var windows = new List<LabelledWindow[]>();
        for (int w = 0; w < WindowsPerEpisode; w++)
        {
            Thread.Sleep(TimeSpan.FromSeconds(WindowSeconds));
            using TraceWindow window = session.Cut();
            var byKey = WindowDiagnosis.Diagnose(window).ToDictionary(d => d.Container.CgroupPath);
            var rows = new List<LabelledWindow>();
            foreach (Replica r in domain.Replicas)
                if (byKey.TryGetValue(r.App.RelativePath, out ContainerDiagnosis? d))
                    rows.Add(new LabelledWindow(run, kind, w, $"replica{r.Index}", r.Index == faulted ? kind : FaultKinds.None,
                        MetricVector.From(d, window.Seconds).Values));
            windows.Add(rows.ToArray());
        }
        return windows;
    }

    /// <summary>
    /// Without labels, the peer comparison alone flags the faulted replica in most windows, and no
    /// other replica in most unless that replica's own workload measurably differed (its processes'
    /// CPU ticks, read from the kernel, say so).
    /// </summary>
    private static void AssertPeersFind(List<LabelledWindow[]> windows, int faulted, string processes, Dictionary<string, List<(string Comm, long Ticks)>> ticks)
    {
        using var analyzer = new AnomalyAnalyzer();
        var flagged = new Dictionary<string, int>();
        foreach (LabelledWindow[] w in windows)
            foreach (Verdict v in analyzer.AnalyzeDomain("replicas", w.Select(r => new MetricVector(r.Key, r.Values)).ToList()))
                if (v.IsAbnormal)
                    flagged[v.Key] = flagged.GetValueOrDefault(v.Key) + 1;
        string summary = string.Join(", ", flagged.Select(f => $"{f.Key}: {f.Value}")) + $"; processes (CPU ticks): {processes}";
        Assert.True(flagged.GetValueOrDefault($"replica{faulted}") > windows.Count / 2, $"replica{faulted} was not flagged in most windows ({summary})");
        Assert.All(flagged.Where(f => f.Key != $"replica{faulted}" && !WorkloadDiffered(f.Key, ticks)),
            f => Assert.True(f.Value <= windows.Count / 2, $"{f.Key} flagged in most windows ({summary})"));
    }
}
