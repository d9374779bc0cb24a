namespace AIOps.Trace.Diagnosis;

/// <summary>What the memory tree looks at for one container over one window. -1 marks a signal the kernel does not give.</summary>
public sealed record MemoryEvidence
{
    /// <summary>OOM kills in the cgroup (v1 memory.oom_control oom_kill, v2 memory.events oom_kill), delta.</summary>
    public long OomKills { get; init; } = -1;

    public long UsageBytes { get; init; } = -1;

    /// <summary>The hard limit (v1 memory.limit_in_bytes, v2 memory.max); -1 unlimited or unknown.</summary>
    public long LimitBytes { get; init; } = -1;

    /// <summary>Times the limit was hit (v1 memory.failcnt, v2 memory.events max), delta.</summary>
    public long LimitHits { get; init; } = -1;

    /// <summary>memory.high breaches (v2 memory.events high), delta; -1 on v1, which has no memory.high.</summary>
    public long HighEvents { get; init; } = -1;

    /// <summary>
    /// Share of the window (percent) in which some task on the host stalled on memory: host PSI
    /// "some", from its stall-time total (avg10 when there is no start reading); -1 when PSI is off.
    /// </summary>
    public double HostPsiSomePercent { get; init; } = -1;

    /// <summary>MemAvailable / MemTotal of the host; -1 unknown.</summary>
    public double HostAvailableRatio { get; init; } = -1;

    /// <summary>
    /// Pages the host's own reclaim scanned over the window (/proc/vmstat pgscan_kswapd +
    /// pgscan_direct, which leave out reclaim inside a cgroup's limit); -1 unknown. Host PSI
    /// also counts tasks stalled at their own cgroup's limit, so PSI without host reclaim is a
    /// limited neighbour, not host pressure.
    /// </summary>
    public long HostReclaimPages { get; init; } = -1;
}

public sealed record MemoryThresholds
{
    /// <summary>Usage / limit at or above which the container is at its limit.</summary>
    public double AtLimitRatio { get; init; } = 0.90;

    /// <summary>PSI "some" share of the window (%) at or above which the host is under memory pressure.</summary>
    public double HostPsiPercent { get; init; } = 10;

    /// <summary>MemAvailable share below which the host is under memory pressure (when PSI is off).</summary>
    public double HostAvailableRatio { get; init; } = 0.05;
}

/// <summary>Reverse diagnosis for memory: OOM at the limit, reclaim at the limit, memory.high throttling, host pressure.</summary>
public static class MemoryDiagnosis
{
    public const string Resource = "memory";

    public static ResourceDiagnosis Diagnose(MemoryEvidence e, MemoryThresholds? thresholds = null)
    {
        MemoryThresholds t = thresholds ?? new MemoryThresholds();
        var path = new PathBuilder();

        if (e.OomKills >= 0 && path.Ask("OOM kills", "oom_kills", e.OomKills, 1))
            return path.Decide(Resource, Outcomes.OomAtLimit, $"OOM at limit: {e.OomKills} task(s) killed{Limit(e)}");

        if (e.LimitBytes > 0 && e.UsageBytes >= 0)
        {
            if (path.Ask("usage at the limit", "usage_to_limit", (double)e.UsageBytes / e.LimitBytes, t.AtLimitRatio))
            {
                if (e.LimitHits < 0)
                    return path.Undecidable(Resource, "usage is at the limit but the kernel gives no limit-hit counter (memory.failcnt / memory.events max)");
                if (path.Ask("limit hits rising", "limit_hits", e.LimitHits, 1))
                    return path.Decide(Resource, Outcomes.LimitReclaim, $"limit reclaim: the limit was hit {e.LimitHits} times{Limit(e)}; the kernel reclaims the container's own pages");
            }
        }

        if (e.HighEvents >= 0 && path.Ask("memory.high breaches", "high_events", e.HighEvents, 1))
            return path.Decide(Resource, Outcomes.HighThrottled, $"high throttled: memory.high was exceeded {e.HighEvents} times; the kernel throttles its allocations");

        if (e.HostPsiSomePercent >= 0)
        {
            if (path.Ask("host memory pressure (PSI)", "host_psi_some_pct", e.HostPsiSomePercent, t.HostPsiPercent)
                && (e.HostReclaimPages < 0 || path.Ask("host reclaiming (not only cgroup limits)", "host_reclaim_pages", e.HostReclaimPages, 1)))
                return path.Decide(Resource, Outcomes.HostPressure, $"host pressure: tasks on the host stalled on memory {e.HostPsiSomePercent:0.#}% of the time");
        }
        else if (e.HostAvailableRatio >= 0)
        {
            if (path.AskBelow("host memory nearly exhausted", "host_available_ratio", e.HostAvailableRatio, t.HostAvailableRatio))
                return path.Decide(Resource, Outcomes.HostPressure, $"host pressure: only {100 * e.HostAvailableRatio:0.#}% of host memory is available (PSI is off)");
        }
        else
        {
            return path.Undecidable(Resource, "neither PSI nor /proc/meminfo tells the host's memory pressure");
        }

        if (e.OomKills < 0)
            return path.Undecidable(Resource, "the kernel gives no OOM-kill counter for this cgroup");
        return path.Decide(Resource, Outcomes.NotLimited, "not memory limited" + Limit(e));
    }

    private static string Limit(MemoryEvidence e) =>
        e.LimitBytes > 0 && e.UsageBytes >= 0 ? $" (usage {e.UsageBytes / 1048576.0:0} MiB of {e.LimitBytes / 1048576.0:0} MiB)" : "";
}
