using AIOps.Trace.Cgroups;

namespace AIOps.Trace.Tests.Unit;

public class CgroupsCpuStatTests
{
    // v1 cpu.stat of a throttled cgroup on kernel 6.x (nr_bursts/burst_time since 5.14).
    internal const string V1Text = """
        nr_periods 1520
        nr_throttled 311
        throttled_time 8270312451
        nr_bursts 0
        burst_time 0
        """;

    // v2 cpu.stat with the cpu controller enabled.
    internal const string V2Text = """
        usage_usec 48112345
        user_usec 30000123
        system_usec 18112222
        core_sched.force_idle_usec 0
        nr_periods 907
        nr_throttled 120
        throttled_usec 2400500
        nr_bursts 0
        burst_usec 0
        """;

    [Fact]
    public void V1_ReadsThrottledTimeInNanoseconds_AndHasNoUsage()
    {
        var stat = CpuStat.Parse(V1Text);

        Assert.Equal(new CpuStat(1520, 311, 8_270_312_451, -1, 0, 0), stat);
    }

    [Fact]
    public void V2_ScalesMicrosecondsToNanoseconds()
    {
        var stat = CpuStat.Parse(V2Text);

        Assert.Equal(907, stat.Periods);
        Assert.Equal(120, stat.ThrottledPeriods);
        Assert.Equal(2_400_500_000, stat.ThrottledNs);
        Assert.Equal(48_112_345_000, stat.UsageNs);
        Assert.Equal(30_000_123_000, stat.UserNs);
        Assert.Equal(18_112_222_000, stat.SystemNs);
    }

    [Fact]
    public void V2_WithoutCpuController_HasUsageButNoThrottling()
    {
        var stat = CpuStat.Parse("usage_usec 45384000\nuser_usec 24320000\nsystem_usec 21064000\nnice_usec 0\n");

        Assert.Equal(new CpuStat(0, 0, 0, 45_384_000_000, 24_320_000_000, 21_064_000_000), stat);
    }

    [Fact]
    public void MalformedAndUnknownLines_AreIgnored()
    {
        var stat = CpuStat.Parse("nr_periods\nnr_throttled x\n  nr_periods 7  \r\nwait_sum 99\n\n");

        Assert.Equal(new CpuStat(7, 0, 0, -1, 0, 0), stat);
        Assert.Equal(new CpuStat(0, 0, 0, -1, 0, 0), CpuStat.Parse(""));
    }

    [Fact]
    public void Delta_SubtractsCounters_AndKeepsMissingUsageMissing()
    {
        var earlier = new CpuStat(100, 10, 5_000, 1_000_000, 600_000, 400_000);
        var later = new CpuStat(150, 25, 9_000, 1_800_000, 1_000_000, 800_000);

        Assert.Equal(new CpuStat(50, 15, 4_000, 800_000, 400_000, 400_000), later.Delta(earlier));
        Assert.Equal(later.Delta(earlier), later - earlier);
        Assert.Equal(-1, (later with { UsageNs = -1 }).Delta(earlier).UsageNs);
        Assert.Equal(-1, later.Delta(earlier with { UsageNs = -1 }).UsageNs);
    }
}
