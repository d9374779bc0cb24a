using System.Diagnostics;
using AIOps.Trace.Diagnosis;

namespace AIOps.Trace.Tests.Kernel;

/// <summary>
/// A session's windows over real cgroups: every container decided, idle ones too (the commonest
/// answer to "is it throttled?"), and a parent of containers (a pod) is none.
/// </summary>
public sealed class WindowSessionTests : KernelTestBase
{
    [Fact]
    public void Every_container_is_decided_idle_ones_too_and_a_parent_is_none()
    {
        TestCgroup pod = NewCgroup("pod");
        TestCgroup busy = Own(pod.CreateChild("busy")), idle = Own(pod.CreateChild("idle"));
        Track(busy.Start(TestCgroup.BusyLoop));
        Track(idle.Start("sleep 600"));
        TraceEngine engine = StartEngine();
        using var session = new TraceSession(engine, probes: []);

        // The idle container's shell ran before it exec'd sleep: wait for a window in which the
        // kernel's own counter (cpuacct.usage) did not move, and check that window.
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            long before = long.Parse(idle.Read("cpuacct", "cpuacct.usage"));
            Thread.Sleep(500);
            using TraceWindow window = session.Cut();
            long after = long.Parse(idle.Read("cpuacct", "cpuacct.usage"));
            if (after != before)
            {
                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(15), $"the idle container kept using CPU: {before} -> {after} ns");
                continue;
            }

            Assert.DoesNotContain(window.Containers, c => c.CgroupPath == pod.RelativePath || c.CgroupPath == "/");
            Assert.True(window.Snapshot.ParentsLeftOut >= 1, "the pod (and the root) are counted as left out");
            IReadOnlyList<ContainerDiagnosis> diagnoses = WindowDiagnosis.Diagnose(window);

            ContainerDiagnosis quiet = Assert.Single(diagnoses, d => d.Container.CgroupPath == idle.RelativePath);
            Assert.Equal(0, quiet.Container.CpuUsageNs);
            Assert.Equal(0, quiet.Container.Involuntary);
            Assert.Equal(Outcomes.NotThrottled, quiet.Cpu.Outcome);
            Assert.Contains("idle", quiet.Cpu.Summary);
            Assert.Equal("cpu_usage_cores", quiet.Cpu.Path[^1].Metric);

            ContainerDiagnosis running = Assert.Single(diagnoses, d => d.Container.CgroupPath == busy.RelativePath);
            Assert.True(running.Container.CpuUsageNs > 0);
            Assert.DoesNotContain("idle", running.Cpu.Summary);
            return;
        }
    }

    /// <summary>Counts reads per cgroup; a reading's sequence number tells which read made it.</summary>
    private sealed class CountingProbe : IResourceProbe
    {
        public readonly Dictionary<string, int> Reads = new(StringComparer.Ordinal);
        public string Resource => "counting";

        public IResourceReading? Read(string cgroupPath)
        {
            Reads[cgroupPath] = Reads.GetValueOrDefault(cgroupPath) + 1;
            return new Counted(Stopwatch.GetTimestamp(), Reads[cgroupPath]);
        }

        public ResourceDiagnosis Diagnose(string cgroupPath, IResourceReading? start, IResourceReading end, double seconds) =>
            throw new NotSupportedException();
    }

    private sealed record Counted(long Timestamp, int Seq) : IResourceReading;

    /// <summary>Twelve busy containers and a session over them that reads each once in three windows, through a counting probe.</summary>
    private (List<TestCgroup> Busy, TraceEngine Engine, CountingProbe Probe, TraceSession Session) BusyEveryThree(string prefix)
    {
        var busy = Enumerable.Range(0, 12).Select(i => NewCgroup(prefix + i)).ToList();
        foreach (TestCgroup cg in busy)
            Track(cg.Start(TestCgroup.BusyLoop));
        TraceEngine engine = StartEngine();
        var probe = new CountingProbe();
        return (busy, engine, probe, new TraceSession(engine, probes: [probe]) { ReadingsEvery = 3 });
    }

    [Fact]
    public void With_readings_every_three_windows_each_busy_container_is_read_once_in_three_and_repeats_its_last_interval_between()
    {
        (List<TestCgroup> busy, _, CountingProbe probe, TraceSession session) = BusyEveryThree("every3-");
        using TraceSession owned = session;
        Assert.All(busy, cg => Assert.Equal(1, probe.Reads[cg.RelativePath])); // the baseline

        // Seven windows: the first reads every container again (one reading is no interval yet),
        // then each is read in one window of every three, in its own phase.
        var ends = busy.ToDictionary(cg => cg.RelativePath, _ => new List<int>());
        for (int w = 0; w < 7; w++)
        {
            Thread.Sleep(100);
            using TraceWindow window = session.Cut();
            foreach (TestCgroup cg in busy)
            {
                Assert.True(window.Containers.Single(c => c.CgroupPath == cg.RelativePath).CpuUsageNs > 0, "the container ran in every window");
                ContainerReadings r = window.ReadingsOf(cg.RelativePath);
                int start = ((Counted)r.Start[0]!).Seq, end = ((Counted)r.End[0]!).Seq;
                Assert.Equal(start + 1, end); // the interval between two consecutive reads, never an empty one
                ends[cg.RelativePath].Add(end);
            }
        }
        var phases = new List<int>();
        foreach ((string path, List<int> end) in ends)
        {
            Assert.Equal(2, end[0]);
            var readIn = Enumerable.Range(1, 6).Where(w => end[w] != end[w - 1]).ToList();
            Assert.Equal(2, readIn.Count);
            Assert.Equal(3, readIn[1] - readIn[0]);
            Assert.Equal(end[6], probe.Reads[path]);
            phases.Add(readIn[0]);
        }
        // Each container in its own phase: a window reads a share of them, not all at once.
        Assert.True(phases.Distinct().Count() > 1, "twelve containers read in the same windows: " + string.Join(",", phases));
    }

    [Fact]
    public void Read_ahead_between_cuts_takes_the_readings_and_tree_scan_due_at_the_next_cut_which_then_reads_none_itself()
    {
        (List<TestCgroup> busy, TraceEngine engine, CountingProbe probe, TraceSession session) = BusyEveryThree("ahead-");
        using TraceSession owned = session;
        Assert.Equal(0, session.ReadAhead()); // no window yet: the first cut reads every container
        Thread.Sleep(100);
        session.Cut().Dispose();

        var ends = busy.ToDictionary(cg => cg.RelativePath, _ => new List<int>());
        int readAhead = 0;
        long scansAhead = 0;
        for (int w = 0; w < 6; w++)
        {
            Thread.Sleep(100);
            var before = new Dictionary<string, int>(probe.Reads);
            long scans = engine.Sampler.TreeScans;
            int n = session.ReadAhead();
            scansAhead += engine.Sampler.TreeScans - scans;
            var ahead = busy.Select(cg => cg.RelativePath).Where(p => probe.Reads[p] != before[p]).ToList();
            Assert.Equal(n, ahead.Count);
            Assert.All(ahead, p => Assert.Equal(before[p] + 1, probe.Reads[p]));
            readAhead += n;

            var afterAhead = new Dictionary<string, int>(probe.Reads);
            scans = engine.Sampler.TreeScans;
            using TraceWindow window = session.Cut();
            Assert.Equal(scans, engine.Sampler.TreeScans); // the scan was made ahead, not in the cut
            foreach (TestCgroup cg in busy)
            {
                // Every container ran, so every due one was read ahead: the cut reads none itself.
                Assert.Equal(afterAhead[cg.RelativePath], probe.Reads[cg.RelativePath]);
                ContainerReadings r = window.ReadingsOf(cg.RelativePath);
                int start = ((Counted)r.Start[0]!).Seq, end = ((Counted)r.End[0]!).Seq;
                Assert.Equal(start + 1, end);
                if (ahead.Contains(cg.RelativePath))
                    Assert.Equal(probe.Reads[cg.RelativePath], end); // the window carries the reading taken ahead
                ends[cg.RelativePath].Add(end);
            }
        }
        // Still once in three windows per container, each in its own phase; two scans in six windows.
        foreach ((string path, List<int> end) in ends)
        {
            var readIn = Enumerable.Range(1, 5).Where(w => end[w] != end[w - 1]).ToList();
            Assert.InRange(readIn.Count, 1, 2);
            if (readIn.Count == 2)
                Assert.Equal(3, readIn[1] - readIn[0]);
        }
        Assert.InRange(readAhead, 12, 24);
        Assert.Equal(2, scansAhead);
    }
}
