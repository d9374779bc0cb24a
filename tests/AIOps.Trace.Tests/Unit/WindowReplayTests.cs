using AIOps.Trace.Cgroups;
using AIOps.Trace.Diagnosis;

namespace AIOps.Trace.Tests.Unit;

/// <summary>
/// A window is all diagnosis reads: one recorded on the development VM replays to the same
/// verdicts, with no file system behind the probes, and the per-window work stays linear.
/// </summary>
public sealed class WindowReplayTests
{
    private const string Web = "/aiops-test/pod-1/web";
    private const string Idle = "/aiops-test/pod-1/idle";
    private const string Batch = "/aiops-test/batch";

    /// <summary>A file system that fails any access: the diagnosis must not touch one.</summary>
    private sealed class NoFileSystem : ICgroupFileSystem
    {
        public string? ReadAllText(string path) => throw new InvalidOperationException($"diagnosis read {path}");
        public IEnumerable<string> EnumerateDirectories(string path) => throw new InvalidOperationException($"diagnosis listed {path}");
        public ulong? Inode(string path) => throw new InvalidOperationException($"diagnosis stat {path}");
    }

    private static EngineSnapshot Snapshot(double seconds = 1.0) => new(null)
    {
        Kernel = new KernelSummary("6.18", true, "ringbuf", "tp_btf", "cgroupfs", ""),
        Host = new HostSummary(2, 0.02),
        WindowSeconds = seconds,
        LostEvents = 0,
        KernelCounters = default,
    };

    // Figures of one 1 s window recorded on the development VM (kernel 6.18, hybrid v1): web is a
    // busy loop under a 20 ms / 100 ms quota whose memory cgroup (32 MiB) was OOM-killing
    // `stress-ng --vm`; batch a busy loop beside it; idle a `sleep infinity`.
    private static TraceWindow Recorded(IResourceProbe memory)
    {
        EngineSnapshot s = Snapshot();
        var web = new ContainerSnapshot { CgroupPath = Web, CgroupId = 11, CpuUsageNs = 200_113_702, PreemptedByOther = 3 };
        web.Throttling = new ThrottlingFigures(10, 10, 791_554_302, 0, 0, "cgroupfs");
        web.RunQueue.Record(41_000);
        web.TopPreemptors.Add(new Preemptor(Batch, 12, 3));
        var batch = new ContainerSnapshot { CgroupPath = Batch, CgroupId = 12, CpuUsageNs = 1_603_902_117, PreemptedByOther = 2 };
        batch.Throttling = new ThrottlingFigures(0, 0, 0, 0, 0, "cgroupfs");
        var idle = new ContainerSnapshot { CgroupPath = Idle, CgroupId = 13, CpuUsageNs = 0 };
        idle.Throttling = new ThrottlingFigures(0, 0, 0, 0, 0, "cgroupfs");
        s.Containers.AddRange([batch, idle, web]);

        var webStart = new MemoryReading(1_000, 1, 33_554_432, 33_554_432, 874, -1, 11, 1.99, 244_434, 0.98, 0);
        var webEnd = webStart with { Timestamp = 1_000 + System.Diagnostics.Stopwatch.Frequency, LimitHits = 2495, OomKills = 30, HostPsiSomeTotalUs = 457_757 };
        var quiet = new MemoryReading(1_000, 1, 4_096_000, -1, 0, -1, 0, 0, 244_434, 0.98, 0);
        var readings = new Dictionary<string, ContainerReadings>
        {
            [Web] = new(new CpuLimits(20_000, 100_000, 1024, -1, null), [webStart], [webEnd]),
            [Batch] = new(new CpuLimits(-1, 100_000, 1024, -1, null), [quiet], [quiet with { Timestamp = webEnd.Timestamp }]),
            [Idle] = new(new CpuLimits(-1, 100_000, 1024, -1, null), [quiet], [quiet]),
        };
        return new TraceWindow(7, DateTimeOffset.UnixEpoch, s, new Dictionary<int, double> { [0] = 0.99, [1] = 0.97 }, [memory], readings,
            new HashSet<string> { "/", "/aiops-test", "/aiops-test/pod-1", Web, Idle, Batch });
    }

    private static MemoryProbe ProbeWithoutFiles() =>
        new(new ResourceProbeContext(CgroupMounts.Parse(CgroupsMountsTests.HybridSplitControllers, readFile: _ => "hugetlb\n"), "/"), new NoFileSystem());

    /// <summary>A probe that counts its decisions.</summary>
    private sealed class CountingProbe(IResourceProbe inner) : IResourceProbe
    {
        public int Decisions { get; private set; }
        public string Resource => inner.Resource;
        public IResourceReading? Read(string cgroupPath) => inner.Read(cgroupPath);
        public ResourceDiagnosis Diagnose(string cgroupPath, IResourceReading? start, IResourceReading end, double seconds)
        {
            Decisions++;
            return inner.Diagnose(cgroupPath, start, end, seconds);
        }
    }

    [Fact]
    public void Readings_repeated_between_probe_readings_are_decided_once_and_new_ones_again()
    {
        var probe = new CountingProbe(ProbeWithoutFiles());
        using TraceWindow window = Recorded(probe);
        IReadOnlyList<ContainerDiagnosis> first = WindowDiagnosis.Diagnose(window);
        int decisions = probe.Decisions;
        Assert.Equal(3, decisions);

        // The next window of a session shows the same readings objects (the last measured interval again).
        IReadOnlyList<ContainerDiagnosis> again = WindowDiagnosis.Diagnose(window);
        Assert.Equal(decisions, probe.Decisions);
        Assert.Same(first.Single(d => d.Container.CgroupPath == Web).Resources, again.Single(d => d.Container.CgroupPath == Web).Resources);

        // Fresh readings (a new reading was made) are decided again, and their verdict follows them.
        using TraceWindow fresh = Recorded(probe);
        IReadOnlyList<ContainerDiagnosis> next = WindowDiagnosis.Diagnose(fresh);
        Assert.Equal(decisions + 3, probe.Decisions);
        Assert.Equal(Outcomes.OomAtLimit, next.Single(d => d.Container.CgroupPath == Web).For(MemoryDiagnosis.Resource)!.Outcome);
    }

    [Fact]
    public void A_recorded_window_replays_to_the_same_verdicts_without_reading_a_file()
    {
        using TraceWindow window = Recorded(ProbeWithoutFiles());

        IReadOnlyList<ContainerDiagnosis> first = WindowDiagnosis.Diagnose(window);
        IReadOnlyList<ContainerDiagnosis> again = WindowDiagnosis.Diagnose(window);

        ContainerDiagnosis web = Assert.Single(first, d => d.Container.CgroupPath == Web);
        Assert.Equal(Outcomes.CapThrottled, web.Cpu.Outcome);
        Assert.Equal((20_000L, 100_000L), (web.CpuEvidence.QuotaUs, web.CpuEvidence.PeriodUs)); // the window's limits, not a file's
        Assert.Equal(1.6, web.CpuEvidence.OtherTenantsCores, 2);
        Assert.Equal(new NoisyNeighbour(Batch, 3, 1.603902117), Assert.Single(web.CpuEvidence.TopPreemptors));
        Assert.Equal(Outcomes.OomAtLimit, web.For(MemoryDiagnosis.Resource)!.Outcome);
        Assert.Equal(19, web.EvidenceOf<MemoryEvidence>()!.OomKills);

        ContainerDiagnosis idle = Assert.Single(first, d => d.Container.CgroupPath == Idle);
        Assert.Equal(Outcomes.NotThrottled, idle.Cpu.Outcome);
        Assert.Equal("cpu_usage_cores", idle.Cpu.Path[^1].Metric);
        Assert.Contains("idle", idle.Cpu.Summary);
        Assert.Equal(Outcomes.NotLimited, idle.For(MemoryDiagnosis.Resource)!.Outcome);

        Assert.Equal(first.Select(Flatten), again.Select(Flatten));
    }

    [Fact]
    public void A_container_without_readings_is_decided_on_cpu_alone()
    {
        using TraceWindow recorded = Recorded(ProbeWithoutFiles());
        EngineSnapshot s = Snapshot();
        s.Containers.Add(new ContainerSnapshot { CgroupPath = "/new", CpuUsageNs = 5 });
        using var window = new TraceWindow(1, DateTimeOffset.UnixEpoch, s, new Dictionary<int, double>(), recorded.Probes,
            new Dictionary<string, ContainerReadings>(), new HashSet<string>());

        ContainerDiagnosis d = Assert.Single(WindowDiagnosis.Diagnose(window));

        Assert.Empty(d.Resources);
        Assert.Equal(CpuLimits.Unknown, d.CpuEvidence.ToLimits() with { CpusetCpus = null });
    }

    [Fact]
    public void Five_thousand_containers_are_diagnosed_with_linear_work()
    {
        // 1,000 pods of 5 containers (three levels below the root), each preempted by two
        // neighbours, and the pods themselves in the window with the usage of their children.
        const int Pods = 1_000, PerPod = 5;
        EngineSnapshot s = Snapshot(2.0);
        for (int p = 0; p < Pods; p++)
        {
            long podUsage = 0;
            for (int c = 0; c < PerPod; c++)
            {
                long usage = (p * PerPod + c) % 7 == 0 ? 0 : 1_000_000L * (1 + c);
                podUsage += usage;
                var container = new ContainerSnapshot { CgroupPath = $"/kubepods/pod{p}/c{c}", CpuUsageNs = usage, PreemptedByOther = 2 };
                container.TopPreemptors.Add(new Preemptor($"/kubepods/pod{(p + 1) % Pods}/c{c}", 0, 1));
                container.TopPreemptors.Add(new Preemptor($"/kubepods/pod{(p + 2) % Pods}/c{c}", 0, 1));
                s.Containers.Add(container);
            }
            s.Containers.Add(new ContainerSnapshot { CgroupPath = $"/kubepods/pod{p}", CpuUsageNs = podUsage });
        }
        int n = s.Containers.Count;
        using var window = new TraceWindow(1, DateTimeOffset.UnixEpoch, s, new Dictionary<int, double>(), [],
            new Dictionary<string, ContainerReadings>(), new HashSet<string>());

        IReadOnlyList<ContainerDiagnosis> diagnoses = WindowDiagnosis.Diagnose(window, null, out long lookups);

        Assert.Equal(n, diagnoses.Count);
        // Building the tree walks each container's two ancestors twice; each diagnosis looks up
        // its own entry, its two ancestors and its two preemptors: about 9 lookups per container.
        // Comparing every container with every other would take n^2 = 36 million.
        Assert.InRange(lookups, n, 10L * n);

        // And the totals are the ones the definition gives: every deepest cgroup that used CPU
        // and is neither the container, nor its ancestor or descendant. A pod's usage is its
        // containers', so for a pod and for a container alike that is all of them but its own.
        long total = s.Containers.Where(c => c.CgroupPath.Count(ch => ch == '/') == 3).Sum(c => c.CpuUsageNs);
        foreach (int i in new[] { 0, 1, 5, 17, n - 1 })
        {
            ContainerSnapshot c = s.Containers[i];
            ContainerDiagnosis d = Assert.Single(diagnoses, x => ReferenceEquals(x.Container, c));
            Assert.Equal((total - c.CpuUsageNs) / 2e9, d.CpuEvidence.OtherTenantsCores, 9);
        }
    }

    private static string Flatten(ContainerDiagnosis d) =>
        d.Container.CgroupPath + ":" + string.Join("|", d.All.Select(r => r.Outcome + " " + r.Summary + " " +
            string.Join(",", r.Path.Select(p => $"{p.Metric}={p.Value}"))));
}
