namespace AIOps.Trace.Tests.Kernel;

/// <summary>CFS bandwidth throttling per container equals what the kernel accounts in cpu.stat.</summary>
public sealed class ThrottlingTests : KernelTestBase
{
    [Theory]
    [MemberData(nameof(AttachModes.Tiers), MemberType = typeof(AttachModes))]
    public void Quota_of_20_percent_throttles_a_busy_loop_as_cpu_stat_says(AIOps.Trace.Bpf.TransportMode transport, AIOps.Trace.Bpf.AttachMode attach)
    {
        TestCgroup web = NewCgroup("throttle");
        web.WriteCpu("cpu.cfs_period_us", "100000");
        web.WriteCpu("cpu.cfs_quota_us", "20000");
        TraceEngine engine = StartEngine(transport, attach);
        Dictionary<string, long> before = ProcFs.CpuStat(web.CpuDir);

        var loop = Track(web.Start(TestCgroup.BusyLoop));
        Thread.Sleep(3000);
        loop.Kill();
        loop.WaitForExit();
        Thread.Sleep(150); // the last period ends and is accounted

        Dictionary<string, long> after = ProcFs.CpuStat(web.CpuDir);
        using EngineSnapshot s = engine.CollectWindow();
        ContainerSnapshot c = Assert.Single(s.Containers, c => c.CgroupPath == web.RelativePath);

        long kernelThrottledPeriods = CpuStatAssert.ThrottlingMatches(c, before, after);
        Assert.InRange(c.Throttling.Periods, after["nr_periods"] - before["nr_periods"] - 1, after["nr_periods"] - before["nr_periods"] + 1);
        // It ran at about its quota: 20% of 3 s.
        Assert.InRange(c.CpuUsageNs, 0.4e9, 0.8e9);
        // Each throttle dequeues the task and each unthrottle queues it again: the engine saw the waits.
        Assert.True(c.RunQueue.Count >= kernelThrottledPeriods / 2, $"{c.RunQueue.Count} waits for {kernelThrottledPeriods} throttles");
        Assert.Equal(0, s.LostEvents);
    }
}
