namespace AIOps.Trace.Tests.Kernel;

/// <summary>
/// The no-BPF mode against the same kernel ground truth as the eBPF tests: cpu.stat for
/// throttling, /proc status and schedstat for preemptions and run-queue waits. Nothing of BPF
/// may be loaded while it runs.
/// </summary>
public sealed class ProcfsModeTests : KernelTestBase
{
    private TraceEngine StartProcfsEngine()
    {
        TraceEngine engine = StartEngine(new EngineOptions { Mode = EngineMode.Procfs, PollInterval = TimeSpan.FromMilliseconds(100) });
        Assert.Equal("procfs", engine.Kernel.Attach);
        Assert.Equal("none", engine.Kernel.Ring);
        Assert.Equal("cgroupfs", engine.Kernel.ThrottleSource);
        Assert.Contains("procfs mode forced", engine.Kernel.ThrottleNote);
        return engine;
    }

    private static void AssertNoBpf(TraceEngine engine)
    {
        Assert.Equal(0, engine.AttachedPrograms);
        Assert.Empty(BpfState.OurPrograms());
    }

    [Fact]
    public void Quota_of_20_percent_throttles_a_busy_loop_as_cpu_stat_says()
    {
        TestCgroup web = NewCgroup("pf-throttle");
        web.WriteCpu("cpu.cfs_period_us", "100000");
        web.WriteCpu("cpu.cfs_quota_us", "20000");
        TraceEngine engine = StartProcfsEngine();
        Dictionary<string, long> before = ProcFs.CpuStat(web.CpuDir);

        var loop = Track(web.Start(TestCgroup.BusyLoop));
        Thread.Sleep(1500);
        AssertNoBpf(engine);
        Thread.Sleep(1500);
        Freeze(loop);
        (long _, long _, long slices) = ProcFs.SchedStat(loop.Id);
        Thread.Sleep(150); // the last period ends and is accounted

        Dictionary<string, long> after = ProcFs.CpuStat(web.CpuDir);
        using EngineSnapshot s = engine.CollectWindow();
        ContainerSnapshot c = Assert.Single(s.Containers, c => c.CgroupPath == web.RelativePath);

        long kernelThrottledPeriods = CpuStatAssert.ThrottlingMatches(c, before, after);
        Assert.InRange(c.CpuUsageNs, 0.4e9, 0.8e9);
        // Every throttle takes the task off the CPU and every unthrottle lets it wait again: the
        // timeslices the sampler counted are the loop's own (it started inside the window).
        Assert.True(c.RunQueue.Count >= kernelThrottledPeriods / 2, $"{c.RunQueue.Count} waits for {kernelThrottledPeriods} throttles");
        Assert.InRange(c.RunQueue.Count, slices * 0.9, slices * 1.1);
        Assert.Equal(0, s.LostEvents);
        AssertNoBpf(engine);
    }

    [Fact]
    public void Two_busy_loops_on_one_cpu_match_nonvoluntary_switches_and_schedstat()
    {
        TestCgroup a = NewCgroup("pf-a"), b = NewCgroup("pf-b");
        TraceEngine engine = StartProcfsEngine();
        var pa = Track(a.Start(TestCgroup.BusyLoop, cpu: 1));
        var pb = Track(b.Start(TestCgroup.BusyLoop, cpu: 1));
        Thread.Sleep(2000);
        AssertNoBpf(engine);
        Thread.Sleep(2000);
        Freeze(pa, pb);
        using EngineSnapshot s = engine.CollectWindow();

        foreach ((TestCgroup cg, int pid) in new[] { (a, pa.Id), (b, pb.Id) })
        {
            // Both started inside the window: their totals are the window's deltas.
            long nonvoluntary = ProcFs.NonvoluntarySwitches(pid);
            (long _, long runDelayNs, long slices) = ProcFs.SchedStat(pid);
            ContainerSnapshot c = Assert.Single(s.Containers, c => c.CgroupPath == cg.RelativePath);

            Assert.True(nonvoluntary > 100, $"too few preemptions to compare: {nonvoluntary}");
            Assert.InRange(c.Involuntary, nonvoluntary * 0.95, nonvoluntary * 1.05);
            // procfs cannot tell who preempted: everything is unattributed.
            Assert.Equal(c.Involuntary, c.PreemptedByUnknown);
            Assert.Equal(0, c.PreemptedByOther + c.PreemptedBySame + c.PreemptedByHost);
            Assert.Empty(c.TopPreemptors);

            Assert.True(slices > 100, $"too few timeslices to compare: {slices}");
            Assert.InRange(c.RunQueue.Count, slices * 0.9, slices * 1.1);
            Assert.InRange((double)c.RunQueue.Sum, runDelayNs * 0.9, runDelayNs * 1.1);
            // Two loops sharing a CPU wait about as long as the other runs: milliseconds.
            Assert.InRange(c.RunQueue.ValueAtQuantile(0.5), 100_000, 100_000_000);
        }
        Assert.Equal(0, s.LostEvents);
        AssertNoBpf(engine);
    }

    [Fact]
    public void A_window_without_new_work_is_empty_for_a_frozen_cgroup()
    {
        TestCgroup a = NewCgroup("pf-frozen");
        var pa = Track(a.Start(TestCgroup.BusyLoop, cpu: 1));
        Thread.Sleep(300);
        Freeze(pa);
        TraceEngine engine = StartProcfsEngine();
        Thread.Sleep(400);
        using EngineSnapshot s = engine.CollectWindow();

        // The loop's work before the engine started is its baseline, not this window's.
        Assert.DoesNotContain(s.Containers, c => c.CgroupPath == a.RelativePath && (c.RunQueue.Count > 0 || c.Involuntary > 0));
    }
}
