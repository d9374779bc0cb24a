namespace AIOps.Trace.Tests.Kernel;

/// <summary>The throttling ground truth shared by every mode: the engine's figures against cpu.stat read by the test.</summary>
public static class CpuStatAssert
{
    /// <summary>
    /// The scenario really throttled (a 20% quota on a busy loop throttles most of its periods),
    /// and the engine's throttled time is within 5% and its throttled periods within 1 of the
    /// kernel's. Returns the kernel's throttled periods.
    /// </summary>
    public static long ThrottlingMatches(ContainerSnapshot c, Dictionary<string, long> before, Dictionary<string, long> after)
    {
        long kernelThrottledNs = after["throttled_time"] - before["throttled_time"];
        long kernelThrottledPeriods = after["nr_throttled"] - before["nr_throttled"];
        Assert.True(kernelThrottledPeriods >= 20, $"only {kernelThrottledPeriods} throttled periods in 3 s");
        Assert.Equal("cgroupfs", c.Throttling.Source);
        Assert.InRange(c.Throttling.ThrottledNs, kernelThrottledNs * 0.95, kernelThrottledNs * 1.05);
        Assert.InRange(c.Throttling.ThrottledPeriods, kernelThrottledPeriods - 1, kernelThrottledPeriods + 1);
        return kernelThrottledPeriods;
    }
}
