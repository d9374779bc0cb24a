using AIOps.Trace.KernelMatrix;

namespace AIOps.Trace.Tests.Unit;

/// <summary>
/// tools/AIOps.Trace.KernelMatrix's reading of what the guests print (tests/kernel-matrix/init):
/// cpu.stat and memory counters of both cgroup layouts, and the memory verdict judged against them.
/// </summary>
public sealed class KernelMatrixJudgeTests
{
    private static readonly Dictionary<string, string> Boot = new() { ["accel"] = "TCG", ["seconds"] = "373", ["qemu_exit"] = "0", ["timed_out"] = "no" };

    [Fact]
    public void V2_cpu_stat_gives_throttled_time_in_microseconds_and_v1_in_nanoseconds()
    {
        Dictionary<string, long>? v2 = GuestLog.CpuStat("usage_usec 3800466 nr_periods 230 nr_throttled 196 throttled_usec 17648180 nr_bursts 0 burst_usec 0 ");
        Dictionary<string, long>? v1 = GuestLog.CpuStat("nr_periods 230 nr_throttled 196 throttled_time 17648180123 ");

        Assert.Equal((230L, 196L, 17_648_180_000L), (v2!["nr_periods"], v2["nr_throttled"], v2["throttled_time"]));
        Assert.Equal(17_648_180_123L, v1!["throttled_time"]);
        Assert.Null(GuestLog.CpuStat("usage_usec 10 user_usec 5"));
    }

    [Fact]
    public void Memory_events_of_v2_and_oom_control_of_v1_give_the_same_counters()
    {
        Assert.Equal((88L, 3L), GuestLog.MemoryEvents("low 0 high 0 max 88 oom 3 oom_kill 3 oom_group_kill 0 "));
        Assert.Equal((91L, 2L), GuestLog.MemoryEvents("oom_kill_disable 0 under_oom 0 oom_kill 2 failcnt 91"));
        Assert.Null(GuestLog.MemoryEvents("low 0 high 0 max 88"));
    }

    [Theory]
    [InlineData(3, 3, "oom_at_limit", true)]
    [InlineData(3, 2, "oom_at_limit", false)]
    [InlineData(3, 3, "limit_reclaim", false)]
    [InlineData(0, 0, "none", false)]
    public void The_memory_verdict_passes_only_with_the_kernels_oom_kills_and_oom_at_limit(int kernelKills, int engineKills, string outcome, bool pass)
    {
        string diagnose = $$$"""{"window_s": 7.8, "lost_events": 0, "containers": [{"cgroup": "/aiops-mx-mem", "memory": {"outcome": "{{{outcome}}}", "summary": "", "path": [{"step": "OOM kills", "metric": "oom_kills", "value": {{{engineKills}}}, "threshold": 1, "result": true}]}}]}""";
        GuestLog g = GuestLog.Parse("6.1.0-50-cloud-amd64", "v2", Boot,
        [
            "AIOPS tier auto start 73.84",
            "AIOPS memory/auto events_before low 0 high 0 max 0 oom 0 oom_kill 0 oom_group_kill 0 ",
            $"AIOPS memory/auto events_after low 0 high 0 max 88 oom {kernelKills} oom_kill {kernelKills} oom_group_kill 0 ",
            "AIOPS memory/auto json " + diagnose,
            "AIOPS done 317.11",
        ]);

        Verdicts v = Judge.Run([g], ["auto"]);

        Check verdict = Assert.Single(v.Checks, c => c.Name == "memory verdict");
        Check kills = Assert.Single(v.Checks, c => c.Name == "OOM kills");
        Assert.Equal(pass, verdict.Pass && kills.Pass);
        Assert.Contains("memory.events", kills.KernelFigure);
    }

    [Fact]
    public void A_guest_that_never_finished_fails_its_boot_check()
    {
        GuestLog g = GuestLog.Parse("6.1.0-50-cloud-amd64", "hybrid", Boot, ["[    0.052000] Kernel panic - not syncing: IO-APIC + timer doesn't work!"]);

        Verdicts v = Judge.Run([g], ["auto"]);

        Assert.False(Assert.Single(v.Checks, c => c.Name == "boot").Pass);
        Assert.False(Assert.Single(v.Checks, c => c.Name == "tiers run").Pass);
    }
}
