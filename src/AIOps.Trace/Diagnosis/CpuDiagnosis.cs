using System.Globalization;

namespace AIOps.Trace.Diagnosis;

/// <summary>What the CPU tree looks at for one container over one window.</summary>
public sealed record CpuEvidence
{
    public required string CgroupPath { get; init; }
    public required double WindowSeconds { get; init; }

    /// <summary>cpu.stat deltas over the window; -1 where the file is missing.</summary>
    public long ThrottledNs { get; init; }
    public long ThrottledPeriods { get; init; }
    public long Periods { get; init; }

    /// <summary>CFS bandwidth: quota and period in µs (quota -1 = unlimited).</summary>
    public long QuotaUs { get; init; } = -1;
    public long PeriodUs { get; init; } = -1;

    /// <summary>cpu.shares (v1) or cpu.weight (v2); -1 unknown.</summary>
    public long Shares { get; init; } = -1;
    public long Weight { get; init; } = -1;

    public long Involuntary { get; init; }
    public long PreemptedByHost { get; init; }

    /// <summary>Other cgroups that preempted this one, most first, with the CPU they used (cores).</summary>
    public IReadOnlyList<NoisyNeighbour> TopPreemptors { get; init; } = [];

    /// <summary>CPU this container used, in cores (usage ns / window ns).</summary>
    public double CpuUsageCores { get; init; }

    public int HostCpus { get; init; }

    /// <summary>Idle CPU on the host, in cores (idle ratio x CPUs).</summary>
    public double HostIdleCpus { get; init; }

    /// <summary>The container's cpuset (null or empty: all CPUs) and each CPU's busy share over the window.</summary>
    public IReadOnlyList<int>? CpusetCpus { get; init; }
    public IReadOnlyDictionary<int, double> CpuBusy { get; init; } = new Dictionary<int, double>();

    /// <summary>CPU used by every other container (not the host's own kernel threads), in cores.</summary>
    public double OtherTenantsCores { get; init; }

    /// <summary>Total time its tasks waited on a run queue in the window, ns.</summary>
    public long RunQueueWaitNs { get; init; }

    /// <summary>Run-queue latency, the size of the symptom.</summary>
    public double RunQueueP50Us { get; init; }
    public double RunQueueP99Us { get; init; }

    /// <summary>The limits this evidence was built from, as <see cref="Cgroups.CgroupReader.ReadCpuLimits"/> read them for the window.</summary>
    public Cgroups.CpuLimits ToLimits() =>
        new(QuotaUs, PeriodUs, Shares, Weight, CpusetCpus is null ? null : string.Join(',', CpusetCpus));
}

/// <param name="CgroupPath">The preempting cgroup.</param>
/// <param name="Preemptions">How often it took the CPU from the container in the window.</param>
/// <param name="CpuUsageCores">CPU it used in the window, in cores.</param>
public sealed record NoisyNeighbour(string CgroupPath, long Preemptions, double CpuUsageCores);

/// <summary>
/// When a counter counts as "rising": above noise for one window. Defaults are chosen so an idle
/// container never trips them and a container held back for 1% of its time does.
/// </summary>
public sealed record CpuThresholds
{
    /// <summary>Throttled time per second of window, ms (1 ms/s = throttled 0.1% of the time).</summary>
    public double ThrottledMsPerSecond { get; init; } = 1.0;

    /// <summary>Involuntary preemptions per second.</summary>
    public double PreemptionsPerSecond { get; init; } = 10.0;

    /// <summary>Time waiting on a run queue per second of window, ms (50 ms/s = 5% of one CPU).</summary>
    public double RunQueueWaitMsPerSecond { get; init; } = 50.0;

    /// <summary>Idle CPU on the host, in cores, below which the host counts as having no idle CPU.</summary>
    public double HostIdleCores { get; init; } = 0.25;

    /// <summary>Busy share above which a CPU counts as busy.</summary>
    public double CpuBusyShare { get; init; } = 0.90;

    /// <summary>CPU a container with no preemptions and no waits may use, in cores, and still count as idle.</summary>
    public double IdleCores { get; init; } = 0.001;

    /// <summary>CPU used by all other tenants together, in cores, below which they count as idle.</summary>
    public double OtherTenantsIdleCores { get; init; } = 0.10;
}

/// <summary>
/// Brendan Gregg's reverse diagnosis for CPU: start from the outcomes and ask the questions that
/// tell them apart, in the order that makes each answer unambiguous.
/// </summary>
public static class CpuDiagnosis
{
    public const string Resource = "cpu";

    public static ResourceDiagnosis Diagnose(CpuEvidence e, CpuThresholds? thresholds = null)
    {
        CpuThresholds t = thresholds ?? new CpuThresholds();
        var path = new PathBuilder();
        double seconds = Math.Max(e.WindowSeconds, 1e-9);

        // 1. Bandwidth (quota) throttling is the one cause the kernel counts directly.
        if (e.ThrottledNs < 0)
            path.Ask("cpu.stat readable", "cpu_stat", double.NaN, 0);
        else if (path.Ask("throttled time rising", "throttled_ms_per_s", e.ThrottledNs / 1e6 / seconds, t.ThrottledMsPerSecond))
            return path.Decide(Resource, Outcomes.CapThrottled, CapSummary(e, seconds));

        // 2. An idle container (no CPU used, nothing waited to run) is the commonest answer.
        if (e.Involuntary == 0 && e.RunQueueWaitNs == 0 && path.AskBelow("idle: used no CPU", "cpu_usage_cores", e.CpuUsageCores, t.IdleCores))
            return path.Decide(Resource, Outcomes.NotThrottled, "not throttled: idle, it used no CPU and none of its tasks waited to run");

        // 3. Without involuntary preemptions nothing took the CPU away: not throttled. Preemptions
        //    that cost next to no waiting (a fork's child running first) are noise, not throttling.
        if (!path.Ask("involuntary preemptions rising", "preemptions_per_s", e.Involuntary / seconds, t.PreemptionsPerSecond)
            || !path.Ask("time waiting to run rising", "runq_wait_ms_per_s", e.RunQueueWaitNs / 1e6 / seconds, t.RunQueueWaitMsPerSecond))
            return path.Decide(Resource, Outcomes.NotThrottled,
                $"not throttled: {Rate(e.Involuntary / seconds)} preemptions/s, {e.RunQueueWaitNs / 1e6 / seconds:0.#} ms/s waiting to run, run-queue p99 {Us(e.RunQueueP99Us)}");

        // 4. Preempted while the host has idle CPU: either its cpuset is full, or something
        //    other than CPU contention (interrupts, RT tasks, kernel threads) is in the way.
        if (path.Ask("host has idle CPU", "host_idle_cores", e.HostIdleCpus, t.HostIdleCores))
        {
            if (e.CpusetCpus is { Count: > 0 } cpus && cpus.Count < e.HostCpus)
            {
                double leastBusy = cpus.Min(c => e.CpuBusy.GetValueOrDefault(c, 0));
                if (path.Ask("its cpuset CPUs all busy", "least_busy_cpuset_cpu_share", leastBusy, t.CpuBusyShare))
                    return path.Decide(Resource, Outcomes.CpusetThrottled,
                        $"cpuset throttled: its CPUs {string.Join(',', cpus)} are all busy while the host has {e.HostIdleCpus:0.##} idle cores");
            }
            string who = e.PreemptedByHost * 2 >= e.Involuntary ? "mostly kernel threads or root-cgroup tasks"
                : e.TopPreemptors.Count > 0 ? "mostly " + e.TopPreemptors[0].CgroupPath : "unattributed";
            return path.Decide(Resource, Outcomes.NotThrottledDigFurther,
                $"not throttled, dig further: preempted {Rate(e.Involuntary / seconds)}/s while {e.HostIdleCpus:0.##} cores sit idle; preemptors: {who} (check interrupts, RT tasks)");
        }

        // 5. No idle CPU: alone on the host it is the hardware's limit, else tenants share it.
        if (path.AskBelow("all other tenants idle", "other_tenants_cores", e.OtherTenantsCores, t.OtherTenantsIdleCores))
            return path.Decide(Resource, Outcomes.PhysicalCpuThrottled,
                $"physical CPU throttled: it uses {e.CpuUsageCores:0.##} of {e.HostCpus} cores and no other tenant is busy");
        string neighbours = e.TopPreemptors.Count == 0 ? "no single preemptor stands out"
            : string.Join(", ", e.TopPreemptors.Take(3).Select(n => $"{n.CgroupPath} ({n.Preemptions} preemptions, {n.CpuUsageCores:0.##} cores)"));
        return path.Decide(Resource, Outcomes.ShareThrottled,
            $"share throttled: competing for CPU with {neighbours}; its {(e.Weight > 0 ? "weight " + e.Weight : e.Shares > 0 ? "shares " + e.Shares : "share unknown")}");
    }

    private static string CapSummary(CpuEvidence e, double seconds)
    {
        string share = e.Periods > 0 ? $"{100.0 * e.ThrottledPeriods / e.Periods:0}% of periods" : "throttled periods unknown";
        string quota = e.QuotaUs > 0 && e.PeriodUs > 0 ? $"quota {e.QuotaUs / 1000.0:0.#} ms per {e.PeriodUs / 1000.0:0.#} ms ({(double)e.QuotaUs / e.PeriodUs:0.##} CPUs)" : "no quota found";
        return $"cap throttled: {share}, {e.ThrottledNs / 1e6 / seconds:0.#} ms throttled per second, {quota}";
    }

    private static string Rate(double v) => v.ToString(v >= 10 ? "0" : "0.#", CultureInfo.InvariantCulture);

    private static string Us(double us) => us >= 1000 ? $"{us / 1000:0.#} ms" : $"{us:0} us";
}
