using AIOps.Trace.Diagnosis;

namespace AIOps.Trace.Tests.Unit;

/// <summary>Every branch of the CPU tree, from recorded window figures.</summary>
public sealed class DiagnosisCpuTests
{
    // A busy container on a 2-CPU host over a 5 s window, with nothing holding it back.
    private static readonly CpuEvidence Calm = new()
    {
        CgroupPath = "/kubepods/web", WindowSeconds = 5, HostCpus = 2, HostIdleCpus = 1.2,
        Involuntary = 3, CpuUsageCores = 0.5, OtherTenantsCores = 0.3, RunQueueP99Us = 40, RunQueueWaitNs = 5_000_000,
    };

    // Preempted often, waiting a quarter of the time: held back by something.
    private static readonly CpuEvidence Preempted = Calm with { Involuntary = 900, RunQueueWaitNs = 1_250_000_000 };

    [Fact]
    public void Throttled_time_rising_is_cap_throttled_with_the_quota_shown()
    {
        ResourceDiagnosis d = CpuDiagnosis.Diagnose(Calm with
        {
            ThrottledNs = 2_400_000_000, ThrottledPeriods = 48, Periods = 50, QuotaUs = 20_000, PeriodUs = 100_000,
        });

        Assert.Equal(Outcomes.CapThrottled, d.Outcome);
        DiagnosisStep step = Assert.Single(d.Path);
        Assert.Equal(("throttled_ms_per_s", 480.0, 1.0, true), (step.Metric, step.Value, step.Threshold, step.Result));
        Assert.Contains("96% of periods", d.Summary);
        Assert.Contains("0.2 CPUs", d.Summary);
    }

    [Fact]
    public void No_throttling_and_few_preemptions_is_not_throttled()
    {
        ResourceDiagnosis d = CpuDiagnosis.Diagnose(Calm);

        Assert.Equal(Outcomes.NotThrottled, d.Outcome);
        Assert.Equal([false, false], d.Path.Select(s => s.Result));
        Assert.Equal(0.6, d.Path[1].Value, 3);
    }

    [Fact]
    public void Many_preemptions_that_cost_no_waiting_are_not_throttling()
    {
        ResourceDiagnosis d = CpuDiagnosis.Diagnose(Calm with { Involuntary = 60 });

        Assert.Equal(Outcomes.NotThrottled, d.Outcome);
        Assert.Equal([false, true, false], d.Path.Select(s => s.Result));
        Assert.Equal(("runq_wait_ms_per_s", 1.0), (d.Path[2].Metric, d.Path[2].Value));
    }

    [Fact]
    public void Preempted_with_idle_cpus_but_its_cpuset_full_is_cpuset_throttled()
    {
        ResourceDiagnosis d = CpuDiagnosis.Diagnose(Preempted with
        {
            CpusetCpus = [1], CpuBusy = new Dictionary<int, double> { [0] = 0.05, [1] = 0.99 }, HostIdleCpus = 0.95,
        });

        Assert.Equal(Outcomes.CpusetThrottled, d.Outcome);
        Assert.Equal(["throttled time rising", "involuntary preemptions rising", "time waiting to run rising", "host has idle CPU", "its cpuset CPUs all busy"], d.Path.Select(s => s.Step));
        Assert.Equal(0.99, d.Path[^1].Value);
    }

    [Fact]
    public void Preempted_with_idle_cpus_and_room_in_its_cpuset_is_dig_further_naming_the_preemptor()
    {
        ResourceDiagnosis d = CpuDiagnosis.Diagnose(Preempted with
        {
            PreemptedByHost = 800, CpusetCpus = [0, 1], CpuBusy = new Dictionary<int, double> { [0] = 0.5, [1] = 0.5 },
        });

        Assert.Equal(Outcomes.NotThrottledDigFurther, d.Outcome);
        Assert.Contains("kernel threads", d.Summary);
        // A cpuset covering every CPU is no restriction: the cpuset question is not asked.
        Assert.DoesNotContain(d.Path, s => s.Step.Contains("cpuset"));
    }

    [Fact]
    public void No_idle_cpu_and_other_tenants_idle_is_physical_cpu_throttled()
    {
        ResourceDiagnosis d = CpuDiagnosis.Diagnose(Preempted with { Involuntary = 500, HostIdleCpus = 0.01, OtherTenantsCores = 0.02, CpuUsageCores = 1.97 });

        Assert.Equal(Outcomes.PhysicalCpuThrottled, d.Outcome);
        Assert.True(d.Path[^1].Result);
        Assert.Contains("1.97 of 2 cores", d.Summary);
    }

    [Fact]
    public void No_idle_cpu_and_busy_neighbours_is_share_throttled_naming_them()
    {
        ResourceDiagnosis d = CpuDiagnosis.Diagnose(Preempted with
        {
            Involuntary = 1500, HostIdleCpus = 0.0, OtherTenantsCores = 1.0, Shares = 1024,
            TopPreemptors = [new NoisyNeighbour("/kubepods/batch", 1400, 0.98)],
        });

        Assert.Equal(Outcomes.ShareThrottled, d.Outcome);
        Assert.Contains("/kubepods/batch (1400 preemptions, 0.98 cores)", d.Summary);
        Assert.Contains("shares 1024", d.Summary);
        Assert.False(d.Path[^1].Result);
    }

    [Fact]
    public void Missing_cpu_stat_is_shown_and_the_tree_goes_on()
    {
        ResourceDiagnosis d = CpuDiagnosis.Diagnose(Calm with { ThrottledNs = -1 });

        Assert.Equal(Outcomes.NotThrottled, d.Outcome);
        Assert.True(double.IsNaN(d.Path[0].Value));
    }

    [Fact]
    public void Thresholds_are_configurable()
    {
        var strict = new CpuThresholds { PreemptionsPerSecond = 0.1, RunQueueWaitMsPerSecond = 0.1 };
        Assert.NotEqual(Outcomes.NotThrottled, CpuDiagnosis.Diagnose(Calm, strict).Outcome);
    }
}
