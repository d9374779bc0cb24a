using System.Diagnostics;
using AIOps.Trace.Cgroups;
using AIOps.Trace.Diagnosis;

namespace AIOps.Trace.Tests.Unit;

/// <summary>The memory probe on recorded v1 and v2 trees, and its deltas over a window.</summary>
public sealed class MemoryProbeTests
{
    private const string Web = "/aiops-test/web-1";

    // Recorded on the development VM (kernel 6.18, hybrid): a v1 memory cgroup limited to 32 MiB
    // running `stress-ng --vm 1 --vm-bytes 64M --vm-keep`, one second apart.
    private static readonly string[] V1OomControl = ["oom_kill_disable 0\nunder_oom 0\noom_kill 11\n", "oom_kill_disable 0\nunder_oom 0\noom_kill 30\n"];
    private static readonly string[] V1Failcnt = ["874\n", "2495\n"];

    // Recorded there too; PSI "some" total moved 213 ms in that second.
    private static readonly string[] Pressure =
    [
        "some avg10=1.99 avg60=0.35 avg300=0.07 total=244434\nfull avg10=1.99 avg60=0.35 avg300=0.07 total=243999\n",
        "some avg10=1.99 avg60=0.35 avg300=0.07 total=457757\nfull avg10=1.99 avg60=0.35 avg300=0.07 total=456301\n",
    ];

    private const string Meminfo = "MemTotal:       24683620 kB\nMemFree:        23001234 kB\nMemAvailable:   24304108 kB\nBuffers:           12345 kB\n";
    private const string Vmstat = "nr_free_pages 5750000\npgscan_kswapd 0\npgscan_direct 0\npgscan_khugepaged 0\npgscan_direct_throttle 0\npgscan_file 1798791\n";

    // The v1 "unlimited" value: PAGE_COUNTER_MAX pages of 4 KiB.
    private const string V1Unlimited = "9223372036854771712\n";

    private static FakeCgroupFileSystem V1Tree(int sample, string limit = "33554432\n", string? oomControl = null) =>
        Host(new FakeCgroupFileSystem(), sample)
            .File("/sys/fs/cgroup/unified/cgroup.controllers", "hugetlb\n")
            .Directory("/sys/fs/cgroup/cpu" + Web, 11)
            .Directory("/sys/fs/cgroup/memory" + Web, 12)
            .File($"/sys/fs/cgroup/memory{Web}/memory.usage_in_bytes", "33554432\n")
            .File($"/sys/fs/cgroup/memory{Web}/memory.limit_in_bytes", limit)
            .File($"/sys/fs/cgroup/memory{Web}/memory.failcnt", V1Failcnt[sample])
            .File($"/sys/fs/cgroup/memory{Web}/memory.oom_control", oomControl ?? V1OomControl[sample]);

    // In the kernel's format (Documentation/admin-guide/cgroup-v2.rst): a pod limited to 512 MiB
    // with memory.high at 400 MiB, breached 57 times in the window.
    private static FakeCgroupFileSystem V2Tree(int sample) =>
        Host(new FakeCgroupFileSystem(), sample)
            .File("/sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory pids\n")
            .Directory("/sys/fs/cgroup/kubepods.slice/pod1", 21)
            .File("/sys/fs/cgroup/kubepods.slice/pod1/memory.current", "419430400\n")
            .File("/sys/fs/cgroup/kubepods.slice/pod1/memory.max", "536870912\n")
            .File("/sys/fs/cgroup/kubepods.slice/pod1/memory.events",
                $"low 0\nhigh {12 + 57 * sample}\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n");

    private static FakeCgroupFileSystem Host(FakeCgroupFileSystem fs, int sample, string root = "") =>
        fs.File(root + "/proc/pressure/memory", Pressure[sample]).File(root + "/proc/meminfo", Meminfo).File(root + "/proc/vmstat", Vmstat);

    private static MemoryProbe Probe(string mountinfo, FakeCgroupFileSystem fs, string hostRoot = "/") =>
        new(new ResourceProbeContext(CgroupMounts.Parse(mountinfo, hostRoot, fs.ReadAllText), hostRoot), fs);

    [Fact]
    public void V1_reads_usage_limit_failcnt_and_oom_kills_from_the_memory_hierarchy()
    {
        var r = (MemoryReading)Probe(CgroupsMountsTests.HybridSplitControllers, V1Tree(0)).Read(Web)!;

        Assert.Equal(1, r.CgroupVersion);
        Assert.Equal(32L << 20, r.UsageBytes);
        Assert.Equal(32L << 20, r.LimitBytes);
        Assert.Equal(874, r.LimitHits);
        Assert.Equal(11, r.OomKills);
        Assert.Equal(-1, r.HighEvents); // v1 has no memory.high
        Assert.Equal(1.99, r.HostPsiSomeAvg10);
        Assert.Equal(244_434, r.HostPsiSomeTotalUs);
        Assert.Equal(24304108.0 / 24683620, r.HostAvailableRatio, 9);
        Assert.Equal(0, r.HostReclaimScanned);
    }

    [Fact]
    public void V1_unlimited_is_no_limit_and_a_kernel_without_oom_kill_leaves_oom_undecidable()
    {
        // Before Linux 4.13 memory.oom_control has no oom_kill line.
        FakeCgroupFileSystem fs = V1Tree(1, V1Unlimited, "oom_kill_disable 0\nunder_oom 0\n");
        MemoryProbe probe = Probe(CgroupsMountsTests.HybridSplitControllers, fs);
        var end = (MemoryReading)probe.Read(Web)!;

        Assert.Equal(-1, end.LimitBytes);
        Assert.Equal(-1, end.OomKills);
        ResourceDiagnosis d = probe.Diagnose(Web, end with { LimitHits = 874, HostPsiSomeTotalUs = 457_000, Timestamp = end.Timestamp - Stopwatch.Frequency }, end, 1);
        Assert.Equal(Outcomes.Undecidable, d.Outcome);
        Assert.Contains("OOM-kill counter", d.UndecidableReason);
        Assert.DoesNotContain(d.Path, s => s.Metric == "usage_to_limit"); // no limit, no at-limit question
    }

    [Fact]
    public void The_verdict_carries_its_evidence_and_the_metric_vector_reads_it()
    {
        MemoryProbe probe = Probe(CgroupsMountsTests.HybridSplitControllers, V1Tree(0));
        var end = (MemoryReading)probe.Read(Web)!;
        ResourceDiagnosis d = probe.Diagnose(Web, end with { LimitHits = 474, Timestamp = end.Timestamp - 2 * Stopwatch.Frequency }, end, 2);
        var evidence = Assert.IsType<MemoryEvidence>(d.Evidence);
        Assert.Equal(400, evidence.LimitHits);

        var container = new ContainerSnapshot { CgroupPath = Web, CpuUsageNs = 0 };
        var diagnosis = new ContainerDiagnosis(container, new CpuEvidence { CgroupPath = Web, WindowSeconds = 2 },
            new ResourceDiagnosis("cpu", Outcomes.NotThrottled, [], "ok"), [d]);
        Assert.Same(evidence, diagnosis.EvidenceOf<MemoryEvidence>());
        Assert.Null(diagnosis.EvidenceOf<DiskEvidence>());
        AIOps.Trace.Analysis.Collection.MetricVector v = AIOps.Trace.Analysis.Collection.MetricVector.From(diagnosis, 2);
        Assert.Equal(200, v[AIOps.Trace.Analysis.Collection.Metrics.MemoryLimitHitsPerSecond]);
        Assert.Equal(1.0, v[AIOps.Trace.Analysis.Collection.Metrics.MemoryUsageToLimit]);
        Assert.True(double.IsNaN(v[AIOps.Trace.Analysis.Collection.Metrics.DiskBytesPerSecond]));
    }

    [Fact]
    public void V2_reads_current_max_and_memory_events()
    {
        FakeCgroupFileSystem fs = V2Tree(0).File("/sys/fs/cgroup/unlimited/memory.current", "4096\n")
            .File("/sys/fs/cgroup/unlimited/memory.max", "max\n").File("/sys/fs/cgroup/unlimited/memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 2\n");
        MemoryProbe probe = Probe(CgroupsMountsTests.PureV2, fs);

        var r = (MemoryReading)probe.Read("/kubepods.slice/pod1")!;
        Assert.Equal((2, 400L << 20, 512L << 20, 0L, 12L, 0L), (r.CgroupVersion, r.UsageBytes, r.LimitBytes, r.LimitHits, r.HighEvents, r.OomKills));
        var unlimited = (MemoryReading)probe.Read("/unlimited")!;
        Assert.Equal((-1L, 2L), (unlimited.LimitBytes, unlimited.OomKills));
    }

    [Fact]
    public void Host_files_are_read_under_the_host_root()
    {
        FakeCgroupFileSystem fs = Host(new FakeCgroupFileSystem(), 1, "/host")
            .File("/host/sys/fs/cgroup/cgroup.controllers", "memory\n")
            .File("/host/sys/fs/cgroup/a/memory.current", "1\n").File("/host/sys/fs/cgroup/a/memory.max", "max\n")
            .File("/host/sys/fs/cgroup/a/memory.events", "max 0\nhigh 0\noom_kill 0\n");

        var r = (MemoryReading)Probe(CgroupsMountsTests.PureV2, fs, "/host/").Read("/a")!;

        Assert.Equal(457_757, r.HostPsiSomeTotalUs);
        Assert.Equal(0, r.HostReclaimScanned);
        Assert.True(r.HostAvailableRatio > 0.98);
    }

    [Fact]
    public void PSI_off_reads_as_minus_one_and_the_tree_falls_back_to_MemAvailable()
    {
        // With psi=0 the file is missing (or refuses reads, which the file system reports as missing).
        FakeCgroupFileSystem fs = V1Tree(0).File("/proc/pressure/memory", null!);
        var r = (MemoryReading)Probe(CgroupsMountsTests.HybridSplitControllers, fs).Read(Web)!;

        Assert.Equal((-1.0, -1L), (r.HostPsiSomeAvg10, r.HostPsiSomeTotalUs));
        MemoryEvidence e = MemoryProbe.Evidence(r, r with { HostAvailableRatio = 0.03 }, 1);
        Assert.Equal(-1, e.HostPsiSomePercent);
        ResourceDiagnosis d = MemoryDiagnosis.Diagnose(e with { UsageBytes = 1 << 20 });
        Assert.Equal(Outcomes.HostPressure, d.Outcome);
        Assert.Equal("host_available_ratio", d.Path[^1].Metric);
    }

    [Fact]
    public void A_vanished_cgroup_reads_as_null_even_mid_read()
    {
        MemoryProbe gone = Probe(CgroupsMountsTests.HybridSplitControllers, Host(new FakeCgroupFileSystem(), 0));
        Assert.Null(gone.Read(Web));

        // memory.usage_in_bytes was read, then the directory went: later files are missing.
        FakeCgroupFileSystem fs = V1Tree(0).File($"/sys/fs/cgroup/memory{Web}/memory.failcnt", null!);
        Assert.Null(Probe(CgroupsMountsTests.HybridSplitControllers, fs).Read(Web));

        FakeCgroupFileSystem v2 = V2Tree(0).File("/sys/fs/cgroup/kubepods.slice/pod1/memory.events", null!);
        Assert.Null(Probe(CgroupsMountsTests.PureV2, v2).Read("/kubepods.slice/pod1"));
    }

    [Fact]
    public void A_cgroup_without_memory_files_is_undecidable_with_the_reason()
    {
        // Only in the cpu hierarchy (v1), and a v2 cgroup whose parent does not delegate memory.
        FakeCgroupFileSystem v1 = Host(new FakeCgroupFileSystem(), 0).File("/sys/fs/cgroup/unified/cgroup.controllers", "")
            .Directory("/sys/fs/cgroup/cpu/system.slice/cron.service", 5);
        MemoryProbe probe = Probe(CgroupsMountsTests.HybridSplitControllers, v1);
        IResourceReading r = probe.Read("/system.slice/cron.service")!;
        ResourceDiagnosis d = probe.Diagnose("/system.slice/cron.service", null, r, 1);
        Assert.Equal(Outcomes.Undecidable, d.Outcome);
        Assert.Contains("v1 memory hierarchy", d.UndecidableReason);

        FakeCgroupFileSystem v2 = Host(new FakeCgroupFileSystem(), 0).File("/sys/fs/cgroup/cgroup.controllers", "cpu memory\n")
            .Directory("/sys/fs/cgroup/nested/leaf", 6);
        MemoryProbe probe2 = Probe(CgroupsMountsTests.PureV2, v2);
        ResourceDiagnosis d2 = probe2.Diagnose("/nested/leaf", null, probe2.Read("/nested/leaf")!, 1);
        Assert.Contains("subtree_control", d2.UndecidableReason);

        // No memory controller anywhere: said so.
        FakeCgroupFileSystem none = Host(new FakeCgroupFileSystem(), 0).File("/sys/fs/cgroup/cgroup.controllers", "cpu\n")
            .Directory("/sys/fs/cgroup/a", 7);
        MemoryProbe probe3 = Probe(CgroupsMountsTests.PureV2, none);
        Assert.Contains("no memory controller", probe3.Diagnose("/a", null, probe3.Read("/a")!, 1).UndecidableReason);
    }

    [Fact]
    public void V1_window_of_the_recorded_OOM_is_oom_at_limit_with_the_deltas()
    {
        (MemoryProbe probe, MemoryReading start, MemoryReading end) = Window(CgroupsMountsTests.HybridSplitControllers, s => V1Tree(s), Web);

        MemoryEvidence e = MemoryProbe.Evidence(start, end, 1);
        Assert.Equal(19, e.OomKills);
        Assert.Equal(2495 - 874, e.LimitHits);
        Assert.Equal(21.3, e.HostPsiSomePercent, 1); // 213 ms of stall in one second
        Assert.Equal(0, e.HostReclaimPages);
        ResourceDiagnosis d = probe.Diagnose(Web, start, end, 1);
        Assert.Equal(Outcomes.OomAtLimit, d.Outcome);
        Assert.Contains("19 task(s) killed", d.Summary);
    }

    [Fact]
    public void V1_limit_reclaim_and_a_neighbours_stalls_are_not_host_pressure()
    {
        (MemoryProbe probe, MemoryReading start, MemoryReading end) = Window(CgroupsMountsTests.HybridSplitControllers, s => V1Tree(s), Web);
        start = start with { OomKills = end.OomKills };

        Assert.Equal(Outcomes.LimitReclaim, probe.Diagnose(Web, start, end, 1).Outcome);

        // Well under its limit while host PSI is 21 %: the stalls are someone's own limit reclaim
        // (host reclaim scanned nothing), so this cgroup is not memory limited.
        MemoryReading under = end with { UsageBytes = 4 << 20 };
        ResourceDiagnosis quiet = probe.Diagnose(Web, start, under, 1);
        Assert.Equal(Outcomes.NotLimited, quiet.Outcome);
        Assert.Equal(("host_reclaim_pages", 0.0, false), (quiet.Path[^1].Metric, quiet.Path[^1].Value, quiet.Path[^1].Result));

        // The same stalls while kswapd scans: the host is short of memory.
        ResourceDiagnosis host = probe.Diagnose(Web, start, under with { HostReclaimScanned = 51_200 }, 1);
        Assert.Equal(Outcomes.HostPressure, host.Outcome);
    }

    [Fact]
    public void V2_window_with_memory_high_breaches_is_high_throttled()
    {
        (MemoryProbe probe, MemoryReading start, MemoryReading end) = Window(CgroupsMountsTests.PureV2, V2Tree, "/kubepods.slice/pod1");

        ResourceDiagnosis d = probe.Diagnose("/kubepods.slice/pod1", start, end, 1);

        Assert.Equal(Outcomes.HighThrottled, d.Outcome);
        Assert.Equal(57, d.Path.Single(s => s.Metric == "high_events").Value);
        Assert.False(d.Path.Single(s => s.Metric == "usage_to_limit").Result); // at 78 % of memory.max
        Assert.DoesNotContain(d.Path, s => s.Metric == "limit_hits");
    }

    [Fact]
    public void A_cgroup_first_seen_in_the_window_counts_from_its_creation_and_says_so()
    {
        (MemoryProbe probe, _, MemoryReading end) = Window(CgroupsMountsTests.HybridSplitControllers, s => V1Tree(s), Web);

        MemoryEvidence e = MemoryProbe.Evidence(null, end, 1);
        Assert.Equal(30, e.OomKills);
        Assert.Equal(2495, e.LimitHits);
        Assert.Equal(1.99, e.HostPsiSomePercent); // avg10: no start total to take a delta from
        Assert.Equal(-1, e.HostReclaimPages);
        ResourceDiagnosis d = probe.Diagnose(Web, null, end, 1);
        Assert.Equal(Outcomes.OomAtLimit, d.Outcome);
        Assert.Contains("first seen during the window", d.Summary);
    }

    [Fact]
    public void A_counter_that_went_backwards_counts_from_zero()
    {
        // The path was removed and made again between the readings: the new cgroup's counters.
        var start = new MemoryReading(0, 1, 10, 100, 500, -1, 7, 0, 1000, 0.5, 0);
        MemoryEvidence e = MemoryProbe.Evidence(start, start with { Timestamp = Stopwatch.Frequency, LimitHits = 3, OomKills = 0 }, 1);

        Assert.Equal((3L, 0L), (e.LimitHits, e.OomKills));
        Assert.Equal(-1, e.HighEvents);
    }

    [Fact]
    public void Host_reclaim_is_unknown_unless_both_readings_have_it()
    {
        var start = new MemoryReading(0, 1, 10, 100, 0, -1, 0, 0, 1000, 0.5, -1);
        MemoryReading end = start with { Timestamp = Stopwatch.Frequency, HostReclaimScanned = 9_000_000 };

        Assert.Equal(-1, MemoryProbe.Evidence(start, end, 1).HostReclaimPages); // not nine million pages in one second
        Assert.Equal(0, MemoryProbe.Evidence(start with { HostReclaimScanned = 9_000_000 }, end, 1).HostReclaimPages);
    }

    [Theory]
    [InlineData("9223372036854771712", -1L)]
    [InlineData("9223372036854710272", -1L)] // PAGE_COUNTER_MAX with 64 KiB pages
    [InlineData("33554432\n", 33554432L)]
    [InlineData("junk", null)]
    public void V1_limit_parses(string text, long? limit) => Assert.Equal(limit, MemoryFiles.ParseV1Limit(text));

    [Theory]
    [InlineData("oom_kill_disable 0\nunder_oom 0\noom_kill 4\n", "oom_kill", 4L)]
    [InlineData("low 1\nhigh 2\nmax 3\noom 4\noom_kill 5\noom_group_kill 6\n", "oom", 4L)]
    [InlineData("low 1\nhigh 2\nmax 3\noom 4\noom_kill 5\noom_group_kill 6\n", "max", 3L)]
    [InlineData("MemTotal:       24683620 kB\n", "MemTotal", 24683620L)]
    [InlineData("oom_kill_disable 0\n", "oom_kill", -1L)]
    public void Keyed_files_parse(string text, string key, long value) => Assert.Equal(value, MemoryFiles.KeyedValue(text, key));

    [Fact]
    public void The_default_probes_include_memory()
    {
        var context = new ResourceProbeContext(CgroupMounts.Parse(CgroupsMountsTests.PureV2, readFile: _ => "memory\n"), "/");
        Assert.Single(ResourceProbes.Default(context), p => p is MemoryProbe && p.Resource == "memory");
    }

    [Fact]
    public void Vmstat_without_the_reclaim_counters_is_unknown() =>
        Assert.Equal(-1, MemoryFiles.HostReclaimScanned("nr_free_pages 1\npgscan_kswapd 5\n"));

    /// <summary>Two readings one second apart of a tree recorded at two instants.</summary>
    private static (MemoryProbe, MemoryReading, MemoryReading) Window(string mountinfo, Func<int, FakeCgroupFileSystem> tree, string path)
    {
        var start = (MemoryReading)Probe(mountinfo, tree(0)).Read(path)!;
        MemoryProbe probe = Probe(mountinfo, tree(1));
        var end = (MemoryReading)probe.Read(path)!;
        return (probe, start, end with { Timestamp = start.Timestamp + Stopwatch.Frequency });
    }
}
