using System.Diagnostics;
using System.Globalization;
using AIOps.Trace.Analysis.Collection;
using AIOps.Trace.Analysis.Detection;
using AIOps.Trace.Evaluation;
using AIOps.Trace.Cgroups;
using AIOps.Trace.Diagnosis;

namespace AIOps.Trace.Tests.Kernel.Detection;

/// <summary>
/// Records the detection benchmark: two domains of ten replicas (<see cref="DomainProfile.Benchmark"/>)
/// side by side, each going through the episodes of <see cref="DetectionSchedule"/> (graded faults,
/// two faulted replicas at once, load shifts of the whole domain, onset and recovery windows), and
/// every replica's metric vector of every window appended to artifacts/detection/windows.tsv with
/// its true label. Both domains live through the same windows, so the machine's noise (it is
/// shared) reaches every peer alike. Each block of episodes is its own test case, so the machine's
/// kernel-test lock is released between them; artifacts/detection/recording.tsv keeps each block's
/// duration and the container windows it could not record.
/// `./build.sh --target=Detection --detection-runs=N` records N runs and evaluates them;
/// `--target=Test` records one short block and checks that the peers alone single out the faulted replicas.
/// </summary>
[Trait("Category", "Detection")]
public sealed class DetectionRecorderTests : KernelTestBase
{
    internal const double WindowSeconds = 2;

    /// <summary>AIOPS_DETECTION_RUNS (the Detection target sets it), else 0: one smoke block.</summary>
    private static int Runs =>
        int.TryParse(Environment.GetEnvironmentVariable("AIOPS_DETECTION_RUNS"), out int n) && n > 0 ? n : 0;

    /// <summary>AIOPS_DETECTION_FIRST_RUN: the first run to record (to add runs to a recording), else 0.</summary>
    private static int FirstRun =>
        int.TryParse(Environment.GetEnvironmentVariable("AIOPS_DETECTION_FIRST_RUN"), out int n) && n > 0 ? n : 0;

    /// <summary>"rR/bB" for every run and block, runs outermost; "smoke" for the normal test run.</summary>
    public static TheoryData<string> Blocks => Runs == 0
        ? new TheoryData<string>("smoke")
        : new TheoryData<string>(Enumerable.Range(FirstRun, Runs).SelectMany(r => Enumerable.Range(0, DetectionSchedule.BlocksPerRun).Select(b => $"r{r}/b{b}")));

    public static string Folder => Path.Combine(StructLayoutTests.RepoRoot(), "artifacts", "detection");

    [Theory]
    [MemberData(nameof(Blocks))]
    public void Block_is_recorded(string block)
    {
        bool smoke = block == "smoke";
        int run = smoke ? 0 : int.Parse(block[1..block.IndexOf('/')], CultureInfo.InvariantCulture);
        int number = smoke ? 0 : int.Parse(block[(block.IndexOf('/') + 2)..], CultureInfo.InvariantCulture);
        IReadOnlyList<DomainProfile> profiles = DomainProfile.Benchmark;
        IReadOnlyList<EpisodePlan>[] plans = smoke
            ? [[new EpisodePlan(FaultKinds.CpuCap, Severities.Severe, [2])], [new EpisodePlan(FaultKinds.CpuCap, Severities.Severe, [4, 7])]]
            : profiles.Select((p, i) => DetectionSchedule.Block(run, number, i, p.Replicas)).ToArray();

        var clock = Stopwatch.StartNew();
        TraceEngine engine = StartEngine();
        var rows = new List<LabelledWindow>();
        int missing = 0;
        Dictionary<(string Domain, string Key), List<(string Comm, long Ticks)>> ticks; // what ran in each replica, read from the kernel
        using (var bench = DetectionBench.Create(profiles))
        {
            Assert.True(bench.Device.WaitForIo(TimeSpan.FromSeconds(30)), "the replicas' workloads did not start (no I/O on the device)");
            using var recorder = new WindowRecorder(engine);
            recorder.Next(); // warm-up: TCP out of slow start, the cached files read once, every fio job issuing
            Assert.True(bench.Domains.All(d => d.Running), "a replica's workload exited while starting");

            for (int e = 0; e < plans[0].Count; e++)
            {
                var faults = new List<IInjectedFault>();
                try
                {
                    for (int w = 0; w < DetectionSchedule.WindowsPerEpisode; w++)
                    {
                        int f = w - DetectionSchedule.BeforeWindows;
                        bool faulted = f >= 0 && f < DetectionSchedule.FaultWindows;
                        string phase = f < 0 ? EpisodePhases.Before : f == 0 ? EpisodePhases.Onset : faulted ? EpisodePhases.Fault : EpisodePhases.Recovery;
                        if (f == 0)
                            faults.AddRange(Inject(bench, plans, e));
                        else if (faulted)
                            SetLevels(faults, plans, e, f);
                        else if (f == DetectionSchedule.FaultWindows)
                            TakeBack(faults);

                        IReadOnlyDictionary<string, (double[] Values, RecordedSettings Settings)> diagnoses = recorder.Next();
                        for (int d = 0; d < bench.Domains.Count; d++)
                        {
                            ReplicaDomain domain = bench.Domains[d];
                            EpisodePlan plan = plans[d][e];
                            foreach (Replica r in domain.Replicas)
                            {
                                if (!diagnoses.TryGetValue(r.App.RelativePath, out var diagnosis))
                                {
                                    missing++;
                                    continue;
                                }
                                string label = faulted && plan.IsFault && plan.Faulted.Contains(r.Index) ? plan.Scenario : FaultKinds.None;
                                rows.Add(new LabelledWindow(smoke ? "smoke" : $"r{run}", domain.Profile.Name, $"b{number}e{e}", plan.Scenario, plan.Severity,
                                    phase, w, $"replica{r.Index}", label, diagnosis.Values, diagnosis.Settings));
                            }
                        }
                    }
                }
                finally
                {
                    TakeBack(faults);
                }
            }
            Assert.True(bench.Domains.All(d => d.Running), "a replica's workload exited during the block");
            ticks = bench.Domains.SelectMany(d => d.Replicas.Select(r => (d.Profile.Name, r)))
                .ToDictionary(x => (x.Name, $"replica{x.r.Index}"), x => x.r.App.Pids().Select(CpuTicks).ToList());
        }
        Assert.Empty(LoopDevice.Leftovers());
        Assert.Empty(Scenarios.NetworkLab.Leftovers());

        Directory.CreateDirectory(Folder);
        if (!smoke)
        {
            LabelledWindowsTsv.Append(Path.Combine(Folder, "windows.tsv"), rows);
            RecordingLog.Append(Path.Combine(Folder, "recording.tsv"), new RecordingLog.Entry(block, clock.Elapsed.TotalSeconds, rows.Count, missing));
        }
        else
        {
            File.Delete(Path.Combine(Folder, "smoke.tsv"));
            LabelledWindowsTsv.Append(Path.Combine(Folder, "smoke.tsv"), rows); // what the assertion below judged
            AssertPeersFind(rows, ticks);
        }
    }

    private static IEnumerable<IInjectedFault> Inject(DetectionBench bench, IReadOnlyList<EpisodePlan>[] plans, int e)
    {
        var started = new List<IInjectedFault>();
        for (int d = 0; d < bench.Domains.Count; d++)
        {
            EpisodePlan plan = plans[d][e];
            ReplicaDomain domain = bench.Domains[d];
            if (plan.Scenario == FaultKinds.None)
                continue;
            DetectionFault fault = DetectionFault.Of(plan.Scenario);
            double level = plan.Level(0, DetectionSchedule.FaultWindows);
            if (plan.Scenario == FaultKinds.LoadShift)
                started.Add(new Tagged(fault.Start(domain, domain.Replicas[0], level), d));
            else
                foreach (int i in plan.Faulted)
                    started.Add(new Tagged(fault.Start(domain, domain.Replicas[i], level), d));
        }
        return started;
    }

    private static void SetLevels(List<IInjectedFault> faults, IReadOnlyList<EpisodePlan>[] plans, int e, int faultWindow)
    {
        foreach (Tagged t in faults.Cast<Tagged>())
            if (plans[t.Domain][e].Severity == Severities.Ramp)
                t.SetLevel(plans[t.Domain][e].Level(faultWindow, DetectionSchedule.FaultWindows));
    }

    private static void TakeBack(List<IInjectedFault> faults)
    {
        foreach (IInjectedFault f in faults)
            f.Dispose();
        faults.Clear();
    }

    /// <summary>A fault and the domain it was given in.</summary>
    private sealed record Tagged(IInjectedFault Fault, int Domain) : IInjectedFault
    {
        public void SetLevel(double level) => Fault.SetLevel(level);

        public void Dispose() => Fault.Dispose();
    }

    internal static RecordedSettings Settings(ContainerDiagnosis d)
    {
        CpuLimits cpu = d.CpuEvidence.ToLimits();
        long memory = d.EvidenceOf<MemoryEvidence>()?.LimitBytes ?? -1;
        return new RecordedSettings(cpu.QuotaCpus ?? double.NaN, cpu.Shares > 0 ? cpu.Shares : double.NaN,
            CpuList.Parse(cpu.CpusetCpus) is { Count: > 0 } set ? set.Count : double.NaN, memory > 0 ? memory : double.NaN);
    }

    /// <summary>A pid's comm and utime+stime from /proc/PID/stat (ticks); ("PID gone", -1) once it has exited.</summary>
    private static (string Comm, long Ticks) CpuTicks(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            int close = stat.LastIndexOf(')');
            string[] f = stat[(close + 2)..].Split(' ');
            return (stat[(stat.IndexOf('(') + 1)..close], long.Parse(f[11], CultureInfo.InvariantCulture) + long.Parse(f[12], CultureInfo.InvariantCulture));
        }
        catch (IOException)
        {
            return ($"{pid} gone", -1);
        }
    }

    /// <summary>
    /// Whether a replica's own workload behaved unlike its domain peers': one of its processes used
    /// five times the peers' median CPU for the same process (same name, same place in the replica)
    /// and at least half a second more (a smoke block's fio uses 2-30 ticks in a replica; one seen
    /// at 100 against a median of 7 was flagged, rightly). Peers that flag such a replica are
    /// right, not a false alarm.
    /// </summary>
    private static bool WorkloadDiffered((string Domain, string Key) replica, Dictionary<(string Domain, string Key), List<(string Comm, long Ticks)>> ticks)
    {
        List<(string Comm, long Ticks)> own = ticks[replica];
        for (int i = 0; i < own.Count; i++)
        {
            long[] peers = ticks.Where(t => t.Key.Domain == replica.Domain && t.Key != replica && t.Value.Count > i && t.Value[i].Comm == own[i].Comm)
                .Select(t => t.Value[i].Ticks).Order().ToArray();
            if (peers.Length == 0 || own[i].Ticks < 0)
                continue;
            long median = peers[peers.Length / 2];
            if (own[i].Ticks > 5 * Math.Max(median, 1) && own[i].Ticks - median >= 50)
                return true;
        }
        return false;
    }

    /// <summary>
    /// Without labels, the peer comparison alone flags each faulted replica in most of its fault
    /// windows, and no other replica in most windows unless that replica's own workload measurably
    /// differed (its processes' CPU ticks, read from the kernel, say so).
    /// </summary>
    private static void AssertPeersFind(List<LabelledWindow> rows, Dictionary<(string Domain, string Key), List<(string Comm, long Ticks)>> ticks)
    {
        using var analyzer = new AnomalyAnalyzer();
        var flagged = new Dictionary<(string Domain, string Key, bool Faulted), int>();
        var faultWindows = new Dictionary<(string, string), int>();
        foreach (var w in rows.GroupBy(r => (r.Domain, r.Window)))
        {
            LabelledWindow[] members = w.ToArray();
            IReadOnlyList<Verdict> verdicts = analyzer.AnalyzeDomain(w.Key.Domain, members.Select(r => new MetricVector(r.Key, r.Values)).ToList());
            for (int i = 0; i < members.Length; i++)
            {
                if (members[i].IsAbnormal)
                    faultWindows[(members[i].Domain, members[i].Key)] = faultWindows.GetValueOrDefault((members[i].Domain, members[i].Key)) + 1;
                if (verdicts[i].IsAbnormal)
                {
                    var k = (members[i].Domain, members[i].Key, members[i].IsAbnormal);
                    flagged[k] = flagged.GetValueOrDefault(k) + 1;
                }
            }
        }
        int windows = rows.Select(r => r.Window).Distinct().Count();
        string summary = string.Join(", ", flagged.Select(f => $"{f.Key.Domain}/{f.Key.Key}{(f.Key.Faulted ? " (faulted)" : "")}: {f.Value}"))
            + "; processes (CPU ticks): " + string.Join("; ", ticks.Select(t => $"{t.Key.Domain}/{t.Key.Key}: " + string.Join(", ", t.Value.Select(p => $"{p.Comm} {p.Ticks}"))));
        foreach (((string domain, string key), int n) in faultWindows)
            Assert.True(flagged.Where(f => f.Key.Domain == domain && f.Key.Key == key && f.Key.Faulted).Sum(f => f.Value) > n / 2,
                $"{domain}/{key} was not flagged in most of its {n} fault windows ({summary})");
        Assert.All(flagged.Where(f => !f.Key.Faulted && !WorkloadDiffered((f.Key.Domain, f.Key.Key), ticks)), f => Assert.True(f.Value <= windows / 2, $"{f.Key.Domain}/{f.Key.Key} flagged in most windows ({summary})"));
    }
}

/// <summary>Each window of a <see cref="TraceSession"/> diagnosed, keyed by cgroup path: the recorder's view of the machine.</summary>
internal sealed class WindowRecorder : IDisposable
{
    private readonly TraceSession _session;

    public WindowRecorder(TraceEngine engine) => _session = new TraceSession(engine);

    /// <summary>
    /// Waits out one window, then diagnoses every container of it: its metric vector and settings,
    /// taken before the window is disposed (its container snapshots go back to the engine's pool).
    /// </summary>
    public IReadOnlyDictionary<string, (double[] Values, RecordedSettings Settings)> Next()
    {
        Thread.Sleep(TimeSpan.FromSeconds(DetectionRecorderTests.WindowSeconds)); // the window itself: what happens in it is the measurement
        using TraceWindow window = _session.Cut();
        return WindowDiagnosis.Diagnose(window).ToDictionary(d => d.Container.CgroupPath,
            d => (MetricVector.From(d, window.Seconds).Values, DetectionRecorderTests.Settings(d)));
    }

    public void Dispose() => _session.Dispose();
}

/// <summary>The benchmark's machine: one loop device the domains share and the domains on it; Dispose removes all, domains first.</summary>
internal sealed class DetectionBench : IDisposable
{
    private DetectionBench(LoopDevice device) => Device = device;

    public LoopDevice Device { get; }

    public List<ReplicaDomain> Domains { get; } = new();

    public static DetectionBench Create(IReadOnlyList<DomainProfile> profiles)
    {
        var bench = new DetectionBench(LoopDevice.Create(sizeMiB: 512));
        try
        {
            foreach (DomainProfile p in profiles)
                bench.Domains.Add(ReplicaDomain.Create(p, bench.Device));
        }
        catch
        {
            bench.Dispose();
            throw;
        }
        return bench;
    }

    public void Dispose()
    {
        var failures = new List<Exception>();
        foreach (ReplicaDomain d in Domains)
        {
            try { d.Dispose(); }
            catch (Exception e) { failures.Add(e); }
        }
        try { Device.Dispose(); }
        catch (Exception e) { failures.Add(e); }
        if (failures.Count > 0)
            throw new AggregateException("cleaning up the detection bench failed", failures);
    }
}

/// <summary>artifacts/detection/recording.tsv: per recorded block, its wall-clock seconds, the container windows recorded and those missing (a replica undiagnosed in a window).</summary>
public static class RecordingLog
{
    public sealed record Entry(string Block, double Seconds, int Rows, int Missing);

    public static void Append(string path, Entry e)
    {
        bool fresh = !File.Exists(path);
        using var w = new StreamWriter(path, append: true);
        if (fresh)
            w.WriteLine("block\tseconds\trows\tmissing");
        w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{e.Block}\t{e.Seconds:0.0}\t{e.Rows}\t{e.Missing}"));
    }
}
